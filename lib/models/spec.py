"""Model specs: the embedded default, a Hugging Face hub id, or a local folder."""

from __future__ import annotations

import fnmatch
import re
from dataclasses import dataclass
from pathlib import Path

from lib.errors import ModelError

EMBEDDED_NAME = "smollm2-135m"
DTYPE_CHOICES = ("auto", "float32", "bfloat16", "float16")  # offered by the CLI and the pages
MODEL_HELP = "smollm2-135m (default, embedded), a Hugging Face hub id, or a local folder holding config.json"
_HUB_ID = re.compile(r"^[A-Za-z0-9][\w.-]*(/[\w.-]+)?$")


@dataclass(frozen=True)
class ModelSpec:
    """What the user named, resolved into where the weights come from."""

    text: str
    source: str  # "embedded" | "hub" | "local"
    location: str  # hub id or absolute folder; the embedded name for the embedded model


def parse_model_spec(text: str | None) -> ModelSpec:
    """Resolve `smollm2-135m`, a local folder (one holding config.json) or a hub id like `org/name`."""
    text = (text or EMBEDDED_NAME).strip()
    if text.lower() == EMBEDDED_NAME:
        return ModelSpec(EMBEDDED_NAME, "embedded", EMBEDDED_NAME)
    path = Path(text).expanduser()
    looks_like_path = text.startswith((".", "/", "~")) or path.exists()
    if looks_like_path:
        if not path.is_dir():
            raise ModelError(
                f"The model folder {text} does not exist; name an existing folder, a hub id or {EMBEDDED_NAME}."
            )
        if not (path / "config.json").is_file():
            raise ModelError(
                f"The folder {text} holds no config.json, so it is not a transformers model; "
                "point at the folder that save_pretrained wrote."
            )
        return ModelSpec(text, "local", str(path.resolve()))
    if not _HUB_ID.match(text):
        raise ModelError(f"'{text}' is neither {EMBEDDED_NAME}, a local folder nor a hub id like 'org/name'.")
    return ModelSpec(text, "hub", text)


def require_allowed(spec: ModelSpec, allowed: list[str]) -> None:
    """Refuse a model that the installation's `models.allowed` setting does not list (wildcards allowed)."""
    names = {spec.text, spec.location}
    if any(fnmatch.fnmatchcase(name, pattern) for pattern in allowed for name in names):
        return
    raise ModelError(
        f"The model '{spec.text}' is not among this installation's allowed models (models.allowed: "
        f"{', '.join(allowed) or 'none'}); ask an admin to add it with `python -m lib settings set models.allowed ...`."
    )
