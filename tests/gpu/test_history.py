"""History for the charts: downsampled in the store to at most ~2,000 points per trace, rollups beyond raw retention."""

from __future__ import annotations

import math

import pytest

from lib.gpu.history import MAX_POINTS, history
from lib.gpu.samples import SAMPLE_COLUMNS, roll_up_and_prune, write_samples
from lib.store import open_store

NOW = 1_800_000_000.0
GIB = 1024**3


def sample(ts: float, gpu: int, util: float, memory_gib: float = 10.0, reasons: int = 0) -> tuple:
    values = dict.fromkeys(SAMPLE_COLUMNS)
    values.update(ts=ts, node="node-a", gpu=gpu, gpu_util=util, memory_used=memory_gib * GIB, clock_reasons=reasons)
    return tuple(values[column] for column in SAMPLE_COLUMNS)


def test_an_hour_is_averaged_from_raw_samples_into_at_most_two_thousand_points_per_gpu():
    store = open_store()
    write_samples(store, [sample(NOW - age, gpu, 50 + gpu * 10) for age in range(3600, 0, -1) for gpu in (0, 1)])
    found = history(store, 3600, now=NOW)
    per_trace = found.frame.groupby("gpu").size()
    assert found.source == "raw samples" and found.step_seconds == math.ceil(3600 / MAX_POINTS)
    assert (per_trace <= MAX_POINTS).all() and (per_trace >= 1800).all()
    by_gpu = found.frame.groupby("gpu")["gpu_util"].mean()
    assert by_gpu[0] == pytest.approx(50) and by_gpu[1] == pytest.approx(60)
    assert found.frame["memory_used"].iloc[0] == pytest.approx(10.0)  # shown in GiB


def test_a_day_reads_the_rollups_and_only_the_minutes_since_from_raw_samples():
    store = open_store()
    write_samples(store, [sample(NOW - age, gpu, 50 + gpu * 10) for age in range(86_400, 120, -5) for gpu in (0, 1)])
    without_rollups = history(store, 86_400, now=NOW)
    assert without_rollups.source == "raw samples (no rollups yet)" and without_rollups.step_seconds == 60
    roll_up_and_prune(store, NOW - 120, raw_hours=48, rollup_days=30)
    write_samples(store, [sample(NOW - age, 0, 90) for age in range(120, 0, -1)])  # since the last rollup
    found = history(store, 86_400, now=NOW)
    assert found.source == "one-minute rollups" and found.step_seconds == 60
    per_trace = found.frame.groupby("gpu").size()
    assert (per_trace <= MAX_POINTS).all() and per_trace[0] == pytest.approx(1440, abs=2)
    gpu0 = found.frame[found.frame["gpu"] == 0].set_index("ts")["gpu_util"]
    assert gpu0.iloc[:-3].mean() == pytest.approx(50) and gpu0.iloc[-1] == pytest.approx(90)
    assert len(without_rollups.frame) == pytest.approx(len(found.frame), abs=4)


def test_five_minutes_keep_every_one_hertz_sample_and_throttling_is_a_percentage():
    store = open_store()
    write_samples(store, [sample(NOW - age, 0, 40, reasons=0x20 if age % 2 else 0x1) for age in range(300, 0, -1)])
    found = history(store, 300, now=NOW)
    assert found.step_seconds == 1 and len(found.frame) == 300
    assert set(found.frame["throttled"]) == {0.0, 100.0}  # idle is not throttling; thermal slowdown is


def test_seven_days_read_the_one_minute_rollups():
    store = open_store()
    with store.write() as conn:
        conn.executemany(
            "INSERT INTO gpu_rollups (ts, node, gpu, samples, gpu_util, memory_used, throttled) VALUES (?,?,?,?,?,?,?)",
            [(int(NOW) - minutes * 60, "node-a", 0, 60, 70.0, 20 * GIB, 0.5) for minutes in range(1, 7 * 1440)],
        )
    found = history(store, 7 * 86_400, now=NOW, raw_hours=24)
    assert found.source == "one-minute rollups"
    assert found.step_seconds % 60 == 0 and len(found.frame) <= MAX_POINTS
    assert found.frame["gpu_util"].mean() == pytest.approx(70.0)
    assert found.frame["throttled"].mean() == pytest.approx(50.0)


def test_a_collector_outage_breaks_the_line_instead_of_bridging_it():
    store = open_store()
    write_samples(store, [sample(NOW - age, 0, 30) for age in [*range(300, 200, -1), *range(100, 0, -1)]])
    frame = history(store, 300, now=NOW).frame
    assert frame["gpu_util"].isna().sum() == 1  # one blank row where 100 s are missing


def test_an_empty_store_gives_an_empty_history():
    assert history(open_store(), 3600, now=NOW).empty
