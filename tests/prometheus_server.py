"""A real Prometheus (Debian's `prometheus` binary) for tests: started on a free port, scraping every second.

`running_prometheus` starts one in a folder with the scrape configs given and stops it on the way out;
`wait_for_query` polls a PromQL query until it answers what is expected, failing the test with the end of
Prometheus's log if the process exits or the time runs out. `assert_one_sentence` and
`assert_unreachable_is_one_sentence` check the errors that reading a Prometheus gives.
"""

from __future__ import annotations

import json
import shutil
import subprocess
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path

import pytest

from lib.errors import PitwallError
from lib.promql import query
from tests.helpers import free_port

__all__ = [
    "PROMETHEUS",
    "RunningPrometheus",
    "assert_one_sentence",
    "assert_unreachable_is_one_sentence",
    "free_port",
    "running_prometheus",
    "wait_for_query",
]

PROMETHEUS = shutil.which("prometheus")  # None when Prometheus is not installed


@dataclass
class RunningPrometheus:
    url: str
    log: Path  # its stdout and stderr
    process: subprocess.Popen


@contextmanager
def running_prometheus(folder: Path, scrape_configs: list[dict]) -> Iterator[RunningPrometheus]:
    """Prometheus on a free loopback port, scraping `scrape_configs` every second; terminated on exit."""
    if PROMETHEUS is None:
        raise RuntimeError("Prometheus is not on PATH (Debian: apt-get install prometheus)")
    config = folder / "prometheus.yml"
    config.write_text(
        json.dumps(  # JSON is YAML
            {
                "global": {"scrape_interval": "1s", "scrape_timeout": "1s", "evaluation_interval": "1m"},
                "scrape_configs": scrape_configs,
            }
        )
    )
    port = free_port()
    log = folder / "prometheus.log"
    with log.open("w") as output:
        process = subprocess.Popen(
            [
                PROMETHEUS,
                f"--config.file={config}",
                f"--storage.tsdb.path={folder / 'data'}",
                f"--web.listen-address=127.0.0.1:{port}",
                "--storage.tsdb.retention.time=1h",
                "--log.level=warn",
            ],
            stdout=output,
            stderr=subprocess.STDOUT,
        )
    try:
        yield RunningPrometheus(f"http://127.0.0.1:{port}", log, process)
    finally:
        process.terminate()
        try:
            process.wait(10)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait(5)


def wait_for_query(
    prometheus: RunningPrometheus,
    promql: str,
    expected: list[tuple[dict[str, str], float]],
    what: str,
    timeout: float = 30,
) -> None:
    """Poll until `promql` answers `expected`; else fail with "Prometheus {what} within {timeout} s" and its log."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if prometheus.process.poll() is not None:
            pytest.fail(f"Prometheus exited with {prometheus.process.returncode}: {prometheus.log.read_text()[-2000:]}")
        try:
            if query(prometheus.url, promql, timeout=1) == expected:
                return
        except PitwallError:
            pass  # not listening yet
        time.sleep(0.2)
    pytest.fail(f"Prometheus {what} within {timeout:g} s: {prometheus.log.read_text()[-2000:]}")


def assert_one_sentence(message: str, shown: str) -> None:
    assert "\n" not in message and message.endswith("."), message
    assert shown in message, message


def assert_unreachable_is_one_sentence(read: Callable[[str], object]) -> None:
    """`read(url)` of a Prometheus URL where nothing listens fails with one sentence naming it."""
    url = f"http://127.0.0.1:{free_port()}"
    with pytest.raises(PitwallError) as caught:
        read(url)
    assert_one_sentence(str(caught.value), url)
    assert "cannot be reached (connection refused)" in str(caught.value)
