"""The loaded models of this process, shared by every session and job (loading takes seconds; memory is finite).

Several models stay loaded at once (two side by side, a judge beside the model under test) as long as
the machine has room: before a load, least-recently-used models are evicted until the new one fits
in free memory with a margin, and never more than `models.max_loaded` are kept.
"""

from __future__ import annotations

import gc
import logging
import threading
from collections import OrderedDict
from pathlib import Path
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from lib.models.loader import LoadedModel

HEADROOM = 1.25  # activations, the tokenizer and the allocator's slack on top of the weights
_log = logging.getLogger(__name__)
_lock = threading.Lock()
_loaded: OrderedDict[tuple[str, str], LoadedModel] = OrderedDict()


def shared_model(spec: str, dtype: str = "auto") -> LoadedModel:
    """The model for (spec, dtype), loaded once per process; others stay loaded while memory allows."""
    from lib.models.device import choose_device, choose_dtype
    from lib.models.loader import load_model, model_folder
    from lib.settings import load_settings

    key = (spec.strip(), dtype)
    with _lock:  # one load at a time: two sessions asking together must not load two copies
        if key in _loaded:
            _loaded.move_to_end(key)
            return _loaded[key]
        device = choose_device()
        limit = max(1, int(load_settings()["models.max_loaded"]))
        # Sized only when others are loaded: finding the folder of a hub model asks the hub, which the load
        # itself does again, and with nothing else in memory there is nothing to make room from.
        needed = weight_bytes(model_folder(key[0]), choose_dtype(device, dtype).itemsize) * HEADROOM if _loaded else 0
        while _loaded and (len(_loaded) >= limit or not fits(needed, device)):
            evicted, _ = _loaded.popitem(last=False)  # a job still holding it keeps it alive until it ends
            _log.info("evicting model %s (%s) to make room for %s", *evicted, key[0])
            _release(device)
        _loaded[key] = load_model(key[0], dtype=dtype)
        return _loaded[key]


def loaded_models() -> list[tuple[str, str]]:
    """(spec, dtype) of the models held now, least recently used first."""
    with _lock:
        return list(_loaded)


def weight_bytes(folder: Path, bytes_per_parameter: int) -> int:
    """The weights' size once loaded: parameters counted from the safetensors headers, no tensor read."""
    from safetensors import safe_open

    parameters = 0
    for file in folder.glob("*.safetensors"):
        with safe_open(file, framework="pt") as weights:
            for name in weights.keys():  # noqa: SIM118 (safe_open is not a mapping)
                count = 1
                for size in weights.get_slice(name).get_shape():
                    count *= size
                parameters += count
    return parameters * bytes_per_parameter


def fits(needed: float, device: str) -> bool:
    """Whether `needed` bytes are free on `device` (unknown free memory counts as room)."""
    free = free_bytes(device)
    return free is None or needed <= free


def free_bytes(device: str) -> int | None:
    """Free memory on the GPU, or available memory on the host; None where it cannot be read."""
    if device.startswith("cuda"):
        import torch

        return torch.cuda.mem_get_info()[0]
    try:
        for line in Path("/proc/meminfo").read_text().splitlines():
            if line.startswith("MemAvailable:"):
                return int(line.split()[1]) * 1024
    except (OSError, ValueError, IndexError):
        pass
    return None


def _release(device: str) -> None:
    gc.collect()
    if device.startswith("cuda"):
        import torch

        torch.cuda.empty_cache()
