"""Live GPU tiles (a fragment that rereads NVML), the collector's state, processes and alerts."""

from __future__ import annotations

import time

import pandas as pd
import streamlit as st

from lib.alerts import active_alerts, alert_history
from lib.gpu.collector import collector_state, server_collector_running
from lib.gpu.health import CRITICAL, HEALTHY, RULE_PREFIX, Verdict, alerts_for, verdict
from lib.gpu.nvml import GpuReading, Snapshot
from lib.gpu.source import read_snapshot
from lib.settings import Settings
from lib.status import ago
from lib.store import open_store
from pages.widgets.alerts import active_alerts_table, alert_events_table
from pages.widgets.feedback import shows_errors

GIB = 1024**3
TILES_PER_ROW = 4
BADGES = {
    HEALTHY: ":green-badge[:material/check_circle: healthy]",
    "warning": ":orange-badge[:material/warning: warning]",
    CRITICAL: ":red-badge[:material/error: critical]",
}
SIMULATED_BADGE = ":violet-badge[:material/science: simulated]"
NO_GPU_HELP = (
    "Without a GPU here, this page still offers the **capacity planner** and the **fleet view** (below). "
    "To see the page at work, switch on the simulated node on the Overview, under *Demo data* "
    "(or run `python -m lib gpu simulate on`)."
)


def live_tiles(settings: Settings) -> None:
    """One tile per GPU, redrawn every sample interval (at least a second) without rerunning the page."""
    every = max(1.0, float(settings["gpu.sample_interval_seconds"]))

    @st.fragment(run_every=every)
    def tiles() -> None:
        with shows_errors("Reading the GPUs"):
            snapshot = read_snapshot(with_processes=False)
            st.session_state["gpu_simulated"] = snapshot.simulated
            if not snapshot.gpus:
                st.info(f"**No GPU to show.** {snapshot.reason}.\n\n{NO_GPU_HELP}", icon=":material/memory:")
                return
            _tiles(snapshot, settings)

    tiles()


def _tiles(snapshot: Snapshot, settings: Settings) -> None:
    if snapshot.simulated:
        st.warning(
            f"**Simulated node.** {snapshot.reason or 'No real GPU here'}, so these tiles show four simulated "
            "GPUs (load, throttling, an ECC error and an XID error on cue). Switch it off on the Overview.",
            icon=":material/science:",
        )
    active = active_alerts(open_store())
    st.caption(
        f"{snapshot.hostname} · driver {snapshot.driver or 'unknown'} · {len(snapshot.gpus)} GPU(s) · "
        f"read {time.strftime('%H:%M:%S', time.localtime(snapshot.taken_at))}"
    )
    for start in range(0, len(snapshot.gpus), TILES_PER_ROW):
        columns = st.columns(TILES_PER_ROW)
        for column, reading in zip(columns, snapshot.gpus[start : start + TILES_PER_ROW], strict=False):
            found = verdict(reading, settings, alerts_for(active, snapshot.hostname, reading.index))
            with column:
                gpu_tile(reading, found, snapshot.simulated)


def gpu_tile(reading: GpuReading, found: Verdict, simulated: bool) -> None:
    """A bordered tile: verdict, memory bar, utilisation, temperature, power, clocks, reasons."""
    with st.container(border=True):
        label = f" {SIMULATED_BADGE}" if simulated else ""
        st.markdown(f"**GPU {reading.index}** · {reading.name or 'unknown model'} &nbsp; {BADGES[found.state]}{label}")
        if reading.lost:
            st.error(reading.lost, icon=":material/link_off:")
            return
        st.caption(found.headline if found.state != HEALTHY else "within every limit")
        memory = reading.memory_percent
        if memory is not None:
            used, total = reading.memory_used_bytes / GIB, reading.memory_total_bytes / GIB
            st.progress(min(1.0, memory / 100), text=f"Memory {used:.1f} / {total:.0f} GiB ({memory:.0f}%)")
        else:
            st.caption("Memory: not available")
        # Short labels and values: four metrics share a quarter of the page width.
        left, right = st.columns(2)
        left.metric("Utilisation", _number(reading.gpu_util_percent, "%"))
        right.metric(
            "Temp.",
            _number(reading.temperature_c, " °C"),
            help=f"Slows down at {_number(reading.temperature_slowdown_c, ' °C')}",
        )
        left.metric("Power", _number(reading.power_w, " W"), help=f"Limit {_number(reading.power_limit_w, ' W')}")
        right.metric(
            "SM MHz",
            _number(reading.sm_clock_mhz, ""),
            help=f"SM clock; max {_number(reading.sm_clock_max_mhz, ' MHz')}. Memory clock "
            f"{_number(reading.memory_clock_mhz, ' MHz')} of {_number(reading.memory_clock_max_mhz, ' MHz')}",
        )
        details = [
            f"P{reading.pstate}" if reading.pstate is not None else None,
            f"ECC {'on' if reading.ecc_enabled else 'off'}" if reading.ecc_enabled is not None else None,
            "MIG on" if reading.mig_enabled else None,
            f"fan {reading.fan_percent:.0f}%" if reading.fan_percent is not None else None,
            f"PCIe ↑{reading.pcie_tx_bytes_per_s / 1e6:.0f} ↓{reading.pcie_rx_bytes_per_s / 1e6:.0f} MB/s"
            if reading.pcie_tx_bytes_per_s is not None and reading.pcie_rx_bytes_per_s is not None
            else None,
        ]
        st.caption(" · ".join(item for item in details if item))
        if reading.clock_event_names:
            st.caption("Clock events: " + ", ".join(reading.clock_event_names))
        for reason in found.reasons[1:]:
            st.caption(f"Also: {reason}")
        if reading.unavailable:
            missing = ", ".join(
                f"{name.removesuffix('_percent').replace('_', ' ')} ({why})"
                for name, why in reading.unavailable.items()
            )
            st.caption(f"Not available: {missing}")


def _number(value: float | None, unit: str) -> str:
    return "n/a" if value is None else f"{value:,.0f}{unit}"


def collector_line(settings: Settings) -> None:
    """Who writes the history, how often, and how fresh it is; a warning when nobody does."""
    state = collector_state(open_store())
    if state.running:
        st.caption(
            f":material/history: History collected by the {state.origin or 'collector'} every "
            f"{state.interval_seconds:g} s since {time.strftime('%H:%M:%S', time.localtime(state.since))}; "
            f"last sample {ago(state.last_sample_at)}."
        )
    elif server_collector_running():
        st.caption(
            ":material/history: This server's collector is waiting for a GPU; history starts with the first "
            f"one it finds (last sample {ago(state.last_sample_at)})."
        )
    elif settings["gpu.collect_in_server"]:
        st.caption(
            ":material/history: No collector is running (it starts with the server); "
            f"last sample {ago(state.last_sample_at)}."
        )
    else:
        st.caption(
            ":material/history: The server does not collect (gpu.collect_in_server is off) and no "
            "`python -m lib gpu collect` is running, so no history or alerts are recorded."
        )


def processes_table() -> None:
    """GPU processes now; a name NVML's PID cannot be resolved to is shown as unknown, not hidden."""
    snapshot = read_snapshot(with_processes=True)
    if not snapshot.gpus:
        st.caption("No GPU, so no GPU processes.")
        return
    if snapshot.processes_unavailable:
        st.warning(f"Some processes could not be listed: {snapshot.processes_unavailable}.", icon=":material/warning:")
    if not snapshot.processes:
        if not snapshot.processes_unavailable:
            st.caption("No process is using a GPU.")
        return
    frame = pd.DataFrame(
        {
            "GPU": process.gpu_index,
            "PID": process.pid,
            "Process": process.name or "unknown (other PID namespace)",
            "User": process.user or "unknown",
            "GPU memory (GiB)": None if process.used_memory_bytes is None else process.used_memory_bytes / GIB,
            "Type": process.kind,
        }
        for process in snapshot.processes
    )
    if snapshot.simulated:
        st.caption(f"{SIMULATED_BADGE} processes of the simulated node.")
    st.dataframe(
        frame,
        hide_index=True,
        width="stretch",
        column_config={"GPU memory (GiB)": st.column_config.NumberColumn(format="%.1f")},
    )
    if frame["Process"].str.startswith("unknown").any():
        st.caption(
            "NVML reports host PIDs; inside a container without the host's PID namespace their names and users "
            "cannot be read, so they show as unknown."
        )


def alerts_panel(settings: Settings) -> None:
    """The GPU rules' alerts firing or pending now, and their recent history."""
    store = open_store()
    active = [alert for alert in active_alerts(store) if alert["rule"].startswith(RULE_PREFIX)]
    st.markdown("**Now**")
    if active:
        active_alerts_table(active)
    else:
        st.caption("No GPU alert is pending or firing.")
    events = alert_history(store, 200, rule_prefix=RULE_PREFIX)
    st.markdown("**History**")
    if events:
        alert_events_table(events)
    else:
        st.caption("No GPU alert has fired yet.")
    st.caption(
        f"Rules: memory above {settings['gpu.memory_warning_percent']:g}% (warning) and "
        f"{settings['gpu.memory_critical_percent']:g}% (critical); within {settings['gpu.temperature_margin_c']:g} °C "
        "of the slowdown temperature; any throttle reason other than idle or application clocks for 5 s; "
        "uncorrected ECC errors; an XID error in the last 10 minutes; at least 98% of the power limit for "
        f"{settings['gpu.power_cap_seconds']:g} s. Thresholds are settings; alerts reach the webhook "
        "set on the Overview. vLLM takes 90% of GPU memory by default (gpu_memory_utilization 0.9): on "
        "vLLM nodes, set gpu.memory_warning_percent to 95 so a healthy server does not warn."
    )
