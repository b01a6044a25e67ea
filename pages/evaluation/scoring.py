"""The Score predictions tab: a file of model outputs against a file of references, every metric with its interval."""

from __future__ import annotations

import pandas as pd
import streamlit as st

from lib import jsonsafe
from lib.errors import InputError
from lib.evaluation.figures import metric_label, metric_scores_figure, sample_scores_figure
from lib.jobs.inputs import stage_bytes
from pages.widgets.feedback import shows_errors

METRIC_CHOICES = ("bleu", "chrf", "rouge_l", "f1", "exact_match")
FORMAT_HELP = (
    "One item per line, or JSONL: a prediction line may be a JSON string or an object with `prediction`; "
    "a reference line a string, a list of strings (several references) or an object with `references` or "
    "SQuAD's `answers`. Line *n* of one file goes with line *n* of the other."
)


def scoring_tab() -> None:
    """Upload or paste predictions and references, score them, show scores, spread and the worst items."""
    st.markdown(
        "Corpus scores the standard way: **BLEU** and **chrF** exactly as sacrebleu computes them, **ROUGE-L** "
        "as Google's rouge-score, **F1** and **exact match** as the official SQuAD v1.1 script (max over "
        "references). Each comes with a bootstrap 95% interval: two systems whose intervals overlap may not "
        "really differ."
    )
    source = st.radio("Input", ("Upload files", "Paste"), horizontal=True, key="score_source")
    predictions_bytes, references_bytes, names = _inputs(source)
    metrics = st.multiselect(
        "Metrics", METRIC_CHOICES, default=list(METRIC_CHOICES), format_func=metric_label, key="score_metrics"
    )
    resamples = st.number_input(
        "Bootstrap resamples", 100, 10_000, 1000, step=100, key="score_resamples",
        help="More resamples give steadier intervals; 1,000 is the usual choice.",
    )  # fmt: skip
    if st.button("Score predictions", type="primary", icon=":material/functions:", key="score_run"):
        with shows_errors("Scoring the predictions"), st.spinner("Scoring..."):
            st.session_state["score_result"] = _score(predictions_bytes, references_bytes, metrics, int(resamples))
            st.session_state["score_names"] = names
    result = st.session_state.get("score_result")
    if result is not None:
        with shows_errors("Showing the scores"):
            _show(result, st.session_state.get("score_names", names))


def _inputs(source: str) -> tuple[bytes | None, bytes | None, tuple[str, str]]:
    left, right = st.columns(2)
    if source == "Upload files":
        predictions = left.file_uploader(
            "Predictions", type=["txt", "jsonl", "json"], key="score_pred", help=FORMAT_HELP
        )
        references = right.file_uploader("References", type=["txt", "jsonl", "json"], key="score_ref", help=FORMAT_HELP)
        return (
            predictions.getvalue() if predictions else None,
            references.getvalue() if references else None,
            (predictions.name if predictions else "predictions", references.name if references else "references"),
        )
    predictions_text = left.text_area("Predictions, one per line", height=180, key="score_pred_text")
    references_text = right.text_area("References, one per line", height=180, key="score_ref_text", help=FORMAT_HELP)
    return predictions_text.encode(), references_text.encode(), ("pasted predictions", "pasted references")


def _score(predictions: bytes | None, references: bytes | None, metrics: list[str], resamples: int) -> dict:
    """Stage both inputs as files and score them with lib.evaluation.scoring (the CLI's own path)."""
    from lib.evaluation.scoring import read_pairs, score_corpus, score_samples

    if not predictions or not references:
        raise InputError("Give both a predictions file and a references file (or paste both), then score.")
    if not metrics:
        raise InputError("Choose at least one metric.")
    predictions_path, _ = stage_bytes(predictions, ".txt")
    references_path, _ = stage_bytes(references, ".txt")
    preds, refs = read_pairs(predictions_path, references_path)
    corpus = score_corpus(preds, refs, metrics, resamples=resamples)
    per_sample = score_samples(preds, refs, metrics)
    return {
        "samples": len(preds),
        "metrics": {name: score.to_dict() for name, score in corpus.items()},
        "per_sample": per_sample,
        "predictions": preds,
        "references": refs,
    }


def _show(result: dict, names: tuple[str, str]) -> None:
    metrics = result["metrics"]
    st.subheader(f"{result['samples']:,} items scored", divider="gray")
    tiles = st.columns(len(metrics))
    for tile, (name, score) in zip(tiles, metrics.items(), strict=True):
        low, high = score["ci95"]
        tile.metric(metric_label(name), f"{score['score']:.1f}", help=f"95% interval {low:.1f}-{high:.1f}")
        tile.caption(f"95% CI {low:.1f}-{high:.1f}")
    for name, score in metrics.items():
        if score.get("signature"):
            st.caption(f"{metric_label(name)} signature: `{score['signature']}`")
    charts = st.columns(2)
    charts[0].plotly_chart(metric_scores_figure(metrics), key="score_chart")
    charts[1].plotly_chart(sample_scores_figure(result["per_sample"]), key="score_spread")
    table = _items_table(result)
    st.markdown("**Items, worst first**")
    st.dataframe(table, hide_index=True, width="stretch", height=320)
    downloads = st.columns(2)
    downloads[0].download_button(
        "Download scores (JSON)",
        jsonsafe.dumps(
            {"predictions": names[0], "references": names[1], "samples": result["samples"], "metrics": metrics},
            indent=2,
        ),
        file_name="scores.json", mime="application/json", icon=":material/download:", key="score_dl_json",
    )  # fmt: skip
    downloads[1].download_button(
        "Download per-item scores (CSV)", table.to_csv(index=False), file_name="scores-per-item.csv",
        mime="text/csv", icon=":material/download:", key="score_dl_csv",
    )  # fmt: skip


def _items_table(result: dict) -> pd.DataFrame:
    """One row per item with its prediction, first reference and per-item scores, sorted worst first."""
    per_sample = result["per_sample"]
    table = pd.DataFrame(
        {
            "item": range(1, result["samples"] + 1),
            "prediction": result["predictions"],
            "reference": [refs[0] if refs else "" for refs in result["references"]],
            "references": [len(refs) for refs in result["references"]],
        }
    )
    for name, values in per_sample.items():
        table[metric_label(name)] = [round(v, 1) for v in values]
    headline = "f1" if "f1" in per_sample else next(iter(per_sample), None)
    return table.sort_values(metric_label(headline), kind="stable") if headline else table
