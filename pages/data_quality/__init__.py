"""Data quality page: profile a dataset as a job, see what is wrong with it, check rules, clean it, compare two.

The storyboard: choose a dataset (decoded once per upload) -> profile it as a job -> the stored run is
shown: scorecard, charts, findings, duplicate clusters, rows -> rules, cleaning and comparison work on it.
"""

from __future__ import annotations

import streamlit as st

from lib.settings import load_settings_or_defaults
from pages.data_quality.browse import duplicate_clusters, row_inspector
from pages.data_quality.cleaning import cleaning_pipeline
from pages.data_quality.compare import comparison
from pages.data_quality.results import chosen_run, findings_table, run_charts, scorecard
from pages.data_quality.rule_sets import rule_sets_editor
from pages.data_quality.upload import dataset_picker
from pages.widgets.feedback import shows_errors


def render() -> None:
    st.title("Data quality")
    st.caption("Is this dataset clean: duplicates, PII, outliers, junk?")
    settings, problem = load_settings_or_defaults()
    if problem:
        st.warning(problem, icon=":material/warning:")
    with shows_errors("Preparing the dataset"):
        dataset_picker(settings)
    with shows_errors("Reading the stored runs"):
        run = chosen_run()
    if run is None:
        st.info(
            "No dataset profiled yet. Upload one above, or load the demo support conversations "
            "(planted duplicates, PII, HTML, empty messages and other languages) and press **Profile**.",
            icon=":material/dataset:",
        )
        return
    with shows_errors("Showing the run"):
        scorecard(run)
    overview, findings, clusters, rows, rules, clean, compare = st.tabs(
        ["Charts", "Findings", "Duplicate clusters", "Row inspector", "Rules", "Clean & export", "Compare"]
    )
    with overview, shows_errors("Drawing the charts"):
        run_charts(run)
    with findings, shows_errors("Listing the findings"):
        findings_table(run)
    with clusters, shows_errors("Showing duplicate clusters"):
        duplicate_clusters(run)
    with rows, shows_errors("Reading the rows"):
        row_inspector(run)
    with rules, shows_errors("Checking the rules"):
        rule_sets_editor(run)
    with clean, shows_errors("Cleaning the dataset"):
        cleaning_pipeline(run)
    with compare, shows_errors("Comparing datasets"):
        comparison(run)
