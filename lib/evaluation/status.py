"""The Evaluation tile: the latest run against its baseline, and whether the change is real.

For an eval run the baseline is the previous run on the same eval set; the headline metric's change
is judged by a paired bootstrap on the stored per-sample scores (no model, no `evaluate` import), so
the Overview stays quick. For a perplexity run it is the previous run on the same text and model.
Eval runs speak for the area when there are any (they are what a release is judged on); a perplexity
rise still raises the state, and says so in the detail.
"""

from __future__ import annotations

from dataclasses import replace
from datetime import datetime
from functools import lru_cache

from lib.settings import Settings
from lib.status import CRITICAL, NO_DATA, OK, WARNING, AreaStatus
from lib.store import Store
from lib.store.eval_runs import EvalRun, list_eval_runs
from lib.store.eval_samples import list_samples, runs_on_dataset

TITLE = "Evaluation"
STATE_ORDER = (NO_DATA, OK, WARNING, CRITICAL)
# Metrics that are means of per-sample scores: their paired bootstrap needs only the stored scores.
HEADLINE_ORDER = ("f1", "exact_match", "rouge_l")


def status(store: Store, settings: Settings) -> AreaStatus:
    """ok; warning on a significant drop, critical past the settings' points; no data before any run."""
    latest_eval = next(iter(list_eval_runs(store, "eval", limit=1)), None)
    latest_ppl = next(iter(list_eval_runs(store, "perplexity", limit=1)), None)
    if latest_eval is None and latest_ppl is None:
        return AreaStatus(
            "evaluation", TITLE, NO_DATA, "no runs yet", "Start an eval run or score a text on the Evaluation page."
        )
    if latest_eval is None:
        return _perplexity_status(store, settings, latest_ppl)
    area = _eval_status(store, settings, latest_eval)
    if latest_ppl is not None:
        perplexity = _perplexity_status(store, settings, latest_ppl)
        if STATE_ORDER.index(perplexity.state) > STATE_ORDER.index(area.state):
            area = replace(area, state=perplexity.state, detail=f"{area.detail} Perplexity: {perplexity.detail}.")
    return area


def _eval_status(store: Store, settings: Settings, latest: EvalRun) -> AreaStatus:
    when = _timestamp(latest)
    metrics = {name: m for name, m in (latest.summary.get("metrics") or {}).items() if m.get("score") is not None}
    earlier = [run for run in runs_on_dataset(store, "eval", latest.text_sha256 or "") if run.id < latest.id]
    baseline = earlier[-1] if earlier else None
    shared = [m for m in HEADLINE_ORDER if m in metrics and (baseline is None or m in baseline.summary["metrics"])]
    headline_metric = shared[0] if shared else next(iter(metrics), None)
    if headline_metric is None:
        return AreaStatus("evaluation", TITLE, OK, f"run #{latest.id}", "The latest eval run has no metric.", when)
    if baseline is not None and headline_metric not in (baseline.summary.get("metrics") or {}):
        baseline = None  # the earlier run did not compute this metric: nothing to compare it with
    score = metrics[headline_metric]["score"]
    label = _label(headline_metric)
    where = f"{latest.model} on {latest.source}"
    if baseline is None:
        return AreaStatus(
            "evaluation", TITLE, OK, f"{label} {score:.1f}", f"{where}; no earlier run on this eval set.", when
        )
    if headline_metric not in HEADLINE_ORDER:  # a corpus metric: the change alone, without a significance test
        delta = score - baseline.summary["metrics"][headline_metric]["score"]
        return AreaStatus(
            "evaluation", TITLE, OK, f"{label} {score:.1f} ({delta:+.1f})", f"{where} against run #{baseline.id}.", when
        )
    base_scores = _scores(store, baseline.id, headline_metric)
    delta, low, high, significant = paired_change(base_scores, _scores(store, latest.id, headline_metric))
    state = OK
    if significant and delta < 0:
        state = CRITICAL if -delta >= settings["evaluation.regression_critical_points"] else WARNING
    verdict = "significant" if significant else "within noise"
    return AreaStatus(
        "evaluation",
        TITLE,
        state,
        f"{label} {score:.1f} ({delta:+.1f}, {verdict})",
        f"{where} against run #{baseline.id}: {delta:+.1f} points, 95% interval {low:+.1f} to {high:+.1f}.",
        when,
    )


def _scores(store: Store, run_id: int, metric: str) -> tuple[tuple[str, float | None], ...]:
    return tuple((s.item_id, s.scores.get(metric)) for s in list_samples(store, run_id))


@lru_cache(maxsize=64)  # stored runs never change: a pair's answer holds while the Overview redraws
def paired_change(
    baseline: tuple[tuple[str, float | None], ...], candidate: tuple[tuple[str, float | None], ...]
) -> tuple[float, float, float, bool]:
    """(delta, ci low, ci high, significant) of a mean metric from two runs' (item id, score) pairs."""
    import numpy as np

    from lib.evaluation.bootstrap import paired_bootstrap

    base = dict(baseline)
    pairs = [(base[item], score) for item, score in candidate if base.get(item) is not None and score is not None]
    if not pairs:
        return 0.0, 0.0, 0.0, False
    before, after = (np.array(column, dtype=float) for column in zip(*pairs, strict=True))
    result = paired_bootstrap("mean", before, after)
    return float(after.mean() - before.mean()), *result.ci95, result.significant


def _perplexity_status(store: Store, settings: Settings, latest: EvalRun) -> AreaStatus:
    runs = list_eval_runs(store, "perplexity", limit=200)
    when = _timestamp(latest)
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


def _timestamp(run: EvalRun) -> float:
    return datetime.fromisoformat(run.created_at).timestamp()


def _label(metric: str) -> str:
    from lib.evaluation.figures import metric_label

    return metric_label(metric)
