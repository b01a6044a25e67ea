"""Webhooks against a real local HTTP receiver: both notifications arrive, retries, refusals, timeouts."""

from __future__ import annotations

import base64
import json
import socket
import threading
import time
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import pytest

from lib.alerts import (
    AlertRule,
    LogNotifier,
    Observation,
    WebhookNotifier,
    alert_history,
    evaluate,
    notifiers_from_settings,
)
from lib.alerts.notifiers import send_test_notification
from lib.errors import PitwallError
from lib.settings import load_settings
from lib.store import open_store

TOKEN = "s3cret-token-do-not-print"
T0 = 1_700_000_000.0
RULE = AlertRule("gpu-memory", "gpu.memory_percent", ">", 95.0, resolve_threshold=90.0, summary="GPU {gpu} memory used")


class Receiver:
    """A real HTTP server on 127.0.0.1 that records each POST and answers with the given statuses, then 200."""

    def __init__(self, statuses: tuple[int, ...] = (), hold: threading.Event | None = None) -> None:
        self.statuses = list(statuses)
        self.hold = hold
        self.requests: list[dict] = []
        receiver = self

        class Handler(BaseHTTPRequestHandler):
            def do_POST(self) -> None:
                body = self.rfile.read(int(self.headers.get("Content-Length", 0)))
                receiver.requests.append({"path": self.path, "headers": dict(self.headers), "body": json.loads(body)})
                if receiver.hold is not None:
                    receiver.hold.wait(10)
                status = receiver.statuses.pop(0) if receiver.statuses else 200
                try:
                    self.send_response(status)
                    self.send_header("Content-Length", "2")
                    self.end_headers()
                    self.wfile.write(b"ok")
                except OSError:  # the client gave up (a timeout test)
                    pass

            def log_message(self, format: str, *args: object) -> None:
                pass

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.url = f"http://127.0.0.1:{self.server.server_address[1]}/hooks/pitwall"

    def __enter__(self) -> Receiver:
        threading.Thread(target=self.server.serve_forever, kwargs={"poll_interval": 0.02}, daemon=True).start()
        return self

    def __exit__(self, *exc: object) -> None:
        if self.hold is not None:
            self.hold.set()
        self.server.shutdown()
        self.server.server_close()


def closed_port() -> int:
    """A port on 127.0.0.1 that nothing listens on."""
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def assert_one_sentence(message: str) -> None:
    assert "\n" not in message and message.endswith("."), message
    assert TOKEN not in message


def test_a_rule_that_fires_then_resolves_reaches_the_webhook_twice() -> None:
    store = open_store()
    with Receiver() as receiver:
        webhook = WebhookNotifier(receiver.url, token=TOKEN, timeout=2, retries=0)
        evaluate(store, RULE, [Observation({"gpu": "0"}, 97.2)], now=T0, notifiers=[webhook])
        evaluate(store, RULE, [Observation({"gpu": "0"}, 80.1)], now=T0 + 60, notifiers=[webhook])

    bodies = [request["body"] for request in receiver.requests]
    assert [body["status"] for body in bodies] == ["firing", "resolved"]
    assert [body["text"] for body in bodies] == [
        "[FIRING] warning: GPU 0 memory used is 97.2 (> 95)",
        "[RESOLVED] warning: resolved: GPU 0 memory used is 80.1 (back within 90)",
    ]
    assert bodies[0] == {
        **bodies[0],
        "rule": "gpu-memory",
        "severity": "warning",
        "labels": {"gpu": "0"},
        "value": 97.2,
        "threshold": 95.0,
        "at": "2023-11-14T22:13:20Z",
        "source": "pitwall",
    }
    for request in receiver.requests:
        assert request["path"] == "/hooks/pitwall"
        assert request["headers"]["Authorization"] == f"Bearer {TOKEN}"
        assert request["headers"]["Content-Type"] == "application/json"
    assert [event.notified["webhook"] for event in alert_history(store)] == ["sent", "sent"]


def test_no_token_sends_no_authorization_header() -> None:
    with Receiver() as receiver:
        evaluate(
            open_store(), RULE, [Observation({"gpu": "0"}, 99.0)], now=T0, notifiers=[WebhookNotifier(receiver.url)]
        )
    (request,) = receiver.requests
    assert "Authorization" not in request["headers"]


def test_credentials_in_the_url_are_sent_as_basic_auth_not_in_the_address() -> None:
    with Receiver() as receiver:
        url = receiver.url.replace("http://", "http://alerts:p%40ss@")
        WebhookNotifier(url, timeout=2, retries=0).send(_event())
    (request,) = receiver.requests
    assert request["headers"]["Authorization"] == "Basic " + base64.b64encode(b"alerts:p@ss").decode()
    assert request["headers"]["Host"] == receiver.url.split("/")[2]


@pytest.mark.parametrize("statuses", [(500, 500), (503, 429)])
def test_server_errors_and_throttling_are_retried_with_growing_waits(statuses: tuple[int, ...]) -> None:
    waits: list[float] = []
    with Receiver(statuses) as receiver:
        webhook = WebhookNotifier(receiver.url, token=TOKEN, timeout=2, retries=3, backoff=0.5, sleep=waits.append)
        (event,) = evaluate(open_store(), RULE, [Observation({"gpu": "0"}, 99.0)], now=T0, notifiers=[webhook])

    assert len(receiver.requests) == 3
    assert waits == [0.5, 1.0]
    assert event.notified["webhook"] == "sent"


def test_the_waits_between_attempts_are_really_taken() -> None:
    with Receiver((500,)) as receiver:
        started = time.monotonic()
        WebhookNotifier(receiver.url, timeout=2, retries=1, backoff=0.2).send(_event())
        elapsed = time.monotonic() - started
    assert len(receiver.requests) == 2
    assert elapsed >= 0.2


def test_a_client_error_is_not_retried_and_never_shows_the_token() -> None:
    store = open_store()
    with Receiver((400, 400)) as receiver:
        webhook = WebhookNotifier(receiver.url, token=TOKEN, timeout=2, retries=3, backoff=0.01)
        with pytest.raises(PitwallError) as caught:
            webhook.send(_event())
        assert len(receiver.requests) == 1

        # Through evaluate, the failure is recorded on the stored event and the log notifier still ran.
        evaluate(store, RULE, [Observation({"gpu": "0"}, 99.0)], now=T0, notifiers=[LogNotifier(), webhook])

    message = str(caught.value)
    assert_one_sentence(message)
    assert message == (
        f"The webhook at {receiver.url.removesuffix('/hooks/pitwall')}/… failed after 1 attempt "
        "(HTTP 400 Bad Request); check alerts.webhook_url."
    )
    (stored,) = alert_history(store)
    assert stored.notified == {"log": "sent", "webhook": f"failed: {message}"}


def test_an_unreachable_webhook_fails_with_one_sentence_within_the_timeout() -> None:
    port = closed_port()
    url = f"http://user:password@127.0.0.1:{port}/hook?key=query-secret"
    webhook = WebhookNotifier(url, token=TOKEN, timeout=1.0, retries=2, backoff=0.01)

    started = time.monotonic()
    with pytest.raises(PitwallError) as caught:
        webhook.send(_event())
    elapsed = time.monotonic() - started

    message = str(caught.value)
    assert_one_sentence(message)
    assert elapsed < 1.0
    assert (
        f"127.0.0.1:{port}/…" in message
        and "/hook" not in message
        and "failed after 3 attempts (connection refused)" in message
    )
    assert "password" not in message and "query-secret" not in message


def test_a_webhook_that_does_not_answer_times_out() -> None:
    with Receiver(hold=threading.Event()) as receiver:
        webhook = WebhookNotifier(receiver.url, token=TOKEN, timeout=0.3, retries=0)
        started = time.monotonic()
        with pytest.raises(PitwallError) as caught:
            webhook.send(_event())
        elapsed = time.monotonic() - started

    assert_one_sentence(str(caught.value))
    assert "(timed out)" in str(caught.value)
    assert 0.3 <= elapsed < 2.0


def test_notifiers_follow_the_settings(monkeypatch: pytest.MonkeyPatch) -> None:
    assert [n.name for n in notifiers_from_settings(load_settings())] == ["log"]

    monkeypatch.setenv("PITWALL_ALERTS_WEBHOOK_URL", "https://hooks.example.com/T0/B0")
    monkeypatch.setenv("PITWALL_ALERTS_WEBHOOK_TOKEN", TOKEN)
    monkeypatch.setenv("PITWALL_ALERTS_WEBHOOK_TIMEOUT_SECONDS", "2.5")
    monkeypatch.setenv("PITWALL_ALERTS_WEBHOOK_RETRIES", "1")
    log, webhook = notifiers_from_settings(load_settings())

    assert isinstance(log, LogNotifier)
    assert isinstance(webhook, WebhookNotifier)
    assert (webhook.url, webhook.token, webhook.timeout, webhook.retries) == (
        "https://hooks.example.com/T0/B0",
        TOKEN,
        2.5,
        1,
    )


def test_a_test_notification_goes_through_every_configured_notifier(monkeypatch: pytest.MonkeyPatch) -> None:
    with Receiver() as receiver:
        monkeypatch.setenv("PITWALL_ALERTS_WEBHOOK_URL", receiver.url)
        outcome = send_test_notification(load_settings())

    assert outcome == {"log": "sent", "webhook": "sent"}
    (request,) = receiver.requests
    assert request["body"]["status"] == "firing" and request["body"]["rule"] == "pitwall-test"
    assert request["body"]["text"].startswith("[FIRING] info: ")
    assert alert_history(open_store()) == []  # a test is not an alert


def _event():
    from lib.alerts.engine import AlertEvent

    return AlertEvent(None, "gpu-memory", {"gpu": "0"}, "firing", "warning", 99.0, 95.0, "GPU 0 is full", T0)
