"""The exporter over a fake NVML, scraped over real HTTP: names, labels, values, missing fields, no GPU, a busy port."""

from __future__ import annotations

import socket
import urllib.request
from collections.abc import Iterator

import pytest
from prometheus_client.parser import text_string_to_metric_families

from lib.errors import PitwallError
from lib.gpu.exporter import METRIC_NAMES, metrics_text, start_exporter
from lib.gpu.fake_nvml import GIB, FakeGpu, FakeNvml, GpuState
from lib.gpu.nvml import NvmlReader

HOST = "node-under-test"
BUSY = GpuState(
    memory_used=30 * GIB,
    gpu_util=87.0,
    memory_util=41.0,
    temperature=71.0,
    power_w=512.5,
    sm_clock=1755.0,
    memory_clock=2619.0,
    clock_events=0x20,  # SW thermal slowdown: a throttle
    pcie_tx_kb=800_000,
    pcie_rx_kb=300_000,
    ecc_uncorrected=2,
)
# GPU 1 cannot report power or temperature (as some boards cannot): those series must be absent, not 0.
NO_POWER = frozenset({"nvmlDeviceGetPowerUsage", "nvmlDeviceGetTemperature", "nvmlDeviceGetTotalEnergyConsumption"})


def three_gpus() -> list[FakeGpu]:
    return [
        FakeGpu(uuid="GPU-aaaaaaaa-0000", state=lambda _t: BUSY),
        FakeGpu(name="NVIDIA A100-SXM4-40GB", uuid="GPU-bbbbbbbb-0001", memory_total=40 * GIB, unsupported=NO_POWER),
        FakeGpu(uuid="GPU-cccccccc-0002", vanish_after=0),  # fell off the bus before the first scrape
    ]


def scrape(url: str) -> tuple[int, str, dict[str, dict[tuple, float]]]:
    """GET /metrics: status, content type, and {sample name: {sorted label items: value}}."""
    with urllib.request.urlopen(url, timeout=5) as response:
        status, kind, text = response.status, response.headers["Content-Type"], response.read().decode()
    return status, kind, parse(text)


def parse(text: str) -> dict[str, dict[tuple, float]]:
    samples: dict[str, dict[tuple, float]] = {}
    for family in text_string_to_metric_families(text):
        for sample in family.samples:
            samples.setdefault(sample.name, {})[tuple(sorted(sample.labels.items()))] = sample.value
    return samples


def by_gpu(samples: dict[str, dict[tuple, float]], name: str) -> dict[str, float]:
    """One metric's values keyed by the `gpu` label."""
    return {dict(labels).get("gpu", ""): value for labels, value in samples.get(name, {}).items()}


@pytest.fixture
def exporter() -> Iterator[str]:
    """The exporter on a free loopback port over three fake GPUs; yields its /metrics URL."""
    reader = NvmlReader(FakeNvml(three_gpus()), hostname=HOST)
    server, thread = start_exporter(0, "127.0.0.1", lambda: reader)
    yield f"http://127.0.0.1:{server.server_address[1]}/metrics"
    server.shutdown()
    server.server_close()
    thread.join(5)


def test_metrics_carry_the_fake_gpus_values_and_labels(exporter: str) -> None:
    status, kind, samples = scrape(exporter)
    assert status == 200 and kind.startswith("text/plain")
    assert samples["pitwall_gpu_count"] == {(): 3.0}
    labels = {dict(items)["gpu"]: dict(items) for items in samples["pitwall_gpu_up"]}
    assert labels["0"] == {
        "gpu": "0",
        "uuid": "GPU-aaaaaaaa-0000",
        "hostname": HOST,
        "name": "NVIDIA H100 80GB HBM3",
        "simulated": "false",
    }
    assert labels["1"]["name"] == "NVIDIA A100-SXM4-40GB"
    assert by_gpu(samples, "pitwall_gpu_up") == {"0": 1.0, "1": 1.0, "2": 0.0}
    assert by_gpu(samples, "pitwall_gpu_memory_used_bytes")["0"] == 30 * GIB
    assert by_gpu(samples, "pitwall_gpu_memory_total_bytes") == {"0": 80 * GIB, "1": 40 * GIB}
    # Free is what a process could still allocate: total less used and the driver's reserve.
    assert by_gpu(samples, "pitwall_gpu_memory_free_bytes")["0"] == 80 * GIB - 30 * GIB - 512 * 1024**2
    assert by_gpu(samples, "pitwall_gpu_utilization_percent")["0"] == 87.0
    assert by_gpu(samples, "pitwall_gpu_memory_utilization_percent")["0"] == 41.0
    assert by_gpu(samples, "pitwall_gpu_temperature_celsius") == {"0": 71.0}
    assert by_gpu(samples, "pitwall_gpu_temperature_slowdown_celsius") == {"0": 89.0, "1": 89.0}
    assert by_gpu(samples, "pitwall_gpu_power_watts") == {"0": 512.5}
    assert by_gpu(samples, "pitwall_gpu_power_limit_watts") == {"0": 700.0, "1": 700.0}
    assert by_gpu(samples, "pitwall_gpu_sm_clock_hertz")["0"] == 1755e6
    assert by_gpu(samples, "pitwall_gpu_memory_clock_hertz")["0"] == 2619e6
    assert by_gpu(samples, "pitwall_gpu_clock_event_reasons") == {"0": 0x20, "1": 0x1}
    assert by_gpu(samples, "pitwall_gpu_throttled") == {"0": 1.0, "1": 0.0}  # idle is not throttling
    assert by_gpu(samples, "pitwall_gpu_ecc_volatile_uncorrected_errors_total") == {"0": 2.0, "1": 0.0}
    assert by_gpu(samples, "pitwall_gpu_remapped_rows_pending") == {"0": 1.0, "1": 0.0}
    assert by_gpu(samples, "pitwall_gpu_pcie_tx_bytes_per_second")["0"] == 800_000 * 1024
    assert by_gpu(samples, "pitwall_gpu_pcie_rx_bytes_per_second")["0"] == 300_000 * 1024
    assert by_gpu(samples, "pitwall_gpu_energy_joules_total")["0"] >= 0
    assert set(samples) <= set(METRIC_NAMES)


def test_fields_a_gpu_cannot_report_are_absent_not_zero(exporter: str) -> None:
    _, _, samples = scrape(exporter)
    for name in ("pitwall_gpu_power_watts", "pitwall_gpu_temperature_celsius", "pitwall_gpu_energy_joules_total"):
        assert "1" not in by_gpu(samples, name), name
    # The lost GPU answers nothing: only its `up` series (0) says it is there.
    present = {name for name, series in samples.items() if "2" in by_gpu({name: series}, name)}
    assert present == {"pitwall_gpu_up"}


def test_every_scrape_reads_the_gpus_again() -> None:
    load = {"util": 10.0}
    reader = NvmlReader(FakeNvml([FakeGpu(state=lambda _t: GpuState(gpu_util=load["util"]))]), hostname=HOST)
    assert by_gpu(parse(metrics_text(reader).decode()), "pitwall_gpu_utilization_percent") == {"0": 10.0}
    load["util"] = 95.0
    assert by_gpu(parse(metrics_text(reader).decode()), "pitwall_gpu_utilization_percent") == {"0": 95.0}


def test_metrics_are_documented_with_help_text() -> None:
    reader = NvmlReader(FakeNvml(three_gpus()), hostname=HOST)
    families = list(text_string_to_metric_families(metrics_text(reader).decode()))
    assert {family.name for family in families} >= {"pitwall_gpu_count", "pitwall_gpu_up", "pitwall_gpu_energy_joules"}
    assert all(family.documentation for family in families)
    assert {family.name: family.type for family in families}["pitwall_gpu_energy_joules"] == "counter"


def test_a_machine_without_a_driver_still_answers_with_zero_gpus() -> None:
    reader = NvmlReader(FakeNvml([], missing_driver=True), hostname=HOST)
    server, thread = start_exporter(0, "127.0.0.1", lambda: reader)
    try:
        status, _, samples = scrape(f"http://127.0.0.1:{server.server_address[1]}/metrics")
    finally:
        server.shutdown()
        server.server_close()
        thread.join(5)
    assert status == 200
    assert samples == {"pitwall_gpu_count": {(): 0.0}}


def test_the_simulated_node_says_so_in_its_labels() -> None:
    reader = NvmlReader(FakeNvml([FakeGpu()]), simulated=True, hostname="simulated-node")
    up = parse(metrics_text(reader).decode())["pitwall_gpu_up"]
    assert [dict(labels)["simulated"] for labels in up] == ["true"]


def test_a_port_in_use_is_refused_in_one_sentence() -> None:
    reader = NvmlReader(FakeNvml([]), hostname=HOST)
    with socket.socket() as taken:
        taken.bind(("127.0.0.1", 0))
        taken.listen()
        port = taken.getsockname()[1]
        with pytest.raises(PitwallError) as caught:
            start_exporter(port, "127.0.0.1", lambda: reader)
    assert str(caught.value) == f"Port {port} is already in use; choose another with --port."
