"""The fleet view's reader: every node's GPUs from a Prometheus server (queried through `lib.promql`).

Prometheus already gathers many nodes; this module asks it, in PromQL, for the series of Pitwall's own
exporter (`pitwall_gpu_*`, see `lib.gpu.exporter`) and of NVIDIA's dcgm-exporter (`DCGM_FI_DEV_*`),
and merges both into one row per (hostname, gpu). All the fleet's current values come from a single
instant query (a regular expression over `__name__`), so a page refresh is one HTTP request.
"""

from __future__ import annotations

import math
import time
from dataclasses import asdict, dataclass, field
from typing import Any

import pandas as pd

from lib.errors import InputError
from lib.gpu.nvml import BENIGN_CLOCK_EVENTS
from lib.promql import Series, query, query_range
from lib.urls import display_url

MIB = 1024**2

# Pitwall exporter name -> FleetGpu field.
PITWALL_FIELDS: dict[str, str] = {
    "pitwall_gpu_up": "up",
    "pitwall_gpu_utilization_percent": "utilization_percent",
    "pitwall_gpu_memory_used_bytes": "memory_used_bytes",
    "pitwall_gpu_memory_total_bytes": "memory_total_bytes",
    "pitwall_gpu_temperature_celsius": "temperature_c",
    "pitwall_gpu_temperature_slowdown_celsius": "temperature_slowdown_c",
    "pitwall_gpu_power_watts": "power_w",
    "pitwall_gpu_power_limit_watts": "power_limit_w",
    "pitwall_gpu_throttled": "throttled",
}
# dcgm-exporter name -> the field it feeds (memory in MiB; total = used + free + reserved, the way DCGM splits it).
# The default dcgm-exporter set has the first five; the others are read when a site's field list adds them.
DCGM_FIELDS: dict[str, str] = {
    "DCGM_FI_DEV_GPU_UTIL": "utilization_percent",
    "DCGM_FI_DEV_FB_USED": "fb_used_mib",
    "DCGM_FI_DEV_FB_FREE": "fb_free_mib",
    "DCGM_FI_DEV_GPU_TEMP": "temperature_c",
    "DCGM_FI_DEV_POWER_USAGE": "power_w",
    "DCGM_FI_DEV_FB_RESERVED": "fb_reserved_mib",
    "DCGM_FI_DEV_POWER_MGMT_LIMIT": "power_limit_w",
    "DCGM_FI_DEV_SLOWDOWN_TEMP": "temperature_slowdown_c",
    "DCGM_FI_DEV_CLOCK_THROTTLE_REASONS": "clock_event_reasons",  # renamed in DCGM 3.3:
    "DCGM_FI_DEV_CLOCKS_EVENT_REASONS": "clock_event_reasons",
}
# fleet_history's metrics: FleetGpu field -> (pitwall name, dcgm name, factor turning dcgm's unit into ours).
HISTORY_METRICS: dict[str, tuple[str, str, float]] = {
    "utilization_percent": ("pitwall_gpu_utilization_percent", "DCGM_FI_DEV_GPU_UTIL", 1.0),
    "memory_used_bytes": ("pitwall_gpu_memory_used_bytes", "DCGM_FI_DEV_FB_USED", float(MIB)),
    "temperature_c": ("pitwall_gpu_temperature_celsius", "DCGM_FI_DEV_GPU_TEMP", 1.0),
    "power_w": ("pitwall_gpu_power_watts", "DCGM_FI_DEV_POWER_USAGE", 1.0),
}
HISTORY_COLUMNS = ["ts", "hostname", "gpu", "value"]
FRAME_COLUMNS = [
    "hostname",
    "gpu",
    "name",
    "uuid",
    "source",
    "up",
    "utilization_percent",
    "memory_used_bytes",
    "memory_total_bytes",
    "memory_percent",
    "temperature_c",
    "temperature_slowdown_c",
    "power_w",
    "power_limit_w",
    "throttled",
    "age_seconds",
]


# -- the fleet -------------------------------------------------------------------------------------


@dataclass
class FleetGpu:
    """One GPU of the fleet as Prometheus last saw it; a measurement its exporter does not send is None."""

    hostname: str
    gpu: str
    uuid: str | None = None
    name: str | None = None
    source: str = "pitwall"  # pitwall | dcgm: whose series it was read from (pitwall's when both)
    utilization_percent: float | None = None
    memory_used_bytes: float | None = None
    memory_total_bytes: float | None = None
    temperature_c: float | None = None
    power_w: float | None = None
    power_limit_w: float | None = None
    temperature_slowdown_c: float | None = None
    throttled: bool | None = None
    up: bool | None = None  # pitwall's exporter says False for a GPU that fell off the bus; dcgm does not say
    age_seconds: float | None = None  # since Prometheus last scraped it (it keeps a vanished series ~5 min)

    @property
    def memory_percent(self) -> float | None:
        """Memory used as a percentage of total."""
        if not self.memory_total_bytes or self.memory_used_bytes is None:
            return None
        return 100.0 * self.memory_used_bytes / self.memory_total_bytes

    def to_dict(self) -> dict:
        """The GPU as plain data, with its memory percentage."""
        return {**asdict(self), "memory_percent": self.memory_percent}


@dataclass
class FleetView:
    """Every GPU a Prometheus server knows of, at one moment."""

    url: str  # display form: scheme, host and port only
    queried_at: float
    gpus: list[FleetGpu] = field(default_factory=list)
    sources: list[str] = field(default_factory=list)  # which exporters answered: pitwall, dcgm

    @property
    def hostnames(self) -> list[str]:
        """The fleet's hosts, sorted."""
        return sorted({gpu.hostname for gpu in self.gpus})

    @property
    def hosts(self) -> int:
        """How many hosts the fleet has."""
        return len(self.hostnames)

    @property
    def empty_message(self) -> str:
        """What to say when Prometheus answered but has no GPU series."""
        return f"Prometheus at {self.url} has no GPU series from pitwall's exporter or dcgm-exporter."

    def to_dict(self) -> dict:
        """The `--json` shape."""
        return {
            "url": self.url,
            "queried_at": self.queried_at,
            "hosts": self.hosts,
            "sources": list(self.sources),
            "gpus": [gpu.to_dict() for gpu in self.gpus],
        }

    def frame(self) -> pd.DataFrame:
        """One row per GPU, in fleet order."""
        return pd.DataFrame([gpu.to_dict() for gpu in self.gpus], columns=FRAME_COLUMNS)


# One per-GPU series of each exporter, whose sample time is the GPU's last scrape.
AGE_SERIES = ("pitwall_gpu_up", "DCGM_FI_DEV_GPU_TEMP")


def fleet_selector() -> str:
    """One PromQL selector for every series the fleet view reads, of both exporters."""
    names = "|".join([*PITWALL_FIELDS, *DCGM_FIELDS])
    return f'{{__name__=~"{names}"}}'


def read_fleet(url: str, timeout: float = 5.0) -> FleetView:
    """Every GPU Prometheus at `url` has series for now, from pitwall's exporter and dcgm-exporter."""
    queried_at = time.time()
    series = query(url, fleet_selector(), timeout)
    gpus = fleet_from_series(series)
    # Prometheus answers with a series' last value for five minutes after its exporter went away; each
    # GPU's age tells a node that stopped reporting from one that is current.
    ages: dict[tuple[str, str], float] = {}
    for labels, age in query(url, f'time() - timestamp({{__name__=~"{"|".join(AGE_SERIES)}"}})', timeout):
        key = series_key(labels)
        if key is not None and math.isfinite(age):
            ages[key] = min(age, ages.get(key, age))
    for gpu in gpus:
        gpu.age_seconds = ages.get((gpu.hostname, gpu.gpu))
    sources = sorted({gpu.source for gpu in gpus}, key=["pitwall", "dcgm"].index)
    return FleetView(display_url(url), queried_at, gpus, sources)


def series_key(labels: dict[str, str]) -> tuple[str, str] | None:
    """(hostname, gpu) of a series: `hostname`, dcgm's `Hostname`, else the scrape's `instance`; None without `gpu`."""
    gpu = labels.get("gpu")
    if gpu is None or gpu == "":
        return None
    host = labels.get("hostname") or labels.get("Hostname") or labels.get("instance") or "unknown"
    return host, gpu


def fleet_from_series(series: Series) -> list[FleetGpu]:
    """Merge instant-query series of both naming schemes into one FleetGpu per (hostname, gpu), sorted."""
    # (hostname, gpu) -> source -> {"uuid", "name" and each field it sent}
    found: dict[tuple[str, str], dict[str, dict[str, Any]]] = {}
    for labels, value in series:
        metric = labels.get("__name__", "")
        key = series_key(labels)
        if key is None or not (metric in PITWALL_FIELDS or metric in DCGM_FIELDS):
            continue
        pitwall = metric in PITWALL_FIELDS
        source = "pitwall" if pitwall else "dcgm"
        fields = found.setdefault(key, {}).setdefault(source, {})
        uuid = labels.get("uuid" if pitwall else "UUID")
        name = labels.get("name" if pitwall else "modelName")
        fields["uuid"] = fields.get("uuid") or uuid or None
        fields["name"] = fields.get("name") or name or None
        if math.isfinite(value):  # NaN means "no value", as a missing series does
            fields[(PITWALL_FIELDS if pitwall else DCGM_FIELDS)[metric]] = value
    gpus = [_fleet_gpu(host, gpu, sources) for (host, gpu), sources in found.items()]
    return sorted(gpus, key=lambda gpu: (gpu.hostname, *_gpu_order(gpu.gpu)))


def _gpu_order(gpu: str) -> tuple[int, str]:
    return (int(gpu), "") if gpu.isdigit() else (1 << 30, gpu)


def _fleet_gpu(hostname: str, gpu: str, sources: dict[str, dict[str, Any]]) -> FleetGpu:
    """One GPU from what each exporter sent; pitwall's values first, dcgm's filling the gaps."""
    pitwall, dcgm = sources.get("pitwall", {}), _from_dcgm(sources.get("dcgm", {}))
    merged = {**{k: v for k, v in dcgm.items() if v is not None}, **{k: v for k, v in pitwall.items() if v is not None}}
    for flag in ("throttled", "up"):
        if merged.get(flag) is not None:
            merged[flag] = bool(merged[flag])
    known = {name for name in FleetGpu.__dataclass_fields__ if name not in ("hostname", "gpu", "source")}
    return FleetGpu(
        hostname=hostname,
        gpu=gpu,
        source="pitwall" if pitwall else "dcgm",
        **{name: value for name, value in merged.items() if name in known},
    )


def _from_dcgm(fields: dict[str, Any]) -> dict[str, Any]:
    """dcgm-exporter's fields in FleetGpu's units: MiB to bytes, the clock-event mask to `throttled`."""
    out = {k: v for k, v in fields.items() if not k.startswith("fb_") and k != "clock_event_reasons"}
    used, free = fields.get("fb_used_mib"), fields.get("fb_free_mib")
    if used is not None:
        out["memory_used_bytes"] = used * MIB
        if free is not None:
            out["memory_total_bytes"] = (used + free + fields.get("fb_reserved_mib", 0.0)) * MIB
    mask = fields.get("clock_event_reasons")
    if mask is not None:
        out["throttled"] = bool(int(mask) & ~BENIGN_CLOCK_EVENTS)
    return out


def history_step(window_seconds: float, max_points: int) -> float:
    """The range query step that gives at most `max_points` points per series, never under one second."""
    return max(1.0, math.ceil(window_seconds / max(1, max_points - 1)))


def fleet_history(
    url: str, metric: str, window_seconds: float, timeout: float = 5.0, max_points: int = 2000
) -> pd.DataFrame:
    """One fleet metric over the last `window_seconds`: columns ts (unix seconds), hostname, gpu, value."""
    if metric not in HISTORY_METRICS:
        choices = ", ".join(HISTORY_METRICS)
        raise InputError(f"The fleet has no history of {metric!r}; choose one of {choices}.")
    pitwall_name, dcgm_name, factor = HISTORY_METRICS[metric]
    step = history_step(window_seconds, max_points)
    end = time.time()
    # Prometheus evaluates at start, start + step, ...: counting back from now keeps the newest value in.
    start = end - step * math.floor(window_seconds / step)
    series = query_range(url, f'{{__name__=~"{pitwall_name}|{dcgm_name}"}}', start, end, step, timeout)
    # A node with both exporters is drawn once, from pitwall's series (as read_fleet does).
    pitwall_keys = {series_key(labels) for labels, _ in series if labels.get("__name__") == pitwall_name}
    rows = []
    for labels, points in series:
        key = series_key(labels)
        is_pitwall = labels.get("__name__") == pitwall_name
        if key is None or (not is_pitwall and key in pitwall_keys):
            continue
        scale = 1.0 if is_pitwall else factor
        rows.extend((at, key[0], key[1], value * scale) for at, value in points if math.isfinite(value))
    frame = pd.DataFrame(rows, columns=HISTORY_COLUMNS)
    order = frame["gpu"].map(lambda gpu: _gpu_order(gpu)[0])
    return (
        frame.assign(_order=order)
        .sort_values(["hostname", "_order", "gpu", "ts"])
        .drop(columns="_order")
        .reset_index(drop=True)
    )


# -- text ------------------------------------------------------------------------------------------


def fleet_text(view: FleetView) -> str:
    """A compact table of the fleet for the terminal."""
    if not view.gpus:
        return view.empty_message
    plural = "GPU" if len(view.gpus) == 1 else "GPUs"
    hosts = "host" if view.hosts == 1 else "hosts"
    lines = [
        f"{len(view.gpus)} {plural} on {view.hosts} {hosts} from Prometheus at {view.url} ({', '.join(view.sources)})"
    ]
    rows = [("HOST", "GPU", "NAME", "UTIL", "MEMORY", "TEMP", "POWER", "STATE", "SOURCE")]
    rows += [
        (
            gpu.hostname,
            gpu.gpu,
            gpu.name or "-",
            _fmt(gpu.utilization_percent, "{:.0f}%"),
            _memory(gpu),
            _fmt(gpu.temperature_c, "{:.0f} C"),
            _power(gpu),
            _state(gpu),
            gpu.source,
        )
        for gpu in view.gpus
    ]
    widths = [max(len(row[column]) for row in rows) for column in range(len(rows[0]))]
    lines += ["  ".join(cell.ljust(width) for cell, width in zip(row, widths, strict=True)).rstrip() for row in rows]
    return "\n".join(lines)


def _fmt(value: float | None, pattern: str) -> str:
    return "-" if value is None else pattern.format(value)


def _memory(gpu: FleetGpu) -> str:
    if gpu.memory_used_bytes is None:
        return "-"
    used = gpu.memory_used_bytes / 1024**3
    if not gpu.memory_total_bytes:
        return f"{used:.1f} GiB"
    return f"{used:.1f}/{gpu.memory_total_bytes / 1024**3:.1f} GiB ({gpu.memory_percent:.0f}%)"


def _power(gpu: FleetGpu) -> str:
    if gpu.power_w is None:
        return "-"
    return f"{gpu.power_w:.0f}/{gpu.power_limit_w:.0f} W" if gpu.power_limit_w else f"{gpu.power_w:.0f} W"


def _state(gpu: FleetGpu) -> str:
    if gpu.up is False:
        return "lost"
    if gpu.throttled:
        return "throttled"
    return "ok" if gpu.throttled is False or gpu.up else "-"
