"""Test set-up: every test gets its own PITWALL_HOME; the embedded model is converted once per session."""

from __future__ import annotations

import importlib.util
import os
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
# Before anything imports huggingface_hub (it reads these at import): tests never touch the network.
os.environ["HF_HUB_OFFLINE"] = "1"
os.environ["HF_EVALUATE_OFFLINE"] = "1"
os.environ["HF_DATASETS_OFFLINE"] = "1"
os.environ.pop("PITWALL_MODEL", None)
if str(ROOT) not in sys.path:
    sys.path.insert(0, str(ROOT))


# A GPU machine's python3 has torch, transformers, pytest and nvidia-ml-py, not the dashboard's packages:
# there, only the GPU test files (`*_gpu.py`, which need none of them) are collected.
def _missing(name: str) -> bool:
    try:
        return importlib.util.find_spec(name) is None
    except (ImportError, ValueError):
        return True


DASHBOARD_PACKAGES_MISSING = [name for name in ("streamlit", "pandas") if _missing(name)]


def pytest_ignore_collect(collection_path: Path, config: pytest.Config) -> bool | None:
    """Skip collecting test files that need the dashboard's packages where they are not installed."""
    if DASHBOARD_PACKAGES_MISSING and collection_path.suffix == ".py" and collection_path.name.startswith("test_"):
        return not collection_path.name.endswith("_gpu.py") or None
    return None


@pytest.fixture(scope="session")
def model_cache(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """One model cache for the whole session, so the 20-second GGUF conversion happens once."""
    path = tmp_path_factory.mktemp("model-cache")
    os.environ["PITWALL_MODEL_CACHE"] = str(path)
    return path


@pytest.fixture(autouse=True)
def pitwall_home(tmp_path: Path, monkeypatch: pytest.MonkeyPatch, model_cache: Path) -> Path:
    """A fresh, empty PITWALL_HOME for each test; the model cache is shared."""
    home = tmp_path / "pitwall-home"
    monkeypatch.setenv("PITWALL_HOME", str(home))
    monkeypatch.setenv("PITWALL_MODEL_CACHE", str(model_cache))
    return home


@pytest.fixture(scope="session")
def embedded_model(model_cache: Path):
    """The embedded SmolLM2-135M in float32 on this machine's device, loaded once."""
    from lib.models import load_model

    return load_model("smollm2-135m", dtype="float32")


@pytest.fixture(scope="session")
def tiny_model_dir(tmp_path_factory: pytest.TempPathFactory, model_cache: Path) -> str:
    """A 2-layer Llama with seeded random weights and the embedded model's tokenizer (and chat template),
    saved as a local model folder: fast for tests of batching, generation and bookkeeping, where the
    numbers need not be a real model's. Its spec is the folder path."""
    import torch
    from transformers import AutoModelForCausalLM, LlamaConfig

    from lib.models.loader import load_tokenizer

    tokenizer = load_tokenizer("smollm2-135m")
    folder = tmp_path_factory.mktemp("tiny-llama")
    torch.manual_seed(0)
    config = LlamaConfig(
        vocab_size=len(tokenizer), hidden_size=64, intermediate_size=128, num_hidden_layers=2,
        num_attention_heads=4, num_key_value_heads=2, max_position_embeddings=2048, tie_word_embeddings=True,
        bos_token_id=tokenizer.bos_token_id, eos_token_id=tokenizer.eos_token_id,
        pad_token_id=tokenizer.pad_token_id,
    )  # fmt: skip
    AutoModelForCausalLM.from_config(config).save_pretrained(folder)
    tokenizer.save_pretrained(folder)
    return str(folder)
