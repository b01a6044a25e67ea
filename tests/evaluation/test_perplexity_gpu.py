"""Perplexity on a CUDA GPU: the same numbers as the guide's loop, and bfloat16 close to float32.

Run on the GPU machine with `python3 -m pytest -m gpu`. A random-initialised Llama config stands in
for a real model there (the embedded model's file does not travel); the comparison is the same.
"""

from __future__ import annotations

import pytest
import torch

from lib.evaluation.perplexity import score_token_ids
from lib.evaluation.perplexity_guide import guide_perplexity
from lib.models.device import choose_dtype
from lib.models.loader import LoadedModel, ModelInfo

pytestmark = [pytest.mark.gpu, pytest.mark.skipif(not torch.cuda.is_available(), reason="needs a CUDA GPU")]


def random_llama(dtype: torch.dtype) -> LoadedModel:
    from transformers import AutoModelForCausalLM, LlamaConfig

    torch.manual_seed(0)
    config = LlamaConfig(
        vocab_size=8192, hidden_size=256, intermediate_size=768, num_hidden_layers=4,
        num_attention_heads=4, num_key_value_heads=2, max_position_embeddings=2048,
    )  # fmt: skip
    model = AutoModelForCausalLM.from_config(config).to("cuda", dtype).eval()
    info = ModelInfo(
        "random-llama", "local", model.num_parameters(), "cuda", str(dtype), 0.0, "", "LlamaForCausalLM", 2048
    )
    return LoadedModel(model, None, info)


def test_cuda_windows_match_the_guide_in_float32() -> None:
    loaded = random_llama(torch.float32)
    ids = torch.randint(0, 8192, (3000,))
    windows = score_token_ids(loaded, ids, 512, 256)
    ours = [w.nll_sum / w.scored_tokens for w in windows]
    assert ours == pytest.approx(guide_perplexity(loaded.model, ids, 512, 256).window_losses, rel=1e-4)
    assert sum(w.scored_tokens for w in windows) == 2999


def test_bfloat16_on_cuda_stays_close_to_float32() -> None:
    ids = torch.randint(0, 8192, (2048,))
    full = score_token_ids(random_llama(torch.float32), ids, 1024, 512)
    half = score_token_ids(random_llama(torch.bfloat16), ids, 1024, 512)
    total = sum(w.nll_sum for w in full)
    assert sum(w.nll_sum for w in half) == pytest.approx(total, rel=0.01)


@pytest.mark.skipif(
    torch.cuda.is_available() and torch.cuda.get_device_capability()[0] < 8, reason="bfloat16 needs Ampere or newer"
)
def test_auto_dtype_on_a_modern_gpu_is_bfloat16() -> None:
    assert choose_dtype("cuda") is torch.bfloat16
