"""Saving a profile as a run: a copy of the dataset under PITWALL_HOME/datasets, then the run's row in the store.

The copy is named by its SHA-256 (`datasets/<sha256><ext>`), so a dataset profiled ten times is kept once; the
extension stays because the reader goes by it first. The copy is written to a temporary file, checked against the
profiled SHA-256, synced and renamed into place, and the run is inserted only after that: a crash leaves at most a
stray temporary file, never a run whose copy is half there. If the insert fails, a copy this call made is removed.

The run keeps `summary` (the `--json` shape without its findings) and `detail`: `findings` (row numbers and
examples per check) and `clusters` (the largest duplicate groups, for the page's cluster browser). Its
`stored_path` is absolute, as pages and jobs open it directly; `stored_dataset_path` also finds a copy after
PITWALL_HOME was moved.
"""

from __future__ import annotations

import hashlib
import os
import re
import shutil
import tempfile
from pathlib import Path
from typing import Any, BinaryIO

from lib import config
from lib.errors import InputError, StoreError
from lib.quality.clusters import duplicate_groups
from lib.quality.profile import ProfileResult
from lib.quality.rules import rules_passed
from lib.store.db import Store
from lib.store.quality_runs import QualityRun, insert_quality_run

DATASETS_FOLDER = "datasets"
_SAFE_SUFFIX = re.compile(r"^\.[a-z0-9]{1,12}$")
_CHUNK = 1 << 20  # bytes per read when copying a file


def datasets_dir() -> Path:
    """Where kept copies of profiled datasets live: `$PITWALL_HOME/datasets`."""
    return config.pitwall_home() / DATASETS_FOLDER


def save_run(
    store: Store, result: ProfileResult, settings: dict, rule_set: str | None, data: bytes | Path | None
) -> QualityRun:
    """Store a profile as a run, keeping a copy of `data` (the dataset's bytes or file; None keeps none).

    `result.rules` holds the rule outcomes' dicts when a rule set was checked (set it before saving): the run's
    `rules_passed` comes from them.
    """
    # Before the copy: a failure here must not leave a copy behind either.
    summary = result.to_dict()
    detail = {"findings": summary.pop("findings"), "clusters": duplicate_groups(result)}
    stored_path, made = (None, False) if data is None else _keep_copy(result, data)
    try:
        return insert_quality_run(
            store,
            dataset=result.dataset.name,
            sha256=result.dataset.sha256,
            format=result.dataset.format,
            rows=len(result.texts),
            text_column=result.dataset.text_column,
            settings=settings,
            summary=summary,
            detail=detail,
            stored_path=stored_path,
            rule_set=rule_set,
            rules_passed=rules_passed(result.rules),
        )
    except BaseException:
        # Nothing half-stored: the copy goes with the run that failed. A copy that was already there stays,
        # as earlier runs point at it.
        if made and stored_path is not None:
            Path(stored_path).unlink(missing_ok=True)
        raise


def stored_dataset_path(run: QualityRun) -> Path | None:
    """The kept copy of a run's dataset, or None when none was kept or it has since been removed.

    A copy that is not at its stored path is looked for under today's `datasets_dir()` by its name, so runs
    survive PITWALL_HOME being moved.
    """
    if not run.stored_path:
        return None
    path = Path(run.stored_path)
    if path.is_file():
        return path
    moved = datasets_dir() / path.name
    return moved if moved.is_file() else None


def _suffix(name: str) -> str:
    """The file name's extension when it is a plain one (`.jsonl`), else none: it goes into a path."""
    suffix = Path(name).suffix.lower()
    return suffix if _SAFE_SUFFIX.match(suffix) else ""


def _keep_copy(result: ProfileResult, data: bytes | Path) -> tuple[str, bool]:
    """Write the copy unless one is there; return its absolute path and whether this call made it."""
    sha256 = result.dataset.sha256
    # Absolute: pages and jobs open the stored path as it is.
    target = datasets_dir().expanduser().absolute() / f"{sha256}{_suffix(result.dataset.name)}"
    if target.is_file():
        return str(target), False
    try:
        target.parent.mkdir(parents=True, exist_ok=True)
        descriptor, temporary = tempfile.mkstemp(prefix=f".{target.name}.", suffix=".tmp", dir=target.parent)
    except OSError as error:
        raise StoreError(
            f"Cannot write the dataset copy under {target.parent} ({error.strerror or error}); "
            "check the folder's permissions or set PITWALL_HOME."
        ) from error
    try:
        digest = hashlib.sha256()
        with os.fdopen(descriptor, "wb") as handle:
            if isinstance(data, bytes | bytearray | memoryview):
                digest.update(data)
                handle.write(data)
            else:
                _copy_file(Path(data), handle, digest)
            handle.flush()
            os.fsync(handle.fileno())  # the run will say the copy exists: make sure it does after a crash
        if digest.hexdigest() != sha256:
            # The bytes are not the ones profiled (a file changed since it was read): keeping them under this
            # name would make the run lie about what it measured.
            raise InputError(
                f"{result.dataset.name} changed after it was profiled (its SHA-256 differs); profile it again."
            )
        os.chmod(temporary, 0o644)
        os.replace(temporary, target)
    except OSError as error:
        raise StoreError(
            f"Cannot write the dataset copy {target} ({error.strerror or error}); free some space or check "
            "the folder's permissions."
        ) from error
    finally:
        Path(temporary).unlink(missing_ok=True)
    return str(target), True


def _copy_file(source: Path, handle: BinaryIO, digest: Any) -> None:
    try:
        reader = source.open("rb")
    except FileNotFoundError as error:
        raise InputError(f"There is no file {source} to keep a copy of; check the path.") from error
    except OSError as error:
        raise InputError(f"Cannot read {source} ({error.strerror or error}); check its permissions.") from error
    with reader:
        shutil.copyfileobj(_Hashing(reader, digest), handle, _CHUNK)


class _Hashing:
    """A reader that hashes what passes through it, so the copy is checked in the same pass that writes it."""

    def __init__(self, reader: BinaryIO, digest: Any) -> None:
        self.reader, self.digest = reader, digest

    def read(self, size: int = -1) -> bytes:
        chunk = self.reader.read(size)
        self.digest.update(chunk)
        return chunk
