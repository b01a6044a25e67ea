"""The collector: samples into the store, one writer per store, alerts with hysteresis to the webhook, retention."""

from __future__ import annotations

import threading
import time

import pytest

from lib.alerts import active_alerts, alert_history
from lib.gpu.collector import Collector, collector_state, lease_seconds
from lib.gpu.fake_nvml import GIB, FakeGpu, FakeNvml, GpuState, simulated_node, uniform_gpus
from lib.gpu.nvml import NvmlReader
from lib.processes import HOST
from lib.settings import load_settings
from lib.store import open_store
from tests.alerts.test_notifiers import Receiver

T0 = 1_800_000_000.0  # a fixed epoch second, so the test controls time


class Clock:
    """Drives both the fake's script (seconds since start) and the collector's `now`."""

    def __init__(self) -> None:
        self.t = 0.0

    def __call__(self) -> float:
        return self.t


def collector_for(gpus, clock: Clock, owner: str = "host-a:1:1", notifiers=(), settings=None, hostname="node-a"):
    reader = NvmlReader(FakeNvml(gpus, elapsed=clock), hostname=hostname)
    settings = settings or load_settings()
    return Collector(
        open_store(),
        settings=lambda: settings,
        reader=lambda: reader,
        owner=owner,
        notifiers=None if notifiers is None else list(notifiers),
    )


def rows(sql: str, *args):
    with open_store().read() as conn:
        return conn.execute(sql, args).fetchall()


def test_each_tick_writes_one_row_per_gpu_with_the_gpus_values():
    clock = Clock()
    state = GpuState(memory_used=20 * GIB, gpu_util=64, temperature=58, power_w=300, clock_events=0x20)
    collector = collector_for([FakeGpu(state=lambda _t: state), FakeGpu(state=lambda _t: state)], clock)
    for second in range(3):
        clock.t = second
        assert collector.tick(T0 + second).state == "collected"
    samples = rows("SELECT * FROM gpu_samples ORDER BY ts, gpu")
    assert len(samples) == 6
    first = samples[0]
    assert (first["node"], first["gpu"], first["memory_used"], first["gpu_util"]) == ("node-a", 0, 20 * GIB, 64)
    assert (first["temperature"], first["power"], first["clock_reasons"]) == (58, 300, 0x20)
    devices = rows("SELECT node, gpu, name, temperature_slowdown FROM gpu_devices ORDER BY gpu")
    assert [tuple(row) for row in devices] == [
        ("node-a", 0, "NVIDIA H100 80GB HBM3", 89.0),
        ("node-a", 1, "NVIDIA H100 80GB HBM3", 89.0),
    ]


def test_a_second_collector_on_the_same_store_stands_by_and_takes_over_when_the_lease_expires():
    clock = Clock()
    first = collector_for(uniform_gpus(2), clock, owner="other-host:1:1")
    second = collector_for(uniform_gpus(2), clock, owner="this-host:2:2")
    assert first.tick(T0).state == "collected"
    assert second.tick(T0 + 1).state == "standby"
    assert len(rows("SELECT * FROM gpu_samples")) == 2  # no double write
    after_expiry = T0 + lease_seconds(1.0) + 0.1
    assert second.tick(after_expiry).state == "collected"
    assert first.tick(after_expiry + 1).state == "standby"  # the old holder yields
    assert len(rows("SELECT * FROM gpu_samples")) == 4


def test_a_collector_whose_process_died_on_this_machine_is_replaced_at_once():
    clock = Clock()
    dead_owner = f"{HOST}:999999999:1"
    collector_for(uniform_gpus(1), clock, owner=dead_owner).tick(T0)
    assert collector_for(uniform_gpus(1), clock, owner="this-host:2:2").tick(T0 + 1).state == "collected"


def test_run_samples_until_stopped_and_gives_the_lease_up():
    clock = Clock()
    settings = load_settings().with_overrides({"gpu.sample_interval_seconds": 0.1})
    collector = collector_for(uniform_gpus(2), clock, settings=settings, owner=None)
    stop = threading.Event()
    thread = threading.Thread(target=collector.run, args=(stop,))
    thread.start()
    deadline = time.monotonic() + 10
    while len(rows("SELECT * FROM gpu_samples")) < 6 and time.monotonic() < deadline:
        time.sleep(0.05)
    state = collector_state(open_store())
    assert state.running and state.interval_seconds == 0.1
    stop.set()
    thread.join(5)
    assert len(rows("SELECT * FROM gpu_samples")) >= 6
    assert not collector_state(open_store()).running


def test_without_a_gpu_a_tick_writes_nothing_and_says_why():
    reader = NvmlReader(FakeNvml([], missing_driver=True))
    result = Collector(open_store(), reader=lambda: reader, owner="a:1:1", notifiers=[]).tick(T0)
    assert result.state == "no gpu" and result.reason.startswith("No NVIDIA driver found")
    assert rows("SELECT * FROM gpu_samples") == []


def test_the_simulated_node_fires_every_gpu_rule_within_a_minute_and_the_webhook_receives_them(monkeypatch):
    with Receiver() as receiver:
        monkeypatch.setenv("PITWALL_ALERTS_WEBHOOK_URL", receiver.url)
        clock = Clock()
        collector = collector_for(simulated_node(), clock, notifiers=None, hostname="simulated-node")
        for second in range(61):
            clock.t = second
            collector.tick(T0 + second)
        firing = {(alert["rule"], alert["labels"]["gpu"]) for alert in active_alerts(open_store(), firing_only=True)}
        assert {
            ("gpu-memory", "1"),
            ("gpu-temperature", "2"),
            ("gpu-throttle", "2"),
            ("gpu-ecc", "2"),
            ("gpu-xid", "2"),
            ("gpu-throttle", "3"),
            ("gpu-power-cap", "3"),
        } <= firing
        assert not any(gpu == "0" for _rule, gpu in firing)  # the healthy GPU stays quiet
        deadline = time.monotonic() + 10  # notifications leave from a delivery thread
        while len(receiver.requests) < len(firing) and time.monotonic() < deadline:
            time.sleep(0.05)
        texts = [request["body"]["text"] for request in receiver.requests]
        assert any("XID" in text and "GPU 2 on simulated-node" in text for text in texts)
        assert any("power draw" in text and "GPU 3" in text for text in texts)
    power = next(event for event in alert_history(open_store()) if event.rule == "gpu-power-cap")
    assert power.at >= T0 + 10 + 30  # at its cap from 10 s, held 30 s before it fires


def test_memory_alert_resolves_only_back_past_the_hysteresis_band():
    clock = Clock()
    script = {0: 95, 1: 88, 2: 86, 3: 84}  # percent of 80 GiB, one per second

    def state(t: float) -> GpuState:
        return GpuState(memory_used=int(80 * GIB * script[int(t)] / 100))

    collector = collector_for([FakeGpu(memory_reserved=0, state=state)], clock, notifiers=[])
    statuses = []
    for second in range(4):
        clock.t = second
        statuses.append(collector.tick(T0 + second).events)
    assert "memory used (%) is 95" in statuses[0][0]
    assert statuses[1] == [] and statuses[2] == []  # 88 and 86: still above 85, still firing
    assert statuses[3] and statuses[3][0].startswith("resolved: GPU 0 on node-a: memory used (%) is 84")


def test_a_gpu_that_is_lost_raises_a_critical_alert():
    clock = Clock()
    collector = collector_for([FakeGpu(), FakeGpu(vanish_after=1)], clock, notifiers=[])
    collector.tick(T0)
    clock.t = 2
    events = collector.tick(T0 + 2).events
    assert any("GPU 1 on node-a: not answering NVML" in message for message in events)


def test_rollups_summarise_each_minute_and_retention_prunes_raw_samples():
    clock = Clock()
    settings = load_settings().with_overrides({"retention.raw_hours": 1.0})
    utilisation = {"value": 10.0}
    collector = collector_for(
        [FakeGpu(state=lambda _t: GpuState(gpu_util=utilisation["value"]))], clock, settings=settings, notifiers=[]
    )
    start = T0 - T0 % 60
    for second in range(0, 120, 10):  # two minutes: 10% then 30%
        utilisation["value"] = 10.0 if second < 60 else 30.0
        collector._last_maintenance = 0  # let every tick maintain; rollups are idempotent
        collector.tick(start + second)
    collector._last_maintenance = 0
    collector.tick(start + 3 * 3600)  # three hours later: the first two minutes are past raw retention
    rollups = rows("SELECT ts, samples, gpu_util FROM gpu_rollups ORDER BY ts")
    assert [tuple(row) for row in rollups[:2]] == [
        (start, 6, pytest.approx(10.0)),
        (start + 60, 6, pytest.approx(30.0)),
    ]
    remaining = rows("SELECT ts FROM gpu_samples")
    assert [row["ts"] for row in remaining] == [start + 3 * 3600]


def test_a_slow_webhook_does_not_hold_up_sampling(monkeypatch):
    hold = threading.Event()
    with Receiver(hold=hold) as receiver:  # accepts, then answers only when released
        monkeypatch.setenv("PITWALL_ALERTS_WEBHOOK_URL", receiver.url)
        clock = Clock()
        collector = collector_for(simulated_node(), clock, notifiers=None, hostname="simulated-node")
        started = time.monotonic()
        for second in range(45, 50):  # the ECC and XID alerts fire on the first of these ticks
            clock.t = second
            collector.tick(T0 + second)
        assert time.monotonic() - started < 2.0  # five ticks, not five webhook timeouts
        hold.set()
    assert len(rows("SELECT * FROM gpu_samples")) == 20


def test_gpus_that_stop_answering_after_being_sampled_are_lost_not_absent():
    clock = Clock()
    nvml = FakeNvml(uniform_gpus(2), elapsed=clock)
    reader = NvmlReader(nvml, hostname="node-a")
    collector = Collector(open_store(), reader=lambda: reader, owner="a:1:1", notifiers=[])
    assert collector.tick(T0).state == "collected"
    nvml.gpus = []  # the driver no longer sees them (a crash, a version mismatch after an upgrade)
    result = collector.tick(T0 + 1)
    assert result.state == "gpus lost"
    assert sorted(message for message in result.events) == [
        "GPU 0 on node-a: not answering NVML (1 = lost) is 1 (> 0.5)",
        "GPU 1 on node-a: not answering NVML (1 = lost) is 1 (> 0.5)",
    ]
    from lib.gpu.status import status

    tile = status(open_store(), load_settings(), now=T0 + 2)
    assert tile.state == "critical" and "not answering NVML" in tile.detail


def test_a_machine_that_never_had_a_gpu_does_not_take_the_lease():
    reader = NvmlReader(FakeNvml([], missing_driver=True))
    Collector(open_store(), reader=lambda: reader, owner="a:1:1", notifiers=[]).tick(T0)
    assert not collector_state(open_store(), now=T0).running
    # so a collector that does see GPUs is not kept on standby by it
    clock = Clock()
    assert collector_for(uniform_gpus(1), clock, owner="b:2:2").tick(T0 + 1).state == "collected"


def test_an_application_xid_warns_and_a_hardware_xid_is_critical():
    clock = Clock()
    gpus = [FakeGpu(xid_events=[(1.0, 13)]), FakeGpu(xid_events=[(1.0, 79)])]
    collector = collector_for(gpus, clock, notifiers=[])
    collector.tick(T0)
    clock.t = 1
    collector.tick(T0 + 1)
    firing = {(a["rule"], a["labels"]["gpu"], a["severity"]) for a in active_alerts(open_store(), firing_only=True)}
    assert firing == {("gpu-xid-application", "0", "warning"), ("gpu-xid", "1", "critical")}
