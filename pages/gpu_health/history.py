"""History charts over a chosen window, downsampled in the store, plus the data as CSV."""

from __future__ import annotations

import streamlit as st

from lib.gpu.figures import history_figure
from lib.gpu.history import METRICS, WINDOWS, history
from lib.gpu.source import SIMULATED_HOSTNAME
from lib.settings import Settings
from lib.store import open_store

DEFAULT_METRICS = ["gpu_util", "memory_used", "temperature", "power"]


def history_charts(settings: Settings) -> None:
    """Window and metric pickers, then one chart per metric (redrawn every few seconds)."""
    left, right = st.columns([2, 3])
    window = left.segmented_control("Window", list(WINDOWS), default="5 min", key="gpu_window") or "5 min"
    metrics = right.multiselect(
        "Metrics",
        list(METRICS),
        default=DEFAULT_METRICS,
        format_func=lambda key: METRICS[key][0],
        key="gpu_metrics",
    )
    refresh = 5.0 if WINDOWS[window] <= 3600 else 60.0

    @st.fragment(run_every=refresh)
    def charts() -> None:
        found = history(
            open_store(),
            WINDOWS[window],
            raw_hours=settings["retention.raw_hours"],
            sample_seconds=settings["gpu.sample_interval_seconds"],
        )
        if found.empty:
            st.info(
                f"No GPU samples in the last {window}. The collector writes them once a GPU (or the simulated "
                "node) is there.",
                icon=":material/timeline:",
            )
            return
        simulated = (found.frame["node"] == SIMULATED_HOSTNAME).any()
        st.caption(
            f"{len(found.frame):,} points from {found.source}, averaged per {found.step_seconds} s "
            f"(at most 2,000 per GPU and metric)."
        )
        for metric in metrics:
            st.plotly_chart(history_figure(found.frame, metric, found.step_seconds, simulated), width="stretch")
        st.download_button(
            "Download these points (CSV)",
            found.frame.to_csv(index=False).encode(),
            file_name=f"gpu-history-{window.replace(' ', '')}.csv",
            mime="text/csv",
            key="gpu_history_csv",
            icon=":material/download:",
        )

    charts()
