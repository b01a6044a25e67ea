"""The tamper-evident audit log: who did what and when, in an HMAC chain that shows any edit.

Each entry's MAC is HMAC-SHA256(key, previous MAC || 0x1f || canonical JSON of its fields), the first
entry chaining from 64 zeros, so changing, reordering, inserting or deleting an entry in the database
breaks the chain from that entry on (OWASP Logging Cheat Sheet: protect log integrity). The key is 32
random bytes in `$PITWALL_HOME/keys/audit.key`, outside the database: someone who can edit the database
but not read the key cannot forge a valid entry.

The chain alone cannot show that its last entries were deleted (what remains is still a valid chain),
so each append also records the entry count and the last MAC in `$PITWALL_HOME/keys/audit.anchor`, and
`verify` compares the log's end with it. The anchor is written inside the same write transaction as the
entry (so writers stay in order) and put back if the commit fails; only a crash between writing the
anchor and committing (microseconds) leaves it one entry ahead, which `verify` then reports.

Details never hold secrets: values under keys named like password/token/secret/key are replaced with
"[redacted]", and long values are cut, so the log stays small and safe to show.
"""

from __future__ import annotations

import hashlib
import hmac
import json
import math
import os
import re
import secrets
import sqlite3
import time
from collections.abc import Iterator
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Any

from lib import config
from lib.errors import InputError, PitwallError
from lib.files import write_atomically
from lib.store.db import Store

# The action vocabulary: callers name what happened with one of these, so filters and the page agree.
SIGN_IN = "sign-in"  # a user signed in to the dashboard
SIGN_IN_FAILED = "sign-in-failed"  # a sign-in was refused (wrong password, unknown user, locked out)
SIGN_OUT = "sign-out"  # a user signed out
UPLOAD = "upload"  # a file (data set, rule set, prompt set) was uploaded
EVAL_RUN = "eval-run"  # an evaluation or quality run was started
EXPORT = "export"  # data left Pitwall: a download, a report, a CSV
DECRYPT = "decrypt"  # encrypted data was decrypted for viewing or export
KEY_ROTATE = "key-rotate"  # an encryption or signing key was replaced
USER_ADD = "user-add"  # a user account was created
USER_REMOVE = "user-remove"  # a user account was removed
PASSWORD_CHANGE = "password-change"  # a user's password was set or changed
SETTINGS_CHANGE = "settings-change"  # a setting or secret was changed (the value is never logged)
ACTIONS = (
    SIGN_IN, SIGN_IN_FAILED, SIGN_OUT, UPLOAD, EVAL_RUN, EXPORT, DECRYPT, KEY_ROTATE, USER_ADD, USER_REMOVE,
    PASSWORD_CHANGE, SETTINGS_CHANGE,
)  # fmt: skip

KEY_BYTES = 32
GENESIS_MAC = "0" * 64  # what the first entry chains from
FIELD_SEPARATOR = "\x1f"  # ASCII unit separator: cannot occur in a hex MAC, so the message is unambiguous
REDACTED = "[redacted]"
MAX_TEXT = 500  # characters kept of any one string (actor, object, a detail value)
MAX_ITEMS = 50  # entries kept of any one dict or list in details
MAX_DEPTH = 4  # nesting kept in details; anything deeper becomes its (cut) text
# Substrings, so api_key, access_token, client_secret and DB_PASSWORD are all caught; a harmless
# key ("keyboard") may be redacted too, which is the safe way to be wrong.
_SECRET_NAME = re.compile(r"pass(word|wd|phrase)|token|secret|key|credential|authorization|cookie", re.IGNORECASE)


@dataclass(frozen=True)
class AuditEntry:
    """One audit log entry as stored: its place in the chain, what happened, and its MAC."""

    seq: int
    at: float
    actor: str
    action: str
    object: str
    details: dict
    mac: str

    def to_dict(self) -> dict:
        return asdict(self)


@dataclass(frozen=True)
class AuditVerification:
    """Whether the chain is intact; `first_bad` is the first entry (seq) that is wrong or missing."""

    ok: bool
    entries: int
    first_bad: int | None
    reason: str = ""

    def to_dict(self) -> dict:
        return {"ok": self.ok, "entries": self.entries, "first_bad": self.first_bad, "reason": self.reason}


# --- keys and anchor: the only files this module touches ------------------------------------------------


def keys_dir() -> Path:
    """The owner-only folder holding the audit key and anchor, created (0700) on first use."""
    folder = config.pitwall_home() / "keys"
    folder.mkdir(parents=True, exist_ok=True, mode=0o700)
    os.chmod(folder, 0o700)  # mkdir's mode is filtered by the umask
    return folder


def key_path() -> Path:
    """Where the audit MAC key lives."""
    return keys_dir() / "audit.key"


def anchor_path() -> Path:
    """Where the count and last MAC of the log are recorded, to catch a deleted tail."""
    return keys_dir() / "audit.anchor"


def audit_key(create: bool) -> bytes | None:
    """The 32-byte audit key; made (0600) when missing and `create`, else None when missing."""
    path = key_path()
    try:
        key = path.read_bytes()
    except FileNotFoundError:
        if not create:
            return None
        write_atomically(path, secrets.token_bytes(KEY_BYTES), mode=0o600)
        key = path.read_bytes()  # re-read: what is on disk is what later appends and verify will use
    except OSError as error:
        raise PitwallError(f"Cannot read the audit key {path} ({error.strerror}); check its permissions.") from error
    if len(key) != KEY_BYTES:
        raise PitwallError(f"The audit key {path} is not {KEY_BYTES} bytes (it was damaged); restore it from a backup.")
    return key


def read_anchor() -> tuple[int, str] | None:
    """The (entry count, last MAC) the last append recorded, or None when there is no anchor file."""
    path = anchor_path()
    try:
        data = json.loads(path.read_text(encoding="utf-8"))
        return int(data["entries"]), str(data["mac"])
    except FileNotFoundError:
        return None
    except (OSError, ValueError, KeyError, TypeError):
        return (-1, "")  # unreadable: matches no log, so verify and append both report it


def write_anchor(entries: int, mac: str) -> None:
    """Record the log's entry count and last MAC (0600)."""
    write_atomically(anchor_path(), json.dumps({"entries": entries, "mac": mac}) + "\n", mode=0o600)


# --- pure parts: the MAC and what goes into details -------------------------------------------------------


def canonical(seq: int, at: float, actor: str, action: str, object: str, details: dict) -> str:
    """The canonical JSON text of an entry's fields, as the MAC covers them."""
    return json.dumps(
        [seq, at, actor, action, object, details], sort_keys=True, separators=(",", ":"), ensure_ascii=False
    )


def entry_mac(
    key: bytes, prev_mac: str, seq: int, at: float, actor: str, action: str, object: str, details: dict
) -> str:
    """The hex HMAC-SHA256 of an entry, chained to the previous entry's MAC."""
    message = prev_mac + FIELD_SEPARATOR + canonical(seq, at, actor, action, object, details)
    return hmac.new(key, message.encode("utf-8"), hashlib.sha256).hexdigest()


def cut(text: str, limit: int = MAX_TEXT) -> str:
    """`text`, cut to `limit` characters with an ellipsis when longer."""
    return text if len(text) <= limit else text[: limit - 1] + "…"


def clean_details(details: dict | None) -> dict:
    """Details safe to log: secret-named values redacted, strings cut, sizes bounded, plain JSON types only."""
    if details is None:
        return {}
    return _clean(details, 0) if isinstance(details, dict) else {"value": _clean(details, MAX_DEPTH)}


def _clean(value: Any, depth: int) -> Any:
    if value is None or isinstance(value, bool | int):
        return value
    if isinstance(value, float):
        return value if math.isfinite(value) else None  # NaN is not JSON
    if isinstance(value, str):
        return cut(value)
    if depth < MAX_DEPTH and isinstance(value, dict):
        items = list(value.items())[:MAX_ITEMS]
        return {
            cut(str(name), 100): REDACTED if _SECRET_NAME.search(str(name)) else _clean(item, depth + 1)
            for name, item in items
        }
    if depth < MAX_DEPTH and isinstance(value, list | tuple | set | frozenset):
        return [_clean(item, depth + 1) for item in list(value)[:MAX_ITEMS]]
    return cut(str(value))


# --- the log ----------------------------------------------------------------------------------------------


def append(
    store: Store,
    actor: str,
    action: str,
    object: str = "",
    details: dict | None = None,
    at: float | None = None,
) -> AuditEntry:
    """Add one entry at the end of the chain (one write transaction, so concurrent writers never fork it)."""
    if not actor.strip() or not action.strip():
        raise InputError("An audit entry needs an actor and an action; name both.")
    actor, action, object = cut(actor), cut(action, 100), cut(object)
    details = clean_details(details)
    at = float(time.time() if at is None else at)
    previous_anchor: str | None = None
    anchor_written = False
    try:
        with store.write() as conn:
            last = conn.execute("SELECT seq, mac FROM audit_log ORDER BY seq DESC LIMIT 1").fetchone()
            last_seq, last_mac = (last["seq"], last["mac"]) if last else (0, GENESIS_MAC)
            _refuse_broken_end(last_seq, last_mac)
            # The key is made only for an empty log with no anchor: never a second chain over a first.
            key = audit_key(create=last_seq == 0)
            if key is None:
                raise PitwallError(
                    f"The audit key {key_path()} is missing while the audit log holds {last_seq} entries; "
                    "restore the key from a backup (a new key would start a chain nobody could verify)."
                )
            seq = last_seq + 1
            mac = entry_mac(key, last_mac, seq, at, actor, action, object, details)
            conn.execute(
                "INSERT INTO audit_log (seq, at, actor, action, object, details, mac) VALUES (?, ?, ?, ?, ?, ?, ?)",
                (seq, at, actor, action, object, json.dumps(details, sort_keys=True, ensure_ascii=False), mac),
            )
            # Still holding the write lock: anchors are written in the same order as the entries.
            previous_anchor = _anchor_text()
            anchor_written = True
            write_anchor(seq, mac)
    except BaseException:
        if anchor_written:
            _restore_anchor(previous_anchor)
        raise
    return AuditEntry(seq, at, actor, action, object, details, mac)


def _refuse_broken_end(last_seq: int, last_mac: str) -> None:
    """Refuse to append after a cut tail: a new entry would overwrite the anchor that shows the cut."""
    anchor = read_anchor()
    if anchor is None and last_seq == 0:
        return
    if anchor != (last_seq, last_mac):
        raise PitwallError(
            f"The audit log does not match its anchor {anchor_path()} (entries were removed or a file was replaced); "
            "run `python -m lib security audit verify` and restore the database and keys folder from a backup."
        )


def _anchor_text() -> str | None:
    try:
        return anchor_path().read_text(encoding="utf-8")
    except FileNotFoundError:
        return None


def _restore_anchor(text: str | None) -> None:
    if text is None:
        anchor_path().unlink(missing_ok=True)
    else:
        write_atomically(anchor_path(), text, mode=0o600)


def verify(store: Store) -> AuditVerification:
    """Walk the chain in seq order and report the first edited, missing, reordered or forged entry."""
    with store.read() as conn:
        count = conn.execute("SELECT COUNT(*) FROM audit_log").fetchone()[0]
        try:
            key = audit_key(create=False)
        except PitwallError as error:
            return AuditVerification(False, count, None, str(error))
        if key is None:
            if count:
                return AuditVerification(
                    False, count, None, f"The audit key {key_path()} is missing, so no entry can be checked."
                )
            return _check_anchor(0, GENESIS_MAC)
        last_seq, last_mac = 0, GENESIS_MAC
        for seq, at, actor, action, object, details_text, mac in _rows(conn):
            expected = last_seq + 1
            if seq != expected:
                bad = min(seq, expected)
                reason = f"Entry {expected} is missing." if seq > expected else f"Entry {seq} is out of sequence."
                return AuditVerification(False, count, bad, reason)
            try:
                details = json.loads(details_text)
            except (TypeError, ValueError):
                return AuditVerification(False, count, seq, f"Entry {seq} has unreadable details (it was edited).")
            if not hmac.compare_digest(str(mac), entry_mac(key, last_mac, seq, at, actor, action, object, details)):
                return AuditVerification(
                    False, count, seq, f"Entry {seq} does not match its MAC (it was edited, moved or forged)."
                )
            last_seq, last_mac = seq, mac
    return _check_anchor(last_seq, last_mac)


def _rows(conn: sqlite3.Connection) -> Iterator[tuple]:
    """The log's rows in seq order, streamed (plain tuples: cheaper than sqlite3.Row for 100k rows)."""
    cursor = conn.execute("SELECT seq, at, actor, action, object, details, mac FROM audit_log ORDER BY seq")
    cursor.row_factory = None
    yield from cursor


def _check_anchor(last_seq: int, last_mac: str) -> AuditVerification:
    """Compare the end of a valid chain with the anchor, which is how a deleted tail shows."""
    anchor = read_anchor()
    if anchor is None:
        if last_seq == 0:
            return AuditVerification(True, 0, None)
        return AuditVerification(
            False, last_seq, None, f"The audit anchor {anchor_path()} is missing, so a deleted tail would not show."
        )
    recorded, mac = anchor
    if recorded < 0:
        return AuditVerification(False, last_seq, None, f"The audit anchor {anchor_path()} is unreadable.")
    if recorded > last_seq:
        return AuditVerification(
            False,
            last_seq,
            last_seq + 1,
            f"The log ends at entry {last_seq} but its anchor records {recorded} entries "
            "(its last entries were deleted).",
        )
    if recorded < last_seq:
        return AuditVerification(
            False,
            last_seq,
            None,
            f"The anchor records {recorded} entries but the log holds {last_seq} (it was replaced).",
        )
    if not hmac.compare_digest(mac, last_mac):
        return AuditVerification(
            False, last_seq, last_seq, f"Entry {last_seq} is not the last entry the anchor records (it was replaced)."
        )
    return AuditVerification(True, last_seq, None)


def entries(
    store: Store,
    limit: int = 100,
    action: str | None = None,
    actor: str | None = None,
    since: float | None = None,
) -> list[AuditEntry]:
    """The newest `limit` entries first, optionally only one action, one actor, or those at or after `since`."""
    clauses, params = [], []
    if action is not None:
        clauses.append("action = ?")
        params.append(action)
    if actor is not None:
        clauses.append("actor = ?")
        params.append(actor)
    if since is not None:
        clauses.append("at >= ?")
        params.append(float(since))
    where = f"WHERE {' AND '.join(clauses)}" if clauses else ""
    sql = f"SELECT seq, at, actor, action, object, details, mac FROM audit_log {where} ORDER BY seq DESC LIMIT ?"
    with store.read() as conn:
        rows = conn.execute(sql, (*params, max(0, int(limit)))).fetchall()
    return [_entry(row) for row in rows]


def _entry(row: sqlite3.Row) -> AuditEntry:
    try:
        details = json.loads(row["details"])
    except (TypeError, ValueError):
        details = {"unreadable": cut(str(row["details"]))}  # edited in the database; verify says so
    if not isinstance(details, dict):
        details = {"value": details}
    return AuditEntry(row["seq"], row["at"], row["actor"], row["action"], row["object"], details, row["mac"])
