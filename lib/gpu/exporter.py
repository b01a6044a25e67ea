"""Pitwall's Prometheus exporter: this machine's GPUs as `/metrics`, one NVML snapshot per scrape.

The collector reads the GPUs when Prometheus asks, not on a timer, so a scrape is never older than the
scrape itself (as node_exporter and dcgm-exporter do). Names follow Prometheus conventions: the
`pitwall_gpu_` prefix, the unit as suffix in base units (bytes, celsius, watts, joules, hertz) and
`_total` on counters. Every per-GPU series carries `gpu` (the index), `uuid`, `hostname`, `name` (the
model) and `simulated`; a field NVML cannot give for a GPU is left out for that GPU, never sent as 0.
"""

from __future__ import annotations

import errno
import logging
import threading
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from wsgiref.simple_server import WSGIServer

from prometheus_client import CollectorRegistry, generate_latest, start_http_server
from prometheus_client.metrics_core import CounterMetricFamily, GaugeMetricFamily, Metric

from lib.errors import PitwallError
from lib.gpu.nvml import GpuReading, NvmlReader, Snapshot

log = logging.getLogger("pitwall.gpu")

LABELS = ("gpu", "uuid", "hostname", "name", "simulated")
MHZ = 1_000_000.0


@dataclass(frozen=True)
class GpuMetric:
    """One per-GPU series: its name (unit included), HELP text, type and how to read it from a reading."""

    name: str
    help: str
    read: Callable[[GpuReading], float | int | bool | None]
    counter: bool = False


def _times(value: float | None, factor: float) -> float | None:
    return None if value is None else value * factor


def _throttled(gpu: GpuReading) -> int | None:
    # Without the clock-event reasons we cannot tell, and "not throttled" would be a guess.
    return None if gpu.clock_event_reasons is None else int(bool(gpu.throttle_reasons))


GPU_METRICS: tuple[GpuMetric, ...] = (
    GpuMetric(
        "pitwall_gpu_memory_used_bytes", "GPU memory used by processes, in bytes.", lambda g: g.memory_used_bytes
    ),
    GpuMetric("pitwall_gpu_memory_total_bytes", "GPU memory installed, in bytes.", lambda g: g.memory_total_bytes),
    GpuMetric(
        "pitwall_gpu_memory_free_bytes",
        "GPU memory free for processes (total minus used and reserved), in bytes.",
        lambda g: g.memory_free_bytes,
    ),
    GpuMetric(
        "pitwall_gpu_memory_reserved_bytes",
        "GPU memory reserved by the driver and firmware, in bytes.",
        lambda g: g.memory_reserved_bytes,
    ),
    GpuMetric(
        "pitwall_gpu_utilization_percent",
        "Percent of the last sample period in which a kernel ran on the GPU.",
        lambda g: g.gpu_util_percent,
    ),
    GpuMetric(
        "pitwall_gpu_memory_utilization_percent",
        "Percent of the last sample period in which GPU memory was read or written.",
        lambda g: g.memory_util_percent,
    ),
    GpuMetric(
        "pitwall_gpu_temperature_celsius", "GPU core temperature, in degrees Celsius.", lambda g: g.temperature_c
    ),
    GpuMetric(
        "pitwall_gpu_temperature_slowdown_celsius",
        "Temperature at which the GPU starts to slow itself down, in degrees Celsius.",
        lambda g: g.temperature_slowdown_c,
    ),
    GpuMetric("pitwall_gpu_power_watts", "GPU power draw, in watts.", lambda g: g.power_w),
    GpuMetric(
        "pitwall_gpu_power_limit_watts", "GPU power limit the driver enforces, in watts.", lambda g: g.power_limit_w
    ),
    GpuMetric(
        "pitwall_gpu_energy_joules",
        "Energy the GPU has used since the driver was loaded, in joules.",
        lambda g: g.energy_j,
        counter=True,
    ),
    GpuMetric("pitwall_gpu_sm_clock_hertz", "GPU SM clock, in hertz.", lambda g: _times(g.sm_clock_mhz, MHZ)),
    GpuMetric(
        "pitwall_gpu_memory_clock_hertz", "GPU memory clock, in hertz.", lambda g: _times(g.memory_clock_mhz, MHZ)
    ),
    GpuMetric(
        "pitwall_gpu_clock_event_reasons",
        "NVML clock-event (throttle) reasons bitmask: 0x1 idle, 0x4 SW power cap, 0x8 HW slowdown, "
        "0x20 SW thermal, 0x40 HW thermal, 0x80 HW power brake.",
        lambda g: g.clock_event_reasons,
    ),
    GpuMetric(
        "pitwall_gpu_throttled",
        "1 when a clock-event reason other than idle or chosen clocks is slowing the GPU down.",
        _throttled,
    ),
    GpuMetric(
        "pitwall_gpu_ecc_volatile_uncorrected_errors",
        "Uncorrected ECC memory errors since the driver was loaded.",
        lambda g: g.ecc_volatile_uncorrected,
        counter=True,
    ),
    GpuMetric(
        "pitwall_gpu_remapped_rows_pending",
        "1 when a memory row remap waits for a GPU reset.",
        lambda g: g.remapped_rows_pending,
    ),
    GpuMetric(
        "pitwall_gpu_pcie_tx_bytes_per_second",
        "PCIe bytes sent by the GPU per second (NVML's recent average).",
        lambda g: g.pcie_tx_bytes_per_s,
    ),
    GpuMetric(
        "pitwall_gpu_pcie_rx_bytes_per_second",
        "PCIe bytes received by the GPU per second (NVML's recent average).",
        lambda g: g.pcie_rx_bytes_per_s,
    ),
)
METRIC_NAMES: tuple[str, ...] = (
    "pitwall_gpu_count",
    "pitwall_gpu_up",
    *(metric.name + ("_total" if metric.counter else "") for metric in GPU_METRICS),
)


def gpu_labels(snapshot: Snapshot, gpu: GpuReading) -> list[str]:
    """The label values of one GPU's series, in `LABELS` order (unknown ones empty, which Prometheus drops)."""
    return [
        str(gpu.index),
        gpu.uuid or "",
        snapshot.hostname,
        gpu.name or "",
        "true" if snapshot.simulated else "false",
    ]


def snapshot_metrics(snapshot: Snapshot) -> list[Metric]:
    """Every metric family of one snapshot: the GPU count, each GPU's `up`, and the fields NVML answered."""
    count = GaugeMetricFamily("pitwall_gpu_count", "GPUs NVML sees on this machine (0 without a driver or GPU).")
    count.add_metric([], len(snapshot.gpus))
    up = GaugeMetricFamily(
        "pitwall_gpu_up", "1 when the GPU answers NVML, 0 when it is lost (fell off the bus).", labels=LABELS
    )
    families: list[Metric] = [count, up]
    for spec in GPU_METRICS:
        family_type = CounterMetricFamily if spec.counter else GaugeMetricFamily
        family = family_type(spec.name, spec.help, labels=LABELS)
        for gpu in snapshot.gpus:
            value = spec.read(gpu)
            if value is not None:
                family.add_metric(gpu_labels(snapshot, gpu), float(value))
        families.append(family)
    for gpu in snapshot.gpus:
        up.add_metric(gpu_labels(snapshot, gpu), 0.0 if gpu.lost else 1.0)
    return families


class GpuCollector:
    """A prometheus_client collector that reads the GPUs once per scrape."""

    def __init__(self, reader_factory: Callable[[], NvmlReader]) -> None:
        # A factory rather than a reader: the reader to use can change (the simulated node switched on).
        self._reader_factory = reader_factory

    def collect(self) -> Iterator[Metric]:
        """One snapshot, without processes (a scrape needs no per-process work)."""
        snapshot = self._reader_factory().snapshot(with_processes=False)
        yield from snapshot_metrics(snapshot)


def exporter_registry(reader_factory: Callable[[], NvmlReader]) -> CollectorRegistry:
    """A registry of its own holding only the GPU collector (the global one carries process metrics)."""
    registry = CollectorRegistry(auto_describe=False)  # no snapshot at registration time
    registry.register(GpuCollector(reader_factory))
    return registry


def metrics_text(reader: NvmlReader) -> bytes:
    """The Prometheus text exposition of one scrape of `reader`."""
    return generate_latest(exporter_registry(lambda: reader))


def start_exporter(
    port: int, host: str, reader_factory: Callable[[], NvmlReader]
) -> tuple[WSGIServer, threading.Thread]:
    """Serve `/metrics` on host:port in a daemon thread; port 0 picks a free one (`server.server_address[1]`)."""
    registry = exporter_registry(reader_factory)
    try:
        server, thread = start_http_server(port, addr=host, registry=registry)
    except OSError as error:
        raise PitwallError(_listen_problem(port, host, error)) from None
    return server, thread


def serve_exporter(port: int, host: str, reader_factory: Callable[[], NvmlReader]) -> None:
    """Serve `/metrics` until interrupted (Ctrl-C)."""
    server, thread = start_exporter(port, host, reader_factory)
    log.info("serving GPU metrics on %s:%d/metrics", host, server.server_address[1])
    try:
        thread.join()
    except KeyboardInterrupt:
        pass
    finally:
        server.shutdown()
        server.server_close()


def _listen_problem(port: int, host: str, error: OSError) -> str:
    """One sentence for a socket that cannot listen."""
    if error.errno == errno.EADDRINUSE:
        return f"Port {port} is already in use; choose another with --port."
    if error.errno == errno.EACCES:
        return f"Port {port} needs more privileges than this user has; choose one above 1023 with --port."
    reason = (error.strerror or str(error)).rstrip(".").lower()
    return f"Cannot listen on {host or '*'}:{port} ({reason}); check --host and --port."
