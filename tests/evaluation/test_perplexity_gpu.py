"""Perplexity on a CUDA GPU: the same numbers as the guide's loop, and bfloat16 close to float32.

Run on the GPU machine with `python3 -m pytest -m gpu`. A random-initialised Llama config stands in
for a real model there (the embedded model's file does not travel); the comparison is the same.
"""

from __future__ import annotations

import math

import pytest
import torch

from lib.evaluation.perplexity import score_token_ids
from lib.evaluation.perplexity_guide import guide_perplexity
from lib.models.device import choose_dtype
from lib.models.loader import LoadedModel, ModelInfo

pytestmark = [pytest.mark.gpu, pytest.mark.skipif(not torch.cuda.is_available(), reason="needs a CUDA GPU")]


def random_llama(dtype: torch.dtype, device: str = "cuda", initializer_range: float = 0.02) -> LoadedModel:
    """A small Llama with seeded random weights: the same weights for every dtype and device."""
    from transformers import AutoModelForCausalLM, LlamaConfig

    torch.manual_seed(0)
    config = LlamaConfig(
        vocab_size=8192, hidden_size=256, intermediate_size=768, num_hidden_layers=4, num_attention_heads=4,
        num_key_value_heads=2, max_position_embeddings=2048, initializer_range=initializer_range,
    )  # fmt: skip
    model = AutoModelForCausalLM.from_config(config).to(device, dtype).eval()
    info = ModelInfo(
        "random-llama", "local", model.num_parameters(), device, str(dtype), 0.0, "", "LlamaForCausalLM", 2048
    )
    return LoadedModel(model, None, info)


def test_cuda_windows_match_the_guide_in_float32() -> None:
    loaded = random_llama(torch.float32)
    ids = torch.randint(0, 8192, (3000,))
    windows = score_token_ids(loaded, ids, 512, 256)
    ours = [w.nll_sum / w.scored_tokens for w in windows]
    assert ours == pytest.approx(guide_perplexity(loaded.model, ids, 512, 256).window_losses, rel=1e-4)
    assert sum(w.scored_tokens for w in windows) == 2999


def test_bfloat16_on_cuda_gives_each_window_the_loss_cpu_float32_gives() -> None:
    # Default-initialised random weights give every window a loss of about ln(vocab) in any precision,
    # so comparing totals could not catch a regression. Wider weights make the model confident and
    # wrong, so each window's loss depends on its own tokens; each window is then compared with CPU
    # float32 on the same weights (measured on a CPU: bfloat16 within 0.75% per window).
    torch.manual_seed(1)
    ids = torch.randint(0, 8192, (2048,))
    reference = [
        w.nll_sum / w.scored_tokens for w in score_token_ids(random_llama(torch.float32, "cpu", 0.2), ids, 512, 256)
    ]
    on_gpu = [
        w.nll_sum / w.scored_tokens for w in score_token_ids(random_llama(torch.bfloat16, "cuda", 0.2), ids, 512, 256)
    ]
    assert min(reference) > math.log(8192) + 2  # far from uniform: the comparison can tell windows apart
    assert max(reference) - min(reference) > 0.02 * min(reference)  # windows differ by more than the tolerance
    assert on_gpu == pytest.approx(reference, rel=0.015)


@pytest.mark.skipif(
    torch.cuda.is_available() and torch.cuda.get_device_capability()[0] < 8, reason="bfloat16 needs Ampere or newer"
)
def test_auto_dtype_on_a_modern_gpu_is_bfloat16() -> None:
    assert choose_dtype("cuda") is torch.bfloat16


def test_batched_windows_on_cuda_match_one_at_a_time_and_the_guide() -> None:
    loaded = random_llama(torch.float32)
    ids = torch.randint(0, 8192, (3000,))  # (3000 - 512) % 200 != 0: the last window is short and padded
    guide = guide_perplexity(loaded.model, ids, 512, 200).window_losses
    for batch in (1, 3, 8, None):  # None: chosen from free GPU memory
        windows = score_token_ids(loaded, ids, 512, 200, batch_size=batch)
        assert [w.nll_sum / w.scored_tokens for w in windows] == pytest.approx(guide, rel=1e-4)


def test_documents_on_cuda_equal_each_document_alone() -> None:
    from lib.evaluation.perplexity import perplexity_of_ids, score_document_ids

    loaded = random_llama(torch.float32)
    token_lists = [torch.randint(0, 8192, (n,)).tolist() for n in (900, 40, 1, 513, 7)]
    texts = ["x " * len(ids) for ids in token_lists]
    scored = score_document_ids(loaded, token_lists, texts, 512, 256, batch_size=4)
    assert scored.skipped == [2]
    for document in scored.documents:
        alone = perplexity_of_ids(loaded, torch.tensor(token_lists[document.index]), 512, 256, batch_size=1)
        assert document.perplexity == pytest.approx(alone.perplexity, rel=1e-5)


def test_cuda_out_of_memory_halves_the_batch_and_the_number_stays(monkeypatch) -> None:
    from lib.evaluation import perplexity

    loaded = random_llama(torch.float32)
    ids = torch.randint(0, 8192, (4000,))
    expected = perplexity.perplexity_of_ids(loaded, ids, 512, 256, batch_size=8, compile=False)
    real, failed = perplexity._decoder_forward, []

    def once_too_big(runner, batch_ids):
        if batch_ids.shape[0] > 2 and not failed:
            failed.append(batch_ids.shape[0])
            torch.empty(1 << 50, device="cuda")  # a real CUDA out-of-memory error, not a stand-in
        return real(runner, batch_ids)

    monkeypatch.setattr(perplexity, "_decoder_forward", once_too_big)
    result = perplexity.perplexity_of_ids(loaded, ids, 512, 256, batch_size=8, compile=False)
    assert failed == [8] and result.batch_size == 4
    assert result.perplexity == pytest.approx(expected.perplexity, rel=1e-6)


def test_mfu_is_reported_on_a_known_gpu() -> None:
    from lib.evaluation.perplexity import perplexity_of_ids
    from lib.evaluation.throughput import peak_bf16_tflops

    loaded = random_llama(torch.bfloat16)
    result = perplexity_of_ids(loaded, torch.randint(0, 8192, (8192,)), 1024, 1024)
    assert result.batch_size >= 8  # the auto batch size uses the GPU's free memory, not the CPU's cap
    if peak_bf16_tflops(torch.cuda.get_device_name()) is None:
        assert result.mfu is None
    else:
        assert 0 < result.mfu < 1
