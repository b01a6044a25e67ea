"""Writing a file so that no reader, and no crash, ever sees half of it."""

from __future__ import annotations

import os
import tempfile
from pathlib import Path


def write_atomically(path: Path, text: str, mode: int = 0o644) -> None:
    """Write `text` to a uniquely named temporary file beside `path`, then rename it over `path`.

    The temporary name is unique, so two writers at once never rename each other's files away;
    the file is created owner-only and then given `mode` (0o600 keeps it private throughout).
    """
    descriptor, temporary = tempfile.mkstemp(prefix=f".{path.name}.", suffix=".tmp", dir=path.parent)
    try:
        with os.fdopen(descriptor, "w", encoding="utf-8") as handle:
            handle.write(text)
        os.chmod(temporary, mode)
        os.replace(temporary, path)
    finally:
        Path(temporary).unlink(missing_ok=True)
