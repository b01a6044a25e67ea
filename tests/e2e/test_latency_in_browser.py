"""The Latency page in Chromium: records arrive over the dashboard's ingest route and show on the Monitor, and a
newcomer starts `transformers serve` from the page, load-tests it, and the server stops with the dashboard.
(Demo traffic, SLOs and the firing burn-rate alert are driven through AppTest in tests/pages.)"""

from __future__ import annotations

import json
import time
import urllib.request
from pathlib import Path

import pytest
from playwright.sync_api import expect

from lib.latency.ingest_http import ensure_ingest_token
from lib.latency.serve import serve_status
from tests.e2e.conftest import dashboard_server, screenshot
from tests.e2e.test_browser import assert_healthy, wait_for_page
from tests.helpers import free_port

pytestmark = pytest.mark.e2e
MAIN = "[data-testid='stMainBlockContainer']"


def post_records(url: str, token: str, records: list[dict]) -> dict:
    request = urllib.request.Request(
        f"{url}/api/latency/ingest",
        data=json.dumps({"records": records}).encode(),
        headers={"Content-Type": "application/json", "Authorization": f"Bearer {token}"},
    )
    with urllib.request.urlopen(request, timeout=10) as response:
        return json.loads(response.read())


def until_ready(timeout_s: float):
    """The managed server once it answers, as the page's Start button left it."""
    deadline = time.monotonic() + timeout_s
    while time.monotonic() < deadline:
        served = serve_status()
        if served is not None and served.state == "ready":
            return served
        time.sleep(0.5)
    raise AssertionError(f"transformers serve was not ready within {timeout_s:.0f} s")


def test_monitor_ingest_route_and_a_load_test_of_a_server_started_from_the_page(
    embedded_model, page, pitwall_home: Path
) -> None:
    pitwall_home.mkdir(parents=True, exist_ok=True)
    page.set_viewport_size({"width": 1440, "height": 2400})
    main = page.locator(MAIN)
    with dashboard_server(pitwall_home) as url:
        # An application on another host sends records through the dashboard's own port.
        token = ensure_ingest_token()
        now = time.time()
        sent = [
            {
                "started_at": now - 30 + i,
                "model": "app-model",
                "ttft_ms": 200 + i,
                "e2el_ms": 900 + i,
                "output_tokens": 20,
                "request_id": f"req-{i}",
            }
            for i in range(5)
        ]
        assert post_records(url, token, sent)["stored"] == 5
        page.goto(url + "/latency")
        wait_for_page(page, "Latency")
        assert_healthy(page, "Latency")
        requests = main.locator("[data-testid='stMetric']").filter(has_text="Requests")
        expect(requests).to_contain_text("5", timeout=30_000)

        page.wait_for_selector(f"{MAIN} .js-plotly-plot", timeout=30_000)
        screenshot(page, "latency-monitor")

        page.get_by_role("tab", name="Load test").click()
        port = page.get_by_role("spinbutton", name="Port")
        port.fill(str(free_port()))
        port.press("Enter")
        page.get_by_role("button", name="Start server").click()
        served = until_ready(120)
        # The form now aims at the server (the panel folds away once it is ready).
        expect(page.get_by_role("textbox", name="Model name")).to_have_value(served.model, timeout=30_000)
        expect(page.get_by_role("textbox", name="Endpoint URL")).to_have_value(served.url)
        amount = page.get_by_role("spinbutton", name="How many requests")
        amount.fill("4")
        amount.press("Enter")
        page.get_by_role("spinbutton", name="max_tokens").fill("8")
        page.get_by_role("spinbutton", name="max_tokens").press("Enter")
        page.get_by_role("button", name="Start load test").click()
        main.get_by_text("Latest load test").wait_for(timeout=120_000)
        completed = main.locator("[data-testid='stMetric']:visible").filter(has_text="Completed")
        expect(completed).to_contain_text("4", timeout=30_000)
        expect(main.locator("[data-testid='stMetric']:visible").filter(has_text="Failed")).to_contain_text("0")
        assert page.locator("[data-testid='stException']").count() == 0
        screenshot(page, "latency-loadtest")
    # The dashboard stopped: the server it started from the page stopped with it.
    assert serve_status() is None and not Path(f"/proc/{served.pid}").exists()
