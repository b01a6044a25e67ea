"""Dtype choice per device: what was asked for, else the fastest accurate one."""

import pytest
import torch

from lib.errors import InputError
from lib.models import device


def test_an_explicit_dtype_wins() -> None:
    assert device.choose_dtype("cpu", "bfloat16") is torch.bfloat16
    assert device.choose_dtype("cuda", "float32") is torch.float32


def test_an_unknown_dtype_is_refused() -> None:
    with pytest.raises(InputError, match="Unknown dtype"):
        device.choose_dtype("cpu", "int3")


@pytest.mark.parametrize(("native_bf16", "expected"), [(True, torch.bfloat16), (False, torch.float32)])
def test_auto_on_cpu_uses_bfloat16_only_where_the_cpu_runs_it(monkeypatch, native_bf16, expected) -> None:
    monkeypatch.setattr(device, "cpu_has_fast_bfloat16", lambda: native_bf16)
    assert device.choose_dtype("cpu") is expected


def test_a_cpu_without_native_bfloat16_stays_on_float32_without_measuring(monkeypatch) -> None:
    device.cpu_has_fast_bfloat16.cache_clear()
    monkeypatch.setattr(device, "cpu_bfloat16_flags", lambda: [])
    monkeypatch.setattr(device, "measure_bfloat16_speedup", lambda: pytest.fail("measured without native bfloat16"))
    try:
        assert device.choose_dtype("cpu") is torch.float32
        assert "no native bfloat16" in device.auto_dtype_reason("cpu")
    finally:
        device.cpu_has_fast_bfloat16.cache_clear()


@pytest.mark.parametrize(("speedup", "expected"), [(1.7, torch.bfloat16), (1.05, torch.float32)])
def test_native_bfloat16_is_used_only_when_measured_faster(monkeypatch, speedup, expected) -> None:
    device.cpu_has_fast_bfloat16.cache_clear()
    monkeypatch.setattr(device, "cpu_bfloat16_flags", lambda: ["avx512_bf16"])
    monkeypatch.setattr(device, "measure_bfloat16_speedup", lambda: speedup)
    try:
        assert device.choose_dtype("cpu") is expected
        assert "avx512_bf16" in device.auto_dtype_reason("cpu")
    finally:
        device.cpu_has_fast_bfloat16.cache_clear()


def test_the_matmul_measurement_gives_a_plausible_ratio() -> None:
    speedup = device.measure_bfloat16_speedup(rounds=2)
    assert 0.05 < speedup < 50  # a ratio of two real timings, whatever this CPU is
