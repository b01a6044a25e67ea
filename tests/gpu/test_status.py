"""The GPU tile of the Overview: the worst verdict and its reason, read from the store."""

from __future__ import annotations

from lib.gpu.collector import Collector
from lib.gpu.fake_nvml import FakeNvml, simulated_node, uniform_gpus
from lib.gpu.nvml import NvmlReader
from lib.gpu.status import status
from lib.settings import load_settings
from lib.status import CRITICAL, NO_DATA, OK
from lib.store import open_store

T0 = 1_800_000_000.0


def collect(gpus, seconds: int, hostname: str = "node-a") -> None:
    clock = [0.0]
    reader = NvmlReader(FakeNvml(gpus, elapsed=lambda: clock[0]), hostname=hostname)
    collector = Collector(open_store(), reader=lambda: reader, owner="a:1:1", notifiers=[])
    for second in range(seconds):
        clock[0] = second
        collector.tick(T0 + second)


def test_no_recent_sample_is_no_data_with_what_to_do():
    tile = status(open_store(), load_settings(), now=T0)
    assert tile.state == NO_DATA and "simulated node" in tile.detail


def test_healthy_gpus_are_ok_with_their_count():
    collect(uniform_gpus(3), 2)
    tile = status(open_store(), load_settings(), now=T0 + 2)
    assert (tile.state, tile.headline) == (OK, "3 GPUs healthy")


def test_the_worst_gpu_and_its_reason_are_shown_and_simulated_data_says_so():
    collect(simulated_node(), 50, hostname="simulated-node")
    tile = status(open_store(), load_settings(), now=T0 + 50)
    assert tile.state == CRITICAL
    assert tile.headline == "3 of 4 GPUs (simulated) unhealthy"
    assert tile.detail.startswith("GPU 2 on simulated-node: ")


def test_samples_older_than_two_minutes_are_not_the_state_now():
    collect(uniform_gpus(1), 1)
    assert status(open_store(), load_settings(), now=T0 + 600).state == NO_DATA
