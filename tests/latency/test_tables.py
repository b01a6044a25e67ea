"""The page's tables and charts from request records: per bucket, per model, and formulas beside the charts."""

from __future__ import annotations

import pytest

from lib.latency.figures import histogram_cdf_figure, percentile_band_figure
from lib.latency.records import RequestRecord
from lib.latency.tables import auto_bucket, breakdown, bucket_stats, requests_frame

T0 = 1_800_000_000.0  # a whole minute


def record(offset: float, ttft: float, e2el: float, tokens: int = 11, ok: bool = True, model: str = "a", **extra):
    return RequestRecord(T0 + offset, ok, ttft_ms=ttft, e2el_ms=e2el, output_tokens=tokens, model=model, **extra)


RECORDS = [
    record(1, 100, 1100, feedback=1.0),
    record(2, 300, 1300, feedback=0.0),
    record(3, 0, 0, ok=False, error_kind="timeout"),
    record(70, 200, 2200, model="b"),
]


def test_each_minute_has_its_counts_percentiles_rates_and_satisfaction() -> None:
    stats = bucket_stats(requests_frame(RECORDS), "1min", 60)
    first, second = stats.to_dict(orient="records")
    assert (first["requests"], first["errors"], first["error_rate"]) == (3, 1, pytest.approx(1 / 3))
    assert first["ttft_ms_p50"] == 200 and first["e2el_ms_p99"] == pytest.approx(1298)  # failures are not timed
    assert first["tpot_ms_p50"] == 100  # (1100 - 100) / 10 and (1300 - 300) / 10
    assert first["output_tokens_per_s"] == pytest.approx(22 / 60) and first["requests_per_s"] == pytest.approx(3 / 60)
    assert (first["satisfaction"], first["ratings"]) == (0.5, 2)
    assert second["requests"] == 1 and second["ratings"] == 0


def test_the_breakdown_lists_each_model_busiest_first() -> None:
    table = breakdown(requests_frame(RECORDS))
    assert list(table["model"]) == ["a", "b"] and list(table["requests"]) == [3, 1]
    assert table.loc[1, "e2el_ms_p50"] == 2200 and table.loc[0, "error_rate"] == pytest.approx(1 / 3)


@pytest.mark.parametrize(("span", "bucket"), [(3600, "1min"), (3 * 86400, "1h"), (30 * 86400, "6h")])
def test_a_chart_never_has_more_than_240_buckets(span: float, bucket: str) -> None:
    name, seconds = auto_bucket(span)
    assert name == bucket and span / seconds <= 240


def test_every_latency_chart_names_its_formula() -> None:
    stats = bucket_stats(requests_frame(RECORDS), "1min", 60)
    band = percentile_band_figure(stats, "tpot_ms", "1min")
    assert band.layout.title.subtitle.text == "TPOT = (E2EL - TTFT) / (output tokens - 1)"
    histogram = histogram_cdf_figure(requests_frame(RECORDS)["ttft_ms"], "ttft_ms")
    assert "first content chunk - request start" in histogram.layout.title.subtitle.text
