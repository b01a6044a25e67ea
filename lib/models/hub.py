"""What a failed Hugging Face hub lookup means for the user, in one sentence (gated, missing, offline, unreachable)."""

from __future__ import annotations

import os

from lib.errors import ModelError
from lib.models.spec import EMBEDDED_NAME


def hub_model_error(name: str, error: BaseException) -> ModelError:
    """One sentence for a name that is neither embedded, a local folder, nor a model the hub gave us."""
    prefix = (
        f"Model '{name}' was not found: it is not the embedded {EMBEDDED_NAME}, not a local folder with config.json"
    )
    causes = _causes(error)
    if "GatedRepoError" in causes:
        return ModelError(
            f"Model '{name}' is gated on the Hugging Face hub; accept its licence on the hub and log in "
            "(`hf auth login`) or set HF_TOKEN, then try again."
        )
    if "RepositoryNotFoundError" in causes:
        return ModelError(f"{prefix}, nor a model on the Hugging Face hub; check the name (hub ids are 'org/name').")
    if os.environ.get("HF_HUB_OFFLINE", "").lower() in {"1", "true", "yes", "on"}:
        return ModelError(
            f"{prefix}, and it is not in the local Hugging Face cache while HF_HUB_OFFLINE=1 forbids fetching it; "
            f"check the name, or download it once while online (`hf download {name}`)."
        )
    return ModelError(
        f"{prefix}, and the Hugging Face hub could not be reached to look it up ({type(error).__name__}); "
        "check the name and your network, or name a local folder."
    )


def _causes(error: BaseException | None) -> set[str]:
    """Class names along an exception's cause chain (transformers wraps huggingface_hub's errors in OSError)."""
    names: set[str] = set()
    for _ in range(10):  # a chain is short; the bound guards against a cycle
        if error is None:
            break
        names.update(cls.__name__ for cls in type(error).__mro__)
        error = error.__cause__ or error.__context__
    return names
