"""Encryption at rest: Fernet tokens for small items, a chunked streaming AEAD (STREAM) for files.

cryptography 50 has no streaming AEAD API, so files use the STREAM construction (Hoang, Reyhanitabar, Rogaway
and Vizár, 2015) as Google Tink's AES-GCM-HKDF streaming does: a per-file key is derived with HKDF-SHA256 from
the key ring's key and a random salt, and the plaintext is sealed in fixed-size chunks with AES-256-GCM under
nonce = 7-byte random prefix || 4-byte big-endian chunk counter || 1-byte last-chunk flag. The header (magic,
version, key id, salt, nonce prefix, chunk size) is the associated data of every chunk, so a truncated file,
reordered or swapped chunks, chunks from another file and an edited header all fail to decrypt.

File layout: MAGIC | version (1) | key id length (1) | key id | salt (32) | nonce prefix (7) | chunk size (4, BE),
then the chunks, each `chunk size` bytes of plaintext plus a 16-byte tag, the last one shorter (or empty).
"""

from __future__ import annotations

import contextlib
import os
import secrets
import stat
import struct
import tempfile
from collections.abc import Iterable, Iterator
from pathlib import Path
from typing import BinaryIO

from cryptography.exceptions import InvalidTag
from cryptography.fernet import InvalidToken
from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives.ciphers.aead import AESGCM
from cryptography.hazmat.primitives.kdf.hkdf import HKDF

from lib.errors import InputError
from lib.security.keyring import KeyRing, load_keyring

MAGIC = b"PITWALL\x00"
VERSION = 1
SALT_BYTES = 32
PREFIX_BYTES = 7
TAG_BYTES = 16
DEFAULT_CHUNK_SIZE = 64 * 1024
MAX_CHUNK_SIZE = 16 * 1024 * 1024  # also bounds what a crafted header can make a reader allocate
MAX_CHUNKS = 2**32  # the counter is 4 bytes
FERNET_PREFIX = b"gAAAAA"  # version byte 0x80 and the high zero bytes of a 64-bit timestamp, in base64
HKDF_INFO = b"pitwall stream v1 aes-256-gcm"
_FIXED = struct.Struct(">BB")  # version, key id length
_TAIL = struct.Struct(f">{SALT_BYTES}s{PREFIX_BYTES}sI")  # salt, nonce prefix, chunk size


# --- small items: Fernet ---------------------------------------------------------------------------------------


def encrypt_bytes(data: bytes, ring: KeyRing | None = None) -> bytes:
    """A Fernet token of `data` under the primary key (for items up to a few MB: it is held in memory)."""
    return (ring or load_keyring()).fernet().encrypt(data)


def decrypt_bytes(token: bytes | str, item: str, ring: KeyRing | None = None) -> bytes:
    """The plaintext of a Fernet token, or one InputError sentence naming `item`."""
    try:
        return (ring or load_keyring()).fernet().decrypt(token)
    except InvalidToken:
        raise InputError(_token_refused(item)) from None


def reencrypt_bytes(token: bytes | str, item: str, ring: KeyRing | None = None) -> bytes:
    """The same plaintext as a new token under the primary key (MultiFernet.rotate)."""
    try:
        return (ring or load_keyring()).fernet().rotate(token)
    except InvalidToken:
        raise InputError(_token_refused(item)) from None


def _token_refused(item: str) -> str:
    # InvalidToken means either; Fernet cannot tell a missing key from an altered token.
    return (
        f"Cannot decrypt {item}: it was encrypted with a key this key ring does not have, or it was altered; "
        "use the key ring it was encrypted with, or restore it from a backup."
    )


def is_encrypted(path_or_bytes: Path | str | bytes) -> bool:
    """Whether bytes (or a file's first bytes) start like Pitwall ciphertext or a Fernet token."""
    if isinstance(path_or_bytes, bytes):
        head = path_or_bytes[: len(MAGIC)]
    else:
        try:
            with open(path_or_bytes, "rb") as handle:
                head = handle.read(len(MAGIC))
        except OSError:
            return False
    return head.startswith(MAGIC) or head.startswith(FERNET_PREFIX)


# --- files: STREAM ---------------------------------------------------------------------------------------------


def encrypt_file(src: Path, dst: Path, ring: KeyRing | None = None, chunk_size: int = DEFAULT_CHUNK_SIZE) -> None:
    """Encrypt `src` into `dst` chunk by chunk; `dst` appears only when complete (it may be `src`)."""
    if not 1 <= chunk_size <= MAX_CHUNK_SIZE:
        raise InputError(f"The chunk size must be between 1 and {MAX_CHUNK_SIZE} bytes, not {chunk_size}.")
    ring = ring or load_keyring()
    key_id = ring.primary
    src, dst = Path(src), Path(dst)
    with _open_source(src) as handle, _atomic_output(dst) as out:
        _seal_stream(iter(lambda: handle.read(chunk_size), b""), out, key_id, ring.key_bytes(key_id), chunk_size)


def decrypt_file(src: Path, dst: Path, item: str | None = None, ring: KeyRing | None = None) -> None:
    """Decrypt `src` into `dst`, verifying every chunk; `dst` appears only when all of it verified."""
    src, dst = Path(src), Path(dst)
    item = item or str(src)
    ring = ring or load_keyring()
    with _open_source(src) as handle:
        pieces = _open_stream(handle, ring, item)
        first = next(pieces)  # the header and first chunk are checked before any output file is made
        with _atomic_output(dst) as out:
            out.write(first)
            for piece in pieces:
                out.write(piece)


def reencrypt_file(path: Path, ring: KeyRing | None = None) -> bool:
    """Re-encrypt a file in place under the primary key (atomic replace); False when it already was."""
    path = Path(path)
    ring = ring or load_keyring()
    item = str(path)
    with _open_source(path) as handle:
        _header, key_id, _salt, _prefix, chunk_size = _read_header(handle, item)
        if key_id == ring.primary:
            return False
        handle.seek(0)
        pieces = _open_stream(handle, ring, item)
        first = next(pieces)
        mode = stat.S_IMODE(os.fstat(handle.fileno()).st_mode)
        with _atomic_output(path, mode) as out:
            # Plaintext goes from one stream to the other in memory, one chunk at a time, never to disk.
            _seal_stream(_prepend(first, pieces), out, ring.primary, ring.key_bytes(ring.primary), chunk_size)
    return True


def file_key_id(path: Path) -> str:
    """The id of the key a Pitwall-encrypted file was written with (from its header)."""
    with _open_source(Path(path)) as handle:
        return _read_header(handle, str(path))[1]


def _seal_stream(pieces: Iterable[bytes], out: BinaryIO, key_id: str, key: bytes, chunk_size: int) -> None:
    """Write the header and the sealed chunks of the plaintext `pieces` (any sizes) to `out`."""
    salt, prefix = secrets.token_bytes(SALT_BYTES), secrets.token_bytes(PREFIX_BYTES)
    header = _header_bytes(key_id, salt, prefix, chunk_size)
    aead = AESGCM(_file_key(key, salt))
    out.write(header)
    buffer = bytearray()
    counter = 0
    for piece in pieces:
        buffer += piece
        # Strictly more than a chunk buffered means this chunk is not the last, so its flag can be set now.
        while len(buffer) > chunk_size:
            out.write(aead.encrypt(_nonce(prefix, counter, last=False), bytes(buffer[:chunk_size]), header))
            del buffer[:chunk_size]
            counter += 1
            if counter >= MAX_CHUNKS:
                raise InputError("The file is too large to encrypt with this chunk size; use a larger chunk size.")
    out.write(aead.encrypt(_nonce(prefix, counter, last=True), bytes(buffer), header))


def _open_stream(handle: BinaryIO, ring: KeyRing, item: str) -> Iterator[bytes]:
    """The verified plaintext chunks of the ciphertext in `handle`; raises one InputError naming `item`."""
    header, key_id, salt, prefix, chunk_size = _read_header(handle, item)
    if not ring.has_usable_key(key_id):
        raise InputError(
            f"Cannot decrypt {item}: it was encrypted with key {key_id}, which this key ring does not have "
            "or has retired; use the key ring it was encrypted with."
        )
    aead = AESGCM(_file_key(ring.key_bytes(key_id), salt))
    size = chunk_size + TAG_BYTES
    current = _read_exactly(handle, size)
    if not current:
        raise InputError(
            f"Cannot decrypt {item}: it ends after its header (it was cut short); restore it from a backup."
        )
    counter = 0
    while True:
        following = _read_exactly(handle, size)  # one chunk of look-ahead: at the end of the file, this one is last
        last = not following
        yield _open_chunk(aead, prefix, counter, last, current, header, item)
        if last:
            return
        current, counter = following, counter + 1
        if counter >= MAX_CHUNKS:
            raise InputError(f"Cannot decrypt {item}: it has more chunks than the format allows; it was altered.")


def _open_chunk(aead: AESGCM, prefix: bytes, counter: int, last: bool, chunk: bytes, header: bytes, item: str) -> bytes:
    try:
        return aead.decrypt(_nonce(prefix, counter, last), chunk, header)
    except InvalidTag:
        pass
    if last:
        with contextlib.suppress(InvalidTag):
            # A chunk that opens as a middle chunk but sits at the end: the chunks after it were cut off.
            aead.decrypt(_nonce(prefix, counter, last=False), chunk, header)
            raise InputError(
                f"Cannot decrypt {item}: it was cut short (its last part is missing); restore it from a backup."
            )
    raise InputError(
        f"Cannot decrypt {item}: it was altered or damaged (part {counter + 1} fails its integrity check); "
        "restore it from a backup."
    )


def _read_header(handle: BinaryIO, item: str) -> tuple[bytes, str, bytes, bytes, int]:
    """The raw header and its fields: key id, salt, nonce prefix, chunk size."""
    start = _read_exactly(handle, len(MAGIC) + _FIXED.size)
    if not start:
        raise InputError(f"Cannot decrypt {item}: it is empty, not Pitwall-encrypted data; check the file name.")
    if not start.startswith(MAGIC):
        raise InputError(f"Cannot decrypt {item}: it is not Pitwall-encrypted data; check the file name.")
    if len(start) < len(MAGIC) + _FIXED.size:
        raise InputError(f"Cannot decrypt {item}: its header was cut short; restore it from a backup.")
    version, id_length = _FIXED.unpack(start[len(MAGIC) :])
    if version != VERSION:
        raise InputError(
            f"Cannot decrypt {item}: it uses encryption format version {version}, which this Pitwall does not "
            "know; upgrade Pitwall."
        )
    rest = _read_exactly(handle, id_length + _TAIL.size)
    if len(rest) < id_length + _TAIL.size:
        raise InputError(f"Cannot decrypt {item}: its header was cut short; restore it from a backup.")
    try:
        key_id = rest[:id_length].decode("utf-8")
    except UnicodeDecodeError:
        raise InputError(
            f"Cannot decrypt {item}: its header was altered (the key id is garbled); restore it from a backup."
        ) from None
    salt, prefix, chunk_size = _TAIL.unpack(rest[id_length:])
    if not 1 <= chunk_size <= MAX_CHUNK_SIZE:
        raise InputError(
            f"Cannot decrypt {item}: its header was altered (impossible chunk size); restore it from a backup."
        )
    return start + rest, key_id, salt, prefix, chunk_size


def _header_bytes(key_id: str, salt: bytes, prefix: bytes, chunk_size: int) -> bytes:
    encoded = key_id.encode("utf-8")
    return MAGIC + _FIXED.pack(VERSION, len(encoded)) + encoded + _TAIL.pack(salt, prefix, chunk_size)


def _file_key(key: bytes, salt: bytes) -> bytes:
    """A per-file AES-256 key: HKDF-SHA256 of the ring's key with the file's random salt."""
    return HKDF(algorithm=hashes.SHA256(), length=32, salt=salt, info=HKDF_INFO).derive(key)


def _nonce(prefix: bytes, counter: int, last: bool) -> bytes:
    return prefix + counter.to_bytes(4, "big") + (b"\x01" if last else b"\x00")


def _read_exactly(handle: BinaryIO, size: int) -> bytes:
    """Up to `size` bytes, fewer only at the end of the file (a pipe may return short reads)."""
    parts, remaining = [], size
    while remaining:
        part = handle.read(remaining)
        if not part:
            break
        parts.append(part)
        remaining -= len(part)
    return b"".join(parts)


def _prepend(first: bytes, rest: Iterator[bytes]) -> Iterator[bytes]:
    yield first
    yield from rest


@contextlib.contextmanager
def _open_source(path: Path) -> Iterator[BinaryIO]:
    """The file opened for reading, or one InputError sentence (missing, a folder, unreadable)."""
    try:
        handle = open(path, "rb")  # noqa: SIM115 -- closed below, after the caller's block
    except FileNotFoundError:
        raise InputError(f"There is no file {path}; check the path.") from None
    except IsADirectoryError:
        raise InputError(f"{path} is a folder; name a file.") from None
    except PermissionError:
        raise InputError(f"Cannot read {path} (permission denied); check its permissions.") from None
    with handle:
        yield handle


@contextlib.contextmanager
def _atomic_output(dst: Path, mode: int = 0o600) -> Iterator[BinaryIO]:
    """A temporary file beside `dst`, renamed over it only if the block completes; removed otherwise."""
    if not dst.parent.is_dir():
        raise InputError(f"The folder {dst.parent} does not exist; create it first or name another output.")
    if dst.is_dir():
        raise InputError(f"{dst} is a folder; name an output file.")
    try:
        descriptor, temporary = tempfile.mkstemp(prefix=f".{dst.name}.", suffix=".tmp", dir=dst.parent)
    except PermissionError:
        raise InputError(f"Cannot write in {dst.parent} (permission denied); name another output.") from None
    try:
        with os.fdopen(descriptor, "wb") as out:
            yield out
            out.flush()
            os.fsync(out.fileno())  # the data is on disk before the rename makes it the file
        os.chmod(temporary, mode)
        os.replace(temporary, dst)
    finally:
        Path(temporary).unlink(missing_ok=True)
