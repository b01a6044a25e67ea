"""The key ring: creation, file modes, rotation, retirement, the environment ring, and corrupt files."""

from __future__ import annotations

import json
import os
import stat

import pytest

from lib.errors import InputError
from lib.security.keyring import keygen, keyring_path, load_keyring


def _mode(path) -> int:
    return stat.S_IMODE(path.stat().st_mode)


def test_a_missing_ring_says_how_to_create_one():
    with pytest.raises(InputError, match="security keygen"):
        load_keyring()
    assert not keyring_path().exists()


def test_create_makes_one_private_primary_key_that_reloads_the_same(pitwall_home):
    ring = load_keyring(create=True)
    path = keyring_path()
    assert path.parent == pitwall_home / "keys"
    assert _mode(path) == 0o600 and _mode(path.parent) == 0o700
    assert [info.state for info in ring.infos()] == ["primary"]
    again = load_keyring()
    assert again.primary == ring.primary and again.warnings == []
    assert again.fernet().decrypt(ring.fernet().encrypt(b"x")) == b"x"  # the same key, not a new one
    stored = json.loads(path.read_text())
    assert set(stored[0]) == {"id", "key", "created_at", "state"}


def test_infos_and_repr_carry_no_key_material():
    ring = load_keyring(create=True)
    key = json.loads(keyring_path().read_text())[0]["key"]
    assert key not in repr(ring) and key not in repr(ring.infos())
    assert key not in json.dumps([info.to_dict() for info in ring.infos()])


def test_add_primary_keeps_old_tokens_readable_and_encrypts_new_ones_with_the_new_key():
    ring = load_keyring(create=True)
    first = ring.primary
    old_token = ring.fernet().encrypt(b"old")
    ring.add_primary()
    assert ring.primary != first
    assert {info.id: info.state for info in ring.infos()} == {first: "active", ring.primary: "primary"}
    reloaded = load_keyring()
    assert reloaded.primary == ring.primary  # saved
    assert reloaded.fernet().decrypt(old_token) == b"old"
    new_token = reloaded.fernet().encrypt(b"new")
    reloaded.retire(first)
    assert load_keyring().fernet().decrypt(new_token) == b"new"  # made with the new primary alone


def test_retire_refuses_the_primary_and_unknown_keys_and_excludes_retired_keys():
    ring = load_keyring(create=True)
    with pytest.raises(InputError, match="is the primary key"):
        ring.retire(ring.primary)
    with pytest.raises(InputError, match="no key nope"):
        ring.retire("nope")
    old = ring.primary
    token = ring.fernet().encrypt(b"secret")
    ring.add_primary().retire(old)
    assert load_keyring().infos()[0].state == "retired"
    with pytest.raises(Exception):  # noqa: B017 -- InvalidToken: a retired key decrypts nothing
        load_keyring().fernet().decrypt(token)
    with pytest.raises(InputError, match="retired"):
        load_keyring().key_bytes(old)


def test_keygen_creates_then_adds_a_primary():
    created = keygen()
    assert created.created and created.previous is None
    added = keygen()
    assert not added.created and added.previous == created.primary and added.primary != created.primary
    assert [info.state for info in load_keyring().infos()] == ["active", "primary"]


def test_the_environment_ring_takes_precedence_and_refuses_rotation(monkeypatch):
    load_keyring(create=True)
    file_primary = load_keyring().primary
    text = keyring_path().read_text()
    keyring_path().unlink()
    keygen()  # a different ring in the file
    monkeypatch.setenv("PITWALL_KEYRING", text)
    ring = load_keyring()
    assert ring.source == "environment" and ring.path is None and ring.primary == file_primary
    with pytest.raises(InputError, match="update the variable"):
        ring.add_primary()
    with pytest.raises(InputError, match="update the variable"):
        keygen()


def test_a_group_readable_file_loads_with_a_chmod_warning():
    load_keyring(create=True)
    os.chmod(keyring_path(), 0o644)
    ring = load_keyring()
    assert any(f"chmod 600 {keyring_path()}" in warning for warning in ring.warnings)


@pytest.mark.parametrize(
    ("edit", "problem"),
    [
        (lambda entries: "{not json", "not valid JSON"),
        (lambda entries: json.dumps({"keys": entries}), "non-empty JSON list"),
        (lambda entries: json.dumps([{**entries[0], "key": entries[0]["key"][:20]}]), "not 32 bytes"),
        (lambda entries: json.dumps([{**entries[0], "state": "active"}]), "exactly one must be primary"),
        (lambda entries: json.dumps([entries[0], {**entries[0], "state": "active"}]), "appears twice"),
    ],
)
def test_a_corrupt_file_is_one_sentence_naming_it_without_key_material(edit, problem):
    load_keyring(create=True)
    path = keyring_path()
    entries = json.loads(path.read_text())
    path.write_text(edit(entries))
    with pytest.raises(InputError) as caught:
        load_keyring()
    message = str(caught.value)
    assert problem in message and str(path) in message and "backup" in message
    assert entries[0]["key"] not in message and entries[0]["key"][:20] not in message
    assert len(message.splitlines()) == 1


def test_a_corrupt_environment_ring_names_the_variable(monkeypatch):
    monkeypatch.setenv("PITWALL_KEYRING", "[]")
    with pytest.raises(InputError, match="PITWALL_KEYRING is not a valid key ring"):
        load_keyring()
