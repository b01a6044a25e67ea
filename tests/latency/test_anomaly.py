"""Unusual latency minutes: per-minute p95, the robust z-score (median and MAD), the EWMA band, and the alert."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from lib.alerts import active_alerts
from lib.latency.anomaly import ewma_flags, latest_robust_z, per_bucket_quantile, robust_z_flags
from lib.latency.records import RequestRecord, production_frame, save_records
from lib.latency.slo import check_slos
from lib.settings import defaults
from lib.store import open_store

T0 = 1_700_000_040.0  # a whole minute


def minutes(values) -> pd.Series:
    return pd.Series(values, index=pd.date_range("2024-05-01", periods=len(values), freq="1min", tz="UTC"), dtype=float)


def noisy_traffic(start: float, count: int, per_minute: int = 4, seed: int = 0) -> list[RequestRecord]:
    """`per_minute` requests a minute with TTFT around 200 ms."""
    rng = np.random.default_rng(seed)
    return [
        RequestRecord(start + 60 * m + 15 * j, ok=True, ttft_ms=float(rng.normal(200, 10)), e2el_ms=1_000.0,
                      output_tokens=20, source="track")
        for m in range(count) for j in range(per_minute)
    ]  # fmt: skip


def test_per_minute_p95_counts_only_successful_requests() -> None:
    store = open_store()
    records = [RequestRecord(T0 + i * 0.5, ok=True, ttft_ms=float(i + 1), source="track") for i in range(100)]
    records += [RequestRecord(T0 + 60 + i, ok=True, ttft_ms=10.0, source="track") for i in range(3)]
    records.append(RequestRecord(T0 + 61.5, ok=False, ttft_ms=99_999.0, source="track"))  # failed: no latency
    save_records(store, records)
    p95 = per_bucket_quantile(production_frame(store), "ttft_ms")
    assert list(p95.index) == [pd.Timestamp(T0, unit="s", tz="UTC"), pd.Timestamp(T0 + 60, unit="s", tz="UTC")]
    assert list(p95) == [pytest.approx(np.percentile(np.arange(1, 101), 95)), 10.0]


def test_robust_z_flags_a_spike_minute_and_not_normal_noise() -> None:
    values = np.random.default_rng(1).normal(200, 10, 180)
    values[90] = 400.0
    flags = robust_z_flags(minutes(values), z=3.5)
    assert list(flags.columns) == ["value", "baseline", "z", "upper", "anomaly"]
    assert list(np.flatnonzero(flags["anomaly"])) == [90]
    assert flags["baseline"].iloc[0] == pytest.approx(np.median(values))
    assert flags["z"].iloc[90] > 10 and flags["upper"].iloc[0] < 400


def test_robust_z_falls_back_to_the_mean_deviation_when_the_mad_is_zero() -> None:
    flags = robust_z_flags(minutes([100.0] * 20 + [500.0]))  # most minutes equal: MAD 0
    assert list(flags["anomaly"]) == [False] * 20 + [True]
    assert np.isfinite(flags["z"]).all()
    flat = robust_z_flags(minutes([100.0] * 10))  # nothing varies: nothing is unusual
    assert not flat["anomaly"].any() and (flat["z"] == 0).all()
    assert robust_z_flags(minutes([])).empty
    steady = robust_z_flags(minutes([100.0, 100.1, 99.9] * 10 + [101.0]))  # a 1% wobble on a flat line
    assert not steady["anomaly"].any()


def test_ewma_learns_during_its_warm_up_then_flags_what_exceeds_the_past() -> None:
    values = np.random.default_rng(2).normal(200, 5, 60)
    values[3] = 600.0  # during warm-up: teaches the baseline, never flagged
    values[40] = 600.0
    flags = ewma_flags(minutes(values), alpha=0.3, k=3.0, warmup=10)
    assert list(flags.columns) == ["value", "baseline", "upper", "anomaly"]
    assert list(np.flatnonzero(flags["anomaly"])) == [40]
    assert np.isnan(flags["baseline"].iloc[0])
    assert flags["baseline"].iloc[40] < 230  # the past only: the spike does not raise its own bar
    assert flags["baseline"].iloc[41] > flags["baseline"].iloc[40]


def test_a_slow_minute_fires_the_anomaly_alert_and_a_normal_one_resolves_it() -> None:
    store = open_store()
    records = noisy_traffic(T0, 120)
    records += [RequestRecord(T0 + 120 * 60 + 5 * j, ok=True, ttft_ms=900.0, source="track") for j in range(4)]
    records += noisy_traffic(T0 + 121 * 60, 2, seed=3)
    save_records(store, records)
    frame = production_frame(store)
    assert latest_robust_z(frame, "ttft_ms", T0 + 119 * 60 + 1) < 3.5
    assert latest_robust_z(frame, "ttft_ms", T0 + 121 * 60 + 1) > 20  # the slow minute just completed
    assert latest_robust_z(frame.head(20), "ttft_ms", T0 + 5 * 60) is None  # five minutes: too little history

    check_slos(store, defaults(), T0 + 121 * 60 + 1, [])
    firing = [a for a in active_alerts(store, firing_only=True) if a["rule"].startswith("latency-anomaly-")]
    assert [(a["rule"], a["severity"], a["labels"]) for a in firing] == [
        ("latency-anomaly-ttft_ms", "warning", {"metric": "ttft_ms"})
    ]
    events = check_slos(store, defaults(), T0 + 122 * 60 + 1, [])
    assert [(e.rule, e.status) for e in events] == [("latency-anomaly-ttft_ms", "resolved")]
