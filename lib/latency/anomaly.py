"""Unusual latency minutes: per-minute p95 against a robust baseline (median and MAD) or an EWMA of the past.

The robust z-score is Iglewicz and Hoaglin's modified z: 0.6745 (x - median) / MAD, which one bad
minute cannot drag the way it drags a mean and standard deviation; above 3.5 is their cut-off for an
outlier. Only slow minutes are flagged (a fast one is no incident). The alert judges the latest
complete minute against the last few hours of minutes.
"""

from __future__ import annotations

import math

import numpy as np
import pandas as pd

from lib.alerts import AlertRule, Observation

RULE_PREFIX = "latency-anomaly-"
ANOMALY_COLUMNS = ("ttft_ms", "tpot_ms", "e2el_ms")
BUCKET_S = 60.0
BASELINE_S = 6 * 3_600.0  # the minutes the latest one is judged against
MIN_BUCKETS = 10  # fewer minutes with traffic than this: too little to call anything unusual
MAD_SCALE = 0.6745  # the MAD of a normal distribution is 0.6745 sigma
MIN_SCALE_FRACTION = 0.01  # the spread is taken as at least 1% of the median
MEAN_AD_SCALE = 1.253314  # the mean absolute deviation of a normal distribution is 0.7979 sigma (1 / 1.2533)
_NAMES = {"ttft_ms": "TTFT", "tpot_ms": "TPOT", "e2el_ms": "E2EL"}


def per_bucket_quantile(frame: pd.DataFrame, column: str, bucket: str = "1min", q: float = 0.95) -> pd.Series:
    """The q-quantile of `column` over each bucket's successful requests, by bucket start (UTC); no empty buckets."""
    measured = frame[frame["ok"].astype(bool) & frame[column].notna()]
    times = measured["time"] if "time" in measured else pd.to_datetime(measured["started_at"], unit="s", utc=True)
    if measured.empty:
        return pd.Series([], dtype=float, name=column, index=pd.DatetimeIndex([], tz="UTC", name="time"))
    found = measured[column].groupby(times.dt.floor(bucket)).quantile(q)
    found.index.name = "time"
    return found.rename(column).astype(float)


def robust_z_flags(series: pd.Series, z: float = 3.5) -> pd.DataFrame:
    """value, baseline (median), z (modified z-score), upper (the value that would be flagged) and anomaly (z > `z`).

    When more than half the values are equal the MAD is 0; the mean absolute deviation stands in for it
    (scaled to match), and when every value is equal nothing is unusual. The spread is taken as at least
    1% of the median, so a near-flat series does not flag a wobble nobody would notice.
    """
    values = series.astype(float)
    frame = pd.DataFrame({"value": values}, index=series.index)
    if values.dropna().empty:
        return frame.assign(baseline=np.nan, z=np.nan, upper=np.nan, anomaly=False)
    median = float(values.median())
    deviations = (values - median).abs()
    mad = float(deviations.median())
    scale = mad / MAD_SCALE if mad > 0 else MEAN_AD_SCALE * float(deviations.mean())
    if scale > 0:  # a near-flat baseline must not make a 1 ms wobble an outlier
        scale = max(scale, MIN_SCALE_FRACTION * abs(median))
    scores = (values - median) / scale if scale > 0 else values * 0.0
    return frame.assign(
        baseline=median,
        z=scores,
        upper=median + z * scale if scale > 0 else np.nan,
        anomaly=(scores > z).fillna(False).astype(bool),
    )


def ewma_flags(series: pd.Series, alpha: float = 0.3, k: float = 3.0, warmup: int = 10) -> pd.DataFrame:
    """value, baseline (EWMA of the values before), upper (baseline + k std) and anomaly (value > upper).

    The mean and variance are exponentially weighted over past values only, so a spike cannot raise its
    own bar; the first `warmup` values only teach the baseline and are never flagged.
    """
    values = series.astype(float).to_numpy()
    baseline = np.full(len(values), np.nan)
    upper = np.full(len(values), np.nan)
    anomaly = np.zeros(len(values), dtype=bool)
    mean, variance, seen = math.nan, 0.0, 0
    for index, value in enumerate(values):
        if math.isnan(value):
            continue
        if seen == 0:
            mean, seen = value, 1
            continue
        baseline[index] = mean
        upper[index] = mean + k * math.sqrt(variance)
        anomaly[index] = seen >= warmup and value > upper[index]
        # Incremental EW mean and variance (Finch 2009), updated after the value is judged.
        diff = value - mean
        mean += alpha * diff
        variance = (1 - alpha) * (variance + alpha * diff * diff)
        seen += 1
    return pd.DataFrame({"value": values, "baseline": baseline, "upper": upper, "anomaly": anomaly}, index=series.index)


def anomaly_rule(column: str, z: float) -> AlertRule:
    """The warning rule for one latency column, e.g. `latency-anomaly-ttft_ms`."""
    name = _NAMES.get(column, column)
    return AlertRule(
        name=f"{RULE_PREFIX}{column}",
        metric="robust_z",
        comparison=">",
        threshold=z,
        severity="warning",
        summary=f"{name} p95 of the last minute, as a robust z-score against the last 6 h of minutes",
    )


def latest_robust_z(frame: pd.DataFrame, column: str, now: float, z: float = 3.5) -> float | None:
    """The robust z of the latest complete minute's p95 (0 when it had no traffic); None with too little history."""
    end = math.floor(now / BUCKET_S) * BUCKET_S
    recent = frame[(frame["started_at"] >= end - BASELINE_S) & (frame["started_at"] < end)]
    series = per_bucket_quantile(recent, column)
    if len(series) < MIN_BUCKETS:
        return None
    latest = pd.Timestamp(end - BUCKET_S, unit="s", tz="UTC")
    if series.index[-1] != latest:
        return 0.0  # no request in the latest minute: nothing slow to flag
    score = robust_z_flags(series, z)["z"].iloc[-1]
    return 0.0 if math.isnan(score) else float(score)


def anomaly_observations(frame: pd.DataFrame, now: float, z: float) -> list[tuple[AlertRule, Observation]]:
    """Each latency column's rule and its observation now (0 without enough history, so a quiet service resolves)."""
    found = []
    for column in ANOMALY_COLUMNS:
        score = latest_robust_z(frame, column, now, z)
        found.append((anomaly_rule(column, z), Observation({"metric": column}, 0.0 if score is None else score)))
    return found
