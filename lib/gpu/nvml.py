"""The one owner of NVML: every GPU and process reading goes through `NvmlReader`.

Modelled on nvitop's API: NVML is initialised lazily, once, under a lock; every field is read on its
own, and an NVML error on a field (NotSupported on a fan-less GPU, NoPermission in a container)
makes that field "not available" (None, with the reason in `unavailable`) instead of raising. A
machine without a driver or without GPUs gives an empty snapshot with NVML's reason.

The reader takes any object with pynvml's API, so the simulated node and the tests drive the same
code with `lib.gpu.fake_nvml.FakeNvml`. Only this module imports pynvml (from nvidia-ml-py), and it
imports nothing but the standard library besides, so it runs with a GPU machine's bare python3.
"""

from __future__ import annotations

import logging
import os
import socket
import threading
import time
from collections.abc import Callable
from dataclasses import asdict, dataclass, field
from typing import Any

log = logging.getLogger("pitwall.gpu")

# Clock-event (throttle) reason bits, as NVML names them (REFERENCE.md: GPU).
CLOCK_EVENT_REASONS: dict[int, str] = {
    0x1: "GPU idle",
    0x2: "Applications clocks setting",
    0x4: "SW power cap",
    0x8: "HW slowdown",
    0x10: "Sync boost",
    0x20: "SW thermal slowdown",
    0x40: "HW thermal slowdown",
    0x80: "HW power brake slowdown",
    0x100: "Display clock setting",
}
# Reasons that are not a problem: an idle GPU clocks down, and application clocks are a choice.
BENIGN_CLOCK_EVENTS = 0x1 | 0x2 | 0x100
# What NVML's error codes mean for a user (others keep NVML's own words).
_INIT_HINTS = {
    12: "No NVIDIA driver found (NVML's library libnvidia-ml.so.1 is not installed)",
    9: "No NVIDIA driver found (the driver is not loaded)",
    4: "NVML refused access (insufficient permissions; in a container, expose the GPUs to it)",
    18: "The NVIDIA driver and its NVML library do not match (reboot or reinstall the driver)",
}
_INIT_RETRY_SECONDS = 30.0  # a failed init is not retried on every sample, but a driver loaded later is found


@dataclass
class GpuReading:
    """One GPU at one moment; every measurement is None when NVML could not give it (see `unavailable`)."""

    index: int
    name: str | None = None
    uuid: str | None = None
    memory_used_bytes: int | None = None
    memory_total_bytes: int | None = None
    memory_reserved_bytes: int | None = None
    gpu_util_percent: float | None = None
    memory_util_percent: float | None = None
    temperature_c: float | None = None
    temperature_slowdown_c: float | None = None
    power_w: float | None = None
    power_limit_w: float | None = None
    energy_j: float | None = None
    sm_clock_mhz: float | None = None
    sm_clock_max_mhz: float | None = None
    memory_clock_mhz: float | None = None
    memory_clock_max_mhz: float | None = None
    pstate: int | None = None
    clock_event_reasons: int | None = None
    pcie_tx_bytes_per_s: float | None = None
    pcie_rx_bytes_per_s: float | None = None
    ecc_enabled: bool | None = None
    ecc_volatile_uncorrected: int | None = None
    remapped_rows_correctable: int | None = None
    remapped_rows_uncorrectable: int | None = None
    remapped_rows_pending: bool | None = None
    remapped_rows_failed: bool | None = None
    mig_enabled: bool | None = None
    fan_percent: float | None = None
    lost: str | None = None  # why the whole GPU could not be read (it fell off the bus, was reset...)
    unavailable: dict[str, str] = field(default_factory=dict)  # field -> NVML's reason

    @property
    def memory_free_bytes(self) -> int | None:
        """Total minus used (and reserved, which no process can have)."""
        if self.memory_total_bytes is None or self.memory_used_bytes is None:
            return None
        return max(0, self.memory_total_bytes - self.memory_used_bytes - (self.memory_reserved_bytes or 0))

    @property
    def memory_percent(self) -> float | None:
        """Memory used as a percentage of total."""
        if not self.memory_total_bytes or self.memory_used_bytes is None:
            return None
        return 100.0 * self.memory_used_bytes / self.memory_total_bytes

    @property
    def clock_event_names(self) -> list[str]:
        """The active clock-event (throttle) reasons, by name."""
        return decode_clock_events(self.clock_event_reasons)

    @property
    def throttle_reasons(self) -> list[str]:
        """Active clock-event reasons that slow the GPU down (not idle, not chosen clocks)."""
        if self.clock_event_reasons is None:
            return []
        return decode_clock_events(self.clock_event_reasons & ~BENIGN_CLOCK_EVENTS)

    def to_dict(self) -> dict:
        """The reading as plain data, with the derived fields the CLI and exporter show."""
        data = asdict(self)
        data["memory_free_bytes"] = self.memory_free_bytes
        data["memory_percent"] = self.memory_percent
        data["clock_event_names"] = self.clock_event_names
        data["throttle_reasons"] = self.throttle_reasons
        return data


@dataclass
class GpuProcess:
    """A process using a GPU. Name and user are None where the PID namespace hides them (a container)."""

    gpu_index: int
    gpu_uuid: str | None
    pid: int
    kind: str  # compute | graphics
    used_memory_bytes: int | None
    name: str | None = None
    user: str | None = None

    def to_dict(self) -> dict:
        return asdict(self)


@dataclass
class XidEvent:
    """An XID critical error NVML reported for a GPU."""

    gpu_index: int
    xid: int
    at: float

    def to_dict(self) -> dict:
        return asdict(self)


@dataclass
class Snapshot:
    """Every GPU and GPU process of this machine at one moment, or the reason there are none."""

    taken_at: float
    hostname: str
    driver: str | None
    gpus: list[GpuReading]
    processes: list[GpuProcess]
    reason: str | None = None  # why there are no GPUs (no driver, no device)
    simulated: bool = False
    xid_events: list[XidEvent] = field(default_factory=list)
    processes_unavailable: str | None = None  # why some GPU's processes could not be listed

    def to_dict(self) -> dict:
        """The `gpu snapshot --json` shape."""
        return {
            "taken_at": self.taken_at,
            "hostname": self.hostname,
            "driver": self.driver,
            "simulated": self.simulated,
            "gpus": [gpu.to_dict() for gpu in self.gpus],
            "processes": [process.to_dict() for process in self.processes],
            "xid_events": [event.to_dict() for event in self.xid_events],
            "processes_unavailable": self.processes_unavailable,
            "reason": self.reason,
        }


def decode_clock_events(mask: int | None) -> list[str]:
    """Names of the bits set in a clock-event reasons mask (unknown bits as hex)."""
    if not mask:
        return []
    names = [name for bit, name in CLOCK_EVENT_REASONS.items() if mask & bit]
    unknown = mask & ~sum(CLOCK_EVENT_REASONS)
    if unknown:
        names.append(f"other (0x{unknown:x})")
    return names


class NvmlReader:
    """Reads GPUs through one pynvml-compatible module; thread-safe, never raises an NVML error."""

    def __init__(
        self,
        nvml: Any = None,
        simulated: bool = False,
        hostname: str | None = None,
        clock: Callable[[], float] = time.time,
    ) -> None:
        self._nvml = nvml  # None: import pynvml on first use
        self.simulated = simulated
        self.hostname = hostname or socket.gethostname()
        self._clock = clock
        self._lock = threading.Lock()
        self._initialised = False
        self._failure: tuple[str, float] | None = None  # (reason, when) of the last failed init
        self._driver: str | None = None
        self._event_set: Any = None
        self._event_gpus = 0  # GPUs registered for XID events

    # -- set-up --------------------------------------------------------------------------------------

    def _module(self) -> Any:
        if self._nvml is None:
            import pynvml  # the only import of pynvml in Pitwall

            self._nvml = pynvml
        return self._nvml

    def _ensure_init(self) -> str | None:
        """Initialise NVML once; the reason it cannot be, or None. Call with the lock held."""
        if self._initialised:
            return None
        if self._failure and time.monotonic() - self._failure[1] < _INIT_RETRY_SECONDS:
            return self._failure[0]
        try:
            nv = self._module()
        except ImportError as error:  # nvidia-ml-py itself missing
            return self._fail(f"NVML's Python bindings (nvidia-ml-py) are not installed: {error}")
        try:
            nv.nvmlInit()
        except nv.NVMLError as error:
            value = getattr(error, "value", None)
            hint = _INIT_HINTS.get(value)
            return self._fail(f"{hint} [NVML: {error}]" if hint else f"NVML could not start: {error}")
        except OSError as error:  # a broken libnvidia-ml.so
            return self._fail(f"No usable NVIDIA driver found ({error})")
        self._initialised, self._failure = True, None
        self._driver = self._text(nv.nvmlSystemGetDriverVersion)
        self._register_xid_events()
        return None

    def _fail(self, reason: str) -> str:
        # Retried every 30 s for a driver loaded later: say so once per reason, not twice a minute forever.
        repeated = self._failure is not None and self._failure[0] == reason
        log.log(logging.DEBUG if repeated else logging.INFO, "NVML not available: %s", reason)
        self._failure = (reason, time.monotonic())
        return reason

    def _text(self, read: Callable[..., Any], *args: Any) -> str | None:
        try:
            value = read(*args)
        except self._module().NVMLError:
            return None
        return value.decode() if isinstance(value, bytes) else str(value)

    def shutdown(self) -> None:
        """Release NVML (tests, and a collector that stops)."""
        with self._lock:
            if not self._initialised:
                return
            nv = self._module()
            try:
                if self._event_set is not None:
                    nv.nvmlEventSetFree(self._event_set)
                nv.nvmlShutdown()
            except nv.NVMLError:
                pass
            self._initialised, self._event_set, self._event_gpus = False, None, 0

    # -- reading ------------------------------------------------------------------------------------

    def snapshot(self, with_processes: bool = True, with_events: bool = False) -> Snapshot:
        """Every GPU (and, unless told not to, every GPU process) now.

        XID events are read, and so consumed, only `with_events`: the collector asks for them, so a page
        or a scrape reading the same GPUs never takes an event the collector should have recorded.
        """
        with self._lock:
            now = self._clock()
            reason = self._ensure_init()
            if reason is not None:
                return Snapshot(now, self.hostname, None, [], [], reason, self.simulated)
            nv = self._module()
            try:
                count = nv.nvmlDeviceGetCount()
            except nv.NVMLError as error:
                return Snapshot(now, self.hostname, self._driver, [], [], f"NVML could not count GPUs: {error}")
            if count == 0:
                reason = "The NVIDIA driver is loaded but sees no GPU (none installed, or none visible here)"
                return Snapshot(now, self.hostname, self._driver, [], [], reason, self.simulated)
            gpus, processes, hidden = [], [], []
            for index in range(count):
                reading, handle = self._read_gpu(index)
                gpus.append(reading)
                if with_processes and handle is not None and not reading.lost:
                    found, problem = self._read_processes(handle, reading)
                    processes.extend(found)
                    if problem:
                        hidden.append(f"GPU {index}: {problem}")
            events = self._poll_xid_events(now) if with_events else []
            snapshot = Snapshot(now, self.hostname, self._driver, gpus, processes, None, self.simulated, events)
            snapshot.processes_unavailable = "; ".join(hidden) or None
            return snapshot

    def _read_gpu(self, index: int) -> tuple[GpuReading, Any]:
        nv = self._module()
        reading = GpuReading(index)
        try:
            handle = nv.nvmlDeviceGetHandleByIndex(index)
        except nv.NVMLError as error:
            reading.lost = f"GPU {index} cannot be reached: {error}"
            return reading, None
        get = _FieldReader(nv, reading)
        reading.name = get("name", lambda: _decode(nv.nvmlDeviceGetName(handle)))
        reading.uuid = get("uuid", lambda: _decode(nv.nvmlDeviceGetUUID(handle)))
        memory = get("memory_used_bytes", lambda: nv.nvmlDeviceGetMemoryInfo(handle, version=nv.nvmlMemory_v2))
        if memory is None:  # drivers before R510 answer only the v1 call, which has no reserved memory
            memory = get("memory_used_bytes", lambda: nv.nvmlDeviceGetMemoryInfo(handle))
        if memory is not None:
            reading.unavailable.pop("memory_used_bytes", None)
            reading.memory_used_bytes = int(memory.used)
            reading.memory_total_bytes = int(memory.total)
            reserved = getattr(memory, "reserved", None)
            reading.memory_reserved_bytes = None if reserved is None else int(reserved)
        utilization = get("gpu_util_percent", lambda: nv.nvmlDeviceGetUtilizationRates(handle))
        if utilization is not None:
            reading.gpu_util_percent = float(utilization.gpu)
            reading.memory_util_percent = float(utilization.memory)
        reading.temperature_c = get(
            "temperature_c", lambda: float(nv.nvmlDeviceGetTemperature(handle, nv.NVML_TEMPERATURE_GPU))
        )
        reading.temperature_slowdown_c = get(
            "temperature_slowdown_c",
            lambda: float(nv.nvmlDeviceGetTemperatureThreshold(handle, nv.NVML_TEMPERATURE_THRESHOLD_SLOWDOWN)),
        )
        reading.power_w = get("power_w", lambda: nv.nvmlDeviceGetPowerUsage(handle) / 1000.0)
        reading.power_limit_w = get("power_limit_w", lambda: nv.nvmlDeviceGetEnforcedPowerLimit(handle) / 1000.0)
        reading.energy_j = get("energy_j", lambda: nv.nvmlDeviceGetTotalEnergyConsumption(handle) / 1000.0)
        reading.sm_clock_mhz = get("sm_clock_mhz", lambda: float(nv.nvmlDeviceGetClockInfo(handle, nv.NVML_CLOCK_SM)))
        reading.sm_clock_max_mhz = get(
            "sm_clock_max_mhz", lambda: float(nv.nvmlDeviceGetMaxClockInfo(handle, nv.NVML_CLOCK_SM))
        )
        reading.memory_clock_mhz = get(
            "memory_clock_mhz", lambda: float(nv.nvmlDeviceGetClockInfo(handle, nv.NVML_CLOCK_MEM))
        )
        reading.memory_clock_max_mhz = get(
            "memory_clock_max_mhz", lambda: float(nv.nvmlDeviceGetMaxClockInfo(handle, nv.NVML_CLOCK_MEM))
        )
        reading.pstate = get("pstate", lambda: int(nv.nvmlDeviceGetPerformanceState(handle)))
        reading.clock_event_reasons = get("clock_event_reasons", lambda: int(_clock_events(nv, handle)))
        # NVML reports PCIe throughput in KB/s.
        reading.pcie_tx_bytes_per_s = get(
            "pcie_tx_bytes_per_s", lambda: 1024.0 * nv.nvmlDeviceGetPcieThroughput(handle, nv.NVML_PCIE_UTIL_TX_BYTES)
        )
        reading.pcie_rx_bytes_per_s = get(
            "pcie_rx_bytes_per_s", lambda: 1024.0 * nv.nvmlDeviceGetPcieThroughput(handle, nv.NVML_PCIE_UTIL_RX_BYTES)
        )
        ecc = get("ecc_enabled", lambda: nv.nvmlDeviceGetEccMode(handle))
        reading.ecc_enabled = None if ecc is None else bool(ecc[0])
        reading.ecc_volatile_uncorrected = get(
            "ecc_volatile_uncorrected",
            lambda: int(
                nv.nvmlDeviceGetTotalEccErrors(handle, nv.NVML_MEMORY_ERROR_TYPE_UNCORRECTED, nv.NVML_VOLATILE_ECC)
            ),
        )
        rows = get("remapped_rows_correctable", lambda: nv.nvmlDeviceGetRemappedRows(handle))
        if rows is not None:
            correctable, uncorrectable, pending, failed = rows
            reading.remapped_rows_correctable, reading.remapped_rows_uncorrectable = (
                int(correctable),
                int(uncorrectable),
            )
            reading.remapped_rows_pending, reading.remapped_rows_failed = bool(pending), bool(failed)
        mig = get("mig_enabled", lambda: nv.nvmlDeviceGetMigMode(handle))
        reading.mig_enabled = None if mig is None else bool(mig[0])
        reading.fan_percent = get("fan_percent", lambda: float(nv.nvmlDeviceGetFanSpeed(handle)))
        if get.lost:
            reading.lost = f"GPU {index} stopped answering: {get.lost}"
        return reading, handle

    def _read_processes(self, handle: Any, reading: GpuReading) -> tuple[list[GpuProcess], str | None]:
        """The GPU's processes, and why NVML would not list them (None when it did)."""
        nv = self._module()
        found: dict[int, GpuProcess] = {}
        problem = None
        for kind, read in (
            ("compute", nv.nvmlDeviceGetComputeRunningProcesses),
            ("graphics", nv.nvmlDeviceGetGraphicsRunningProcesses),
        ):
            try:
                entries = read(handle)
            except nv.NVMLError as error:
                if kind == "compute":  # graphics processes are often not supported on data-centre GPUs
                    problem = f"NVML would not list its processes ({error})"
                continue
            for entry in entries:
                used = getattr(entry, "usedGpuMemory", None)
                # NVML reports "not available" (a container, WDDM) as a huge sentinel, not as an error.
                used = None if used is None or used >= 2**63 else int(used)
                if entry.pid in found:  # a process can be both; count it once
                    continue
                # A fake NVML names its own processes; the real one leaves it to /proc.
                name, user = getattr(nv, "describe_pid", describe_pid)(entry.pid)
                found[entry.pid] = GpuProcess(reading.index, reading.uuid, int(entry.pid), kind, used, name, user)
        return list(found.values()), problem

    # -- XID events ---------------------------------------------------------------------------------

    def _register_xid_events(self) -> None:
        """Listen for XID critical errors on every GPU that supports it (not all do: vGPUs, some boards)."""
        nv = self._module()
        try:
            self._event_set = nv.nvmlEventSetCreate()
            count = nv.nvmlDeviceGetCount()
        except nv.NVMLError as error:
            log.info("XID events are not available: %s", error)
            self._event_set = None
            return
        for index in range(count):
            try:
                handle = nv.nvmlDeviceGetHandleByIndex(index)
                nv.nvmlDeviceRegisterEvents(handle, nv.nvmlEventTypeXidCriticalError, self._event_set)
                self._event_gpus += 1
            except nv.NVMLError as error:
                log.info("XID events are not available on GPU %d: %s", index, error)

    def _poll_xid_events(self, now: float) -> list[XidEvent]:
        """Every XID event waiting, without blocking."""
        if self._event_set is None or not self._event_gpus:
            return []
        nv = self._module()
        events = []
        for _ in range(64):  # a storm of events is not read forever
            try:
                data = nv.nvmlEventSetWait_v2(self._event_set, 0)
            except nv.NVMLError:  # Timeout: nothing waiting (or the set broke; retried next time)
                break
            try:
                index = int(nv.nvmlDeviceGetIndex(data.device))
            except nv.NVMLError:
                index = -1
            events.append(XidEvent(index, int(data.eventData), now))
        return events


class _FieldReader:
    """Calls one NVML read; on an NVML error records why in `reading.unavailable` and answers None."""

    _LOST = frozenset({15, 16})  # GPU is lost, GPU requires reset: the device itself is gone, not one field

    def __init__(self, nv: Any, reading: GpuReading) -> None:
        self.nv, self.reading, self.lost = nv, reading, None

    def __call__(self, name: str, read: Callable[[], Any]) -> Any:
        try:
            return read()
        except self.nv.NVMLError as error:
            self.reading.unavailable[name] = str(error)
            if getattr(error, "value", None) in self._LOST:
                self.lost = str(error)
            return None
        except (AttributeError, TypeError) as error:  # an older pynvml without this call
            self.reading.unavailable[name] = f"not in this NVML version ({error})"
            return None


def _clock_events(nv: Any, handle: Any) -> int:
    """Clock-event reasons (newer NVML), falling back to the older name of the same call."""
    read = getattr(nv, "nvmlDeviceGetCurrentClocksEventReasons", None)
    if read is None:
        read = nv.nvmlDeviceGetCurrentClocksThrottleReasons
    return read(handle)


def _decode(value: Any) -> str:
    return value.decode() if isinstance(value, bytes) else str(value)


def describe_pid(pid: int) -> tuple[str | None, str | None]:
    """Name and user of a PID from /proc, or None for each where this PID namespace cannot see it.

    In a container NVML reports host PIDs, and the same number here may be an unrelated process; so a
    PID is named only if its memory maps show an NVIDIA device or library (when they can be read).
    """
    try:
        with open(f"/proc/{pid}/comm", encoding="utf-8", errors="replace") as file:
            name: str | None = file.read().strip() or None
    except OSError:
        return None, None
    if _maps_show_no_gpu(pid):
        return None, None
    try:
        import pwd

        uid = os.stat(f"/proc/{pid}").st_uid
        user: str | None = pwd.getpwuid(uid).pw_name
    except (OSError, KeyError, ImportError):
        user = None
    return name, user


def _maps_show_no_gpu(pid: int) -> bool:
    """True when the process's maps are readable and hold nothing of NVIDIA's (so it is not this GPU user)."""
    try:
        with open(f"/proc/{pid}/maps", encoding="utf-8", errors="replace") as file:
            maps = file.read()
    except OSError:  # another user's process: cannot tell, trust the name
        return False
    return "/dev/nvidia" not in maps and "libcuda" not in maps and "libnvidia" not in maps


_default: NvmlReader | None = None
_default_lock = threading.Lock()


def local_reader() -> NvmlReader:
    """This process's reader of this machine's real GPUs."""
    global _default
    with _default_lock:
        if _default is None:
            _default = NvmlReader()
        return _default
