"""Where Pitwall keeps its state, read from the environment on every call so tests can redirect it."""

from __future__ import annotations

import os
from pathlib import Path

DEFAULT_MODEL = "smollm2-135m"


def pitwall_home() -> Path:
    """The folder holding all of Pitwall's state: `$PITWALL_HOME`, default `~/.pitwall`."""
    return Path(os.environ.get("PITWALL_HOME") or Path.home() / ".pitwall").expanduser()


def model_cache_dir() -> Path:
    """Where converted models live: `$PITWALL_MODEL_CACHE`, default `$PITWALL_HOME/models`."""
    configured = os.environ.get("PITWALL_MODEL_CACHE")
    return Path(configured).expanduser() if configured else pitwall_home() / "models"


def database_path() -> Path:
    """The one SQLite database under `$PITWALL_HOME`."""
    return pitwall_home() / "pitwall.db"


def samples_dir() -> Path:
    """Where the demo data is written by default."""
    return pitwall_home() / "samples"


def default_model_spec() -> str:
    """The model used when none is named: `$PITWALL_MODEL`, default the embedded SmolLM2-135M."""
    return os.environ.get("PITWALL_MODEL") or DEFAULT_MODEL
