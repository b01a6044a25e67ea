"""Evaluation page: is the model still good, and better than the last one?

The storyboard, one tab each: perplexity of a text or a set of documents; scores of predictions
against references; eval runs (the model answers a set, scored and stored); a comparison of two runs;
human ratings; the manager's report; and the history of perplexity runs.
"""

from __future__ import annotations

import streamlit as st

from pages.evaluation.perplexity import perplexity_history, perplexity_tab
from pages.evaluation.scoring import scoring_tab
from pages.widgets.feedback import not_built_yet


def render() -> None:
    st.title("Evaluation")
    st.caption("Is the model still good, and better than the last one?")
    tabs = st.tabs(
        ["Perplexity", "Score predictions", "Eval runs", "Compare", "Human rating", "Reports", "Run history"]
    )
    with tabs[0]:
        perplexity_tab()
    with tabs[1]:
        scoring_tab()
    with tabs[2]:
        not_built_yet("Eval runs", ["The model answers an eval set; every answer scored and stored."])
    with tabs[3]:
        not_built_yet("Comparison", ["Baseline against candidate: deltas with significance, per-sample changes."])
    with tabs[4]:
        not_built_yet("Human rating", ["Rate answers 1-5 or thumbs up/down; agreement between raters."])
    with tabs[5]:
        not_built_yet("Reports", ["A one-page run summary for managers, as HTML or PDF."])
    with tabs[6]:
        perplexity_history()
