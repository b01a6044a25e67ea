"""The process's model cache: several models side by side while memory allows, least recently used out first."""

from __future__ import annotations

import shutil
from pathlib import Path

import pytest

from lib.models import cache
from lib.settings import set_setting


@pytest.fixture
def empty_cache():
    cache._loaded.clear()
    yield
    cache._loaded.clear()


@pytest.fixture
def two_tiny_models(tiny_model_dir: str, tmp_path: Path) -> tuple[str, str]:
    second = tmp_path / "tiny-copy"
    shutil.copytree(tiny_model_dir, second)
    return tiny_model_dir, str(second)


def test_two_models_stay_loaded_side_by_side(empty_cache, two_tiny_models) -> None:
    first, second = two_tiny_models
    a = cache.shared_model(first, "float32")
    b = cache.shared_model(second, "float32")
    assert cache.shared_model(first, "float32") is a  # not reloaded
    assert a.model is not b.model
    assert cache.loaded_models() == [(second, "float32"), (first, "float32")]  # first was used last


def test_the_least_recently_used_model_goes_when_the_limit_is_reached(empty_cache, two_tiny_models) -> None:
    set_setting("models.max_loaded", "1")
    first, second = two_tiny_models
    cache.shared_model(first, "float32")
    cache.shared_model(second, "float32")
    assert cache.loaded_models() == [(second, "float32")]


def test_a_model_that_does_not_fit_beside_the_others_evicts_them(empty_cache, two_tiny_models, monkeypatch) -> None:
    first, second = two_tiny_models
    cache.shared_model(first, "float32")
    monkeypatch.setattr(cache, "free_bytes", lambda device: 1000)  # nearly full memory
    cache.shared_model(second, "float32")
    assert cache.loaded_models() == [(second, "float32")]


def test_weights_are_sized_from_the_safetensors_headers(tiny_model_dir: str) -> None:
    from lib.models import load_model

    parameters = load_model(tiny_model_dir, dtype="float32").info.parameters
    # Tied embeddings are stored once and counted once.
    assert cache.weight_bytes(Path(tiny_model_dir), 2) == parameters * 2
