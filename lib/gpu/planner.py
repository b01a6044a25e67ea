"""Will this model fit? GPU memory for a model's weights, KV cache and runtime overhead, from its config alone.

Weights = parameters x bytes per parameter; the parameters are counted by building the model on
PyTorch's meta device (no memory, no weights read), which counts tied embeddings once. KV cache per
token = 2 (K and V) x layers x KV heads x head dim x bytes (vLLM's `get_cache_block_size`, per
token), times context x batch for the whole cache. Overhead = a CUDA context + one step's activations
+ 10% headroom (the constants below say why); every number it uses is printed in `overhead_formula`.

`estimate` is the pure arithmetic (tests and the page call it with a `ModelShape` they build);
`plan_capacity` resolves a model spec first, reading only its config.
"""

from __future__ import annotations

import functools
import math
from collections.abc import Sequence
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

from lib.errors import InputError, ModelError, first_line
from lib.gpu.nvml import GpuReading
from lib.models import embedded
from lib.models.hub import hub_model_error
from lib.models.spec import ModelSpec, parse_model_spec, require_allowed
from lib.settings import load_settings

MIB = 1024**2
GIB = 1024**3
# Bytes per element of the weights (and, by default, of the KV cache and activations).
DTYPE_BYTES: dict[str, float] = {"float32": 4, "bfloat16": 2, "float16": 2}
# The KV cache may be stored narrower than the weights (vLLM's `--kv-cache-dtype fp8`).
KV_DTYPE_BYTES: dict[str, float] = {**DTYPE_BYTES, "fp8": 1}
# `auto` serves in bfloat16, as every GPU this planner is meant for (Ampere and later) does natively.
AUTO_DTYPE = "bfloat16"

# The overhead model (shown with its numbers in every plan's `overhead_formula`):
# - CUDA context and library workspaces: PyTorch's CUDA context with cuBLAS/cuDNN handles takes a few
#   hundred MiB per process before any tensor exists (vLLM counts it as "non-torch memory"); 512 MiB.
RUNTIME_BYTES = 512 * MIB
# - Activations of one forward step. vLLM's chunked prefill processes at most `max_num_batched_tokens`
#   tokens per step, all sequences together: 8,192 by default for `vllm serve` on GPUs of 70 GiB or more
#   (2,048 on smaller ones; vllm/engine/arg_utils.py, EngineArgs.get_batch_defaults). Fewer tokens are in
#   flight when batch x context is smaller.
STEP_TOKENS = 8192
# - Per token in flight, about 16 hidden-sized vectors are alive at a decoder layer's peak: the
#   residual stream and its normed copy, attention's q, k, v and output (~5 x hidden), and the MLP's
#   gate, up and their product (3 x intermediate, where intermediate is 2.7-5 x hidden in Llama-family
#   models). Layers run one after another, so one layer's peak is the step's peak.
ACTIVATION_VECTORS = 16
# - Headroom for allocator fragmentation and whatever else the engine allocates: vLLM leaves 10% of
#   the GPU unused by default (gpu_memory_utilization 0.9, REFERENCE.md "GPU (NVML)"); here 10% of what
#   the model itself holds (weights + KV cache), so the estimate does not depend on which GPU it is for.
HEADROOM_PERCENT = 10
_MAX_BATCH_LIMIT = 2**40  # the search for the largest batch stops here (only a KV-less shape gets near)


@dataclass(frozen=True)
class ModelShape:
    """What memory planning needs from a model's config."""

    name: str
    parameters: int
    layers: int
    kv_heads: int
    head_dim: int
    hidden_size: int
    vocab_size: int
    max_context: int | None
    # Caveats read from the config (sliding-window layers, a quantised checkpoint), copied into plans.
    notes: tuple[str, ...] = ()


@dataclass(frozen=True)
class CapacityPlan:
    """Memory a model needs at a context and batch, and whether each GPU has that much free now."""

    model: str
    dtype: str
    kv_dtype: str
    context: int
    batch: int
    parameters: int
    weights_bytes: int
    kv_bytes_per_token: int
    kv_cache_bytes: int
    overhead_bytes: int
    overhead_formula: str
    total_bytes: int
    kv_formula: str
    fits: dict[int, bool] = field(default_factory=dict)
    max_batch: dict[int, int] = field(default_factory=dict)
    gpus: list[dict] = field(default_factory=list)  # index, name, free_bytes, total_bytes, simulated
    warnings: list[str] = field(default_factory=list)

    def to_dict(self) -> dict:
        """The `gpu plan --json` shape (GPU indexes as string keys, as JSON has them)."""
        data = asdict(self)
        data["fits"] = {str(index): value for index, value in self.fits.items()}
        data["max_batch"] = {str(index): value for index, value in self.max_batch.items()}
        return data


@dataclass(frozen=True)
class _Need:
    """The bytes one (context, batch) needs, term by term."""

    weights: int
    kv_per_token: int
    kv_cache: int
    runtime: int
    activation_tokens: int
    activations: int
    headroom: int

    @property
    def overhead(self) -> int:
        return self.runtime + self.activations + self.headroom

    @property
    def total(self) -> int:
        return self.weights + self.kv_cache + self.overhead


# -- inputs ---------------------------------------------------------------------------------------------


def resolve_dtype(dtype: str, choices: dict[str, float] = DTYPE_BYTES, what: str = "dtype") -> str:
    """The canonical dtype name for `dtype` (`auto` is bfloat16), or an InputError naming the choices."""
    name = str(dtype).strip().lower()
    if name == "auto":
        return AUTO_DTYPE
    if name not in choices:
        raise InputError(f"Unknown {what} '{dtype}'; use one of {', '.join(choices)} (or auto).")
    return name


def resolve_kv_dtype(kv_dtype: str | None, dtype: str) -> str:
    """The KV cache's dtype: the weights' own when None or `auto` (as vLLM's `--kv-cache-dtype auto`)."""
    if kv_dtype is None or str(kv_dtype).strip().lower() == "auto":
        return resolve_dtype(dtype)
    return resolve_dtype(kv_dtype, KV_DTYPE_BYTES, "KV cache dtype")


def _check_counts(context: int, batch: int) -> None:
    if isinstance(context, bool) or not isinstance(context, int) or context < 1:
        raise InputError(
            f"The context must be at least 1 token, not {context}; give the tokens each sequence holds "
            "(prompt plus output)."
        )
    if isinstance(batch, bool) or not isinstance(batch, int) or batch < 1:
        raise InputError(f"The batch must be at least 1 sequence, not {batch}; give how many sequences run at once.")


# -- the arithmetic -------------------------------------------------------------------------------------


def kv_bytes_per_token(shape: ModelShape, kv_dtype: str) -> int:
    """2 (K and V) x layers x KV heads x head dim x bytes per element."""
    return math.ceil(2 * shape.layers * shape.kv_heads * shape.head_dim * KV_DTYPE_BYTES[kv_dtype])


def _need(shape: ModelShape, dtype: str, kv_dtype: str, context: int, batch: int) -> _Need:
    weights = math.ceil(shape.parameters * DTYPE_BYTES[dtype])
    per_token = kv_bytes_per_token(shape, kv_dtype)
    kv_cache = per_token * context * batch
    tokens = min(batch * context, STEP_TOKENS)
    activations = math.ceil(tokens * shape.hidden_size * ACTIVATION_VECTORS * DTYPE_BYTES[dtype])
    headroom = (weights + kv_cache) * HEADROOM_PERCENT // 100
    return _Need(weights, per_token, kv_cache, RUNTIME_BYTES, tokens, activations, headroom)


def largest_batch(shape: ModelShape, dtype: str, kv_dtype: str, context: int, free_bytes: int) -> int:
    """The largest batch whose total fits in `free_bytes` at `context` (0 when not even one sequence does)."""

    def fits(batch: int) -> bool:
        return _need(shape, dtype, kv_dtype, context, batch).total <= free_bytes

    if not fits(1):
        return 0
    # The total only grows with the batch, so double until it does not fit, then bisect.
    low, high = 1, 2
    while fits(high):
        if high >= _MAX_BATCH_LIMIT:
            return high
        low, high = high, high * 2
    while high - low > 1:
        middle = (low + high) // 2
        low, high = (middle, high) if fits(middle) else (low, middle)
    return low


def estimate(
    shape: ModelShape,
    dtype: str = "bfloat16",
    context: int = 4096,
    batch: int = 1,
    gpus: Sequence[GpuReading] = (),
    simulated: bool = False,
    kv_dtype: str | None = None,
) -> CapacityPlan:
    """The capacity plan of a known model shape (pure arithmetic, no model loading)."""
    dtype = resolve_dtype(dtype)
    kv_dtype = resolve_kv_dtype(kv_dtype, dtype)
    _check_counts(context, batch)
    need = _need(shape, dtype, kv_dtype, context, batch)
    warnings = list(shape.notes)
    if shape.max_context is not None and context > shape.max_context:
        warnings.append(
            f"A context of {context:,} tokens is longer than the {shape.max_context:,} tokens {shape.name} was "
            "built for (max_position_embeddings); the memory estimate holds, but the model may answer poorly."
        )
    fits: dict[int, bool] = {}
    max_batch: dict[int, int] = {}
    gpu_rows: list[dict] = []
    for gpu in gpus:
        free = gpu.memory_free_bytes
        gpu_rows.append(
            {
                "index": gpu.index,
                "name": gpu.name,
                "free_bytes": free,
                "total_bytes": gpu.memory_total_bytes,
                "simulated": simulated,
            }
        )
        if free is None:
            reason = gpu.lost or gpu.unavailable.get("memory_used_bytes") or "NVML gave no memory reading"
            warnings.append(f"GPU {gpu.index}'s free memory is unknown ({reason}), so it is left out of the check.")
            continue
        fits[gpu.index] = need.total <= free
        max_batch[gpu.index] = largest_batch(shape, dtype, kv_dtype, context, free)
    return CapacityPlan(
        model=shape.name,
        dtype=dtype,
        kv_dtype=kv_dtype,
        context=context,
        batch=batch,
        parameters=shape.parameters,
        weights_bytes=need.weights,
        kv_bytes_per_token=need.kv_per_token,
        kv_cache_bytes=need.kv_cache,
        overhead_bytes=need.overhead,
        overhead_formula=_overhead_formula(shape, dtype, need),
        total_bytes=need.total,
        kv_formula=_kv_formula(shape, kv_dtype, context, batch, need),
        fits=fits,
        max_batch=max_batch,
        gpus=gpu_rows,
        warnings=warnings,
    )


def _kv_formula(shape: ModelShape, kv_dtype: str, context: int, batch: int, need: _Need) -> str:
    return (
        f"2 x {shape.layers} layers x {shape.kv_heads} KV heads x {shape.head_dim} head dim x "
        f"{_number(KV_DTYPE_BYTES[kv_dtype])} B = {need.kv_per_token:,} B per token; "
        f"x {context:,} tokens x {_plural(batch, 'sequence')} = {size_text(need.kv_cache)}"
    )


def _overhead_formula(shape: ModelShape, dtype: str, need: _Need) -> str:
    return (
        f"{size_text(need.runtime)} CUDA context and workspaces"
        f" + activations {need.activation_tokens:,} tokens in flight (at most {STEP_TOKENS:,} per step)"
        f" x {shape.hidden_size:,} hidden x {ACTIVATION_VECTORS} x {_number(DTYPE_BYTES[dtype])} B"
        f" = {size_text(need.activations)}"
        f" + {HEADROOM_PERCENT}% of (weights + KV cache) for fragmentation = {size_text(need.headroom)}"
    )


# -- text -----------------------------------------------------------------------------------------------


def size_text(size: int | float) -> str:
    """Bytes as GiB (from 1 GiB) or MiB, with one decimal."""
    return f"{size / GIB:,.2f} GiB" if size >= GIB else f"{size / MIB:,.1f} MiB"


def _plural(count: int, noun: str) -> str:
    return f"{count:,} {noun}{'' if count == 1 else 's'}"


def _number(value: float) -> str:
    return f"{value:g}"


def plan_text(plan: CapacityPlan) -> str:
    """A compact summary: each term with its formula, the total, and every GPU's verdict."""
    kv_note = "" if plan.kv_dtype == plan.dtype else f", KV cache in {plan.kv_dtype}"
    lines = [
        f"{plan.model} in {plan.dtype}{kv_note}: {plan.context:,} tokens x {_plural(plan.batch, 'sequence')}",
        f"  weights   {size_text(plan.weights_bytes):>12}  {plan.parameters:,} parameters x "
        f"{_number(DTYPE_BYTES[plan.dtype])} B",
        f"  KV cache  {size_text(plan.kv_cache_bytes):>12}  {plan.kv_formula}",
        f"  overhead  {size_text(plan.overhead_bytes):>12}  {plan.overhead_formula}",
        f"  total     {size_text(plan.total_bytes):>12}",
    ]
    if not plan.gpus:
        lines.append(
            f"No GPU here to check against: a GPU needs {size_text(plan.total_bytes)} free for this "
            "(switch on the simulated node with `python -m lib gpu simulate on` to try one)."
        )
    for gpu in plan.gpus:
        index = gpu["index"]
        label = f"GPU {index} {gpu['name'] or '?'}{' (simulated)' if gpu['simulated'] else ''}"
        if index not in plan.fits:
            lines.append(f"{label}: free memory unknown")
            continue
        verdict = "fits" if plan.fits[index] else "does not fit"
        lines.append(
            f"{label}: {size_text(gpu['free_bytes'])} free, {verdict}; "
            f"largest batch at {plan.context:,} tokens: {plan.max_batch[index]:,}"
        )
    lines.extend(f"Warning: {warning}" for warning in plan.warnings)
    return "\n".join(lines)


# -- resolving a model spec -----------------------------------------------------------------------------


def model_shape(spec: str) -> ModelShape:
    """The shape of the model named by `spec`, read from its config only (cached per spec and config file)."""
    parsed = parse_model_spec(spec)
    require_allowed(parsed, load_settings()["models.allowed"])
    return _cached_shape(parsed.text, *_config_source(parsed))


def _config_source(spec: ModelSpec) -> tuple[str, str | None, int]:
    """(folder or hub id, GGUF file name or None, a stamp that changes when the config does)."""
    if spec.source == "hub":
        return spec.location, None, 0
    if spec.source == "local":
        return spec.location, None, _mtime(Path(spec.location) / "config.json")
    # The embedded model: its converted folder's config.json when there is one (instant), else the
    # GGUF file's metadata (a few seconds) rather than the 20-second conversion the weights need.
    if embedded.is_converted():
        folder = embedded.converted_folder()
        return str(folder), None, _mtime(folder / "config.json")
    gguf = embedded.gguf_path()
    return str(gguf.parent), gguf.name, gguf.stat().st_size


def _mtime(path: Path) -> int:
    try:
        return path.stat().st_mtime_ns
    except OSError:
        return 0


@functools.lru_cache(maxsize=64)
def _cached_shape(name: str, location: str, gguf_file: str | None, stamp: int) -> ModelShape:
    config = _read_config(name, location, gguf_file)
    return shape_from_config(name, config, count_parameters(name, config))


def _read_config(name: str, location: str, gguf_file: str | None) -> Any:
    from transformers import AutoConfig

    is_hub = gguf_file is None and not Path(location).is_dir()
    try:
        if gguf_file is not None:
            return AutoConfig.from_pretrained(location, gguf_file=gguf_file)
        return AutoConfig.from_pretrained(location)
    except Exception as error:  # transformers and huggingface_hub raise many types for one "cannot read"
        if is_hub:
            raise hub_model_error(name, error) from error
        raise ModelError(
            f"The config of {name} could not be read ({first_line(error)}); check that {location} holds a "
            "transformers model's config.json."
        ) from error


def count_parameters(name: str, config: Any) -> int:
    """Parameters of the model `config` describes, built on the meta device (tied weights count once)."""
    import torch
    from transformers import AutoModelForCausalLM, AutoModelForImageTextToText
    from transformers.utils import logging as hf_logging

    hf_logging.set_verbosity_error()
    failure: Exception | None = None
    # Text models first; a multimodal config (Llava, Qwen-VL) needs the image-text-to-text class,
    # and its vision tower's weights take GPU memory too.
    for auto_class in (AutoModelForCausalLM, AutoModelForImageTextToText):
        try:
            with torch.device("meta"):
                model = auto_class.from_config(config)
        except Exception as error:  # an unknown architecture raises ValueError; custom code others
            failure = failure or error
            continue
        return sum(parameter.numel() for parameter in model.parameters())
    raise ModelError(
        f"{name} is not a language model transformers can build ({first_line(failure or ValueError('unknown'))}); "
        "plan a causal language model."
    )


def shape_from_config(name: str, config: Any, parameters: int) -> ModelShape:
    """Layers, KV heads, head dim and the rest from a (possibly multimodal) transformers config."""
    text = config.get_text_config()
    heads = getattr(text, "num_attention_heads", None)
    hidden = getattr(text, "hidden_size", None)
    layers = getattr(text, "num_hidden_layers", None)
    if not (heads and hidden and layers):
        raise ModelError(
            f"The config of {name} does not say its layers, attention heads and hidden size; "
            "plan a decoder-only transformer."
        )
    kv_heads = getattr(text, "num_key_value_heads", None) or heads
    head_dim = getattr(text, "head_dim", None) or hidden // heads
    max_context = getattr(text, "max_position_embeddings", None)
    return ModelShape(
        name=name,
        parameters=int(parameters),
        layers=int(layers),
        kv_heads=int(kv_heads),
        head_dim=int(head_dim),
        hidden_size=int(hidden),
        vocab_size=int(getattr(text, "vocab_size", 0) or 0),
        max_context=int(max_context) if max_context else None,
        notes=_config_notes(name, config, text),
    )


def _config_notes(name: str, config: Any, text: Any) -> tuple[str, ...]:
    notes = []
    layer_types = list(getattr(text, "layer_types", None) or [])
    window = getattr(text, "sliding_window", None)
    sliding = sum(1 for kind in layer_types if "sliding" in str(kind))
    if window and sliding:
        notes.append(
            f"{sliding} of {len(layer_types)} layers of {name} keep only a {window:,}-token sliding window, so "
            f"beyond {window:,} tokens its KV cache needs less than this estimate, which is an upper bound."
        )
    quantization = getattr(config, "quantization_config", None)
    method = quantization.get("quant_method", "some") if isinstance(quantization, dict) else "some"
    # transformers de-quantises GGUF weights as it loads them (the embedded model's converted config
    # still names its GGUF source), so only other methods keep quantised weights on the GPU.
    if quantization and method != "gguf":
        notes.append(
            f"{name} is a {method}-quantised checkpoint; its weights are estimated at the chosen dtype, "
            "which overstates what the quantised weights take."
        )
    return tuple(notes)


def plan_capacity(
    model: str,
    dtype: str = "bfloat16",
    context: int = 4096,
    batch: int = 1,
    gpus: Sequence[GpuReading] = (),
    simulated: bool = False,
    kv_dtype: str | None = None,
) -> CapacityPlan:
    """The capacity plan of the model named by `model` against `gpus` (their free memory now)."""
    # Check the cheap inputs before reading any config, so a typo fails at once.
    resolve_kv_dtype(kv_dtype, dtype)
    _check_counts(context, batch)
    return estimate(model_shape(model), dtype, context, batch, gpus, simulated, kv_dtype)
