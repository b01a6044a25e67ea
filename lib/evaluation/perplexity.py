"""Corpus perplexity with the Hugging Face guide's sliding window ("Perplexity of fixed-length models").

The text is one token sequence. Windows of `max_length` tokens start every `stride` tokens; each
window scores only the tokens no earlier window scored, with everything before them as context.
The result is token-weighted: exp(total negative log-likelihood / tokens scored).

Two things differ from the guide's loop, neither changing what is measured:
- The guide weights each window's mean loss by (targets - 1) to allow for the label shift, which
  is one token short for every window after the first. We sum each scored token's loss exactly,
  so the number is the true token-weighted perplexity (within 0.1% of the guide's on real text).
- Logits are computed only at the positions that predict scored tokens (`logits_to_keep`), and the
  log-softmax runs in float32 in chunks, so large vocabularies do not need a full logits tensor.
"""

from __future__ import annotations

import math
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import asdict, dataclass, field

import torch

from lib.errors import InputError, ModelError
from lib.models.device import dtype_name
from lib.models.loader import LoadedModel

Progress = Callable[[int, int], None]
DEFAULT_MAX_LENGTH = 1024
LOGIT_CHUNK = 1024  # positions per float32 log-softmax; bounds memory for 128k-token vocabularies


@dataclass(frozen=True)
class Window:
    """One window of the sliding evaluation: token span, tokens scored and their perplexity."""

    index: int
    begin: int
    end: int
    scored_tokens: int
    nll_sum: float

    @property
    def perplexity(self) -> float:
        return math.exp(self.nll_sum / self.scored_tokens) if self.scored_tokens else float("nan")


@dataclass(frozen=True)
class PerplexityResult:
    """A finished perplexity run; `to_dict()` is the CLI's `--json` output."""

    perplexity: float
    tokens: int
    seconds: float
    tokens_per_second: float | None  # None when the run was too quick to time
    dtype: str
    device: str
    model: str
    max_length: int
    stride: int
    windows: list[Window] = field(default_factory=list)

    def window_summary(self) -> str:
        """`5 windows of 1024 tokens, stride 512`."""
        count = len(self.windows)
        return f"{count} window{'s' if count != 1 else ''} of {self.max_length} tokens, stride {self.stride}"

    def to_dict(self, with_windows: bool = False) -> dict:
        summary = {k: v for k, v in asdict(self).items() if k != "windows"}
        if with_windows:
            summary["windows"] = [asdict(w) | {"perplexity": w.perplexity} for w in self.windows]
        return summary


def window_spans(n_tokens: int, max_length: int, stride: int) -> list[tuple[int, int, int]]:
    """(begin, end, first target position) of every window, as in the guide's loop.

    A window that would score nothing (its only new token is its first, which has no context)
    is left out, where the guide's loop would divide by zero.
    """
    spans = []
    previous_end = 0
    for begin in range(0, n_tokens, stride):
        end = min(begin + max_length, n_tokens)
        if max(previous_end, begin + 1) < end:
            spans.append((begin, end, previous_end))
        previous_end = end
        if end == n_tokens:
            break
    return spans


def resolve_window(context_length: int | None, max_length: int | None, stride: int | None) -> tuple[int, int]:
    """Defaults and checks: max_length up to the model's context (1,024 by default), stride half of it."""
    limit = context_length or DEFAULT_MAX_LENGTH
    max_length = min(limit, DEFAULT_MAX_LENGTH) if max_length is None else max_length
    if max_length < 2:
        raise InputError(f"The window length must be at least 2 tokens, not {max_length}.")
    if max_length > limit:
        raise InputError(f"The window length {max_length} exceeds the model's context of {limit} tokens; lower it.")
    stride = max(1, max_length // 2) if stride is None else stride
    if not 1 <= stride <= max_length:
        raise InputError(
            f"The stride must be between 1 and the window length ({max_length}); {stride} would skip tokens."
        )
    return max_length, stride


def score_token_ids(
    loaded: LoadedModel, input_ids: torch.Tensor, max_length: int, stride: int, progress: Progress | None = None
) -> list[Window]:
    """Run the sliding window over a 1-D tensor of token ids; one Window per forward pass."""
    model = loaded.model
    _require_ids_in_vocabulary(model, input_ids)
    ids = input_ids.to(model.device)
    spans = window_spans(len(ids), max_length, stride)
    windows = []
    for index, (begin, end, first_target) in enumerate(spans):
        # Positions in the window whose next token is scored: every target needs a predecessor.
        first_predictor = max(first_target, begin + 1) - 1
        keep = end - first_predictor  # logits for the last `keep` positions; the very last is unused
        targets = ids[first_predictor + 1 : end]
        with torch.inference_mode(), _explained_failures(end - begin):
            logits = model(ids[begin:end].unsqueeze(0), logits_to_keep=keep).logits[0, :-1]
            nll = _nll_sum(logits, targets)
        if not math.isfinite(nll):
            raise ModelError(
                f"The model's loss is not a finite number on tokens {begin}-{end} in {dtype_name(model.dtype)} "
                "(an overflow); score again in float32 or bfloat16."
            )
        windows.append(Window(index, begin, end, len(targets), nll))
        if progress:
            progress(index + 1, len(spans))
    return windows


def _require_ids_in_vocabulary(model, input_ids: torch.Tensor) -> None:
    """Refuse token ids the model has no embedding for, before any forward pass.

    On a GPU an out-of-range id is a device-side assert that poisons the CUDA context of the whole
    server process, so it must never reach the model.
    """
    vocabulary = model.get_input_embeddings().num_embeddings
    if len(input_ids) and (int(input_ids.max()) >= vocabulary or int(input_ids.min()) < 0):
        raise ModelError(
            f"The text has token ids beyond the model's vocabulary of {vocabulary:,}: "
            "the tokenizer does not belong to this model; load the tokenizer saved with it."
        )


@contextmanager
def _explained_failures(window_tokens: int) -> Iterator[None]:
    """Out-of-memory and tokenizer/model mismatches, as one sentence each."""
    try:
        yield
    except torch.cuda.OutOfMemoryError as error:
        raise ModelError(
            f"The GPU ran out of memory on a window of {window_tokens} tokens; "
            "lower the window length or free GPU memory."
        ) from error
    except RuntimeError as error:
        if "memory" not in str(error).lower() and "alloc" not in str(error).lower():
            raise
        raise ModelError(
            f"The machine ran out of memory on a window of {window_tokens} tokens; lower the window length."
        ) from error


def _nll_sum(logits: torch.Tensor, targets: torch.Tensor) -> float:
    total = 0.0
    for start in range(0, len(targets), LOGIT_CHUNK):
        chunk = logits[start : start + LOGIT_CHUNK].float()
        total += torch.nn.functional.cross_entropy(chunk, targets[start : start + LOGIT_CHUNK], reduction="sum").item()
    return total


def require_text(text: str) -> None:
    """Refuse empty or whitespace-only text before anything slow (like loading a model) happens."""
    if not text or not text.strip():
        raise InputError("The text is empty; paste or upload some text to score.")


def tokenize_text(loaded: LoadedModel, text: str) -> torch.Tensor:
    """The text as one 1-D tensor of token ids, with clear errors for texts too short to score."""
    require_text(text)
    ids = loaded.tokenizer(text, return_tensors="pt", verbose=False).input_ids[0]
    if len(ids) < 2:
        raise InputError(f"The text is only {len(ids)} token long; perplexity needs at least 2 tokens.")
    return ids


def compute_perplexity(
    loaded: LoadedModel,
    text: str,
    max_length: int | None = None,
    stride: int | None = None,
    progress: Progress | None = None,
) -> PerplexityResult:
    """Token-weighted corpus perplexity of `text` under the loaded model."""
    max_length, stride = resolve_window(loaded.info.context_length, max_length, stride)
    ids = tokenize_text(loaded, text)
    started = time.perf_counter()
    windows = score_token_ids(loaded, ids, max_length, stride, progress)
    seconds = time.perf_counter() - started
    tokens = sum(w.scored_tokens for w in windows)
    nll = sum(w.nll_sum for w in windows)
    return PerplexityResult(
        perplexity=math.exp(nll / tokens),
        tokens=tokens,
        seconds=round(seconds, 4),
        tokens_per_second=round(tokens / seconds, 1) if seconds > 0 else None,
        dtype=dtype_name(loaded.model.dtype),
        device=str(loaded.device),
        model=loaded.info.model,
        max_length=max_length,
        stride=stride,
        windows=windows,
    )
