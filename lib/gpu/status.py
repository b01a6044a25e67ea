"""The GPU tile of the pit wall: the worst GPU verdict and its reason, from the store (no NVML)."""

from __future__ import annotations

import time

from lib.alerts import active_alerts
from lib.gpu.health import CRITICAL as GPU_CRITICAL
from lib.gpu.health import LOST_RULE, alerts_for, verdict
from lib.gpu.health import WARNING as GPU_WARNING
from lib.gpu.nvml import GpuReading
from lib.gpu.samples import latest_readings
from lib.gpu.source import SIMULATED_HOSTNAME
from lib.settings import Settings
from lib.status import CRITICAL, NO_DATA, OK, WARNING, AreaStatus
from lib.store import Store

TITLE = "GPU health"
FRESH_SECONDS = 120.0  # samples older than this are history, not the GPUs' state now
_STATES = {GPU_CRITICAL: CRITICAL, GPU_WARNING: WARNING}


def status(store: Store, settings: Settings, now: float | None = None) -> AreaStatus:
    """ok when every GPU sampled in the last two minutes is healthy; else the worst GPU and why."""
    now = time.time() if now is None else now
    readings = latest_readings(store, FRESH_SECONDS, now)
    active = active_alerts(store)
    # A GPU that stopped answering has no fresh sample; its firing alert keeps it on the tile.
    sampled = {(node, reading.index) for node, reading in readings}
    for alert in active:
        node, gpu = alert["labels"].get("node", ""), int(alert["labels"].get("gpu", -1))
        if alert["rule"] == LOST_RULE.name and alert["state"] == "firing" and (node, gpu) not in sampled:
            readings.append((node, GpuReading(gpu, lost=f"GPU {gpu} is not answering NVML")))
            sampled.add((node, gpu))
    if not readings:
        return AreaStatus(
            "gpu", TITLE, NO_DATA, "no recent samples",
            "No GPU sample in the last 2 minutes: no GPU here, or no collector running "
            "(switch on the simulated node under Demo data to try the page).",
        )  # fmt: skip
    judged = [
        (node, reading, verdict(reading, settings, alerts_for(active, node, reading.index)))
        for node, reading in readings
    ]
    unhealthy = [item for item in judged if item[2].state != "healthy"]
    simulated = " (simulated)" if any(node == SIMULATED_HOSTNAME for node, _r, _v in judged) else ""
    count = f"{len(judged)} GPU{'s' if len(judged) != 1 else ''}{simulated}"
    if not unhealthy:
        return AreaStatus("gpu", TITLE, OK, f"{count} healthy", "Every GPU within its limits.", now)
    worst = max(unhealthy, key=lambda item: (item[2].state == GPU_CRITICAL, -item[1].index))
    node, reading, found = worst
    return AreaStatus(
        "gpu", TITLE, _STATES[found.state], f"{len(unhealthy)} of {count} unhealthy",
        f"GPU {reading.index} on {node}: {found.headline}", now,
    )  # fmt: skip
