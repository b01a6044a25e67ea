"""`python -m lib gpu ...` as a user runs it: JSON out, exit 0 without a GPU, one sentence on bad input."""

from __future__ import annotations

import json

import pytest

from tests.helpers import assert_one_sentence_error, cli_in_process


def test_snapshot_without_a_gpu_exits_zero_with_an_empty_list_and_the_reason():
    done = cli_in_process("gpu", "snapshot", "--json")
    assert done.returncode == 0, done.stderr
    snapshot = json.loads(done.stdout)
    assert snapshot["gpus"] == [] and snapshot["processes"] == [] and snapshot["driver"] is None
    assert snapshot["reason"].startswith("No NVIDIA driver found")
    text = cli_in_process("gpu", "snapshot")
    assert text.returncode == 0 and text.stdout.startswith("No GPU: No NVIDIA driver found")


def test_the_simulated_node_is_switched_on_and_labelled_then_off_again():
    assert cli_in_process("gpu", "simulate", "on").returncode == 0
    snapshot = json.loads(cli_in_process("gpu", "snapshot", "--json").stdout)
    assert snapshot["simulated"] is True and snapshot["hostname"] == "simulated-node"
    assert len(snapshot["gpus"]) == 4 and len(snapshot["processes"]) == 4
    assert snapshot["reason"].startswith("No NVIDIA driver found")  # why the simulated node is shown
    assert "SIMULATED" in cli_in_process("gpu", "snapshot").stdout
    assert cli_in_process("gpu", "simulate", "off").returncode == 0
    assert json.loads(cli_in_process("gpu", "snapshot", "--json").stdout)["gpus"] == []


def test_collect_writes_history_that_history_reads_back():
    cli_in_process("gpu", "simulate", "on")
    done = cli_in_process("gpu", "collect", "--interval", "0.2", "--ticks", "3", "--json")
    assert done.returncode == 0, done.stderr
    assert json.loads(done.stdout) == {"ticks": 3}
    history = json.loads(cli_in_process("gpu", "history", "--window", "5 min", "--json").stdout)
    assert history["source"] == "raw samples" and history["step_seconds"] == 1
    assert {point["gpu"] for point in history["points"]} == {0, 1, 2, 3}
    assert all(point["node"] == "simulated-node" for point in history["points"])


@pytest.mark.parametrize(
    ("args", "words"),
    [
        (("gpu", "collect", "--interval", "0"), "--interval must be between"),
        (("gpu", "history", "--window", "2 weeks"), "--window must be one of"),
        (("gpu", "fleet"), "No Prometheus server is set"),
    ],
)
def test_bad_options_get_one_sentence(args, words):
    done = cli_in_process(*args)
    assert done.returncode == 1
    assert_one_sentence_error(done.stderr)
    assert words in done.stderr


def test_switching_the_simulated_node_off_resolves_its_alerts():
    cli_in_process("gpu", "simulate", "on")
    cli_in_process("gpu", "collect", "--interval", "0.2", "--ticks", "2")
    switched_on_at = json.loads(cli_in_process("gpu", "simulate", "status", "--json").stdout)["since"]
    assert switched_on_at is not None
    # The story's memory alert needs 20 s; make it fire now by starting the story a minute ago.
    from lib.gpu.source import switch_simulated

    switch_simulated(True, now=switched_on_at - 60)
    cli_in_process("gpu", "collect", "--interval", "0.2", "--ticks", "2")
    firing = json.loads(cli_in_process("alerts", "list", "--firing", "--json").stdout)
    assert any(alert["labels"]["node"] == "simulated-node" for alert in firing)
    cli_in_process("gpu", "simulate", "off")
    assert json.loads(cli_in_process("alerts", "list", "--json").stdout) == []
    history = json.loads(cli_in_process("alerts", "history", "--json").stdout)
    assert any(event["message"] == "resolved: the simulated GPU node was switched off" for event in history)


def test_plan_for_the_embedded_model_gives_the_kv_cache_of_the_issue_and_empty_maps_without_a_gpu():
    done = cli_in_process(
        "gpu", "plan", "--model", "smollm2-135m", "--dtype", "bfloat16", "--context", "8192", "--batch", "4", "--json"
    )
    assert done.returncode == 0, done.stderr
    plan = json.loads(done.stdout)
    assert plan["kv_bytes_per_token"] == 23_040 and plan["kv_cache_bytes"] == 754_974_720
    assert plan["total_bytes"] == plan["weights_bytes"] + plan["kv_cache_bytes"] + plan["overhead_bytes"]
    assert plan["fits"] == {} and plan["max_batch"] == {}


def test_plan_against_the_simulated_node_says_which_gpus_fit():
    cli_in_process("gpu", "simulate", "on")
    plan = json.loads(
        cli_in_process("gpu", "plan", "--model", "smollm2-135m", "--context", "8192", "--batch", "4", "--json").stdout
    )
    assert plan["fits"] == {"0": True, "1": True, "2": True, "3": True}
    assert plan["max_batch"]["1"] < plan["max_batch"]["0"]  # GPU 1 is the one filling its memory


def test_plan_for_a_model_that_cannot_be_found_is_one_sentence():
    done = cli_in_process("gpu", "plan", "--model", "no-such-org/no-such-model")
    assert done.returncode == 1
    assert_one_sentence_error(done.stderr)
    assert "no-such-org/no-such-model" in done.stderr
