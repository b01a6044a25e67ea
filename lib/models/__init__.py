"""Models: specs, the embedded GGUF -> safetensors cache, device and dtype choice, loading."""

from lib.models.loader import LoadedModel, ModelInfo, load_model, model_folder
from lib.models.spec import EMBEDDED_NAME, ModelSpec, parse_model_spec

__all__ = ["EMBEDDED_NAME", "LoadedModel", "ModelInfo", "ModelSpec", "load_model", "model_folder", "parse_model_spec"]
