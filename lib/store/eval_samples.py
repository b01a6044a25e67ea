"""Typed access to the `eval_samples` table: each answered item of an eval run, stored with its run atomically."""

from __future__ import annotations

import json
import sqlite3
from collections.abc import Sequence
from dataclasses import asdict, dataclass, field, replace

from lib import jsonsafe
from lib.store.db import Store
from lib.store.eval_runs import EvalRun, insert_eval_run

_COLUMNS = "run_id, idx, item_id, prompt, context, refs, output, scores, prompt_tokens, output_tokens, seconds"


@dataclass(frozen=True)
class EvalSample:
    """One item of an eval run: the question, what counts as right, the model's answer and its scores (0-100)."""

    idx: int  # the item's position in the eval set, from 0
    item_id: str
    prompt: str
    context: str | None
    references: list[str]
    output: str
    scores: dict[str, float] = field(default_factory=dict)
    prompt_tokens: int = 0
    output_tokens: int = 0
    seconds: float = 0.0
    run_id: int | None = None  # None until stored

    def to_dict(self) -> dict:
        return asdict(self)


def insert_run_with_samples(
    store: Store,
    kind: str,
    model: str,
    source: str,
    summary: dict,
    detail: dict,
    text_sha256: str | None,
    samples: Sequence[EvalSample],
) -> EvalRun:
    """Store a run row and all its samples in one transaction: either everything is stored or nothing is."""
    # insert_eval_run's own write block nests as a savepoint inside this one, so a sample that fails
    # to insert rolls the run row back too: no run is ever listed without its samples.
    with store.write():
        run = insert_eval_run(store, kind, model, source, summary, detail, text_sha256)
        insert_samples(store, run.id, samples)
    return run


def insert_samples(store: Store, run_id: int, samples: Sequence[EvalSample]) -> int:
    """Add samples to a stored run in one transaction; return how many."""
    rows = [
        (
            run_id, int(s.idx), str(s.item_id), s.prompt, s.context, json.dumps(list(s.references)), s.output,
            jsonsafe.dumps(s.scores), int(s.prompt_tokens), int(s.output_tokens), float(s.seconds),
        )
        for s in samples
    ]  # fmt: skip
    with store.write() as conn:
        conn.executemany(f"INSERT INTO eval_samples ({_COLUMNS}) VALUES ({', '.join('?' * 11)})", rows)
    return len(rows)


def list_samples(store: Store, run_id: int) -> list[EvalSample]:
    """A run's samples in eval-set order (empty when the run has none or does not exist)."""
    with store.read() as conn:
        rows = conn.execute(f"SELECT {_COLUMNS} FROM eval_samples WHERE run_id = ? ORDER BY idx", (run_id,)).fetchall()
    return [_sample(row) for row in rows]


def sample_indexes(store: Store, run_id: int) -> list[int]:
    """The idx of every sample of a run, in order."""
    with store.read() as conn:
        return [row[0] for row in conn.execute("SELECT idx FROM eval_samples WHERE run_id = ? ORDER BY idx", (run_id,))]


def runs_on_dataset(store: Store, kind: str, dataset_sha256: str) -> list[EvalRun]:
    """Runs of `kind` on one dataset (by its SHA-256), oldest first, without their detail: a trend's points."""
    with store.read() as conn:
        rows = conn.execute(
            "SELECT id, kind, created_at, model, source, summary, text_sha256 FROM eval_runs "
            "WHERE kind = ? AND text_sha256 = ? ORDER BY id",
            (kind, dataset_sha256),
        ).fetchall()
    return [
        EvalRun(
            r["id"], r["kind"], r["created_at"], r["model"], r["source"], json.loads(r["summary"]), {}, r["text_sha256"]
        )
        for r in rows
    ]


def _sample(row: sqlite3.Row) -> EvalSample:
    return EvalSample(
        idx=row["idx"],
        item_id=row["item_id"],
        prompt=row["prompt"],
        context=row["context"],
        references=json.loads(row["refs"]),
        output=row["output"],
        scores=json.loads(row["scores"]),
        prompt_tokens=row["prompt_tokens"],
        output_tokens=row["output_tokens"],
        seconds=row["seconds"],
        run_id=row["run_id"],
    )


def with_run_id(samples: Sequence[EvalSample], run_id: int) -> list[EvalSample]:
    """The samples as stored under `run_id`."""
    return [replace(sample, run_id=run_id) for sample in samples]
