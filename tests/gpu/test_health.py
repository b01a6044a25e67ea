"""Health verdicts on tiles: the same thresholds as the alert rules, worst reason first."""

from __future__ import annotations

from lib.gpu.health import CRITICAL, HEALTHY, WARNING, verdict
from lib.gpu.nvml import GpuReading
from lib.settings import load_settings

GIB = 1024**3


def reading(**fields) -> GpuReading:
    base = dict(index=0, memory_used_bytes=10 * GIB, memory_total_bytes=80 * GIB, temperature_c=60.0,
                temperature_slowdown_c=89.0, power_w=300.0, power_limit_w=700.0, clock_event_reasons=0,
                ecc_volatile_uncorrected=0)  # fmt: skip
    return GpuReading(**{**base, **fields})


def test_a_gpu_within_every_limit_is_healthy():
    found = verdict(reading(clock_event_reasons=0x1), load_settings())
    assert (found.state, found.headline) == (HEALTHY, "healthy")


def test_memory_warns_above_ninety_percent_and_is_critical_above_the_critical_setting():
    settings = load_settings()
    assert verdict(reading(memory_used_bytes=int(80 * GIB * 0.92)), settings).state == WARNING
    found = verdict(reading(memory_used_bytes=int(80 * GIB * 0.98)), settings)
    assert found.state == CRITICAL and found.headline == "memory 98% full"


def test_temperature_near_slowdown_warns_with_the_margin_left():
    found = verdict(reading(temperature_c=86.0), load_settings())
    assert found.state == WARNING and found.headline == "86 °C, 3 °C below slowdown"


def test_software_throttling_warns_and_hardware_slowdown_is_critical():
    settings = load_settings()
    assert verdict(reading(clock_event_reasons=0x4), settings).headline == "throttling: SW power cap"
    assert verdict(reading(clock_event_reasons=0x4), settings).state == WARNING
    assert verdict(reading(clock_event_reasons=0x40), settings).state == CRITICAL


def test_ecc_errors_come_before_warnings_and_firing_alerts_add_their_reason():
    firing = [{"rule": "gpu-power-cap", "state": "firing", "severity": "warning", "value": 99.2, "labels": {}}]
    found = verdict(
        reading(memory_used_bytes=int(80 * GIB * 0.92), ecc_volatile_uncorrected=2), load_settings(), firing
    )
    assert found.state == CRITICAL
    assert found.reasons == ["2 uncorrected ECC error(s)", "memory 92% full", "at its power cap (99% of the limit)"]


def test_a_pending_alert_does_not_change_the_verdict():
    pending = [{"rule": "gpu-power-cap", "state": "pending", "severity": "warning", "value": 99.0, "labels": {}}]
    assert verdict(reading(), load_settings(), pending).state == HEALTHY


def test_a_lost_gpu_is_critical():
    found = verdict(GpuReading(3, lost="GPU 3 stopped answering: GPU is lost"), load_settings())
    assert (found.state, found.headline) == (CRITICAL, "GPU 3 stopped answering: GPU is lost")


def test_thresholds_follow_the_settings(monkeypatch):
    monkeypatch.setenv("PITWALL_GPU_MEMORY_WARNING_PERCENT", "50")
    assert verdict(reading(memory_used_bytes=int(80 * GIB * 0.6)), load_settings()).state == WARNING
