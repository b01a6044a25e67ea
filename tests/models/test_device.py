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
