"""Perplexity throughput: Pitwall's sliding window (ours) vs the Hugging Face guide's loop (baseline).

Same model, text, window and stride in one run; ours computes logits only where tokens are scored
and the loss in float32 chunks. Prints scored tokens per second and the ratio.
"""

import argparse
import math
import time

import torch
from _common import report

from lib.evaluation.perplexity import compute_perplexity
from lib.models import load_model
from lib.samples.evalset import help_centre_text


def guide_loop(model, tokenizer, text: str, max_length: int, stride: int) -> tuple[float, int, float]:
    """The guide's loop as published; returns perplexity, tokens and seconds."""
    encodings = tokenizer(text, return_tensors="pt")
    seq_len = encodings.input_ids.size(1)
    started = time.perf_counter()
    nll_sum, n_tokens, prev_end_loc = 0.0, 0, 0
    for begin_loc in range(0, seq_len, stride):
        end_loc = min(begin_loc + max_length, seq_len)
        trg_len = end_loc - prev_end_loc
        input_ids = encodings.input_ids[:, begin_loc:end_loc].to(model.device)
        target_ids = input_ids.clone()
        target_ids[:, :-trg_len] = -100
        with torch.no_grad():
            loss = model(input_ids, labels=target_ids).loss
        valid = (target_ids != -100).sum().item() - target_ids.size(0)
        nll_sum += loss.item() * valid
        n_tokens += valid
        prev_end_loc = end_loc
        if end_loc == seq_len:
            break
    if model.device.type == "cuda":
        torch.cuda.synchronize()
    return math.exp(nll_sum / n_tokens), n_tokens, time.perf_counter() - started


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
    theirs_ppl, theirs_tokens, theirs_seconds = guide_loop(
        loaded.model, loaded.tokenizer, text, args.max_length, args.stride
    )
    print(
        f"{loaded.info.model} {ours.dtype} on {ours.device}, window {ours.max_length}, stride {ours.stride}, "
        f"{ours.tokens:,} tokens scored"
    )
    apart = abs(ours.perplexity / theirs_ppl - 1)
    print(f"perplexity: ours {ours.perplexity:.4f}, guide {theirs_ppl:.4f} ({apart:.4%} apart)")
    report("throughput", ours.tokens / ours.seconds, theirs_tokens / theirs_seconds, "tokens/s", higher_is_better=True)


if __name__ == "__main__":
    main()
