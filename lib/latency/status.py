"""The Latency tile: each SLO's error budget over its period, and the burn-rate and anomaly alerts firing now.

The budgets come from one SQL count over the period (no month of requests in a frame) and the
alerts from the store, so the tile agrees with the alert list and the Overview stays quick.
"""

from __future__ import annotations

import time
from collections.abc import Sequence

import pandas as pd

from lib.latency.anomaly import RULE_PREFIX as ANOMALY_PREFIX
from lib.latency.slo import (
    DAY,
    RULE_PREFIX,
    ErrorBudget,
    Objective,
    budget_counts,
    budget_from_counts,
    burn_rate,
    burn_rate_status,
    error_budget,
    objectives_from_settings,
)
from lib.settings import Settings
from lib.status import CRITICAL, NO_DATA, OK, WARNING, AreaStatus
from lib.store import Store

TITLE = "Latency"
STATE_ORDER = (NO_DATA, OK, WARNING, CRITICAL)
_COLUMN_LABELS = {"ttft_ms": "TTFT", "tpot_ms": "TPOT", "e2el_ms": "E2EL"}


def status(store: Store, settings: Settings, now: float | None = None) -> AreaStatus:
    """ok while every SLO keeps its budget; warning or critical on a firing alert or a spent budget; else no data."""
    from lib.alerts import active_alerts

    now = time.time() if now is None else float(now)
    days = float(settings["latency.slo_window_days"])
    objectives = objectives_from_settings(settings)
    counts, last = budget_counts(store, objectives, now - days * DAY, now)
    if last is None:
        return AreaStatus(
            "latency", TITLE, NO_DATA, "no requests recorded",
            f"No production request in the last {days:g} days: send records with track(), the ingest route or "
            "a log file on the Latency page (run a load test there to measure a server first).",
        )  # fmt: skip
    budgets = {o.name: budget_from_counts(*counts[o.name], o.target) for o in objectives}
    firing = [
        alert
        for alert in active_alerts(store, firing_only=True)
        if alert["rule"].startswith((RULE_PREFIX, ANOMALY_PREFIX))
    ]
    state, reasons = _judge(objectives, budgets, firing)
    measured = sum(budget.events > 0 for budget in budgets.values())
    headline = reasons[0] if reasons else f"{measured} SLO{'s' if measured != 1 else ''} met"
    listing = "; ".join(f"{o.title}: {budget_text(budgets[o.name])}" for o in objectives)
    detail = (f"{'; '.join(reasons)}. " if reasons else "") + f"Over {days:g} days: {listing}."
    return AreaStatus("latency", TITLE, state, headline, detail, last)


def _judge(
    objectives: Sequence[Objective], budgets: dict[str, ErrorBudget], firing: list[dict]
) -> tuple[str, list[str]]:
    """The worst state and every reason for it, critical reasons first."""
    by_name = {o.name: o for o in objectives}
    found: list[tuple[str, str]] = []
    # Burn-rate alerts, fastest burn first: the headline names the SLO in the most trouble.
    for alert in sorted(firing, key=lambda a: -(a["value"] or 0.0)):
        if alert["rule"].startswith(RULE_PREFIX):
            name = alert["labels"].get("slo", "")
            label = by_name[name].label if name in by_name else name
            severity = CRITICAL if alert["severity"] == "critical" else WARNING
            reason = f"{label} SLO burning {_times(alert['value'])} over {alert['labels'].get('windows', '?')}"
        else:
            column = alert["labels"].get("metric", alert["rule"].removeprefix(ANOMALY_PREFIX))
            severity = WARNING
            reason = f"{_COLUMN_LABELS.get(column, column)} p95 unusual (robust z {alert['value'] or 0:.1f})"
        found.append((severity, reason))
    for objective in objectives:
        budget = budgets[objective.name]
        if budget.state == CRITICAL:
            found.append((CRITICAL, f"{objective.label} error budget exhausted"))
        elif budget.state == WARNING:
            found.append((WARNING, f"{objective.label} error budget {_percent(budget.remaining)} left"))
    if not found:
        return OK, []
    state = max((severity for severity, _ in found), key=STATE_ORDER.index)
    reasons = [reason for severity, reason in found if severity == CRITICAL]
    reasons += [reason for severity, reason in found if severity != CRITICAL]
    return state, list(dict.fromkeys(reasons))


def budget_text(budget: ErrorBudget) -> str:
    """`99.4% (budget 40% left)`, `no requests measured`."""
    if budget.sli is None or budget.remaining is None:
        return "no requests measured"
    left = "budget exhausted" if budget.remaining <= 0 else f"budget {_percent(budget.remaining)} left"
    return f"{_percent(budget.sli, 2)} ({left})"


def slo_table(frame: pd.DataFrame, objectives: Sequence[Objective], now: float, period_s: float) -> pd.DataFrame:
    """One row per objective: SLO, target, SLI, events, bad, budget left, burn 1h, state (fractions as 0-1)."""
    alerts = burn_rate_status(frame, objectives, now)
    rows = []
    for objective in objectives:
        budget = error_budget(frame, objective, period_s, now)
        state = budget.state
        for alert in alerts:
            if alert.objective == objective.name and alert.firing:
                severity = CRITICAL if alert.severity == "critical" else WARNING
                state = max(state, severity, key=STATE_ORDER.index)
        rows.append(
            {
                "SLO": objective.title,
                "target": objective.target,
                "SLI": budget.sli,
                "events": budget.events,
                "bad": budget.bad,
                "budget left": budget.remaining,
                "burn 1h": burn_rate(frame, objective, 3_600.0, now),
                "state": state,
            }
        )
    columns = ["SLO", "target", "SLI", "events", "bad", "budget left", "burn 1h", "state"]
    return pd.DataFrame(rows, columns=columns)


def _percent(fraction: float, decimals: int = 0) -> str:
    """`40%`, `99.4%`: as few digits as say it."""
    text = f"{fraction * 100:.{decimals}f}"
    if "." in text:
        text = text.rstrip("0").rstrip(".")
    return f"{text}%"


def _times(value: float | None) -> str:
    """`16x`, `2.1x`."""
    value = value or 0.0
    return f"{value:.0f}x" if value >= 10 else f"{value:.1f}x"
