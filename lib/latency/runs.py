"""Stored load tests and probes: one latency_runs row and its requests, written in one transaction."""

from __future__ import annotations

import json
from collections.abc import Sequence
from dataclasses import asdict, dataclass, field, replace

from lib import jsonsafe
from lib.latency.records import INSERT_SQL, RequestRecord, run_records
from lib.store import Store

RUNNING, COMPLETE, STOPPED, FAILED = "running", "complete", "stopped", "failed"


@dataclass(frozen=True)
class LatencyRun:
    """A stored load test or probe; `summary` is its LoadSummary as a dict, `spec` what was asked."""

    id: int
    kind: str
    created_at: float
    finished_at: float | None
    status: str
    endpoint: str
    model: str
    spec: dict
    summary: dict
    message: str = ""
    requests: list[RequestRecord] = field(default_factory=list)

    def to_dict(self) -> dict:
        data = asdict(self)
        data["requests"] = [record.to_dict() for record in self.requests]
        return data


def save_run(
    store: Store,
    kind: str,
    endpoint: str,
    model: str,
    spec: dict,
    summary: dict,
    records: Sequence[RequestRecord],
    created_at: float,
    finished_at: float,
    status: str = COMPLETE,
    message: str = "",
) -> LatencyRun:
    """Store a finished run and all its requests in one transaction: a run is never half stored."""
    with store.write():  # the three steps below nest in it (savepoints)
        run_id = start_run(store, kind, endpoint, model, spec, created_at)
        add_run_requests(store, run_id, records)
        finish_run(store, run_id, status, summary, finished_at, message)
    return LatencyRun(run_id, kind, created_at, finished_at, status, endpoint, model, spec, summary, message)


def start_run(
    store: Store, kind: str, endpoint: str, model: str, spec: dict, created_at: float, job_id: int | None = None
) -> int:
    """Record a run that is starting (status running); its requests are added as they finish."""
    with store.write() as conn:
        cursor = conn.execute(
            "INSERT INTO latency_runs (kind, job_id, created_at, status, endpoint, model, spec, summary) "
            "VALUES (?, ?, ?, ?, ?, ?, ?, '{}')",
            (kind, job_id, created_at, RUNNING, endpoint, model, jsonsafe.dumps(spec)),
        )
        return int(cursor.lastrowid)


def close_cut_off_runs(store: Store) -> int:
    """Mark runs still `running` whose job has ended (its process died, or it was killed) as failed; return how many.

    Their requests stay: what was measured before the cut is kept and shown.
    """
    with store.write() as conn:
        cursor = conn.execute(
            "UPDATE latency_runs SET status = ?, finished_at = COALESCE(finished_at, created_at), "
            "message = 'cut off: its job ended before the run could be closed (the process stopped); "
            "the requests measured before that are kept' "
            "WHERE status = ? AND job_id IS NOT NULL AND job_id NOT IN "
            "(SELECT id FROM jobs WHERE state IN ('queued', 'running'))",
            (FAILED, RUNNING),
        )
        return cursor.rowcount


def add_run_requests(store: Store, run_id: int, records: Sequence[RequestRecord]) -> None:
    """Store finished requests of a running run, so the page charts them live and a crash keeps them."""
    if records:
        with store.write() as conn:
            conn.executemany(INSERT_SQL, [record.row(run_id) for record in records])


def finish_run(store: Store, run_id: int, status: str, summary: dict, finished_at: float, message: str = "") -> None:
    """Close a run: how it ended and its figures."""
    with store.write() as conn:
        conn.execute(
            "UPDATE latency_runs SET status = ?, summary = ?, finished_at = ?, message = ? WHERE id = ?",
            (status, jsonsafe.dumps(summary), finished_at, message, run_id),
        )


def _run(row: dict) -> LatencyRun:
    return LatencyRun(
        row["id"], row["kind"], row["created_at"], row["finished_at"], row["status"], row["endpoint"], row["model"],
        json.loads(row["spec"]), json.loads(row["summary"]), row["message"],
    )  # fmt: skip


def list_runs(store: Store, limit: int = 200) -> list[LatencyRun]:
    """Stored runs, newest first, without their requests (runs whose job died are closed first)."""
    close_cut_off_runs(store)
    with store.read() as conn:
        rows = conn.execute("SELECT * FROM latency_runs ORDER BY id DESC LIMIT ?", (limit,)).fetchall()
    return [_run(dict(row)) for row in rows]


def get_run(store: Store, run_id: int, with_requests: bool = True) -> LatencyRun | None:
    """One run with its requests, or None."""
    with store.read() as conn:
        row = conn.execute("SELECT * FROM latency_runs WHERE id = ?", (run_id,)).fetchone()
    if row is None:
        return None
    run = _run(dict(row))
    return replace(run, requests=run_records(store, run_id)) if with_requests else run


def requests_jsonl(run: LatencyRun) -> str:
    """The run's requests as JSON Lines, one request a line (the per-request export)."""
    return "".join(jsonsafe.dumps({"run_id": run.id, **record.to_dict()}) + "\n" for record in run.requests)
