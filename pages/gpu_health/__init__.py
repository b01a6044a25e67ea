"""GPU health page: live NVML telemetry, alerts, capacity planning, fleet view (not built yet)."""

import streamlit as st

from pages.widgets.feedback import not_built_yet


def render() -> None:
    st.title("GPU health")
    st.caption("Are the GPUs healthy, throttling or full, and will this model fit?")
    not_built_yet(
        "GPU health",
        [
            "Live NVML metrics per GPU and per process: utilisation, memory, temperature, power, clocks, PCIe.",
            "Throttle (clock-event) reasons decoded, ECC errors and remapped rows.",
            "Alerts with thresholds, history kept by a background collector.",
            "A capacity planner: will this model, at this context length and batch, fit on these GPUs?",
            "A fleet view read from Prometheus (dcgm-exporter or Pitwall's own exporter).",
        ],
    )
