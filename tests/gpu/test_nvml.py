"""The NVML layer against a fake NVML at the pynvml boundary, as gpustat tests: every failure is a value, no crash."""

from __future__ import annotations

import os

import pytest

from lib.gpu.fake_nvml import GIB, FakeGpu, FakeNvml, GpuState, simulated_node, uniform_gpus
from lib.gpu.nvml import GpuReading, NvmlReader, decode_clock_events, describe_pid


def reader_of(gpus: list[FakeGpu], at: float = 0.0, **options) -> tuple[NvmlReader, list[float]]:
    clock = [at]
    return NvmlReader(FakeNvml(gpus, elapsed=lambda: clock[0], **options), hostname="node-a"), clock


def test_a_healthy_gpu_reads_every_field_with_nvml_units_converted():
    state = GpuState(memory_used=10 * GIB, gpu_util=55, memory_util=30, temperature=61, power_w=350.5,
                     sm_clock=1755, clock_events=0, pcie_tx_kb=1000, pcie_rx_kb=2000, fan=40)  # fmt: skip
    reader, _ = reader_of([FakeGpu(name="NVIDIA H200", uuid="GPU-abc", state=lambda _t: state)])
    snapshot = reader.snapshot()
    assert snapshot.reason is None and snapshot.driver == "550.54.15" and snapshot.hostname == "node-a"
    gpu = snapshot.gpus[0]
    assert (gpu.name, gpu.uuid) == ("NVIDIA H200", "GPU-abc")
    assert gpu.memory_used_bytes == 10 * GIB and gpu.memory_total_bytes == 80 * GIB
    assert gpu.memory_reserved_bytes == 512 * 1024**2  # the v2 memory call
    assert gpu.memory_free_bytes == 80 * GIB - 10 * GIB - 512 * 1024**2
    assert gpu.power_w == pytest.approx(350.5) and gpu.power_limit_w == 700  # mW -> W
    assert gpu.pcie_tx_bytes_per_s == 1000 * 1024  # KB/s -> B/s
    assert (gpu.temperature_c, gpu.temperature_slowdown_c, gpu.fan_percent) == (61, 89, 40)
    assert (gpu.sm_clock_mhz, gpu.sm_clock_max_mhz) == (1755, 1980)
    assert gpu.ecc_enabled is True and gpu.ecc_volatile_uncorrected == 0 and gpu.mig_enabled is False
    assert gpu.throttle_reasons == [] and gpu.unavailable == {} and gpu.lost is None


def test_a_field_nvml_does_not_support_is_not_available_and_the_rest_still_reads():
    gpus = [FakeGpu(unsupported=frozenset({"nvmlDeviceGetFanSpeed", "nvmlDeviceGetPowerUsage", "nvmlDeviceGetUUID"}))]
    gpu = reader_of(gpus)[0].snapshot().gpus[0]
    assert gpu.fan_percent is None and gpu.power_w is None and gpu.uuid is None
    assert gpu.unavailable == {"fan_percent": "Not Supported", "power_w": "Not Supported", "uuid": "Not Supported"}
    assert gpu.temperature_c == 35 and gpu.memory_total_bytes == 80 * GIB and gpu.lost is None


def test_every_single_field_failing_alone_never_raises():
    calls = [name for name in dir(FakeNvml) if name.startswith("nvmlDeviceGet") and name not in (
        "nvmlDeviceGetCount", "nvmlDeviceGetHandleByIndex", "nvmlDeviceGetIndex")]  # fmt: skip
    for call in calls:
        snapshot = reader_of([FakeGpu(unsupported=frozenset({call}))])[0].snapshot()
        assert len(snapshot.gpus) == 1, call
        assert snapshot.gpus[0].lost is None, call


def test_a_driver_too_old_for_the_v2_memory_call_falls_back_to_v1():
    gpu = reader_of([FakeGpu(state=lambda _t: GpuState(memory_used=4 * GIB))])[0]
    nvml = gpu._nvml
    original = nvml.nvmlDeviceGetMemoryInfo

    def v1_only(handle, version=None):
        if version is not None:
            raise nvml.NVMLError(3)
        return original(handle)

    nvml.nvmlDeviceGetMemoryInfo = v1_only
    reading = gpu.snapshot().gpus[0]
    assert reading.memory_used_bytes == 4 * GIB + 512 * 1024**2  # v1 counts reserved memory as used
    assert reading.memory_reserved_bytes is None and "memory_used_bytes" not in reading.unavailable


def test_without_a_driver_the_snapshot_is_empty_with_nvmls_reason():
    snapshot = reader_of([], missing_driver=True)[0].snapshot()
    assert snapshot.gpus == [] and snapshot.driver is None
    assert snapshot.reason.startswith("No NVIDIA driver found")


def test_a_driver_without_gpus_says_so():
    snapshot = reader_of([])[0].snapshot()
    assert snapshot.gpus == [] and "sees no GPU" in snapshot.reason


def test_a_gpu_that_falls_off_the_bus_mid_run_is_marked_lost_and_the_others_still_read():
    reader, clock = reader_of([FakeGpu(), FakeGpu(vanish_after=10), FakeGpu()])
    assert [gpu.lost for gpu in reader.snapshot().gpus] == [None, None, None]
    clock[0] = 11
    gpus = reader.snapshot().gpus
    assert gpus[1].lost == "GPU 1 stopped answering: GPU is lost"
    assert gpus[1].memory_used_bytes is None
    assert gpus[0].lost is None and gpus[2].temperature_c == 35


def test_mig_mode_is_reported_and_whole_gpu_utilisation_is_not_available():
    gpu = reader_of([FakeGpu(mig_enabled=True)])[0].snapshot().gpus[0]
    assert gpu.mig_enabled is True
    assert gpu.gpu_util_percent is None and gpu.unavailable["gpu_util_percent"] == "Not Supported"


def test_eight_gpus_are_read_in_order_with_distinct_uuids():
    snapshot = reader_of(uniform_gpus(8))[0].snapshot()
    assert [gpu.index for gpu in snapshot.gpus] == list(range(8))
    assert len({gpu.uuid for gpu in snapshot.gpus}) == 8


def test_throttle_reasons_are_decoded_and_idle_or_application_clocks_are_not_throttling():
    assert decode_clock_events(0x1 | 0x20) == ["GPU idle", "SW thermal slowdown"]
    assert decode_clock_events(0x1000) == ["other (0x1000)"]
    idle = GpuReading(0, clock_event_reasons=0x1 | 0x2)
    assert idle.clock_event_names == ["GPU idle", "Applications clocks setting"] and idle.throttle_reasons == []
    hot = GpuReading(0, clock_event_reasons=0x1 | 0x40 | 0x4)
    assert hot.throttle_reasons == ["SW power cap", "HW thermal slowdown"]


def test_processes_show_pid_and_memory_and_unknown_name_where_the_namespace_hides_it():
    gpus = [FakeGpu(processes=[(101, 3 * GIB, "vllm", "serve"), (102, 2**64 - 1, None, None)])]
    processes = reader_of(gpus)[0].snapshot().processes
    assert [(p.pid, p.name, p.user) for p in processes] == [(101, "vllm", "serve"), (102, None, None)]
    assert processes[0].used_memory_bytes == 3 * GIB
    assert processes[1].used_memory_bytes is None  # NVML's "not available" sentinel is not 16 EiB


def test_a_pid_is_named_only_when_its_maps_show_it_uses_an_nvidia_device():
    # This test process maps no NVIDIA device or library: in a container, NVML's host PID of some GPU
    # process could be this unrelated local PID, so it must not lend its name.
    assert describe_pid(os.getpid()) == (None, None)
    assert describe_pid(2**22 + 12345) == (None, None)  # no such process here


def test_xid_errors_arrive_once_and_only_for_the_reader_that_asks_for_them():
    reader, clock = reader_of([FakeGpu(), FakeGpu(xid_events=[(5.0, 79)])])
    assert reader.snapshot(with_events=True).xid_events == []
    clock[0] = 6
    assert reader.snapshot().xid_events == []  # a page's read leaves the event for the collector
    events = reader.snapshot(with_events=True).xid_events
    assert [(event.gpu_index, event.xid) for event in events] == [(1, 79)]
    assert reader.snapshot(with_events=True).xid_events == []


def test_a_process_list_nvml_refuses_is_reported_not_shown_as_empty():
    snapshot = reader_of([FakeGpu(unsupported=frozenset({"nvmlDeviceGetComputeRunningProcesses"}))])[0].snapshot()
    assert snapshot.processes == []
    assert snapshot.processes_unavailable == "GPU 0: NVML would not list its processes (Not Supported)"


def test_a_gpu_that_cannot_register_for_events_still_reads():
    reader, _ = reader_of([FakeGpu(unsupported=frozenset({"nvmlDeviceRegisterEvents"}), xid_events=[(0, 13)])])
    snapshot = reader.snapshot(with_events=True)
    assert snapshot.xid_events == [] and snapshot.gpus[0].lost is None


def test_the_simulated_node_throttles_and_takes_an_ecc_error_within_a_minute():
    reader, clock = reader_of(simulated_node(), at=0)
    start = reader.snapshot().gpus
    assert all(gpu.throttle_reasons == [] for gpu in start)
    clock[0] = 50
    gpus = reader.snapshot().gpus
    assert gpus[1].memory_percent > 90
    assert gpus[2].throttle_reasons == ["SW thermal slowdown"] and gpus[2].ecc_volatile_uncorrected == 1
    assert gpus[3].throttle_reasons == ["SW power cap"]
    assert gpus[0].throttle_reasons == [] and gpus[0].memory_percent < 90


def test_a_failed_init_is_not_retried_on_every_sample():
    nvml = FakeNvml([], missing_driver=True)
    reader = NvmlReader(nvml)
    reader.snapshot()
    nvml.missing_driver = False
    nvml.gpus = [FakeGpu()]
    assert reader.snapshot().gpus == []  # within the retry delay: the cached reason
    reader._failure = (reader._failure[0], reader._failure[1] - 60)
    assert len(reader.snapshot().gpus) == 1  # a driver loaded later is found


def test_a_missing_driver_is_logged_once_not_on_every_retry(caplog):
    nvml = FakeNvml([], missing_driver=True)
    reader = NvmlReader(nvml)
    with caplog.at_level("INFO", logger="pitwall.gpu"):
        for _ in range(3):
            reader.snapshot()
            reader._failure = (reader._failure[0], reader._failure[1] - 60)  # as if the retry delay had passed
    assert [record.getMessage() for record in caplog.records if record.levelname == "INFO"] == [
        "NVML not available: No NVIDIA driver found (NVML's library libnvidia-ml.so.1 is not installed) "
        "[NVML: NVML Shared Library Not Found]"
    ]
