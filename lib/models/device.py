"""Device and dtype choice: CUDA when there is one, else the CPU; the fastest dtype that keeps accuracy."""

from __future__ import annotations

import logging
import time
from functools import lru_cache
from pathlib import Path

import torch

from lib.errors import InputError

DTYPES = {"float32": torch.float32, "bfloat16": torch.bfloat16, "float16": torch.float16}
# bfloat16 must beat float32 by this much on a measured matmul before `auto` picks it on a CPU:
# it costs ~0.05% perplexity, which is worth it only for a real speed-up.
BFLOAT16_MIN_SPEEDUP = 1.2
_log = logging.getLogger(__name__)


def choose_device() -> str:
    """`cuda` when a CUDA device is usable, else `cpu`."""
    return "cuda" if torch.cuda.is_available() else "cpu"


def cpu_bfloat16_flags() -> list[str]:
    """The CPU's native bfloat16 features as /proc/cpuinfo names them (x86 AMX/AVX512-BF16, Arm BF16)."""
    try:
        words = set(Path("/proc/cpuinfo").read_text().split())
    except OSError:
        return []
    return sorted(words & {"amx_bf16", "avx512_bf16", "bf16"})


def measure_bfloat16_speedup(rounds: int = 6) -> float:
    """float32 time / bfloat16 time of a transformer-sized matmul on this CPU (best of interleaved rounds)."""
    shapes = {
        dtype: (torch.randn(256, 576, dtype=dtype), torch.randn(576, 1536, dtype=dtype))
        for dtype in (torch.float32, torch.bfloat16)
    }
    best = {torch.float32: float("inf"), torch.bfloat16: float("inf")}
    for round_ in range(rounds + 1):
        for dtype in best:  # interleaved, so a busy neighbour slows both alike
            a, b = shapes[dtype]
            started = time.perf_counter()
            for _ in range(3):
                a @ b
            if round_:  # the first round warms up oneDNN's kernels
                best[dtype] = min(best[dtype], time.perf_counter() - started)
    return best[torch.float32] / best[torch.bfloat16]


@lru_cache(maxsize=1)
def cpu_has_fast_bfloat16() -> bool:
    """True when this CPU has native bfloat16 AND a measured matmul runs clearly faster in it.

    The flags alone mislead: AVX512-BF16 without AMX speeds a forward pass up ~1.6x, AMX ~2.6x, and a
    CPU without either emulates bfloat16 slower than float32. So the flags decide whether to measure
    (~0.2 s, once per process) and the measurement decides.
    """
    flags = cpu_bfloat16_flags()
    if not flags:
        return False
    speedup = measure_bfloat16_speedup()
    _log.info("CPU bfloat16 (%s) measured %.2fx float32 on a matmul", ", ".join(flags), speedup)
    return speedup >= BFLOAT16_MIN_SPEEDUP


def auto_dtype_reason(device: str) -> str:
    """Why `auto` picks what it picks on `device`, for captions and `model info`."""
    dtype = dtype_name(choose_dtype(device))
    if device.startswith("cuda"):
        return f"{dtype}: the standard inference dtype on this GPU"
    flags = cpu_bfloat16_flags()
    if not flags:
        return "float32: this CPU has no native bfloat16 (it would be emulated, slower)"
    if dtype == "bfloat16":
        return f"bfloat16: the CPU has {', '.join(flags)} and ran a test matmul faster in it"
    return f"float32: the CPU has {', '.join(flags)} but bfloat16 was not measurably faster here"


def choose_dtype(device: str, requested: str = "auto") -> torch.dtype:
    """The dtype for `device`: `requested` if given, else bfloat16 where the hardware runs it natively.

    On GPUs bfloat16 is the standard inference dtype (float16 on pre-Ampere cards); on CPUs it is
    chosen where it is native and measured faster (`cpu_has_fast_bfloat16`): the perplexity loop ran
    1.76-2.6x faster for a 0.05-0.15% shift in perplexity (shared/REFERENCE.md).
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
