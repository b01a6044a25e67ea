"""The tables and one-line summaries the Evaluation page shows, built from stored runs (pure, no UI).

Frames are what `st.dataframe` draws and what the CSV downloads hold; lines are plain text with a
little markdown. Keeping them here keeps the page a storyboard and lets them be tested without a browser.
"""

from __future__ import annotations

from collections.abc import Mapping
from pathlib import Path
from typing import TYPE_CHECKING, Any

import pandas as pd

from lib.evaluation.figures import metric_label

if TYPE_CHECKING:
    from lib.evaluation.evalrun import EvalRunResult
    from lib.evaluation.perplexity import DocumentsResult
    from lib.store.eval_runs import EvalRun

SAMPLE_FILTERS = ("Eval-set order", "Worst first", "Exact-match failures")
MOST_SURPRISING = 200  # documents listed, most perplexing first


# ---------------------------------------------------------------------------------------------------------------
# Eval runs


def when(created_at: str | None) -> str:
    """`2025-05-01T09:30:12+00:00` -> `2025-05-01 09:30 UTC`."""
    if not created_at:
        return "unknown time"
    return created_at[:16].replace("T", " ") + (" UTC" if created_at.endswith(("+00:00", "Z")) else "")


def run_label(run: EvalRun) -> str:
    """`#12 smollm2-135m on qa_eval.jsonl · 2025-05-01 09:30 UTC` (a local model folder by its name)."""
    model = run.model
    if model.startswith(("/", "./", "~")):  # a local folder: its name is what tells runs apart in a list
        model = Path(model).name or model
    return f"#{run.id} {model} on {run.source} · {when(run.created_at)}"


def same_set_before(runs: list[EvalRun], run_id: int) -> int | None:
    """The newest run older than `run_id` on the same eval set (runs newest first), or None."""
    run = next((r for r in runs if r.id == run_id), None)
    if run is None:
        return None
    return next((r.id for r in runs if r.id < run_id and r.text_sha256 == run.text_sha256), None)


def run_facts(result: EvalRunResult) -> str:
    """One caption line: what answered which set, with which settings, how fast."""
    settings, timings = result.settings, result.timings
    parts = [
        f"**{result.model}** on **{result.dataset}** ({len(result.samples):,} items, set {result.dataset_sha256[:12]})"
    ]
    if result.model_fingerprint:
        parts.append(f"weights {result.model_fingerprint[:12]}")
    if settings.get("dtype_used") or settings.get("device"):
        parts.append(f"{settings.get('dtype_used') or settings.get('dtype', '?')} on {settings.get('device', '?')}")
    if settings.get("max_new_tokens"):
        parts.append(f"≤{settings['max_new_tokens']} new tokens, batch {settings.get('batch_size', '?')}")
    if timings.get("generation_seconds") is not None:
        rate = timings.get("tokens_per_second")
        parts.append(f"answering {timings['generation_seconds']:.1f} s" + (f" at {rate:,.0f} tokens/s" if rate else ""))
    if timings.get("scoring_seconds") is not None:
        parts.append(f"scoring {timings['scoring_seconds']:.1f} s")
    parts.append(f"run #{result.run_id}, {when(result.created_at)}")
    return " · ".join(parts)


def human_line(summary: Mapping[str, Any] | None) -> str:
    """`12 answers rated · mean score 3.80 / 5 · 75% thumbs up · 2 raters (ana, ben) · agreement (Cohen's kappa)
    0.41`, from a HumanSummary's dict; or that none is rated yet. The page and the reports say it alike."""
    rated = (summary or {}).get("rated") or 0
    if not rated:
        return "no answer rated yet"
    parts = [f"{rated:,} answer{'s' if rated != 1 else ''} rated"]
    if summary.get("mean_score") is not None:
        parts.append(f"mean score {summary['mean_score']:.2f} / 5")
    if summary.get("thumbs_up_share") is not None:
        parts.append(f"{summary['thumbs_up_share']:.0%} thumbs up")
    raters = list(summary.get("raters") or [])
    if raters:
        parts.append(f"{len(raters)} rater{'s' if len(raters) != 1 else ''} ({', '.join(raters)})")
    if summary.get("kappa") is not None:
        shared = f" on {summary['kappa_pairs']:,} shared ratings" if summary.get("kappa_pairs") else ""
        parts.append(f"agreement (Cohen's kappa) {summary['kappa']:.2f}{shared}")
    return " · ".join(parts)


def samples_frame(result: EvalRunResult) -> pd.DataFrame:
    """One row per answer: the question, the references, the model's answer, and its per-metric scores."""
    table = pd.DataFrame(
        {
            "item": [s.item_id for s in result.samples],
            "prompt": [s.prompt for s in result.samples],
            "reference": [" | ".join(s.references) for s in result.samples],
            "output": [s.output for s in result.samples],
        }
    )
    for name in result.metrics:
        table[metric_label(name)] = [_rounded(s.scores.get(name), 1) for s in result.samples]
    return table


def sample_filters(result: EvalRunResult) -> list[str]:
    """The views of a run's answers that make sense for its metrics."""
    return [f for f in SAMPLE_FILTERS if f != "Exact-match failures" or "exact_match" in result.metrics]


def filter_samples(table: pd.DataFrame, shown: str, result: EvalRunResult) -> pd.DataFrame:
    """`samples_frame` in eval-set order, worst first by the headline metric (F1), or exact-match failures only."""
    if shown == "Worst first" and result.metrics:
        headline = "f1" if "f1" in result.metrics else next(iter(result.metrics))
        return table.sort_values(metric_label(headline), kind="stable")
    if shown == "Exact-match failures" and "exact_match" in result.metrics:
        return table[table[metric_label("exact_match")] < 100]
    return table


# ---------------------------------------------------------------------------------------------------------------
# Perplexity runs


def history_frame(runs: list[EvalRun]) -> pd.DataFrame:
    """Stored perplexity runs, newest first, one row each with its figures and window settings."""
    return pd.DataFrame(
        [
            {
                "run": r.id,
                "when (UTC)": r.created_at,
                "model": r.model,
                "text": r.source,
                "text id": (r.text_sha256 or "unknown")[:12],
                "mode": r.summary.get("mode", "text"),
                "perplexity": round(r.summary["perplexity"], 3),
                "bits/byte": _rounded(r.summary.get("bits_per_byte"), 4),
                "tokens": r.summary.get("tokens"),
                "tokens/s": r.summary.get("tokens_per_second"),
                "window": f"{r.summary.get('max_length')}/{r.summary.get('stride')}",
                "dtype": r.summary.get("dtype"),
                "device": r.summary.get("device"),
            }
            for r in runs
        ]
    )


def side_by_side_frame(runs: list[EvalRun], text_sha256: str | None) -> pd.DataFrame:
    """Each model's latest perplexity run on one input (runs newest first), best bits per byte first.

    Empty unless at least two models scored that input. Bits per byte compares across tokenizers,
    perplexity only within one.
    """
    latest_per_model: dict[str, EvalRun] = {}
    for run in runs:  # newest first: the first seen per model is its latest
        if text_sha256 and run.text_sha256 == text_sha256:
            latest_per_model.setdefault(run.model, run)
    if len(latest_per_model) < 2:
        return pd.DataFrame()
    rows = [
        {
            "model": run.model,
            "run": run.id,
            "perplexity": round(run.summary["perplexity"], 3),
            "bits per byte": _rounded(run.summary.get("bits_per_byte"), 4),
            "word perplexity": _rounded(run.summary.get("word_perplexity"), 2),
            "tokens": run.summary.get("tokens"),
            "tokens/s": run.summary.get("tokens_per_second"),
            "dtype": run.summary.get("dtype"),
        }
        for run in latest_per_model.values()
    ]
    return pd.DataFrame(rows).sort_values("bits per byte")


def surprising_documents_frame(result: DocumentsResult, previews: Mapping[int, str] | None = None) -> pd.DataFrame:
    """The scored documents, most perplexing first (document n: the file's n-th, counted from 1)."""
    table = pd.DataFrame(
        [
            {
                "document": d.index + 1,
                "perplexity": round(d.perplexity, 3),
                "tokens": d.tokens,
                "words": d.words,
                **({"text": previews.get(d.index, "")} if previews else {}),
            }
            for d in result.documents
        ]
    )
    if table.empty:
        return table
    return table.sort_values("perplexity", ascending=False).head(MOST_SURPRISING)


def _rounded(value: float | None, digits: int) -> float | None:
    return None if value is None else round(float(value), digits)
