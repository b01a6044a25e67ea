"""The Hugging Face guide's perplexity loop as published: the oracle for tests and the baseline for bench/.

"Perplexity of fixed-length models" (transformers docs). Kept verbatim in its arithmetic, including
its weighting of each window by (targets - 1), so comparisons measure against the real thing.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import torch


@dataclass(frozen=True)
class GuideResult:
    """The guide's corpus perplexity, its token count, and each window's mean loss."""

    perplexity: float
    tokens: int
    window_losses: list[float]


def guide_perplexity(model, input_ids: torch.Tensor, max_length: int, stride: int) -> GuideResult:
    """Run the guide's loop over a 1-D tensor of token ids."""
    ids = input_ids.reshape(1, -1)
    seq_len = ids.size(1)
    nll_sum, n_tokens, prev_end_loc, window_losses = 0.0, 0, 0, []
    for begin_loc in range(0, seq_len, stride):
        end_loc = min(begin_loc + max_length, seq_len)
        trg_len = end_loc - prev_end_loc
        window = ids[:, begin_loc:end_loc].to(model.device)
        target_ids = window.clone()
        target_ids[:, :-trg_len] = -100
        with torch.no_grad():
            neg_log_likelihood = model(window, labels=target_ids).loss.item()
        num_loss_tokens = (target_ids != -100).sum().item() - target_ids.size(0)
        window_losses.append(neg_log_likelihood)
        nll_sum += neg_log_likelihood * num_loss_tokens
        n_tokens += num_loss_tokens
        prev_end_loc = end_loc
        if end_loc == seq_len:
            break
    return GuideResult(math.exp(nll_sum / n_tokens), n_tokens, window_losses)
