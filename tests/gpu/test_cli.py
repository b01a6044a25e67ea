"""`python -m lib gpu ...` as a user runs it: JSON out, exit 0 without a GPU, one sentence on bad input."""

from __future__ import annotations

import json

import pytest

from tests.helpers import assert_one_sentence_error, run_cli


def test_snapshot_without_a_gpu_exits_zero_with_an_empty_list_and_the_reason():
    done = run_cli("gpu", "snapshot", "--json")
    assert done.returncode == 0, done.stderr
    snapshot = json.loads(done.stdout)
    assert snapshot["gpus"] == [] and snapshot["processes"] == [] and snapshot["driver"] is None
    assert snapshot["reason"].startswith("No NVIDIA driver found")
    text = run_cli("gpu", "snapshot")
    assert text.returncode == 0 and text.stdout.startswith("No GPU: No NVIDIA driver found")


def test_the_simulated_node_is_switched_on_and_labelled_then_off_again():
    assert run_cli("gpu", "simulate", "on").returncode == 0
    snapshot = json.loads(run_cli("gpu", "snapshot", "--json").stdout)
    assert snapshot["simulated"] is True and snapshot["hostname"] == "simulated-node"
    assert len(snapshot["gpus"]) == 4 and len(snapshot["processes"]) == 4
    assert snapshot["reason"].startswith("No NVIDIA driver found")  # why the simulated node is shown
    assert "SIMULATED" in run_cli("gpu", "snapshot").stdout
    assert run_cli("gpu", "simulate", "off").returncode == 0
    assert json.loads(run_cli("gpu", "snapshot", "--json").stdout)["gpus"] == []


def test_collect_writes_history_that_history_reads_back():
    run_cli("gpu", "simulate", "on")
    done = run_cli("gpu", "collect", "--interval", "0.2", "--ticks", "3", "--json")
    assert done.returncode == 0, done.stderr
    assert json.loads(done.stdout) == {"ticks": 3}
    history = json.loads(run_cli("gpu", "history", "--window", "5 min", "--json").stdout)
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
    done = run_cli(*args)
    assert done.returncode == 1
    assert_one_sentence_error(done.stderr)
    assert words in done.stderr
