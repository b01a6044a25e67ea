"""The Load-test history tab: every stored load test and probe, one picked and shown in full."""

from __future__ import annotations

import streamlit as st

from lib.latency.runs import get_run, list_runs
from lib.latency.tables import runs_table
from lib.store import open_store
from pages.latency.run_view import show_run


def runs_tab() -> None:
    """A table of runs, newest first, then the chosen one."""
    store = open_store()
    runs = list_runs(store)
    if not runs:
        st.info("No load test or probe stored yet: start one in the Load test or Probe tab.", icon=":material/info:")
        return
    st.dataframe(
        runs_table(runs),
        hide_index=True,
        width="stretch",
        column_config={"started": st.column_config.DatetimeColumn(format="YYYY-MM-DD HH:mm:ss")},
    )
    labels = {run.id: f"#{run.id} {run.kind} of {run.model} ({run.status})" for run in runs}
    run_id = st.selectbox("Run", list(labels), format_func=labels.__getitem__, key="runs_pick")
    run = get_run(store, run_id)
    if run is not None:
        show_run(run, "runs_view")
