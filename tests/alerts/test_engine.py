"""The alert lifecycle: pending, firing once per incident, hysteresis, history, and notifiers that fail."""

from __future__ import annotations

import logging
import math
import threading

import pytest

from lib.alerts import AlertRule, Observation, active_alerts, alert_history, evaluate, firing_count
from lib.alerts.engine import AlertEvent
from lib.errors import InputError, PitwallError
from lib.store import open_store

T0 = 1_700_000_000.0
GPU0 = {"gpu": "0"}
GPU1 = {"gpu": "1"}


class Recorder:
    """A notifier that keeps what it was sent."""

    def __init__(self, name: str = "recorder") -> None:
        self.name = name
        self.events: list[AlertEvent] = []

    def send(self, event: AlertEvent) -> None:
        self.events.append(event)


class Broken:
    """A notifier that always fails, the way a real one does (PitwallError) or by a bug (anything else)."""

    def __init__(self, name: str, error: Exception) -> None:
        self.name = name
        self.error = error

    def send(self, event: AlertEvent) -> None:
        raise self.error


def memory_rule(**changes) -> AlertRule:
    fields = {
        "name": "gpu-memory",
        "metric": "gpu.memory_percent",
        "comparison": ">",
        "threshold": 95.0,
        "summary": "GPU {gpu} memory used",
    }
    return AlertRule(**{**fields, **changes})


def test_a_breach_fires_only_after_it_has_lasted_for_seconds() -> None:
    store, rule, recorder = open_store(), memory_rule(for_seconds=60), Recorder()

    assert evaluate(store, rule, [Observation(GPU0, 97.0)], now=T0, notifiers=[recorder]) == []
    assert [a["state"] for a in active_alerts(store)] == ["pending"]
    assert evaluate(store, rule, [Observation(GPU0, 96.0)], now=T0 + 59, notifiers=[recorder]) == []
    assert firing_count(store) == 0 and recorder.events == []

    events = evaluate(store, rule, [Observation(GPU0, 97.2)], now=T0 + 60, notifiers=[recorder])

    assert [(e.status, e.labels, e.value) for e in events] == [("firing", GPU0, 97.2)]
    assert events[0].message == "GPU 0 memory used is 97.2 (> 95) for 60 s"
    assert [e.id for e in recorder.events] == [e.id for e in events]
    assert firing_count(store) == 1
    (alert,) = active_alerts(store, firing_only=True)
    assert alert == {
        "rule": "gpu-memory",
        "labels": GPU0,
        "state": "firing",
        "severity": "warning",
        "since": T0,
        "fired_at": T0 + 60,
        "value": 97.2,
    }


def test_a_pending_alert_that_recovers_never_fires_nor_notifies() -> None:
    store, rule, recorder = open_store(), memory_rule(for_seconds=60), Recorder()
    evaluate(store, rule, [Observation(GPU0, 99.0)], now=T0, notifiers=[recorder])

    assert evaluate(store, rule, [Observation(GPU0, 50.0)], now=T0 + 30, notifiers=[recorder]) == []
    assert active_alerts(store) == []
    # A new breach starts the wait again rather than resuming the old one.
    assert evaluate(store, rule, [Observation(GPU0, 99.0)], now=T0 + 61, notifiers=[recorder]) == []
    assert [a["since"] for a in active_alerts(store)] == [T0 + 61]

    assert recorder.events == []
    assert alert_history(store) == []


def test_a_firing_alert_notifies_once_however_long_it_breaches() -> None:
    store, rule, recorder = open_store(), memory_rule(), Recorder()

    first = evaluate(store, rule, [Observation(GPU0, 97.0)], now=T0, notifiers=[recorder])
    assert [e.status for e in first] == ["firing"]  # for_seconds = 0: firing in the same call
    assert first[0].message == "GPU 0 memory used is 97 (> 95)"
    for minute in range(1, 5):
        assert (
            evaluate(store, rule, [Observation(GPU0, 97.0 + minute)], now=T0 + 60 * minute, notifiers=[recorder]) == []
        )

    assert len(recorder.events) == 1
    assert len(alert_history(store)) == 1
    assert [a["value"] for a in active_alerts(store)] == [101.0]  # the latest value is kept


def test_hysteresis_keeps_it_firing_until_the_value_is_back_below_the_resolve_threshold() -> None:
    store, rule, recorder = open_store(), memory_rule(resolve_threshold=90.0), Recorder()
    evaluate(store, rule, [Observation(GPU0, 97.0)], now=T0, notifiers=[recorder])

    assert evaluate(store, rule, [Observation(GPU0, 92.0)], now=T0 + 10, notifiers=[recorder]) == []
    assert evaluate(store, rule, [Observation(GPU0, 95.0)], now=T0 + 20, notifiers=[recorder]) == []
    assert firing_count(store) == 1

    events = evaluate(store, rule, [Observation(GPU0, 80.1)], now=T0 + 30, notifiers=[recorder])

    assert [e.status for e in events] == ["resolved"]
    assert events[0].message == "resolved: GPU 0 memory used is 80.1 (back within 90)"
    assert [e.status for e in recorder.events] == ["firing", "resolved"]
    assert active_alerts(store) == []


def test_a_low_side_rule_fires_below_and_resolves_above_its_resolve_threshold() -> None:
    store, recorder = open_store(), Recorder()
    rule = AlertRule("slow-decode", "tokens_per_second", "<", 10.0, resolve_threshold=15.0, severity="critical")

    assert [e.status for e in evaluate(store, rule, [Observation({}, 8.0)], now=T0, notifiers=[recorder])] == ["firing"]
    assert evaluate(store, rule, [Observation({}, 12.0)], now=T0 + 1, notifiers=[recorder]) == []
    events = evaluate(store, rule, [Observation({}, 15.0)], now=T0 + 2, notifiers=[recorder])

    assert [(e.status, e.severity) for e in events] == [("resolved", "critical")]
    assert events[0].message == "resolved: tokens_per_second is 15 (back within 15)"


@pytest.mark.parametrize(("comparison", "resolve"), [(">", 99.0), (">=", 96.0), ("<", 90.0), ("<=", 94.0)])
def test_a_resolve_threshold_on_the_wrong_side_is_refused_naming_the_rule(comparison: str, resolve: float) -> None:
    with pytest.raises(InputError) as caught:
        memory_rule(comparison=comparison, resolve_threshold=resolve)
    message = str(caught.value)
    assert "gpu-memory" in message and "resolve_threshold" in message
    assert message.endswith(".") and "\n" not in message


def test_each_label_set_has_its_own_lifecycle() -> None:
    store, rule, recorder = open_store(), memory_rule(), Recorder()
    evaluate(store, rule, [Observation(GPU0, 97.0), Observation(GPU1, 50.0)], now=T0, notifiers=[recorder])
    assert [a["labels"] for a in active_alerts(store)] == [GPU0]

    events = evaluate(store, rule, [Observation(GPU0, 60.0), Observation(GPU1, 99.0)], now=T0 + 1, notifiers=[recorder])

    assert sorted((e.labels["gpu"], e.status) for e in events) == [("0", "resolved"), ("1", "firing")]
    assert [a["labels"] for a in active_alerts(store)] == [GPU1]


def test_missing_data_and_nan_leave_the_state_as_it_was() -> None:
    store, rule, recorder = open_store(), memory_rule(), Recorder()
    evaluate(store, rule, [Observation(GPU0, 97.0), Observation(GPU1, 98.0)], now=T0, notifiers=[recorder])

    # GPU 1 reports nothing, GPU 0 reports NaN: neither is a recovery.
    assert evaluate(store, rule, [Observation(GPU0, math.nan)], now=T0 + 10, notifiers=[recorder]) == []
    assert evaluate(store, rule, [], now=T0 + 20, notifiers=[recorder]) == []

    assert firing_count(store) == 2
    assert sorted(a["value"] for a in active_alerts(store)) == [97.0, 98.0]
    assert len(recorder.events) == 2


def test_history_records_each_firing_and_resolution_newest_first() -> None:
    store, rule, recorder = open_store(), memory_rule(severity="critical"), Recorder()
    evaluate(store, rule, [Observation(GPU0, 97.0)], now=T0, notifiers=[recorder])
    evaluate(store, rule, [Observation(GPU0, 70.0)], now=T0 + 120, notifiers=[recorder])

    history = alert_history(store)

    assert [(e.status, e.at, e.labels, e.severity, e.threshold) for e in history] == [
        ("resolved", T0 + 120, GPU0, "critical", 95.0),
        ("firing", T0, GPU0, "critical", 95.0),
    ]
    assert all(e.notified == {"recorder": "sent"} for e in history)
    assert [e.id for e in history] == [e.id for e in reversed(recorder.events)]
    assert [e.status for e in alert_history(store, limit=1)] == ["resolved"]


def test_a_pending_state_survives_reopening_the_store() -> None:
    rule, recorder = memory_rule(for_seconds=60), Recorder()
    evaluate(open_store(), rule, [Observation(GPU0, 97.0)], now=T0, notifiers=[recorder])

    # Another thread has its own connection: as a restarted process would.
    from lib.store import db

    db._migrated.clear()
    result: list = []
    worker = threading.Thread(
        target=lambda: result.extend(
            evaluate(open_store(), rule, [Observation(GPU0, 98.0)], now=T0 + 60, notifiers=[recorder])
        )
    )
    worker.start()
    worker.join()

    assert [(e.status, e.message) for e in result] == [("firing", "GPU 0 memory used is 98 (> 95) for 60 s")]


def test_a_failing_notifier_neither_stops_the_others_nor_loses_the_event() -> None:
    store, rule, recorder = open_store(), memory_rule(), Recorder()
    notifiers = [
        Broken("pager", PitwallError("The pager at example.invalid did not answer.")),
        Broken("buggy", RuntimeError("boom")),
        recorder,
    ]

    events = evaluate(store, rule, [Observation(GPU0, 97.0)], now=T0, notifiers=notifiers)

    assert len(recorder.events) == 1
    expected = {
        "pager": "failed: The pager at example.invalid did not answer.",
        "buggy": "failed: RuntimeError: boom",
        "recorder": "sent",
    }
    assert events[0].notified == expected
    (stored,) = alert_history(store)
    assert (stored.status, stored.notified) == ("firing", expected)
    assert firing_count(store) == 1


class ListHandler(logging.Handler):
    def __init__(self) -> None:
        super().__init__(logging.DEBUG)
        self.records: list[logging.LogRecord] = []

    def emit(self, record: logging.LogRecord) -> None:
        self.records.append(record)


def test_by_default_alerts_go_to_the_log_at_a_level_that_matches_them() -> None:
    store, handler = open_store(), ListHandler()
    logger = logging.getLogger("pitwall.alerts")
    logger.addHandler(handler)
    previous = logger.level
    logger.setLevel(logging.DEBUG)
    try:
        evaluate(store, memory_rule(severity="critical"), [Observation(GPU0, 97.0)], now=T0)
        evaluate(store, memory_rule(name="gpu-memory-low", severity="warning"), [Observation(GPU0, 97.0)], now=T0)
        (event,) = evaluate(store, memory_rule(severity="critical"), [Observation(GPU0, 10.0)], now=T0 + 5)
    finally:
        logger.removeHandler(handler)
        logger.setLevel(previous)

    assert event.notified == {"log": "sent"}
    assert [(r.levelno, r.getMessage()) for r in handler.records] == [
        (logging.ERROR, "[FIRING] critical: GPU 0 memory used is 97 (> 95)"),
        (logging.WARNING, "[FIRING] warning: GPU 0 memory used is 97 (> 95)"),
        (logging.INFO, "[RESOLVED] critical: resolved: GPU 0 memory used is 10 (back within 95)"),
    ]


def test_labels_the_summary_does_not_name_are_shown_beside_it() -> None:
    store = open_store()
    rule = AlertRule("ttft", "latency.ttft_p95_ms", ">=", 1000.0)

    (event,) = evaluate(store, rule, [Observation({"model": "smol", "route": "/chat"}, 1250.0)], now=T0, notifiers=[])

    assert event.message == "latency.ttft_p95_ms [model=smol, route=/chat] is 1250 (>= 1000)"
    assert event.notified == {}
