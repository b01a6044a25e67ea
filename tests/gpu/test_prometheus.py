"""The fleet view against a real Prometheus (Debian's 2.42) scraping two pitwall exporters and a dcgm-style one.

One Prometheus for the module: it scrapes node-a (3 fake GPUs) and node-b (2) through pitwall's exporter
and dcgm-node (2 GPUs) through an endpoint that speaks dcgm-exporter's names, every second. The fake GPUs
hold constant states, so what Prometheus answers must equal what the fakes measure.
"""

from __future__ import annotations

import json
import socket
import time
from collections.abc import Iterator
from dataclasses import dataclass

import pytest
from prometheus_client import CollectorRegistry, Gauge, start_http_server

from lib.errors import InputError, PitwallError
from lib.gpu.exporter import start_exporter
from lib.gpu.fake_nvml import GIB, FakeGpu, FakeNvml, GpuState
from lib.gpu.nvml import NvmlReader
from lib.gpu.prometheus import FleetView, fleet_from_series, fleet_history, fleet_text, read_fleet
from lib.promql import query, query_range
from tests.prometheus_server import (
    PROMETHEUS,
    assert_one_sentence,
    assert_unreachable_is_one_sentence,
    free_port,
    running_prometheus,
    wait_for_query,
)

MIB = 1024**2
# dcgm-node's two GPUs: (gpu, UUID, utilisation %, FB used MiB, FB free MiB, temperature C, power W)
DCGM_GPUS = [
    ("0", "GPU-dcgm-0000", 55.0, 20_480.0, 60_000.0, 66.0, 401.5),
    ("1", "GPU-dcgm-0001", 12.0, 1_024.0, 79_000.0, 41.0, 95.0),
]


def steady(index: int, throttled: bool = False) -> FakeGpu:
    """A fake H100 whose measurements never change, distinct per index."""
    state = GpuState(
        memory_used=(10 + index) * GIB,
        gpu_util=10.0 * (index + 1),
        temperature=50.0 + index,
        power_w=200.0 + 10 * index,
        clock_events=0x4 if throttled else 0x1,  # SW power cap, or idle
    )
    return FakeGpu(uuid=f"GPU-fake-{index:04d}", state=lambda _t: state)


@dataclass
class Fleet:
    url: str  # Prometheus
    exporter_url: str  # node-a's exporter: a server that is not Prometheus
    readers: dict[str, NvmlReader]


def dcgm_endpoint() -> tuple[object, object, int]:
    """A loopback endpoint with dcgm-exporter's names and labels (released versions' `Hostname`)."""
    registry = CollectorRegistry()
    labels = ["gpu", "UUID", "device", "modelName", "Hostname"]
    gauges = {
        name: Gauge(name, f"{name} (dcgm-exporter's name)", labels, registry=registry)
        for name in (
            "DCGM_FI_DEV_GPU_UTIL",
            "DCGM_FI_DEV_FB_USED",
            "DCGM_FI_DEV_FB_FREE",
            "DCGM_FI_DEV_GPU_TEMP",
            "DCGM_FI_DEV_POWER_USAGE",
        )
    }
    for gpu, uuid, util, used, free, temp, power in DCGM_GPUS:
        values = [gpu, uuid, f"nvidia{gpu}", "NVIDIA A100-SXM4-80GB", "dcgm-node"]
        gauges["DCGM_FI_DEV_GPU_UTIL"].labels(*values).set(util)
        gauges["DCGM_FI_DEV_FB_USED"].labels(*values).set(used)
        gauges["DCGM_FI_DEV_FB_FREE"].labels(*values).set(free)
        gauges["DCGM_FI_DEV_GPU_TEMP"].labels(*values).set(temp)
        gauges["DCGM_FI_DEV_POWER_USAGE"].labels(*values).set(power)
    server, thread = start_http_server(0, addr="127.0.0.1", registry=registry)
    return server, thread, server.server_address[1]


@pytest.fixture(scope="module")
def fleet(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Fleet]:
    """Two pitwall exporters, one dcgm-style endpoint, and a Prometheus scraping them every second."""
    if PROMETHEUS is None:  # the tests that need no server still run
        pytest.skip("needs Prometheus on PATH (Debian: apt-get install prometheus)")
    folder = tmp_path_factory.mktemp("prometheus")
    readers = {
        "node-a": NvmlReader(FakeNvml([steady(0), steady(1, throttled=True), steady(2)]), hostname="node-a"),
        "node-b": NvmlReader(FakeNvml([steady(3), steady(4)]), hostname="node-b"),
    }
    servers = []
    targets = []
    for reader in readers.values():
        server, thread = start_exporter(0, "127.0.0.1", lambda reader=reader: reader)
        servers.append((server, thread))
        targets.append(f"127.0.0.1:{server.server_address[1]}")
    dcgm_server, dcgm_thread, dcgm_port = dcgm_endpoint()
    servers.append((dcgm_server, dcgm_thread))
    scrape_configs = [
        {"job_name": "pitwall", "static_configs": [{"targets": targets}]},
        {"job_name": "dcgm", "static_configs": [{"targets": [f"127.0.0.1:{dcgm_port}"]}]},
    ]
    try:
        with running_prometheus(folder, scrape_configs) as prometheus:
            # every target scraped successfully: its `up` series all 1
            wait_for_query(prometheus, "count(up == 1)", [({}, 3.0)], "did not scrape all 3 targets")
            yield Fleet(prometheus.url, f"http://127.0.0.1:{servers[0][0].server_address[1]}", readers)
    finally:
        for server, thread in servers:
            server.shutdown()
            server.server_close()
            thread.join(5)


def test_the_fleet_lists_every_node_and_gpu_of_both_exporters(fleet: Fleet) -> None:
    view = read_fleet(fleet.url, timeout=5)
    assert [(gpu.hostname, gpu.gpu, gpu.source) for gpu in view.gpus] == [
        ("dcgm-node", "0", "dcgm"),
        ("dcgm-node", "1", "dcgm"),
        ("node-a", "0", "pitwall"),
        ("node-a", "1", "pitwall"),
        ("node-a", "2", "pitwall"),
        ("node-b", "0", "pitwall"),
        ("node-b", "1", "pitwall"),
    ]
    assert view.hosts == 3 and view.sources == ["pitwall", "dcgm"]
    assert view.url == fleet.url
    assert all(gpu.age_seconds is not None and 0 <= gpu.age_seconds < 10 for gpu in view.gpus)  # scraped every 1 s


def test_pitwall_gpus_show_what_the_fake_measured(fleet: Fleet) -> None:
    view = read_fleet(fleet.url)
    shown = {(gpu.hostname, gpu.gpu): gpu for gpu in view.gpus}
    for host, reader in fleet.readers.items():
        for reading in reader.snapshot(with_processes=False).gpus:
            gpu = shown[(host, str(reading.index))]
            assert gpu.uuid == reading.uuid and gpu.name == reading.name
            assert gpu.utilization_percent == reading.gpu_util_percent
            assert gpu.memory_used_bytes == reading.memory_used_bytes
            assert gpu.memory_total_bytes == reading.memory_total_bytes
            assert gpu.temperature_c == reading.temperature_c
            assert gpu.power_w == reading.power_w and gpu.power_limit_w == reading.power_limit_w
            assert gpu.temperature_slowdown_c == reading.temperature_slowdown_c
            assert gpu.up is True
    assert shown[("node-a", "1")].throttled is True
    assert shown[("node-a", "0")].throttled is False  # idle is not throttling
    assert shown[("node-b", "1")].memory_percent == pytest.approx(100 * 14 / 80)


def test_dcgm_gpus_are_read_in_bytes_with_their_labels(fleet: Fleet) -> None:
    view = read_fleet(fleet.url)
    dcgm = [gpu for gpu in view.gpus if gpu.source == "dcgm"]
    for gpu, (index, uuid, util, used, free, temp, power) in zip(dcgm, DCGM_GPUS, strict=True):
        assert (gpu.hostname, gpu.gpu, gpu.uuid, gpu.name) == ("dcgm-node", index, uuid, "NVIDIA A100-SXM4-80GB")
        assert gpu.utilization_percent == util
        assert gpu.memory_used_bytes == used * MIB
        assert gpu.memory_total_bytes == (used + free) * MIB
        assert gpu.temperature_c == temp and gpu.power_w == power
        assert gpu.power_limit_w is None and gpu.throttled is None  # dcgm's default fields do not say


def test_the_fleet_as_a_frame_json_and_text(fleet: Fleet) -> None:
    view = read_fleet(fleet.url)
    frame = view.frame()
    assert len(frame) == 7 and list(frame["hostname"].unique()) == ["dcgm-node", "node-a", "node-b"]
    assert frame.loc[0, "memory_percent"] == pytest.approx(100 * 20_480 / 80_480)
    data = json.loads(json.dumps(view.to_dict()))
    assert data["hosts"] == 3 and len(data["gpus"]) == 7
    text = fleet_text(view)
    assert text.splitlines()[0] == f"7 GPUs on 3 hosts from Prometheus at {fleet.url} (pitwall, dcgm)"
    assert "throttled" in text and "node-b" in text and "20.0/78.6 GiB (25%)" in text


def test_history_has_points_for_every_gpu(fleet: Fleet) -> None:
    history = fleet_history(fleet.url, "memory_used_bytes", window_seconds=60, timeout=5)
    assert list(history.columns) == ["ts", "hostname", "gpu", "value"]
    series = history.groupby(["hostname", "gpu"])["value"]
    assert series.size().min() >= 1 and len(series.size()) == 7
    assert series.max()[("dcgm-node", "0")] == 20_480 * MIB  # MiB turned into bytes
    assert series.max()[("node-b", "1")] == 14 * GIB
    assert history["ts"].between(time.time() - 70, time.time() + 1).all()
    utilization = fleet_history(fleet.url, "utilization_percent", window_seconds=60)
    assert utilization.groupby(["hostname", "gpu"])["value"].max()[("node-a", "2")] == 30.0


def test_history_keeps_to_max_points(fleet: Fleet) -> None:
    history = fleet_history(fleet.url, "power_w", window_seconds=600, max_points=10)
    points = history.groupby(["hostname", "gpu"]).size()
    # Ten points a minute apart: the fleet is only seconds old, so only the newest has a value, but it is there.
    assert len(points) == 7 and points.max() <= 10
    assert history.groupby(["hostname", "gpu"])["value"].last()[("node-a", "1")] == 210.0


def test_history_of_an_unknown_metric_is_refused() -> None:
    with pytest.raises(InputError, match="choose one of utilization_percent"):
        fleet_history("http://127.0.0.1:1", "fan_percent", window_seconds=60)


def test_a_range_query_answers_points(fleet: Fleet) -> None:
    end = time.time()
    series = query_range(fleet.url, "pitwall_gpu_count", end - 5, end, 1, timeout=5)
    counts = {labels["instance"]: points[-1][1] for labels, points in series}
    assert sorted(counts.values()) == [2.0, 3.0]


def test_an_unreachable_prometheus_is_one_sentence() -> None:
    assert_unreachable_is_one_sentence(lambda url: read_fleet(url, timeout=2))


def test_a_prometheus_that_never_answers_times_out() -> None:
    with socket.socket() as silent:  # accepts connections (the backlog) but never replies
        silent.bind(("127.0.0.1", 0))
        silent.listen()
        url = f"http://127.0.0.1:{silent.getsockname()[1]}"
        started = time.monotonic()
        with pytest.raises(PitwallError) as caught:
            read_fleet(url, timeout=0.3)
    assert time.monotonic() - started < 3
    assert_one_sentence(str(caught.value), url)
    assert "timed out" in str(caught.value)


def test_a_server_that_is_not_prometheus_is_named(fleet: Fleet) -> None:
    with pytest.raises(PitwallError) as caught:
        read_fleet(fleet.exporter_url + "/")
    assert_one_sentence(str(caught.value), fleet.exporter_url)
    assert "did not answer like Prometheus" in str(caught.value)


def test_a_wrong_path_is_an_http_error(fleet: Fleet) -> None:
    with pytest.raises(PitwallError) as caught:
        read_fleet(fleet.url + "/not-prometheus")
    assert_one_sentence(str(caught.value), fleet.url + "/…")
    assert "HTTP 404" in str(caught.value)


def test_bad_promql_reports_prometheus_own_error(fleet: Fleet) -> None:
    with pytest.raises(PitwallError) as caught:
        query(fleet.url, "sum(pitwall_gpu_power_watts", timeout=5)
    assert_one_sentence(str(caught.value), fleet.url)
    assert "refused the query (bad_data:" in str(caught.value) and "parse error" in str(caught.value)


def test_credentials_in_the_url_are_never_shown() -> None:
    url = f"http://admin:hunter2@127.0.0.1:{free_port()}"
    with pytest.raises(PitwallError) as caught:
        query(url, "up", timeout=1)
    assert "hunter2" not in str(caught.value) and "admin" not in str(caught.value)


def test_a_prometheus_without_gpu_series_is_an_empty_fleet() -> None:
    view = FleetView("http://prometheus:9090", time.time(), fleet_from_series([({"__name__": "up"}, 1.0)]))
    assert view.gpus == [] and view.hosts == 0
    assert fleet_text(view) == (
        "Prometheus at http://prometheus:9090 has no GPU series from pitwall's exporter or dcgm-exporter."
    )
    assert view.frame().empty and "memory_percent" in view.frame().columns


def test_newer_dcgm_hostname_labels_and_the_instance_fallback() -> None:
    series = [
        ({"__name__": "DCGM_FI_DEV_GPU_UTIL", "gpu": "10", "hostname": "new-dcgm"}, 5.0),
        ({"__name__": "DCGM_FI_DEV_GPU_UTIL", "gpu": "2", "hostname": "new-dcgm"}, 7.0),
        ({"__name__": "DCGM_FI_DEV_GPU_TEMP", "gpu": "0", "instance": "10.0.0.9:9400"}, 61.0),
        ({"__name__": "DCGM_FI_DEV_CLOCK_THROTTLE_REASONS", "gpu": "0", "instance": "10.0.0.9:9400"}, 0x41),
    ]
    gpus = fleet_from_series(series)
    assert [(gpu.hostname, gpu.gpu) for gpu in gpus] == [("10.0.0.9:9400", "0"), ("new-dcgm", "2"), ("new-dcgm", "10")]
    assert gpus[0].temperature_c == 61.0 and gpus[0].throttled is True  # HW thermal slowdown, besides idle


def test_a_node_with_both_exporters_is_one_row_preferring_pitwall() -> None:
    series = [
        ({"__name__": "pitwall_gpu_utilization_percent", "gpu": "0", "hostname": "n1", "uuid": "GPU-1"}, 40.0),
        ({"__name__": "DCGM_FI_DEV_GPU_UTIL", "gpu": "0", "Hostname": "n1", "UUID": "GPU-1"}, 39.0),
        ({"__name__": "DCGM_FI_DEV_GPU_TEMP", "gpu": "0", "Hostname": "n1", "UUID": "GPU-1"}, 55.0),
        ({"__name__": "pitwall_gpu_up", "gpu": "1", "hostname": "n1", "uuid": ""}, 0.0),
    ]
    gpus = fleet_from_series(series)
    assert len(gpus) == 2
    assert (gpus[0].source, gpus[0].utilization_percent, gpus[0].temperature_c) == ("pitwall", 40.0, 55.0)
    assert gpus[1].up is False and gpus[1].uuid is None
    assert "lost" in fleet_text(FleetView("http://p:9090", 0.0, gpus, ["pitwall", "dcgm"]))


def test_the_pages_fleet_tab_shows_every_node_and_gpu_scraped_by_prometheus(fleet: Fleet, monkeypatch) -> None:
    from tests.pages.test_pages import frame_with, page_app

    monkeypatch.setenv("PITWALL_GPU_PROMETHEUS_URL", fleet.url)
    at = page_app("pages.gpu_health").run(timeout=60)
    assert not at.exception, [e.value for e in at.exception]
    metrics = {metric.label: metric.value for metric in at.metric}
    assert (metrics["Nodes"], metrics["GPUs"]) == ("3", "7")
    table = frame_with(at, "Node")
    assert sorted(set(table["Node"])) == ["dcgm-node", "node-a", "node-b"]
    assert set(table["Source"]) == {"pitwall", "dcgm"}
    assert table["Throttled"].fillna(False).astype(bool).sum() >= 1
    assert (table["Scraped (s ago)"] < 30).all()  # every node current: no stale warning
    assert not at.warning
