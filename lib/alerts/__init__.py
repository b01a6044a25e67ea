"""Alerts shared by every page: rules, one pending -> firing -> resolved lifecycle in the store, notifications."""

from lib.alerts.engine import AlertEvent, active_alerts, alert_history, evaluate, firing_count, retire
from lib.alerts.notifiers import LogNotifier, Notifier, WebhookNotifier, notifiers_from_settings, send_test_notification
from lib.alerts.rules import AlertRule, Observation, fingerprint

__all__ = [
    "AlertEvent",
    "AlertRule",
    "LogNotifier",
    "Notifier",
    "Observation",
    "WebhookNotifier",
    "active_alerts",
    "alert_history",
    "evaluate",
    "fingerprint",
    "firing_count",
    "notifiers_from_settings",
    "retire",
    "send_test_notification",
]
