"""The loaded models of this process, shared by every session and job (loading takes seconds; memory is finite)."""

from __future__ import annotations

import threading
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from lib.models.loader import LoadedModel

_lock = threading.Lock()
_loaded: dict[tuple[str, str], LoadedModel] = {}


def shared_model(spec: str, dtype: str = "auto") -> LoadedModel:
    """The model for (spec, dtype), loaded once per process; loading another evicts the previous one."""
    from lib.models.loader import load_model

    key = (spec.strip(), dtype)
    with _lock:  # one load at a time: two sessions asking together must not load two copies
        if key not in _loaded:
            _loaded.clear()  # a job still holding the old model keeps it alive until it ends
            _loaded[key] = load_model(key[0], dtype=dtype)
        return _loaded[key]
