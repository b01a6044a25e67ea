"""Typed access to the `eval_runs` table: one row per evaluation run, any kind."""

from __future__ import annotations

import json
from dataclasses import asdict, dataclass, field
from datetime import UTC, datetime

from lib import jsonsafe
from lib.store.db import Store


@dataclass(frozen=True)
class EvalRun:
    """A stored evaluation run; `summary` holds the headline numbers, `detail` the rest."""

    id: int
    kind: str
    created_at: str
    model: str
    source: str
    summary: dict
    detail: dict = field(default_factory=dict)
    text_sha256: str | None = None  # what was scored, so runs on different texts of one name stay apart

    def to_dict(self) -> dict:
        return asdict(self)


def insert_eval_run(
    store: Store, kind: str, model: str, source: str, summary: dict, detail: dict, text_sha256: str | None = None
) -> EvalRun:
    """Store a finished run and return it with its id; NaN and infinity are stored as null with a reason."""
    created_at = datetime.now(UTC).isoformat(timespec="seconds")
    summary_json, detail_json = jsonsafe.dumps(summary), jsonsafe.dumps(detail)
    with store.write() as conn:
        cursor = conn.execute(
            "INSERT INTO eval_runs (kind, created_at, model, source, summary, detail, text_sha256) "
            "VALUES (?, ?, ?, ?, ?, ?, ?)",
            (kind, created_at, model, source, summary_json, detail_json, text_sha256),
        )
        run_id = cursor.lastrowid
    return EvalRun(run_id, kind, created_at, model, source, json.loads(summary_json), detail, text_sha256)


def list_eval_runs(store: Store, kind: str | None = None, limit: int = 500) -> list[EvalRun]:
    """Newest first, without the (possibly large) detail."""
    query = "SELECT id, kind, created_at, model, source, summary, text_sha256 FROM eval_runs"
    params: tuple = ()
    if kind:
        query += " WHERE kind = ?"
        params = (kind,)
    query += " ORDER BY id DESC LIMIT ?"
    with store.read() as conn:
        rows = conn.execute(query, (*params, limit)).fetchall()
    return [
        EvalRun(
            r["id"], r["kind"], r["created_at"], r["model"], r["source"], json.loads(r["summary"]), {}, r["text_sha256"]
        )
        for r in rows
    ]


def get_eval_run(store: Store, run_id: int) -> EvalRun | None:
    """One run with its detail, or None if there is no such id."""
    with store.read() as conn:
        row = conn.execute("SELECT * FROM eval_runs WHERE id = ?", (run_id,)).fetchone()
    if row is None:
        return None
    return EvalRun(
        row["id"],
        row["kind"],
        row["created_at"],
        row["model"],
        row["source"],
        json.loads(row["summary"]),
        json.loads(row["detail"]),
        row["text_sha256"],
    )
