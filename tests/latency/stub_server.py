"""A stand-in OpenAI-compatible server whose behaviour is picked by the request's model name.

Models: "ok" streams max_tokens chunks (at most 8) at once, then usage and [DONE]; "slow" the same with 20 ms
between chunks ("linger" 80 ms, so concurrent requests surely overlap); "split" sends each event in two network
writes, with `data:` unspaced, a comment and CRLF line ends; "no-usage" without the usage chunk; "empty" with no
text; "http500" fails; "hang" never answers; "drop" closes the connection after two chunks; "malformed" sends
`data: {not json`; "json" answers application/json; "error-event" streams an error event; any other name is a
404 like OpenAI's. Usage counts the prompt's words as its tokens. A wrong bearer key (anything but "secret",
when one is sent) is a 401.

    python -m tests.latency.stub_server --port 8765   # serve in the foreground (the latency client bench)
"""

from __future__ import annotations

import argparse
import asyncio
import json
import socket
import threading
import time

import uvicorn
from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import JSONResponse, Response, StreamingResponse
from starlette.routing import Route

KEY = "secret"
MAX_CHUNKS = 8
SLOW_GAP_S = 0.02
LINGER_GAP_S = 0.08  # "linger": requests overlap for certain, even on a busy machine
MODELS = (
    "ok",
    "slow",
    "linger",
    "split",
    "no-usage",
    "empty",
    "http500",
    "hang",
    "drop",
    "malformed",
    "json",
    "error-event",
)


class Stats:
    """Requests seen and the most in flight at once (the concurrency cap test reads it)."""

    def __init__(self) -> None:
        self.requests = 0
        self.in_flight = 0
        self.max_in_flight = 0

    def reset(self) -> None:
        self.requests = self.in_flight = self.max_in_flight = 0


def _chunk(chat: bool, text: str | None, usage: dict | None = None) -> bytes:
    """One SSE event: a content chunk, or the final usage chunk."""
    if usage is not None:
        body = {"id": "x", "object": "chat.completion.chunk", "choices": [], "usage": usage}
    elif chat:
        body = {"id": "x", "object": "chat.completion.chunk", "choices": [{"index": 0, "delta": {"content": text}}]}
    else:
        body = {"id": "x", "object": "text_completion", "choices": [{"index": 0, "text": text}]}
    return b"data: " + json.dumps(body).encode() + b"\n\n"


def _error(status: int, message: str, kind: str) -> JSONResponse:
    return JSONResponse({"error": {"message": message, "type": kind, "code": status}}, status_code=status)


def make_app(stats: Stats) -> Starlette:
    """The stub's Starlette app, counting into `stats`."""

    async def complete(request: Request) -> Response:
        stats.requests += 1
        stats.in_flight += 1
        stats.max_in_flight = max(stats.max_in_flight, stats.in_flight)
        try:
            return await _answer(request, stats)
        except BaseException:
            stats.in_flight -= 1
            raise

    async def stats_route(request: Request) -> Response:
        if request.method == "DELETE":
            stats.reset()
        return JSONResponse(vars(stats))

    routes = [
        Route("/v1/chat/completions", complete, methods=["POST"]),
        Route("/v1/completions", complete, methods=["POST"]),
        Route("/stats", stats_route, methods=["GET", "DELETE"]),
    ]
    return Starlette(routes=routes)


async def _answer(request: Request, stats: Stats) -> Response:
    auth = request.headers.get("authorization")
    if auth is not None and auth != f"Bearer {KEY}":
        stats.in_flight -= 1
        return _error(401, "Incorrect API key provided.", "invalid_request_error")
    body = await request.json()
    model, chat = body.get("model"), request.url.path.endswith("/chat/completions")
    count = max(1, min(int(body.get("max_tokens") or MAX_CHUNKS), MAX_CHUNKS))
    prompt = body["messages"][-1]["content"] if chat else body.get("prompt", "")
    usage = {
        "prompt_tokens": len(prompt.split()),
        "completion_tokens": count,
        "total_tokens": len(prompt.split()) + count,
    }
    if model not in MODELS:
        stats.in_flight -= 1
        return _error(404, f"The model `{model}` does not exist.", "NotFoundError")
    if model == "http500":
        stats.in_flight -= 1
        return _error(500, "Internal server error.", "InternalServerError")
    if model == "json":
        stats.in_flight -= 1
        return JSONResponse({"choices": [{"message": {"content": "hello"}}]})
    if model == "hang":
        while not await request.is_disconnected():
            await asyncio.sleep(0.05)
        stats.in_flight -= 1
        return Response(status_code=499)

    async def events():
        try:
            if model == "empty":
                yield b": keep-alive\n\n"
            elif model == "malformed":
                yield b"data: {not json\n\n"
            elif model == "split":
                yield b": a comment the client must skip\r\n\r\n"
                for i in range(count):
                    event = _chunk(chat, f"tok{i} ").replace(b"data: ", b"data:").replace(b"\n", b"\r\n")
                    yield event[:9]
                    await asyncio.sleep(0.002)  # the rest of the line arrives in a later read
                    yield event[9:]
            elif model == "error-event":
                yield _chunk(chat, "a")
                yield b'event: error\ndata: {"error": {"message": "CUDA out of memory", "code": 500}}\n\n'
            else:
                for i in range(count):
                    if model in ("slow", "linger") and i:
                        await asyncio.sleep(SLOW_GAP_S if model == "slow" else LINGER_GAP_S)
                    if model == "drop" and i == 2:
                        raise ConnectionAbortedError("stub drops the connection")
                    yield _chunk(chat, f"tok{i} ")
            if model not in ("no-usage", "malformed"):
                yield _chunk(chat, None, usage)
            yield b"data: [DONE]\n\n"
        finally:
            stats.in_flight -= 1

    return StreamingResponse(events(), media_type="text/event-stream")


class StubServer:
    """The stub served by uvicorn on 127.0.0.1 in a background thread; `url` is its base, `stats` its counters."""

    def __init__(self) -> None:
        self.stats = Stats()
        # proto IPPROTO_TCP: asyncio sets TCP_NODELAY only on such sockets; without it Nagle adds 40 ms per stream.
        self._socket = socket.socket(socket.AF_INET, socket.SOCK_STREAM, socket.IPPROTO_TCP)
        self._socket.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        self._socket.bind(("127.0.0.1", 0))
        self.url = f"http://127.0.0.1:{self._socket.getsockname()[1]}"
        config = uvicorn.Config(
            make_app(self.stats), log_level="critical", lifespan="off", timeout_graceful_shutdown=1, access_log=False
        )
        self._server = uvicorn.Server(config)
        self._thread = threading.Thread(target=self._server.run, kwargs={"sockets": [self._socket]}, daemon=True)

    def start(self) -> StubServer:
        self._thread.start()
        deadline = time.monotonic() + 10
        while not self._server.started:
            if time.monotonic() > deadline or not self._thread.is_alive():
                raise RuntimeError("the stub server did not start")
            time.sleep(0.01)
        return self

    def stop(self) -> None:
        self._server.should_exit = True
        self._thread.join(timeout=5)
        self._socket.close()


def start_stub() -> tuple[str, StubServer]:
    """Start a stub; returns its base URL and the server (call `.stop()` when done)."""
    server = StubServer().start()
    return server.url, server


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--port", type=int, default=8765)
    args = parser.parse_args()
    uvicorn.run(make_app(Stats()), host="127.0.0.1", port=args.port, log_level="warning", access_log=False)


if __name__ == "__main__":
    main()
