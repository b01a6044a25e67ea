"""`python -m lib alerts list|history|test`, run as a user would."""

from __future__ import annotations

import json

from lib.alerts import AlertRule, Observation, evaluate
from lib.store import open_store
from tests.alerts.test_notifiers import TOKEN, Receiver
from tests.helpers import assert_one_sentence_error, run_cli

RULE = AlertRule("gpu-memory", "gpu.memory_percent", ">", 95.0, severity="critical", summary="GPU {gpu} memory used")


def test_alerts_list_shows_what_fires_now() -> None:
    store = open_store()
    evaluate(store, RULE, [Observation({"gpu": "0"}, 97.5)], now=1_700_000_000.0, notifiers=[])
    slow = AlertRule("slow-decode", "tokens_per_second", "<", 10.0, for_seconds=300)
    evaluate(store, slow, [Observation({"model": "smol"}, 4.0)], now=1_700_000_000.0, notifiers=[])

    listed = run_cli("alerts", "list", "--json")
    firing = run_cli("alerts", "list", "--firing", "--json")
    text = run_cli("alerts", "list")

    assert listed.returncode == 0, listed.stderr
    assert [(a["rule"], a["state"], a["labels"]) for a in json.loads(listed.stdout)] == [
        ("gpu-memory", "firing", {"gpu": "0"}),
        ("slow-decode", "pending", {"model": "smol"}),
    ]
    (only,) = json.loads(firing.stdout)
    assert (only["rule"], only["severity"], only["value"], only["fired_at"]) == (
        "gpu-memory",
        "critical",
        97.5,
        1_700_000_000.0,
    )
    first, second = text.stdout.strip().splitlines()
    assert first.startswith("FIRING") and "gpu-memory [gpu=0]" in first and "97.5" in first
    assert second.startswith("PENDING") and "slow-decode [model=smol]" in second


def test_alerts_history_lists_events_newest_first() -> None:
    store = open_store()
    evaluate(store, RULE, [Observation({"gpu": "0"}, 97.5)], now=1_700_000_000.0, notifiers=[])
    evaluate(store, RULE, [Observation({"gpu": "0"}, 60.0)], now=1_700_000_100.0, notifiers=[])

    history = run_cli("alerts", "history", "--json")
    text = run_cli("alerts", "history", "--limit", "1")

    assert [(e["status"], e["message"]) for e in json.loads(history.stdout)] == [
        ("resolved", "resolved: GPU 0 memory used is 60 (back within 95)"),
        ("firing", "GPU 0 memory used is 97.5 (> 95)"),
    ]
    (line,) = text.stdout.strip().splitlines()
    assert "RESOLVED" in line and "gpu-memory: resolved: GPU 0 memory used is 60" in line


def test_alerts_list_and_history_say_when_there_is_nothing() -> None:
    assert run_cli("alerts", "list").stdout.strip() == "No alerts are pending or firing."
    assert run_cli("alerts", "history").stdout.strip() == "No alert has fired yet."
    assert json.loads(run_cli("alerts", "list", "--json").stdout) == []


def test_alerts_test_without_a_webhook_says_so_in_one_sentence() -> None:
    result = run_cli("alerts", "test")

    assert result.returncode == 1
    assert_one_sentence_error(result.stderr)
    assert "No webhook is configured" in result.stderr and "alerts.webhook_url" in result.stderr


def test_alerts_test_sends_one_notification_to_the_configured_webhook() -> None:
    with Receiver() as receiver:
        result = run_cli(
            "alerts",
            "test",
            env={"PITWALL_ALERTS_WEBHOOK_URL": receiver.url, "PITWALL_ALERTS_WEBHOOK_TOKEN": TOKEN},
        )

    assert result.returncode == 0, result.stderr
    shown = receiver.url.removesuffix("/hooks/pitwall") + "/…"  # the path may hold a token: never printed
    assert result.stdout.strip() == f"Sent a test notification to the webhook at {shown}."
    (request,) = receiver.requests
    assert request["body"]["rule"] == "pitwall-test" and request["body"]["status"] == "firing"
    assert request["headers"]["Authorization"] == f"Bearer {TOKEN}"


def test_alerts_test_reports_a_refusing_webhook_in_one_sentence_without_the_token() -> None:
    with Receiver((403,)) as receiver:
        result = run_cli(
            "alerts",
            "test",
            "--json",
            env={"PITWALL_ALERTS_WEBHOOK_URL": receiver.url, "PITWALL_ALERTS_WEBHOOK_TOKEN": TOKEN},
        )

    assert result.returncode == 1
    assert_one_sentence_error(result.stderr)
    assert "failed after 1 attempt (HTTP 403 Forbidden)" in result.stderr
    assert TOKEN not in result.stderr + result.stdout
    assert len(receiver.requests) == 1
