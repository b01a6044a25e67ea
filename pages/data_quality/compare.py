"""Compare: this run's dataset against a baseline run's (drift in lengths, languages and n-grams)."""

from __future__ import annotations

import json
from collections.abc import Callable

import streamlit as st

from lib.errors import InputError
from lib.quality import figures
from lib.quality.drift import compare
from lib.quality.profile import ProfileOptions, ProfileResult, profile
from lib.store import open_store
from lib.store.quality_runs import QualityRun, get_quality_run, list_quality_runs
from pages.data_quality.browse import run_dataset


def comparison(run: QualityRun) -> None:
    """Pick a baseline run; both datasets are profiled again (no tokens) and compared."""
    others = [other for other in list_quality_runs(open_store(), limit=100) if other.id != run.id]
    if not others:
        st.info("Profile a second dataset (a newer export, last month's data) to compare it with this one.")
        return
    labels = {other.id: f"#{other.id} {other.dataset} · {other.rows:,} rows" for other in others}
    baseline_id = st.selectbox("Baseline", list(labels), format_func=labels.get, key="dq_baseline")
    st.caption(f"Candidate: #{run.id} {run.dataset}. PSI compares shares bin by bin; Kolmogorov-Smirnov compares "
               "whole distributions.")  # fmt: skip
    key = f"dq_drift_{baseline_id}_{run.id}"
    if st.button("Compare", type="primary", icon=":material/compare_arrows:", key="dq_compare"):
        baseline = get_quality_run(open_store(), baseline_id)
        bar = st.progress(0.0, text="Profiling the baseline...")
        first = _profiled(baseline, lambda f: bar.progress(f / 2, text="Profiling the baseline..."))
        second = _profiled(run, lambda f: bar.progress(0.5 + f / 2, text="Profiling the candidate..."))
        bar.empty()
        st.session_state[key] = compare(first, second).to_dict()
    report = st.session_state.get(key)
    if report is None:
        return
    st.markdown(f"**{report['verdict']}**")
    st.plotly_chart(figures.drift_lengths_figure(report), key=f"{key}_lengths")
    left, right = st.columns(2)
    left.plotly_chart(figures.drift_languages_figure(report), key=f"{key}_languages")
    right.plotly_chart(figures.drift_ngrams_figure(report), key=f"{key}_ngrams")
    st.download_button(
        "Download the comparison (JSON)", json.dumps(report, indent=2),
        file_name=f"drift_{baseline_id}_{run.id}.json", icon=":material/download:", key=f"{key}_json",
        on_click="ignore",
    )  # fmt: skip


def _profiled(run: QualityRun | None, progress: Callable[[float], object]) -> ProfileResult:
    if run is None:
        raise InputError("The baseline run was deleted; choose another.")
    settings = run.settings
    options = ProfileOptions(
        settings["near_duplicate_threshold"], tuple(settings["heuristic_families"]), settings["sample_rows"]
    )
    return profile(run_dataset(run), options, lambda done, total, _step: progress(done / total if total else 0))
