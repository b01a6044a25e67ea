"""Storing and reloading evaluation runs, so results outlive the process that made them."""

from __future__ import annotations

from lib.evaluation.perplexity import PerplexityResult, Window
from lib.store import Store
from lib.store.eval_runs import EvalRun, insert_eval_run, list_eval_runs

PERPLEXITY = "perplexity"


def save_perplexity_run(store: Store, result: PerplexityResult, source: str) -> EvalRun:
    """Store a perplexity result; its windows go into the run's detail."""
    detail = {"windows": [vars(w) for w in result.windows]}
    return insert_eval_run(store, PERPLEXITY, result.model, source, result.to_dict(), detail)


def perplexity_from_run(run: EvalRun) -> PerplexityResult:
    """Rebuild the result (with windows, if the run was loaded with its detail) from a stored run."""
    windows = [Window(**w) for w in run.detail.get("windows", [])]
    return PerplexityResult(**run.summary, windows=windows)


def perplexity_runs(store: Store) -> list[EvalRun]:
    """Stored perplexity runs, newest first."""
    return list_eval_runs(store, PERPLEXITY)
