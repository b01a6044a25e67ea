"""Answer generation: batched answers equal one-at-a-time answers, context before the question, EOS stops,
progress per batch, and an out-of-memory batch is split rather than lost."""

from __future__ import annotations

from pathlib import Path

import pytest
import torch

from lib.errors import InputError, ModelError
from lib.evaluation import generate
from lib.evaluation.evalset import EvalItem
from lib.evaluation.generate import chat_messages, generate_answers, prompt_ids
from lib.models.loader import load_model

QUESTIONS = [
    "What is the capital of France?",
    "Hi",
    "How many days are there in a leap year? Answer in one word, please.",
    "Who painted the Mona Lisa?",
    "2+2?",
    "Name a colour.",
    "What is water made of?",
]
ITEMS = [
    EvalItem(f"q{i}", q, ["x"], "Northwind ships in 3 days." if i % 3 == 1 else None) for i, q in enumerate(QUESTIONS)
]


@pytest.fixture(scope="module")
def tiny(tiny_model_dir: str):
    return load_model(tiny_model_dir, dtype="float32")


@pytest.fixture(scope="module")
def lively(tiny_model_dir: str, tmp_path_factory: pytest.TempPathFactory):
    """The tiny Llama with larger random weights: the shared one answers every prompt with newlines only
    (nothing to compare), this one with varied tokens, so batched and single answers can really differ."""
    from transformers import AutoConfig, AutoModelForCausalLM, AutoTokenizer

    folder = tmp_path_factory.mktemp("lively-llama")
    config = AutoConfig.from_pretrained(tiny_model_dir)
    config.initializer_range = 0.2
    torch.manual_seed(1)
    AutoModelForCausalLM.from_config(config).save_pretrained(folder)
    AutoTokenizer.from_pretrained(tiny_model_dir).save_pretrained(folder)
    return load_model(str(folder), dtype="float32")


def test_batched_answers_equal_one_at_a_time_answers(lively) -> None:
    batched = generate_answers(lively, ITEMS, max_new_tokens=8, batch_size=4)
    single = generate_answers(lively, ITEMS, max_new_tokens=8, batch_size=1)
    assert [g.output for g in batched] == [g.output for g in single]
    assert [g.output_tokens for g in batched] == [g.output_tokens for g in single]
    assert len({g.output for g in batched}) > 1 and all(g.output for g in batched)  # a real comparison


def test_answers_come_back_in_order_with_their_token_counts_and_progress_per_batch(tiny) -> None:
    calls = []
    answers = generate_answers(tiny, ITEMS, max_new_tokens=4, batch_size=3, progress=lambda d, t: calls.append((d, t)))
    assert calls == [(3, 7), (6, 7), (7, 7)]
    assert [g.prompt_tokens for g in answers] == [len(prompt_ids(tiny, item)) for item in ITEMS]
    assert all(1 <= g.output_tokens <= 4 for g in answers)
    assert all(g.seconds >= 0 for g in answers) and sum(g.seconds for g in answers) > 0


def test_the_context_comes_before_the_question_and_the_system_prompt_first(tiny) -> None:
    item = EvalItem("c", "How long does shipping take?", ["3 days"], "Northwind ships in 3 days.")
    assert chat_messages(item)[-1]["content"] == "Northwind ships in 3 days.\n\nHow long does shipping take?"
    text = tiny.tokenizer.decode(prompt_ids(tiny, item, system_prompt="Answer in three words."))
    assert text.index("Answer in three words.") < text.index("Northwind ships") < text.index("How long does")
    assert text.rstrip().endswith("assistant")  # the generation prompt: the model answers next


def test_an_answer_stops_at_the_models_eos_token(lively, monkeypatch: pytest.MonkeyPatch) -> None:
    ids = prompt_ids(lively, ITEMS[0])
    with torch.inference_mode():
        raw = lively.model.generate(torch.tensor([ids]), max_new_tokens=6, do_sample=False)[0, len(ids) :].tolist()
    stop = raw[2]
    first = raw.index(stop)
    monkeypatch.setattr(lively.model.generation_config, "eos_token_id", stop)
    (answer,) = generate_answers(lively, ITEMS[:1], max_new_tokens=6)
    assert answer.output_tokens == first + 1  # the EOS was generated, so it counts
    assert answer.output == lively.tokenizer.decode(raw[:first], skip_special_tokens=True).strip()  # not shown


def test_out_of_memory_halves_the_batch_and_keeps_every_answer(tiny, monkeypatch: pytest.MonkeyPatch) -> None:
    real, sizes = generate._generate_batch, []

    def small_gpu(loaded, prompts, max_new_tokens):
        sizes.append(len(prompts))
        if len(prompts) > 2:
            raise torch.cuda.OutOfMemoryError("CUDA out of memory")
        return real(loaded, prompts, max_new_tokens)

    monkeypatch.setattr(generate, "_generate_batch", small_gpu)
    answers = generate_answers(tiny, ITEMS, max_new_tokens=2, batch_size=8)
    assert len(answers) == len(ITEMS) and sizes[:3] == [7, 4, 2]


def test_out_of_memory_at_batch_one_is_one_sentence(tiny, monkeypatch: pytest.MonkeyPatch) -> None:
    def no_gpu(loaded, prompts, max_new_tokens):
        raise torch.cuda.OutOfMemoryError("CUDA out of memory")

    monkeypatch.setattr(generate, "_generate_batch", no_gpu)
    with pytest.raises(ModelError, match="ran out of memory answering one prompt") as caught:
        generate_answers(tiny, ITEMS[:2], max_new_tokens=2, batch_size=2)
    assert "\n" not in str(caught.value)


def test_settings_and_prompts_beyond_the_context_are_refused(tiny) -> None:
    with pytest.raises(InputError, match="max_new_tokens must be at least 1"):
        generate_answers(tiny, ITEMS, max_new_tokens=0)
    with pytest.raises(InputError, match="batch size must be at least 1"):
        generate_answers(tiny, ITEMS, batch_size=0)
    long = EvalItem("long", "word " * 2100, ["x"])
    with pytest.raises(InputError, match=r"Item 2's prompt is .* exceeds the model's context of 2,048"):
        generate_answers(tiny, [ITEMS[0], long], max_new_tokens=4)


def test_the_module_needs_only_torch_transformers_and_lib_models() -> None:
    from lib.models import batching

    def imports(module) -> set[str]:
        source = Path(module.__file__).read_text()
        return {line.split()[1] for line in source.splitlines() if line.startswith(("import ", "from "))}

    assert imports(generate) <= {"__future__", "time", "collections.abc", "dataclasses", "typing", "torch",
                                 "transformers", "lib.errors", "lib.models.loader", "lib.models.batching"}  # fmt: skip
    assert imports(batching) <= {"__future__", "logging", "collections.abc", "typing", "torch"}
