"""track(): what an application wraps around its LLM calls; records reach the store without holding the app up."""

from __future__ import annotations

import asyncio
import json
import subprocess
import sys
import threading
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

import pytest

from lib.errors import InputError
from lib.latency import track as tracking
from lib.latency import watch
from lib.latency.client import run_to_completion
from lib.latency.records import RequestRecord
from lib.latency.sender import BatchSender
from lib.latency.track import configure, current_call, feedback, flush, stats, track
from lib.store import open_store


def stored() -> list[dict]:
    """Every production request in this test's store."""
    with open_store().read() as conn:
        return [dict(row) for row in conn.execute("SELECT * FROM latency_requests ORDER BY id")]


@pytest.fixture(autouse=True)
def local_sink(monkeypatch: pytest.MonkeyPatch) -> Iterator[None]:
    """Each test starts with a local sink under its own PITWALL_HOME that sends only when flushed.

    The SLO check that stored records start runs on its own thread; not here: its first run imports numpy,
    which pytest.approx, peeking at sys.modules, would find half imported."""
    monkeypatch.setattr(watch, "check_soon", lambda store: None)
    configure(interval_s=60)
    yield
    flush(2)


def test_a_tracked_block_is_stored_with_its_times_and_tokens_after_flush() -> None:
    with track(model="llama", endpoint="chat", user="u-1") as call:
        call.first_token()
        call.first_token()
        call.first_token()
        call.input_tokens, call.output_tokens = 12, 3
    assert stored() == []  # queued, not written from the application's thread
    assert flush() is True
    [row] = stored()
    assert row["request_id"] == call.request_id and len(call.request_id) == 32
    assert (row["source"], row["model"], row["endpoint"], row["user"], row["ok"]) == (
        "track",
        "llama",
        "chat",
        "u-1",
        1,
    )
    assert 0 <= row["ttft_ms"] <= row["e2el_ms"]
    assert (row["input_tokens"], row["output_tokens"]) == (12, 3)
    assert len(json.loads(row["itl_ms"])) == 2
    assert row["tpot_ms"] == pytest.approx((row["e2el_ms"] - row["ttft_ms"]) / 2)


def test_the_decorator_tracks_each_call_and_the_function_reaches_its_call() -> None:
    @track(model="summarise")
    def summarise(text: str) -> str:
        call = current_call()
        call.first_token()
        call.output_tokens = len(text)
        return text.upper()

    @track(model="async-model")
    async def answer() -> int:
        current_call().first_token()
        await asyncio.sleep(0)
        return 7

    assert summarise("abc") == "ABC"
    assert summarise("de") == "DE"
    assert run_to_completion(answer()) == 7  # from a thread whose loop may be running (Playwright's)
    assert current_call() is None
    flush()
    rows = stored()
    assert [(row["model"], row["output_tokens"]) for row in rows] == [("summarise", 3), ("summarise", 2),
                                                                       ("async-model", None)]  # fmt: skip
    assert len({row["request_id"] for row in rows}) == 3
    assert all(row["ttft_ms"] <= row["e2el_ms"] for row in rows)


def test_an_exception_is_reraised_unchanged_and_recorded_as_an_app_error() -> None:
    error = ValueError("no such prompt.\nSecond line")
    with pytest.raises(ValueError) as raised, track(model="m") as call:
        raise error
    assert raised.value is error
    with track(model="m") as failed:
        failed.fail("timeout")
    flush()
    first, second = stored()
    assert first["request_id"] == call.request_id
    assert (first["ok"], first["error_kind"], first["ttft_ms"]) == (0, "app_error", None)
    assert first["error"] == "ValueError: no such prompt"
    assert (second["ok"], second["error_kind"]) == (0, "timeout")


def test_feedback_attaches_to_the_stored_request() -> None:
    with track(model="m") as liked:
        pass
    with track(model="m") as scored:
        pass
    feedback(liked.request_id, thumbs_up=True)
    feedback(scored.request_id, score=4)
    flush()
    assert [row["feedback"] for row in stored()] == [1.0, 0.75]
    with pytest.raises(ValueError):
        feedback(scored.request_id, score=9)


def test_a_full_queue_drops_the_oldest_records_and_counts_them() -> None:
    delivered: list[RequestRecord] = []
    sender = BatchSender(lambda records, _feedback: delivered.extend(records), interval_s=60, max_queue=2)
    for n in range(3):
        sender.put(RequestRecord(started_at=n, ok=True, e2el_ms=1.0, request_id=str(n)))
    assert sender.dropped == 1
    assert sender.flush(5)
    assert [record.request_id for record in delivered] == ["1", "2"]


class HangingDashboard(ThreadingHTTPServer):
    """A stand-in dashboard whose answers wait until `release` is set; it keeps every body it received."""

    daemon_threads = True

    def __init__(self) -> None:
        self.bodies: list[dict] = []
        self.entered = threading.Event()
        self.release = threading.Event()
        server = self

        class Handler(BaseHTTPRequestHandler):
            def do_POST(self) -> None:  # http.server's naming
                server.bodies.append(json.loads(self.rfile.read(int(self.headers["Content-Length"]))))
                server.entered.set()
                server.release.wait(10)
                self.send_response(200)
                self.send_header("Content-Type", "application/json")
                self.end_headers()
                self.wfile.write(b"{}")

            def log_message(self, *args: object) -> None:
                pass

        super().__init__(("127.0.0.1", 0), Handler)
        self.url = f"http://127.0.0.1:{self.server_address[1]}"


def test_a_hanging_dashboard_does_not_hold_up_the_tracked_call() -> None:
    dashboard = HangingDashboard()
    threading.Thread(target=dashboard.serve_forever, daemon=True).start()
    try:
        configure(url=dashboard.url, token="t", interval_s=60)
        with track(model="first") as first:
            pass
        assert flush(timeout_s=0) is False  # asks the sender to go now; it cannot finish while the server hangs
        assert dashboard.entered.wait(5)  # the sender's thread is now stuck inside the first POST
        with track(model="second") as second:
            second.first_token()
        assert stats()["pending"] == 2  # the app's call returned; its record waits in the queue
        assert not dashboard.release.is_set()
        dashboard.release.set()
        assert flush(5) is True
        sent = [record["request_id"] for body in dashboard.bodies for record in body["records"]]
        assert sent == [first.request_id, second.request_id]
        assert dashboard.bodies[0]["records"][0]["source"] == "track"
    finally:
        dashboard.release.set()
        configure(interval_s=60)
        dashboard.shutdown()
        dashboard.server_close()


def test_records_queued_before_configure_go_to_the_previous_sink() -> None:
    with track(model="m") as call:
        pass
    configure(url="http://127.0.0.1:9", interval_s=60)  # the old local sink is flushed on the way out
    assert [row["request_id"] for row in stored()] == [call.request_id]
    assert tracking.stats()["pending"] == 0


def test_one_track_instance_shared_by_concurrent_tasks_keeps_each_tasks_call() -> None:
    shared = track(model="m")
    both_inside = asyncio.Event()
    entered = 0

    async def worker(tokens: int) -> str:
        nonlocal entered
        async with shared as call:
            entered += 1
            if entered == 2:
                both_inside.set()
            await both_inside.wait()  # both blocks are open at once
            await asyncio.sleep(0 if tokens == 5 else 0.01)  # the first in leaves first: a shared stack would end
            current_call().output_tokens = tokens  # the other task's call, before that task had marked its tokens
        return call.request_id

    async def main() -> list[str]:
        return list(await asyncio.gather(worker(5), worker(9)))

    five, nine = run_to_completion(main())
    flush()
    assert {row["request_id"]: row["output_tokens"] for row in stored()} == {five: 5, nine: 9}


def test_the_decorator_refuses_a_fixed_request_id() -> None:
    with pytest.raises(InputError) as raised:

        @track(model="m", request_id="x")
        def answer() -> None:
            pass

    assert "same id" in str(raised.value) and "\n" not in str(raised.value)


def test_a_record_put_on_a_closed_sender_is_counted_as_dropped_or_sent_by_its_successor(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    sender = BatchSender(lambda records, _feedback: None, interval_s=60)
    sender.close(1)
    sender.put(RequestRecord(started_at=0, ok=True, e2el_ms=1.0, request_id="late"))
    assert (sender.dropped, sender.pending) == (1, 0)
    old, real = tracking._get_sender(), tracking._get_sender
    configure(interval_s=60)  # closes `old` after a tracking thread had already taken it:
    stale = iter([old])
    monkeypatch.setattr(tracking, "_get_sender", lambda: next(stale, None) or real())
    with track(model="m") as call:
        pass
    flush()
    assert [row["request_id"] for row in stored()] == [call.request_id]  # handed to the sender now in place
    assert old.dropped == 0


def test_importing_track_needs_neither_pandas_nor_numpy() -> None:
    code = "import sys; sys.modules['pandas'] = None; sys.modules['numpy'] = None; import lib.latency.track"
    root = Path(__file__).resolve().parents[2]
    done = subprocess.run([sys.executable, "-c", code], cwd=root, capture_output=True, text=True, timeout=60)
    assert done.returncode == 0, done.stderr[-500:]
