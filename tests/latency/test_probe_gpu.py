"""The in-process probe on a CUDA GPU: times as vLLM defines them, tokens counted from ids, out of memory is a record.

Run on the GPU machine with `python3 -m pytest -m gpu`. A random-initialised Llama and a word-level tokenizer built
here stand in for a real model (no weights travel there); what is checked is the timing bookkeeping on CUDA.
"""

from __future__ import annotations

import pytest
import torch

from lib.latency.probe import probe
from lib.models.loader import LoadedModel, ModelInfo

pytestmark = [pytest.mark.gpu, pytest.mark.skipif(not torch.cuda.is_available(), reason="needs a CUDA GPU")]
WORDS = [f"w{i}" for i in range(2000)]


def word_tokenizer():
    """A word-level tokenizer over WORDS with a minimal chat template (no files needed)."""
    from tokenizers import Tokenizer, models, pre_tokenizers
    from transformers import PreTrainedTokenizerFast

    vocab = {"<unk>": 0, "<eos>": 1, **{word: i + 2 for i, word in enumerate(WORDS)}}
    backend = Tokenizer(models.WordLevel(vocab, unk_token="<unk>"))
    backend.pre_tokenizer = pre_tokenizers.WhitespaceSplit()
    tokenizer = PreTrainedTokenizerFast(tokenizer_object=backend, unk_token="<unk>", eos_token="<eos>")
    tokenizer.chat_template = "{% for m in messages %}{{ m['content'] }} {% endfor %}"
    return tokenizer


def random_llama_on_cuda() -> LoadedModel:
    from transformers import AutoModelForCausalLM, LlamaConfig

    torch.manual_seed(0)
    tokenizer = word_tokenizer()
    config = LlamaConfig(
        vocab_size=len(tokenizer), hidden_size=256, intermediate_size=768, num_hidden_layers=4, num_attention_heads=4,
        num_key_value_heads=2, max_position_embeddings=2048, eos_token_id=1, bos_token_id=None, pad_token_id=0,
    )  # fmt: skip
    model = AutoModelForCausalLM.from_config(config).to("cuda", torch.bfloat16).eval()
    info = ModelInfo("random-llama", "local", model.num_parameters(), "cuda", "bfloat16", 0.0, "", "Llama", 2048)
    return LoadedModel(model, tokenizer, info)


def test_the_probe_times_a_cuda_model_as_a_server_would_be_timed(monkeypatch: pytest.MonkeyPatch) -> None:
    loaded = random_llama_on_cuda()
    monkeypatch.setattr("lib.models.cache.shared_model", lambda spec, dtype="auto": loaded)
    prompts = [" ".join(WORDS[i : i + 20]) for i in range(0, 100, 20)]
    calls = []
    result = probe("random-llama", prompts, max_new_tokens=16, progress=lambda *args: calls.append(args))
    assert result.device.startswith("cuda") and len(calls) == len(prompts)
    for record in result.records:
        assert record.ok, record.error
        assert 0 < record.ttft_ms <= record.e2el_ms
        assert 1 <= record.output_tokens <= 16
        if record.output_tokens > 1:
            assert record.tpot_ms == pytest.approx((record.e2el_ms - record.ttft_ms) / (record.output_tokens - 1))
    assert result.tokens_per_s > 0
    summary = result.summary()
    assert summary.completed == len(prompts) and summary.failed == 0
