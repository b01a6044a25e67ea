"""`transformers serve` as a managed subprocess: one real server for the module, serving the embedded model.

The `served` fixture (module scope) starts it once and stops it at the module's end, where it also checks
that the process is gone and the port free. Tests that need the server's state file point PITWALL_HOME at
the fixture's home with `serve_home` (every test otherwise gets a fresh, empty one).
"""

from __future__ import annotations

import json
import os
import socket
import sys
import time
import urllib.request
from collections.abc import Iterator
from pathlib import Path

import pytest

from lib.errors import InputError, PitwallError
from lib.latency import serve as serve_module
from lib.latency.runs import get_run
from lib.latency.serve import ServeInfo, serve_status, start_serve, stop_serve
from lib.store import open_store
from tests.helpers import cli_in_process, free_port

STARTUP: dict[str, float] = {}  # seconds the module's server took to answer /health (read by the report)


def port_free(port: int) -> bool:
    with socket.socket() as sock:
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        try:
            sock.bind(("127.0.0.1", port))
        except OSError:
            return False
    return True


@pytest.fixture(scope="module")
def served(tmp_path_factory: pytest.TempPathFactory, embedded_model) -> Iterator[ServeInfo]:
    """One `transformers serve` of the embedded model on a free port, with its own PITWALL_HOME."""
    home = tmp_path_factory.mktemp("serve-home")
    with pytest.MonkeyPatch.context() as patch:
        patch.setenv("PITWALL_HOME", str(home))
        started = time.monotonic()
        info = start_serve("smollm2-135m", port=free_port(), wait_s=120)
        STARTUP["seconds"] = time.monotonic() - started
    try:
        yield info
    finally:
        with pytest.MonkeyPatch.context() as patch:
            patch.setenv("PITWALL_HOME", str(home))
            stopped = stop_serve(timeout_s=10)
            assert stopped, "the module's server had exited before the module ended"
            assert not Path(f"/proc/{info.pid}").exists() or _zombie_or_gone(info.pid)
            assert port_free(info.port), f"port {info.port} is still taken after stop_serve"
            assert serve_status() is None and not (home / "serve.json").exists()


def _zombie_or_gone(pid: int) -> bool:
    try:
        return Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()[0] == "Z"
    except OSError:
        return True


@pytest.fixture
def serve_home(served: ServeInfo, monkeypatch: pytest.MonkeyPatch) -> Path:
    """PITWALL_HOME set to the module server's home, where its serve.json is."""
    home = Path(served.log_path).parents[1]
    monkeypatch.setenv("PITWALL_HOME", str(home))
    return home


def test_the_server_is_ready_on_loopback_and_answers_health(served: ServeInfo) -> None:
    assert served.state == "ready" and served.url == f"http://127.0.0.1:{served.port}"
    with urllib.request.urlopen(f"{served.url}/health", timeout=5) as response:
        assert response.status == 200 and json.loads(response.read()) == {"status": "ok"}
    with urllib.request.urlopen(f"{served.url}/v1/models", timeout=5) as response:
        assert [model["id"] for model in json.loads(response.read())["data"]] == [served.model]
    assert Path(served.log_path).name == f"serve-{served.port}.log" and Path(served.log_path).is_file()
    assert STARTUP["seconds"] < 120


def test_a_streamed_chat_completion_has_content_chunks_and_usage(served: ServeInfo) -> None:
    body = {
        "model": served.model,
        "messages": [{"role": "user", "content": "Say hello."}],
        "stream": True,
        "max_tokens": 4,
        "stream_options": {"include_usage": True},
    }
    request = urllib.request.Request(
        f"{served.url}/v1/chat/completions",
        data=json.dumps(body).encode(),
        headers={"Content-Type": "application/json"},
    )
    chunks = []
    with urllib.request.urlopen(request, timeout=60) as response:
        assert response.headers.get_content_type() == "text/event-stream"
        for line in response:
            text = line.decode().strip()
            if text.startswith("data: ") and text != "data: [DONE]":
                chunks.append(json.loads(text.removeprefix("data: ")))
    content = [c["choices"][0]["delta"].get("content") for c in chunks if c.get("choices")]
    assert sum(1 for piece in content if piece) >= 1
    usage = chunks[-1]["usage"]  # transformers serve puts it on the last chunk, beside finish_reason
    assert 1 <= usage["completion_tokens"] <= 4 and usage["prompt_tokens"] > 0
    assert chunks[-1]["choices"][0]["finish_reason"] in ("length", "stop")


def test_a_load_test_of_the_served_model_gives_consistent_figures(served: ServeInfo) -> None:
    done = cli_in_process(
        "latency", "loadtest", "--endpoint", served.url, "--model", served.model, "--requests", "4",
        "--concurrency", "2", "--max-tokens", "8", "--input-tokens", "32", "--save", "--json",
    )  # fmt: skip
    assert done.returncode == 0, done.stderr
    result = json.loads(done.stdout)
    assert (result["completed"], result["failed"]) == (4, 0)
    run = get_run(open_store(), result["run_id"])
    for record in run.requests:
        assert 0 < record.ttft_ms <= record.e2el_ms
        assert 1 <= record.output_tokens <= 8  # from the server's usage
        if record.output_tokens > 1:
            expected = (record.e2el_ms - record.ttft_ms) / (record.output_tokens - 1)
            assert record.tpot_ms == pytest.approx(expected)
    assert result["ttft_ms"]["p50"] <= result["e2el_ms"]["p50"]
    assert result["output_token_throughput"] == pytest.approx(
        sum(r.output_tokens for r in run.requests) / result["duration_s"]
    )
    wrong = json.loads(
        cli_in_process("latency", "loadtest", "--endpoint", served.url, "--model", "no-such-model",
                       "--requests", "1", "--json").stdout
    )  # fmt: skip
    assert wrong["failed"] == 1 and set(wrong["errors"]) <= {"not_found", "http_4xx"}


def test_serve_status_finds_the_server_from_its_state_file(served: ServeInfo, serve_home: Path) -> None:
    recorded = json.loads((serve_home / "serve.json").read_text())
    assert (recorded["pid"], recorded["port"], recorded["state"]) == (served.pid, served.port, "ready")
    # As another process would: without this process's handle on the child.
    child = serve_module._children.pop(served.pid, None)
    try:
        status = serve_status()
    finally:
        if child is not None:
            serve_module._children[served.pid] = child
    assert status is not None and (status.pid, status.url, status.state) == (served.pid, served.url, "ready")
    assert status.model_spec == "smollm2-135m"


def test_starting_again_returns_the_running_server(served: ServeInfo, serve_home: Path) -> None:
    again = start_serve("smollm2-135m", port=served.port)
    assert (again.pid, again.state) == (served.pid, "ready")


def test_another_model_while_one_runs_is_one_sentence(served: ServeInfo, serve_home: Path, tmp_path: Path) -> None:
    folder = tmp_path / "other-model"
    folder.mkdir()
    (folder / "config.json").write_text("{}")
    with pytest.raises(InputError) as caught:
        start_serve(str(folder), port=served.port)
    message = str(caught.value)
    assert "\n" not in message and message.endswith(".")
    assert message == (
        f"transformers serve already runs smollm2-135m on port {served.port}; stop it first, or use it as it is."
    )


def test_a_port_taken_by_another_program_is_one_sentence(served: ServeInfo) -> None:
    # A fresh PITWALL_HOME: nothing recorded, so the module's server is just "another program" here.
    assert serve_status() is None
    with pytest.raises(InputError) as caught:
        start_serve("smollm2-135m", port=served.port)
    assert str(caught.value) == (
        f"Port {served.port} on 127.0.0.1 is already in use by another program; "
        "choose another port or leave it empty for a free one."
    )
    assert not (Path(os.environ["PITWALL_HOME"]) / "serve.json").exists()


def test_a_server_that_exits_at_start_is_one_sentence_with_its_last_log_line(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    # A stand-in that fails as transformers serve does on a bad model (a traceback, exit code 1), in 0.1 s.
    script = "import sys; print('Traceback ...'); print('ValueError: Unrecognized model in /models/x.'); sys.exit(1)"
    monkeypatch.setattr(serve_module, "serve_command", lambda folder, port: [sys.executable, "-c", script])
    folder = tmp_path / "broken-model"
    folder.mkdir()
    (folder / "config.json").write_text("{}")
    with pytest.raises(PitwallError) as caught:
        start_serve(str(folder), port=free_port(), wait_s=30)
    log = Path(os.environ["PITWALL_HOME"]) / "logs"
    assert str(caught.value) == (
        "transformers serve exited with code 1 before it was ready (ValueError: Unrecognized model in /models/x); "
        f"see {next(log.glob('serve-*.log'))}."
    )
    assert serve_status() is None  # the failed server's state is not left behind
