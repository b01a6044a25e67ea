"""The Compare tab: a candidate run against a baseline on the same eval set, with paired-bootstrap significance."""

from __future__ import annotations

import pandas as pd
import streamlit as st

from lib import jsonsafe
from lib.evaluation.compare import Comparison, compare_runs, trend
from lib.evaluation.evalrun import eval_runs
from lib.evaluation.figures import deltas_figure, metric_label, trend_figure
from lib.evaluation.human import human_summary
from lib.evaluation.tables import human_line, when
from lib.store import Store, open_store
from lib.store.eval_runs import EvalRun
from pages.evaluation.eval_runs import NO_RUN_YET
from pages.widgets.feedback import shows_errors
from pages.widgets.run_picker import run_picker

CHANGE_FILTERS = ("All", "Regressed", "Improved", "Same")
CACHE_KEY = "cmp_cache"
CACHE_SIZE = 8  # comparisons kept per session; stored runs never change, so a cached one never goes stale


def compare_tab() -> None:
    """Pick baseline and candidate, then the deltas, the trend on that eval set and every changed answer."""
    st.markdown(
        "Candidate minus baseline on the **same eval set**, per metric. A change is **significant** when its "
        "paired-bootstrap 95% interval excludes zero (both runs resampled on the same items); otherwise it is "
        "within noise, however large it looks."
    )
    baseline = candidate = None
    with shows_errors("Reading the stored runs"):
        store = open_store()
        runs = eval_runs(store)
        if len(runs) < 2:
            st.info(
                NO_RUN_YET
                if not runs
                else "Only one eval run so far: run the same eval set again (another model "
                "or settings) in the Eval runs tab, then compare them here.",
                icon=":material/info:",
            )
            return
        baseline_default, candidate_default = default_pair(runs)
        left, right = st.columns(2)
        with left:
            baseline = run_picker("Baseline", runs, "cmp_baseline", baseline_default, help="The run to beat.")
        with right:
            candidate = run_picker("Candidate", runs, "cmp_candidate", candidate_default, help="The new run.")
    if baseline is None or candidate is None:
        return
    if baseline == candidate:
        st.info("Baseline and candidate are the same run: pick two different runs.", icon=":material/info:")
        return
    with shows_errors("Comparing the runs"):
        comparison = cached_comparison(store, baseline, candidate)
        show_comparison(store, comparison)


def default_pair(runs: list[EvalRun]) -> tuple[int, int]:
    """(baseline, candidate): the newest run with an older run on the same eval set, and that older run."""
    for index, candidate in enumerate(runs):  # newest first
        older = next((r for r in runs[index + 1 :] if r.text_sha256 == candidate.text_sha256), None)
        if older is not None:
            return older.id, candidate.id
    return runs[1].id, runs[0].id  # no pair on one set: the refusal says why


def cached_comparison(store: Store, baseline: int, candidate: int) -> Comparison:
    """The comparison of two stored runs, computed once per pair in this session (the bootstrap takes seconds)."""
    cache: dict[tuple[int, int], Comparison] = st.session_state.setdefault(CACHE_KEY, {})
    if (baseline, candidate) not in cache:
        with st.spinner(f"Comparing run #{candidate} with run #{baseline} (paired bootstrap)..."):
            comparison = compare_runs(store, baseline, candidate)
        while len(cache) >= CACHE_SIZE:
            cache.pop(next(iter(cache)))
        cache[(baseline, candidate)] = comparison
    return cache[(baseline, candidate)]


def show_comparison(store: Store, comparison: Comparison) -> None:
    """Delta tiles, the deltas and trend charts, change counts, the answers side by side, ratings, download."""
    base, cand = comparison.baseline, comparison.candidate
    st.caption(
        f"Candidate **#{cand['run_id']}** ({cand['model']}, {when(cand['created_at'])}) against baseline "
        f"**#{base['run_id']}** ({base['model']}, {when(base['created_at'])}) on **{comparison.dataset}**, "
        f"{len(comparison.samples):,} items"
        + (" · same weights (fingerprints match): only the settings differ" if comparison.same_weights else "")
    )
    deltas = comparison.deltas
    for tile, (name, delta) in zip(st.columns(len(deltas)), deltas.items(), strict=True):
        tile.metric(
            metric_label(name), f"{delta['candidate']:.1f}", f"{delta['delta']:+.1f}",
            delta_color="normal" if delta["significant"] else "off", border=True,
            delta_arrow="off" if abs(delta["delta"]) < 0.05 else "auto",  # no arrow on a +0.0
            help=f"Baseline {delta['baseline']:.1f}; change 95% interval "
            f"{delta['ci95'][0]:+.1f} to {delta['ci95'][1]:+.1f}.",
        )  # fmt: skip
        verdict = ":material/check_circle: significant" if delta["significant"] else "within noise"
        tile.caption(f"{verdict} · p = {delta['p_value']:.3f}")
    charts = st.columns(2)
    charts[0].plotly_chart(deltas_figure(list(deltas.values())), key="cmp_deltas")
    points = trend(store, comparison.dataset_sha256)
    charts[1].plotly_chart(trend_figure(points), key="cmp_trend")
    changes = comparison.changes
    st.markdown(
        f"**By {metric_label(comparison.headline)}, per item:** "
        f":green-badge[:material/arrow_upward: {changes['improved']} improved] "
        f":red-badge[:material/arrow_downward: {changes['regressed']} regressed] "
        f":gray-badge[{changes['same']} same]"
    )
    shown = st.radio("Items", CHANGE_FILTERS, horizontal=True, key="cmp_change", label_visibility="collapsed")
    table = changes_table(comparison)
    if shown != "All":
        table = table[table["change"] == shown.lower()]
    if table.empty:
        st.caption(f"No item {shown.lower()}.")
    else:
        st.dataframe(table, hide_index=True, width="stretch", height=min(36 * (len(table) + 1) + 3, 400))
    people = st.columns(2)
    for column, role, run in ((people[0], "Baseline", base), (people[1], "Candidate", cand)):
        summary = human_summary(store, run["run_id"])  # read fresh: ratings change while the comparison is cached
        column.markdown(f":material/reviews: **{role} #{run['run_id']}, people:** {human_line(summary.to_dict())}")
    payload = comparison.to_dict()
    payload["human"] = {
        role: human_summary(store, run["run_id"]).to_dict() for role, run in (("baseline", base), ("candidate", cand))
    }
    st.download_button(
        "Download comparison (JSON)", jsonsafe.dumps(payload, indent=2),
        file_name=f"eval-compare-{base['run_id']}-vs-{cand['run_id']}.json", mime="application/json",
        icon=":material/download:", key="cmp_download",
    )  # fmt: skip


def changes_table(comparison: Comparison) -> pd.DataFrame:
    """One row per item: the question, both answers side by side, their headline scores and the change."""
    headline = metric_label(comparison.headline)
    return pd.DataFrame(
        [
            {
                "item": row["item_id"],
                "change": row["change"],
                "prompt": row["prompt"],
                "reference": " | ".join(row["references"]),
                "baseline answer": row["baseline_output"],
                "candidate answer": row["candidate_output"],
                f"baseline {headline}": _rounded(row["baseline_scores"].get(comparison.headline)),
                f"candidate {headline}": _rounded(row["candidate_scores"].get(comparison.headline)),
            }
            for row in comparison.samples
        ]
    )


def _rounded(value: float | None) -> float | None:
    return None if value is None else round(float(value), 1)
