"""Perplexity throughput: Pitwall's sliding window (ours) vs the Hugging Face guide's loop (baseline).

Same model, text, window and stride in one run; ours computes logits only where tokens are scored
and the loss in float32 chunks. Prints scored tokens per second and the ratio.
"""

import argparse
import time

import torch
from _common import report

from lib.evaluation.perplexity import compute_perplexity
from lib.evaluation.perplexity_guide import GuideResult, guide_perplexity
from lib.models import load_model
from lib.samples.evalset import help_centre_text


def guide_loop(loaded, text: str, max_length: int, stride: int) -> tuple[GuideResult, float]:
    """The guide's loop, timed like ours: tokenisation outside, scoring inside."""
    ids = loaded.tokenizer(text, return_tensors="pt").input_ids
    started = time.perf_counter()
    result = guide_perplexity(loaded.model, ids, max_length, stride)
    if loaded.model.device.type == "cuda":
        torch.cuda.synchronize()
    return result, time.perf_counter() - started


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--max-length", type=int, default=1024)
    parser.add_argument("--stride", type=int, default=512)
    parser.add_argument("--dtype", default="float32")
    parser.add_argument("--entries", type=int, default=60, help="help-centre entries in the text (more = longer)")
    args = parser.parse_args()
    loaded = load_model("smollm2-135m", dtype=args.dtype)
    text = help_centre_text(entries=args.entries)
    compute_perplexity(loaded, text[:2000], args.max_length, args.stride)  # warm-up
    ours = compute_perplexity(loaded, text, args.max_length, args.stride)
    theirs, theirs_seconds = guide_loop(loaded, text, args.max_length, args.stride)
    print(
        f"{loaded.info.model} {ours.dtype} on {ours.device}, window {ours.max_length}, stride {ours.stride}, "
        f"{ours.tokens:,} tokens scored"
    )
    apart = abs(ours.perplexity / theirs.perplexity - 1)
    print(f"perplexity: ours {ours.perplexity:.4f}, guide {theirs.perplexity:.4f} ({apart:.4%} apart)")
    report("throughput", ours.tokens / ours.seconds, theirs.tokens / theirs_seconds, "tokens/s", higher_is_better=True)


if __name__ == "__main__":
    main()
