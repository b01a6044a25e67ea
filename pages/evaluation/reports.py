"""The Reports tab: the manager's one-page summary of a run, against a baseline and thresholds, as HTML or PDF."""

from __future__ import annotations

import time

import pandas as pd
import streamlit as st

from lib.evaluation.compare import Comparison, trend
from lib.evaluation.evalrun import EvalRunResult, eval_runs, load_eval_run
from lib.evaluation.figures import metric_label
from lib.evaluation.human import human_summary
from lib.evaluation.report import ScorecardRow, render_html, render_pdf, scorecard, verdict
from lib.evaluation.tables import same_set_before
from lib.store import Store, open_store
from pages.evaluation.compare import cached_comparison
from pages.evaluation.eval_runs import NO_RUN_YET
from pages.widgets.feedback import shows_errors
from pages.widgets.run_picker import run_picker

BUILT_KEY = "rep_built"  # the last report built: its choices, HTML and PDF (the HTML is ~5 MB: built on request)
ARROWS = {"up": "▲", "down": "▼", "flat": "▶", "": ""}


def reports_tab() -> None:
    """Pick a run, a baseline and thresholds; preview the scorecard and verdict; build the HTML and PDF."""
    st.markdown(
        "A one-page summary for people who will not open the dashboard: the scores with their intervals, the "
        "change against a baseline, a pass/fail verdict against your thresholds, people's ratings and the cost."
    )
    store, run_id, baseline = None, None, None
    with shows_errors("Reading the stored runs"):
        store = open_store()
        runs = eval_runs(store)
        if not runs:
            st.info(NO_RUN_YET, icon=":material/info:")
            return
        left, right = st.columns(2)
        with left:
            run_id = run_picker("Run", runs, "rep_run", runs[0].id)
        picked = next(r for r in runs if r.id == run_id)
        same_set = [r for r in runs if r.text_sha256 == picked.text_sha256 and r.id != run_id]
        with right:
            baseline = run_picker(
                "Baseline", same_set, "rep_baseline", same_set_before(runs, run_id), none_label="None: no comparison",
                help="Only runs on the same eval set can be compared; the default is the one before this run.",
            )  # fmt: skip
    if store is None or run_id is None:
        return
    with shows_errors("Preparing the report"):
        result = load_eval_run(store, run_id)
        thresholds = _thresholds(result)
        comparison = cached_comparison(store, baseline, run_id) if baseline is not None else None
        rows = scorecard(_scored(result), comparison.deltas if comparison else None, thresholds)
        _preview(rows, baseline)
        _build_and_download(store, result, comparison, thresholds)


def _scored(result: EvalRunResult) -> dict[str, dict]:
    """The run's metrics that have a score (a metric stored as null, e.g. NaN, cannot be on a scorecard)."""
    return {name: entry for name, entry in result.metrics.items() if entry.get("score") is not None}


def _thresholds(result: EvalRunResult) -> dict[str, float]:
    st.markdown("**Thresholds** · the lowest acceptable score per metric (0 = no threshold)")
    names = list(_scored(result))
    thresholds = {}
    for column, name in zip(st.columns(max(len(names), 1)), names, strict=False):
        value = column.number_input(
            metric_label(name), 0.0, 100.0, 0.0, step=1.0, format="%.1f", key=f"rep_thr_{name}",
            help="Scores are 0-100; the verdict fails when this metric scores below it.",
        )  # fmt: skip
        if value > 0:
            thresholds[name] = float(value)
    return thresholds


def _preview(rows: list[ScorecardRow], baseline: int | None) -> None:
    outcome = verdict(rows)
    if outcome == "pass":
        st.markdown("#### :green[:material/check_circle: PASS] · every threshold met")
    elif outcome == "fail":
        failed = ", ".join(metric_label(r.metric) for r in rows if r.passed is False)
        st.markdown(f"#### :red[:material/cancel: FAIL] · below threshold on {failed}")
    else:
        st.markdown("#### :gray[No thresholds set] · the scores are for reading, not gating")
    st.dataframe(scorecard_table(rows, baseline), hide_index=True, width="stretch")
    if baseline is not None:
        st.caption(
            "▲/▼: a change whose paired-bootstrap 95% interval excludes zero; ▶: within noise. "
            f"Change = this run minus run #{baseline}."
        )


def scorecard_table(rows: list[ScorecardRow], baseline: int | None) -> pd.DataFrame:
    """The scorecard as a table: score and interval, the change with its arrow, the threshold and its outcome."""
    records = []
    for row in rows:
        record = {"metric": metric_label(row.metric), "score": round(row.score, 1), "95% CI": _interval(row.ci95)}
        if baseline is not None:
            record |= {
                f"baseline #{baseline}": None if row.baseline is None else round(row.baseline, 1),
                "change": "-" if row.delta is None else f"{ARROWS[row.direction]} {row.delta:+.1f}",
                "change 95% CI": "-" if row.delta_ci95 is None else _interval(row.delta_ci95, signed=True),
            }
        record |= {
            "threshold": "-" if row.threshold is None else f"≥ {row.threshold:g}",
            "outcome": {None: "-", True: "passed", False: "failed"}[row.passed],
        }
        records.append(record)
    return pd.DataFrame(records)


def _build_and_download(
    store: Store, result: EvalRunResult, comparison: Comparison | None, thresholds: dict[str, float]
) -> None:
    choices = (result.run_id, comparison.baseline["run_id"] if comparison else None, sorted(thresholds.items()))
    if st.button("Build report", type="primary", icon=":material/description:", key="rep_build"):
        with st.spinner("Building the HTML and PDF..."):
            st.session_state[BUILT_KEY] = {
                "choices": choices,
                "at": time.strftime("%H:%M:%S"),
                **_build(store, result, comparison, thresholds),
            }
    built = st.session_state.get(BUILT_KEY)
    if built is None or built["choices"] != choices:
        st.caption("Press **Build report** to make the HTML (charts included, about 5 MB) and the PDF.")
        return
    name = f"eval-run-{result.run_id}-report"
    left, right, note = st.columns([1, 1, 3], vertical_alignment="center")
    left.download_button(
        "Download HTML", built["html"], file_name=f"{name}.html", mime="text/html", icon=":material/download:",
        key="rep_dl_html", width="stretch",
    )  # fmt: skip
    right.download_button(
        "Download PDF", built["pdf"], file_name=f"{name}.pdf", mime="application/pdf", icon=":material/download:",
        key="rep_dl_pdf", width="stretch",
    )  # fmt: skip
    note.caption(f"Built at {built['at']}; ratings given since then appear when you build it again.")


def _build(store: Store, result: EvalRunResult, comparison: Comparison | None, thresholds: dict[str, float]) -> dict:
    """The HTML and PDF from the same dicts the CLI's `eval run --report` uses."""
    run = result.to_dict() | {"metrics": _scored(result)}
    compared = None
    if comparison is not None:
        compared = comparison.to_dict()
    human = human_summary(store, result.run_id).to_dict()
    samples = [sample.to_dict() for sample in result.samples]
    return {
        "html": render_html(
            run, comparison=compared, human=human, thresholds=thresholds,
            trend=trend(store, result.dataset_sha256), samples=samples,
        ),
        "pdf": render_pdf(run, comparison=compared, human=human, thresholds=thresholds, samples=samples),
    }  # fmt: skip


def _interval(interval: tuple[float, float], signed: bool = False) -> str:
    low, high = interval
    return f"{low:+.1f} to {high:+.1f}" if signed else f"{low:.1f}-{high:.1f}"
