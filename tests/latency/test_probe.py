"""The in-process probe on the tiny random Llama: its times are consistent, failures are records, progress is live."""

from __future__ import annotations

from types import SimpleNamespace

import pytest
import torch

from lib.errors import InputError
from lib.evaluation.generate import prompt_ids
from lib.latency.probe import ProbeResult, probe
from lib.models.cache import shared_model

PROMPTS = ["What is the capital of France?", "Name three colours.", "Count to five."]


def test_each_prompt_is_a_record_with_consistent_times(tiny_model_dir: str) -> None:
    calls: list[tuple[int, int, str]] = []
    result = probe(tiny_model_dir, PROMPTS, max_new_tokens=8, dtype="float32", progress=lambda *a: calls.append(a))
    assert isinstance(result, ProbeResult) and len(result.records) == 3
    assert [(done, total) for done, total, _ in calls] == [(1, 3), (2, 3), (3, 3)]
    assert calls[0][2].startswith("Prompt 1 of 3: TTFT ")
    loaded = shared_model(tiny_model_dir, "float32")
    for record, text in zip(result.records, PROMPTS, strict=True):
        assert record.ok, record.error
        assert (record.source, record.endpoint, record.model) == ("probe", "in-process", tiny_model_dir)
        assert 0 < record.ttft_ms <= record.e2el_ms
        assert 1 <= record.output_tokens <= 8
        assert record.input_tokens == len(prompt_ids(loaded, SimpleNamespace(prompt=text, context=None)))
        assert len(record.itl_ms) <= record.output_tokens - 1  # a text piece may hold several tokens
        assert sum(record.itl_ms) == pytest.approx(record.e2el_ms - record.ttft_ms)
        if record.output_tokens > 1:
            expected = (record.e2el_ms - record.ttft_ms) / (record.output_tokens - 1)
            assert record.tpot_ms == pytest.approx(expected)
    # Random weights rarely pick the EOS token: most answers run to max_new_tokens.
    assert max(record.output_tokens for record in result.records) == 8
    summary = result.summary()
    assert (summary.completed, summary.failed) == (3, 0)
    assert summary.total_output_tokens == result.output_tokens
    assert result.duration_s >= sum(record.e2el_ms for record in result.records) / 1000
    assert result.tokens_per_s and result.tokens_per_s > 0
    assert (result.device, result.dtype) == ("cpu", "float32")


def test_a_model_failure_is_a_failed_record_and_the_probe_goes_on(
    tiny_model_dir: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    loaded = shared_model(tiny_model_dir, "float32")
    generate = loaded.model.generate

    def out_of_memory_on_long_prompts(*args, **kwargs):
        if kwargs["input_ids"].shape[1] > 100:
            raise torch.cuda.OutOfMemoryError("CUDA out of memory. Tried to allocate 2.00 GiB")
        return generate(*args, **kwargs)

    monkeypatch.setattr(loaded.model, "generate", out_of_memory_on_long_prompts)
    prompts = ["Hello.", "word " * 200, "Goodbye."]
    result = probe(tiny_model_dir, prompts, max_new_tokens=4, dtype="float32")
    first, failed, last = result.records
    assert first.ok and last.ok
    assert not failed.ok and failed.error_kind == "model_error" and failed.ttft_ms is None
    assert failed.error == (
        "The GPU ran out of memory answering prompt 2; "
        "lower max_new_tokens, shorten the prompt or choose a smaller model."
    )
    assert result.summary().errors == {"model_error": 1}


def test_a_prompt_longer_than_the_context_fails_alone(tiny_model_dir: str) -> None:
    result = probe(tiny_model_dir, ["Hi.", "word " * 2100], max_new_tokens=4, dtype="float32")
    assert result.records[0].ok
    assert result.records[1].error_kind == "model_error"
    assert "exceeds the model's context of 2,048" in result.records[1].error


def test_cancelling_from_progress_stops_the_probe(tiny_model_dir: str, monkeypatch: pytest.MonkeyPatch) -> None:
    loaded = shared_model(tiny_model_dir, "float32")
    generate = loaded.model.generate
    calls = []

    def counted(*args, **kwargs):
        calls.append(kwargs["input_ids"].shape)
        return generate(*args, **kwargs)

    monkeypatch.setattr(loaded.model, "generate", counted)

    def cancel(done: int, total: int, message: str) -> None:
        raise KeyboardInterrupt("stop")

    with pytest.raises(KeyboardInterrupt):
        probe(tiny_model_dir, PROMPTS, max_new_tokens=2, dtype="float32", progress=cancel)
    assert len(calls) == 2  # the warm-up and the first prompt; no more


def test_nonsense_arguments_are_refused(tiny_model_dir: str) -> None:
    with pytest.raises(InputError, match="at least 1"):
        probe(tiny_model_dir, PROMPTS, max_new_tokens=0)
    with pytest.raises(InputError, match="no prompts"):
        probe(tiny_model_dir, [])
