"""Retention: old samples are pruned in batches, rollups aggregate whole buckets and can be rerun."""

from __future__ import annotations

import pytest

from lib.store import open_store
from lib.store.retention import prune_older_than, rollup


@pytest.fixture
def store():
    store = open_store()
    with store.write() as conn:
        conn.execute("CREATE TABLE raw (ts REAL, gpu INTEGER, util REAL)")
        conn.execute("CREATE TABLE minute (ts INTEGER, gpu INTEGER, util_avg REAL, util_max REAL, n INTEGER, "
                     "PRIMARY KEY (ts, gpu))")  # fmt: skip
    # Three minutes of 1 Hz samples for two GPUs: GPU 0 at the second's value, GPU 1 at twice it.
    store.insert_many(
        "raw", ["ts", "gpu", "util"], [(float(t), g, float(t % 60) * (g + 1)) for t in range(180) for g in (0, 1)]
    )
    return store


def rows(store, sql):
    with store.read() as conn:
        return [tuple(row) for row in conn.execute(sql)]


def test_pruning_removes_only_what_aged_out(store) -> None:
    assert prune_older_than(store, "raw", "ts", cutoff=100.0, batch_rows=7) == 200
    assert rows(store, "SELECT MIN(ts), COUNT(*) FROM raw") == [(100.0, 160)]
    assert prune_older_than(store, "raw", "ts", cutoff=100.0) == 0


def test_rollup_aggregates_whole_minutes_and_a_rerun_replaces_them(store) -> None:
    aggregates = {"util_avg": "AVG(util)", "util_max": "MAX(util)", "n": "COUNT(*)"}
    written = rollup(store, "raw", "minute", "ts", 60, ["gpu"], aggregates, since=0, until=150)
    assert written == 4  # minutes 0 and 60 for two GPUs; minute 120 is not whole before 150
    assert rows(store, "SELECT ts, gpu, util_avg, util_max, n FROM minute ORDER BY ts, gpu") == [
        (0, 0, 29.5, 59.0, 60), (0, 1, 59.0, 118.0, 60), (60, 0, 29.5, 59.0, 60), (60, 1, 59.0, 118.0, 60),
    ]  # fmt: skip
    rollup(store, "raw", "minute", "ts", 60, ["gpu"], aggregates, since=0, until=180)  # overlapping rerun
    assert rows(store, "SELECT COUNT(*), SUM(n) FROM minute") == [(6, 360)]


def test_pruning_raw_samples_keeps_their_rollups(store) -> None:
    rollup(store, "raw", "minute", "ts", 60, ["gpu"], {"util_avg": "AVG(util)", "n": "COUNT(*)"}, 0, 180)
    prune_older_than(store, "raw", "ts", cutoff=180.0)
    assert rows(store, "SELECT COUNT(*) FROM raw") == [(0,)]
    assert rows(store, "SELECT COUNT(*) FROM minute") == [(6,)]


def test_a_partly_pruned_first_bucket_does_not_replace_its_complete_rollup(store) -> None:
    aggregates = {"util_avg": "AVG(util)", "n": "COUNT(*)"}
    rollup(store, "raw", "minute", "ts", 60, ["gpu"], aggregates, since=0, until=180)
    prune_older_than(store, "raw", "ts", cutoff=90.0)  # half of minute 60 is gone from the raw samples
    rollup(store, "raw", "minute", "ts", 60, ["gpu"], aggregates, since=90, until=180)
    assert rows(store, "SELECT ts, n FROM minute WHERE gpu = 0 ORDER BY ts") == [(0, 60), (60, 60), (120, 60)]
