"""The fleet view: every node's GPUs, read from a Prometheus server (pitwall exporters or dcgm-exporter)."""

from __future__ import annotations

import pandas as pd
import streamlit as st

from lib.gpu.figures import fleet_figure, history_figure
from lib.gpu.history import WINDOWS
from lib.gpu.prometheus import fleet_history, read_fleet
from lib.settings import Settings

GIB = 1024**3
STALE_SECONDS = 60  # a node whose last scrape is older than this is flagged
# Fleet metric -> the history chart's column of the same meaning.
HISTORY_METRICS = {"utilization_percent": "gpu_util", "temperature_c": "temperature", "power_w": "power"}


def fleet_view(settings: Settings) -> None:
    """Read the fleet from the configured Prometheus (or a URL tried here): totals, a table, charts, history."""
    url = st.text_input(
        "Prometheus URL",
        value=settings["gpu.prometheus_url"],
        placeholder="http://prometheus:9090",
        help="Set it for good with `python -m lib settings set gpu.prometheus_url URL`. Each node runs "
        "`python -m lib gpu exporter` (or NVIDIA's dcgm-exporter), scraped by this Prometheus.",
        key="gpu_prometheus_url",
    ).strip()
    if not url:
        st.info(
            "No Prometheus server is set. Run `python -m lib gpu exporter --port 9400` on each GPU node (or "
            "dcgm-exporter), add them to a Prometheus scrape config, and enter its URL here.",
            icon=":material/hub:",
        )
        return
    timeout = settings["gpu.prometheus_timeout_seconds"]
    view = read_fleet(url, timeout)
    if not view.gpus:
        st.info(view.empty_message, icon=":material/hub:")
        return
    frame = view.frame()
    warn = settings["gpu.memory_warning_percent"]
    left, middle, right, last = st.columns(4)
    left.metric("Nodes", view.hosts)
    middle.metric("GPUs", len(frame))
    right.metric(f"Memory above {warn:g}%", int((frame["memory_percent"] > warn).sum()))
    last.metric("Throttling", int(frame["throttled"].fillna(False).astype(bool).sum()))
    stale = frame[frame["age_seconds"] > STALE_SECONDS]
    if not stale.empty:
        hosts = ", ".join(sorted(set(stale["hostname"])))
        st.warning(
            f"Not scraped for over {STALE_SECONDS} s: {hosts}. Their numbers are the last Prometheus saw; check "
            "the exporter on those nodes (Prometheus drops such series after 5 minutes).",
            icon=":material/schedule:",
        )
    st.dataframe(readable(frame), hide_index=True, width="stretch")
    charts = st.columns(2)
    charts[0].plotly_chart(fleet_figure(frame, "utilization_percent", "GPU utilisation", "%"), width="stretch")
    memory = frame.assign(memory_gib=frame["memory_used_bytes"] / GIB)
    charts[1].plotly_chart(fleet_figure(memory, "memory_gib", "Memory used", "GiB"), width="stretch")
    window = st.segmented_control("History window", ["5 min", "1 h", "24 h"], default="5 min", key="fleet_window")
    metric = st.selectbox(
        "History of",
        list(HISTORY_METRICS),
        format_func=lambda key: {"utilization_percent": "utilisation", "temperature_c": "temperature",
                                 "power_w": "power draw"}[key],
        key="fleet_metric",
    )  # fmt: skip
    points = fleet_history(url, metric, WINDOWS[window or "5 min"], timeout)
    if not points.empty:
        column = HISTORY_METRICS[metric]
        traces = points.rename(columns={"hostname": "node", "value": column}).assign(
            ts=lambda f: pd.to_datetime(f["ts"], unit="s", utc=True)
        )
        gaps = points.sort_values("ts").groupby(["hostname", "gpu"])["ts"].diff().dropna()
        step = int(gaps.min()) if not gaps.empty else 1
        st.plotly_chart(history_figure(traces, column, max(step, 1)), width="stretch")
    st.caption(f"Read from {view.url} ({', '.join(view.sources)}).")


def readable(frame: pd.DataFrame) -> pd.DataFrame:
    """The fleet table with human units and names."""
    return pd.DataFrame(
        {
            "Node": frame["hostname"],
            "GPU": frame["gpu"],
            "Model": frame["name"],
            "Source": frame["source"],
            "Util %": frame["utilization_percent"].round(0),
            "Memory (GiB)": (frame["memory_used_bytes"] / GIB).round(1).astype(str)
            + " / "
            + (frame["memory_total_bytes"] / GIB).round(0).astype(str),
            "Memory %": frame["memory_percent"].round(0),
            "Temp °C": frame["temperature_c"],
            "Power W": frame["power_w"].round(0),
            "Throttled": frame["throttled"],
            "Scraped (s ago)": frame["age_seconds"].round(0),
        }
    )
