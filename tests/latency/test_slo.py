"""SLOs over production requests: burn rates, error budgets and the workbook's multiwindow, multi-burn-rate alerts."""

from __future__ import annotations

import logging
import time

import pytest

from lib.alerts import active_alerts, alert_history
from lib.alerts.engine import AlertEvent
from lib.latency import watch
from lib.latency.records import RequestRecord, production_frame, save_records
from lib.latency.slo import (
    BURN_RATE_WINDOWS,
    Objective,
    budget_counts,
    burn_rate,
    burn_rate_status,
    check_slos,
    error_budget,
    error_ratio,
    good_and_events,
    objectives_from_settings,
    stored_burn_rate_status,
)
from lib.settings import defaults
from lib.store import open_store

T0 = 1_700_000_040.0  # a whole minute
HOUR, DAY = 3_600.0, 86_400.0
TTFT = Objective("ttft", "TTFT ≤ 1000 ms", 1000.0, 0.99)
AVAILABILITY = Objective("availability", "Availability", None, 0.99)


class Recorder:
    """A notifier that keeps what it was sent (the webhook is a boundary)."""

    name = "recorder"

    def __init__(self) -> None:
        self.events: list[AlertEvent] = []

    def send(self, event: AlertEvent) -> None:
        self.events.append(event)


def traffic(
    start: float, minutes: int, fail_every: int = 0, fail_of: int = 1, slow_every: int = 0, slow_of: int = 1
) -> list[RequestRecord]:
    """One production request a minute; `fail_of` of every `fail_every` fail and `slow_of` of every `slow_every`
    take 1.5 s to the first token (deterministic: no randomness)."""
    return [
        RequestRecord(
            start + 60 * i + 1, ok=not (fail_every and i % fail_every < fail_of),
            ttft_ms=1_500.0 if slow_every and i % slow_every < slow_of else 300.0, e2el_ms=2_000.0,
            output_tokens=20, source="track",
        )
        for i in range(minutes)
    ]  # fmt: skip


def firing_rules(store) -> dict[str, str]:
    return {a["rule"]: a["severity"] for a in active_alerts(store, firing_only=True) if a["rule"].startswith("latency")}


def test_objectives_come_from_settings() -> None:
    objectives = objectives_from_settings(defaults().with_overrides({"latency.slo_ttft_ms": 500.0}))
    assert [(o.name, o.title, o.threshold_ms, o.target) for o in objectives] == [
        ("ttft", "TTFT ≤ 500 ms", 500.0, 0.99),
        ("tpot", "TPOT ≤ 100 ms", 100.0, 0.99),
        ("e2el", "E2EL ≤ 20000 ms", 20000.0, 0.99),
        ("availability", "Availability", None, 0.99),
    ]


def test_burn_rate_is_the_windows_error_ratio_over_the_allowed_one() -> None:
    store = open_store()
    now = T0 + DAY
    records = traffic(now - HOUR, 60)  # 60 requests in the last hour
    for record in records[:3]:  # 3 failed: availability bad, and no TTFT event
        record.ok = False
    for record in records[3:8]:  # 5 succeeded but slowly
        record.ttft_ms = 1_500.0
    records[8].ttft_ms = None  # no TTFT measured: not an event
    records += traffic(now - 3 * HOUR, 60, fail_every=1)  # all failed, but outside the last hour
    save_records(store, records)
    frame = production_frame(store)

    assert good_and_events(frame, AVAILABILITY) == (57, 120)  # the 60 outside the window count too
    assert burn_rate(frame, AVAILABILITY, HOUR, now) == pytest.approx((3 / 60) / 0.01)  # 5.0
    assert good_and_events(frame[frame["started_at"] > now - HOUR], TTFT) == (51, 56)
    assert error_ratio(frame[frame["started_at"] > now - HOUR], TTFT) == pytest.approx(5 / 56)
    assert burn_rate(frame, TTFT, HOUR, now) == pytest.approx((5 / 56) / 0.01)  # 8.93
    assert burn_rate(frame, TTFT, 300.0, now - 2 * HOUR) is None  # that window holds only failures: no TTFT event
    # The SQL counts behind the Overview agree with the frame's.
    counts, last = budget_counts(store, [TTFT, AVAILABILITY], now - HOUR, now)
    assert counts == {"ttft": (51, 56), "availability": (57, 60)} and last == records[59].started_at
    for moment in (now, now - 2 * HOUR):  # the alerts' SQL burn rates are the page's frame ones
        assert stored_burn_rate_status(store, [TTFT, AVAILABILITY], moment) == burn_rate_status(
            frame, [TTFT, AVAILABILITY], moment
        )


def test_error_budget_is_what_is_left_of_the_allowed_bad_requests() -> None:
    store = open_store()
    now = T0 + 10 * DAY
    records = traffic(now - 1_000 * 60, 1_000)  # 1000 requests; 1% = 10 bad ones allowed
    save_records(store, records)
    frame = production_frame(store)
    period = 30 * DAY

    def with_failures(count: int):
        changed = frame.copy()
        changed.loc[changed.index[:count], "ok"] = False
        return error_budget(changed, AVAILABILITY, period, now)

    budget = with_failures(4)
    assert (budget.events, budget.bad, budget.allowed_bad) == (1_000, 4, pytest.approx(10.0))
    assert budget.sli == pytest.approx(0.996) and budget.remaining == pytest.approx(0.6) and budget.state == "ok"
    assert (with_failures(8).remaining, with_failures(8).state) == (pytest.approx(0.2), "warning")
    assert (with_failures(12).remaining, with_failures(12).state) == (pytest.approx(-0.2), "critical")
    assert error_budget(frame, AVAILABILITY, period, now - 2_000 * 60).state == "no data"


def test_a_steady_half_percent_error_rate_meets_the_slo_and_fires_nothing() -> None:
    store, recorder = open_store(), Recorder()
    save_records(store, traffic(T0, 3 * 1_440 + 120, fail_every=200))
    settings = defaults()
    for now in (T0 + DAY, T0 + 2 * DAY + 7 * 60, T0 + 3 * DAY + HOUR):
        assert check_slos(store, settings, now, [recorder]) == []
    assert firing_rules(store) == {} and recorder.events == []
    ticket = [s for s in burn_rate_status(production_frame(store), [AVAILABILITY], T0 + 3 * DAY) if s.factor == 1]
    assert ticket[0].long_burn == pytest.approx(0.5, abs=0.01) and not ticket[0].firing


def test_a_bad_hour_pages_through_the_fast_window_and_resolves_once_the_short_window_is_clean() -> None:
    store, recorder = open_store(), Recorder()
    bad_start = T0 + 3 * DAY
    save_records(store, traffic(T0, 3 * 1_440))  # three good days
    save_records(store, traffic(bad_start, 60, slow_every=5, slow_of=2))  # 40% too slow for an hour: burn 40
    save_records(store, traffic(bad_start + HOUR, 60))  # good again
    settings = defaults()

    # As the bad hour ends: both windows burn at 40 (2 of every 5 requests bad), the 1h/5m pair pages.
    events = check_slos(store, settings, bad_start + HOUR, [recorder])
    fired = {event.rule: event for event in events if event.status == "firing"}
    page = fired["latency-slo-ttft-1h"]
    assert page.severity == "critical" and page.labels == {"slo": "ttft", "windows": "1h/5m"}
    assert page.value == pytest.approx(40.0)
    assert "TTFT SLO (TTFT ≤ 1000 ms)" in page.message and "over 1 h and 5 min" in page.message
    assert not any(rule.startswith("latency-slo-availability") for rule in fired)
    assert [e.rule for e in recorder.events] == list(fired)
    assert "latency-slo-ttft-1h" in {e.rule for e in alert_history(store, rule_prefix="latency-slo-")}

    # Ten minutes after it ended the last 5 minutes are clean: the page resolves, though the hour still burns fast.
    later = bad_start + HOUR + 10 * 60
    events = check_slos(store, settings, later, [recorder])
    assert [(e.rule, e.value) for e in events if e.rule == "latency-slo-ttft-1h"] == [("latency-slo-ttft-1h", 0.0)]
    assert burn_rate(production_frame(store), TTFT, HOUR, later) > 14.4
    assert "latency-slo-ttft-1h" not in firing_rules(store)
    assert (recorder.events[-1].status, alert_history(store, 1, "latency-slo-ttft-1h")[0].status) == (
        "resolved",
        "resolved",
    )


def test_a_quiet_service_resolves_its_alerts() -> None:
    store = open_store()
    save_records(store, traffic(T0, 60, fail_every=2))  # half of an hour failed
    check_slos(store, defaults(), T0 + HOUR, [])
    assert firing_rules(store)["latency-slo-availability-1h"] == "critical"
    check_slos(store, defaults(), T0 + 4 * DAY, [])  # no request since: every window is empty
    assert firing_rules(store) == {}


def test_a_moderate_burn_for_hours_pages_through_the_six_hour_pair_only() -> None:
    store = open_store()
    save_records(store, traffic(T0, 3 * 1_440))  # three good days
    save_records(store, traffic(T0 + 3 * DAY, 360, fail_every=25, fail_of=2))  # 8% failed for six hours: burn 8
    check_slos(store, defaults(), T0 + 3 * DAY + 6 * HOUR, [])
    assert firing_rules(store) == {"latency-slo-availability-6h": "critical"}


def test_a_slow_burn_for_days_opens_only_a_ticket() -> None:
    store, recorder = open_store(), Recorder()
    save_records(store, traffic(T0, 3 * 1_440 + 60, fail_every=50))  # 2% failed for three days: burn 2
    events = check_slos(store, defaults(), T0 + 3 * DAY + HOUR, [recorder])
    assert firing_rules(store) == {"latency-slo-availability-3d": "warning"}
    assert [(e.rule, e.severity) for e in recorder.events] == [("latency-slo-availability-3d", "warning")]
    assert "ticket at 1x" in events[0].message and "3 days and 6 h" in events[0].message


def test_burn_rate_windows_are_the_workbooks() -> None:
    assert [(w.factor, w.long_s, w.short_s, w.severity, w.label) for w in BURN_RATE_WINDOWS] == [
        (14.4, HOUR, 300.0, "critical", "1h/5m"),
        (6.0, 6 * HOUR, 1_800.0, "critical", "6h/30m"),
        (1.0, 3 * DAY, 6 * HOUR, "warning", "3d/6h"),
    ]


@pytest.fixture
def fresh_throttle(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(watch, "_last_check", -float("inf"))
    if watch._pending is not None:  # a trailing check left by an earlier test
        watch._pending.cancel()
    monkeypatch.setattr(watch, "_pending", None)


def test_records_arriving_check_the_slos_at_most_once_per_ten_seconds(monkeypatch, fresh_throttle) -> None:
    calls = []
    monkeypatch.setattr("lib.latency.slo.check_slos", lambda store, settings, **kw: calls.append(store))
    store = open_store()
    watch.records_arrived(store)
    watch.records_arrived(store)
    assert len(calls) == 1
    monkeypatch.setattr(watch, "_last_check", time.monotonic() - 11)
    watch.records_arrived(store)
    assert len(calls) == 2


def test_records_held_back_by_the_throttle_are_checked_when_it_ends(monkeypatch, fresh_throttle) -> None:
    calls = []
    monkeypatch.setattr("lib.latency.slo.check_slos", lambda store, settings, **kw: calls.append(store))
    monkeypatch.setattr(watch, "THROTTLE_SECONDS", 0.3)
    store = open_store()
    watch.records_arrived(store)
    watch.records_arrived(store)  # within the throttle: no check now...
    watch.records_arrived(store)
    assert len(calls) == 1
    deadline = time.monotonic() + 5
    while len(calls) < 2 and time.monotonic() < deadline:
        time.sleep(0.02)
    assert len(calls) == 2  # ...but one trailing check once it is over, for both arrivals
    watch.records_arrived(store, urgent=True)  # a person's ingest checks at once
    assert len(calls) == 3


def test_records_arriving_fire_the_alert_and_never_raise(monkeypatch, fresh_throttle, caplog) -> None:
    store = open_store()
    save_records(store, traffic(time.time() - HOUR, 60, fail_every=2))
    watch.records_arrived(store)
    assert firing_rules(store)["latency-slo-availability-1h"] == "critical"

    def broken(*args, **kwargs):
        raise RuntimeError("boom")

    monkeypatch.setattr("lib.latency.slo.check_slos", broken)
    monkeypatch.setattr(watch, "_last_check", -float("inf"))
    with caplog.at_level(logging.ERROR, logger="pitwall.latency"):
        watch.records_arrived(store)  # the ingest path goes on
    assert "could not be checked" in caplog.text


def test_the_watcher_checks_on_a_clock_once_per_process() -> None:
    store = open_store()
    save_records(store, traffic(time.time() - HOUR, 60, fail_every=2))
    try:
        watch.start_watcher(interval_s=0.05)
        watch.start_watcher(interval_s=0.05)  # idempotent
        import threading

        assert sum(t.name == "pitwall-latency-slo" for t in threading.enumerate()) == 1
        deadline = time.monotonic() + 5
        while "latency-slo-availability-1h" not in firing_rules(store) and time.monotonic() < deadline:
            time.sleep(0.02)
        assert "latency-slo-availability-1h" in firing_rules(store)
    finally:
        watch.stop_watcher()
    assert not any(t.name == "pitwall-latency-slo" for t in __import__("threading").enumerate())
