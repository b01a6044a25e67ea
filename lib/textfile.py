"""Reading user-supplied text (a path or uploaded bytes) with one clear sentence for every bad file."""

from __future__ import annotations

from pathlib import Path

from lib.errors import InputError
from lib.files import read_file_bytes

MAX_TEXT_BYTES = 200 * 1024 * 1024


def decode_text(data: bytes, name: str) -> str:
    """UTF-8 (with or without BOM) or BOM-marked UTF-16 text from bytes; binary or undecodable data is refused."""
    if not data:
        raise InputError(f"{name} is empty; choose a file with some text in it.")
    if len(data) > MAX_TEXT_BYTES:
        raise InputError(
            f"{name} is {len(data) / 2**20:.0f} MiB, over the {MAX_TEXT_BYTES // 2**20} MiB limit; score a part of it."
        )
    if data.startswith((b"\xff\xfe", b"\xfe\xff")):  # UTF-16 with a byte order mark (Windows "Unicode")
        try:
            return data.decode("utf-16")
        except UnicodeDecodeError as error:
            raise InputError(f"{name} claims to be UTF-16 but is damaged; save it as UTF-8 and try again.") from error
    if b"\x00" in data[:65536]:
        raise InputError(f"{name} looks like a binary file, not text; choose a plain-text (.txt, .md) file.")
    try:
        return data.decode("utf-8-sig")
    except UnicodeDecodeError as error:
        raise InputError(
            f"{name} is not UTF-8 text (bad byte at position {error.start}); save it as UTF-8 and try again."
        ) from error


def _check_text_size(path: Path, size: int) -> None:
    if size > MAX_TEXT_BYTES:
        raise InputError(f"{path} is over the {MAX_TEXT_BYTES // 2**20} MiB limit; score a part of it.")


def read_text_file(path: Path | str) -> str:
    """The text of the file at `path`, or an InputError saying why it cannot be read."""
    path = Path(path).expanduser()
    data = read_file_bytes(path, "a text file", lambda size: _check_text_size(path, size))
    return decode_text(data, str(path))
