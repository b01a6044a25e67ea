"""`python -m lib alerts list|history|test`."""

from __future__ import annotations

import argparse
import time

from lib.alerts.engine import AlertEvent, active_alerts, alert_history, format_duration, format_number
from lib.alerts.notifiers import SENT, WebhookNotifier, display_url, send_test_notification
from lib.errors import InputError, PitwallError
from lib.output import emit
from lib.settings import load_settings
from lib.store import open_store


def register(groups: argparse._SubParsersAction, common: argparse.ArgumentParser) -> None:
    group = groups.add_parser("alerts", help="alerts: what is firing, what fired, a test notification")
    commands = group.add_subparsers(dest="command", required=True, metavar="COMMAND")
    listing = commands.add_parser("list", parents=[common], help="alerts pending or firing now")
    listing.add_argument("--firing", action="store_true", help="only firing alerts, not pending ones")
    listing.set_defaults(run=_list)
    history = commands.add_parser("history", parents=[common], help="alerts that fired or resolved, newest first")
    history.add_argument("--limit", type=int, default=100, help="at most this many events (default 100)")
    history.set_defaults(run=_history)
    test = commands.add_parser("test", parents=[common], help="send a test notification to the configured webhook")
    test.set_defaults(run=_test)


def _list(args: argparse.Namespace) -> None:
    alerts = active_alerts(open_store(), firing_only=args.firing)
    empty = "No alerts are firing." if args.firing else "No alerts are pending or firing."
    emit(alerts, args.json, lambda rows: "\n".join(map(alert_line, rows)) or empty)


def _history(args: argparse.Namespace) -> None:
    if args.limit < 1:
        raise InputError(f"--limit must be 1 or more, not {args.limit}.")
    events = alert_history(open_store(), args.limit)
    text = "\n".join(map(event_line, events)) or "No alert has fired yet."
    emit([event.to_dict() for event in events], args.json, lambda _: text)


def _test(args: argparse.Namespace) -> None:
    settings = load_settings()
    url = settings["alerts.webhook_url"]
    if not url:
        raise PitwallError(
            "No webhook is configured; set one with `python -m lib settings set alerts.webhook_url URL` "
            "(or $PITWALL_ALERTS_WEBHOOK_URL) and try again."
        )
    outcome = send_test_notification(settings)
    webhook = outcome.get(WebhookNotifier.name, "")
    if webhook != SENT:
        raise PitwallError(webhook.removeprefix("failed: ") or f"The webhook at {display_url(url)} was not tried.")
    result = {"webhook_url": display_url(url), "notified": outcome}
    emit(result, args.json, lambda r: f"Sent a test notification to the webhook at {r['webhook_url']}.")


def alert_line(alert: dict) -> str:
    """`FIRING   critical  gpu-memory [gpu=0]  97.2  firing for 5 min (since 2024-05-01 12:00:01)`."""
    labels = ", ".join(f"{key}={val}" for key, val in sorted(alert["labels"].items()))
    started = alert["fired_at"] if alert["state"] == "firing" and alert["fired_at"] else alert["since"]
    value = format_number(alert["value"]) if alert["value"] is not None else "-"
    return (
        f"{alert['state'].upper():<8} {alert['severity']:<8}  {alert['rule']}"
        + (f" [{labels}]" if labels else "")
        + f"  value {value}  {alert['state']} for {format_duration(max(0.0, time.time() - started))}"
        + f" (since {_clock(started)})"
    )


def event_line(event: AlertEvent) -> str:
    """`2024-05-01 12:00:01  FIRING    warning   gpu-memory: GPU 0 memory used is 97.2 (> 95) for 60 s`."""
    failed = [name for name, outcome in event.notified.items() if outcome != SENT]
    note = f"  (not delivered by {', '.join(failed)})" if failed else ""
    return f"{_clock(event.at)}  {event.status.upper():<8}  {event.severity:<8}  {event.rule}: {event.message}{note}"


def _clock(timestamp: float) -> str:
    return time.strftime("%Y-%m-%d %H:%M:%S", time.localtime(timestamp))
