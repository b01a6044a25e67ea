"""Corpus perplexity with the Hugging Face guide's sliding window ("Perplexity of fixed-length models").

The text is one token sequence. Windows of `max_length` tokens start every `stride` tokens; each
window scores only the tokens no earlier window scored, with everything before them as context.
The result is token-weighted: exp(total negative log-likelihood / tokens scored).

Things that differ from the guide's loop, none changing what is measured:
- The guide weights each window's mean loss by (targets - 1) to allow for the label shift, which
  is one token short for every window after the first. We sum each scored token's loss exactly,
  so the number is the true token-weighted perplexity (within 0.1% of the guide's on real text).
- Logits are computed only at the positions that predict scored tokens, and the log-softmax runs
  in float32 in chunks, so large vocabularies do not need a full logits tensor.
- Many windows go through the model in one forward pass. Shorter windows are padded on the right:
  under causal attention no real token can see a later (padding) token, so padding changes no real
  token's logits, and padded positions are never scored. (No attention mask is passed for the same
  reason: a padding mask would only push SDPA off its fast causal kernel.)
- Optionally the decoder runs through `torch.compile` (one static shape, frozen weights).

Documents mode scores each document on its own (no context across documents) with the same window
inside each document, packing the windows of all documents into the same batches.

Counting: `tokens` are tokens SCORED (every token but each sequence's first); `tokens_processed` are
tokens run through the model, counting context re-read by overlapping windows and leaving out
padding. Throughput (`tokens_per_second`) is per scored token; MFU is per processed token, since that
is the work the hardware did.
"""

from __future__ import annotations

import logging
import math
import time
import weakref
from collections.abc import Callable, Iterator, Sequence
from contextlib import contextmanager
from dataclasses import asdict, dataclass, field
from typing import Any, Literal

import torch

from lib.errors import InputError, ModelError
from lib.evaluation.throughput import model_flop_utilisation
from lib.models.batching import halving_batches
from lib.models.device import dtype_name
from lib.models.loader import LoadedModel

log = logging.getLogger(__name__)

Progress = Callable[[int, int], None]
Compile = Literal["auto"] | bool
DEFAULT_MAX_LENGTH = 1024
LOGIT_CHUNK = 1024  # positions per float32 log-softmax; bounds memory for 128k-token vocabularies
CPU_BATCH = 1  # on a CPU batching does not change tokens/s (B=1, 4, 8 measured alike); one window per pass
# gives a progress update, and a chance to stop, per window
MAX_BATCH = 64
# What `compile="auto"` expects of torch.compile: (seconds to compile, forward speed-up).
# CUDA: an H200, Llama-8B config at 2,048 tokens, 31 s to compile, 56% vs 52% MFU (shared/REFERENCE.md).
# CPU: on a 2-core EPYC (avx512_bf16, no AMX) the compiled bfloat16 SmolLM2-135M (freezing, 512 tokens)
# compiled in 29-44 s (no faster with inductor's on-disk cache warm, in a second process) and then ran
# SLOWER than eager in every measurement here (0.88 vs 0.46 s a window; 142 vs 359 tokens/s in
# bench/perplexity.py, with other processes sharing the two cores); another session measured it 1.31x
# faster. Until a quiet machine settles it, auto never compiles on a CPU: compile=True still can.
COMPILE_COST = {"cpu": (45.0, 1.0), "cuda": (35.0, 1.08)}


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
    tokens: int  # tokens scored
    seconds: float  # scoring alone: not tokenising, not loading the model
    tokens_per_second: float | None  # scored tokens per second; None when the run was too quick to time
    dtype: str
    device: str
    model: str
    max_length: int
    stride: int
    # Added later: runs stored before them open with these defaults.
    bits_per_byte: float | None = None
    word_perplexity: float | None = None
    bytes: int | None = None  # UTF-8 bytes of the whole text, first token's included (as lm-evaluation-harness)
    words: int | None = None  # whitespace-separated words of the whole text
    batch_size: int | None = None  # windows per forward pass at the end of the run (halved after an OOM)
    tokens_processed: int | None = None  # tokens through the model, context re-read included, padding not
    mfu: float | None = None  # model FLOP utilisation on a known GPU, else None
    compiled: bool | None = None  # whether the decoder ran through torch.compile
    windows: list[Window] = field(default_factory=list)

    def window_summary(self) -> str:
        """`5 windows of 1024 tokens, stride 512`."""
        count = len(self.windows)
        return f"{count} window{'s' if count != 1 else ''} of {self.max_length} tokens, stride {self.stride}"

    def to_dict(self, with_windows: bool = False) -> dict:
        """The flat summary (and every window's numbers when asked)."""
        summary = {k: v for k, v in asdict(self).items() if k != "windows"}
        if with_windows:
            summary["windows"] = [asdict(w) | {"perplexity": w.perplexity} for w in self.windows]
        return summary


@dataclass(frozen=True)
class DocumentScore:
    """One document's score: tokens scored, their summed NLL, and the document's UTF-8 bytes and words."""

    index: int  # position in the list of texts given
    tokens: int
    nll_sum: float
    bytes: int
    words: int

    @property
    def perplexity(self) -> float:
        return math.exp(self.nll_sum / self.tokens) if self.tokens else float("nan")


@dataclass(frozen=True)
class DocumentsResult:
    """A documents-mode run: the token-weighted corpus figures and every document's own."""

    perplexity: float
    tokens: int
    bits_per_byte: float
    word_perplexity: float
    bytes: int
    words: int
    seconds: float
    tokens_per_second: float | None
    tokens_processed: int
    batch_size: int
    mfu: float | None
    compiled: bool
    dtype: str
    device: str
    model: str
    max_length: int
    stride: int
    documents: list[DocumentScore] = field(default_factory=list)  # scored documents, in the given order
    skipped: list[int] = field(default_factory=list)  # indices of documents under 2 tokens, not scored

    def to_dict(self, with_documents: bool = False) -> dict:
        """The flat summary, with the count and indices of skipped documents (and every document when asked)."""
        summary = {k: v for k, v in asdict(self).items() if k not in ("documents", "skipped")}
        summary |= {"documents_scored": len(self.documents), "documents_skipped": len(self.skipped)}
        summary["skipped"] = list(self.skipped)
        if with_documents:
            summary["documents"] = [asdict(d) | {"perplexity": d.perplexity} for d in self.documents]
        return summary


def corpus_figures(nll_sum: float, tokens: int, n_bytes: int, words: int) -> dict[str, float]:
    """Perplexity, bits per byte and word perplexity as lm-evaluation-harness defines them."""
    return {
        "perplexity": math.exp(nll_sum / tokens),
        "bits_per_byte": nll_sum / n_bytes / math.log(2) if n_bytes else float("nan"),
        "word_perplexity": math.exp(nll_sum / words) if words else float("nan"),
    }


def text_size(text: str) -> tuple[int, int]:
    """(UTF-8 bytes, whitespace-separated words) of a text."""
    return len(text.encode("utf-8")), len(text.split())


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


# ------------------------------------------------------------------------------------------- the engine


@dataclass(frozen=True)
class _Piece:
    """One window of one token sequence: the tokens it runs and the first position that predicts a target."""

    sequence: int
    window: int
    begin: int
    end: int
    first_predictor: int  # absolute; positions first_predictor..end-2 predict the scored tokens

    @property
    def width(self) -> int:
        return self.end - self.begin

    @property
    def scored(self) -> int:
        return self.end - 1 - self.first_predictor


@dataclass
class _Outcome:
    """What the engine hands back: each piece's NLL, and how the run went."""

    nll: list[float]
    batch_size: int
    tokens_processed: int
    compiled: bool
    seconds: float


def _pieces(lengths: Sequence[int], max_length: int, stride: int) -> list[_Piece]:
    pieces = []
    for sequence, n in enumerate(lengths):
        for window, (begin, end, first_target) in enumerate(window_spans(n, max_length, stride)):
            # Every target needs a predecessor, so the first window's first token is never scored.
            pieces.append(_Piece(sequence, window, begin, end, max(first_target, begin + 1) - 1))
    return pieces


def _score_pieces(
    loaded: LoadedModel,
    sequences: Sequence[torch.Tensor],
    pieces: list[_Piece],
    max_length: int,
    batch_size: int | None,
    compile: Compile,
    progress: Progress | None,
) -> _Outcome:
    """Every piece's summed NLL, many pieces per forward pass; OOM on CUDA halves the batch and retries."""
    model = loaded.model
    device = model.device
    for ids in sequences:
        _require_ids_in_vocabulary(model, ids)
    sequences = [ids.to(device) for ids in sequences]
    runner = _Runner(model, max_length)
    # auto reuses a decoder compiled earlier (no compile cost left) where compiled runs faster at all
    faster = COMPILE_COST.get(device.type, COMPILE_COST["cpu"])[1] > 1
    want_compile = compile is True or (compile == "auto" and faster and runner.compiled_before())
    if batch_size is not None and batch_size < 1:
        raise InputError(f"The batch size must be at least 1, not {batch_size}.")
    batch = batch_size or _auto_batch_size(model, max_length, len(pieces), compiling=want_compile)
    batch = max(1, min(batch, len(pieces)))
    # Longest first: windows of a batch have similar widths, so little is padded; results go back by index.
    order = sorted(range(len(pieces)), key=lambda i: -pieces[i].width)
    nll: list[float] = [0.0] * len(pieces)
    started, decided = time.perf_counter(), compile != "auto" or want_compile
    if want_compile:
        runner.compile()
    last_batch_seconds = [0.0]

    def run(start: int, stop: int, size: int) -> list[float]:
        chunk = [pieces[i] for i in order[start:stop]]
        batch_started = time.perf_counter()
        sums = runner.score(sequences, chunk, rows=size if runner.compiled else len(chunk))
        last_batch_seconds[0] = time.perf_counter() - batch_started
        return sums

    def too_big(error: BaseException, start: int, _stop: int) -> Exception:
        return error.as_model_error(pieces[order[start]].width)  # type: ignore[attr-defined]

    batches = halving_batches(len(order), batch, run, lambda error: isinstance(error, _OutOfMemory), too_big)
    for start, stop, size, sums in batches:
        batch = size  # what the run ended at, after any halving
        for index, value in zip(order[start:stop], sums, strict=True):
            if not math.isfinite(value):
                piece = pieces[index]
                raise ModelError(
                    f"The model's loss is not a finite number on tokens {piece.begin}-{piece.end} in "
                    f"{dtype_name(model.dtype)} (an overflow); score again in float32 or bfloat16."
                )
            nll[index] = value
        if progress:
            progress(stop, len(order))
        if not decided:
            decided = True
            per_window = last_batch_seconds[0] / (stop - start)
            if _compile_pays(device.type, per_window * (len(order) - stop)):
                runner.compile()
    if device.type == "cuda":
        torch.cuda.synchronize(device)
    return _Outcome(nll, batch, sum(p.width for p in pieces), runner.compiled, seconds=time.perf_counter() - started)


def _compile_pays(device_type: str, eager_seconds_left: float) -> bool:
    """Whether compiling now saves more time on the remaining windows than the compile itself costs."""
    cost, speedup = COMPILE_COST.get(device_type, COMPILE_COST["cpu"])
    return eager_seconds_left * (1 - 1 / speedup) > cost


def _auto_batch_size(model: Any, max_length: int, n_pieces: int, compiling: bool) -> int:
    """Windows per forward pass: on CUDA from free memory, on a CPU a small cap (1 when compiled)."""
    if model.device.type != "cuda":
        return 1 if compiling else CPU_BATCH
    free, _total = torch.cuda.mem_get_info(model.device)
    config = model.config
    hidden = getattr(config, "hidden_size", 1024)
    intermediate = getattr(config, "intermediate_size", 4 * hidden) or 4 * hidden
    element = torch.finfo(model.dtype).bits // 8
    # Per window, at the widest layer: residual, normed copy, q/k/v/o and attention output (~8 x hidden)
    # plus the MLP's gate, up and activated product (3 x intermediate). Logits are per chunk, not per window.
    per_window = element * max_length * (8 * hidden + 3 * intermediate)
    vocabulary = getattr(config, "vocab_size", 32_000)
    logits = LOGIT_CHUNK * vocabulary * (element + 3 * 4)  # a chunk's logits, float32 copy, softmax, gradient-free
    budget = 0.8 * free - logits
    return int(max(1, min(MAX_BATCH, budget // per_window)))


class _OutOfMemory(Exception):
    """Raised inside the runner so the batch loop can halve the batch."""

    def __init__(self, cause: BaseException, on_gpu: bool) -> None:
        super().__init__(str(cause))
        self.cause, self.on_gpu = cause, on_gpu

    def as_model_error(self, window_tokens: int) -> ModelError:
        if self.on_gpu:
            return ModelError(
                f"The GPU ran out of memory on a window of {window_tokens} tokens; "
                "lower the window length or free GPU memory."
            )
        return ModelError(
            f"The machine ran out of memory on a window of {window_tokens} tokens; lower the window length."
        )


@contextmanager
def _memory_failures() -> Iterator[None]:
    try:
        yield
    except torch.cuda.OutOfMemoryError as error:
        raise _OutOfMemory(error, on_gpu=True) from error
    except RuntimeError as error:
        text = str(error).lower()
        # "CUDA error: an illegal memory access" is a broken context, not a full one: never retried.
        if ("memory" not in text and "alloc" not in text) or "cuda error" in text or "illegal" in text:
            raise
        raise _OutOfMemory(error, on_gpu=False) from error


# The verdicts and compiled decoders are kept per model object, and go when the model goes.
_PLAIN_HEAD: weakref.WeakKeyDictionary[Any, bool] = weakref.WeakKeyDictionary()
_COMPILED: weakref.WeakKeyDictionary[Any, Any] = weakref.WeakKeyDictionary()


class _Runner:
    """Runs batches of pieces: decoder -> hidden states at the predicting positions -> head in float32 chunks."""

    def __init__(self, model: Any, max_length: int) -> None:
        self.model, self.max_length = model, max_length
        self.plain = _has_plain_head(model)
        self.decoder = model.base_model if self.plain else None
        self.compiled = False

    def compiled_before(self) -> bool:
        return self.plain and self.model in _COMPILED

    def compile(self) -> None:
        """Switch to the compiled decoder (compiled once per model); on failure stay eager and say so in the log."""
        if not self.plain:
            log.info("Not compiling: this model's logits are not its head applied to its decoder's output.")
            return
        if self.model not in _COMPILED:
            _COMPILED[self.model] = torch.compile(self.model.base_model, dynamic=False)
        self.decoder, self.compiled = _COMPILED[self.model], True

    def score(self, sequences: Sequence[torch.Tensor], chunk: list[_Piece], rows: int) -> list[float]:
        """Summed NLL of each piece of `chunk`, in one forward pass of `rows` rows (extra rows are dummies)."""
        device = self.model.device
        # A compiled decoder sees one shape for the whole run: full width, full batch (dummy rows of padding).
        width = self.max_length if self.compiled else max(p.width for p in chunk)
        ids = torch.zeros((rows, width), dtype=torch.long, device=device)
        rows_of, positions, targets = [], [], []
        for row, piece in enumerate(chunk):
            ids[row, : piece.width] = sequences[piece.sequence][piece.begin : piece.end]
            predictors = torch.arange(piece.first_predictor - piece.begin, piece.width - 1, device=device)
            rows_of.append(torch.full_like(predictors, row))
            positions.append(predictors)
            targets.append(sequences[piece.sequence][piece.first_predictor + 1 : piece.end])
        row_index, position_index, target = torch.cat(rows_of), torch.cat(positions), torch.cat(targets)
        with torch.inference_mode(), _memory_failures():
            if self.plain:
                hidden = _decoder_forward(self, ids)[row_index, position_index]
                sums = _nll_per_row(self.model.get_output_embeddings(), hidden, target, row_index, len(chunk))
            else:
                sums = self._score_with_full_forward(ids, chunk, row_index, position_index, target)
        return sums.tolist()

    def _score_with_full_forward(self, ids, chunk, row_index, position_index, target) -> torch.Tensor:
        """For models whose logits are more than head(decoder): the model's own forward, logits kept from the
        earliest predicting position of the batch on."""
        width = ids.shape[1]
        keep = width - min(p.first_predictor - p.begin for p in chunk)
        logits = self.model(ids, logits_to_keep=keep, use_cache=False).logits
        picked = logits[row_index, position_index - (width - keep)]
        return _nll_per_row(None, picked, target, row_index, len(chunk))


def _decoder_forward(runner: _Runner, ids: torch.Tensor) -> torch.Tensor:
    """The decoder's last hidden states for a batch (a seam for tests that simulate running out of memory)."""
    if runner.compiled:
        import torch._inductor.config as inductor_config

        # Freezing folds the weights into the graph as constants, which lets oneDNN pre-pack them on a CPU.
        try:
            with inductor_config.patch(freezing=True):
                return runner.decoder(input_ids=ids, use_cache=False).last_hidden_state
        except (torch.cuda.OutOfMemoryError, RuntimeError) as error:
            if "memory" in str(error).lower() or "alloc" in str(error).lower():
                raise
            log.warning("torch.compile failed (%s); scoring eagerly instead.", str(error).splitlines()[0][:200])
        except Exception as error:  # dynamo and inductor raise many types; none of them should stop the run
            log.warning("torch.compile failed (%s); scoring eagerly instead.", str(error).splitlines()[0][:200])
        runner.decoder, runner.compiled = runner.model.base_model, False
        _COMPILED.pop(runner.model, None)
    return runner.decoder(input_ids=ids, use_cache=False).last_hidden_state


def _nll_per_row(head: Any, rows: torch.Tensor, target: torch.Tensor, row_index: torch.Tensor, n: int) -> torch.Tensor:
    """Summed cross-entropy per batch row, float32 log-softmax over chunks of positions, sums in float64."""
    sums = torch.zeros(n, dtype=torch.float64, device=rows.device)
    for start in range(0, len(target), LOGIT_CHUNK):
        chunk = rows[start : start + LOGIT_CHUNK]
        logits = (head(chunk) if head is not None else chunk).float()
        losses = torch.nn.functional.cross_entropy(logits, target[start : start + LOGIT_CHUNK], reduction="none")
        sums.index_add_(0, row_index[start : start + LOGIT_CHUNK], losses.double())
    return sums.cpu()


def _has_plain_head(model: Any) -> bool:
    """Whether the model's logits are exactly its output embedding applied to its decoder's last hidden state.

    True for Llama, Mistral, Qwen, SmolLM, GPT-2 and most causal LMs; models that scale or soft-cap
    their logits are not, and keep the model's own forward. Checked once per model on eight tokens.
    """
    if model in _PLAIN_HEAD:
        return _PLAIN_HEAD[model]
    plain = False
    head, decoder = model.get_output_embeddings(), getattr(model, "base_model", None)
    if head is not None and decoder is not None and decoder is not model:
        ids = torch.arange(1, 9, device=model.device).unsqueeze(0) % model.get_input_embeddings().num_embeddings
        try:
            with torch.inference_mode():
                full = model(ids, use_cache=False).logits.float()
                ours = head(decoder(input_ids=ids, use_cache=False).last_hidden_state).float()
        except Exception:  # an architecture whose parts take other arguments (or a failing model): its own forward
            return False  # not remembered: a passing failure (memory) must not decide for good
        plain = full.shape == ours.shape and torch.allclose(full, ours, rtol=1e-3, atol=1e-3)
    _PLAIN_HEAD[model] = plain
    return plain


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


# ----------------------------------------------------------------------------------------- public entry points


def score_token_ids(
    loaded: LoadedModel,
    input_ids: torch.Tensor,
    max_length: int,
    stride: int,
    progress: Progress | None = None,
    batch_size: int | None = None,
    compile: Compile = False,
) -> list[Window]:
    """Run the sliding window over a 1-D tensor of token ids; one Window per window, in order."""
    windows, _outcome = _score_sequence(loaded, input_ids, max_length, stride, progress, batch_size, compile)
    return windows


def _score_sequence(
    loaded: LoadedModel,
    input_ids: torch.Tensor,
    max_length: int,
    stride: int,
    progress: Progress | None,
    batch_size: int | None,
    compile: Compile,
) -> tuple[list[Window], _Outcome]:
    pieces = _pieces([len(input_ids)], max_length, stride)
    outcome = _score_pieces(loaded, [input_ids], pieces, max_length, batch_size, compile, progress)
    windows = [Window(p.window, p.begin, p.end, p.scored, value) for p, value in zip(pieces, outcome.nll, strict=True)]
    return windows, outcome


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
    batch_size: int | None = None,
    compile: Compile = "auto",
) -> PerplexityResult:
    """Token-weighted corpus perplexity of `text` under the loaded model, with bits per byte and word perplexity."""
    max_length, stride = resolve_window(loaded.info.context_length, max_length, stride)
    ids = tokenize_text(loaded, text)
    return perplexity_of_ids(loaded, ids, max_length, stride, progress, batch_size, compile, text)


def perplexity_of_ids(
    loaded: LoadedModel,
    input_ids: torch.Tensor,
    max_length: int,
    stride: int,
    progress: Progress | None = None,
    batch_size: int | None = None,
    compile: Compile = "auto",
    text: str | None = None,
) -> PerplexityResult:
    """compute_perplexity over token ids already made; bits per byte and word perplexity need the `text`."""
    windows, outcome = _score_sequence(loaded, input_ids, max_length, stride, progress, batch_size, compile)
    tokens = sum(w.scored_tokens for w in windows)
    nll = math.fsum(w.nll_sum for w in windows)
    figures: dict[str, Any] = {"perplexity": math.exp(nll / tokens)}
    if text is not None:
        # The first token has no context and is never scored, yet bytes and words count the whole text:
        # that is what lm-evaluation-harness does for rolling loglikelihood, so the figures compare with its.
        n_bytes, words = text_size(text)
        figures = corpus_figures(nll, tokens, n_bytes, words) | {"bytes": n_bytes, "words": words}
    return PerplexityResult(
        **figures,
        tokens=tokens,
        **_timing(loaded, outcome, tokens),
        max_length=max_length,
        stride=stride,
        windows=windows,
    )


def _timing(loaded: LoadedModel, outcome: _Outcome, tokens: int) -> dict[str, Any]:
    seconds = outcome.seconds
    return {
        "seconds": round(seconds, 4),
        "tokens_per_second": round(tokens / seconds, 1) if seconds > 0 else None,
        "tokens_processed": outcome.tokens_processed,
        "batch_size": outcome.batch_size,
        "compiled": outcome.compiled,
        "mfu": model_flop_utilisation(loaded.info.parameters, outcome.tokens_processed, seconds, str(loaded.device)),
        "dtype": dtype_name(loaded.model.dtype),
        "device": str(loaded.device),
        "model": loaded.info.model,
    }


def score_documents(
    loaded: LoadedModel,
    texts: list[str],
    max_length: int | None = None,
    stride: int | None = None,
    batch_size: int | None = None,
    progress: Progress | None = None,
    compile: Compile = "auto",
) -> DocumentsResult:
    """Score each document on its own (no context across documents), windows of all documents batched together.

    Documents under 2 tokens cannot be scored: they are listed in `skipped`; if none is left, InputError.
    """
    max_length, stride = resolve_window(loaded.info.context_length, max_length, stride)
    token_lists = tokenize_documents(loaded, texts)
    return score_document_ids(loaded, token_lists, texts, max_length, stride, batch_size, progress, compile)


def tokenize_documents(loaded: LoadedModel, texts: list[str]) -> list[list[int]]:
    """Every document's token ids, tokenised in one call (the fast tokenizers run a list in parallel)."""
    if not texts:
        raise InputError("There are no documents to score; choose a file with at least one.")
    return loaded.tokenizer(list(texts), verbose=False)["input_ids"]


def score_document_ids(
    loaded: LoadedModel,
    token_lists: list[list[int]],
    texts: list[str],
    max_length: int,
    stride: int,
    batch_size: int | None = None,
    progress: Progress | None = None,
    compile: Compile = "auto",
    indices: list[int] | None = None,
    allow_empty: bool = False,
) -> DocumentsResult:
    """Documents mode over already-tokenised documents (`indices`: their numbers in the whole corpus)."""
    indices = list(range(len(texts))) if indices is None else indices
    usable = [i for i, ids in enumerate(token_lists) if len(ids) >= 2]
    skipped = [indices[i] for i, ids in enumerate(token_lists) if len(ids) < 2]
    if not usable and not allow_empty:
        raise InputError(
            f"None of the {len(texts):,} documents is at least 2 tokens long; perplexity needs 2 tokens a document."
        )
    sequences = [torch.tensor(token_lists[i], dtype=torch.long) for i in usable]
    pieces = _pieces([len(s) for s in sequences], max_length, stride)
    if pieces:
        outcome = _score_pieces(loaded, sequences, pieces, max_length, batch_size, compile, progress)
    else:
        outcome = _Outcome([], batch_size or 1, 0, False, 0.0)
    nll, scored = [0.0] * len(sequences), [0] * len(sequences)
    for piece, value in zip(pieces, outcome.nll, strict=True):
        nll[piece.sequence] += value
        # Counted from the windows, not as length - 1: with stride == window length the first token of
        # every later window has no context and is not scored.
        scored[piece.sequence] += piece.scored
    documents = [DocumentScore(indices[i], scored[k], nll[k], *text_size(texts[i])) for k, i in enumerate(usable)]
    return documents_result(loaded, documents, skipped, max_length, stride, outcome)


def documents_result(
    loaded: LoadedModel,
    documents: list[DocumentScore],
    skipped: list[int],
    max_length: int,
    stride: int,
    outcome: _Outcome,
) -> DocumentsResult:
    """The corpus figures (token-weighted) from per-document scores."""
    tokens = sum(d.tokens for d in documents)
    n_bytes, words = sum(d.bytes for d in documents), sum(d.words for d in documents)
    nll = math.fsum(d.nll_sum for d in documents)
    figures = (
        corpus_figures(nll, tokens, n_bytes, words)
        if tokens
        else dict.fromkeys(("perplexity", "bits_per_byte", "word_perplexity"), float("nan"))
    )
    return DocumentsResult(
        **figures,
        tokens=tokens,
        bytes=n_bytes,
        words=words,
        **_timing(loaded, outcome, tokens),
        max_length=max_length,
        stride=stride,
        documents=sorted(documents, key=lambda d: d.index),
        skipped=sorted(skipped),
    )


def compare_models(
    loaded_models: list[LoadedModel],
    text: str,
    max_length: int | None = None,
    stride: int | None = None,
    batch_size: int | None = None,
    progress: Progress | None = None,
    compile: Compile = "auto",
) -> list[PerplexityResult]:
    """The same text under several models with the same window settings, one result per model, in order.

    Each model scores with its own tokenizer. Where the tokenizers differ the texts are different
    token sequences: token counts and perplexities then do not compare, while bits per byte (and
    word perplexity) do, since bytes and words are the text's own.
    """
    if not loaded_models:
        raise InputError("There are no models to compare; load at least one.")
    require_text(text)
    # The shortest context decides the default window, so every model sees the same settings.
    contexts = [m.info.context_length or DEFAULT_MAX_LENGTH for m in loaded_models]
    max_length, stride = resolve_window(min(contexts), max_length, stride)
    return [
        compute_perplexity(m, text, max_length, stride, progress, batch_size=batch_size, compile=compile)
        for m in loaded_models
    ]
