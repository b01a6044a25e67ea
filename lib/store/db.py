"""The one owner of Pitwall's SQLite database: connections, WAL mode, migrations, health.

Each thread keeps one open connection per database file (opening one costs a file open and four
PRAGMAs), and every `read()` or `write()` block is one transaction on it. Writes start with
`BEGIN IMMEDIATE`: a transaction that reads first and writes later can fail at once with
"database is locked" under WAL, whatever the busy timeout; taking the write lock up front makes
writers queue instead.
"""

from __future__ import annotations

import itertools
import logging
import os
import re
import sqlite3
import threading
from collections.abc import Iterable, Iterator, Sequence
from contextlib import contextmanager
from dataclasses import asdict, dataclass
from pathlib import Path

from lib import config
from lib.errors import StoreError
from lib.store.migrations import LATEST_VERSION, migrate, newer_schema_error

BUSY_TIMEOUT_MS = 10_000
BULK_BATCH_ROWS = 10_000  # rows per transaction in insert_many: long enough to be fast, short enough to share

log = logging.getLogger("pitwall.store")
_migrated: set[Path] = set()
_migrate_lock = threading.Lock()
_local = threading.local()
_savepoints = itertools.count()
_IDENTIFIER = re.compile(r"^[A-Za-z_][A-Za-z0-9_]*$")
# SQLite's result codes for conditions of the file or the machine, not of our SQL: these reach users as
# a sentence. Anything else ("no such column", a syntax error, a constraint) is a bug and keeps its
# traceback. Codes, not message text: "no such table: busy_samples" is not a locked database.
_CONDITIONS = {
    "CORRUPT": "damaged", "NOTADB": "damaged",
    "BUSY": "locked", "LOCKED": "locked",
    "READONLY": "unwritable", "CANTOPEN": "unwritable", "IOERR": "unwritable", "PERM": "unwritable",
    "FULL": "full",
}  # fmt: skip


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
    """A handle on the database file; connections are opened once per thread and reused."""

    def __init__(self, path: Path):
        self.path = path

    @contextmanager
    def write(self) -> Iterator[sqlite3.Connection]:
        """One write transaction (BEGIN IMMEDIATE): committed on success, rolled back on error."""
        with self._transaction("BEGIN IMMEDIATE") as conn:
            yield conn

    @contextmanager
    def read(self) -> Iterator[sqlite3.Connection]:
        """One read transaction: a consistent snapshot that never blocks writers (WAL)."""
        with self._transaction("BEGIN") as conn:
            yield conn

    @contextmanager
    def _transaction(self, begin: str) -> Iterator[sqlite3.Connection]:
        conn = self._connection()
        modes: dict[Path, str] = _local.__dict__.setdefault("modes", {})
        if conn.in_transaction:  # a nested block: a savepoint inside the transaction this thread holds
            if begin != "BEGIN" and modes.get(self.path) == "BEGIN":
                raise RuntimeError(
                    "a write nested in a read transaction cannot take the write lock; open the write first"
                )
            yield from _savepoint(conn)
            return
        try:
            conn.execute(begin)
            modes[self.path] = begin
            yield conn
            conn.execute("COMMIT")
        except BaseException as error:
            if conn.in_transaction:
                conn.execute("ROLLBACK")
            if isinstance(error, sqlite3.DatabaseError) and (store_error := as_store_error(error, self.path)):
                raise store_error from error
            raise
        finally:
            modes.pop(self.path, None)

    def _connection(self) -> sqlite3.Connection:
        """This thread's connection to the file, reopened if the file was replaced or the process forked."""
        connections: dict[Path, tuple[sqlite3.Connection, int, int]] = _local.__dict__.setdefault("connections", {})
        try:
            inode = self.path.stat().st_ino
        except OSError:
            # Moved aside or deleted while Pitwall ran: never create an empty, unmigrated file here.
            raise StoreError(
                f"The database {self.path} was moved or deleted while Pitwall ran; "
                "open the page again (or rerun the command) to start a fresh one."
            ) from None
        cached = connections.get(self.path)
        if cached and cached[1] == os.getpid() and cached[2] == inode:
            return cached[0]
        if cached:
            cached[0].close()
        conn = _open_connection(self.path)
        connections[self.path] = (conn, os.getpid(), self.path.stat().st_ino)
        return conn

    def insert_many(
        self, table: str, columns: Sequence[str], rows: Iterable[Sequence], batch_rows: int = BULK_BATCH_ROWS
    ) -> int:
        """Insert many rows with executemany, `batch_rows` per transaction; return the number inserted.

        Each batch is its own short transaction, so other writers (a job's progress, an alert) get
        the lock between batches and readers keep reading throughout.
        """
        for name in (table, *columns):
            check_identifier(name)
        sql = f"INSERT INTO {table} ({', '.join(columns)}) VALUES ({', '.join('?' * len(columns))})"
        inserted, batch = 0, []
        for row in rows:
            batch.append(row)
            if len(batch) >= batch_rows:
                inserted += self._insert_batch(sql, batch)
                batch = []
        if batch:
            inserted += self._insert_batch(sql, batch)
        return inserted

    def _insert_batch(self, sql: str, batch: list[Sequence]) -> int:
        with self.write() as conn:
            conn.executemany(sql, batch)
        return len(batch)

    def info(self) -> StoreInfo:
        """Schema version, journal mode, size and row counts."""
        with self.read() as conn:
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


def _savepoint(conn: sqlite3.Connection) -> Iterator[sqlite3.Connection]:
    """A nested block: its writes are undone if it fails, even when the outer block goes on."""
    name = f"nested_{id(conn)}_{next(_savepoints)}"
    conn.execute(f"SAVEPOINT {name}")
    try:
        yield conn
    except BaseException:
        conn.execute(f"ROLLBACK TO {name}")
        conn.execute(f"RELEASE {name}")
        raise
    conn.execute(f"RELEASE {name}")


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
                if store_error := as_store_error(error, path):
                    raise store_error from error
                raise
            finally:
                conn.close()
            _migrated.add(path)
    return Store(path)


def read_only_uri(path: Path) -> str:
    """A `file:` URI that opens `path` read-only, whatever characters (`#`, `?`, `%`) the path holds."""
    return f"{path.absolute().as_uri()}?mode=ro"


def _refuse_newer_schema(path: Path) -> None:
    """Check the schema version before anything (even the switch to WAL) touches the file."""
    if not path.exists():
        return
    try:
        conn = sqlite3.connect(read_only_uri(path), uri=True)
        try:
            version = conn.execute("PRAGMA user_version").fetchone()[0]
        finally:
            conn.close()
    except sqlite3.DatabaseError as error:
        raise (as_store_error(error, path) or StoreError(f"The database {path} failed: {error}.")) from error
    if version > LATEST_VERSION:
        raise newer_schema_error(version)


def _open_connection(path: Path) -> sqlite3.Connection:
    try:
        # Autocommit mode: transactions are the explicit BEGIN/COMMIT of Store.read() and Store.write().
        conn = sqlite3.connect(path, timeout=BUSY_TIMEOUT_MS / 1000, isolation_level=None, check_same_thread=False)
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
        return conn
    except sqlite3.DatabaseError as error:
        raise (as_store_error(error, path) or StoreError(f"The database {path} failed: {error}.")) from error


def as_store_error(error: sqlite3.DatabaseError, path: Path) -> StoreError | None:
    """The user's sentence for a condition of the file or machine; None for a programming error."""
    name = getattr(error, "sqlite_errorname", None) or ""  # SQLITE_IOERR_SHORT_READ -> IOERR
    condition = _CONDITIONS.get(name.split("_")[1]) if name.startswith("SQLITE_") else None
    if condition == "damaged":
        return StoreError(
            f"The file {path} is not a readable Pitwall database (it may be damaged); "
            "move it aside to start a fresh one, or set PITWALL_HOME to another folder."
        )
    if condition == "locked":
        return StoreError(f"The database {path} stayed locked by another process; try again in a moment.")
    if condition == "unwritable":
        return StoreError(f"Cannot write the database {path}; check the folder's permissions or set PITWALL_HOME.")
    if condition == "full":
        return StoreError(f"The disk holding {path} is full; free some space and try again.")
    return None


def check_identifier(name: str) -> None:
    """Refuse anything but a plain identifier where a table or column name goes into SQL text."""
    if not _IDENTIFIER.match(name):
        raise ValueError(f"not a plain SQL identifier: {name!r}")
