"""Long runs in a real browser: they outlive page changes and tabs, stop on request, and survive a killed server."""

from __future__ import annotations

import json
import signal
import subprocess
import sys
from pathlib import Path

import pytest

from lib.samples.evalset import help_centre_text
from tests.e2e.conftest import dashboard_server, screenshot
from tests.e2e.test_browser import wait_for_page
from tests.helpers import ROOT, run_cli

pytestmark = pytest.mark.e2e
# About 4,100 tokens: eight of the default 1,024-token windows, a run of 30-60 s on these 2-core machines.
LONG_TEXT = help_centre_text(entries=60)


def start_scoring(page, url: str) -> None:
    """Paste the long text, press Score with the default windows, and wait until it scores."""
    page.goto(url + "/evaluation")
    wait_for_page(page, "Evaluation")
    page.get_by_label("Text to score").fill(LONG_TEXT)
    page.get_by_role("button", name="Score", exact=True).click()
    wait_for_window(page)


def wait_for_window(page) -> None:
    """Until a progress bar says it is scoring windows."""
    page.wait_for_selector("[data-testid='stProgress'] >> text=/window \\d+ of \\d+/", timeout=120_000)


def perplexity_tile(page) -> str:
    page.wait_for_selector("[data-testid='stMetric']", timeout=240_000)
    return page.locator("[data-testid='stMetric']").first.locator("[data-testid='stMetricValue']").inner_text()


def test_a_run_goes_on_across_page_changes_and_a_second_tab_sees_and_stops_it(
    embedded_model, server, browser, page
) -> None:
    start_scoring(page, server)
    screenshot(page, "job-running")
    # Leave the page: the run goes on, and the Overview shows it with its progress.
    page.locator("[data-testid='stSidebarNav'] a", has_text="Overview").click()
    wait_for_page(page, "Overview")
    page.wait_for_selector("text=Perplexity of pasted text", timeout=30_000)
    wait_for_window(page)
    screenshot(page, "job-on-overview")
    # A second tab (a new session) sees the same run, live, and can stop it.
    other = browser.new_context(viewport={"width": 1440, "height": 1000}).new_page()
    other.goto(server + "/evaluation")
    wait_for_page(other, "Evaluation")
    wait_for_window(other)
    other.get_by_role("button", name="Stop").first.click()
    other.wait_for_selector("text=was stopped", timeout=60_000)
    assert other.locator("[data-testid='stMetric']").count() == 0
    screenshot(other, "job-stopped")
    other.context.close()
    # The first tab, back on the page, shows the run as stopped too; nothing was stored.
    page.locator("[data-testid='stSidebarNav'] a", has_text="Evaluation").click()
    wait_for_page(page, "Evaluation")
    page.wait_for_selector("text=was stopped", timeout=30_000)
    jobs = json.loads(run_cli("jobs", "list", "--json").stdout)
    assert [job["state"] for job in jobs] == ["cancelled"]
    assert json.loads(run_cli("eval", "runs", "--json").stdout) == []


def test_a_killed_server_leaves_the_run_interrupted_and_a_terminal_run_shows_live(
    embedded_model, page, pitwall_home: Path, tmp_path: Path
) -> None:
    pitwall_home.mkdir(parents=True, exist_ok=True)
    started: list[subprocess.Popen] = []
    with dashboard_server(pitwall_home, started=started) as url:
        start_scoring(page, url)
        started[0].send_signal(signal.SIGKILL)  # no shutdown hook runs: only the store can tell
        started[0].wait(timeout=10)
    with dashboard_server(pitwall_home) as url:
        page.goto(url + "/evaluation")
        wait_for_page(page, "Evaluation")
        page.wait_for_selector("text=Interrupted", timeout=30_000)
        screenshot(page, "job-interrupted-after-restart")
        assert json.loads(run_cli("jobs", "list", "--json").stdout)[0]["state"] == "interrupted"
        # A run started in a terminal appears on the open page, live, and its result follows.
        text_file = tmp_path / "notes.txt"
        text_file.write_text(LONG_TEXT)
        terminal = subprocess.Popen(
            [sys.executable, "-m", "lib", "eval", "perplexity", "--file", str(text_file),
             "--max-length", "256", "--stride", "128"],
            cwd=ROOT, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
        )  # fmt: skip
        page.wait_for_selector("text=Perplexity of notes.txt (terminal)", timeout=60_000)
        wait_for_window(page)
        assert page.locator("text=started from a terminal").count() >= 1
        screenshot(page, "job-from-terminal")
        out, err = terminal.communicate(timeout=240)
        assert terminal.returncode == 0, err
        value = perplexity_tile(page)
        assert f"perplexity {float(value):.3f}" in out
