"""Storing and reloading evaluation runs, so results outlive the process that made them."""

from __future__ import annotations

from dataclasses import MISSING, fields
from typing import Any

from lib.evaluation.perplexity import PerplexityResult, Window
from lib.store import Store
from lib.store.eval_runs import EvalRun, insert_eval_run, list_eval_runs

PERPLEXITY = "perplexity"


def save_perplexity_run(store: Store, result: PerplexityResult, source: str, text_sha256: str | None) -> EvalRun:
    """Store a perplexity result, keyed by the scored text's hash; its windows go into the run's detail."""
    detail = {"windows": [vars(w) for w in result.windows]}
    return insert_eval_run(store, PERPLEXITY, result.model, source, result.to_dict(), detail, text_sha256)


def perplexity_from_run(run: EvalRun) -> PerplexityResult:
    """Rebuild the result (with windows, if the run was loaded with its detail) from a stored run.

    Fields a newer Pitwall added are ignored and fields an older one lacked take their defaults,
    so runs stored by any version still open.
    """
    windows = [Window(**known_fields(Window, w)) for w in run.detail.get("windows", [])]
    return PerplexityResult(**known_fields(PerplexityResult, run.summary), windows=windows)


def known_fields(cls: type, stored: dict[str, Any]) -> dict[str, Any]:
    """The entries of `stored` that the dataclass `cls` has fields for (but `windows`); a field it lacks
    that has no default is None."""
    kept = {}
    for spec in fields(cls):
        if spec.name == "windows":
            continue
        if spec.name in stored:
            kept[spec.name] = stored[spec.name]
        elif spec.default is MISSING and spec.default_factory is MISSING:
            kept[spec.name] = None
    return kept


def perplexity_runs(store: Store) -> list[EvalRun]:
    """Stored perplexity runs, newest first."""
    return list_eval_runs(store, PERPLEXITY)
