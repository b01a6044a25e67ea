"""The GPU health page in Chromium against a real server whose collector samples the simulated node."""

from __future__ import annotations

import time
import urllib.request

import pytest
from playwright.sync_api import expect

from lib.gpu.source import switch_simulated
from tests.alerts.test_notifiers import Receiver
from tests.e2e.conftest import dashboard_server, screenshot
from tests.e2e.test_browser import assert_healthy, wait_for_page

pytestmark = pytest.mark.e2e
MAIN = "[data-testid='stMainBlockContainer']"


def test_the_simulated_node_live_tiles_charts_alerts_planner_and_webhook(page, pitwall_home, monkeypatch) -> None:
    pitwall_home.mkdir(parents=True, exist_ok=True)
    switch_simulated(True, now=time.time() - 50)  # 50 s into its story: throttling, ECC and XID have happened
    with Receiver() as receiver:
        monkeypatch.setenv("PITWALL_ALERTS_WEBHOOK_URL", receiver.url)
        with dashboard_server(pitwall_home) as url:
            page.set_viewport_size({"width": 1440, "height": 2200})
            page.goto(url + "/gpu")
            wait_for_page(page, "GPU health")
            assert_healthy(page, "GPU health")
            main = page.locator(MAIN)
            page.wait_for_function(
                "document.body.innerText.includes('XID 48 error')", timeout=30_000
            )  # the server's collector recorded the XID and its alert fired
            text = main.inner_text()
            assert text.count("simulated\n") >= 4 or text.count("simulated") >= 5  # a badge on every tile
            assert "Simulated node." in text and "critical" in text and "healthy" in text
            assert "Clock events: SW thermal slowdown" in text and "Clock events: SW power cap" in text
            first_read = page.get_by_text("read ", exact=False).first.inner_text()
            page.wait_for_function(
                f"!document.body.innerText.includes({first_read!r})", timeout=10_000
            )  # the tiles redraw by themselves
            for window in ("1 h", "24 h", "7 d", "5 min"):
                page.locator("[data-testid='stButtonGroup'] button").get_by_text(window, exact=True).click()
                page.wait_for_timeout(800)
            page.wait_for_selector(f"{MAIN} .js-plotly-plot", timeout=20_000)
            main.get_by_text("SIMULATED data").first.wait_for(timeout=20_000)  # every chart says so
            main.get_by_text("GPU utilisation (%)", exact=False).first.wait_for(timeout=20_000)
            screenshot(page, "gpu-simulated-history")

            page.get_by_role("tab", name="Alerts").click()
            # A dataframe is a canvas; its cells exist, hidden, for screen readers.
            page.get_by_text("gpu-xid").first.wait_for(state="attached", timeout=10_000)
            page.get_by_text("gpu-ecc").first.wait_for(state="attached", timeout=10_000)
            screenshot(page, "gpu-simulated-alerts")

            page.get_by_role("tab", name="Capacity planner").click()
            page.get_by_role("button", name="Plan").click()
            page.get_by_text("KV cache per token").wait_for(timeout=60_000)
            assert main.get_by_text("23,040 B").count() == 1  # smollm2-135m, bfloat16
            # The verdicts are drawn after the metrics and the chart: wait for all four, not the first.
            expect(main.get_by_text("fits in", exact=False)).to_have_count(4, timeout=30_000)
            screenshot(page, "gpu-simulated-planner")

            page.get_by_role("tab", name="Processes").click()
            page.get_by_text("tritonserver").first.wait_for(state="attached", timeout=10_000)
            assert page.locator("[data-testid='stException']").count() == 0
            texts = [request["body"]["text"] for request in receiver.requests]
    assert any("GPU 2 on simulated-node" in text and "XID" in text for text in texts), texts


def test_without_a_gpu_the_page_explains_and_the_fleet_tab_asks_for_prometheus(server, page) -> None:
    with urllib.request.urlopen(f"{server}/metrics", timeout=10) as response:  # the app's own exporter
        assert response.status == 200 and "pitwall_gpu_count 0.0" in response.read().decode()
    page.goto(server + "/gpu")
    wait_for_page(page, "GPU health")
    assert_healthy(page, "GPU health")
    assert page.get_by_text("No GPU to show.").count() == 1
    page.get_by_role("tab", name="Fleet (Prometheus)").click()
    page.get_by_text("No Prometheus server is set").wait_for(timeout=10_000)
    screenshot(page, "gpu-no-gpu")
