"""Evaluation page: is the model still good, and better than the last one?

The storyboard, one tab each: perplexity of a text or a set of documents; scores of predictions
against references; eval runs (the model answers a set, scored and stored); a comparison of two runs;
human ratings; the manager's report; and the history of perplexity runs.
"""

from __future__ import annotations

import streamlit as st

from pages.evaluation.compare import compare_tab
from pages.evaluation.eval_runs import eval_runs_tab
from pages.evaluation.history import perplexity_history
from pages.evaluation.human import human_tab
from pages.evaluation.perplexity import perplexity_tab
from pages.evaluation.reports import reports_tab
from pages.evaluation.scoring import scoring_tab


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
        eval_runs_tab()
    with tabs[3]:
        compare_tab()
    with tabs[4]:
        human_tab()
    with tabs[5]:
        reports_tab()
    with tabs[6]:
        perplexity_history()
