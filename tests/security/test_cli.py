"""`python -m lib security ...`: keys, encrypted files and the key ring's status, as a user runs them."""

from __future__ import annotations

import json
import os
from pathlib import Path

from lib.security.keyring import keyring_path
from tests.helpers import assert_one_sentence_error, cli_in_process


def _security(*args: str):
    return cli_in_process("security", *args)


def test_encrypt_without_a_key_says_to_run_keygen(tmp_path: Path):
    (tmp_path / "in.txt").write_text("hello")
    result = _security("encrypt", str(tmp_path / "in.txt"), str(tmp_path / "out.enc"))
    assert result.returncode != 0
    assert_one_sentence_error(result.stderr)
    assert "security keygen" in result.stderr


def test_keygen_then_encrypt_and_decrypt_a_file(tmp_path: Path):
    created = _security("keygen", "--json")
    assert created.returncode == 0, created.stderr
    assert json.loads(created.stdout)["created"] is True
    plain, sealed, out = tmp_path / "notes.txt", tmp_path / "notes.enc", tmp_path / "notes.out"
    plain.write_text("the quarterly numbers\n" * 5000)
    encrypted = _security("encrypt", str(plain), str(sealed))
    assert encrypted.returncode == 0, encrypted.stderr
    assert "quarterly" not in sealed.read_text(errors="replace")
    decrypted = _security("decrypt", str(sealed), str(out), "--json")
    assert decrypted.returncode == 0, decrypted.stderr
    assert json.loads(decrypted.stdout)["key_id"] == json.loads(created.stdout)["primary"]
    assert out.read_text() == plain.read_text()


def test_a_second_keygen_adds_a_primary_and_old_files_still_decrypt(tmp_path: Path):
    _security("keygen")
    plain, sealed, out = tmp_path / "a.txt", tmp_path / "a.enc", tmp_path / "a.out"
    plain.write_text("before rotation")
    _security("encrypt", str(plain), str(sealed))
    rotated = _security("keygen")
    assert rotated.returncode == 0 and "Added primary key" in rotated.stdout
    assert _security("decrypt", str(sealed), str(out)).returncode == 0
    assert out.read_text() == "before rotation"


def test_status_json_lists_keys_without_key_material():
    _security("keygen")
    _security("keygen")
    result = _security("status", "--json")
    assert result.returncode == 0, result.stderr
    status = json.loads(result.stdout)
    assert set(status) == {"source", "path", "primary", "keys", "warnings"}
    assert status["source"] == "file" and status["path"] == str(keyring_path())
    assert [key["state"] for key in status["keys"]] == ["active", "primary"]
    assert status["keys"][1]["id"] == status["primary"]
    assert set(status["keys"][0]) == {"id", "created_at", "state", "age_days"}
    assert 0 <= status["keys"][0]["age_days"] < 1
    for entry in json.loads(keyring_path().read_text()):
        assert entry["key"] not in result.stdout


def test_status_warns_about_a_readable_ring_and_names_the_environment(monkeypatch):
    _security("keygen")
    os.chmod(keyring_path(), 0o644)
    text = _security("status")
    assert text.returncode == 0 and "chmod 600" in text.stdout
    monkeypatch.setenv("PITWALL_KEYRING", keyring_path().read_text())
    status = json.loads(_security("status", "--json").stdout)
    assert status["source"] == "environment" and status["path"] is None


def test_a_damaged_key_ring_is_one_line_on_stderr(tmp_path: Path):
    _security("keygen")
    keyring_path().write_text("[{")
    (tmp_path / "in.txt").write_text("hello")
    for args in (("status",), ("encrypt", str(tmp_path / "in.txt"), str(tmp_path / "out"))):
        result = _security(*args)
        assert result.returncode != 0
        assert_one_sentence_error(result.stderr)
        assert str(keyring_path()) in result.stderr and result.stdout == ""
    assert not (tmp_path / "out").exists()


def test_decrypting_a_file_under_another_key_ring_fails_in_one_line(tmp_path: Path, monkeypatch):
    _security("keygen")
    plain, sealed = tmp_path / "a.txt", tmp_path / "a.enc"
    plain.write_text("secret words")
    _security("encrypt", str(plain), str(sealed))
    monkeypatch.setenv("PITWALL_HOME", str(tmp_path / "other-home"))
    _security("keygen")
    result = _security("decrypt", str(sealed), str(tmp_path / "out.txt"))
    assert result.returncode != 0
    assert_one_sentence_error(result.stderr)
    assert f"Cannot decrypt {sealed}" in result.stderr and "secret" not in result.stderr
    assert not (tmp_path / "out.txt").exists()


def test_decrypting_a_plain_file_fails_in_one_line(tmp_path: Path):
    _security("keygen")
    (tmp_path / "plain.txt").write_text("not encrypted")
    result = _security("decrypt", str(tmp_path / "plain.txt"), str(tmp_path / "out.txt"))
    assert result.returncode != 0 and "not Pitwall-encrypted" in result.stderr
    assert_one_sentence_error(result.stderr)
