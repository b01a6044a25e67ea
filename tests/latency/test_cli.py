"""`python -m lib latency ...`: the load test's JSON shape, stored runs, bad input as one sentence, ingest, SLOs."""

from __future__ import annotations

import json
import time
from pathlib import Path

import pytest

from lib.latency.runs import list_runs
from lib.samples.request_log import request_log
from lib.store import open_store
from tests.helpers import cli_in_process

DISTRIBUTION_KEYS = {"mean", "p50", "p90", "p95", "p99"}


def loadtest(url: str, *options: str):
    return cli_in_process("latency", "loadtest", "--endpoint", url, "--json", *options)


def test_loadtest_json_has_the_documented_shape_and_consistent_figures(stub_url: str) -> None:
    done = loadtest(stub_url, "--model", "slow", "--requests", "6", "--concurrency", "3", "--max-tokens", "5")
    assert done.returncode == 0, done.stderr
    result = json.loads(done.stdout)
    for key in ("completed", "failed", "duration_s", "request_throughput", "output_token_throughput", "goodput"):
        assert key in result
    assert (result["completed"], result["failed"], result["errors"]) == (6, 0, {})
    for key in ("ttft_ms", "tpot_ms", "itl_ms", "e2el_ms"):
        assert set(result[key]) == DISTRIBUTION_KEYS
    assert result["ttft_ms"]["p99"] <= result["e2el_ms"]["p50"]  # the first token comes before the last
    assert result["request_throughput"] == pytest.approx(6 / result["duration_s"])
    assert list_runs(open_store()) == []  # without --save nothing is stored


def test_saved_loadtest_is_a_run_whose_requests_export_as_jsonl(stub_url: str) -> None:
    done = loadtest(stub_url, "--model", "ok", "--requests", "4", "--save")
    assert done.returncode == 0, done.stderr
    run_id = json.loads(done.stdout)["run_id"]
    listed = json.loads(cli_in_process("latency", "runs", "--json").stdout)["runs"]
    assert [(run["id"], run["status"], run["model"]) for run in listed] == [(run_id, "complete", "ok")]
    lines = cli_in_process("latency", "show", str(run_id), "--requests").stdout.splitlines()
    rows = [json.loads(line) for line in lines]
    assert len(rows) == 4 and all(row["ok"] and row["run_id"] == run_id for row in rows)
    assert all(row["ttft_ms"] <= row["e2el_ms"] for row in rows)


def test_a_dead_endpoint_counts_failures_and_exits_1_with_one_sentence() -> None:
    done = cli_in_process(
        "latency", "loadtest", "--endpoint", "http://127.0.0.1:9", "--model", "m", "--requests", "3", "--json"
    )
    assert done.returncode == 1
    assert json.loads(done.stdout)["errors"] == {"unreachable": 3}
    assert done.stderr.strip().splitlines()[-1] == "pitwall: all 3 requests failed: unreachable (3)."
    assert "Traceback" not in done.stderr


@pytest.mark.parametrize(
    ("options", "message"),
    [
        (["--endpoint", "localhost:8000", "--model", "m"], "http"),
        (["--endpoint", "http://127.0.0.1:9", "--model", "m", "--requests", "0"], "request"),
    ],
)
def test_bad_arguments_are_one_sentence_before_anything_is_sent(options: list[str], message: str) -> None:
    done = cli_in_process("latency", "loadtest", *options)
    assert done.returncode != 0
    assert message in done.stderr.lower() and "Traceback" not in done.stderr
    assert len(done.stderr.strip().splitlines()) == 1


def test_a_wrong_model_name_is_counted_as_not_found(stub_url: str) -> None:
    result = json.loads(loadtest(stub_url, "--model", "unknown model", "--requests", "2").stdout)
    assert result["errors"] == {"not_found": 2}


def test_probe_times_a_model_in_process(tiny_model_dir: str) -> None:
    done = cli_in_process(
        "latency",
        "probe",
        "--model",
        tiny_model_dir,
        "--count",
        "2",
        "--max-new-tokens",
        "4",
        "--dtype",
        "float32",
        "--json",
    )
    assert done.returncode == 0, done.stderr
    result = json.loads(done.stdout)
    assert result["completed"] == 2 and result["tokens_per_s"] > 0
    assert result["ttft_ms"]["p50"] <= result["e2el_ms"]["p50"]


def test_ingest_then_slo_reports_the_planted_bad_hour_as_a_firing_burn(tmp_path: Path) -> None:
    log = request_log(end=time.time(), hours=4, bad_hour_ends_s=60, per_hour=600)
    path = tmp_path / "requests.jsonl"
    path.write_text(log.text)
    ingested = json.loads(cli_in_process("latency", "ingest", str(path), "--json").stdout)
    assert ingested["stored"] == log.rows and ingested["skipped"] == 0
    assert ingested["mapping"]["model"] == "gen_ai.request.model"
    again = json.loads(cli_in_process("latency", "ingest", str(path), "--json").stdout)
    assert (again["stored"], again["duplicates"]) == (0, log.rows)
    # Ingest checked the SLOs as the records arrived: the bad hour's slow first tokens page someone.
    firing = json.loads(cli_in_process("alerts", "list", "--json").stdout)
    rules = {alert["rule"] for alert in firing if alert["state"] == "firing"}
    assert "latency-slo-ttft-1h" in rules
    slo = json.loads(cli_in_process("latency", "slo", "--json").stdout)
    assert slo["state"] == "critical" and "burning" in slo["headline"]


def test_token_is_created_once_and_rotated_on_request() -> None:
    first = json.loads(cli_in_process("latency", "token", "--json").stdout)["token"]
    assert json.loads(cli_in_process("latency", "token", "--json").stdout)["token"] == first
    rotated = json.loads(cli_in_process("latency", "token", "--rotate", "--json").stdout)["token"]
    assert rotated != first and len(rotated) >= 32
