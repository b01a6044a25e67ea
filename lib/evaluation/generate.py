"""A model answers prompts: chat template, greedy decoding, batched with left padding, OOM-safe on CUDA.

Decisions worth knowing:
- Prompts go through the tokenizer's chat template with the generation prompt added; an item's context
  comes first in the user message, then a blank line, then the question. A system prompt, when given, is
  the first message (the template may add its own default otherwise, as SmolLM2's does).
- Greedy decoding (`do_sample=False`) from a fresh generation config, so a model's own sampling defaults
  (temperature, top_p) neither apply nor warn. Decoding stops at the tokenizer's and the model's EOS tokens.
- Batches are padded on the left by hand (the shared tokenizer is never mutated: another job may be using
  it); a tokenizer without a pad token pads with EOS, which the attention mask hides. Items are batched in
  order of prompt length, so a batch wastes little on padding; answers come back in the items' order.
  Greedy answers are the same batched or one at a time (up to float ties; tested in float32).
- Timing: a batch's wall time is split among its items in proportion to the tokens each generated
  (evenly when none generated any), so per-item seconds add up to the generation time.
- Output tokens count what the model generated up to and including its EOS token (the EOS cost a forward
  step too); the EOS and other special tokens are left out of the answer text.
- A CUDA out-of-memory error halves the batch and retries it; at batch size 1 it is a one-sentence ModelError.
"""

from __future__ import annotations

import time
from collections.abc import Callable, Sequence
from dataclasses import asdict, dataclass
from typing import Protocol

import torch

from lib.errors import InputError, ModelError
from lib.models.batching import halving_batches
from lib.models.loader import LoadedModel


class PromptItem(Protocol):
    """What generation needs of an eval item (lib.evaluation.evalset.EvalItem has it)."""

    prompt: str
    context: str | None


@dataclass(frozen=True)
class Generation:
    """One answer, the tokens it took, and its share of the batch's time."""

    output: str
    prompt_tokens: int
    output_tokens: int
    seconds: float

    def to_dict(self) -> dict:
        return asdict(self)


def chat_messages(item: PromptItem, system_prompt: str | None = None) -> list[dict]:
    """The chat messages for one item: optional system prompt, then context (if any) and question as the user."""
    content = f"{item.context.strip()}\n\n{item.prompt}" if item.context and item.context.strip() else item.prompt
    messages = [{"role": "system", "content": system_prompt}] if system_prompt else []
    return [*messages, {"role": "user", "content": content}]


def prompt_ids(loaded: LoadedModel, item: PromptItem, system_prompt: str | None = None) -> list[int]:
    """The token ids the model sees for one item (chat template with the generation prompt added)."""
    tokenizer = loaded.tokenizer
    if not getattr(tokenizer, "chat_template", None):
        raise ModelError(
            f"The model {loaded.info.model} has no chat template, so it cannot be asked questions; "
            "choose an instruction-tuned (chat) model."
        )
    text = tokenizer.apply_chat_template(chat_messages(item, system_prompt), tokenize=False, add_generation_prompt=True)
    # The template already wrote the special tokens (<|im_start|>...); adding BOS again would change the prompt.
    return list(tokenizer(text, add_special_tokens=False)["input_ids"])


def generate_answers(
    loaded: LoadedModel,
    items: Sequence[PromptItem],
    max_new_tokens: int = 64,
    batch_size: int = 8,
    system_prompt: str | None = None,
    progress: Callable[[int, int], None] | None = None,
) -> list[Generation]:
    """Greedy answers to every item, in the items' order; `progress(done, total)` after each batch."""
    if max_new_tokens < 1:
        raise InputError(f"max_new_tokens must be at least 1 (got {max_new_tokens}); give a positive number.")
    if batch_size < 1:
        raise InputError(f"The batch size must be at least 1 (got {batch_size}); give a positive number.")
    encoded = [prompt_ids(loaded, item, system_prompt) for item in items]
    _check_context(loaded, encoded, max_new_tokens)
    order = sorted(range(len(items)), key=lambda i: (-len(encoded[i]), i))  # longest first: an OOM shows early
    results: list[Generation | None] = [None] * len(items)

    def too_big(error: BaseException, start: int, stop: int) -> ModelError:
        return ModelError(
            f"The GPU ran out of memory answering one prompt with {loaded.info.model}; "
            "lower max_new_tokens, shorten the prompts or choose a smaller model."
        )

    batches = halving_batches(
        len(order),
        batch_size,
        lambda start, stop, _size: _generate_batch(loaded, [encoded[i] for i in order[start:stop]], max_new_tokens),
        lambda error: isinstance(error, torch.cuda.OutOfMemoryError),
        too_big,
    )
    for start, stop, _size, generations in batches:
        for index, generation in zip(order[start:stop], generations, strict=True):
            results[index] = generation
        if progress:
            progress(stop, len(items))
    return [generation for generation in results if generation is not None]


def _check_context(loaded: LoadedModel, encoded: list[list[int]], max_new_tokens: int) -> None:
    context = loaded.info.context_length
    if not context or not encoded:
        return
    longest = max(range(len(encoded)), key=lambda i: len(encoded[i]))
    if len(encoded[longest]) + max_new_tokens > context:
        raise InputError(
            f"Item {longest + 1}'s prompt is {len(encoded[longest]):,} tokens, which with {max_new_tokens} new "
            f"tokens exceeds the model's context of {context:,}; shorten it or lower max_new_tokens."
        )


def _stop_ids(loaded: LoadedModel) -> list[int]:
    """Every token that ends an answer: the tokenizer's EOS and the model's generation EOS (chat models differ)."""
    ids: list[int] = []
    for value in (loaded.tokenizer.eos_token_id, getattr(loaded.model.generation_config, "eos_token_id", None)):
        for token in value if isinstance(value, list | tuple) else [value]:
            if token is not None and token not in ids:
                ids.append(int(token))
    return ids


def _generate_batch(loaded: LoadedModel, prompts: list[list[int]], max_new_tokens: int) -> list[Generation]:
    from transformers import GenerationConfig

    tokenizer, device = loaded.tokenizer, loaded.device
    stops = _stop_ids(loaded)
    pad = tokenizer.pad_token_id if tokenizer.pad_token_id is not None else (stops[0] if stops else 0)
    width = max(len(ids) for ids in prompts)
    input_ids = torch.full((len(prompts), width), pad, dtype=torch.long)
    attention = torch.zeros((len(prompts), width), dtype=torch.long)
    for row, ids in enumerate(prompts):  # left padding: every prompt ends where generation starts
        input_ids[row, width - len(ids) :] = torch.tensor(ids, dtype=torch.long)
        attention[row, width - len(ids) :] = 1
    config = GenerationConfig(
        max_new_tokens=max_new_tokens, do_sample=False, pad_token_id=pad, eos_token_id=stops or None
    )
    started = time.perf_counter()
    with torch.inference_mode():
        generated = loaded.model.generate(
            input_ids=input_ids.to(device), attention_mask=attention.to(device), generation_config=config
        )
    if device.type == "cuda":
        torch.cuda.synchronize(device)
    seconds = time.perf_counter() - started
    new_tokens = generated[:, width:].tolist()
    lengths = [_answer_length(tokens, stops) for tokens in new_tokens]
    total = sum(lengths)
    outputs = []
    for ids, tokens, length in zip(prompts, new_tokens, lengths, strict=True):
        # The stop token is not part of the answer (a model's EOS need not be a special token).
        answer = tokens[: length - 1] if length and tokens[length - 1] in stops else tokens[:length]
        text = tokenizer.decode(answer, skip_special_tokens=True).strip()
        share = length / total if total else 1 / len(prompts)
        outputs.append(Generation(text, len(ids), length, seconds * share))
    return outputs


def _answer_length(tokens: list[int], stops: list[int]) -> int:
    """Tokens generated up to and including the first stop token (the rest of the row is padding)."""
    for position, token in enumerate(tokens):
        if token in stops:
            return position + 1
    return len(tokens)
