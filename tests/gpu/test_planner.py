"""The capacity planner: weights, KV cache and overhead from a model's config, and which GPUs it fits."""

from __future__ import annotations

import json
import re
from pathlib import Path
from types import SimpleNamespace

import pytest

from lib.errors import InputError, ModelError
from lib.gpu import planner
from lib.gpu.fake_nvml import FakeGpu, FakeNvml, simulated_node
from lib.gpu.figures import capacity_figure
from lib.gpu.nvml import GpuReading, NvmlReader
from lib.gpu.planner import (
    RUNTIME_BYTES,
    ModelShape,
    estimate,
    model_shape,
    plan_capacity,
    plan_text,
)
from lib.models import embedded

GIB = 1024**3
# Meta-Llama-3.1-8B's shape (its config.json; 8,030,261,248 parameters as transformers counts them).
LLAMA_8B = ModelShape("meta-llama/Llama-3.1-8B", 8_030_261_248, 32, 8, 128, 4096, 128_256, 131_072)
# A tiny Llama with grouped-query attention: 8 query heads share 2 KV heads, head dim 256 / 8 = 32.
TINY_LLAMA = {
    "model_type": "llama",
    "hidden_size": 256,
    "num_attention_heads": 8,
    "num_key_value_heads": 2,
    "num_hidden_layers": 4,
    "intermediate_size": 512,
    "vocab_size": 1000,
    "max_position_embeddings": 2048,
    "tie_word_embeddings": False,
}


def write_config(folder: Path, config: dict) -> str:
    folder.mkdir(parents=True, exist_ok=True)
    (folder / "config.json").write_text(json.dumps(config))
    return str(folder)


def assert_one_sentence(message: str) -> None:
    """What a user reads: one line, one sentence, ending in a full stop."""
    assert "\n" not in message and message.endswith("."), message
    assert not re.search(r"\.\s+[A-Z]", message), message


# -- the embedded model -----------------------------------------------------------------------------------


def test_the_embedded_model_is_read_from_its_gguf_without_converting_it(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    cache = tmp_path / "fresh-model-cache"
    monkeypatch.setenv("PITWALL_MODEL_CACHE", str(cache))
    planner._cached_shape.cache_clear()  # read afresh, not from an earlier test's shape
    shape = model_shape("smollm2-135m")
    # The 20-second GGUF -> safetensors conversion (517 MB on disk) did not happen just to read a config.
    assert not embedded.converted_folder(cache).exists()
    assert (shape.layers, shape.kv_heads, shape.head_dim, shape.hidden_size) == (30, 3, 64, 576)
    assert shape.max_context == 8192
    # SmolLM2-135M: 134,515,008 parameters with its tied input and output embeddings counted once.
    assert shape.parameters == 134_515_008


def test_smollm2_at_8192_tokens_and_batch_4_needs_the_issues_kv_cache() -> None:
    plan = plan_capacity("smollm2-135m", "bfloat16", context=8192, batch=4)
    assert plan.kv_bytes_per_token == 23_040  # 2 x 30 layers x 3 KV heads x 64 head dim x 2 bytes
    assert plan.kv_cache_bytes == 754_974_720  # x 8,192 tokens x 4 sequences
    assert plan.weights_bytes == 134_515_008 * 2
    assert plan.total_bytes == plan.weights_bytes + plan.kv_cache_bytes + plan.overhead_bytes
    data = plan.to_dict()
    issue_keys = {"weights_bytes", "kv_bytes_per_token", "kv_cache_bytes", "overhead_bytes", "total_bytes"}
    assert issue_keys | {"fits", "max_batch"} <= set(data)
    assert data["fits"] == {} and data["max_batch"] == {}  # no GPU given: empty maps
    json.dumps(data)  # JSON-ready as it is


def test_a_converted_embedded_model_is_read_from_its_config_json(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    cache = tmp_path / "cache"
    folder = embedded.converted_folder(cache)
    write_config(folder, TINY_LLAMA)  # a stand-in copy, recognisable by its tiny numbers
    (folder / "model.safetensors").write_bytes(b"")
    (folder / embedded.MARKER).write_text(json.dumps({"gguf_size": embedded.gguf_path().stat().st_size}))
    monkeypatch.setenv("PITWALL_MODEL_CACHE", str(cache))
    assert embedded.is_converted(cache)
    shape = model_shape("smollm2-135m")
    assert (shape.layers, shape.hidden_size) == (4, 256)


# -- local configs: the hand-computed numbers ------------------------------------------------------------


def test_a_local_gqa_config_gives_the_hand_computed_numbers(tmp_path: Path) -> None:
    plan = plan_capacity(write_config(tmp_path / "tiny", TINY_LLAMA), "bfloat16", context=1000, batch=3)
    # Per layer: q 256x256 + k, v 256x64 each + o 256x256 = 163,840; MLP 3 x 256x512 = 393,216; 2 norms of 256.
    # 4 layers x 557,568 + embeddings 1000x256 + final norm 256 + an untied output head 256x1000.
    assert plan.parameters == 4 * 557_568 + 256_000 + 256 + 256_000 == 2_742_528
    assert plan.weights_bytes == 5_485_056
    assert plan.kv_bytes_per_token == 2 * 4 * 2 * 32 * 2 == 1024  # 2 KV heads, not 8
    assert plan.kv_cache_bytes == 1024 * 1000 * 3
    activations = 3000 * 256 * 16 * 2  # all 3,000 tokens in one step (under 8,192), 16 x hidden, bf16
    headroom = (5_485_056 + 3_072_000) // 10
    assert plan.overhead_bytes == RUNTIME_BYTES + activations + headroom == 562_302_617
    assert plan.total_bytes == 5_485_056 + 3_072_000 + 562_302_617
    # The formula is shown with the numbers that went into it.
    for part in ("512.0 MiB", "3,000 tokens", "256 hidden", "x 16 x 2 B", "10% of (weights + KV cache)"):
        assert part in plan.overhead_formula
    assert "2 x 4 layers x 2 KV heads x 32 head dim x 2 B = 1,024 B per token" in plan.kv_formula


def test_tied_embeddings_count_once(tmp_path: Path) -> None:
    tied = model_shape(write_config(tmp_path / "tied", {**TINY_LLAMA, "tie_word_embeddings": True}))
    assert tied.parameters == 2_742_528 - 256_000


def test_an_explicit_head_dim_wins_over_hidden_over_heads(tmp_path: Path) -> None:
    config = {**TINY_LLAMA, "num_attention_heads": 4, "num_key_value_heads": 1, "head_dim": 128}
    config.update(num_hidden_layers=2, tie_word_embeddings=True)
    plan = plan_capacity(write_config(tmp_path / "wide-heads", config), "float32", context=10, batch=1)
    assert plan.kv_bytes_per_token == 2 * 2 * 1 * 128 * 4  # head dim 128, not 256 / 4 = 64
    # q and o project to 4 x 128 = 512 wide: (256x512 + 2 x 256x128 + 512x256 + MLP 393,216 + norms 512) x 2.
    assert plan.parameters == 2 * (131_072 + 65_536 + 131_072 + 393_216 + 512) + 256_000 + 256


def test_a_multimodal_config_is_planned_from_its_text_model(tmp_path: Path) -> None:
    vision = {"model_type": "clip_vision_model", "hidden_size": 32, "intermediate_size": 64, "num_hidden_layers": 2}
    vision.update(num_attention_heads=2, image_size=32, patch_size=8, projection_dim=32)
    config = {"model_type": "llava", "text_config": TINY_LLAMA, "vision_config": vision, "image_token_index": 999}
    shape = model_shape(write_config(tmp_path / "llava", config))
    assert (shape.layers, shape.kv_heads, shape.head_dim) == (4, 2, 32)
    assert shape.parameters > 2_742_528  # the vision tower and projector take memory too


def test_an_edited_config_is_read_again(tmp_path: Path) -> None:
    folder = write_config(tmp_path / "edited", TINY_LLAMA)
    assert model_shape(folder).layers == 4
    write_config(tmp_path / "edited", {**TINY_LLAMA, "num_hidden_layers": 6})
    assert model_shape(folder).layers == 6


def test_sliding_window_layers_are_flagged_as_an_upper_bound(tmp_path: Path) -> None:
    config = {"model_type": "gemma3_text", "hidden_size": 64, "num_attention_heads": 4, "num_key_value_heads": 1}
    config.update(head_dim=32, num_hidden_layers=6, intermediate_size=128, vocab_size=1000, sliding_window=128)
    plan = plan_capacity(write_config(tmp_path / "gemma", config), context=1024)
    assert any("5 of 6 layers" in warning and "upper bound" in warning for warning in plan.warnings)


def test_a_context_beyond_the_models_limit_is_planned_with_a_warning(tmp_path: Path) -> None:
    plan = plan_capacity(write_config(tmp_path / "tiny", TINY_LLAMA), context=4096)
    assert plan.kv_cache_bytes == 1024 * 4096
    assert len(plan.warnings) == 1 and "2,048" in plan.warnings[0] and "4,096" in plan.warnings[0]
    assert "Warning:" in plan_text(plan)


def test_an_fp8_kv_cache_halves_it(tmp_path: Path) -> None:
    folder = write_config(tmp_path / "tiny", TINY_LLAMA)
    plan = plan_capacity(folder, "bfloat16", context=1000, batch=1, kv_dtype="fp8")
    assert (plan.kv_dtype, plan.kv_bytes_per_token) == ("fp8", 512)
    assert plan.weights_bytes == 5_485_056  # the weights stay in bfloat16
    assert plan_capacity(folder, "auto").dtype == "bfloat16"


# -- against GPUs ----------------------------------------------------------------------------------------


def gpu(index: int, total_gib: float, used_gib: float, name: str = "NVIDIA H100 80GB HBM3") -> GpuReading:
    return GpuReading(index, name=name, memory_total_bytes=int(total_gib * GIB), memory_used_bytes=int(used_gib * GIB))


def test_fits_and_largest_batch_per_gpu() -> None:
    unknown = GpuReading(2, name="NVIDIA A10", unavailable={"memory_used_bytes": "Not Supported"})
    gpus = [gpu(0, 80, 10), gpu(1, 24, 23, name="NVIDIA L4"), unknown]
    plan = estimate(LLAMA_8B, "bfloat16", context=8192, batch=16, gpus=gpus)
    assert plan.kv_bytes_per_token == 131_072  # Llama 3.1 8B's well-known 128 KiB per token in bf16
    assert plan.fits == {0: True, 1: False}
    # 70 GiB free: weights 14.96 + 0.5 runtime + 1.0 activations (8,192 tokens) + 1.50 headroom = 17.95 GiB,
    # and each sequence adds 1 GiB of KV cache plus its 10%: (70 - 17.95) / 1.1 = 47.3 sequences.
    assert plan.max_batch == {0: 47, 1: 0}  # 1 GiB free holds not even the weights
    assert "GPU 2" in plan.warnings[0] and "Not Supported" in plan.warnings[0]
    assert [row["index"] for row in plan.gpus] == [0, 1, 2] and plan.gpus[0]["free_bytes"] == 70 * GIB
    assert plan.to_dict()["max_batch"] == {"0": 47, "1": 0}
    text = plan_text(plan)
    assert "GPU 0 NVIDIA H100 80GB HBM3: 70.00 GiB free, fits; largest batch at 8,192 tokens: 47" in text
    assert "GPU 1 NVIDIA L4: 1.00 GiB free, does not fit; largest batch at 8,192 tokens: 0" in text
    assert "GPU 2 NVIDIA A10: free memory unknown" in text


@pytest.mark.parametrize("context", [1, 512, 8192, 100_000])
def test_the_largest_batch_fits_and_one_more_does_not(context: int) -> None:
    gpus = [gpu(0, 80, 10), gpu(1, 141, 3), gpu(2, 24, 4)]
    plan = estimate(LLAMA_8B, "bfloat16", context=context, batch=1, gpus=gpus)
    assert plan.max_batch[1] >= 1  # 138 GiB free holds even 100,000 tokens
    for index, largest in plan.max_batch.items():
        free = gpus[index].memory_free_bytes
        assert (largest >= 1) == plan.fits[index]  # batch 1 was asked for
        if largest:
            assert estimate(LLAMA_8B, "bfloat16", context, largest, [gpus[index]]).fits[index]
        assert not estimate(LLAMA_8B, "bfloat16", context, largest + 1, [gpus[index]]).fits[index]
        assert estimate(LLAMA_8B, "bfloat16", context, largest + 1).total_bytes > free


def test_a_batch_too_large_still_says_which_batch_would_fit() -> None:
    plan = estimate(LLAMA_8B, "bfloat16", context=8192, batch=64, gpus=[gpu(0, 80, 10)])
    assert plan.fits == {0: False} and plan.max_batch == {0: 47}


def test_without_gpus_the_maps_are_empty_and_the_text_says_so() -> None:
    plan = estimate(LLAMA_8B, "float16", context=2048, batch=2)
    assert (plan.fits, plan.max_batch, plan.gpus) == ({}, {}, [])
    assert "No GPU here to check against" in plan_text(plan)


def test_the_simulated_nodes_gpus_are_planned_and_marked() -> None:
    reader = NvmlReader(FakeNvml(simulated_node(), elapsed=lambda: 0.0), simulated=True)
    snapshot = reader.snapshot(with_processes=False)
    plan = estimate(LLAMA_8B, "bfloat16", 8192, 4, snapshot.gpus, simulated=snapshot.simulated)
    # GPU 1 of the simulated node starts with 60 GiB in use: its 19.5 GiB free hold one sequence, not four.
    assert plan.fits == {0: True, 1: False, 2: True, 3: True}
    assert plan.max_batch[1] == 1
    assert all(row["simulated"] for row in plan.gpus)
    assert "(simulated)" in plan_text(plan)
    full = FakeNvml([FakeGpu(memory_total=16 * GIB)], elapsed=lambda: 0.0)  # 2 GiB used by default
    assert estimate(LLAMA_8B, gpus=NvmlReader(full).snapshot().gpus).fits == {0: False}


def test_the_figure_stacks_the_need_against_each_gpus_free_memory() -> None:
    plan = estimate(LLAMA_8B, "bfloat16", 8192, 16, [gpu(0, 80, 10), gpu(1, 24, 23)], simulated=True)
    figure = capacity_figure(plan)
    parts = {trace.name: trace.x[0] for trace in figure.data if trace.y[0] == "needed"}
    assert list(parts) == ["weights", "KV cache", "overhead"]
    assert sum(parts.values()) == pytest.approx(plan.total_bytes / GIB)
    free = {trace.y[0]: trace.x[0] for trace in figure.data if trace.y[0] != "needed"}
    assert free == pytest.approx({"GPU 0": 70.0, "GPU 1": 1.0})
    title = figure.layout.title.text
    assert all(part in title for part in ("Llama-3.1-8B", "bfloat16", "8,192 tokens", "batch 16"))
    assert figure.layout.xaxis.title.text == "GiB"


# -- errors ----------------------------------------------------------------------------------------------


def test_an_unknown_model_says_where_it_looked() -> None:
    with pytest.raises(ModelError) as caught:
        plan_capacity("no-such-model-anywhere")
    message = str(caught.value)
    assert "'no-such-model-anywhere' was not found" in message
    assert "smollm2-135m" in message and "config.json" in message and "HF_HUB_OFFLINE" in message
    assert_one_sentence(message)


def test_a_folder_without_config_json_is_refused(tmp_path: Path) -> None:
    with pytest.raises(ModelError, match=r"no config\.json") as caught:
        plan_capacity(str(tmp_path))
    assert_one_sentence(str(caught.value))


def test_a_broken_config_is_refused_with_the_folder(tmp_path: Path) -> None:
    folder = write_config(tmp_path / "odd", {"model_type": "no-such-architecture"})
    with pytest.raises(ModelError, match="could not be read") as caught:
        plan_capacity(folder)
    assert folder in str(caught.value)


def test_a_model_outside_models_allowed_is_refused(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("PITWALL_MODELS_ALLOWED", "smollm2-135m")
    with pytest.raises(ModelError, match="allowed models"):
        plan_capacity(write_config(tmp_path / "tiny", TINY_LLAMA))


@pytest.mark.parametrize(
    ("arguments", "words"),
    [
        ({"dtype": "float64"}, ["float64", "float32, bfloat16, float16"]),
        ({"kv_dtype": "int3"}, ["int3", "fp8"]),
        ({"context": 0}, ["context", "at least 1", "not 0"]),
        ({"batch": -2}, ["batch", "at least 1", "not -2"]),
    ],
)
def test_bad_inputs_fail_before_any_model_is_read(arguments: dict, words: list[str]) -> None:
    with pytest.raises(InputError) as caught:
        plan_capacity("no-such-model-anywhere", **arguments)  # the input error comes first, at once
    message = str(caught.value)
    assert all(word in message for word in words), message
    assert_one_sentence(message)


@pytest.mark.parametrize(
    ("hub_error", "words"),
    [
        ("RepositoryNotFoundError", ["'org/typo-model' was not found", "nor a model on the Hugging Face hub"]),
        ("GatedRepoError", ["'org/typo-model' is gated", "HF_TOKEN"]),
    ],
)
def test_hub_answers_are_told_apart(hub_error: str, words: list[str], monkeypatch: pytest.MonkeyPatch) -> None:
    import transformers
    from huggingface_hub import errors

    response = SimpleNamespace(headers={}, status_code=404, url="https://huggingface.co/org/typo-model", request=None)

    def refuse(*args: object, **kwargs: object) -> None:
        # As transformers does: the hub's own error wrapped in an OSError.
        raise OSError("org/typo-model is not a local folder and is not a valid model identifier") from getattr(
            errors, hub_error
        )("404 Client Error.", response=response)

    monkeypatch.delenv("HF_HUB_OFFLINE")
    monkeypatch.setattr(transformers.AutoConfig, "from_pretrained", refuse)
    with pytest.raises(ModelError) as caught:
        model_shape("org/typo-model")
    assert all(word in str(caught.value) for word in words), str(caught.value)
    assert_one_sentence(str(caught.value))
