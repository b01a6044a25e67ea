"""User text files: UTF-8 (with or without BOM) is read; anything else gets one sentence."""

from pathlib import Path

import pytest

from lib.errors import InputError
from lib.textfile import decode_text, read_text_file


def test_utf8_with_a_byte_order_mark_reads_cleanly() -> None:
    assert decode_text("\ufeffcafé".encode(), "a.txt") == "café"


def test_windows_unicode_text_is_read_not_called_binary() -> None:
    assert decode_text("café\n".encode("utf-16"), "notes.txt") == "café\n"


@pytest.mark.parametrize(
    ("data", "message"),
    [(b"", "is empty"), (b"PK\x03\x04\x00\x00zip", "binary"), ("café".encode("latin-1"), "not UTF-8")],
)
def test_unusable_bytes_are_refused_with_a_reason(data: bytes, message: str) -> None:
    with pytest.raises(InputError, match=message):
        decode_text(data, "upload.txt")


def test_paths_that_are_not_readable_files_are_explained(tmp_path: Path) -> None:
    with pytest.raises(InputError, match="There is no file"):
        read_text_file(tmp_path / "missing.txt")
    with pytest.raises(InputError, match="is a folder"):
        read_text_file(tmp_path)
    (tmp_path / "a-file").write_text("x")
    with pytest.raises(InputError, match="Cannot read"):
        read_text_file(tmp_path / "a-file" / "inside.txt")
