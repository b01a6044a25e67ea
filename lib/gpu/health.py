"""GPU health: the alert rules each GPU is held to, and a verdict (healthy, warning, critical) with its reasons.

The rules run on the shared alerts module, so they fire after their hold time, resolve past a
hysteresis band, land in the store and reach the webhook. The verdict on a tile is immediate: it
applies the same thresholds to the reading in hand, and adds whatever alert is firing for that GPU
(a power cap held for 30 s, an XID error in the last ten minutes), so tile and alert list agree.
"""

from __future__ import annotations

import time
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field

from lib.alerts import AlertRule, Observation, evaluate
from lib.alerts.engine import AlertEvent
from lib.alerts.notifiers import Notifier
from lib.gpu.nvml import GpuReading
from lib.settings import Settings
from lib.store import Store

HEALTHY, WARNING, CRITICAL = "healthy", "warning", "critical"
_RANK = {HEALTHY: 0, WARNING: 1, CRITICAL: 2}
# Throttle reasons that mean hardware protecting itself, not a policy: critical rather than warning.
HARDWARE_SLOWDOWN = 0x8 | 0x40 | 0x80
XID_WINDOW_SECONDS = 600  # an XID error keeps its GPU critical (and its alert firing) this long
RULE_PREFIX = "gpu-"


@dataclass(frozen=True)
class HealthCheck:
    """An alert rule and how to measure its metric from a reading (None: cannot tell)."""

    rule: AlertRule
    measure: Callable[[GpuReading], float | None]


@dataclass
class Verdict:
    """A GPU's health now: the worst state found, and every reason, worst first."""

    state: str = HEALTHY
    reasons: list[str] = field(default_factory=list)
    _criticals: int = 0

    def add(self, state: str, reason: str) -> None:
        """Note a finding; the verdict is the worst of them, and critical reasons come first."""
        if reason in self.reasons:
            return
        if _RANK[state] > _RANK[self.state]:
            self.state = state
        if state == CRITICAL:
            self.reasons.insert(self._criticals, reason)
            self._criticals += 1
        else:
            self.reasons.append(reason)

    @property
    def headline(self) -> str:
        """The first reason, or "healthy"."""
        return self.reasons[0] if self.reasons else "healthy"

    def to_dict(self) -> dict:
        return {"state": self.state, "reasons": list(self.reasons)}


def checks(settings: Settings) -> list[HealthCheck]:
    """The GPU rules, with thresholds from settings."""
    warn, critical = settings["gpu.memory_warning_percent"], settings["gpu.memory_critical_percent"]
    margin = settings["gpu.temperature_margin_c"]
    where = "GPU {gpu} on {node}"
    return [
        HealthCheck(
            AlertRule(f"{RULE_PREFIX}memory", "memory_percent", ">", warn, 0, "warning", warn - 5,
                      f"{where}: memory used (%)"),
            lambda r: r.memory_percent,
        ),
        HealthCheck(
            AlertRule(f"{RULE_PREFIX}memory-critical", "memory_percent", ">", critical, 0, "critical",
                      critical - 2, f"{where}: memory used (%)"),
            lambda r: r.memory_percent,
        ),
        HealthCheck(
            AlertRule(f"{RULE_PREFIX}temperature", "temperature_headroom_c", "<", margin, 0, "warning", margin + 2,
                      f"{where}: degrees below its slowdown temperature"),
            temperature_headroom,
        ),
        HealthCheck(
            AlertRule(f"{RULE_PREFIX}throttle", "throttled", ">", 0.5, 5, "warning", 0.5,
                      f"{where}: clocks held back (1 = throttling)"),
            lambda r: None if r.clock_event_reasons is None else float(bool(r.throttle_reasons)),
        ),
        HealthCheck(
            AlertRule(f"{RULE_PREFIX}hw-slowdown", "hw_slowdown", ">", 0.5, 0, "critical", 0.5,
                      f"{where}: hardware slowdown, thermal or power brake (1 = on)"),
            hardware_slowdown,
        ),
        HealthCheck(
            AlertRule(f"{RULE_PREFIX}ecc", "ecc_uncorrected", ">", 0, 0, "critical", 0,
                      f"{where}: uncorrected ECC errors since the driver loaded"),
            lambda r: None if r.ecc_volatile_uncorrected is None else float(r.ecc_volatile_uncorrected),
        ),
        HealthCheck(
            AlertRule(f"{RULE_PREFIX}power-cap", "power_percent_of_limit", ">=", 98, settings["gpu.power_cap_seconds"],
                      "warning", 95, f"{where}: power draw (% of its limit)"),
            power_percent,
        ),
    ]  # fmt: skip


XID_RULE = AlertRule(
    f"{RULE_PREFIX}xid", "xid", ">", 0, 0, "critical", 0, "GPU {gpu} on {node}: XID error code in the last 10 min"
)
# XIDs an application causes (a bad kernel, an illegal address, a stopped channel): its own crash, not the
# GPU's health, so they warn. Every other XID (ECC, fallen off the bus, NVLink, GSP) is critical.
APPLICATION_XIDS = frozenset({13, 31, 43, 45})
APP_XID_RULE = AlertRule(
    f"{RULE_PREFIX}xid-application", "xid", ">", 0, 0, "warning", 0,
    "GPU {gpu} on {node}: application XID error code in the last 10 min",
)  # fmt: skip
LOST_RULE = AlertRule(
    f"{RULE_PREFIX}lost", "lost", ">", 0.5, 0, "critical", 0.5, "GPU {gpu} on {node}: not answering NVML (1 = lost)"
)


def temperature_headroom(reading: GpuReading) -> float | None:
    """Degrees left before the GPU's slowdown temperature."""
    if reading.temperature_c is None or reading.temperature_slowdown_c is None:
        return None
    return reading.temperature_slowdown_c - reading.temperature_c


def hardware_slowdown(reading: GpuReading) -> float | None:
    """1 while the hardware slows the GPU down (HW slowdown, HW thermal, power brake), else 0."""
    if reading.clock_event_reasons is None:
        return None
    return float(bool(reading.clock_event_reasons & HARDWARE_SLOWDOWN))


def power_percent(reading: GpuReading) -> float | None:
    """Power draw as a percentage of the enforced limit."""
    if reading.power_w is None or not reading.power_limit_w:
        return None
    return 100.0 * reading.power_w / reading.power_limit_w


def verdict(reading: GpuReading, settings: Settings, firing: Iterable[dict] = ()) -> Verdict:
    """The GPU's health from this reading and the alerts firing for it (rows of `active_alerts`)."""
    found = Verdict()
    if reading.lost:
        found.add(CRITICAL, reading.lost)
        return found
    memory = reading.memory_percent
    if memory is not None and memory > settings["gpu.memory_critical_percent"]:
        found.add(CRITICAL, f"memory {memory:.0f}% full")
    elif memory is not None and memory > settings["gpu.memory_warning_percent"]:
        found.add(WARNING, f"memory {memory:.0f}% full")
    headroom = temperature_headroom(reading)
    if headroom is not None and headroom < settings["gpu.temperature_margin_c"]:
        found.add(WARNING, f"{reading.temperature_c:.0f} °C, {max(headroom, 0):.0f} °C below slowdown")
    if reading.throttle_reasons:
        hardware = (reading.clock_event_reasons or 0) & HARDWARE_SLOWDOWN
        found.add(CRITICAL if hardware else WARNING, "throttling: " + ", ".join(reading.throttle_reasons))
    if reading.ecc_volatile_uncorrected:
        found.add(CRITICAL, f"{reading.ecc_volatile_uncorrected} uncorrected ECC error(s)")
    if reading.remapped_rows_failed:
        found.add(CRITICAL, "row remapping failed: the GPU needs service")
    elif reading.remapped_rows_pending:
        found.add(WARNING, "row remap pending: reset the GPU when it is idle")
    # Sustained conditions only an alert knows about (the reading in hand shows the instant ones above).
    for alert in firing:
        if alert.get("state") != "firing":
            continue
        rule = alert["rule"].removeprefix(RULE_PREFIX)
        if rule == "lost":
            found.add(CRITICAL, "not answering NVML")
        elif rule == "xid":
            found.add(CRITICAL, f"XID {alert['value']:.0f} error in the last 10 min")
        elif rule == "xid-application":
            found.add(WARNING, f"application XID {alert['value']:.0f} in the last 10 min")
        elif rule == "power-cap":
            found.add(WARNING, f"at its power cap ({alert['value']:.0f}% of the limit)")
    return found


def alerts_for(active: Iterable[dict], node: str, gpu: int) -> list[dict]:
    """The GPU rules' alerts (from `active_alerts`) of one GPU."""
    return [
        alert
        for alert in active
        if alert["rule"].startswith(RULE_PREFIX)
        and alert["labels"].get("node") == node
        and alert["labels"].get("gpu") == str(gpu)
    ]


def evaluate_rules(
    store: Store,
    settings: Settings,
    readings: list[tuple[str, GpuReading]],
    xids: dict[tuple[str, int], tuple[int, float]],
    now: float | None = None,
    notifiers: list[Notifier] | None = None,
    in_background: bool = False,
) -> list[AlertEvent]:
    """Feed every GPU rule this moment's readings (node, reading); return the alerts that fired or resolved."""
    now = time.time() if now is None else now
    events: list[AlertEvent] = []

    def judge(rule: AlertRule, observations: list[Observation]) -> None:
        events.extend(evaluate(store, rule, observations, now, notifiers, in_background))

    for check in checks(settings):
        measured = [(node, reading, check.measure(reading)) for node, reading in readings if not reading.lost]
        judge(
            check.rule,
            [Observation(_labels(node, reading), value) for node, reading, value in measured if value is not None],
        )
    for rule, wanted in ((XID_RULE, False), (APP_XID_RULE, True)):
        latest = {key: float(xid) for key, (xid, _at) in xids.items() if (xid in APPLICATION_XIDS) == wanted}
        judge(rule, [Observation(_labels(node, r), latest.get((node, r.index), 0.0)) for node, r in readings])
    judge(LOST_RULE, [Observation(_labels(node, r), 1.0 if r.lost else 0.0) for node, r in readings])
    return events


def _labels(node: str, reading: GpuReading) -> dict[str, str]:
    return {"node": node, "gpu": str(reading.index)}
