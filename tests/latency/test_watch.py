"""Retention of production requests: old ones go, load-test requests and recent traffic stay."""

from __future__ import annotations

from lib.latency.records import RequestRecord, save_records
from lib.latency.runs import run_records, save_run
from lib.latency.watch import prune_production
from lib.store import open_store

NOW = 1_800_000_000.0
DAY = 86_400.0


def test_production_requests_past_their_days_are_pruned_and_load_tests_keep_theirs() -> None:
    store = open_store()
    old, recent = RequestRecord(NOW - 100 * DAY, True, 10, 20), RequestRecord(NOW - DAY, True, 10, 20)
    save_records(store, [old, recent])
    run = save_run(
        store,
        "loadtest",
        "http://x",
        "m",
        {},
        {},
        [RequestRecord(NOW - 100 * DAY, True, 5, 9)],
        NOW - 100 * DAY,
        NOW - 100 * DAY,
    )
    assert prune_production(store, keep_days=90, now=NOW) == 1
    with store.read() as conn:
        left = [row[0] for row in conn.execute("SELECT started_at FROM latency_requests WHERE run_id IS NULL")]
    assert left == [NOW - DAY]
    assert len(run_records(store, run.id)) == 1
