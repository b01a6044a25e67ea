"""GPU history for charts: the store's samples over a window, downsampled in SQL to at most ~2,000 points per trace.

Downsampling happens where the rows are: each trace gets at most `max_points` buckets of averages,
so a day of 1 Hz samples from 8 GPUs (690,000 rows) comes back as at most 16,000 points without
pandas ever seeing the raw rows (bench/gpu_history.py times it). Windows longer than the raw
retention read the one-minute rollups.
"""

from __future__ import annotations

import math
import time
from dataclasses import dataclass

import pandas as pd

from lib.gpu.nvml import BENIGN_CLOCK_EVENTS
from lib.gpu.samples import ROLLUP_SECONDS
from lib.store import Store

# What a history chart can show: column -> (title, unit).
METRICS: dict[str, tuple[str, str]] = {
    "gpu_util": ("GPU utilisation", "%"),
    "memory_used": ("Memory used", "GiB"),
    "temperature": ("Temperature", "°C"),
    "power": ("Power draw", "W"),
    "sm_clock": ("SM clock", "MHz"),
    "throttled": ("Throttled share of time", "%"),
    "pcie_tx": ("PCIe transmit", "MB/s"),
}
WINDOWS: dict[str, int] = {"5 min": 300, "1 h": 3_600, "24 h": 86_400, "7 d": 604_800}
MAX_POINTS = 2_000


@dataclass(frozen=True)
class History:
    """Downsampled samples of a window: one row per (node, gpu, bucket), with where it came from."""

    frame: pd.DataFrame  # ts (datetime, UTC), node, gpu, and one column per METRICS key
    window_seconds: int
    step_seconds: int
    source: str  # "raw samples" or "one-minute rollups"

    @property
    def empty(self) -> bool:
        return self.frame.empty


def history(
    store: Store,
    window_seconds: int,
    now: float | None = None,
    raw_hours: float = 24.0,
    max_points: int = MAX_POINTS,
    sample_seconds: float = 1.0,
) -> History:
    """The last `window_seconds` of every GPU, at most `max_points` per GPU and metric.

    Short windows average the raw samples. Once a bucket would span half a minute or more, the
    one-minute rollups serve every minute they cover and the raw samples only the minutes since the
    last rollup: a day of 8 GPUs is then 11,520 rollup rows instead of 691,200 samples.
    """
    now = time.time() if now is None else now
    start = now - window_seconds
    step = max(1, math.ceil(window_seconds / max_points))
    beyond_raw = window_seconds > raw_hours * 3600
    if step < ROLLUP_SECONDS / 2 and not beyond_raw:
        frame = _query(store, "gpu_samples", step, start, now)
        return History(_finish(frame, step, sample_seconds), window_seconds, step, "raw samples")
    step = math.ceil(step / ROLLUP_SECONDS) * ROLLUP_SECONDS
    with store.read() as conn:
        last = conn.execute("SELECT MAX(ts) FROM gpu_rollups WHERE ts >= ?", (start,)).fetchone()[0]
    rolled_until = start if last is None else last + ROLLUP_SECONDS
    frames = [_query(store, "gpu_rollups", step, start, rolled_until, end_inclusive=False)] if last else []
    frames.append(_query(store, "gpu_samples", step, rolled_until, now))
    frame = pd.concat([f for f in frames if not f.empty] or frames[:1], ignore_index=True)
    # A bucket split between the rollups and the raw tail is averaged once more, weighted by samples.
    frame = _merge_split_buckets(frame)
    source = "one-minute rollups" if last else "raw samples (no rollups yet)"
    return History(_finish(frame, step, sample_seconds), window_seconds, step, source)


_AVERAGED = ("gpu_util", "memory_used", "temperature", "power", "sm_clock", "throttled", "pcie_tx")


def _query(store: Store, table: str, step: int, since: float, until: float, end_inclusive: bool = True) -> pd.DataFrame:
    """Averages per (bucket, node, gpu) of one table between two times, with each bucket's sample count."""
    raw = table == "gpu_samples"
    throttled = f"AVG((clock_reasons & ~{BENIGN_CLOCK_EVENTS}) != 0)" if raw else "AVG(throttled)"
    count = "COUNT(*)" if raw else "SUM(samples)"
    # Grouping by the time bucket first matches the order rows are stored in (a faster sort).
    sql = f"""
        SELECT CAST(ts / {step} AS INTEGER) * {step} AS ts, node, gpu, {count} AS samples,
               AVG(gpu_util) AS gpu_util, AVG(memory_used) AS memory_used, AVG(temperature) AS temperature,
               AVG(power) AS power, AVG(sm_clock) AS sm_clock, {throttled} AS throttled, AVG(pcie_tx) AS pcie_tx
        FROM {table}
        WHERE ts >= ? AND ts {"<=" if end_inclusive else "<"} ?
        GROUP BY 1, node, gpu
    """
    with store.read() as conn:
        cursor = conn.execute(sql, (since, until))
        columns = [description[0] for description in cursor.description]
        return pd.DataFrame(cursor.fetchall(), columns=columns)


def _merge_split_buckets(frame: pd.DataFrame) -> pd.DataFrame:
    if frame.empty or not frame.duplicated(["ts", "node", "gpu"]).any():
        return frame
    weights = frame["samples"].clip(lower=1)
    weighted = frame[list(_AVERAGED)].mul(weights, axis=0).assign(ts=frame["ts"], node=frame["node"], gpu=frame["gpu"])
    sums = weighted.assign(samples=weights).groupby(["ts", "node", "gpu"], as_index=False).sum(min_count=1)
    sums[list(_AVERAGED)] = sums[list(_AVERAGED)].div(sums["samples"], axis=0)
    return sums


def _finish(frame: pd.DataFrame, step: int, sample_seconds: float) -> pd.DataFrame:
    """Sorted per trace, in display units, with breaks where the collector was not running."""
    frame = frame.drop(columns="samples").sort_values(["node", "gpu", "ts"], kind="stable", ignore_index=True)
    # A break means no sample for longer than two buckets, and longer than two and a half sample intervals.
    return _with_gaps(_display_units(frame), max(2 * step, 2.5 * sample_seconds))


def _display_units(frame: pd.DataFrame) -> pd.DataFrame:
    """Bytes to GiB and MB/s, a share to a percentage, epoch seconds to UTC datetimes."""
    if frame.empty:
        return frame.assign(ts=pd.to_datetime(frame["ts"], unit="s", utc=True))
    return frame.assign(
        ts=pd.to_datetime(frame["ts"], unit="s", utc=True),
        memory_used=frame["memory_used"] / 1024**3,
        throttled=frame["throttled"] * 100.0,
        pcie_tx=frame["pcie_tx"] / 1e6,
    )


def _with_gaps(frame: pd.DataFrame, gap_seconds: float) -> pd.DataFrame:
    """Insert an empty row where a trace has no data for longer than `gap_seconds`, so charts break, not bridge."""
    if frame.empty:
        return frame
    gap = pd.Timedelta(seconds=gap_seconds)
    pieces = []
    for _key, trace in frame.groupby(["node", "gpu"], sort=False):
        breaks = trace["ts"].diff() > gap
        if breaks.any():
            blanks = trace.loc[breaks, ["ts", "node", "gpu"]].assign(ts=lambda f: f["ts"] - pd.Timedelta(seconds=1))
            trace = pd.concat([trace, blanks]).sort_values("ts", kind="stable")
        pieces.append(trace)
    return pd.concat(pieces, ignore_index=True)
