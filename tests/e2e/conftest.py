"""A real dashboard server on a free port, and headless Chromium driven by Playwright."""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
import time
import urllib.request
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import pytest

from tests.helpers import ROOT, free_port

# Debian's Chromium (or PITWALL_CHROMIUM); None when neither is installed.
CHROMIUM = os.environ.get("PITWALL_CHROMIUM") or shutil.which("chromium") or shutil.which("/usr/bin/chromium")
ARTIFACTS = ROOT / "tests" / "artifacts"
CHROMIUM_ARGS = [
    "--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run", "--disable-background-networking",
    "--disable-component-update", "--disable-sync",
]  # fmt: skip


@contextmanager
def dashboard_server(
    home: Path, plain_streamlit_run: bool = False, started: list[subprocess.Popen] | None = None
) -> Iterator[str]:
    """Start a fresh server as `make run` does (or by plain `streamlit run`); yield its URL; stop it after.

    `started` receives the server's process, for tests that kill it.
    """
    port = free_port()
    log = (home.parent / f"streamlit-{port}.log").open("w")
    launcher = [sys.executable, "-m", "streamlit", "run"] if plain_streamlit_run else [sys.executable]
    process = subprocess.Popen(
        [*launcher, "dashboard.py", "--server.port", str(port), "--server.address", "127.0.0.1"],
        cwd=ROOT, stdout=log, stderr=subprocess.STDOUT, env={**os.environ, "PITWALL_HOME": str(home)},
    )  # fmt: skip
    url = f"http://127.0.0.1:{port}"
    if started is not None:
        started.append(process)
    try:
        deadline = time.monotonic() + 60
        while True:
            try:
                with urllib.request.urlopen(f"{url}/_stcore/health", timeout=2) as response:
                    if response.read() == b"ok":
                        break
            except OSError:
                pass
            if process.poll() is not None or time.monotonic() > deadline:
                raise RuntimeError(f"streamlit did not start; see {log.name}")
            time.sleep(0.3)
        yield url
    finally:
        process.terminate()
        try:
            process.wait(timeout=10)
        except subprocess.TimeoutExpired:
            process.kill()
        log.close()


@pytest.fixture(scope="session")
def browser():
    """Debian's Chromium, headless; the tests are skipped, loudly, where it is not installed."""
    if not CHROMIUM or not Path(CHROMIUM).exists():
        pytest.skip(
            "browser tests need Debian's chromium (or PITWALL_CHROMIUM); `make test` installs it where apt-get works"
        )
    from playwright.sync_api import sync_playwright

    with sync_playwright() as playwright:
        instance = playwright.chromium.launch(executable_path=CHROMIUM, headless=True, args=CHROMIUM_ARGS)
        yield instance
        instance.close()


@pytest.fixture
def page(browser):
    context = browser.new_context(viewport={"width": 1440, "height": 1000})
    tab = context.new_page()
    yield tab
    context.close()


@pytest.fixture
def server(pitwall_home: Path) -> Iterator[str]:
    pitwall_home.mkdir(parents=True, exist_ok=True)
    with dashboard_server(pitwall_home) as url:
        yield url


def screenshot(page, name: str) -> Path:
    ARTIFACTS.mkdir(parents=True, exist_ok=True)
    path = ARTIFACTS / f"{name}.png"
    page.screenshot(path=str(path), full_page=True)
    return path
