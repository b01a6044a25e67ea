"""Helpers shared by tests: running the CLI as a user would."""

from __future__ import annotations

import contextlib
import io
import os
import socket
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


def cli_in_process(*args: str) -> subprocess.CompletedProcess:
    """`python -m lib ...` run by this test process: the same exit code, stdout and stderr as `run_cli`,
    without starting an interpreter and importing torch for every call (models stay loaded between calls).

    For what a subprocess adds nothing to; keep `run_cli` where the process boundary is the point
    (standard input, a second process running at the same time).
    """
    from lib.cli import main

    out, err = io.StringIO(), io.StringIO()
    with contextlib.redirect_stdout(out), contextlib.redirect_stderr(err):
        try:
            code = main(list(args))
        except SystemExit as exit_:  # argparse refusing the arguments
            code = exit_.code if isinstance(exit_.code, int) else 1
    return subprocess.CompletedProcess([sys.executable, "-m", "lib", *args], code, out.getvalue(), err.getvalue())


def assert_one_sentence_error(stderr: str) -> None:
    """A failed command says one clear line on stderr, never a traceback."""
    assert "Traceback" not in stderr
    lines = [line for line in stderr.strip().splitlines() if line.startswith("pitwall:")]
    assert len(lines) == 1, stderr


def free_port() -> int:
    """A loopback TCP port nobody listens on now (for servers a test starts)."""
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]
