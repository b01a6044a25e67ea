"""One stored eval run: metric tiles with intervals, what ran, charts, every answer, downloads, human ratings."""

from __future__ import annotations

import streamlit as st

from lib import jsonsafe
from lib.evaluation.evalrun import load_eval_run
from lib.evaluation.figures import metric_label, metric_scores_figure, sample_scores_figure
from lib.evaluation.human import human_summary
from lib.evaluation.tables import filter_samples, human_line, run_facts, sample_filters, samples_frame
from lib.store import Store


def show_run(store: Store, run_id: int) -> None:
    """The stored run as the Eval runs tab shows it; everything comes from the store."""
    result = load_eval_run(store, run_id)
    metric_tiles(result.metrics)
    st.caption(run_facts(result))
    scored = {name: entry for name, entry in result.metrics.items() if entry.get("score") is not None}
    charts = st.columns(2)
    if scored:
        charts[0].plotly_chart(metric_scores_figure(scored), key=f"evr_scores_{run_id}")
    if result.samples and scored:
        per_sample = {name: [s.scores.get(name, 0.0) for s in result.samples] for name in scored}
        charts[1].plotly_chart(sample_scores_figure(per_sample), key=f"evr_spread_{run_id}")
    summary = human_summary(store, run_id)
    if summary.rated:
        st.markdown(f":material/reviews: **People:** {human_line(summary.to_dict())}")
    table = samples_frame(result)
    shown = st.radio("Answers", sample_filters(result), horizontal=True, key="evr_filter", index=1)
    rows = filter_samples(table, shown, result)
    st.dataframe(rows, hide_index=True, width="stretch", height=min(36 * (len(rows) + 1) + 3, 400))
    empty = sum(1 for sample in result.samples if not sample.output.strip())
    if empty:
        st.caption(
            f":material/warning: {empty} of {len(result.samples)} answers are empty: the model stopped at once "
            "(check its chat template, or raise max new tokens)."
        )
    downloads = st.container(horizontal=True)  # buttons as wide as their labels, side by side
    downloads.download_button(
        "Download run (JSON)", jsonsafe.dumps(result.to_dict(with_samples=True), indent=2),
        file_name=f"eval-run-{run_id}.json", mime="application/json", icon=":material/download:",
        key=f"evr_dl_json_{run_id}",
    )  # fmt: skip
    downloads.download_button(
        "Download answers (CSV)", table.to_csv(index=False), file_name=f"eval-run-{run_id}-samples.csv",
        mime="text/csv", icon=":material/download:", key=f"evr_dl_csv_{run_id}",
    )  # fmt: skip


def metric_tiles(metrics: dict[str, dict]) -> None:
    """One tile per metric: the corpus score (0-100) and its bootstrap 95% interval; BLEU's signature below."""
    if not metrics:
        st.caption("This run stored no metric scores.")
        return
    for tile, (name, entry) in zip(st.columns(len(metrics)), metrics.items(), strict=True):
        score, ci = entry.get("score"), entry.get("ci95") or (None, None)
        tile.metric(metric_label(name), "n/a" if score is None else f"{score:.1f}", border=True)
        if None not in ci:
            tile.caption(f"95% CI {ci[0]:.1f}-{ci[1]:.1f}")
    signatures = [f"{metric_label(n)} `{e['signature']}`" for n, e in metrics.items() if e.get("signature")]
    if signatures:
        st.caption("sacrebleu signatures (quote them with the scores): " + " · ".join(signatures))
