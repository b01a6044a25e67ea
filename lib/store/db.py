"""The one owner of Pitwall's SQLite database: connections, WAL mode, migrations, health."""

from __future__ import annotations

import sqlite3
import threading
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import asdict, dataclass
from pathlib import Path

from lib import config
from lib.errors import StoreError
from lib.store.migrations import LATEST_VERSION, migrate, newer_schema_error

BUSY_TIMEOUT_MS = 10_000

_migrated: set[Path] = set()
_migrate_lock = threading.Lock()


@dataclass(frozen=True)
class StoreInfo:
    """What the dashboard and `python -m lib store info` show about the database."""

    path: str
    schema_version: int
    latest_version: int
    journal_mode: str
    size_bytes: int
    tables: dict[str, int]

    def to_dict(self) -> dict:
        return asdict(self)


class Store:
    """A handle on the database file; every `connect()` opens a short-lived connection."""

    def __init__(self, path: Path):
        self.path = path

    @contextmanager
    def connect(self) -> Iterator[sqlite3.Connection]:
        """A connection in one transaction: committed on success, rolled back on error."""
        conn = _open_connection(self.path)
        try:
            yield conn
            conn.commit()
        except sqlite3.DatabaseError as error:
            conn.rollback()
            raise _as_store_error(error, self.path) from error
        except BaseException:
            conn.rollback()
            raise
        finally:
            conn.close()

    def info(self) -> StoreInfo:
        """Schema version, journal mode, size and row counts."""
        with self.connect() as conn:
            version = conn.execute("PRAGMA user_version").fetchone()[0]
            mode = conn.execute("PRAGMA journal_mode").fetchone()[0]
            names = [
                row[0]
                for row in conn.execute(
                    "SELECT name FROM sqlite_master WHERE type = 'table' AND name NOT LIKE 'sqlite_%' ORDER BY name"
                )
            ]
            counts = {name: conn.execute(f'SELECT COUNT(*) FROM "{name}"').fetchone()[0] for name in names}
        size = sum(p.stat().st_size for p in self.path.parent.glob(self.path.name + "*") if p.is_file())
        return StoreInfo(str(self.path), version, LATEST_VERSION, mode, size, counts)


def open_store(path: Path | None = None) -> Store:
    """Open (creating and migrating on first use) the database at `path`, default under PITWALL_HOME."""
    path = Path(path or config.database_path()).expanduser().resolve()
    with _migrate_lock:
        if path not in _migrated or not path.exists():
            try:
                path.parent.mkdir(parents=True, exist_ok=True)
            except OSError as error:
                raise StoreError(
                    f"Cannot create the Pitwall folder {path.parent} ({error.strerror}); "
                    "set PITWALL_HOME to a writable folder."
                ) from error
            _refuse_newer_schema(path)
            conn = _open_connection(path)
            try:
                migrate(conn)
            except sqlite3.DatabaseError as error:
                raise _as_store_error(error, path) from error
            finally:
                conn.close()
            _migrated.add(path)
    return Store(path)


def _refuse_newer_schema(path: Path) -> None:
    """Check the schema version before anything (even the switch to WAL) touches the file."""
    if not path.exists():
        return
    try:
        conn = sqlite3.connect(f"file:{path}?mode=ro", uri=True)
        try:
            version = conn.execute("PRAGMA user_version").fetchone()[0]
        finally:
            conn.close()
    except sqlite3.DatabaseError as error:
        raise _as_store_error(error, path) from error
    if version > LATEST_VERSION:
        raise newer_schema_error(version)


def _open_connection(path: Path) -> sqlite3.Connection:
    try:
        conn = sqlite3.connect(path, timeout=BUSY_TIMEOUT_MS / 1000, isolation_level=None)
        conn.row_factory = sqlite3.Row
        # WAL lets the dashboard read while a collector writes; busy_timeout makes writers queue.
        mode = conn.execute("PRAGMA journal_mode = WAL").fetchone()[0]
        if mode.lower() != "wal":
            raise StoreError(
                f"The database at {path} cannot use WAL mode (got {mode}); put PITWALL_HOME on a local disk."
            )
        conn.execute(f"PRAGMA busy_timeout = {BUSY_TIMEOUT_MS}")
        conn.execute("PRAGMA foreign_keys = ON")
        conn.execute("PRAGMA synchronous = NORMAL")
        conn.isolation_level = "DEFERRED"
        return conn
    except sqlite3.DatabaseError as error:
        raise _as_store_error(error, path) from error


def _as_store_error(error: sqlite3.DatabaseError, path: Path) -> StoreError:
    message = str(error)
    if "not a database" in message or "malformed" in message:
        return StoreError(
            f"The file {path} is not a readable Pitwall database (it may be damaged); "
            "move it aside to start a fresh one, or set PITWALL_HOME to another folder."
        )
    if "locked" in message or "busy" in message:
        return StoreError(f"The database {path} stayed locked by another process; try again in a moment.")
    if "readonly" in message or "unable to open" in message:
        return StoreError(f"Cannot write the database {path}; check the folder's permissions or set PITWALL_HOME.")
    return StoreError(f"The database {path} failed: {message}.")
