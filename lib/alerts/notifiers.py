"""Where alert events go: the log always, and a webhook (Slack-compatible JSON) when one is configured."""

from __future__ import annotations

import http.client
import logging
import time
import urllib.error
import urllib.request
from collections.abc import Callable, Iterable
from datetime import UTC, datetime
from typing import TYPE_CHECKING, Protocol

from lib import jsonsafe
from lib.errors import PitwallError, first_line
from lib.urls import display_url, network_reason, split_credentials

if TYPE_CHECKING:
    from lib.alerts.engine import AlertEvent
    from lib.settings import Settings

log = logging.getLogger("pitwall.alerts")
SENT = "sent"
TEST_RULE = "pitwall-test"


class Notifier(Protocol):
    """Something that delivers an alert event; `send` raises when it could not."""

    name: str

    def send(self, event: AlertEvent) -> None: ...


class LogNotifier:
    """Writes each event to Pitwall's log: firing as a warning (an error when critical), resolved as info."""

    name = "log"

    def send(self, event: AlertEvent) -> None:
        """Log the event's one-line text."""
        if event.status == "resolved" or event.rule == TEST_RULE:  # a test is not a warning
            level = logging.INFO
        else:
            level = logging.ERROR if event.severity == "critical" else logging.WARNING
        log.log(level, "%s", event_text(event))


class WebhookNotifier:
    """POSTs each event as JSON to a URL, retrying with growing waits on connection errors, 5xx and 429."""

    name = "webhook"

    def __init__(
        self,
        url: str,
        token: str = "",
        timeout: float = 5.0,
        retries: int = 3,
        backoff: float = 0.5,
        sleep: Callable[[float], None] = time.sleep,
    ):
        self.url = url
        self.token = token
        self.timeout = timeout
        self.retries = max(0, int(retries))
        self.backoff = backoff
        self._sleep = sleep

    @property
    def shown_url(self) -> str:
        """The URL as it may appear in messages: without any user:password or query string."""
        return display_url(self.url)

    def send(self, event: AlertEvent) -> None:
        """Deliver the event; raise PitwallError with one sentence after the last failed attempt."""
        body = jsonsafe.dumps(webhook_payload(event)).encode("utf-8")
        headers = {"Content-Type": "application/json", "User-Agent": "pitwall-alerts"}
        url, basic = split_credentials(self.url)
        if self.token:
            headers["Authorization"] = f"Bearer {self.token}"
        elif basic:
            headers["Authorization"] = f"Basic {basic}"
        attempts = self.retries + 1
        reason = "no attempt made"
        for attempt in range(attempts):
            try:
                request = urllib.request.Request(url, data=body, headers=headers, method="POST")
            except ValueError as error:
                raise PitwallError(
                    f"The webhook URL {self.shown_url} cannot be used ({first_line(error)}); check alerts.webhook_url."
                ) from None
            retry, reason = self._attempt(request)
            if reason is None:
                return
            if not retry:
                attempts = attempt + 1
                break
            if attempt + 1 < attempts:
                wait = self.backoff * 2**attempt
                log.info(
                    "webhook %s: attempt %d of %d failed (%s); retrying in %.2f s",
                    self.shown_url,
                    attempt + 1,
                    attempts,
                    self._redact(reason),
                    wait,
                )
                self._sleep(wait)
        plural = "attempt" if attempts == 1 else "attempts"
        raise PitwallError(
            f"The webhook at {self.shown_url} failed after {attempts} {plural} ({self._redact(reason)}); "
            "check alerts.webhook_url."
        )

    def _attempt(self, request: urllib.request.Request) -> tuple[bool, str | None]:
        """One POST: (whether a failure is worth retrying, the failure's reason or None on success)."""
        try:
            with urllib.request.urlopen(request, timeout=self.timeout) as response:
                response.read()
            return False, None
        except urllib.error.HTTPError as error:
            error.close()
            reason = f"HTTP {error.code}" + (f" {error.reason}" if error.reason else "")
            return error.code >= 500 or error.code == 429, reason
        except urllib.error.URLError as error:
            return True, network_reason(error.reason)
        except (TimeoutError, OSError, http.client.HTTPException) as error:
            return True, network_reason(error)

    def _redact(self, text: str) -> str:
        return text.replace(self.token, "***") if self.token else text


def notifiers_from_settings(settings: Settings) -> list[Notifier]:
    """The log notifier, and the webhook when `alerts.webhook_url` is set."""
    notifiers: list[Notifier] = [LogNotifier()]
    if settings["alerts.webhook_url"]:
        notifiers.append(
            WebhookNotifier(
                settings["alerts.webhook_url"],
                token=settings["alerts.webhook_token"],
                timeout=settings["alerts.webhook_timeout_seconds"],
                retries=settings["alerts.webhook_retries"],
            )
        )
    return notifiers


def deliver(event: AlertEvent, notifiers: Iterable[Notifier], log_failures: bool = True) -> dict[str, str]:
    """Send `event` through every notifier, one failing not stopping the others; {name: "sent" | "failed: ..."}."""
    outcome: dict[str, str] = {}
    for notifier in notifiers:
        try:
            notifier.send(event)
            outcome[notifier.name] = SENT
        except PitwallError as error:
            outcome[notifier.name] = f"failed: {error}"
            log.log(
                logging.WARNING if log_failures else logging.INFO,
                "alert %s (%s) not delivered by %s: %s",
                event.rule,
                event.status,
                notifier.name,
                error,
            )
        except Exception as error:  # a notifier's bug must not lose the other notifications
            outcome[notifier.name] = f"failed: {type(error).__name__}: {first_line(error)}"
            log.error("alert %s (%s): notifier %s broke", event.rule, event.status, notifier.name, exc_info=error)
    return outcome


def send_test_notification(settings: Settings) -> dict[str, str]:
    """Send a synthetic firing event through the configured notifiers; return each one's outcome."""
    from lib.alerts.engine import AlertEvent

    event = AlertEvent(
        id=None,
        rule=TEST_RULE,
        labels={"source": "python -m lib alerts test"},
        status="firing",
        severity="info",
        value=None,
        threshold=None,
        message="This is a test notification from Pitwall; real alerts will arrive like this.",
        at=time.time(),
        notified={},
    )
    return deliver(event, notifiers_from_settings(settings), log_failures=False)  # the caller reports them


def event_text(event: AlertEvent) -> str:
    """One line for chat and logs: `[FIRING] warning: GPU 0 memory used is 97.2 (> 95) for 60 s`."""
    return f"[{event.status.upper()}] {event.severity}: {event.message}"


def webhook_payload(event: AlertEvent) -> dict:
    """The JSON body of a webhook: Slack's `text` plus the event's fields for other receivers."""
    return {
        "text": event_text(event),
        "status": event.status,
        "rule": event.rule,
        "severity": event.severity,
        "labels": event.labels,
        "value": event.value,
        "threshold": event.threshold,
        "message": event.message,
        "at": iso_utc(event.at),
        "source": "pitwall",
    }


def iso_utc(timestamp: float) -> str:
    """`2024-05-01T12:00:00Z`: a Unix time as ISO-8601 in UTC."""
    return datetime.fromtimestamp(timestamp, UTC).isoformat(timespec="seconds").replace("+00:00", "Z")
