"""Models: specs, the embedded GGUF -> safetensors cache, device and dtype choice, loading.

Names are loaded on first use (PEP 562), so importing `lib.models` does not import torch.
"""

from importlib import import_module

_EXPORTS = {
    "EMBEDDED_NAME": "lib.models.spec",
    "ModelSpec": "lib.models.spec",
    "parse_model_spec": "lib.models.spec",
    "LoadedModel": "lib.models.loader",
    "ModelInfo": "lib.models.loader",
    "load_model": "lib.models.loader",
    "model_folder": "lib.models.loader",
}
__all__ = sorted(_EXPORTS)


def __getattr__(name: str):
    if name in _EXPORTS:
        return getattr(import_module(_EXPORTS[name]), name)
    raise AttributeError(f"module 'lib.models' has no attribute {name!r}")
