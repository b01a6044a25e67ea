"""The Alerts tile: what fires now, at its worst severity."""

from __future__ import annotations

from lib.settings import Settings
from lib.status import CRITICAL, OK, WARNING, AreaStatus
from lib.store import Store


def status(store: Store, settings: Settings) -> AreaStatus:
    """critical if a critical alert fires, warning if any other fires, else ok (pending ones are noted)."""
    from lib.alerts.engine import active_alerts

    alerts = active_alerts(store)
    firing = [alert for alert in alerts if alert["state"] == "firing"]
    pending = len(alerts) - len(firing)
    note = f"; {pending} pending" if pending else ""
    if not firing:
        hook = "webhook set" if settings["alerts.webhook_url"] else "no webhook set (log only)"
        return AreaStatus("alerts", "Alerts", OK, "none firing", f"Notifications: {hook}{note}.")
    worst = CRITICAL if any(alert["severity"] == "critical" for alert in firing) else WARNING
    names = ", ".join(sorted({alert["rule"] for alert in firing}))
    since = min(alert["fired_at"] or alert["since"] for alert in firing)
    return AreaStatus("alerts", "Alerts", worst, f"{len(firing)} firing", f"{names}{note}.", since)
