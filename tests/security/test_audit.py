"""The audit log: a chain that verifies, keeps secrets out, and shows every kind of tampering."""

from __future__ import annotations

import json
import sqlite3
import stat
import threading

import pytest

from lib import config
from lib.errors import PitwallError
from lib.security import audit
from lib.store import open_store


@pytest.fixture
def store():
    return open_store()


def _log(store, count: int = 5) -> list[audit.AuditEntry]:
    return [
        audit.append(
            store, f"user{n % 2}", audit.UPLOAD if n % 2 else audit.EXPORT, f"file{n}.csv", {"n": n}, at=1000.0 + n
        )
        for n in range(1, count + 1)
    ]


def _sql(statement: str, params: tuple = ()) -> None:
    """Edit the database behind Pitwall's back, as someone with the file (but not the key) could."""
    conn = sqlite3.connect(config.database_path())
    with conn:
        conn.execute(statement, params)
    conn.close()


INSERT = "INSERT INTO audit_log (seq, at, actor, action, object, details, mac) VALUES (?, ?, ?, ?, '', '{}', ?)"


def _mode(path) -> int:
    return stat.S_IMODE(path.stat().st_mode)


def test_appended_entries_form_a_chain_that_verifies(store):
    written = _log(store, 5)

    assert [entry.seq for entry in written] == [1, 2, 3, 4, 5]
    assert audit.verify(store).to_dict() == {"ok": True, "entries": 5, "first_bad": None, "reason": ""}
    assert audit.entries(store)[0] == written[-1]


def test_empty_log_verifies_and_makes_no_key(store):
    assert audit.verify(store) == audit.AuditVerification(True, 0, None)
    assert not audit.key_path().exists()


def test_key_and_anchor_are_private_and_the_key_is_kept(store):
    audit.append(store, "alice", audit.SIGN_IN)
    key = audit.key_path().read_bytes()
    audit.append(store, "alice", audit.SIGN_OUT)

    assert len(key) == 32 and audit.key_path().read_bytes() == key
    assert _mode(audit.keys_dir()) == 0o700
    assert _mode(audit.key_path()) == 0o600
    assert _mode(audit.anchor_path()) == 0o600


def test_secrets_in_details_are_redacted_and_long_values_cut(store):
    details = {"password": "hunter2", "API_Key": "sk-live-123", "nested": {"accessToken": "tok-9"}, "note": "x" * 2000}
    entry = audit.append(store, "alice", audit.SETTINGS_CHANGE, "settings", details)

    raw = sqlite3.connect(config.database_path()).execute("SELECT details FROM audit_log").fetchone()[0]
    for secret in ("hunter2", "sk-live-123", "tok-9"):
        assert secret not in raw
    assert entry.details["password"] == audit.REDACTED and entry.details["nested"]["accessToken"] == audit.REDACTED
    assert len(entry.details["note"]) == audit.MAX_TEXT
    assert audit.entries(store)[0].details == entry.details
    assert audit.verify(store).ok


@pytest.mark.parametrize(
    "edit", ["UPDATE audit_log SET actor = 'mallory' WHERE seq = 3", "UPDATE audit_log SET at = at + 1 WHERE seq = 3",
             """UPDATE audit_log SET details = '{"n": 99}' WHERE seq = 3"""],
)  # fmt: skip
def test_an_edited_field_is_caught_at_its_entry(store, edit):
    _log(store, 5)
    _sql(edit)

    result = audit.verify(store)
    assert (result.ok, result.first_bad, result.entries) == (False, 3, 5)
    assert "Entry 3" in result.reason


def test_a_deleted_middle_entry_is_caught_at_the_gap(store):
    _log(store, 5)
    _sql("DELETE FROM audit_log WHERE seq = 2")

    result = audit.verify(store)
    assert (result.ok, result.first_bad) == (False, 2)
    assert "missing" in result.reason


def test_a_deleted_last_entry_is_caught_by_the_anchor_and_blocks_appends(store):
    _log(store, 5)
    _sql("DELETE FROM audit_log WHERE seq = 5")

    result = audit.verify(store)
    assert (result.ok, result.entries, result.first_bad) == (False, 4, 5)
    assert "deleted" in result.reason
    # Appending would overwrite the anchor and hide the cut, so it is refused.
    with pytest.raises(PitwallError, match="anchor"):
        audit.append(store, "alice", audit.SIGN_IN)
    assert audit.verify(store).first_bad == 5


def test_a_wiped_log_is_caught_by_the_anchor(store):
    _log(store, 3)
    _sql("DELETE FROM audit_log")

    assert (audit.verify(store).ok, audit.verify(store).first_bad) == (False, 1)


def test_two_swapped_entries_are_caught(store):
    _log(store, 5)
    columns = "at, actor, action, object, details, mac"
    conn = sqlite3.connect(config.database_path())
    with conn:
        two, four = (conn.execute(f"SELECT {columns} FROM audit_log WHERE seq = ?", (s,)).fetchone() for s in (2, 4))
        for seq, row in ((2, four), (4, two)):
            conn.execute(
                "UPDATE audit_log SET at = ?, actor = ?, action = ?, object = ?, details = ?, mac = ? WHERE seq = ?",
                (*row, seq),
            )
    conn.close()

    result = audit.verify(store)
    assert (result.ok, result.first_bad) == (False, 2)


def test_a_forged_entry_is_caught(store):
    _log(store, 3)
    _sql(INSERT, (4, 2000.0, "mallory", audit.SIGN_IN, "ab" * 32))

    result = audit.verify(store)
    assert (result.ok, result.first_bad) == (False, 4)


def test_a_forged_entry_slipped_into_the_middle_is_caught(store):
    _log(store, 4)
    _sql("UPDATE audit_log SET seq = seq + 10 WHERE seq >= 3")
    _sql("UPDATE audit_log SET seq = seq - 9 WHERE seq >= 13")
    _sql(INSERT, (3, 1.0, "mallory", audit.DECRYPT, "cd" * 32))

    result = audit.verify(store)
    assert (result.ok, result.entries, result.first_bad) == (False, 5, 3)


def test_a_missing_key_is_reported_and_no_new_chain_is_started(store):
    _log(store, 2)
    audit.key_path().unlink()

    result = audit.verify(store)
    assert not result.ok and "key" in result.reason
    with pytest.raises(PitwallError) as raised:
        audit.append(store, "alice", audit.SIGN_IN)
    message = str(raised.value)
    assert "missing" in message and message.endswith(".") and "\n" not in message and message.count(". ") == 0
    assert not audit.key_path().exists()
    assert len(audit.entries(store)) == 2


def test_entries_are_newest_first_and_filtered(store):
    _log(store, 6)

    assert [e.seq for e in audit.entries(store)] == [6, 5, 4, 3, 2, 1]
    assert [e.seq for e in audit.entries(store, limit=2)] == [6, 5]
    assert [e.seq for e in audit.entries(store, action=audit.UPLOAD)] == [5, 3, 1]
    assert [e.seq for e in audit.entries(store, actor="user0")] == [6, 4, 2]
    assert [e.seq for e in audit.entries(store, since=1004.0)] == [6, 5, 4]
    assert [e.seq for e in audit.entries(store, action=audit.EXPORT, since=1003.0)] == [6, 4]
    assert json.loads(json.dumps(audit.entries(store, limit=1)[0].to_dict()))["object"] == "file6.csv"


def test_concurrent_writers_never_fork_the_chain(store):
    errors: list[BaseException] = []

    def writer(name: str) -> None:
        try:
            for n in range(50):
                audit.append(store, name, audit.EVAL_RUN, details={"n": n})
        except BaseException as error:  # surfaced below: a thread's exception is otherwise lost
            errors.append(error)

    threads = [threading.Thread(target=writer, args=(name,)) for name in ("alice", "bob")]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()

    assert errors == []
    assert audit.verify(store).to_dict() == {"ok": True, "entries": 100, "first_bad": None, "reason": ""}
    assert sorted(e.seq for e in audit.entries(store, limit=1000)) == list(range(1, 101))


def test_an_entry_without_details_reads_back_with_none_of_them() -> None:
    store = open_store()
    audit.append(store, "alice", "sign-in")
    (entry,) = audit.entries(store)
    assert entry.details == {} and audit.verify(store).ok
