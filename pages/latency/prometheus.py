"""The Prometheus tab: vLLM's own latency histograms, per model and instance, read through PromQL."""

from __future__ import annotations

import time

import plotly.express as px
import streamlit as st

from lib.latency.prometheus import LABELS, latency_history, latency_quantiles
from lib.settings import load_settings_or_defaults

WINDOWS = ("1m", "5m", "15m", "1h")
CACHE_SECONDS = 15  # a widget change anywhere on the page reruns this tab: ask Prometheus at most this often


@st.cache_data(ttl=CACHE_SECONDS, show_spinner=False)
def _quantiles(url: str, window: str, timeout: float):
    return latency_quantiles(url, window=window, timeout=timeout)


@st.cache_data(ttl=CACHE_SECONDS, show_spinner=False)
def _history(url: str, metric: str, window: str, timeout: float, end_minute: int):
    end = (end_minute + 1) * 60.0  # the minute under way included: a fresh server has only seconds of data
    return latency_history(url, metric, 0.99, end - 3 * 3600, end, 30, window=window, timeout=timeout)


def prometheus_tab() -> None:
    """Read a Prometheus that scrapes vLLM servers; quantiles now and p99 over the last hours."""
    settings = load_settings_or_defaults()[0]
    st.markdown(
        "Serving fleets export latency as histograms (`vllm:time_to_first_token_seconds`, "
        "`vllm:e2e_request_latency_seconds`, `vllm:inter_token_latency_seconds`). Quantiles come from "
        "`histogram_quantile(q, sum by (le, model_name, instance) (rate(..._bucket[window])))`: estimates "
        "interpolated inside the histogram's buckets."
    )
    url_col, window_col = st.columns([4, 1])
    url = url_col.text_input(
        "Prometheus URL",
        value=settings["gpu.prometheus_url"],
        key="prom_url",
        placeholder="http://prometheus:9090",
        help="Default: gpu.prometheus_url from settings (the GPU fleet view's server).",
    )
    window = window_col.selectbox("Rate window", WINDOWS, index=1, key="prom_window")
    if not url.strip():
        st.caption("Enter the URL of a Prometheus server that scrapes your vLLM servers' /metrics.")
        return
    timeout = settings["gpu.prometheus_timeout_seconds"]
    with st.spinner("Querying Prometheus..."):
        frame = _quantiles(url.strip(), window, timeout)
    if frame.empty:
        st.info("The histograms exist but saw no requests in the window; widen it or send traffic.")
        return
    shown = frame.assign(metric=frame["metric"].map(LABELS) + " (" + frame["vllm_metric"] + ")")
    table = shown.pivot_table(index=["model_name", "instance", "metric"], columns="quantile", values="value_ms")
    table.columns = [f"p{round(q * 100)} ms" for q in table.columns]
    st.dataframe(table.round(1).reset_index(), hide_index=True, width="stretch")
    metric = st.selectbox("Over time", sorted(frame["metric"].unique()), format_func=LABELS.get, key="prom_metric")
    history = _history(url.strip(), metric, window, timeout, int(time.time() // 60))
    if history.empty:
        st.caption("No history for that metric in the last 3 hours.")
        return
    history["series"] = history["model_name"] + " @ " + history["instance"]
    title = f"{LABELS[metric]}: p99 over the last 3 hours"
    figure = px.line(history, x="time", y="value_ms", color="series", title=title)
    figure.update_layout(margin=dict(l=10, r=10, t=50, b=10), height=320, yaxis_title="ms")
    st.plotly_chart(figure, width="stretch")
