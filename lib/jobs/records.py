"""The jobs table: submit, claim under a concurrency cap, report progress, finish, cancel, reap the dead.

The store is the only shared state: a server's workers, a terminal's run and a worker process
see the same rows, so a job started anywhere shows everywhere and can be stopped from anywhere.
"""

from __future__ import annotations

import json
import time
from collections.abc import Iterable

from lib import jsonsafe
from lib.jobs.model import (
    ACTIVE,
    CANCELLED,
    CLI,
    FINISHED,
    INTERRUPTED,
    QUEUED,
    RUNNING,
    SERVER,
    Job,
)
from lib.processes import owner_is_alive_here, this_owner
from lib.store import Store


def insert_job(store: Store, kind: str, title: str, params: dict, resource: str, runner: str = SERVER) -> int:
    """Queue a job; a CLI job is owned (and heartbeated) by its process from the start."""
    now = time.time()
    owner = this_owner() if runner == CLI else None
    with store.write() as conn:
        cursor = conn.execute(
            "INSERT INTO jobs (kind, title, params, state, resource, runner, owner, created_at, heartbeat_at) "
            "VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?)",
            (kind, title, jsonsafe.dumps(params), QUEUED, resource, runner, owner, now, now if owner else None),
        )
        return int(cursor.lastrowid)


def get_job(store: Store, job_id: int) -> Job | None:
    with store.read() as conn:
        row = conn.execute("SELECT * FROM jobs WHERE id = ?", (job_id,)).fetchone()
    return Job.from_row(row) if row else None


def list_jobs(
    store: Store, kind: str | None = None, states: Iterable[str] | None = None, limit: int = 100
) -> list[Job]:
    """Newest first, optionally of one kind and in some states."""
    clauses, params = [], []
    if kind:
        clauses.append("kind = ?")
        params.append(kind)
    if states is not None:
        states = list(states)
        clauses.append(f"state IN ({', '.join('?' * len(states))})")
        params += states
    where = f"WHERE {' AND '.join(clauses)}" if clauses else ""
    with store.read() as conn:
        rows = conn.execute(f"SELECT * FROM jobs {where} ORDER BY id DESC LIMIT ?", (*params, limit)).fetchall()
    return [Job.from_row(row) for row in rows]


def try_claim(store: Store, job_id: int, cap: int) -> Job | None:
    """Start a queued job if its resource has a free slot; the job as claimed when this process now runs it.

    A slot is free when the running jobs on the resource, plus the terminal runs queued before
    this one (they wait in their own processes), are fewer than the cap. One write transaction
    makes the check and the claim atomic across processes.
    """
    now = time.time()
    with store.write() as conn:
        row = conn.execute("SELECT state, resource FROM jobs WHERE id = ?", (job_id,)).fetchone()
        if row is None or row["state"] != QUEUED:
            return None
        busy = conn.execute(
            "SELECT COUNT(*) FROM jobs WHERE resource = ? AND (state = ? OR (state = ? AND runner = ? AND id < ?))",
            (row["resource"], RUNNING, QUEUED, CLI, job_id),
        ).fetchone()[0]
        if busy >= cap:
            return None
        conn.execute(
            "UPDATE jobs SET state = ?, owner = ?, started_at = ?, heartbeat_at = ? WHERE id = ?",
            (RUNNING, this_owner(), now, now, job_id),
        )
        return Job.from_row(conn.execute("SELECT * FROM jobs WHERE id = ?", (job_id,)).fetchone())


def queued_server_jobs(store: Store) -> list[Job]:
    """Jobs waiting for a server's workers, oldest first."""
    with store.read() as conn:
        rows = conn.execute(
            "SELECT * FROM jobs WHERE state = ? AND runner = ? ORDER BY id", (QUEUED, SERVER)
        ).fetchall()
    return [Job.from_row(row) for row in rows]


def record_progress(store: Store, job_id: int, done: int, total: int, message: str) -> bool:
    """Write progress and a heartbeat; return True if the job should stop (asked to, or already ended)."""
    with store.write() as conn:
        conn.execute(
            "UPDATE jobs SET progress_done = ?, progress_total = ?, progress_message = ?, heartbeat_at = ? "
            "WHERE id = ? AND state IN (?, ?)",
            (done, total, message, time.time(), job_id, *ACTIVE),
        )
        return _should_stop(conn, job_id)


def heartbeat(store: Store, job_id: int) -> bool:
    """Say the job is alive; return True if the job should stop (asked to, or already ended)."""
    with store.write() as conn:
        conn.execute(
            "UPDATE jobs SET heartbeat_at = ? WHERE id = ? AND state IN (?, ?)", (time.time(), job_id, *ACTIVE)
        )
        return _should_stop(conn, job_id)


def _should_stop(conn, job_id: int) -> bool:
    # A job someone marked finished (interrupted after a long stall) must stop too: its slot is free again.
    row = conn.execute("SELECT cancel_requested, state FROM jobs WHERE id = ?", (job_id,)).fetchone()
    return row is None or bool(row["cancel_requested"]) or row["state"] not in ACTIVE


def finish_job(
    store: Store,
    job_id: int,
    state: str,
    result: dict | None = None,
    error: str | None = None,
    error_id: str | None = None,
) -> bool:
    """Record the outcome of an active job; False if it had already ended (e.g. marked interrupted)."""
    assert state in FINISHED
    with store.write() as conn:
        cursor = conn.execute(
            "UPDATE jobs SET state = ?, finished_at = ?, result = ?, error = ?, error_id = ? "
            "WHERE id = ? AND state IN (?, ?)",
            (state, time.time(), json.dumps(result) if result else None, error, error_id, job_id, *ACTIVE),
        )
        return cursor.rowcount == 1


def request_cancel(store: Store, job_id: int) -> Job | None:
    """Stop a job: a queued one ends now; a running one is asked to stop and ends at its next progress step."""
    with store.write() as conn:
        conn.execute(
            "UPDATE jobs SET state = ?, finished_at = ?, error = ? WHERE id = ? AND state = ? AND runner = ?",
            (CANCELLED, time.time(), "Stopped before it started.", job_id, QUEUED, SERVER),
        )
        conn.execute("UPDATE jobs SET cancel_requested = 1 WHERE id = ? AND state IN (?, ?)", (job_id, *ACTIVE))
    return get_job(store, job_id)


def reap_stale(store: Store, stale_after: float, now: float | None = None) -> list[int]:
    """Mark as interrupted every job whose process is gone; return their ids.

    On this machine the process table decides, at once: a job whose process no longer exists (a
    server killed mid-run) is interrupted, and one whose process lives is not, however long it has
    been silent (a suspended terminal). For a process on another machine, a heartbeat older than
    `stale_after` decides. Reading and marking are one transaction, so a heartbeat that lands in
    between is not overruled.
    """
    now = now or time.time()
    reason = "Interrupted: the process running it stopped (a server restart or a killed command); run it again."
    select = "SELECT id, owner, heartbeat_at FROM jobs WHERE owner IS NOT NULL AND state IN (?, ?)"

    def gone(row) -> bool:
        alive = owner_is_alive_here(row["owner"])
        return alive is False or (alive is None and (row["heartbeat_at"] or 0) < now - stale_after)

    with store.read() as conn:  # every page view calls this: take the write lock only when there is work
        if not any(gone(row) for row in conn.execute(select, ACTIVE).fetchall()):
            return []
    dead = []
    with store.write() as conn:
        for row in conn.execute(select, ACTIVE).fetchall():
            if gone(row):
                conn.execute(
                    "UPDATE jobs SET state = ?, finished_at = ?, error = ? WHERE id = ? AND state IN (?, ?)",
                    (INTERRUPTED, now, reason, row["id"], *ACTIVE),
                )
                dead.append(row["id"])
    return dead


def interrupt_own_jobs(store: Store, reason: str) -> list[int]:
    """Mark this process's active jobs as interrupted (the server is shutting down)."""
    owner = this_owner()
    with store.write() as conn:
        ids = [
            row[0]
            for row in conn.execute(
                "SELECT id FROM jobs WHERE owner = ? AND state IN (?, ?)", (owner, *ACTIVE)
            ).fetchall()
        ]
        conn.execute(
            "UPDATE jobs SET state = ?, finished_at = ?, error = ? WHERE owner = ? AND state IN (?, ?)",
            (INTERRUPTED, time.time(), reason, owner, *ACTIVE),
        )
    return ids


def prune_finished(store: Store, older_than_days: float) -> int:
    """Remove finished jobs older than the limit (their results, e.g. runs, stay where they are)."""
    cutoff = time.time() - older_than_days * 86_400
    with store.write() as conn:
        return conn.execute(
            f"DELETE FROM jobs WHERE state IN ({', '.join('?' * len(FINISHED))}) AND finished_at < ?",
            (*FINISHED, cutoff),
        ).rowcount
