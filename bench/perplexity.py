"""Perplexity throughput on a CPU: Pitwall's engine (ours) vs the Hugging Face guide's float32 loop (baseline).

Same model (the embedded SmolLM2-135M), same text, same windows, one process. The baseline is the guide's
loop as published (`lib/evaluation/perplexity_guide.py`) in float32, the dtype the guide uses. Ours runs in
bfloat16 (where the CPU has native bfloat16) eager and through torch.compile, and in float32; compile time is
reported apart from steady-state throughput. Throughput counts scored tokens per second.
"""

import argparse
import time
from pathlib import Path

import torch
from _common import report

from lib.evaluation.perplexity import compute_perplexity
from lib.evaluation.perplexity_guide import GuideResult, guide_perplexity
from lib.models import load_model
from lib.samples.evalset import help_centre_text


def cpu_description() -> str:
    """The CPU's model name and whether it has native bfloat16 (AVX512-BF16) and AMX."""
    try:
        info = Path("/proc/cpuinfo").read_text()
    except OSError:
        return "unknown CPU"
    name = next((line.split(":", 1)[1].strip() for line in info.splitlines() if line.startswith("model name")), "?")
    flags = set(next((line.split(":", 1)[1].split() for line in info.splitlines() if line.startswith("flags")), []))
    marks = [f"{flag} {'yes' if flag in flags else 'no'}" for flag in ("avx512_bf16", "amx_bf16", "amx_tile")]
    return f"{name}, {torch.get_num_threads()} threads; " + ", ".join(marks)


def guide_loop(loaded, ids: torch.Tensor, max_length: int, stride: int) -> tuple[GuideResult, float]:
    """The guide's loop, timed like ours: tokenisation outside, scoring inside."""
    started = time.perf_counter()
    result = guide_perplexity(loaded.model, ids, max_length, stride)
    return result, time.perf_counter() - started


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--max-length", type=int, default=512)
    parser.add_argument("--stride", type=int, default=256)
    parser.add_argument("--entries", type=int, default=170, help="help-centre entries in the text (170: ~10k tokens)")
    parser.add_argument("--no-compile", action="store_true", help="leave out the torch.compile run (~45 s compile)")
    args = parser.parse_args()
    length, stride = args.max_length, args.stride
    print(cpu_description())
    fp32 = load_model("smollm2-135m", dtype="float32", device="cpu")
    bf16 = load_model("smollm2-135m", dtype="bfloat16", device="cpu")
    text = help_centre_text(entries=args.entries)
    ids = fp32.tokenizer(text, return_tensors="pt").input_ids
    warm = text[:3000]
    for loaded in (fp32, bf16):  # first forward passes allocate and pick kernels; keep them out of the timings
        compute_perplexity(loaded, warm, length, stride, compile=False)
    guide_perplexity(fp32.model, fp32.tokenizer(warm, return_tensors="pt").input_ids, length, stride)

    theirs, theirs_seconds = guide_loop(fp32, ids, length, stride)
    guide_rate = theirs.tokens / theirs_seconds
    print(f"{ids.shape[1]:,} tokens, window {length}, stride {stride}; guide float32: {guide_rate:,.1f} tokens/s")
    print(f"guide float32 perplexity {theirs.perplexity:.4f}")
    results = []

    runs = [("ours bfloat16, compile auto", bf16, "auto"), ("ours bfloat16, eager", bf16, False)]
    runs.append(("ours float32, eager", fp32, False))
    if not args.no_compile:
        runs.append(("ours bfloat16, compiled (steady state)", bf16, True))
    for name, loaded, compile in runs:
        if compile is True:
            started = time.perf_counter()
            compute_perplexity(bf16, warm, length, stride, compile=True)  # compiles once: [1, max_length]
            print(f"torch.compile (freezing) of the bfloat16 decoder: {time.perf_counter() - started:.1f} s, once")
        ours = compute_perplexity(loaded, text, length, stride, compile=compile)
        apart = abs(ours.perplexity / theirs.perplexity - 1)
        print(
            f"{name}: {ours.tokens / ours.seconds:,.1f} tokens/s, perplexity {ours.perplexity:.4f} ({apart:.3%} "
            f"from the guide's), batch {ours.batch_size}, compiled {ours.compiled}, {ours.seconds:.1f} s"
        )
        results.append((name, ours.tokens / ours.seconds))
    # The guide again at the end: other processes on the machine come and go, so the baseline is the
    # faster of its two runs (the comparison can only flatter the baseline, never ours).
    again, again_seconds = guide_loop(fp32, ids, length, stride)
    guide_rate = max(guide_rate, again.tokens / again_seconds)
    print(f"guide float32 again: {again.tokens / again_seconds:,.1f} tokens/s; baseline {guide_rate:,.1f}")
    for name, rate in results:
        report(f"{name} vs guide float32", rate, guide_rate, "tokens/s", True)


if __name__ == "__main__":
    main()
