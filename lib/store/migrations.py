"""The database schema as an ordered list of migrations; `PRAGMA user_version` records the last applied."""

from __future__ import annotations

import sqlite3
from dataclasses import dataclass
from datetime import UTC, datetime

from lib.errors import StoreError


@dataclass(frozen=True)
class Migration:
    """One step of the schema: applied once, in order, never edited after release."""

    version: int
    description: str
    sql: str


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
            for statement in _statements(migration.sql):
                conn.execute(statement)
            conn.execute(
                "INSERT INTO schema_migrations (version, description, applied_at) VALUES (?, ?, ?)",
                (migration.version, migration.description, datetime.now(UTC).isoformat()),
            )
            conn.execute(f"PRAGMA user_version = {int(migration.version)}")
            applied.append(migration.version)
        conn.execute("COMMIT")
        return applied
    except BaseException:
        conn.execute("ROLLBACK")
        raise


def newer_schema_error(found: int, known: int = LATEST_VERSION) -> StoreError:
    """The sentence for a database from a newer Pitwall, which this one must not touch."""
    return StoreError(
        f"The database was written by a newer Pitwall (schema {found}, this one knows {known}); "
        "upgrade Pitwall or point PITWALL_HOME elsewhere."
    )


def _statements(sql: str) -> list[str]:
    """Split a migration into statements; executescript would commit our open transaction."""
    return [part.strip() for part in sql.split(";") if part.strip()]
