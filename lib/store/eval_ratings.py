"""Typed access to the `eval_ratings` table: people's 1-5 scores and thumbs on eval-run answers."""

from __future__ import annotations

import sqlite3
from dataclasses import asdict, dataclass
from datetime import UTC, datetime

from lib.store.db import Store

_COLUMNS = "id, run_id, idx, rater, score, thumb, comment, created_at"


@dataclass(frozen=True)
class Rating:
    """One rater's judgement of one sample: a 1-5 score, a thumb (+1 up, -1 down), or both."""

    id: int
    run_id: int
    idx: int
    rater: str
    score: int | None
    thumb: int | None
    comment: str
    created_at: str  # when this rater last rated this sample

    def to_dict(self) -> dict:
        return asdict(self)


def upsert_rating(
    store: Store, run_id: int, idx: int, rater: str, score: int | None, thumb: int | None, comment: str = ""
) -> Rating:
    """Store a rating; a rater rating the same sample again replaces their earlier rating (score, thumb, comment)."""
    created_at = datetime.now(UTC).isoformat(timespec="seconds")
    with store.write() as conn:
        conn.execute(
            "INSERT INTO eval_ratings (run_id, idx, rater, score, thumb, comment, created_at) "
            "VALUES (?, ?, ?, ?, ?, ?, ?) ON CONFLICT (run_id, idx, rater) DO UPDATE SET "
            "score = excluded.score, thumb = excluded.thumb, comment = excluded.comment, "
            "created_at = excluded.created_at",
            (run_id, idx, rater, score, thumb, comment, created_at),
        )
        row = conn.execute(
            f"SELECT {_COLUMNS} FROM eval_ratings WHERE run_id = ? AND idx = ? AND rater = ?", (run_id, idx, rater)
        ).fetchone()
    return _rating(row)


def ratings_of_run(store: Store, run_id: int) -> list[Rating]:
    """Every rating of a run, by sample then rater."""
    with store.read() as conn:
        rows = conn.execute(
            f"SELECT {_COLUMNS} FROM eval_ratings WHERE run_id = ? ORDER BY idx, rater", (run_id,)
        ).fetchall()
    return [_rating(row) for row in rows]


def unrated_indexes(store: Store, run_id: int, rater: str) -> list[int]:
    """The idx of each sample of the run that `rater` has not rated yet, in order."""
    with store.read() as conn:
        rows = conn.execute(
            "SELECT s.idx FROM eval_samples AS s WHERE s.run_id = ? AND NOT EXISTS "
            "(SELECT 1 FROM eval_ratings AS r WHERE r.run_id = s.run_id AND r.idx = s.idx AND r.rater = ?) "
            "ORDER BY s.idx",
            (run_id, rater),
        ).fetchall()
    return [row[0] for row in rows]


def _rating(row: sqlite3.Row) -> Rating:
    return Rating(
        row["id"], row["run_id"], row["idx"], row["rater"], row["score"], row["thumb"], row["comment"],
        row["created_at"],
    )  # fmt: skip
