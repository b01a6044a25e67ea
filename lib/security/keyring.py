"""The one owner of Pitwall's encryption keys: a key ring in `$PITWALL_HOME/keys/keyring.json` or `PITWALL_KEYRING`.

The ring is a JSON list of `{id, key, created_at, state}`; `key` is a Fernet key (urlsafe base64 of 32 random
bytes). Exactly one key is "primary" (new data is encrypted with it), "active" keys still decrypt, and "retired"
keys are kept but used for nothing. Key material never appears in a message, a log line or `to_dict()`.
"""

from __future__ import annotations

import base64
import binascii
import contextlib
import fcntl
import json
import os
import secrets
import stat
from collections.abc import Iterator
from dataclasses import dataclass, field, replace
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from cryptography.fernet import Fernet, MultiFernet

from lib import config
from lib.errors import InputError
from lib.files import write_atomically

ENV_VARIABLE = "PITWALL_KEYRING"
STATES = ("primary", "active", "retired")
KEY_BYTES = 32
MAX_ID_LENGTH = 64  # key ids are written into every ciphertext header with a one-byte length
NO_KEY = "No encryption key yet; create one with `python -m lib security keygen`."


def keyring_path() -> Path:
    """Where the key ring file lives: `$PITWALL_HOME/keys/keyring.json`."""
    return config.pitwall_home() / "keys" / "keyring.json"


@dataclass(frozen=True)
class KeyInfo:
    """One key's public facts: no key material."""

    id: str
    created_at: str  # ISO 8601, UTC
    state: str

    def age_days(self, now: datetime | None = None) -> float:
        """Days since the key was created."""
        created = datetime.fromisoformat(self.created_at)
        return ((now or datetime.now(UTC)) - created).total_seconds() / 86400

    def to_dict(self) -> dict[str, Any]:
        """The key's facts as JSON, with its age in days."""
        return {"id": self.id, "created_at": self.created_at, "state": self.state, "age_days": self.age_days()}


@dataclass(frozen=True)
class _Entry:
    info: KeyInfo
    key: bytes = field(repr=False)  # the 32 raw bytes; repr=False keeps it out of tracebacks and logs

    def to_json(self) -> dict[str, str]:
        return {
            "id": self.info.id,
            "key": base64.urlsafe_b64encode(self.key).decode("ascii"),
            "created_at": self.info.created_at,
            "state": self.info.state,
        }


@dataclass
class KeyRing:
    """The loaded key ring; `source` is "file" or "environment" (read-only)."""

    entries: list[_Entry] = field(repr=False)
    source: str
    path: Path | None
    warnings: list[str] = field(default_factory=list)

    @property
    def primary(self) -> str:
        """The id of the key new data is encrypted with."""
        return next(entry.info.id for entry in self.entries if entry.info.state == "primary")

    def infos(self) -> list[KeyInfo]:
        """Every key's id, creation time and state, oldest first."""
        return [entry.info for entry in self.entries]

    def fernet(self) -> MultiFernet:
        """A MultiFernet that encrypts with the primary key and decrypts with it or any active key."""
        usable = sorted(
            (entry for entry in self.entries if entry.info.state != "retired"),
            key=lambda entry: entry.info.state != "primary",  # primary first: MultiFernet encrypts with the first
        )
        return MultiFernet([Fernet(base64.urlsafe_b64encode(entry.key)) for entry in usable])

    def key_bytes(self, key_id: str) -> bytes:
        """The raw 32 bytes of a primary or active key, for the streaming file format."""
        entry = self._entry(key_id)
        if entry is None:
            raise InputError(f"Key {key_id} is not in this key ring; use the key ring the data was encrypted with.")
        if entry.info.state == "retired":
            raise InputError(
                f"Key {key_id} is retired, so it decrypts nothing; set its state back to active in {self._where()} "
                "to read data still encrypted with it."
            )
        return entry.key

    def has_usable_key(self, key_id: str) -> bool:
        """Whether `key_id` is in the ring and not retired."""
        entry = self._entry(key_id)
        return entry is not None and entry.info.state != "retired"

    def add_primary(self) -> KeyRing:
        """Make a new primary key (the old primary stays active for reading) and save the ring."""

        def change(entries: list[_Entry]) -> list[_Entry]:
            demoted = [
                replace(entry, info=replace(entry.info, state="active")) if entry.info.state == "primary" else entry
                for entry in entries
            ]
            return [*demoted, _new_entry("primary", {entry.info.id for entry in entries})]

        return self._update(change)

    def retire(self, key_id: str) -> KeyRing:
        """Stop using a key for anything (it stays in the file); refuses the primary key."""

        def change(entries: list[_Entry]) -> list[_Entry]:
            target = next((entry for entry in entries if entry.info.id == key_id), None)
            if target is None:
                raise InputError(
                    f"There is no key {key_id} in the key ring; `python -m lib security status` lists them."
                )
            if target.info.state == "primary":
                raise InputError(
                    f"Key {key_id} is the primary key; make a new one with `python -m lib security keygen` "
                    "first, then retire this one."
                )
            return [
                replace(entry, info=replace(entry.info, state="retired")) if entry is target else entry
                for entry in entries
            ]

        return self._update(change)

    def save(self) -> None:
        """Write the ring to its file (0600, atomically); refuses a ring from the environment."""
        self._refuse_if_environment()
        assert self.path is not None
        _write(self.path, self.entries)

    def _update(self, change) -> KeyRing:
        """Apply `change` to the ring as it is on disk now, under the ring's lock, so no concurrent change is lost."""
        self._refuse_if_environment()
        assert self.path is not None
        with _locked(self.path):
            current = _read_file(self.path) if self.path.exists() else self.entries
            updated = change(current)
            _write(self.path, updated)
        self.entries = updated
        return self

    def _entry(self, key_id: str) -> _Entry | None:
        return next((entry for entry in self.entries if entry.info.id == key_id), None)

    def _where(self) -> str:
        return ENV_VARIABLE if self.source == "environment" else str(self.path)

    def _refuse_if_environment(self) -> None:
        if self.source == "environment":
            raise InputError(
                f"The key ring comes from {ENV_VARIABLE}, which Pitwall cannot change; update the variable "
                "(or unset it to use the key ring file) instead."
            )


@dataclass(frozen=True)
class KeygenResult:
    """What `keygen` did: created the ring, or added a new primary key to it."""

    created: bool
    primary: str
    previous: str | None
    path: str

    def to_dict(self) -> dict[str, Any]:
        """The result as JSON."""
        return {"created": self.created, "primary": self.primary, "previous": self.previous, "path": self.path}


def load_keyring(create: bool = False) -> KeyRing:
    """The key ring from `PITWALL_KEYRING` if set, else from its file (made with one primary key when `create`)."""
    text = os.environ.get(ENV_VARIABLE)
    if text:
        return KeyRing(
            _parse(text, ENV_VARIABLE, f"fix {ENV_VARIABLE} or unset it to use the key ring file"), "environment", None
        )
    path = keyring_path()
    if not path.exists():
        if not create:
            raise InputError(NO_KEY)
        with _locked(path):
            if not path.exists():  # a second process may have created it while this one waited
                _write(path, [_new_entry("primary", set())])
    return KeyRing(_read_file(path), "file", path, _permission_warnings(path))


def keygen() -> KeygenResult:
    """Create the key ring if there is none, else add a new primary key to it."""
    created = not os.environ.get(ENV_VARIABLE) and not keyring_path().exists()
    ring = load_keyring(create=True)
    if created:
        return KeygenResult(True, ring.primary, None, str(ring.path))
    previous = ring.primary
    ring.add_primary()
    return KeygenResult(False, ring.primary, previous, str(ring.path))


def _new_entry(state: str, taken: set[str]) -> _Entry:
    created = datetime.now(UTC).replace(microsecond=0)
    key_id = f"k{created:%Y%m%d}-{secrets.token_hex(3)}"  # sortable by day, unique by the random part
    while key_id in taken:
        key_id = f"k{created:%Y%m%d}-{secrets.token_hex(3)}"
    return _Entry(KeyInfo(key_id, created.isoformat(), state), secrets.token_bytes(KEY_BYTES))


def _read_file(path: Path) -> list[_Entry]:
    remedy = "restore it from your backup (data encrypted with its keys cannot be read without them)"
    try:
        text = path.read_text(encoding="utf-8")
    except PermissionError as error:
        raise InputError(f"Cannot read the key ring {path} (permission denied); check its owner and mode.") from error
    except (OSError, UnicodeDecodeError) as error:
        raise InputError(f"Cannot read the key ring {path}; {remedy}.") from error
    return _parse(text, f"The key ring {path}", remedy)


def _parse(text: str, where: str, remedy: str) -> list[_Entry]:
    """The ring's entries, or one InputError naming `where` and the problem, never quoting the text (it holds keys)."""
    try:
        raw = json.loads(text)
    except json.JSONDecodeError as error:
        raise InputError(f"{where} is not valid JSON (line {error.lineno}); {remedy}.") from None
    problem = _shape_problem(raw)
    if problem:
        raise InputError(f"{where} is not a valid key ring ({problem}); {remedy}.")
    return [
        _Entry(KeyInfo(item["id"], item["created_at"], item["state"]), base64.urlsafe_b64decode(item["key"]))
        for item in raw
    ]


def _shape_problem(raw: Any) -> str | None:
    """What is wrong with the parsed JSON, in words that quote no key, or None."""
    if not isinstance(raw, list) or not raw:
        return "it must be a non-empty JSON list of keys"
    seen: set[str] = set()
    for number, item in enumerate(raw, start=1):
        if not isinstance(item, dict) or not all(
            isinstance(item.get(name), str) for name in ("id", "key", "created_at", "state")
        ):
            return f"entry {number} needs the text fields id, key, created_at and state"
        key_id = item["id"]
        if not key_id or len(key_id.encode("utf-8")) > MAX_ID_LENGTH or not key_id.isprintable():
            return f"entry {number} has an empty, over-long or unprintable id"
        if key_id in seen:
            return f"the id {key_id} appears twice"
        seen.add(key_id)
        if item["state"] not in STATES:
            return f"key {key_id} has state {item['state']!r}; it must be primary, active or retired"
        if _key_length(item["key"]) != KEY_BYTES:
            return f"key {key_id} is not 32 bytes of urlsafe base64"
        try:
            created = datetime.fromisoformat(item["created_at"])
        except ValueError:
            return f"key {key_id} has a created_at that is not an ISO 8601 time"
        if created.tzinfo is None:
            return f"key {key_id} has a created_at without a time zone"
    primaries = sum(item["state"] == "primary" for item in raw)
    if primaries != 1:
        return f"it has {primaries} primary keys; exactly one must be primary"
    return None


def _key_length(text: str) -> int:
    try:
        return len(base64.urlsafe_b64decode(text.encode("ascii")))
    except (binascii.Error, ValueError, UnicodeEncodeError):
        return -1


def _write(path: Path, entries: list[_Entry]) -> None:
    _make_folder(path.parent)
    write_atomically(path, json.dumps([entry.to_json() for entry in entries], indent=2) + "\n", 0o600)


def _make_folder(folder: Path) -> None:
    folder.mkdir(parents=True, exist_ok=True)
    os.chmod(folder, 0o700)  # mkdir's mode is masked by the umask; the keys folder is owner-only whatever it is


def _permission_warnings(path: Path) -> list[str]:
    if stat.S_IMODE(path.stat().st_mode) & 0o077:
        return [f"{path} can be read by other users; run `chmod 600 {path}`."]
    return []


@contextlib.contextmanager
def _locked(path: Path) -> Iterator[None]:
    """An exclusive lock beside the ring file, so two processes changing or creating it never lose a key."""
    _make_folder(path.parent)
    descriptor = os.open(path.parent / ".keyring.lock", os.O_RDWR | os.O_CREAT, 0o600)
    with os.fdopen(descriptor, "r+b") as handle:
        fcntl.flock(handle, fcntl.LOCK_EX)
        try:
            yield
        finally:
            fcntl.flock(handle, fcntl.LOCK_UN)
