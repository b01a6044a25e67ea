"""The Run history tab: every stored perplexity run, charted over time, and any one of them in full."""

from __future__ import annotations

import streamlit as st

from lib.evaluation.figures import perplexity_history_figure
from lib.evaluation.runs import perplexity_runs
from lib.evaluation.tables import history_frame
from lib.store import open_store
from lib.store.eval_runs import get_eval_run
from pages.evaluation.perplexity_result import show_perplexity_run
from pages.widgets.feedback import shows_errors


def perplexity_history() -> None:
    """The chart of stored runs per model and text, their table, and a picker to open one."""
    with shows_errors("Reading the run history"):
        store = open_store()
        runs = perplexity_runs(store)
        if not runs:
            st.info("No runs stored yet. Score a text in the Perplexity tab; every run is kept here.")
            return
        points = [
            {
                "id": r.id,
                "created_at": r.created_at,
                "model": r.model,
                "source": r.source,
                "text_sha256": r.text_sha256,
                "perplexity": r.summary["perplexity"],
            }
            for r in runs
        ]
        st.plotly_chart(perplexity_history_figure(points), key="ppl_history")
        st.dataframe(history_frame(runs), hide_index=True, width="stretch")
        chosen = st.selectbox("Show run", [r.id for r in runs], format_func=lambda i: f"#{i}", key="ppl_history_run")
        run = get_eval_run(store, chosen)
        if run is not None:
            show_perplexity_run(run, "history")
