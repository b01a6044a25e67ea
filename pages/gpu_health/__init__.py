"""GPU health page: live tiles, history, processes, alerts, the capacity planner and the fleet view."""

from __future__ import annotations

from collections.abc import Callable

import streamlit as st

from lib.settings import load_settings_or_defaults
from pages.gpu_health.fleet import fleet_view
from pages.gpu_health.history import history_charts
from pages.gpu_health.live import alerts_panel, collector_line, live_tiles, processes_table
from pages.gpu_health.planner import capacity_planner
from pages.widgets.feedback import shows_errors


def render() -> None:
    st.title("GPU health")
    st.caption("Are the GPUs healthy, throttling or full, and will this model fit?")
    settings, problem = load_settings_or_defaults()
    if problem:
        st.warning(problem, icon=":material/warning:")
    with shows_errors("Reading the GPUs"):
        live_tiles(settings)
    with shows_errors("Reading the collector's state"):
        collector_line(settings)
    history_tab, processes_tab, alerts_tab, planner_tab, fleet_tab = st.tabs(
        ["History", "Processes", "Alerts", "Capacity planner", "Fleet (Prometheus)"]
    )
    with history_tab, shows_errors("Drawing the GPU history"):
        history_charts(settings)
    with processes_tab:
        live(processes_table, "Listing GPU processes", 5.0)
    with alerts_tab:
        live(lambda: alerts_panel(settings), "Listing GPU alerts", 5.0)
    with planner_tab, shows_errors("Planning capacity"):
        capacity_planner()
    with fleet_tab:
        # Its own fragment: a slow or unreachable Prometheus holds up this tab, not every click on the page.
        live(lambda: fleet_view(settings), "Reading the fleet from Prometheus", 15.0)


def live(draw: Callable[[], None], action: str, every: float) -> None:
    """Draw a section in a fragment that redraws itself every `every` seconds, failures shown in one sentence."""

    @st.fragment(run_every=every)
    def section() -> None:
        with shows_errors(action):
            draw()

    section()
