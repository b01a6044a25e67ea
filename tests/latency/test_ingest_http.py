"""The dashboard's ingest route, served by uvicorn: its token, its answers, and track() sending to it end to end."""

from __future__ import annotations

import http.client
import json
import logging
import socket
import threading
import time
import urllib.error
import urllib.request
from collections.abc import Iterator

import pytest
import uvicorn
from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import JSONResponse, Response
from starlette.routing import Route

from lib.latency.ingest_http import MAX_BODY_BYTES, ensure_ingest_token, ingest_route
from lib.latency.track import configure, feedback, flush, stats, track
from lib.store import open_store

PATH = "/api/latency/ingest"


class Flaky:
    """Stores the first batch through the real route, then answers 503 as if the answer was lost; later ones pass."""

    def __init__(self) -> None:
        self.calls = 0

    async def route(self, request: Request) -> Response:
        self.calls += 1
        answer = await ingest_route(request)
        return JSONResponse({"error": "try again"}, status_code=503) if self.calls == 1 else answer


@pytest.fixture(scope="module")
def server() -> Iterator[tuple[str, Flaky]]:
    """The route (and a flaky copy under /flaky) on a free loopback port."""
    flaky = Flaky()
    app = Starlette(
        routes=[Route(PATH, ingest_route, methods=["POST"]), Route("/flaky" + PATH, flaky.route, methods=["POST"])]
    )
    sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM, socket.IPPROTO_TCP)
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    sock.bind(("127.0.0.1", 0))
    config = uvicorn.Config(app, log_level="critical", lifespan="off", timeout_graceful_shutdown=1, access_log=False)
    uv = uvicorn.Server(config)
    thread = threading.Thread(target=uv.run, kwargs={"sockets": [sock]}, daemon=True)
    thread.start()
    deadline = time.monotonic() + 10
    while not uv.started:
        assert time.monotonic() < deadline and thread.is_alive(), "the ingest server did not start"
        time.sleep(0.01)
    yield f"http://127.0.0.1:{sock.getsockname()[1]}", flaky
    uv.should_exit = True
    thread.join(timeout=5)
    sock.close()


@pytest.fixture(autouse=True)
def local_sink() -> Iterator[None]:
    """track() starts each test on the local sink, sending only when flushed."""
    configure(interval_s=60)
    yield
    flush(2)
    configure(interval_s=60)


def post(url: str, body: bytes, token: str | None) -> tuple[int, dict]:
    headers = {"Content-Type": "application/json"}
    if token is not None:
        headers["Authorization"] = f"Bearer {token}"
    request = urllib.request.Request(url + PATH, data=body, headers=headers, method="POST")
    try:
        with urllib.request.urlopen(request, timeout=10) as response:
            return response.status, json.loads(response.read())
    except urllib.error.HTTPError as error:
        return error.code, json.loads(error.read())


def batch(*ids: str) -> bytes:
    records = [{"started_at": 1772359200 + n, "ok": True, "ttft_ms": 50.0, "e2el_ms": 400.0, "request_id": request_id,
                "model": "m", "output_tokens": 8} for n, request_id in enumerate(ids)]  # fmt: skip
    return json.dumps({"records": records}).encode()


def stored_ids() -> list[str]:
    with open_store().read() as conn:
        return [row[0] for row in conn.execute("SELECT request_id FROM latency_requests ORDER BY id")]


def test_the_route_is_off_until_a_token_is_created(server: tuple[str, Flaky]) -> None:
    status, answer = post(server[0], batch("a"), "anything")
    assert status == 503
    assert answer == {"error": "Ingest is off: create a token with `python -m lib latency token`."}
    token = ensure_ingest_token()
    assert len(token) >= 40 and ensure_ingest_token() == token
    assert ensure_ingest_token(rotate=True) != token
    assert stored_ids() == []


def test_a_wrong_or_missing_token_is_401(server: tuple[str, Flaky]) -> None:
    token = ensure_ingest_token()
    for given in ("wrong", None, token[:-1]):
        status, answer = post(server[0], batch("a"), given)
        assert status == 401 and "token" in answer["error"]
    assert stored_ids() == []


def test_a_body_that_is_not_a_batch_is_400_in_one_sentence(server: tuple[str, Flaky]) -> None:
    token = ensure_ingest_token()
    for body, says in (
        (b"{not json", "The body is not JSON"),
        (b'{"rows": []}', "neither 'records' nor 'feedback'"),
        (b'{"records": [{"model": "m"}]}', "no column for a start time or a latency"),
    ):
        status, answer = post(server[0], body, token)
        assert status == 400 and says in answer["error"] and "Traceback" not in answer["error"]
    # An oversized body is refused from its Content-Length, before a byte of it is read.
    connection = http.client.HTTPConnection(server[0].removeprefix("http://"), timeout=10)
    connection.putrequest("POST", PATH)
    connection.putheader("Authorization", f"Bearer {token}")
    connection.putheader("Content-Length", str(MAX_BODY_BYTES + 1))
    connection.endheaders()
    response = connection.getresponse()
    assert response.status == 413 and "over 5 MB" in json.loads(response.read())["error"]
    connection.close()


def test_a_batch_is_stored_once_however_often_it_is_sent(server: tuple[str, Flaky]) -> None:
    token = ensure_ingest_token()
    status, answer = post(server[0], batch("r1", "r2"), token)
    assert (status, answer) == (200, {"stored": 2, "duplicates": 0, "feedback": 0, "problems": []})
    status, answer = post(server[0], batch("r1", "r2"), token)
    assert (status, answer["stored"], answer["duplicates"]) == (200, 0, 2)
    body = json.dumps({"feedback": [{"request_id": "r2", "feedback": 0.25}, {"request_id": "nope", "feedback": 1}]})
    status, answer = post(server[0], body.encode(), token)
    assert (status, answer["feedback"]) == (200, 1)
    assert answer["problems"] == ["feedback for nope: no stored request has that id; left out"]
    assert stored_ids() == ["r1", "r2"]
    with open_store().read() as conn:
        row = conn.execute("SELECT feedback, source FROM latency_requests WHERE request_id = 'r2'").fetchone()
    assert tuple(row) == (0.25, "http")


def test_track_sends_to_the_dashboard_end_to_end(server: tuple[str, Flaky]) -> None:
    configure(url=server[0], token=ensure_ingest_token(), interval_s=60)
    with track(model="llama", endpoint="chat", user="u-9") as call:
        call.first_token()
        call.first_token()
        call.output_tokens = 2
    feedback(call.request_id, thumbs_up=False)
    assert flush(5) is True
    with open_store().read() as conn:
        row = dict(conn.execute("SELECT * FROM latency_requests").fetchone())
    assert (row["request_id"], row["source"], row["model"], row["user"]) == (call.request_id, "track", "llama", "u-9")
    assert (row["feedback"], row["output_tokens"]) == (0.0, 2)
    assert 0 <= row["ttft_ms"] <= row["e2el_ms"]


def test_a_batch_retried_after_a_503_is_stored_exactly_once(server: tuple[str, Flaky]) -> None:
    url, flaky = server
    configure(url=url + "/flaky", token=ensure_ingest_token(), interval_s=60)
    with track(model="m") as call:
        pass
    assert flush(10) is True
    assert flaky.calls == 2  # stored on the first try, whose answer was a 503; the retry found it stored
    assert stored_ids() == [call.request_id]
    assert stats()["dropped"] == 0


def test_a_refused_token_is_given_up_with_one_warning(
    server: tuple[str, Flaky], caplog: pytest.LogCaptureFixture
) -> None:
    ensure_ingest_token()
    configure(url=server[0], token="wrong", interval_s=60)
    with caplog.at_level(logging.WARNING, logger="pitwall.latency"):
        with track(model="m"):
            pass
        assert flush(5) is True  # not retried: a wrong token stays wrong
    assert stats()["dropped"] == 1
    [warning] = [r.getMessage() for r in caplog.records if r.name == "pitwall.latency"]
    assert "HTTP 401" in warning and "Wrong or missing token" in warning
    assert stored_ids() == []


def test_a_batch_too_big_for_one_post_is_split(server: tuple[str, Flaky], monkeypatch: pytest.MonkeyPatch) -> None:
    from lib.latency import sender

    monkeypatch.setattr(sender, "MAX_BODY_BYTES", 3000)
    configure(url=server[0], token=ensure_ingest_token(), interval_s=60)
    calls = []
    for _ in range(4):
        with track(model="long") as call:
            for _ in range(60):  # a long stream: its 59 ITL values make the four records about 4 kB together
                call.first_token()
        calls.append(call.request_id)
    assert flush(5) is True
    assert stored_ids() == calls and stats()["dropped"] == 0


def test_the_answer_does_not_wait_for_the_slo_check(server: tuple[str, Flaky], monkeypatch: pytest.MonkeyPatch) -> None:
    from lib.latency import watch

    started, release = threading.Event(), threading.Event()
    monkeypatch.setattr(watch, "records_arrived", lambda store, urgent=False: (started.set(), release.wait(10)))
    try:
        begun = time.monotonic()
        status, answer = post(server[0], batch("slow-check"), ensure_ingest_token())
        assert (status, answer["stored"]) == (200, 1)
        assert time.monotonic() - begun < 5  # answered while the check still waits
        assert started.wait(5)  # and the check did run, on its own thread
    finally:
        release.set()
