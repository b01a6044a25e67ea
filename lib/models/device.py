"""Device and dtype choice: CUDA when there is one, else the CPU; the fastest dtype that keeps accuracy."""

from __future__ import annotations

from functools import lru_cache
from pathlib import Path

import torch

from lib.errors import InputError

DTYPES = {"float32": torch.float32, "bfloat16": torch.bfloat16, "float16": torch.float16}


def choose_device() -> str:
    """`cuda` when a CUDA device is usable, else `cpu`."""
    return "cuda" if torch.cuda.is_available() else "cpu"


@lru_cache(maxsize=1)
def cpu_has_fast_bfloat16() -> bool:
    """True when the CPU computes bfloat16 natively (AMX or AVX512-BF16)."""
    try:
        flags = Path("/proc/cpuinfo").read_text()
    except OSError:
        return False
    return "amx_bf16" in flags or "avx512_bf16" in flags


def choose_dtype(device: str, requested: str = "auto") -> torch.dtype:
    """The dtype for `device`: `requested` if given, else bfloat16 where the hardware runs it natively.

    On GPUs bfloat16 is the standard inference dtype (float16 on pre-Ampere cards); on CPUs with
    AMX/AVX512-BF16 it ran the perplexity loop 2.6x faster than float32 for a 0.15% shift in
    perplexity (shared/REFERENCE.md); other CPUs emulate it slowly, so they get float32.
    """
    if requested != "auto":
        if requested not in DTYPES:
            raise InputError(f"Unknown dtype '{requested}'; choose auto, {', '.join(DTYPES)}.")
        return DTYPES[requested]
    if device.startswith("cuda"):
        return torch.bfloat16 if torch.cuda.is_bf16_supported() else torch.float16
    return torch.bfloat16 if cpu_has_fast_bfloat16() else torch.float32


def dtype_name(dtype: torch.dtype) -> str:
    """`torch.bfloat16` -> `bfloat16`."""
    return str(dtype).removeprefix("torch.")


def device_label(device: str) -> str:
    """A readable device name for the sidebar: the GPU's name or the CPU."""
    if device.startswith("cuda"):
        return f"cuda ({torch.cuda.get_device_name(0)})"
    return "cpu"
