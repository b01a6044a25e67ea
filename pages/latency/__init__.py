"""Latency page: how fast does the endpoint answer, and are we inside our SLOs?

The storyboard, one tab each: production traffic with its SLOs and alerts; a load test against any
OpenAI-compatible endpoint (or a local `transformers serve` started here); a quick in-process probe of a
model; bringing in request logs and application records; vLLM's own histograms through Prometheus; and
the stored load tests.
"""

from __future__ import annotations

import streamlit as st

from pages.latency.ingest import ingest_tab
from pages.latency.loadtest import loadtest_tab
from pages.latency.monitor import monitor_tab
from pages.latency.probe import probe_tab
from pages.latency.prometheus import prometheus_tab
from pages.latency.runs import runs_tab
from pages.widgets.feedback import shows_errors


def render() -> None:
    st.title("Latency")
    st.caption("How fast does the endpoint answer, and are we inside our SLOs?")
    tabs = st.tabs(["Monitor", "Load test", "Probe", "Ingest", "Prometheus", "Load-test history"])
    for tab, draw, action in (
        (tabs[0], monitor_tab, "Reading the production requests"),
        (tabs[1], loadtest_tab, "Preparing the load test"),
        (tabs[2], probe_tab, "Preparing the probe"),
        (tabs[3], ingest_tab, "Preparing the ingest"),
        (tabs[4], prometheus_tab, "Reading Prometheus"),
        (tabs[5], runs_tab, "Reading the stored load tests"),
    ):
        with tab, shows_errors(action):
            draw()
