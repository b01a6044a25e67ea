"""A fake NVML with pynvml's API: the tests' GPUs, and the simulated node a newcomer can switch on.

As gpustat does, the fake sits exactly at the pynvml boundary: `NvmlReader(FakeNvml(...))` runs every
line of the real reader. Each GPU can refuse any pynvml call by name (NotSupported), vanish after a
while (GPU is lost), run with MIG on, and follow a scripted load over time (`GpuState` as a function
of the seconds since the fake started), so throttling, an ECC error and an XID event happen on cue.
"""

from __future__ import annotations

import math
import time
from collections.abc import Callable
from dataclasses import dataclass, field, replace
from types import SimpleNamespace

GIB = 1024**3
# pynvml's constants, as far as the reader uses them.
NVML_TEMPERATURE_GPU = 0
NVML_TEMPERATURE_THRESHOLD_SLOWDOWN = 1
NVML_CLOCK_SM = 1
NVML_CLOCK_MEM = 2
NVML_PCIE_UTIL_TX_BYTES = 0
NVML_PCIE_UTIL_RX_BYTES = 1
NVML_MEMORY_ERROR_TYPE_UNCORRECTED = 1
NVML_VOLATILE_ECC = 0
nvmlMemory_v2 = 0x02000028
nvmlEventTypeXidCriticalError = 0x8
NOT_SUPPORTED, DRIVER_NOT_LOADED, NOT_FOUND, TIMEOUT, LIBRARY_NOT_FOUND, GPU_IS_LOST = 3, 9, 6, 10, 12, 15
_MESSAGES = {
    NOT_SUPPORTED: "Not Supported",
    DRIVER_NOT_LOADED: "Driver Not Loaded",
    NOT_FOUND: "Not Found",
    TIMEOUT: "Timeout",
    LIBRARY_NOT_FOUND: "NVML Shared Library Not Found",
    GPU_IS_LOST: "GPU is lost",
}


class NVMLError(Exception):
    """pynvml's error: `.value` is NVML's return code, str() its message."""

    def __init__(self, value: int) -> None:
        super().__init__(value)
        self.value = value

    def __str__(self) -> str:
        return _MESSAGES.get(self.value, f"NVML error {self.value}")


@dataclass(frozen=True)
class GpuState:
    """What a fake GPU measures at one moment."""

    memory_used: int = 2 * GIB
    gpu_util: float = 0.0
    memory_util: float = 0.0
    temperature: float = 35.0
    power_w: float = 70.0
    sm_clock: float = 345.0
    memory_clock: float = 2619.0
    pstate: int = 0
    clock_events: int = 0x1  # GPU idle
    pcie_tx_kb: float = 1_000.0
    pcie_rx_kb: float = 2_000.0
    ecc_uncorrected: int = 0
    fan: float = 30.0


@dataclass
class FakeGpu:
    """One fake GPU: fixed facts, a load over time, and the calls it refuses."""

    name: str = "NVIDIA H100 80GB HBM3"
    uuid: str = "GPU-00000000-0000-0000-0000-000000000000"
    memory_total: int = 80 * GIB
    memory_reserved: int = 512 * 1024**2
    power_limit_w: float = 700.0
    slowdown_c: float = 89.0
    sm_clock_max: float = 1980.0
    memory_clock_max: float = 2619.0
    ecc_enabled: bool = True
    mig_enabled: bool = False
    state: Callable[[float], GpuState] = lambda _t: GpuState()
    unsupported: frozenset[str] = frozenset()  # pynvml function names that answer NotSupported
    vanish_after: float | None = None  # seconds after start when the GPU falls off the bus
    processes: list[tuple[int, int, str | None, str | None]] = field(default_factory=list)  # pid, bytes, name, user
    xid_events: list[tuple[float, int]] = field(default_factory=list)  # (seconds after start, xid)


class _Handle:
    def __init__(self, index: int) -> None:
        self.index = index


class FakeNvml:
    """A pynvml stand-in over `gpus`; `elapsed()` says how far into their scripts they are."""

    NVMLError = NVMLError

    def __init__(
        self,
        gpus: list[FakeGpu],
        driver: str = "550.54.15",
        missing_driver: bool = False,
        elapsed: Callable[[], float] | None = None,
    ) -> None:
        self.gpus = gpus
        self.driver = driver
        self.missing_driver = missing_driver
        started = time.monotonic()
        self.elapsed = elapsed or (lambda: time.monotonic() - started)
        self.calls = 0  # how many pynvml calls the reader made (the benchmark reports it)
        self._delivered: set[tuple[int, int]] = set()  # (gpu, event number) already handed out
        self._registered: set[int] = set()
        self.initialised = False
        # Every constant the reader uses, by pynvml's name.
        for name, value in globals().items():
            if name.startswith(("NVML_", "nvml")) and isinstance(value, int):
                setattr(self, name, value)

    # -- library -------------------------------------------------------------------------------------

    def nvmlInit(self) -> None:
        if self.missing_driver:
            raise NVMLError(LIBRARY_NOT_FOUND)
        self.initialised = True

    def nvmlShutdown(self) -> None:
        self.initialised = False

    def nvmlSystemGetDriverVersion(self) -> str:
        return self.driver

    def nvmlDeviceGetCount(self) -> int:
        return len(self.gpus)

    def nvmlDeviceGetHandleByIndex(self, index: int) -> _Handle:
        if not 0 <= index < len(self.gpus):
            raise NVMLError(NOT_FOUND)
        return _Handle(index)

    def nvmlDeviceGetIndex(self, handle: _Handle) -> int:
        return handle.index

    # -- per device ---------------------------------------------------------------------------------

    def _gpu(self, handle: _Handle, call: str) -> tuple[FakeGpu, GpuState]:
        self.calls += 1
        gpu = self.gpus[handle.index]
        now = self.elapsed()
        if gpu.vanish_after is not None and now >= gpu.vanish_after:
            raise NVMLError(GPU_IS_LOST)
        if call in gpu.unsupported:
            raise NVMLError(NOT_SUPPORTED)
        return gpu, gpu.state(now)

    def nvmlDeviceGetName(self, handle: _Handle) -> str:
        return self._gpu(handle, "nvmlDeviceGetName")[0].name

    def nvmlDeviceGetUUID(self, handle: _Handle) -> str:
        return self._gpu(handle, "nvmlDeviceGetUUID")[0].uuid

    def nvmlDeviceGetMemoryInfo(self, handle: _Handle, version: int | None = None) -> SimpleNamespace:
        gpu, state = self._gpu(handle, "nvmlDeviceGetMemoryInfo")
        used = min(state.memory_used, gpu.memory_total - gpu.memory_reserved)
        free = gpu.memory_total - gpu.memory_reserved - used
        if version is None:  # v1 counts reserved memory as used
            return SimpleNamespace(total=gpu.memory_total, used=used + gpu.memory_reserved, free=free)
        return SimpleNamespace(total=gpu.memory_total, used=used, free=free, reserved=gpu.memory_reserved)

    def nvmlDeviceGetUtilizationRates(self, handle: _Handle) -> SimpleNamespace:
        gpu, state = self._gpu(handle, "nvmlDeviceGetUtilizationRates")
        if gpu.mig_enabled:  # NVML does not report whole-GPU utilisation in MIG mode
            raise NVMLError(NOT_SUPPORTED)
        return SimpleNamespace(gpu=state.gpu_util, memory=state.memory_util)

    def nvmlDeviceGetTemperature(self, handle: _Handle, sensor: int) -> float:
        return self._gpu(handle, "nvmlDeviceGetTemperature")[1].temperature

    def nvmlDeviceGetTemperatureThreshold(self, handle: _Handle, threshold: int) -> float:
        return self._gpu(handle, "nvmlDeviceGetTemperatureThreshold")[0].slowdown_c

    def nvmlDeviceGetPowerUsage(self, handle: _Handle) -> int:
        return int(self._gpu(handle, "nvmlDeviceGetPowerUsage")[1].power_w * 1000)

    def nvmlDeviceGetEnforcedPowerLimit(self, handle: _Handle) -> int:
        return int(self._gpu(handle, "nvmlDeviceGetEnforcedPowerLimit")[0].power_limit_w * 1000)

    def nvmlDeviceGetTotalEnergyConsumption(self, handle: _Handle) -> int:
        _gpu, state = self._gpu(handle, "nvmlDeviceGetTotalEnergyConsumption")
        return int(state.power_w * self.elapsed() * 1000)  # mJ, as if drawn steadily since the start

    def nvmlDeviceGetClockInfo(self, handle: _Handle, clock: int) -> float:
        state = self._gpu(handle, "nvmlDeviceGetClockInfo")[1]
        return state.sm_clock if clock == NVML_CLOCK_SM else state.memory_clock

    def nvmlDeviceGetMaxClockInfo(self, handle: _Handle, clock: int) -> float:
        gpu = self._gpu(handle, "nvmlDeviceGetMaxClockInfo")[0]
        return gpu.sm_clock_max if clock == NVML_CLOCK_SM else gpu.memory_clock_max

    def nvmlDeviceGetPerformanceState(self, handle: _Handle) -> int:
        return self._gpu(handle, "nvmlDeviceGetPerformanceState")[1].pstate

    def nvmlDeviceGetCurrentClocksEventReasons(self, handle: _Handle) -> int:
        return self._gpu(handle, "nvmlDeviceGetCurrentClocksEventReasons")[1].clock_events

    def nvmlDeviceGetPcieThroughput(self, handle: _Handle, counter: int) -> float:
        state = self._gpu(handle, "nvmlDeviceGetPcieThroughput")[1]
        return state.pcie_tx_kb if counter == NVML_PCIE_UTIL_TX_BYTES else state.pcie_rx_kb

    def nvmlDeviceGetEccMode(self, handle: _Handle) -> tuple[int, int]:
        gpu = self._gpu(handle, "nvmlDeviceGetEccMode")[0]
        return int(gpu.ecc_enabled), int(gpu.ecc_enabled)

    def nvmlDeviceGetTotalEccErrors(self, handle: _Handle, error_type: int, counter: int) -> int:
        gpu, state = self._gpu(handle, "nvmlDeviceGetTotalEccErrors")
        if not gpu.ecc_enabled:
            raise NVMLError(NOT_SUPPORTED)
        return state.ecc_uncorrected

    def nvmlDeviceGetRemappedRows(self, handle: _Handle) -> tuple[int, int, int, int]:
        state = self._gpu(handle, "nvmlDeviceGetRemappedRows")[1]
        # An uncorrectable error leaves a row remap pending until the GPU is reset.
        return 0, state.ecc_uncorrected, int(state.ecc_uncorrected > 0), 0

    def nvmlDeviceGetMigMode(self, handle: _Handle) -> tuple[int, int]:
        gpu = self._gpu(handle, "nvmlDeviceGetMigMode")[0]
        return int(gpu.mig_enabled), int(gpu.mig_enabled)

    def nvmlDeviceGetFanSpeed(self, handle: _Handle) -> float:
        return self._gpu(handle, "nvmlDeviceGetFanSpeed")[1].fan

    def nvmlDeviceGetComputeRunningProcesses(self, handle: _Handle) -> list[SimpleNamespace]:
        gpu = self._gpu(handle, "nvmlDeviceGetComputeRunningProcesses")[0]
        return [SimpleNamespace(pid=pid, usedGpuMemory=used) for pid, used, _name, _user in gpu.processes]

    def nvmlDeviceGetGraphicsRunningProcesses(self, handle: _Handle) -> list[SimpleNamespace]:
        self._gpu(handle, "nvmlDeviceGetGraphicsRunningProcesses")
        return []

    def describe_pid(self, pid: int) -> tuple[str | None, str | None]:
        """Name and user of a fake process (the reader asks the fake before /proc)."""
        for gpu in self.gpus:
            for known, _used, name, user in gpu.processes:
                if known == pid:
                    return name, user
        return None, None

    # -- events -------------------------------------------------------------------------------------

    def nvmlEventSetCreate(self) -> object:
        return object()

    def nvmlDeviceRegisterEvents(self, handle: _Handle, event_types: int, event_set: object) -> None:
        self._gpu(handle, "nvmlDeviceRegisterEvents")
        self._registered.add(handle.index)

    def nvmlEventSetWait_v2(self, event_set: object, timeout_ms: int) -> SimpleNamespace:
        now = self.elapsed()
        for index in sorted(self._registered):
            for number, (at, xid) in enumerate(self.gpus[index].xid_events):
                if at <= now and (index, number) not in self._delivered:
                    self._delivered.add((index, number))
                    return SimpleNamespace(
                        device=_Handle(index), eventType=nvmlEventTypeXidCriticalError, eventData=xid
                    )
        raise NVMLError(TIMEOUT)

    def nvmlEventSetFree(self, event_set: object) -> None:
        self._registered.clear()


# -- ready-made fleets ---------------------------------------------------------------------------------


def uniform_gpus(count: int, **overrides: object) -> list[FakeGpu]:
    """`count` identical busy H100s with distinct UUIDs (the 8-GPU tests and benchmarks)."""

    def busy(index: int) -> Callable[[float], GpuState]:
        def state(t: float) -> GpuState:
            wave = math.sin(t / 7.0 + index)
            return GpuState(
                memory_used=int((40 + 5 * index % 30) * GIB),
                gpu_util=70 + 20 * wave,
                memory_util=40 + 10 * wave,
                temperature=60 + 5 * wave,
                power_w=450 + 100 * wave,
                sm_clock=1755,
                clock_events=0,
                pcie_tx_kb=800_000,
                pcie_rx_kb=300_000,
            )

        return state

    return [
        FakeGpu(uuid=f"GPU-{index:08x}-fake-0000-0000-000000000000", state=busy(index), **overrides)  # type: ignore[arg-type]
        for index in range(count)
    ]


SCENARIO_SECONDS = 600  # the simulated node's story repeats every ten minutes


def simulated_node() -> list[FakeGpu]:
    """Four H100s whose story shows every check within a minute of switching on.

    GPU 0 serves steadily and stays healthy; GPU 1 fills its memory past 90% after 20 s (and frees it
    in the second half of each cycle); GPU 2 runs hot, throttles from 30 s and takes an uncorrectable
    ECC error with XID 48 at 45 s; GPU 3 sits at its power cap from 10 s.
    """

    def phase(t: float) -> float:
        return t % SCENARIO_SECONDS

    def serving(t: float) -> GpuState:
        wave = math.sin(t / 9.0)
        return GpuState(
            memory_used=int(52 * GIB),
            gpu_util=72 + 18 * wave,
            memory_util=45 + 10 * wave,
            temperature=62 + 4 * wave,
            power_w=430 + 80 * wave,
            sm_clock=1755,
            clock_events=0,
            pcie_tx_kb=600_000 + 200_000 * wave,
            pcie_rx_kb=250_000,
            fan=0,
        )

    def filling(t: float) -> GpuState:
        p = phase(t)
        fill = min(1.0, p / 20.0) if p < SCENARIO_SECONDS / 2 else 0.0
        return replace(serving(t + 3), memory_used=int((60 + 14.5 * fill) * GIB), gpu_util=95 - 5 * (1 - fill))

    def hot(t: float) -> GpuState:
        p = phase(t)
        heat = min(1.0, p / 30.0)
        throttling = p >= 30
        return replace(
            serving(t + 6),
            temperature=70 + 16 * heat + (1 if throttling else 0),
            sm_clock=1410 if throttling else 1755,
            clock_events=0x20 if throttling else 0,  # SW thermal slowdown
            ecc_uncorrected=1 if t >= 45 else 0,
        )

    def capped(t: float) -> GpuState:
        at_cap = phase(t) >= 10
        return replace(
            serving(t + 9),
            gpu_util=99,
            power_w=699.0 if at_cap else 520.0,
            sm_clock=1650 if at_cap else 1980,
            clock_events=0x4 if at_cap else 0,  # SW power cap
        )

    names = ("vllm", "python3", "tritonserver", None)
    users = ("serve", "alice", "serve", None)
    gpus = []
    for index, state in enumerate((serving, filling, hot, capped)):
        processes = [(41_000 + index, int(state(0).memory_used - 1 * GIB), names[index], users[index])]
        gpus.append(
            FakeGpu(
                uuid=f"GPU-5e1a7ed0-{index:04d}-4000-8000-00000000000{index}",
                state=state,
                processes=processes,
                xid_events=[(45.0, 48)] if index == 2 else [],
                unsupported=frozenset({"nvmlDeviceGetFanSpeed"}),  # data-centre boards have no fan reading
            )
        )
    return gpus
