"""Encryption at rest: Fernet tokens for small items, STREAM files that refuse any tampering in one sentence."""

from __future__ import annotations

import os
import stat
from pathlib import Path

import pytest

from lib.errors import InputError
from lib.security import crypto
from lib.security.crypto import (
    decrypt_bytes,
    decrypt_file,
    encrypt_bytes,
    encrypt_file,
    file_key_id,
    is_encrypted,
    reencrypt_bytes,
    reencrypt_file,
)
from lib.security.keyring import load_keyring

CHUNK = 4096
PLAINTEXT = os.urandom(1_000_003)  # ~1 MB: 245 chunks of 4 KiB, the last one partial


@pytest.fixture
def ring():
    return load_keyring(create=True)


@pytest.fixture
def sealed(tmp_path: Path, ring) -> Path:
    """A ~1 MB file encrypted in small chunks."""
    plain = tmp_path / "plain.bin"
    plain.write_bytes(PLAINTEXT)
    encrypted = tmp_path / "plain.bin.enc"
    encrypt_file(plain, encrypted, ring, chunk_size=CHUNK)
    return encrypted


def _header_length(path: Path) -> int:
    return len(crypto.MAGIC) + 2 + len(file_key_id(path)) + crypto._TAIL.size


def _refused(src: Path, dst: Path, ring, match: str) -> str:
    """Decrypting `src` fails with one sentence naming it, and leaves `dst` as it was (and no temporary file)."""
    before = dst.read_bytes() if dst.exists() else None
    with pytest.raises(InputError, match=match) as caught:
        decrypt_file(src, dst, "the report", ring)
    message = str(caught.value)
    assert message.startswith("Cannot decrypt the report") and len(message.splitlines()) == 1
    assert (dst.read_bytes() if dst.exists() else None) == before
    assert not [name for name in os.listdir(dst.parent) if name.endswith(".tmp")]
    return message


# --- small items -----------------------------------------------------------------------------------------------


def test_bytes_round_trip_and_the_token_is_not_the_plaintext(ring):
    token = encrypt_bytes(b"api key 12345", ring)
    assert b"12345" not in token and is_encrypted(token)
    assert decrypt_bytes(token, "the secret", ring) == b"api key 12345"
    assert decrypt_bytes(token, "the secret") == b"api key 12345"  # the ring on disk by default


@pytest.mark.parametrize("damage", ["other ring", "altered"])
def test_a_token_from_another_ring_or_altered_is_one_sentence_naming_the_item(ring, damage, tmp_path, monkeypatch):
    token = encrypt_bytes(b"plaintext words", ring)
    if damage == "altered":
        token = token[:-5] + (b"A" if token[-5:-4] != b"A" else b"B") + token[-4:]
    else:
        monkeypatch.setenv("PITWALL_HOME", str(tmp_path / "elsewhere"))
        ring = load_keyring(create=True)
    with pytest.raises(InputError, match="Cannot decrypt the webhook secret: it was encrypted with a key") as caught:
        decrypt_bytes(token, "the webhook secret", ring)
    assert "plaintext" not in str(caught.value) and len(str(caught.value).splitlines()) == 1


def test_reencrypt_bytes_moves_a_token_to_the_new_primary(ring):
    old = ring.primary
    token = encrypt_bytes(b"data", ring)
    ring.add_primary()
    rotated = reencrypt_bytes(token, "the item", ring)
    ring.retire(old)
    assert decrypt_bytes(rotated, "the item", ring) == b"data"
    with pytest.raises(InputError, match="Cannot decrypt the item"):
        decrypt_bytes(token, "the item", ring)


# --- files -----------------------------------------------------------------------------------------------------


def test_file_round_trip_across_many_chunks(sealed: Path, ring, tmp_path: Path):
    ciphertext = sealed.read_bytes()
    assert is_encrypted(sealed) and not is_encrypted(tmp_path / "plain.bin")
    assert PLAINTEXT[:64] not in ciphertext
    assert len(ciphertext) == _header_length(sealed) + len(PLAINTEXT) + 245 * crypto.TAG_BYTES
    assert file_key_id(sealed) == ring.primary
    out = tmp_path / "out.bin"
    decrypt_file(sealed, out, ring=ring)
    assert out.read_bytes() == PLAINTEXT
    assert stat.S_IMODE(out.stat().st_mode) == 0o600  # plaintext is private


@pytest.mark.parametrize("size", [0, 1, CHUNK - 1, CHUNK, CHUNK + 1, 3 * CHUNK])
def test_round_trip_at_chunk_boundaries(tmp_path: Path, ring, size: int):
    plain, enc, out = tmp_path / "p", tmp_path / "e", tmp_path / "o"
    plain.write_bytes(os.urandom(size))
    encrypt_file(plain, enc, ring, chunk_size=CHUNK)
    decrypt_file(enc, out, ring=ring)
    assert out.read_bytes() == plain.read_bytes()


def test_encrypting_and_decrypting_in_place_is_safe(tmp_path: Path, ring):
    path = tmp_path / "data.bin"
    path.write_bytes(PLAINTEXT[:10_000])
    encrypt_file(path, path, ring, chunk_size=CHUNK)
    assert is_encrypted(path)
    decrypt_file(path, path, ring=ring)
    assert path.read_bytes() == PLAINTEXT[:10_000]


def _truncate(data: bytes, header: int) -> bytes:
    return data[: header + 10 * (CHUNK + crypto.TAG_BYTES)]  # ends cleanly after chunk 10 of 245


def _truncate_mid_chunk(data: bytes, header: int) -> bytes:
    return data[:-100]


def _flip_middle(data: bytes, header: int) -> bytes:
    middle = len(data) // 2
    return data[:middle] + bytes([data[middle] ^ 0x01]) + data[middle + 1 :]


def _swap_chunks(data: bytes, header: int) -> bytes:
    size = CHUNK + crypto.TAG_BYTES
    first, second = header + 3 * size, header + 4 * size
    return data[:first] + data[second : second + size] + data[first:second] + data[second + size :]


def _edit_header(data: bytes, header: int) -> bytes:
    return data[: header - 10] + bytes([data[header - 10] ^ 0xFF]) + data[header - 9 :]  # a byte of the nonce prefix


@pytest.mark.parametrize(
    ("damage", "match"),
    [
        (_truncate, "cut short"),
        (_truncate_mid_chunk, "altered or damaged"),
        (_flip_middle, "altered or damaged"),
        (_swap_chunks, r"altered or damaged \(part 4"),
        (_edit_header, "altered or damaged"),
        (lambda data, header: data[:header], "ends after its header"),
        (lambda data, header: data[:20], "header was cut short"),
        (lambda data, header: b"just a text file\n", "not Pitwall-encrypted"),
        (lambda data, header: b"", "is empty"),
    ],
)
def test_damaged_files_are_one_sentence_and_write_nothing(sealed: Path, ring, tmp_path: Path, damage, match):
    damaged = tmp_path / "damaged.enc"
    damaged.write_bytes(damage(sealed.read_bytes(), _header_length(sealed)))
    _refused(damaged, tmp_path / "new.bin", ring, match)
    assert not (tmp_path / "new.bin").exists()
    existing = tmp_path / "existing.bin"
    existing.write_bytes(b"keep me")
    _refused(damaged, existing, ring, match)


def test_a_chunk_from_another_file_is_refused(tmp_path: Path, ring):
    a, b, a_enc, b_enc = (tmp_path / name for name in ("a", "b", "a.enc", "b.enc"))
    a.write_bytes(b"A" * (3 * CHUNK))
    b.write_bytes(b"B" * (3 * CHUNK))
    encrypt_file(a, a_enc, ring, chunk_size=CHUNK)
    encrypt_file(b, b_enc, ring, chunk_size=CHUNK)
    header, size = _header_length(a_enc), CHUNK + crypto.TAG_BYTES
    data_a, data_b = a_enc.read_bytes(), b_enc.read_bytes()
    a_enc.write_bytes(data_a[: header + size] + data_b[header + size : header + 2 * size] + data_a[header + 2 * size :])
    _refused(a_enc, tmp_path / "out", ring, r"altered or damaged \(part 2")


def test_a_file_under_a_key_the_ring_lacks_names_the_key(sealed: Path, tmp_path: Path, monkeypatch):
    key_id = file_key_id(sealed)
    monkeypatch.setenv("PITWALL_HOME", str(tmp_path / "elsewhere"))
    message = _refused(sealed, tmp_path / "out", load_keyring(create=True), "does not have")
    assert key_id in message


def test_reencrypt_file_survives_retiring_the_old_key(sealed: Path, ring, tmp_path: Path):
    old = ring.primary
    ring.add_primary()
    assert reencrypt_file(sealed, ring) is True
    assert file_key_id(sealed) == ring.primary
    assert reencrypt_file(sealed, ring) is False  # already under the primary: left alone
    ring.retire(old)
    decrypt_file(sealed, tmp_path / "out", ring=ring)
    assert (tmp_path / "out").read_bytes() == PLAINTEXT


def test_retiring_the_key_before_reencrypting_makes_the_file_unreadable(sealed: Path, ring, tmp_path: Path):
    old = ring.primary
    ring.add_primary().retire(old)
    _refused(sealed, tmp_path / "out", ring, f"key {old}, which this key ring does not have or has retired")
    with pytest.raises(InputError, match="retired"):
        reencrypt_file(sealed, ring)
    assert file_key_id(sealed) == old  # the file is left as it was


def test_a_missing_source_or_output_folder_is_one_sentence(tmp_path: Path, ring):
    with pytest.raises(InputError, match="There is no file"):
        encrypt_file(tmp_path / "missing", tmp_path / "out", ring)
    (tmp_path / "in").write_bytes(b"x")
    with pytest.raises(InputError, match="does not exist"):
        encrypt_file(tmp_path / "in", tmp_path / "no-folder" / "out", ring)
