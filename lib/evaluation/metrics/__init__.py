"""Pitwall's reference metrics: local Hugging Face `evaluate` modules, loaded by path and never from the Hub.

`evaluate.load("bleu")` fetches a script from the Hub; each folder here holds a script of our own (an
`evaluate.Metric` subclass), so `evaluate.load(str(folder))` works offline. `f1` and `exact_match` are two
configs of the one SQuAD v1.1 module.
"""

from __future__ import annotations

import os
import sys
import threading
from pathlib import Path
from types import ModuleType
from typing import TYPE_CHECKING

from lib import config
from lib.errors import InputError

if TYPE_CHECKING:
    import evaluate

METRICS = ("bleu", "chrf", "rouge_l", "f1", "exact_match")
_FOLDERS = {"bleu": "bleu", "chrf": "chrf", "rouge_l": "rouge_l", "f1": "squad", "exact_match": "squad"}
_CONFIGS = {"f1": "f1", "exact_match": "exact_match"}
# evaluate imports the copied scripts as the package `evaluate_modules` (see evaluate.loading.init_dynamic_modules)
_DYNAMIC_PACKAGE = "evaluate_modules"

_loaded: dict[str, evaluate.EvaluationModule] = {}
_lock = threading.Lock()  # Streamlit runs sessions on threads: load each module once


def check_metric(name: str) -> str:
    """`name` when it is a known metric, else an InputError listing the known ones."""
    if name not in METRICS:
        raise InputError(f"There is no metric {name!r}; choose from {', '.join(METRICS)}.")
    return name


def metric_folder(name: str) -> Path:
    """The folder holding the metric's `evaluate` script (its name matches the folder's)."""
    return Path(__file__).resolve().parent / _FOLDERS[check_metric(name)]


def evaluate_cache_dir() -> Path:
    """Where evaluate keeps its copies of our scripts and its per-metric scratch folders: `$PITWALL_HOME/evaluate`."""
    return config.pitwall_home() / "evaluate"


def load_metric(name: str) -> evaluate.EvaluationModule:
    """The metric's `evaluate` module, loaded from its local folder once per process, with no network."""
    check_metric(name)
    with _lock:
        if name not in _loaded:
            evaluate = _import_evaluate()
            _loaded[name] = evaluate.load(
                str(metric_folder(name)),
                config_name=_CONFIGS.get(name),
                cache_dir=str(evaluate_cache_dir() / "metrics"),  # else ~/.cache/huggingface/metrics
                keep_in_memory=True,  # no Arrow cache file and file lock per compute()
            )
        return _loaded[name]


def _import_evaluate() -> ModuleType:
    """Import evaluate offline, with its module cache under PITWALL_HOME unless the user chose one."""
    # evaluate.config reads its environment once, when evaluate is first imported (perhaps by someone else,
    # earlier), so setting the environment now is not enough: set its config too. init_hf_modules() reads
    # config.HF_MODULES_CACHE at call time, and the loader checks config.HF_EVALUATE_OFFLINE at call time.
    os.environ["HF_EVALUATE_OFFLINE"] = "1"
    import evaluate

    evaluate.config.HF_EVALUATE_OFFLINE = True
    evaluate.config.HF_MODULES_CACHE = _modules_cache()
    return evaluate


def _modules_cache() -> Path:
    """The folder above `evaluate_modules`, where evaluate copies a script before importing it.

    Python imports that package once per process, from the first folder that held it; scripts copied
    anywhere else afterwards could not be imported, so once it is imported its folder is kept.
    """
    imported = sys.modules.get(_DYNAMIC_PACKAGE)
    if imported is not None and getattr(imported, "__path__", None):
        return Path(next(iter(imported.__path__))).parent
    if os.environ.get("HF_MODULES_CACHE"):
        return Path(os.environ["HF_MODULES_CACHE"]).expanduser()
    return evaluate_cache_dir() / "modules"
