"""Model FLOP utilisation: achieved FLOP/s against the GPU's dense bfloat16 peak.

Only torch is imported, so the GPU bench can use this module on a machine without the dashboard's packages.
"""

from __future__ import annotations

import re

import torch

# Dense (no sparsity) bfloat16 tensor-core TFLOP/s from the vendors' data sheets. Longer names first:
# "H100 PCIe" must win over "H100", and an H100 that names neither form factor is the SXM part.
PEAK_BF16_TFLOPS: list[tuple[str, float]] = [
    ("H100 PCIe", 756.0),
    ("H100 NVL", 835.0),
    ("H100", 989.0),  # SXM
    ("H200", 989.0),
    ("A100", 312.0),
    ("L40S", 362.0),
    ("L4", 121.0),
    ("A10", 125.0),  # not the A10G (a different part): a name matches only as a whole word
    ("RTX 4090", 165.0),
]


def peak_bf16_tflops(device_name: str) -> float | None:
    """The dense bfloat16 peak of a GPU, by the name CUDA reports (`NVIDIA H100 80GB HBM3`); None if unknown."""
    for key, tflops in PEAK_BF16_TFLOPS:
        if re.search(rf"(?<![0-9A-Z]){re.escape(key)}(?![0-9A-Z])", device_name, re.IGNORECASE):
            return tflops
    return None


def model_flop_utilisation(parameters: int, tokens_processed: int, seconds: float, device: str) -> float | None:
    """2 x parameters x tokens processed / seconds / peak; None off CUDA, for unknown GPUs or untimed runs.

    The 2N-per-token rule counts the matrix multiplies of the weights and leaves out attention's
    own FLOPs, so it slightly understates the work at long windows (the usual convention for MFU).
    """
    if not str(device).startswith("cuda") or seconds <= 0 or not torch.cuda.is_available():
        return None
    peak = peak_bf16_tflops(torch.cuda.get_device_name(torch.device(device)))
    if peak is None:
        return None
    return 2 * parameters * tokens_processed / seconds / (peak * 1e12)
