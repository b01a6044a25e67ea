"""The GPU collector: samples every GPU at a fixed interval into the store, so history exists while nobody watches.

It runs inside each dashboard server (a background thread started once by the server's lifespan)
or as a daemon (`python -m lib gpu collect`). Only one collector per store writes: each tick starts
by renewing a lease in the store, and a collector that does not hold it waits on standby, taking
over when the holder stops or dies. Each tick: one snapshot, one bulk insert, the health rules.
Once a minute: one-minute rollups and retention.
"""

from __future__ import annotations

import contextlib
import logging
import threading
import time
from collections.abc import Callable
from dataclasses import asdict, dataclass, field

from lib.alerts.notifiers import Notifier
from lib.errors import PitwallError
from lib.gpu import health, samples
from lib.gpu.nvml import GpuReading, NvmlReader, Snapshot
from lib.gpu.source import current_reader
from lib.processes import this_owner
from lib.settings import Settings, load_settings_or_defaults
from lib.store import Store, leases, open_store

log = logging.getLogger("pitwall.gpu.collector")
LEASE = "gpu-collector"
MAINTENANCE_SECONDS = 60.0
FORGET_GPUS_AFTER_SECONDS = 600.0  # GPUs sampled this recently and unreadable now are lost, not absent


@dataclass
class TickResult:
    """What one tick did: wrote samples, found no GPU, or stood by for another collector."""

    state: str  # collected | gpus lost | no gpu | standby | failed
    samples: int = 0
    events: list[str] = field(default_factory=list)  # alert messages that fired or resolved
    reason: str | None = None

    def to_dict(self) -> dict:
        return asdict(self)


class Collector:
    """One collector: `tick()` samples once; `run()` ticks until told to stop."""

    def __init__(
        self,
        store: Store,
        settings: Callable[[], Settings] = lambda: load_settings_or_defaults()[0],
        reader: Callable[[], NvmlReader] = current_reader,
        owner: str | None = None,
        notifiers: list[Notifier] | None = None,
        origin: str = "daemon",
    ) -> None:
        self.store = store
        self._settings = settings
        self._reader = reader
        self.owner = owner or this_owner()
        self.notifiers = notifiers
        self.origin = origin
        self._last_maintenance = 0.0
        self._known_devices: tuple = ()

    def tick(self, now: float | None = None, settings: Settings | None = None) -> TickResult:
        """Sample, take the lease (or stand by), store, judge; roll up and prune once a minute."""
        settings = settings or self._settings()
        interval = settings["gpu.sample_interval_seconds"]
        now = time.time() if now is None else now
        snapshot = self._reader().snapshot(with_processes=False, with_events=True)
        readings = [(snapshot.hostname, gpu) for gpu in snapshot.gpus]
        if not snapshot.gpus:
            # No GPU now. If this machine had GPUs a moment ago, NVML or the driver died under them: that is
            # an alert (every GPU lost), not a quiet "no data". A machine that never had one just waits.
            missing = samples.recently_sampled(self.store, snapshot.hostname, now - FORGET_GPUS_AFTER_SECONDS)
            if not missing:
                return TickResult("no gpu", reason=snapshot.reason)
            lost = f"NVML cannot read it any more: {snapshot.reason}"
            readings = [(snapshot.hostname, GpuReading(index, lost=lost)) for index in missing]
        # The lease is taken only with GPUs to judge, so a server that sees none never blocks one that does.
        detail = {"interval_seconds": interval, "origin": self.origin}
        if not leases.acquire(self.store, LEASE, lease_seconds(interval), detail, self.owner, now):
            return TickResult("standby")
        snapshot.taken_at = now
        written = 0
        if snapshot.gpus:
            xids = {event.gpu_index: event.xid for event in snapshot.xid_events}
            written = samples.write_samples(self.store, samples.sample_rows(snapshot, xids))
            self._remember_devices(snapshot)
        recent = samples.recent_xids(self.store, now - health.XID_WINDOW_SECONDS)
        # Notifications leave from a delivery thread: a slow webhook must not leave gaps in the history.
        events = health.evaluate_rules(self.store, settings, readings, recent, now, self.notifiers, in_background=True)
        if now - self._last_maintenance >= MAINTENANCE_SECONDS:
            self._last_maintenance = now
            done = samples.roll_up_and_prune(
                self.store, now, settings["retention.raw_hours"], settings["retention.rollup_days"]
            )
            log.debug("GPU history maintenance: %s", done)
        state = "collected" if snapshot.gpus else "gpus lost"
        return TickResult(state, written, [event.message for event in events])

    def _remember_devices(self, snapshot: Snapshot) -> None:
        """Record names and limits when they change (a new GPU, MIG switched), not on every tick."""
        known = tuple((snapshot.hostname, gpu.index, gpu.uuid, gpu.memory_total_bytes) for gpu in snapshot.gpus)
        if known != self._known_devices:
            samples.record_devices(self.store, snapshot)
            self._known_devices = known

    def run(self, stop: threading.Event, on_tick: Callable[[TickResult], None] | None = None) -> None:
        """Tick every interval until `stop` is set; a failed tick is logged and the next one tried."""
        try:
            while not stop.is_set():
                started = time.monotonic()
                settings = self._settings()  # read once per tick: the tick and the wait after it share it
                try:
                    result = self.tick(settings=settings)
                except PitwallError as error:  # a locked or damaged store: say so, keep trying
                    log.warning("GPU sample not stored: %s", error)
                    result = TickResult("failed", reason=str(error))
                except Exception as error:  # a bug must not kill history collection for the server's lifetime
                    log.exception("GPU collector tick failed")
                    result = TickResult("failed", reason=f"unexpected {type(error).__name__} (see the log)")
                if on_tick:
                    on_tick(result)
                stop.wait(max(0.0, settings["gpu.sample_interval_seconds"] - (time.monotonic() - started)))
        finally:
            with contextlib.suppress(PitwallError):
                leases.release(self.store, LEASE, self.owner)


def lease_seconds(interval: float) -> float:
    """How long a lease lasts: a few missed ticks, never under 5 s."""
    return max(5.0, 3 * interval)


@dataclass(frozen=True)
class CollectorState:
    """Who collects, how often, and when the newest sample was written."""

    running: bool
    owner: str | None
    origin: str | None
    since: float | None
    interval_seconds: float | None
    last_sample_at: float | None

    def to_dict(self) -> dict:
        return asdict(self)


def collector_state(store: Store, now: float | None = None) -> CollectorState:
    """The collector's state as the store tells it (no NVML)."""
    lease = leases.holder(store, LEASE, now)
    with store.read() as conn:
        last = conn.execute("SELECT MAX(ts) FROM gpu_samples").fetchone()[0]
    if lease is None:
        return CollectorState(False, None, None, None, None, last)
    return CollectorState(
        True, lease.owner, lease.detail.get("origin"), lease.acquired_at, lease.detail.get("interval_seconds"), last
    )


# -- the server's background collector -------------------------------------------------------------

_server_thread: threading.Thread | None = None
_server_stop = threading.Event()
_server_lock = threading.Lock()


def ensure_server_collector() -> bool:
    """Start this server's collector thread once (unless switched off in settings); True when it runs."""
    global _server_thread
    settings, _problem = load_settings_or_defaults()
    if not settings["gpu.collect_in_server"]:
        return False
    with _server_lock:
        if _server_thread is None or not _server_thread.is_alive():
            _server_stop.clear()
            collector = Collector(open_store(), origin="dashboard server")
            _server_thread = threading.Thread(
                target=collector.run, args=(_server_stop,), name="pitwall-gpu-collector", daemon=True
            )
            _server_thread.start()
    return True


def server_collector_running() -> bool:
    """Whether this server's collector thread runs (it holds the lease only while it has GPUs to judge)."""
    return _server_thread is not None and _server_thread.is_alive()


def stop_server_collector(timeout: float = 5.0) -> None:
    """Stop this server's collector and give its lease up."""
    global _server_thread
    with _server_lock:
        _server_stop.set()
        if _server_thread is not None:
            _server_thread.join(timeout)
        _server_thread = None
