"""Latency page: load tests, instrumentation, log ingest and SLOs (not built yet)."""

import streamlit as st

from pages.widgets.feedback import not_built_yet


def render() -> None:
    st.title("Latency")
    st.caption("How fast does the endpoint answer, and are we inside our SLOs?")
    not_built_yet(
        "Latency",
        [
            "Load tests against any OpenAI-compatible endpoint: TTFT, TPOT, ITL and end-to-end percentiles.",
            "In-app instrumentation and log ingest.",
            "SLOs with multi-window burn-rate alerts.",
        ],
    )
    st.caption("Meanwhile the embedded model can be served with `transformers serve $(python -m lib model path)`.")
