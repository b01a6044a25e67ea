"""The Latency tile: no data, SLOs met, a budget running low, a burn-rate alert firing; and the SLO table."""

from __future__ import annotations

import pytest

from lib.latency.records import RequestRecord, production_frame, save_records
from lib.latency.slo import check_slos, objectives_from_settings
from lib.latency.status import slo_table, status
from lib.settings import defaults
from lib.status import area_status
from lib.store import open_store

T0 = 1_700_000_040.0
HOUR, DAY = 3_600.0, 86_400.0


def traffic(start: float, minutes: int, slow_every: int = 0, slow_of: int = 1, ok: bool = True) -> list[RequestRecord]:
    """One production request a minute; `slow_of` of every `slow_every` take 1.5 s to the first token."""
    return [
        RequestRecord(
            start + 60 * i + 1, ok=ok, ttft_ms=1_500.0 if slow_every and i % slow_every < slow_of else 300.0,
            e2el_ms=2_000.0, output_tokens=20, source="track",
        )
        for i in range(minutes)
    ]  # fmt: skip


def test_no_production_requests_means_no_data_and_says_what_to_do() -> None:
    store = open_store()
    tile = status(store, defaults(), now=T0)
    assert (tile.area, tile.title, tile.state) == ("latency", "Latency", "no data")
    assert tile.headline == "no requests recorded"
    assert "track()" in tile.detail and "log" in tile.detail
    save_records(store, traffic(T0 - 40 * DAY, 10))  # older than the 30-day budget period
    assert status(store, defaults(), now=T0).state == "no data"
    # The Overview reaches the tile through lib.status, no longer as "not built yet".
    assert area_status("latency", store, defaults()).headline == "no requests recorded"


def test_slos_met_list_each_slis_budget() -> None:
    store = open_store()
    save_records(store, traffic(T0 - DAY, 1_440))
    tile = status(store, defaults(), now=T0)
    assert (tile.state, tile.headline) == ("ok", "4 SLOs met")
    assert "TTFT ≤ 1000 ms: 100% (budget 100% left)" in tile.detail
    assert "Availability: 100% (budget 100% left)" in tile.detail
    assert tile.updated_at == pytest.approx(T0 - 60 + 1)


def test_a_budget_running_low_warns_and_says_how_much_is_left() -> None:
    store = open_store()
    # 1000 requests over 20 days, 9 too slow spread out: 90% of the TTFT budget spent, no burst to alert on.
    records = [
        RequestRecord(T0 - 20 * DAY + i * 1_728, ok=True, ttft_ms=1_500.0 if i % 111 == 0 and i else 300.0,
                      e2el_ms=2_000.0, output_tokens=20, source="track")
        for i in range(1_000)
    ]  # fmt: skip
    save_records(store, records)
    tile = status(store, defaults(), now=T0)
    assert (tile.state, tile.headline) == ("warning", "TTFT error budget 10% left")
    assert "TTFT ≤ 1000 ms: 99.1% (budget 10% left)" in tile.detail


def test_a_firing_burn_rate_alert_makes_the_tile_critical_and_names_the_slo() -> None:
    store = open_store()
    bad_start = T0 - HOUR
    save_records(store, traffic(T0 - 3 * DAY, 3 * 1_440 - 60))
    save_records(store, traffic(bad_start, 60, slow_every=5, slow_of=2))  # 40% too slow for the last hour
    check_slos(store, defaults(), T0, [])
    tile = status(store, defaults(), now=T0)
    assert tile.state == "critical"
    assert tile.headline == "TTFT SLO burning 40x over 1h/5m"
    assert "TTFT ≤ 1000 ms: 99.44% (budget 44% left)" in tile.detail
    # An hour of failures, then silence: the pages resolve, yet the spent budget still says critical.
    save_records(store, traffic(T0, 60, ok=False))
    check_slos(store, defaults(), T0 + 2 * HOUR, [])
    later = status(store, defaults(), now=T0 + 2 * HOUR)
    assert later.state == "critical" and later.headline == "Availability error budget exhausted"
    assert "TTFT SLO burning" not in later.detail and "Availability: 98.63% (budget exhausted)" in later.detail


def test_the_slo_table_has_a_row_per_objective() -> None:
    store = open_store()
    save_records(store, traffic(T0 - HOUR, 60, slow_every=5, slow_of=2))
    table = slo_table(production_frame(store), objectives_from_settings(defaults()), T0, 30 * DAY)
    assert list(table.columns) == ["SLO", "target", "SLI", "events", "bad", "budget left", "burn 1h", "state"]
    assert list(table["SLO"]) == ["TTFT ≤ 1000 ms", "TPOT ≤ 100 ms", "E2EL ≤ 20000 ms", "Availability"]
    ttft = table.iloc[0]
    assert (ttft["events"], ttft["bad"], ttft["state"]) == (60, 24, "critical")
    assert ttft["SLI"] == pytest.approx(0.6) and ttft["burn 1h"] == pytest.approx(40.0)
    assert table.iloc[3]["state"] == "ok" and table.iloc[3]["budget left"] == pytest.approx(1.0)
