"""Service level objectives over production requests: SLIs, error budgets and multiwindow, multi-burn-rate alerts.

Following the Google SRE workbook ("Alerting on SLOs"): an objective's error budget is the share of
requests allowed to be bad (1 - target) over the budget period; the burn rate is how fast a window
spends it, error ratio / (1 - target), so 1 spends exactly the budget over the period. An alert
needs a long window (is it significant?) AND a short one (is it still happening?) above the same factor:

- 14.4 over 1 h and 5 min: page (2% of a 30-day budget in an hour);
- 6 over 6 h and 30 min: page (5% in six hours);
- 1 over 3 days and 6 h: ticket (10% in three days).

The short window also makes an alert resolve minutes after the problem stops. The alerts run on the
shared alerts module, so they land in the store and reach the same webhook as the GPU alerts.
"""

from __future__ import annotations

import time
from collections.abc import Sequence
from dataclasses import dataclass
from typing import NamedTuple

import pandas as pd

from lib.alerts import AlertRule, Observation, evaluate
from lib.alerts.engine import AlertEvent
from lib.alerts.notifiers import Notifier
from lib.settings import Settings
from lib.store import Store

RULE_PREFIX = "latency-slo-"
DAY = 86_400.0
# objective name -> frame column of its latency
COLUMNS = {"ttft": "ttft_ms", "tpot": "tpot_ms", "e2el": "e2el_ms"}
LABELS = {"ttft": "TTFT", "tpot": "TPOT", "e2el": "E2EL", "availability": "Availability"}
OK, WARNING, CRITICAL, NO_DATA = "ok", "warning", "critical", "no data"
BUDGET_WARNING = 0.25  # less than this share of the error budget left: warning


@dataclass(frozen=True)
class Objective:
    """One SLO: the share of requests (`target`) that must be good; good = at most `threshold_ms`, or succeeded."""

    name: str  # "ttft" | "tpot" | "e2el" | "availability"
    title: str  # e.g. "TTFT ≤ 1000 ms"
    threshold_ms: float | None
    target: float

    @property
    def label(self) -> str:
        """`TTFT`, `Availability`: the objective in one word."""
        return LABELS.get(self.name, self.name)

    @property
    def column(self) -> str | None:
        """The frame column a latency objective judges; None for availability."""
        return COLUMNS.get(self.name)


def objectives_from_settings(settings: Settings) -> list[Objective]:
    """TTFT, TPOT and E2EL objectives from latency.*, and availability, all at latency.slo_target."""
    target = float(settings["latency.slo_target"])
    limits = (
        ("ttft", settings["latency.slo_ttft_ms"]),
        ("tpot", settings["latency.slo_tpot_ms"]),
        ("e2el", settings["latency.slo_e2e_ms"]),
    )
    found = [Objective(name, f"{LABELS[name]} ≤ {float(ms):g} ms", float(ms), target) for name, ms in limits]
    return [*found, Objective("availability", "Availability", None, target)]  # good: the request succeeded


class BurnRateWindow(NamedTuple):
    """A burn-rate alert: fire when both windows burn at `factor` or faster."""

    factor: float
    long_s: float
    short_s: float
    severity: str  # critical pages, warning is a ticket

    @property
    def label(self) -> str:
        """`1h/5m`: the windows, as the alert's label."""
        return f"{_short(self.long_s)}/{_short(self.short_s)}"

    @property
    def text(self) -> str:
        """`1 h and 5 min`, for people."""
        return f"{_long(self.long_s)} and {_long(self.short_s)}"


BURN_RATE_WINDOWS: tuple[BurnRateWindow, ...] = (
    BurnRateWindow(14.4, 3_600.0, 300.0, "critical"),
    BurnRateWindow(6.0, 6 * 3_600.0, 1_800.0, "critical"),
    BurnRateWindow(1.0, 3 * DAY, 6 * 3_600.0, "warning"),
)


def in_window(frame: pd.DataFrame, window_s: float, now: float) -> pd.DataFrame:
    """The requests that started in (now - window_s, now]."""
    started = frame["started_at"]
    return frame[(started > now - window_s) & (started <= now)]


def good_and_events(frame: pd.DataFrame, objective: Objective) -> tuple[int, int]:
    """(good, events) of an objective: every request counts for availability; successful measured ones for latency."""
    if objective.column is None:
        return int(frame["ok"].sum()), len(frame)
    values = frame[objective.column]
    # A failed request has no meaningful latency (availability counts it); one without the value is not measured.
    measured = frame["ok"].astype(bool) & values.notna()
    return int((values[measured] <= objective.threshold_ms).sum()), int(measured.sum())


def error_ratio(frame: pd.DataFrame, objective: Objective) -> float | None:
    """The share of the objective's events that were bad; None without events."""
    good, events = good_and_events(frame, objective)
    return None if events == 0 else (events - good) / events


def burn_rate(frame: pd.DataFrame, objective: Objective, window_s: float, now: float) -> float | None:
    """How fast the window spends the error budget: error ratio / (1 - target); None without events."""
    ratio = error_ratio(in_window(frame, window_s, now), objective)
    return None if ratio is None else ratio / (1.0 - objective.target)


@dataclass(frozen=True)
class ErrorBudget:
    """An objective over its budget period: the SLI, the bad events allowed and how much of that is left."""

    sli: float | None  # good / events
    events: int
    bad: int
    allowed_bad: float  # (1 - target) * events
    remaining: float | None  # share of the budget left: 1 - bad / allowed_bad; negative once overspent
    state: str  # ok | warning | critical | no data


def budget_from_counts(good: int, events: int, target: float) -> ErrorBudget:
    """The error budget of `events` requests of which `good` met the objective."""
    if events == 0:
        return ErrorBudget(None, 0, 0, 0.0, None, NO_DATA)
    bad = events - good
    allowed = (1.0 - target) * events
    remaining = 1.0 - bad / allowed
    state = CRITICAL if remaining <= 0 else WARNING if remaining < BUDGET_WARNING else OK
    return ErrorBudget(good / events, events, bad, allowed, remaining, state)


def error_budget(frame: pd.DataFrame, objective: Objective, period_s: float, now: float) -> ErrorBudget:
    """The objective's error budget over the period ending at `now`."""
    good, events = good_and_events(in_window(frame, period_s, now), objective)
    return budget_from_counts(good, events, objective.target)


def budget_counts(
    store: Store, objectives: Sequence[Objective], since: float, until: float
) -> tuple[dict[str, tuple[int, int]], float | None]:
    """({objective: (good, events)}, last request time) of production requests in (since, until], in SQL.

    The same counts as `good_and_events`, without loading a month of requests into a frame (the Overview).
    """
    parts, params = ["COUNT(*)", "COALESCE(SUM(ok), 0)", "MAX(started_at)"], []
    for objective in objectives:
        if objective.column is not None:
            column = objective.column  # from COLUMNS, never user input
            parts.append(f"COALESCE(SUM(ok AND {column} IS NOT NULL AND {column} <= ?), 0)")
            parts.append(f"COALESCE(SUM(ok AND {column} IS NOT NULL), 0)")
            params.append(objective.threshold_ms)
    query = (
        f"SELECT {', '.join(parts)} FROM latency_requests WHERE run_id IS NULL AND started_at > ? AND started_at <= ?"
    )
    with store.read() as conn:
        row = conn.execute(query, [*params, float(since), float(until)]).fetchone()
    total, succeeded, last = int(row[0]), int(row[1]), row[2]
    counts, position = {}, 3
    for objective in objectives:
        if objective.column is None:
            counts[objective.name] = (succeeded, total)
        else:
            counts[objective.name] = (int(row[position]), int(row[position + 1]))
            position += 2
    return counts, None if last is None else float(last)


@dataclass(frozen=True)
class BurnRateAlertState:
    """One objective against one burn-rate window pair, now."""

    objective: str
    title: str
    windows: str  # "1h/5m"
    factor: float
    severity: str
    long_burn: float | None
    short_burn: float | None
    firing: bool

    @property
    def value(self) -> float:
        """What the alert compares with the factor: the lower burn rate (0 without traffic, so it resolves)."""
        return min(self.long_burn or 0.0, self.short_burn or 0.0)


def burn_rate_status(frame: pd.DataFrame, objectives: Sequence[Objective], now: float) -> list[BurnRateAlertState]:
    """Every objective against every window pair: both burn rates, and whether both reach the factor."""
    return [
        _alert_state(
            objective, window,
            burn_rate(frame, objective, window.long_s, now), burn_rate(frame, objective, window.short_s, now),
        )
        for objective in objectives
        for window in BURN_RATE_WINDOWS
    ]  # fmt: skip


def stored_burn_rate_status(store: Store, objectives: Sequence[Objective], now: float) -> list[BurnRateAlertState]:
    """`burn_rate_status` of the stored production requests, counted in SQL (no three days of rows in a frame)."""
    spans = sorted({span for window in BURN_RATE_WINDOWS for span in (window.long_s, window.short_s)})
    counts = {span: budget_counts(store, objectives, now - span, now)[0] for span in spans}

    def burn(objective: Objective, span: float) -> float | None:
        good, events = counts[span][objective.name]
        return None if events == 0 else (events - good) / events / (1.0 - objective.target)

    return [
        _alert_state(objective, window, burn(objective, window.long_s), burn(objective, window.short_s))
        for objective in objectives
        for window in BURN_RATE_WINDOWS
    ]


def _alert_state(
    objective: Objective, window: BurnRateWindow, long_burn: float | None, short_burn: float | None
) -> BurnRateAlertState:
    firing = long_burn is not None and short_burn is not None and min(long_burn, short_burn) >= window.factor
    return BurnRateAlertState(
        objective.name, objective.title, window.label, window.factor, window.severity, long_burn, short_burn, firing
    )


def burn_rule(objective: Objective, window: BurnRateWindow) -> AlertRule:
    """The alert rule of one objective and window pair, e.g. `latency-slo-ttft-1h`."""
    action = "page" if window.severity == "critical" else "ticket"
    what = f"{objective.label} SLO" + (f" ({objective.title})" if objective.title != objective.label else "")
    return AlertRule(
        name=f"{RULE_PREFIX}{objective.name}-{_short(window.long_s)}",
        metric="burn_rate",
        comparison=">=",
        threshold=window.factor,
        severity=window.severity,
        # "TTFT SLO (TTFT ≤ 1000 ms) error budget burn rate over 1 h and 5 min (page at 14.4x) [...] is 16.2"
        summary=f"{what} error budget burn rate over {window.text} ({action} at {window.factor:g}x)",
    )


def check_slos(
    store: Store,
    settings: Settings,
    now: float | None = None,
    notifiers: Sequence[Notifier] | None = None,
    in_background: bool = False,
) -> list[AlertEvent]:
    """Evaluate every burn-rate and latency-anomaly alert on the production requests; return what fired or resolved.

    `in_background` hands notifications to the alerts' delivery thread (ingest paths must not wait on a webhook).
    """
    from lib.latency.anomaly import BASELINE_S, anomaly_observations
    from lib.latency.records import production_frame

    now = time.time() if now is None else float(now)
    objectives = objectives_from_settings(settings)
    events: list[AlertEvent] = []
    states = {(state.objective, state.windows): state for state in stored_burn_rate_status(store, objectives, now)}
    for objective in objectives:
        for window in BURN_RATE_WINDOWS:
            state = states[(objective.name, window.label)]
            observation = Observation({"slo": objective.name, "windows": window.label}, state.value)
            events.extend(evaluate(store, burn_rule(objective, window), [observation], now, notifiers, in_background))
    frame = production_frame(store, since=now - BASELINE_S - 120.0, until=now + 1.0)  # the anomaly baseline only
    for rule, observation in anomaly_observations(frame, now, float(settings["latency.anomaly_z"])):
        events.extend(evaluate(store, rule, [observation], now, notifiers, in_background))
    return events


def _short(seconds: float) -> str:
    if seconds >= DAY and seconds % DAY == 0:
        return f"{seconds / DAY:g}d"
    if seconds >= 3_600 and seconds % 3_600 == 0:
        return f"{seconds / 3_600:g}h"
    return f"{seconds / 60:g}m"


def _long(seconds: float) -> str:
    if seconds >= DAY and seconds % DAY == 0:
        days = seconds / DAY
        return f"{days:g} day{'s' if days != 1 else ''}"
    if seconds >= 3_600 and seconds % 3_600 == 0:
        return f"{seconds / 3_600:g} h"
    return f"{seconds / 60:g} min"
