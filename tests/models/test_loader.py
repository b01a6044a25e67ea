"""Loading by spec: local folders work, hub ids offline and broken folders fail with one sentence."""

import shutil
from pathlib import Path

import pytest

from lib.errors import ModelError
from lib.models import load_model, model_folder


def test_a_hub_id_not_cached_offline_says_so() -> None:
    with pytest.raises(ModelError, match="HF_HUB_OFFLINE=1") as caught:
        load_model("HuggingFaceTB/SmolLM2-360M-Instruct")
    assert "HuggingFaceTB/SmolLM2-360M-Instruct" in str(caught.value)


def test_a_local_folder_loads(embedded_model, tmp_path: Path) -> None:
    local = tmp_path / "my-model"
    shutil.copytree(model_folder("smollm2-135m"), local)
    loaded = load_model(str(local), dtype="float32")
    assert (loaded.info.source, loaded.info.parameters) == ("local", 134_515_008)


def test_truncated_weights_in_a_local_folder_get_a_clear_error(embedded_model, tmp_path: Path) -> None:
    local = tmp_path / "my-model"
    shutil.copytree(model_folder("smollm2-135m"), local)
    (local / "model.safetensors").write_bytes(b"\x00" * 64)
    with pytest.raises(ModelError, match="Could not load the model"):
        load_model(str(local))


def test_a_folder_with_a_broken_config_gets_a_clear_error(tmp_path: Path) -> None:
    (tmp_path / "config.json").write_text('{"model_type": "no-such-architecture"}')
    with pytest.raises(ModelError, match="Could not load the model"):
        load_model(str(tmp_path))
