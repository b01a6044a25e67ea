"""Loading a model and its tokenizer from a spec, with one clear sentence for every way it can fail."""

from __future__ import annotations

import time
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Any

import torch

from lib.errors import ModelError, first_line
from lib.models import embedded
from lib.models.device import choose_device, choose_dtype, dtype_name
from lib.models.hub import hub_model_error
from lib.models.spec import ModelSpec, parse_model_spec, require_allowed
from lib.settings import load_settings

HUB_FILES = ["*.json", "*.safetensors", "*.model", "*.txt", "*.jinja", "*.tiktoken"]


@dataclass(frozen=True)
class ModelInfo:
    """What `python -m lib model info --json` prints and the sidebar shows."""

    model: str
    source: str
    parameters: int
    device: str
    dtype: str
    load_seconds: float
    folder: str
    architecture: str
    context_length: int | None

    def to_dict(self) -> dict:
        return asdict(self)


@dataclass(frozen=True)
class LoadedModel:
    """A model ready for inference, its tokenizer, and how it was loaded."""

    model: Any
    tokenizer: Any
    info: ModelInfo

    @property
    def device(self) -> torch.device:
        return self.model.device


def model_folder(spec: ModelSpec | str | None) -> Path:
    """The local folder of the model's transformers files, converting or fetching first if needed."""
    spec = spec if isinstance(spec, ModelSpec) else parse_model_spec(spec)
    require_allowed(spec, load_settings()["models.allowed"])
    if spec.source == "embedded":
        return embedded.ensure_converted()
    if spec.source == "local":
        return Path(spec.location)
    from huggingface_hub import snapshot_download

    try:
        # Only what transformers loads: a repo's other formats (ONNX, GGUF, .bin copies) can be many GB.
        folder = Path(snapshot_download(spec.location, allow_patterns=HUB_FILES))
    except Exception as error:  # huggingface_hub raises many types; all mean "not available"
        raise hub_model_error(spec.location, error) from error
    if not any(folder.glob("*.safetensors")):
        raise ModelError(f"'{spec.location}' has no safetensors weights on the hub; convert it or name a local folder.")
    return folder


def load_model(spec: ModelSpec | str | None = None, dtype: str = "auto", device: str | None = None) -> LoadedModel:
    """Load the model named by `spec` onto `device` (default: CUDA if present) in eval mode."""
    from transformers.utils import logging as hf_logging

    hf_logging.set_verbosity_error()
    hf_logging.disable_progress_bar()
    spec = spec if isinstance(spec, ModelSpec) else parse_model_spec(spec)
    device = device or choose_device()
    torch_dtype = choose_dtype(device, dtype)
    started = time.perf_counter()
    folder = model_folder(spec)
    try:
        tokenizer, model = _from_folder(folder, torch_dtype)
    except ModelError:
        if spec.source != "embedded":
            raise
        embedded.discard_converted()  # a damaged cached copy is rebuilt from the GGUF file, once
        folder = model_folder(spec)
        tokenizer, model = _from_folder(folder, torch_dtype)
    try:
        model.to(device)
    except torch.cuda.OutOfMemoryError as error:
        raise ModelError(
            f"The GPU has too little free memory for {spec.text} in {dtype_name(torch_dtype)}; "
            "free memory on the GPU or choose a smaller model."
        ) from error
    model.eval()
    model.requires_grad_(False)
    seconds = time.perf_counter() - started
    info = ModelInfo(
        model=spec.text,
        source=spec.source,
        parameters=sum(p.numel() for p in model.parameters()),
        device=device,
        dtype=dtype_name(torch_dtype),
        load_seconds=round(seconds, 3),
        folder=str(folder),
        architecture=type(model).__name__,
        context_length=getattr(model.config, "max_position_embeddings", None),
    )
    return LoadedModel(model, tokenizer, info)


def load_tokenizer(spec: ModelSpec | str | None = None) -> Any:
    """Only the tokenizer of a model (counting tokens needs no weights in memory)."""
    from transformers import AutoTokenizer

    folder = model_folder(spec)
    try:
        return AutoTokenizer.from_pretrained(folder)
    except Exception as error:  # transformers raises many types for a bad folder
        raise ModelError(f"Could not load the tokenizer from {folder}: {first_line(error)}.") from error


def _from_folder(folder: Path, torch_dtype: torch.dtype) -> tuple[Any, Any]:
    from transformers import AutoModelForCausalLM, AutoTokenizer

    try:
        tokenizer = AutoTokenizer.from_pretrained(folder)
        model = AutoModelForCausalLM.from_pretrained(folder, dtype=torch_dtype)
    except Exception as error:  # transformers and safetensors raise many types for a bad folder
        raise ModelError(
            f"Could not load the model from {folder}: {first_line(error)}; "
            "check that it is a complete causal language model."
        ) from error
    return tokenizer, model
