"""Data quality page: upload a dataset, find its problems, export a clean copy (not built yet)."""

import streamlit as st

from pages.widgets.feedback import not_built_yet


def render() -> None:
    st.title("Data quality")
    st.caption("Is this dataset clean: duplicates, PII, outliers, junk?")
    not_built_yet(
        "Data quality",
        [
            "Upload CSV, JSONL (OpenAI chat format included) or Parquet datasets.",
            "Exact and near-duplicate detection (MinHash), PII (emails, phones, cards), outliers.",
            "Heuristic quality filters (Gopher, C4, FineWeb) and your own rules.",
            "A cleaning pipeline that exports a clean dataset and a report.",
        ],
    )
    st.caption("The demo dataset from the Overview page has each of these problems planted, with a manifest of where.")
