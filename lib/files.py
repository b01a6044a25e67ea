"""Writing a file so that no reader, and no crash, ever sees half of it."""

from __future__ import annotations

import os
import tempfile
from collections.abc import Callable
from pathlib import Path

from lib.errors import InputError


def write_atomically(path: Path, text: str | bytes, mode: int = 0o644) -> None:
    """Write `text` (or bytes) to a uniquely named temporary file beside `path`, then rename it over `path`.

    The temporary name is unique, so two writers at once never rename each other's files away;
    the file is created owner-only and then given `mode` (0o600 keeps it private throughout).
    """
    descriptor, temporary = tempfile.mkstemp(prefix=f".{path.name}.", suffix=".tmp", dir=path.parent)
    try:
        if isinstance(text, bytes):
            with os.fdopen(descriptor, "wb") as handle:
                handle.write(text)
        else:
            with os.fdopen(descriptor, "w", encoding="utf-8") as handle:
                handle.write(text)
        os.chmod(temporary, mode)
        os.replace(temporary, path)
    finally:
        Path(temporary).unlink(missing_ok=True)


def read_file_bytes(path: Path, kind: str, check_size: Callable[[int], None]) -> bytes:
    """The bytes of the file at `path`, or an InputError in one sentence (missing, a folder, unreadable).

    `kind` names what was expected ("a text file"); `check_size(bytes)` raises before anything is read
    when the file is over the caller's limit.
    """
    try:
        if path.is_dir():
            raise InputError(f"{path} is a folder; name {kind}.")
        check_size(path.stat().st_size)
        return path.read_bytes()
    except FileNotFoundError as error:
        raise InputError(f"There is no file {path}; check the path.") from error
    except PermissionError as error:
        raise InputError(f"Cannot read {path} (permission denied); check its permissions.") from error
    except OSError as error:
        raise InputError(f"Cannot read {path} ({error.strerror or error}); check the path.") from error
