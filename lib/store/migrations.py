"""The database schema as an ordered list of migrations; `PRAGMA user_version` records the last applied.

A migration is a whole SQL script (triggers included), a Python function (backfills,
re-encryption), or both: the script first, then the function, in the same transaction.
"""

from __future__ import annotations

import sqlite3
from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, datetime

from lib.errors import StoreError


@dataclass(frozen=True)
class Migration:
    """One step of the schema: applied once, in order, never edited after release."""

    version: int
    description: str
    sql: str = ""
    python: Callable[[sqlite3.Connection], None] | None = None


MIGRATIONS: tuple[Migration, ...] = (
    Migration(
        1,
        "migration history and evaluation runs",
        """
        CREATE TABLE schema_migrations (
            version INTEGER PRIMARY KEY,
            description TEXT NOT NULL,
            applied_at TEXT NOT NULL
        );
        CREATE TABLE eval_runs (
            id INTEGER PRIMARY KEY,
            kind TEXT NOT NULL,
            created_at TEXT NOT NULL,
            model TEXT NOT NULL,
            source TEXT NOT NULL,
            summary TEXT NOT NULL,
            detail TEXT NOT NULL
        );
        CREATE INDEX eval_runs_by_kind ON eval_runs (kind, created_at);
        """,
    ),
    Migration(
        2,
        "evaluation texts keyed by content hash",
        """
        -- Runs stored before this version have no hash (the text was never kept); they stay NULL.
        ALTER TABLE eval_runs ADD COLUMN text_sha256 TEXT;
        CREATE INDEX eval_runs_by_text ON eval_runs (kind, text_sha256);
        """,
    ),
    Migration(
        3,
        "background jobs",
        """
        CREATE TABLE jobs (
            id INTEGER PRIMARY KEY,
            kind TEXT NOT NULL,
            title TEXT NOT NULL,
            params TEXT NOT NULL,
            state TEXT NOT NULL CHECK (state IN
                ('queued', 'running', 'succeeded', 'failed', 'cancelled', 'interrupted')),
            resource TEXT NOT NULL,            -- jobs sharing a resource (e.g. model:cpu) share its cap
            runner TEXT NOT NULL,              -- 'server' (any server's workers) or 'cli' (its own process)
            owner TEXT,                        -- host:pid of the process running it
            created_at REAL NOT NULL,
            started_at REAL,
            finished_at REAL,
            heartbeat_at REAL,
            progress_done INTEGER NOT NULL DEFAULT 0,
            progress_total INTEGER NOT NULL DEFAULT 0,
            progress_message TEXT NOT NULL DEFAULT '',
            cancel_requested INTEGER NOT NULL DEFAULT 0,
            result TEXT,                       -- JSON reference to what it made: {"eval_run": 12}
            error TEXT,                        -- the one-sentence reason it failed
            error_id TEXT                      -- the id under which the log holds the traceback
        );
        CREATE INDEX jobs_by_state ON jobs (state, resource);
        CREATE INDEX jobs_by_kind ON jobs (kind, id);
        -- A finished job keeps its outcome: no later write may move it back to queued or running.
        CREATE TRIGGER jobs_finished_stay_finished
        BEFORE UPDATE OF state ON jobs
        WHEN OLD.state IN ('succeeded', 'failed', 'cancelled', 'interrupted') AND NEW.state != OLD.state
        BEGIN
            SELECT RAISE(ABORT, 'a finished job cannot change state');
        END;
        """,
    ),
    Migration(
        4,
        "alert states and their history",
        """
        CREATE TABLE alert_states (
            rule TEXT NOT NULL,
            fingerprint TEXT NOT NULL,         -- the labels that tell one series from another, as JSON
            state TEXT NOT NULL CHECK (state IN ('pending', 'firing')),
            severity TEXT NOT NULL,
            since REAL NOT NULL,               -- when it became pending (or firing)
            fired_at REAL,
            value REAL,
            updated_at REAL NOT NULL,
            PRIMARY KEY (rule, fingerprint)
        );
        CREATE TABLE alert_events (
            id INTEGER PRIMARY KEY,
            rule TEXT NOT NULL,
            fingerprint TEXT NOT NULL,
            status TEXT NOT NULL CHECK (status IN ('firing', 'resolved')),
            severity TEXT NOT NULL,
            value REAL,
            threshold REAL,
            message TEXT NOT NULL,
            at REAL NOT NULL,
            notified TEXT                      -- JSON: each notifier's outcome
        );
        CREATE INDEX alert_events_by_time ON alert_events (at);
        """,
    ),
    Migration(
        5,
        "GPU samples, their one-minute rollups, the GPUs seen, and leases",
        """
        -- One row per GPU per sample (1 Hz by default): what the history charts and alerts read.
        CREATE TABLE gpu_samples (
            ts REAL NOT NULL,
            node TEXT NOT NULL,                -- hostname (or 'simulated-node')
            gpu INTEGER NOT NULL,
            memory_used REAL,                  -- bytes
            memory_total REAL,
            gpu_util REAL,                     -- percent
            memory_util REAL,
            temperature REAL,                  -- Celsius
            power REAL,                        -- watts
            power_limit REAL,
            sm_clock REAL,                     -- MHz
            memory_clock REAL,
            pcie_tx REAL,                      -- bytes per second
            pcie_rx REAL,
            clock_reasons INTEGER,             -- NVML clock-event reasons bitmask
            ecc_uncorrected INTEGER,           -- volatile uncorrected ECC errors
            xid INTEGER                        -- an XID critical error reported since the last sample
        );
        CREATE INDEX gpu_samples_by_time ON gpu_samples (ts, gpu);
        CREATE INDEX gpu_samples_with_xid ON gpu_samples (ts) WHERE xid IS NOT NULL;  -- rare rows, read every tick
        -- Keyed by the start of each minute, so rolling a minute up again replaces it.
        CREATE TABLE gpu_rollups (
            ts INTEGER NOT NULL,
            node TEXT NOT NULL,
            gpu INTEGER NOT NULL,
            samples INTEGER NOT NULL,
            memory_used REAL, memory_used_max REAL, memory_total REAL,
            gpu_util REAL, gpu_util_max REAL, memory_util REAL,
            temperature REAL, temperature_max REAL,
            power REAL, power_max REAL, power_limit REAL,
            sm_clock REAL, sm_clock_min REAL, memory_clock REAL,
            pcie_tx REAL, pcie_rx REAL,
            throttled REAL,                    -- share of the minute's samples with a throttle reason
            ecc_uncorrected INTEGER, xid INTEGER,
            PRIMARY KEY (ts, node, gpu)
        );
        -- What does not change from one sample to the next: the GPU's name and limits.
        CREATE TABLE gpu_devices (
            node TEXT NOT NULL,
            gpu INTEGER NOT NULL,
            uuid TEXT,
            name TEXT,
            memory_total REAL,
            power_limit REAL,
            temperature_slowdown REAL,
            sm_clock_max REAL,
            memory_clock_max REAL,
            simulated INTEGER NOT NULL DEFAULT 0,
            first_seen REAL NOT NULL,
            last_seen REAL NOT NULL,
            PRIMARY KEY (node, gpu)
        );
        -- A lease names the one process doing a singleton task (the GPU collector) until it expires.
        CREATE TABLE leases (
            name TEXT PRIMARY KEY,
            owner TEXT NOT NULL,
            acquired_at REAL NOT NULL,
            renewed_at REAL NOT NULL,
            expires_at REAL NOT NULL,
            detail TEXT                        -- JSON: what the holder says about itself
        );
        """,
    ),
    Migration(
        6,
        "Data quality runs and named rule sets",
        """
        -- One row per profiled dataset: what was profiled (its SHA-256 and, when kept, a copy under
        -- PITWALL_HOME/datasets), with which settings, and the headline counts.
        CREATE TABLE quality_runs (
            id INTEGER PRIMARY KEY AUTOINCREMENT,
            created_at TEXT NOT NULL,
            dataset TEXT NOT NULL,             -- the file's name as uploaded
            sha256 TEXT NOT NULL,
            format TEXT NOT NULL,
            rows INTEGER NOT NULL,
            text_column TEXT NOT NULL,
            stored_path TEXT,                  -- the kept copy of the dataset, or NULL
            rule_set TEXT,                     -- the rule set checked, or NULL
            rules_passed INTEGER,              -- 1 all passed, 0 one failed, NULL no rules
            settings TEXT NOT NULL,            -- JSON: threshold, heuristic families, sample size, tokenizer
            summary TEXT NOT NULL,             -- JSON: the `quality profile --json` headline numbers
            detail TEXT NOT NULL               -- JSON: findings (row numbers and examples)
        );
        CREATE INDEX quality_runs_by_sha ON quality_runs (sha256);
        -- Great-Expectations-style rule sets, kept as the YAML the user wrote.
        CREATE TABLE quality_rule_sets (
            name TEXT PRIMARY KEY,
            yaml TEXT NOT NULL,
            created_at TEXT NOT NULL,
            updated_at TEXT NOT NULL
        );
        """,
    ),
    Migration(
        7,
        "Eval-run samples and human ratings",
        """
        -- One row per answered item of an eval run (an eval_runs row of kind 'eval'): what was asked,
        -- what counts as right, what the model said and how each metric scored it.
        CREATE TABLE eval_samples (
            run_id INTEGER NOT NULL REFERENCES eval_runs (id) ON DELETE CASCADE,
            idx INTEGER NOT NULL,              -- the item's position in the eval set, from 0
            item_id TEXT NOT NULL,
            prompt TEXT NOT NULL,
            context TEXT,
            refs TEXT NOT NULL,                -- JSON list of reference answers (`references` is an SQL keyword)
            output TEXT NOT NULL,
            scores TEXT NOT NULL,              -- JSON: {metric: 0-100}
            prompt_tokens INTEGER NOT NULL,
            output_tokens INTEGER NOT NULL,
            seconds REAL NOT NULL,
            PRIMARY KEY (run_id, idx)
        );
        -- A person's judgement of one answer: a 1-5 score, a thumb, or both; one per rater and sample,
        -- so rating again replaces the earlier rating.
        CREATE TABLE eval_ratings (
            id INTEGER PRIMARY KEY,
            run_id INTEGER NOT NULL,
            idx INTEGER NOT NULL,
            rater TEXT NOT NULL,
            score INTEGER CHECK (score IS NULL OR score BETWEEN 1 AND 5),
            thumb INTEGER CHECK (thumb IS NULL OR thumb IN (-1, 1)),
            comment TEXT NOT NULL DEFAULT '',
            created_at TEXT NOT NULL,          -- when this rater last rated this sample
            CHECK (score IS NOT NULL OR thumb IS NOT NULL),
            UNIQUE (run_id, idx, rater),
            FOREIGN KEY (run_id, idx) REFERENCES eval_samples (run_id, idx) ON DELETE CASCADE
        );
        CREATE INDEX eval_ratings_by_rater ON eval_ratings (rater, run_id);
        """,
    ),
    Migration(
        8,
        "Latency: load-test runs and request records",
        """
        -- One load test (or in-process probe): what was asked of which endpoint, and how it ended.
        CREATE TABLE latency_runs (
            id INTEGER PRIMARY KEY,
            kind TEXT NOT NULL,                -- loadtest | probe
            job_id INTEGER,                    -- the job that ran it: a running run whose job ended was cut off
            created_at REAL NOT NULL,          -- unix seconds
            finished_at REAL,
            status TEXT NOT NULL,              -- complete | stopped | failed
            endpoint TEXT NOT NULL,
            model TEXT NOT NULL,
            spec TEXT NOT NULL,                -- JSON: the load test's settings
            summary TEXT NOT NULL,             -- JSON: the `latency loadtest --json` figures
            message TEXT NOT NULL DEFAULT ''
        );
        -- One LLM request, whoever measured it: a load test or probe (run_id set), an application's
        -- track() call, an HTTP ingest batch or an ingested log (run_id NULL: production traffic).
        CREATE TABLE latency_requests (
            id INTEGER PRIMARY KEY,
            run_id INTEGER REFERENCES latency_runs (id) ON DELETE CASCADE,
            source TEXT NOT NULL,              -- loadtest | probe | track | http | ingest
            started_at REAL NOT NULL,          -- unix seconds
            model TEXT NOT NULL DEFAULT '',
            endpoint TEXT NOT NULL DEFAULT '',
            ok INTEGER NOT NULL,
            ttft_ms REAL,
            e2el_ms REAL,
            tpot_ms REAL,
            itl_ms TEXT,                       -- JSON list of inter-token gaps (load tests and probes)
            input_tokens INTEGER,
            output_tokens INTEGER,
            error_kind TEXT NOT NULL DEFAULT '',
            error TEXT NOT NULL DEFAULT '',
            status_code INTEGER,
            feedback REAL CHECK (feedback IS NULL OR feedback BETWEEN 0 AND 1),  -- user satisfaction, 0-1
            request_id TEXT,                   -- the sender's id: a retried batch is not stored twice
            user TEXT NOT NULL DEFAULT ''
        );
        CREATE INDEX latency_requests_by_time ON latency_requests (started_at) WHERE run_id IS NULL;
        CREATE INDEX latency_requests_by_run ON latency_requests (run_id) WHERE run_id IS NOT NULL;
        CREATE UNIQUE INDEX latency_requests_by_request_id ON latency_requests (request_id)
            WHERE request_id IS NOT NULL;
        """,
    ),
    Migration(
        9,
        "Security: the tamper-evident audit log",
        """
        -- Who did what, append-only: each entry's MAC covers its fields and the previous entry's MAC, so an
        -- edited, deleted or reordered entry breaks the chain (`python -m lib security audit verify`).
        CREATE TABLE audit_log (
            seq INTEGER PRIMARY KEY,           -- 1, 2, 3, ... with no gaps
            at REAL NOT NULL,                  -- unix seconds
            actor TEXT NOT NULL,               -- a user name, "cli:<os user>", or "system"
            action TEXT NOT NULL,              -- e.g. sign-in, upload, export, key-rotate
            object TEXT NOT NULL DEFAULT '',
            details TEXT NOT NULL DEFAULT '{}', -- JSON
            mac TEXT NOT NULL                  -- hex HMAC-SHA256 over the previous mac and this entry
        );
        CREATE INDEX audit_log_by_action ON audit_log (action, at);
        """,
    ),
)

LATEST_VERSION = MIGRATIONS[-1].version


def migrate(conn: sqlite3.Connection, migrations: tuple[Migration, ...] = MIGRATIONS) -> list[int]:
    """Apply pending migrations inside one write transaction; return the versions applied."""
    latest = migrations[-1].version
    # BEGIN IMMEDIATE takes the write lock first, so two processes starting together
    # cannot both read version 0 and both try to create the tables.
    conn.execute("BEGIN IMMEDIATE")
    try:
        current = conn.execute("PRAGMA user_version").fetchone()[0]
        if current > latest:
            raise newer_schema_error(current, latest)
        applied = []
        for migration in migrations:
            if migration.version <= current:
                continue
            for statement in sql_statements(migration.sql):
                conn.execute(statement)
            if migration.python is not None:
                migration.python(conn)
            conn.execute(
                "INSERT INTO schema_migrations (version, description, applied_at) VALUES (?, ?, ?)",
                (migration.version, migration.description, datetime.now(UTC).isoformat()),
            )
            conn.execute(f"PRAGMA user_version = {int(migration.version)}")
            applied.append(migration.version)
        conn.execute("COMMIT")
        return applied
    except BaseException:
        if conn.in_transaction:  # after a disk-full or I/O error SQLite may have rolled back already
            conn.execute("ROLLBACK")
        raise


def newer_schema_error(found: int, known: int = LATEST_VERSION) -> StoreError:
    """The sentence for a database from a newer Pitwall, which this one must not touch."""
    return StoreError(
        f"The database was written by a newer Pitwall (schema {found}, this one knows {known}); "
        "upgrade Pitwall or point PITWALL_HOME elsewhere."
    )


def sql_statements(script: str) -> list[str]:
    """Split a script into whole statements, as SQLite itself reads them.

    `executescript` would commit the migration's open transaction, and splitting on every `;`
    breaks a trigger body (`BEGIN ...; ...; END;`) or a `;` inside a string. SQLite's own
    `complete_statement` tells where a statement really ends.
    """
    statements, buffer = [], ""
    pieces = script.split(";")
    for piece in pieces[:-1]:
        buffer += piece + ";"
        if sqlite3.complete_statement(buffer):
            if _has_code(buffer):
                statements.append(buffer.strip())
            buffer = ""
    buffer += pieces[-1]
    if _has_code(buffer):  # the last statement may go without its `;`, as in sqlite3's shell
        if not sqlite3.complete_statement(buffer + ";"):
            raise ValueError(f"incomplete SQL statement at the end of a migration: {buffer.strip()[:80]!r}")
        statements.append(buffer.strip())
    return statements


def _has_code(sql: str) -> bool:
    """True when `sql` holds more than whitespace, `--` comments and semicolons."""
    lines = [line.split("--", 1)[0] for line in sql.splitlines()]
    return bool("".join(lines).replace(";", "").strip())
