"""The store: WAL mode, migrations applied once, two processes at once, damaged files left untouched."""

from __future__ import annotations

import sqlite3
import subprocess
import sys
from pathlib import Path

import pytest

from lib import config
from lib.errors import StoreError
from lib.store import open_store
from lib.store.eval_runs import list_eval_runs
from lib.store.migrations import LATEST_VERSION, MIGRATIONS, Migration, migrate
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
    with store.connect() as conn:
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
