"""The alert lifecycle every page shares: pending -> firing -> resolved, per rule and series, kept in the store.

`evaluate` takes a rule and this moment's observations and moves each series' state on:

- a breach starts a *pending* state; once it has lasted `for_seconds` the alert *fires* (at once when 0),
  which writes a 'firing' event and notifies;
- a pending series that stops breaching is forgotten, without an event or a notification;
- a firing series that still breaches stays firing, silently (one notification per incident);
- a firing series resolves only when its value *clears* the rule (past the resolve threshold: hysteresis),
  which writes a 'resolved' event and notifies;
- a series with no observation (or NaN) keeps its state: missing data is not recovery.

All of one call's changes are one transaction; notifications go out after it commits, and each
event then records what every notifier did with it.
"""

from __future__ import annotations

import json
import logging
import math
import queue
import string
import threading
import time
from collections.abc import Iterable, Sequence
from dataclasses import asdict, dataclass, field, replace
from typing import TYPE_CHECKING

from lib import jsonsafe
from lib.alerts.notifiers import LogNotifier, Notifier, deliver, notifiers_from_settings
from lib.alerts.rules import AlertRule, Observation, fingerprint
from lib.errors import PitwallError

if TYPE_CHECKING:
    import sqlite3

    from lib.store import Store

log = logging.getLogger("pitwall.alerts")
SEVERITY_ORDER = {"critical": 0, "warning": 1, "info": 2}


@dataclass(frozen=True)
class AlertEvent:
    """One change an alert went through (it fired, or it resolved), as stored in alert_events."""

    id: int | None
    rule: str
    labels: dict[str, str]
    status: str  # firing | resolved
    severity: str
    value: float | None
    threshold: float | None
    message: str
    at: float
    notified: dict[str, str] = field(default_factory=dict)  # notifier name -> "sent" | "failed: <reason>"

    def to_dict(self) -> dict:
        """The event as plain data."""
        return asdict(self)


def evaluate(
    store: Store,
    rule: AlertRule,
    observations: Iterable[Observation],
    now: float | None = None,
    notifiers: Sequence[Notifier] | None = None,
    in_background: bool = False,
) -> list[AlertEvent]:
    """Move each observed series of `rule` through its lifecycle; return the events (fired, resolved) this caused.

    `notifiers` default to the configured ones (the log, and the webhook when set); pass `[]` to send none.
    `in_background` hands the notifications to a delivery thread, for callers on a clock (the GPU
    collector) that a slow webhook must not hold up; each event's `notified` is filled in when done.
    """
    now = time.time() if now is None else float(now)
    latest: dict[str, tuple[dict[str, str], float]] = {}
    for observation in observations:
        value = _as_float(observation.value)
        if value is None:  # NaN or no value: as if nothing was observed
            continue
        labels = {str(key): str(val) for key, val in observation.labels.items()}
        latest[fingerprint(labels)] = (labels, value)  # the last value of a series wins
    if not latest:
        return []
    events: list[AlertEvent] = []
    with store.write() as conn:
        states = {
            row["fingerprint"]: row
            for row in conn.execute("SELECT * FROM alert_states WHERE rule = ?", (rule.name,)).fetchall()
        }
        for key, (labels, value) in latest.items():
            event = _step(conn, rule, key, labels, value, states.get(key), now)
            if event is not None:
                events.append(event)
    if not events:
        return []
    if notifiers is None:
        notifiers = _configured_notifiers()
    if in_background:
        _outbox().put((store, events, list(notifiers)))
        return events
    return _deliver_and_record(store, events, notifiers)


def _deliver_and_record(store: Store, events: list[AlertEvent], notifiers: Sequence[Notifier]) -> list[AlertEvent]:
    """Notify each event, then store what every notifier did with it."""
    events = [replace(event, notified=deliver(event, notifiers)) for event in events]
    with store.write() as conn:
        conn.executemany(
            "UPDATE alert_events SET notified = ? WHERE id = ?",
            [(jsonsafe.dumps(event.notified), event.id) for event in events],
        )
    return events


_queue: queue.Queue | None = None
_queue_lock = threading.Lock()


def _outbox() -> queue.Queue:
    """The delivery queue, and its one daemon thread (started on first use): notifications leave in order."""
    global _queue
    with _queue_lock:
        if _queue is None:
            _queue = queue.Queue()
            threading.Thread(
                target=_deliver_forever, args=(_queue,), name="pitwall-alert-delivery", daemon=True
            ).start()
        return _queue


def _deliver_forever(pending: queue.Queue) -> None:
    while True:
        store, events, notifiers = pending.get()
        try:
            _deliver_and_record(store, events, notifiers)
        except Exception:  # a broken notifier or store must not stop later deliveries
            log.exception("alert notifications could not be delivered or recorded")


def _step(
    conn: sqlite3.Connection,
    rule: AlertRule,
    key: str,
    labels: dict[str, str],
    value: float,
    state: sqlite3.Row | None,
    now: float,
) -> AlertEvent | None:
    """One series' transition for one observation; the event it causes, if any."""
    if state is not None and state["state"] == "firing":
        if rule.clears(value):
            _forget(conn, rule.name, key)
            return _record(conn, rule, key, labels, "resolved", value, now, resolved_message(rule, labels, value))
        # Still breaching, or between the threshold and the resolve threshold: firing, silently.
        conn.execute(
            "UPDATE alert_states SET value = ?, severity = ?, updated_at = ? WHERE rule = ? AND fingerprint = ?",
            (value, rule.severity, now, rule.name, key),
        )
        return None
    if not rule.breaches(value):
        if state is not None:  # pending, and it recovered before it was due: no event, no notification
            _forget(conn, rule.name, key)
        return None
    since = state["since"] if state is not None else now
    firing = now - since >= rule.for_seconds
    conn.execute(
        """
        INSERT INTO alert_states (rule, fingerprint, state, severity, since, fired_at, value, updated_at)
        VALUES (?, ?, ?, ?, ?, ?, ?, ?)
        ON CONFLICT (rule, fingerprint) DO UPDATE SET
            state = excluded.state, severity = excluded.severity, fired_at = excluded.fired_at,
            value = excluded.value, updated_at = excluded.updated_at
        """,
        (rule.name, key, "firing" if firing else "pending", rule.severity, since, now if firing else None, value, now),
    )
    if not firing:
        return None
    return _record(conn, rule, key, labels, "firing", value, now, firing_message(rule, labels, value, now - since))


def retire(store: Store, rule_prefix: str, labels: dict[str, str], reason: str, now: float | None = None) -> int:
    """Resolve, without notifying, every pending or firing series of rules named `rule_prefix`* that carries
    `labels`: its source is gone for good (a simulated node switched off), and missing data never resolves.
    """
    now = time.time() if now is None else float(now)
    retired = 0
    with store.write() as conn:
        for row in conn.execute("SELECT * FROM alert_states").fetchall():
            series = json.loads(row["fingerprint"])
            if not row["rule"].startswith(rule_prefix) or any(
                series.get(key) != value for key, value in labels.items()
            ):
                continue
            conn.execute(
                "DELETE FROM alert_states WHERE rule = ? AND fingerprint = ?", (row["rule"], row["fingerprint"])
            )
            if row["state"] == "firing":
                conn.execute(
                    "INSERT INTO alert_events (rule, fingerprint, status, severity, value, threshold, message, at, "
                    "notified) VALUES (?, ?, 'resolved', ?, ?, NULL, ?, ?, '{}')",
                    (row["rule"], row["fingerprint"], row["severity"], row["value"], f"resolved: {reason}", now),
                )
            retired += 1
    return retired


def _forget(conn: sqlite3.Connection, rule: str, key: str) -> None:
    conn.execute("DELETE FROM alert_states WHERE rule = ? AND fingerprint = ?", (rule, key))


def _record(
    conn: sqlite3.Connection,
    rule: AlertRule,
    key: str,
    labels: dict[str, str],
    status: str,
    value: float,
    now: float,
    message: str,
) -> AlertEvent:
    cursor = conn.execute(
        """
        INSERT INTO alert_events (rule, fingerprint, status, severity, value, threshold, message, at, notified)
        VALUES (?, ?, ?, ?, ?, ?, ?, ?, NULL)
        """,
        (rule.name, key, status, rule.severity, value, rule.threshold, message, now),
    )
    return AlertEvent(cursor.lastrowid, rule.name, labels, status, rule.severity, value, rule.threshold, message, now)


def _configured_notifiers() -> list[Notifier]:
    """The notifiers in settings; only the log if the settings cannot be read (alerts must still be recorded)."""
    from lib.settings import load_settings

    try:
        return notifiers_from_settings(load_settings())
    except PitwallError as error:
        log.warning("alert notifications go to the log only, as the settings cannot be read: %s", error)
        return [LogNotifier()]


def active_alerts(store: Store, firing_only: bool = False) -> list[dict]:
    """Series that are pending or firing now: firing first, then by severity, oldest first."""
    sql = "SELECT * FROM alert_states" + (" WHERE state = 'firing'" if firing_only else "")
    with store.read() as conn:
        rows = conn.execute(sql).fetchall()
    alerts = [
        {
            "rule": row["rule"],
            "labels": json.loads(row["fingerprint"]),
            "state": row["state"],
            "severity": row["severity"],
            "since": row["since"],
            "fired_at": row["fired_at"],
            "value": row["value"],
        }
        for row in rows
    ]
    alerts.sort(key=lambda a: (a["state"] != "firing", SEVERITY_ORDER.get(a["severity"], 9), a["since"], a["rule"]))
    return alerts


def alert_history(store: Store, limit: int = 100, rule_prefix: str = "") -> list[AlertEvent]:
    """The latest `limit` events (fired, resolved) of rules named `rule_prefix`*, newest first."""
    with store.read() as conn:
        rows = conn.execute(
            "SELECT * FROM alert_events WHERE substr(rule, 1, ?) = ? ORDER BY at DESC, id DESC LIMIT ?",
            (len(rule_prefix), rule_prefix, int(limit)),
        ).fetchall()
    return [
        AlertEvent(
            id=row["id"],
            rule=row["rule"],
            labels=json.loads(row["fingerprint"]),
            status=row["status"],
            severity=row["severity"],
            value=row["value"],
            threshold=row["threshold"],
            message=row["message"],
            at=row["at"],
            notified=json.loads(row["notified"]) if row["notified"] else {},
        )
        for row in rows
    ]


def firing_count(store: Store) -> int:
    """How many series are firing now."""
    with store.read() as conn:
        return conn.execute("SELECT COUNT(*) FROM alert_states WHERE state = 'firing'").fetchone()[0]


def firing_message(rule: AlertRule, labels: dict[str, str], value: float, duration: float) -> str:
    """`GPU 0 memory used is 97.2 (> 95) for 60 s`."""
    held = f" for {format_duration(duration)}" if duration > 0 else ""
    limit = f"{rule.comparison} {format_number(rule.threshold)}"
    return f"{subject(rule, labels)} is {format_number(value)} ({limit}){held}"


def resolved_message(rule: AlertRule, labels: dict[str, str], value: float) -> str:
    """`resolved: GPU 0 memory used is 80.1 (back within 90)`."""
    within = format_number(rule.effective_resolve_threshold)
    return f"resolved: {subject(rule, labels)} is {format_number(value)} (back within {within})"


def subject(rule: AlertRule, labels: dict[str, str]) -> str:
    """What is measured, for people: the rule's summary with `{label}` fields filled, else the metric and labels."""
    text, used = rule.summary or rule.metric, set()
    if rule.summary:
        try:
            used = {name for _, name, _, _ in string.Formatter().parse(rule.summary) if name}
            if used <= labels.keys():
                text = rule.summary.format_map(labels)
            else:  # a field this series has no label for: the summary as written, every label shown
                used = set()
        except (ValueError, IndexError, AttributeError):  # braces that are not fields: the summary as written
            text, used = rule.summary, set()
    rest = {key: val for key, val in sorted(labels.items()) if key not in used}
    return text + (f" [{', '.join(f'{key}={val}' for key, val in rest.items())}]" if rest else "")


def format_number(value: float) -> str:
    """97.2, 95, 0.004, 12,345: as few digits as say it."""
    if not math.isfinite(value):
        return str(value)
    if abs(value) >= 10_000:
        return f"{value:,.0f}"
    return f"{round(value, 3):.12g}" if abs(value) >= 0.01 or value == 0 else f"{value:.2g}"


def format_duration(seconds: float) -> str:
    """`45 s`, `5 min`, `2.5 h`."""
    if seconds < 120:
        return f"{seconds:.0f} s"
    if seconds < 7200:
        return f"{seconds / 60:.0f} min"
    return f"{seconds / 3600:.1f} h"


def _as_float(value: object) -> float | None:
    try:
        number = float(value)  # type: ignore[arg-type]
    except (TypeError, ValueError):
        return None
    return None if math.isnan(number) else number
