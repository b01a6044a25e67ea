"""The Latency page driven like a user through Streamlit's AppTest: demo traffic, SLOs, a load test, bad input."""

from __future__ import annotations

from lib.jobs import wait_for
from lib.latency.runs import list_runs
from lib.store import open_store
from tests.latency.conftest import stub, stub_url  # noqa: F401  (one stub server for this module)
from tests.pages.test_pages import job_ids, page_app


def test_an_empty_monitor_offers_demo_traffic_whose_bad_hour_shows_in_the_slos() -> None:
    at = page_app("pages.latency").run()
    assert not at.exception, [e.value for e in at.exception]
    assert any("No production requests yet" in info.value for info in at.tabs[0].info)
    at.button(key="mon_demo").click().run(timeout=60)
    assert not at.exception, [e.value for e in at.exception]
    tiles = {m.label: m.value for m in at.tabs[0].metric}
    assert int(tiles["Requests"].replace(",", "")) > 1000 and tiles["Satisfaction"].endswith("%")
    slos = next(df.value for df in at.tabs[0].dataframe if "SLO" in df.value.columns)
    assert list(slos["SLO"]) == ["TTFT ≤ 1000 ms", "TPOT ≤ 100 ms", "E2EL ≤ 20000 ms", "Availability"]
    ttft = slos.set_index("SLO").loc["TTFT ≤ 1000 ms"]
    assert ttft["bad"] > 30 and ttft["state"] == "critical"  # the planted hour, going on now, pages someone
    alerts = next(df.value for df in at.tabs[0].dataframe if "alert" in df.value.columns)
    assert "firing" in set(alerts.loc[alerts["alert"] == "latency-slo-ttft-1h", "state"])
    per_model = next(df.value for df in at.tabs[0].dataframe if "model" in df.value.columns)
    assert set(per_model["model"]) == {"support-8b", "summarise-3b"}


def test_a_load_test_started_from_the_page_shows_its_figures(stub_url: str) -> None:  # noqa: F811
    at = page_app("pages.latency").run()
    at.text_input(key="lt_url").set_value(stub_url)
    at.text_input(key="lt_model").set_value("slow")
    at.number_input(key="lt_amount").set_value(5)
    before = job_ids()
    at.button(key="lt_start").click().run()
    assert not at.exception and not at.tabs[1].error, [e.value for e in at.tabs[1].error]
    (job_id,) = job_ids() - before
    assert wait_for(job_id, timeout=60).state == "succeeded"
    at.run()
    tiles = {m.label: m.value for m in at.tabs[1].metric}
    assert (tiles["Completed"], tiles["Failed"]) == ("5", "0")
    table = next(df.value for df in at.tabs[1].dataframe if "formula" in df.value.columns).set_index("metric")
    assert table.loc["TTFT", "p99"] <= table.loc["E2EL", "p50"]
    assert "(E2EL - TTFT) / (output tokens - 1)" in table.loc["TPOT", "formula"]
    assert any(b.label.startswith("Download every request") for b in at.tabs[1].get("download_button"))


def test_a_bad_url_is_one_sentence_and_starts_nothing() -> None:
    at = page_app("pages.latency").run()
    at.text_input(key="lt_url").set_value("localhost:8000")
    at.text_input(key="lt_model").set_value("m")
    before = job_ids()
    at.button(key="lt_start").click().run()
    assert not at.exception
    assert any("http" in e.value for e in at.tabs[1].error)
    assert job_ids() == before and list_runs(open_store()) == []
