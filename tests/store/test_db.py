"""The store: WAL mode, migrations applied once, two processes at once, damaged files left untouched."""

from __future__ import annotations

import sqlite3
import subprocess
import sys
import threading
from pathlib import Path

import pytest

from lib import config
from lib.errors import StoreError
from lib.store import open_store
from lib.store.eval_runs import insert_eval_run, list_eval_runs
from lib.store.migrations import LATEST_VERSION, MIGRATIONS, Migration, migrate, sql_statements
from tests.helpers import ROOT


def test_new_store_is_created_under_pitwall_home_in_wal_mode(pitwall_home: Path) -> None:
    info = open_store().info()
    assert Path(info.path) == config.database_path().resolve()
    assert Path(info.path).parent == pitwall_home.resolve()
    assert info.journal_mode == "wal"
    assert info.schema_version == LATEST_VERSION
    assert "eval_runs" in info.tables


def test_reopening_applies_no_migration_twice() -> None:
    open_store()
    from lib.store import db

    db._migrated.clear()  # as a second process would see it
    store = open_store()
    with store.read() as conn:
        versions = [row[0] for row in conn.execute("SELECT version FROM schema_migrations")]
    assert versions == [m.version for m in MIGRATIONS]


def test_a_failing_migration_leaves_the_schema_as_it_was(tmp_path: Path) -> None:
    conn = sqlite3.connect(tmp_path / "x.db", isolation_level=None)
    migrate(conn)
    broken = (*MIGRATIONS, Migration(LATEST_VERSION + 1, "broken", "CREATE TABLE ok (a); CREATE TABLE eval_runs (b)"))
    with pytest.raises(sqlite3.OperationalError):
        migrate(conn, broken)
    assert conn.execute("PRAGMA user_version").fetchone()[0] == LATEST_VERSION
    assert conn.execute("SELECT name FROM sqlite_master WHERE name = 'ok'").fetchone() is None


WRITER = """
import sys
from lib.store import open_store
from lib.store.eval_runs import insert_eval_run
store = open_store()
for i in range(150):
    insert_eval_run(store, "perplexity", "m", f"writer-{sys.argv[1]}", {"perplexity": float(i)}, {})
"""


def test_two_processes_write_at_once_without_losing_rows(pitwall_home: Path) -> None:
    open_store()
    writers = [
        subprocess.Popen([sys.executable, "-c", WRITER, str(n)], cwd=ROOT, stderr=subprocess.PIPE, text=True)
        for n in range(2)
    ]
    for writer in writers:
        _, stderr = writer.communicate(timeout=120)
        assert writer.returncode == 0, stderr
    runs = list_eval_runs(open_store(), limit=1000)
    assert len(runs) == 300
    assert {r.source for r in runs} == {"writer-0", "writer-1"}


def test_a_damaged_database_gets_a_clear_error_and_is_not_touched(pitwall_home: Path) -> None:
    pitwall_home.mkdir(parents=True)
    damaged = b"this is not sqlite at all" * 100
    config.database_path().write_bytes(damaged)
    with pytest.raises(StoreError, match="not a readable Pitwall database"):
        open_store()
    assert config.database_path().read_bytes() == damaged


def test_a_database_from_a_newer_pitwall_is_refused_and_kept(pitwall_home: Path) -> None:
    pitwall_home.mkdir(parents=True)
    conn = sqlite3.connect(config.database_path(), isolation_level=None)
    conn.execute("CREATE TABLE future (note TEXT)")
    conn.execute("INSERT INTO future VALUES ('kept')")
    conn.execute(f"PRAGMA user_version = {LATEST_VERSION + 5}")
    conn.close()
    before = config.database_path().read_bytes()
    with pytest.raises(StoreError, match="newer Pitwall"):
        open_store()
    assert config.database_path().read_bytes() == before
    conn = sqlite3.connect(config.database_path())
    assert conn.execute("PRAGMA user_version").fetchone()[0] == LATEST_VERSION + 5
    assert conn.execute("SELECT note FROM future").fetchall() == [("kept",)]
    assert conn.execute("SELECT name FROM sqlite_master WHERE name = 'eval_runs'").fetchone() is None


def test_an_unwritable_home_gets_a_clear_error(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    blocker = tmp_path / "file"
    blocker.write_text("x")
    monkeypatch.setenv("PITWALL_HOME", str(blocker / "home"))
    with pytest.raises(StoreError, match="PITWALL_HOME"):
        open_store()


def test_a_home_whose_name_holds_uri_characters_is_refused_cleanly(tmp_path: Path, monkeypatch) -> None:
    # `file:{path}?mode=ro` unescaped read `q#1` as the file `q` plus a fragment: the guard opened (and
    # created) a stray file `q`, and the newer database was switched to WAL before being refused.
    home = tmp_path / "q#1"
    home.mkdir()
    monkeypatch.setenv("PITWALL_HOME", str(home))
    conn = sqlite3.connect(home / "pitwall.db", isolation_level=None)
    conn.execute(f"PRAGMA user_version = {LATEST_VERSION + 1}")
    conn.close()
    before = (home / "pitwall.db").read_bytes()
    with pytest.raises(StoreError, match="newer Pitwall"):
        open_store()
    assert (home / "pitwall.db").read_bytes() == before
    assert sorted(p.name for p in tmp_path.iterdir()) == ["q#1"]
    assert sorted(p.name for p in home.iterdir()) == ["pitwall.db"]  # no WAL files: it was never switched


def test_a_home_with_uri_characters_works_as_any_other(tmp_path: Path, monkeypatch) -> None:
    monkeypatch.setenv("PITWALL_HOME", str(tmp_path / "runs?v=1 & 100%#2"))
    insert_eval_run(open_store(), "perplexity", "m", "a.txt", {"perplexity": 3.0}, {})
    from lib.store import db

    db._migrated.clear()
    assert [r.source for r in list_eval_runs(open_store())] == ["a.txt"]


def test_each_thread_reuses_one_connection() -> None:
    store = open_store()
    with store.read() as first:
        pass
    with store.write() as second:
        pass
    assert first is second
    seen = []
    thread = threading.Thread(target=lambda: seen.append(store._connection()))
    thread.start()
    thread.join()
    assert seen[0] is not first


def test_a_programming_error_is_not_dressed_up_as_a_store_problem() -> None:
    # "no such column" is a bug in our SQL, not a damaged or locked database: it keeps its type and
    # traceback (for the log) instead of becoming a user-facing sentence blaming the file.
    store = open_store()
    with pytest.raises(sqlite3.OperationalError, match="no such column") as raised, store.read() as conn:
        conn.execute("SELECT no_such_column FROM eval_runs")
    assert not isinstance(raised.value, StoreError)
    with store.read() as conn:  # the connection is still usable afterwards
        assert conn.execute("SELECT COUNT(*) FROM eval_runs").fetchone()[0] == 0


def test_a_failed_write_is_rolled_back() -> None:
    store = open_store()
    with pytest.raises(RuntimeError), store.write():
        insert_eval_run(store, "perplexity", "m", "a.txt", {"perplexity": 1.0}, {})
        raise RuntimeError("boom")
    assert list_eval_runs(store) == []


def test_a_migration_script_may_hold_triggers_and_semicolons_in_strings(tmp_path: Path) -> None:
    script = """
        CREATE TABLE notes (body TEXT, edits INTEGER DEFAULT 0);
        -- a comment; with a semicolon
        INSERT INTO notes (body) VALUES ('one; two');
        CREATE TRIGGER count_edits AFTER UPDATE OF body ON notes
        BEGIN
            UPDATE notes SET edits = edits + 1 WHERE rowid = NEW.rowid;
        END;
    """
    assert len(sql_statements(script)) == 3
    conn = sqlite3.connect(tmp_path / "x.db", isolation_level=None)
    migrate(conn, (MIGRATIONS[0], Migration(2, "notes", script)))
    conn.execute("UPDATE notes SET body = 'three'")
    assert conn.execute("SELECT body, edits FROM notes").fetchone() == ("three", 1)


def test_a_python_migration_runs_in_the_same_transaction(tmp_path: Path) -> None:
    def backfill(conn: sqlite3.Connection) -> None:
        conn.execute("UPDATE t SET doubled = value * 2")

    def broken(conn: sqlite3.Connection) -> None:
        conn.execute("UPDATE t SET doubled = 0")
        raise ValueError("backfill failed half way")

    conn = sqlite3.connect(tmp_path / "x.db", isolation_level=None)
    first = (MIGRATIONS[0], Migration(2, "t", "CREATE TABLE t (value INTEGER); INSERT INTO t VALUES (21)"))
    migrate(conn, first)
    second = (*first, Migration(3, "doubled", "ALTER TABLE t ADD COLUMN doubled INTEGER", backfill))
    migrate(conn, second)
    assert conn.execute("SELECT doubled FROM t").fetchone() == (42,)
    with pytest.raises(ValueError):
        migrate(conn, (*second, Migration(4, "broken", "", broken)))
    assert conn.execute("SELECT doubled FROM t").fetchone() == (42,)
    assert conn.execute("PRAGMA user_version").fetchone()[0] == 3


def test_bulk_insert_writes_every_row_in_batches() -> None:
    store = open_store()
    with store.write() as conn:
        conn.execute("CREATE TABLE samples (ts REAL, gpu INTEGER, util REAL)")
    rows = ((float(i), i % 8, i / 10) for i in range(25_001))  # a generator: nothing is held in memory
    assert store.insert_many("samples", ["ts", "gpu", "util"], rows, batch_rows=10_000) == 25_001
    with store.read() as conn:
        assert tuple(conn.execute("SELECT COUNT(*), MAX(ts) FROM samples").fetchone()) == (25_001, 25_000.0)
    with pytest.raises(ValueError, match="identifier"):
        store.insert_many("samples; DROP TABLE eval_runs", ["ts"], [(1.0,)])


def test_errors_are_classified_by_sqlite_code_not_by_words_in_the_message() -> None:
    store = open_store()
    with pytest.raises(sqlite3.OperationalError, match="no such table: busy_samples"), store.read() as conn:
        conn.execute("SELECT * FROM busy_samples")  # a bug, though its message says "busy"


def test_a_failed_nested_block_is_undone_while_the_outer_one_commits() -> None:
    store = open_store()
    with store.write():
        insert_eval_run(store, "perplexity", "m", "kept.txt", {"perplexity": 1.0}, {})
        try:
            with store.write():
                insert_eval_run(store, "perplexity", "m", "undone.txt", {"perplexity": 2.0}, {})
                raise ValueError("the inner step failed")
        except ValueError:
            pass  # the caller carries on
    assert [run.source for run in list_eval_runs(store)] == ["kept.txt"]


def test_a_write_inside_a_read_is_refused_before_it_can_fail_as_locked() -> None:
    store = open_store()
    with pytest.raises(RuntimeError, match="write nested in a read"), store.read(), store.write():
        pass
    with store.write() as conn:  # the thread's connection is clean afterwards
        assert not conn.execute("SELECT COUNT(*) FROM eval_runs").fetchone()[0]


def test_a_database_moved_aside_while_running_is_not_recreated_empty(pitwall_home: Path) -> None:
    store = open_store()
    insert_eval_run(store, "perplexity", "m", "a.txt", {"perplexity": 1.0}, {})
    moved = pitwall_home / "pitwall.db.moved"
    config.database_path().rename(moved)
    with pytest.raises(StoreError, match="moved or deleted"):
        list_eval_runs(store)
    assert not config.database_path().exists()
    assert list_eval_runs(open_store()) == []  # opening again starts a fresh, migrated database
