"""GPU collector cost: CPU per second of sampling 8 GPUs at 1 Hz, target under 1% of one core.

Ours: `lib.gpu.collector.Collector.tick` as the server's thread runs it: one snapshot of 8 fake GPUs
(the tests' fake NVML, so every reader line runs; a real NVML answers in C, ~16 us per 8 fields on
an H200), one bulk insert, the health rules through the alerts module, the lease renewal, and once a
minute the rollup and retention. Measured two ways: 600 ticks back to back with the clock moved one
second per tick (CPU per tick = % of a core at 1 Hz), then the real loop at 1 Hz for `--seconds`,
CPU time over wall time.
Baseline: the same tick written the naive way: a fresh sqlite3 connection per sample and one
INSERT + COMMIT per GPU row (the foundation's write path), everything else equal.
"""

from __future__ import annotations

import argparse
import sqlite3
import tempfile
import threading
import time
from pathlib import Path

from _common import report

from lib.gpu import samples
from lib.gpu.collector import Collector
from lib.gpu.fake_nvml import FakeNvml, uniform_gpus
from lib.gpu.nvml import NvmlReader
from lib.settings import load_settings
from lib.store import open_store

GPUS = 8
TICKS = 600
T0 = 1_800_000_000.0


class NaiveWrites:
    """Stands in for `samples.write_samples`: a connection per call, a commit per row."""

    def __init__(self, path: Path) -> None:
        self.path = path

    def __call__(self, _store, rows) -> int:
        count = 0
        for row in rows:
            conn = sqlite3.connect(self.path)
            conn.execute("PRAGMA busy_timeout = 10000")
            conn.execute(f"INSERT INTO gpu_samples ({', '.join(samples.SAMPLE_COLUMNS)}) VALUES "
                         f"({', '.join('?' * len(samples.SAMPLE_COLUMNS))})", row)  # fmt: skip
            conn.commit()
            conn.close()
            count += 1
        return count


def cpu_per_tick(folder: Path, naive: bool) -> float:
    """CPU seconds per tick over TICKS ticks, the clock moving one second per tick."""
    path = folder / ("naive.db" if naive else "ours.db")
    store = open_store(path)
    clock = [0.0]
    reader = NvmlReader(FakeNvml(uniform_gpus(GPUS), elapsed=lambda: clock[0]), hostname="bench")
    settings = load_settings()
    collector = Collector(store, settings=lambda: settings, reader=lambda: reader, owner="bench:1:1", notifiers=[])
    original = samples.write_samples
    if naive:
        samples.write_samples = NaiveWrites(path)
    try:
        started = time.process_time()
        for tick in range(TICKS):
            clock[0] = tick
            assert collector.tick(T0 + tick).state == "collected"
        return (time.process_time() - started) / TICKS
    finally:
        samples.write_samples = original


def real_loop(folder: Path, seconds: float) -> float:
    """CPU share of one core while the collector thread samples at 1 Hz for `seconds`."""
    store = open_store(folder / "loop.db")
    reader = NvmlReader(FakeNvml(uniform_gpus(GPUS)), hostname="bench")
    collector = Collector(store, reader=lambda: reader, owner="bench:2:2", notifiers=[])
    stop = threading.Event()
    thread = threading.Thread(target=collector.run, args=(stop,))
    wall, cpu = time.monotonic(), time.process_time()
    thread.start()
    time.sleep(seconds)
    stop.set()
    thread.join()
    return (time.process_time() - cpu) / (time.monotonic() - wall)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--seconds", type=float, default=30.0, help="length of the real 1 Hz run (default 30)")
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as name:
        folder = Path(name)
        ours = cpu_per_tick(folder, naive=False)
        naive = cpu_per_tick(folder, naive=True)
        nvml_started = time.process_time()
        reader = NvmlReader(FakeNvml(uniform_gpus(GPUS)), hostname="bench")
        for _ in range(TICKS):
            reader.snapshot(with_processes=False)
        fake_nvml = (time.process_time() - nvml_started) / TICKS
        print(f"{GPUS} fake GPUs, {TICKS} ticks: {ours * 1e3:.2f} ms CPU per tick "
              f"(of which reading the fake NVML {fake_nvml * 1e3:.2f} ms)")  # fmt: skip
        report("collector CPU per 1 Hz tick", ours * 1e3, naive * 1e3, "ms", higher_is_better=False)
        print(f"share of one core at 1 Hz: ours {ours * 100:.2f}% (target under 1%), naive writes {naive * 100:.2f}%")
        share = real_loop(folder, args.seconds)
        print(f"real 1 Hz loop for {args.seconds:g} s: {share * 100:.2f}% of one core")


if __name__ == "__main__":
    main()
