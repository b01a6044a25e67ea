"""GPU history query: 24 h of 1 Hz samples from 8 GPUs (691,200 rows) to chart-ready points, under 1 s.

Ours: `lib.gpu.history.history`, as the page calls it. A day's buckets are a minute wide, so it reads
the one-minute rollups the collector keeps (11,520 rows) plus the raw samples since the last rollup,
averaging inside SQLite; pandas sees only the ~11,500 points it draws. Timed twice: with the rollups
(the page's path once a collector has run) and on a store that has only raw samples (its worst case,
every one of the 691,200 rows grouped in SQL).
Baseline: the obvious pandas way, reading every row of the window into a frame and resampling it
per GPU (`pd.read_sql` + a groupby on the time bucket), then the same unit conversions.
The script checks that all three agree, then prints the times and the ratios.
"""

from __future__ import annotations

import math
import sqlite3
import statistics
import tempfile
import time
from pathlib import Path

import pandas as pd
from _common import report

from lib.gpu.history import MAX_POINTS, history
from lib.gpu.samples import roll_up_and_prune, write_samples
from lib.store import open_store

GPUS = 8
SECONDS = 86_400
NOW = 1_800_000_000.0
GIB = 1024**3


def rows():
    """A day of plausible samples: a slow wave of load per GPU."""
    for second in range(SECONDS):
        ts = NOW - SECONDS + second
        for gpu in range(GPUS):
            wave = math.sin(second / 600 + gpu)
            yield (ts, "node-a", gpu, (40 + 10 * wave) * GIB, 80 * GIB, 60 + 30 * wave, 40.0, 60 + 10 * wave,
                   400 + 200 * wave, 700.0, 1755.0, 2619.0, 5e8, 2e8, 0, 0, None)  # fmt: skip


def baseline(path: Path, window: int, step: int) -> pd.DataFrame:
    """Read every sample in the window with pandas, then resample per GPU."""
    with sqlite3.connect(path) as conn:
        frame = pd.read_sql(
            "SELECT ts, node, gpu, gpu_util, memory_used, temperature, power, sm_clock, clock_reasons, pcie_tx "
            "FROM gpu_samples WHERE ts >= ? AND ts <= ?",
            conn,
            params=(NOW - window, NOW),
        )
    frame["bucket"] = (frame["ts"] // step * step).astype("int64")
    frame["throttled"] = (frame["clock_reasons"] & ~0x103) != 0
    out = frame.groupby(["node", "gpu", "bucket"], sort=True)[
        ["gpu_util", "memory_used", "temperature", "power", "sm_clock", "throttled", "pcie_tx"]
    ].mean()
    out = out.reset_index().rename(columns={"bucket": "ts"})
    return out.assign(
        ts=pd.to_datetime(out["ts"], unit="s", utc=True),
        memory_used=out["memory_used"] / GIB,
        throttled=out["throttled"] * 100,
        pcie_tx=out["pcie_tx"] / 1e6,
    )


def timed(call, repeats: int = 5) -> tuple[float, object]:
    times, result = [], None
    for _ in range(repeats):
        started = time.perf_counter()
        result = call()
        times.append(time.perf_counter() - started)
    return statistics.median(times), result


def main() -> None:
    with tempfile.TemporaryDirectory() as folder:
        path = Path(folder) / "pitwall.db"
        store = open_store(path)
        started = time.perf_counter()
        written = write_samples(store, rows())
        print(f"wrote {written:,} samples ({GPUS} GPUs x 24 h at 1 Hz) in {time.perf_counter() - started:.1f} s")
        raw_time, raw = timed(lambda: history(store, SECONDS, now=NOW), repeats=3)
        started = time.perf_counter()
        roll_up_and_prune(store, NOW - 90, raw_hours=48, rollup_days=30)  # what the collector does each minute
        print(
            f"rolled the day up into one-minute rollups in {time.perf_counter() - started:.1f} s "
            "(done once, by the collector)"
        )
        ours_time, ours = timed(lambda: history(store, SECONDS, now=NOW))
        base_time, base = timed(lambda: baseline(path, SECONDS, ours.step_seconds), repeats=3)
        per_gpu = ours.frame.groupby("gpu").size().max()
        assert per_gpu <= MAX_POINTS, per_gpu
        for name, other in (("raw-only", raw.frame), ("baseline", base)):
            merged = ours.frame.merge(other, on=["node", "gpu", "ts"], suffixes=("", "_other"))
            assert len(merged) >= len(ours.frame) - 2 * GPUS, (name, len(merged), len(ours.frame))
            assert (merged["gpu_util"] - merged["gpu_util_other"]).abs().max() < 1e-6, name
        print(
            f"24 h window: {len(ours.frame):,} points ({per_gpu:,} per GPU, one per {ours.step_seconds} s) "
            f"from {ours.source}"
        )
        report(
            "24 h history query + downsample (page path, rollups)", ours_time, base_time, "s", higher_is_better=False
        )
        report("24 h history query + downsample (raw samples only)", raw_time, base_time, "s", higher_is_better=False)
        print(f"target under 1 s: page path {ours_time:.3f} s, raw-only worst case {raw_time:.3f} s")
        for label, window in (("1 h", 3600), ("5 min", 300)):
            quick, _ = timed(lambda window=window: history(store, window, now=NOW))
            print(f"{label} window (raw samples): {quick * 1e3:.1f} ms")


if __name__ == "__main__":
    main()
