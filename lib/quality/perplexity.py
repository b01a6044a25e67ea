"""Per-row perplexity under a language model: the CCNet quality signal (Wenzek et al. 2020), batched.

Rows the model finds surprising (very high perplexity) are often boilerplate, garbled text, tables
or another language; very low ones are often templated or repeated text. Imports only torch (and the
loaded model's tokenizer), so it runs with a GPU machine's own python3.
"""

from __future__ import annotations

import math
from collections.abc import Callable, Sequence

import torch

from lib.errors import ModelError

DEFAULT_BATCH = 16
DEFAULT_MAX_TOKENS = 256  # the start of each row: enough to judge its quality, cheap on a CPU


def row_perplexities(
    loaded: object,
    texts: Sequence[str],
    batch_size: int = DEFAULT_BATCH,
    max_tokens: int = DEFAULT_MAX_TOKENS,
    progress: Callable[[int, int], None] | None = None,
) -> list[float]:
    """Perplexity of each text's first `max_tokens` tokens; NaN for a text under 2 tokens."""
    model, tokenizer = loaded.model, loaded.tokenizer  # type: ignore[attr-defined]
    encoded = [
        ids[:max_tokens]
        for ids in tokenizer(list(texts), add_special_tokens=False, verbose=False)["input_ids"]  # type: ignore[operator]
    ]
    vocabulary = model.get_input_embeddings().num_embeddings
    order = sorted(range(len(encoded)), key=lambda row: len(encoded[row]))  # similar lengths share a batch
    out = [math.nan] * len(encoded)
    done = 0
    for start in range(0, len(order), batch_size):
        rows = [row for row in order[start : start + batch_size] if len(encoded[row]) >= 2]
        if rows:
            for row, value in zip(
                rows, _batch_perplexity(model, [encoded[row] for row in rows], vocabulary), strict=True
            ):
                out[row] = value
        done = min(len(order), start + batch_size)
        if progress:
            progress(done, len(order))
    return out


def _batch_perplexity(model: object, sequences: list[list[int]], vocabulary: int) -> list[float]:
    longest = max(len(ids) for ids in sequences)
    if any(max(ids) >= vocabulary or min(ids) < 0 for ids in sequences):
        raise ModelError("The tokenizer gives ids beyond the model's vocabulary; use the tokenizer saved with it.")
    ids = torch.zeros((len(sequences), longest), dtype=torch.long)
    mask = torch.zeros((len(sequences), longest), dtype=torch.long)
    for row, tokens in enumerate(sequences):  # right padding: position ids stay 0..n-1 for every row
        ids[row, : len(tokens)] = torch.tensor(tokens)
        mask[row, : len(tokens)] = 1
    device = model.device  # type: ignore[attr-defined]
    ids, mask = ids.to(device), mask.to(device)
    try:
        with torch.inference_mode():
            logits = model(input_ids=ids, attention_mask=mask).logits[:, :-1].float()  # type: ignore[operator]
    except torch.cuda.OutOfMemoryError as error:
        raise ModelError(
            f"The GPU ran out of memory on a batch of {len(sequences)} rows of up to {longest} tokens; "
            "lower the batch size or the tokens per row."
        ) from error
    targets, scored = ids[:, 1:], mask[:, 1:].float()
    nll = torch.nn.functional.cross_entropy(logits.transpose(1, 2), targets, reduction="none") * scored
    means = nll.sum(dim=1) / scored.sum(dim=1)
    return [math.exp(value) for value in means.tolist()]
