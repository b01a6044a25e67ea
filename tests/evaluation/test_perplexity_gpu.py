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
