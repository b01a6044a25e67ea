"""Helpers shared by tests: running the CLI as a user would."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]


def run_cli(*args: str, env: dict | None = None, timeout: float = 300):
    """Run `python -m lib ...` as a user would, in a subprocess; returns the CompletedProcess."""
    return subprocess.run(
        [sys.executable, "-m", "lib", *args],
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=timeout,
        env={**os.environ, **(env or {})},
    )


def assert_one_sentence_error(stderr: str) -> None:
    """A failed command says one clear line on stderr, never a traceback."""
    assert "Traceback" not in stderr
    lines = [line for line in stderr.strip().splitlines() if line.startswith("pitwall:")]
    assert len(lines) == 1, stderr
