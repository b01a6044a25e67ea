"""Inputs of queued jobs (an uploaded text, a dataset) kept as files, so a job's parameters stay small.

Files are named by their SHA-256, so the same upload twice is stored once and a job's input can be
identified by content (two different `article.txt` files are two inputs).
"""

from __future__ import annotations

import hashlib
import os
import time
from pathlib import Path

from lib import config
from lib.errors import InputError
from lib.files import write_atomically

KEEP_SECONDS = 7 * 86_400


def inputs_dir() -> Path:
    return config.pitwall_home() / "inputs"


def sha256_text(text: str) -> str:
    """The SHA-256 of a text's UTF-8 bytes: how runs on the same text are recognised."""
    return hashlib.sha256(text.encode("utf-8")).hexdigest()


def stage_text(text: str) -> tuple[Path, str]:
    """Write `text` under its hash (once); return the path and the hash."""
    return _stage(text, sha256_text(text), ".txt")


def stage_bytes(data: bytes, suffix: str) -> tuple[Path, str]:
    """Write an upload's bytes under their hash and the file's own suffix (once); return the path and the hash."""
    clean_suffix = "".join(c for c in suffix.lower() if c.isalnum() or c == ".")[:12]
    return _stage(data, hashlib.sha256(data).hexdigest(), clean_suffix)


def _stage(content: str | bytes, digest: str, suffix: str) -> tuple[Path, str]:
    folder = inputs_dir()
    path = folder / f"{digest}{suffix}"
    try:
        folder.mkdir(parents=True, exist_ok=True)
        if not path.exists():
            write_atomically(path, content)
        else:
            os.utime(path)  # in use again: keep it from being pruned
    except OSError as error:
        raise InputError(
            f"Cannot keep the input for the job under {folder} ({error.strerror or error}); free disk space."
        ) from error
    return path, digest


def prune_inputs(keep_seconds: float = KEEP_SECONDS) -> int:
    """Remove staged inputs unused for a week; return how many."""
    cutoff, removed = time.time() - keep_seconds, 0
    for path in inputs_dir().glob("*"):
        try:
            if path.stat().st_mtime < cutoff:
                path.unlink()
                removed += 1
        except OSError:
            continue
    return removed
