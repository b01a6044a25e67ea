"""The Evaluation tile: the latest perplexity, and whether it rose against the last run on the same text and model."""

from __future__ import annotations

from datetime import datetime

from lib.settings import Settings
from lib.status import CRITICAL, NO_DATA, OK, WARNING, AreaStatus
from lib.store import Store
from lib.store.eval_runs import list_eval_runs

TITLE = "Evaluation"


def status(store: Store, settings: Settings) -> AreaStatus:
    """ok, or warning/critical when perplexity rose past the settings' percentages; no data before the first run."""
    runs = list_eval_runs(store, "perplexity", limit=200)
    if not runs:
        return AreaStatus("evaluation", TITLE, NO_DATA, "no runs yet", "Score a text on the Evaluation page.")
    latest = runs[0]
    when = datetime.fromisoformat(latest.created_at).timestamp()
    headline = f"perplexity {latest.summary['perplexity']:.2f}"
    same = [
        run
        for run in runs[1:]
        if run.model == latest.model and run.text_sha256 and run.text_sha256 == latest.text_sha256
    ]
    if not same:
        return AreaStatus(
            "evaluation", TITLE, OK, headline, f"{latest.model} on {latest.source}; no earlier run to compare.", when
        )
    previous = same[0].summary["perplexity"]
    change = (latest.summary["perplexity"] / previous - 1) * 100
    state = OK
    if change >= settings["evaluation.perplexity_critical_percent"]:
        state = CRITICAL
    elif change >= settings["evaluation.perplexity_warning_percent"]:
        state = WARNING
    detail = f"{latest.model} on {latest.source}: {change:+.1f}% against run #{same[0].id} ({previous:.2f})"
    return AreaStatus("evaluation", TITLE, state, headline, detail, when)
