"""Which GPUs Pitwall reads: this machine's real ones, or, where there are none, the simulated node if on.

Real GPUs always take precedence. The simulated node is switched on from the Overview's demo data
(or `python -m lib gpu simulate on`); the switch is a file under PITWALL_HOME holding the moment it
was switched on, so every process (the page, a collector daemon, the exporter) tells the same story
at the same point of its script.
"""

from __future__ import annotations

import json
import threading
import time
from pathlib import Path

from lib import config
from lib.files import write_atomically
from lib.gpu.fake_nvml import FakeNvml, simulated_node
from lib.gpu.nvml import NvmlReader, Snapshot, local_reader

SIMULATED_HOSTNAME = "simulated-node"
_SWITCH_FILE = "simulated-gpu-node.json"
_readers: dict[float, NvmlReader] = {}
_lock = threading.Lock()


def _switch_path() -> Path:
    return config.pitwall_home() / _SWITCH_FILE


def simulated_since() -> float | None:
    """When the simulated node was switched on, or None when it is off."""
    try:
        return float(json.loads(_switch_path().read_text(encoding="utf-8"))["started_at"])
    except (OSError, ValueError, KeyError, TypeError):
        return None


def switch_simulated(on: bool, now: float | None = None) -> None:
    """Switch the simulated node on (its story starts now) or off (its alerts are resolved: it is gone)."""
    path = _switch_path()
    if not on:
        path.unlink(missing_ok=True)
        _retire_simulated_alerts()
        return
    path.parent.mkdir(parents=True, exist_ok=True)
    write_atomically(path, json.dumps({"started_at": time.time() if now is None else now}) + "\n")


def simulated_reader(started_at: float) -> NvmlReader:
    """The reader of the simulated node switched on at `started_at` (one per process)."""
    with _lock:
        if started_at not in _readers:
            fake = FakeNvml(simulated_node(), elapsed=lambda: time.time() - started_at)
            _readers[started_at] = NvmlReader(fake, simulated=True, hostname=SIMULATED_HOSTNAME)
        return _readers[started_at]


def current_reader() -> NvmlReader:
    """The reader to use now: real NVML when it sees a GPU, else the simulated node when it is on."""
    real = local_reader()
    started = simulated_since()
    if started is None:
        return real
    if real.snapshot(with_processes=False).gpus:
        return real
    return simulated_reader(started)


def read_snapshot(with_processes: bool = True) -> Snapshot:
    """This machine's GPUs now (or the simulated node's); `reason` says why no real GPU is read."""
    real = local_reader().snapshot(with_processes)
    started = simulated_since()
    if real.gpus or started is None:
        return real
    snapshot = simulated_reader(started).snapshot(with_processes)
    snapshot.reason = real.reason
    return snapshot


def _retire_simulated_alerts() -> None:
    """Resolve the simulated node's alerts: without this they would fire forever, as missing data is not recovery."""
    from lib.alerts import retire
    from lib.gpu.health import RULE_PREFIX
    from lib.store import open_store

    if config.database_path().exists():
        retire(open_store(), RULE_PREFIX, {"node": SIMULATED_HOSTNAME}, "the simulated GPU node was switched off")
