"""The real NVML on a machine with an NVIDIA GPU (`python3 -m pytest -m gpu`): no streamlit, no pandas needed."""

from __future__ import annotations

import subprocess
import sys
import time

import pytest

from lib.gpu.nvml import NvmlReader

pytestmark = pytest.mark.gpu
GIB = 1024**3
# Fields an H100/H200 answered through nvidia-ml-py 13 (REFERENCE.md: GPU); fan speed is NotSupported there.
DATA_CENTRE_FIELDS = (
    "name", "uuid", "memory_used_bytes", "memory_total_bytes", "memory_reserved_bytes", "gpu_util_percent",
    "memory_util_percent", "temperature_c", "temperature_slowdown_c", "power_w", "power_limit_w", "energy_j",
    "sm_clock_mhz", "sm_clock_max_mhz", "memory_clock_mhz", "memory_clock_max_mhz", "pstate",
    "clock_event_reasons", "pcie_tx_bytes_per_s", "pcie_rx_bytes_per_s", "ecc_enabled", "mig_enabled",
)  # fmt: skip


@pytest.fixture(scope="module")
def reader() -> NvmlReader:
    reader = NvmlReader()
    snapshot = reader.snapshot(with_processes=False)
    if not snapshot.gpus:
        pytest.skip(f"needs an NVIDIA GPU: {snapshot.reason}")
    return reader


def test_every_gpu_answers_the_fields_a_data_centre_gpu_has(reader: NvmlReader) -> None:
    snapshot = reader.snapshot()
    assert snapshot.driver and snapshot.reason is None
    for gpu in snapshot.gpus:
        print(f"GPU {gpu.index} {gpu.name}: not available: {gpu.unavailable}")
        missing = [name for name in DATA_CENTRE_FIELDS if getattr(gpu, name) is None]
        if "H100" in (gpu.name or "") or "H200" in (gpu.name or ""):
            assert missing == [], gpu.unavailable
        assert gpu.memory_total_bytes > 8 * GIB and 0 <= gpu.memory_percent <= 100
        assert 10 < gpu.temperature_c < gpu.temperature_slowdown_c
        assert 0 < gpu.power_w <= gpu.power_limit_w * 1.1
        assert gpu.lost is None


def test_a_process_holding_gpu_memory_is_listed_with_its_memory(reader: NvmlReader) -> None:
    holder = subprocess.Popen(
        [sys.executable, "-c", "import torch, time; x = torch.empty(2**30, dtype=torch.uint8, device='cuda'); "
         "print('ready', flush=True); time.sleep(60)"],
        stdout=subprocess.PIPE, text=True,
    )  # fmt: skip
    try:
        assert holder.stdout.readline().strip() == "ready"
        deadline = time.monotonic() + 20
        while time.monotonic() < deadline:
            processes = reader.snapshot().processes
            big = [p for p in processes if (p.used_memory_bytes or 0) >= GIB]
            if big:
                break
            time.sleep(0.5)
        print([(p.pid, p.name, p.user, p.used_memory_bytes) for p in processes])
        assert big, processes
        ours = [p for p in big if p.pid == holder.pid]
        if ours:  # the same PID namespace as the driver: the name and user can be read
            assert ours[0].name and ours[0].name.startswith("python")
        else:  # in a container NVML reports host PIDs: listed, and never named after an unrelated local PID
            assert all(p.name is None or p.name.startswith("python") for p in big), big
    finally:
        holder.kill()
        holder.wait()


def test_the_collector_writes_one_sample_per_real_gpu(reader: NvmlReader) -> None:
    from lib.gpu.collector import Collector
    from lib.store import open_store

    store = open_store()
    result = Collector(store, reader=lambda: reader, owner="gpu-test:1:1", notifiers=[]).tick()
    assert result.state == "collected" and result.samples == len(reader.snapshot(with_processes=False).gpus)
    with store.read() as conn:
        row = conn.execute("SELECT * FROM gpu_samples ORDER BY gpu LIMIT 1").fetchone()
    assert row["memory_total"] > 8 * GIB and row["temperature"] > 10


def test_the_exporter_serves_the_real_gpus(reader: NvmlReader) -> None:
    pytest.importorskip("prometheus_client")
    from lib.gpu.exporter import metrics_text

    text = metrics_text(reader).decode()
    count = len(reader.snapshot(with_processes=False).gpus)
    assert f"pitwall_gpu_count {count}.0" in text
    assert text.count("pitwall_gpu_memory_total_bytes{") == count


def test_one_sample_of_every_gpu_is_cheap(reader: NvmlReader) -> None:
    started = time.perf_counter()
    for _ in range(20):
        reader.snapshot(with_processes=False)
    each = (time.perf_counter() - started) / 20
    print(f"one snapshot of every GPU (no processes): {each * 1e3:.2f} ms")
    assert each < 0.5  # a sanity bound, not a benchmark: a 1 Hz collector must not spend its second here
