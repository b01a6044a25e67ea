"""HTTP to OpenAI-compatible endpoints: one streamed request, timed as vLLM's `bench serve` times it.

Every request-level failure becomes a RequestRecord with one of `records.ERROR_KINDS` and a one-sentence `error`;
nothing here raises for a server that is down, slow, wrong or rude. Only cancellation propagates.
"""

from __future__ import annotations

import asyncio
import json
import threading
import time
from collections.abc import Callable, Coroutine
from dataclasses import dataclass, field
from typing import Any, TypeVar
from urllib.parse import urlsplit, urlunsplit

import aiohttp
from aiohttp.http_exceptions import HttpProcessingError

from lib.errors import first_line
from lib.latency.records import RequestRecord
from lib.urls import network_reason, split_credentials

T = TypeVar("T")

APIS = ("chat", "completions")
_PATHS = {"chat": "/chat/completions", "completions": "/completions"}
_DETAIL_CHARS = 160  # of a server's own error message quoted in ours


def url_problem(url: str) -> str | None:
    """One sentence saying why `url` is not an http(s) URL with a host, or None when it is."""
    text = (url or "").strip()
    if not text:
        return "No endpoint URL was given; enter one such as http://127.0.0.1:8000/v1."
    try:
        parts = urlsplit(text)
        parts.port  # noqa: B018 - a bad port raises only when read
    except ValueError as error:
        return f"The endpoint URL {text!r} cannot be read ({first_line(error)}); enter one such as http://host:8000/v1."
    if parts.scheme not in ("http", "https"):
        return f"The endpoint URL {text!r} is not http:// or https://; enter one such as http://127.0.0.1:8000/v1."
    if not parts.hostname:
        return f"The endpoint URL {text!r} has no host; enter one such as http://127.0.0.1:8000/v1."
    return None


def _resolve(url: str, api: str) -> tuple[str, str, str]:
    """(request URL without credentials, API the path names or `api`, Basic credentials or "")."""
    bare, basic = split_credentials(url.strip())
    parts = urlsplit(bare)
    path = parts.path.rstrip("/")
    if path.endswith("/chat/completions"):
        api = "chat"
    elif path.endswith("/completions"):
        api = "completions"
    elif path.endswith("/v1"):
        path += _PATHS[api]
    else:  # a server root, or one mounted under a prefix: the OpenAI routes live under /v1
        path += "/v1" + _PATHS[api]
    return urlunsplit(parts._replace(path=path)), api, basic


def _host(url: str) -> str:
    """scheme://host:port of a URL, for sentences (the path and query may carry secrets)."""
    parts = urlsplit(url)
    host = parts.hostname or ""
    if ":" in host:
        host = f"[{host}]"
    return f"{parts.scheme}://{host}" + (f":{parts.port}" if parts.port else "")


@dataclass(frozen=True)
class Endpoint:
    """Where to send requests: a server base (`http://host:8000`, `.../v1`) or a full completions URL.

    A full `.../chat/completions` or `.../completions` URL sets `api` from its path.
    """

    url: str
    model: str
    api: str = "chat"  # "chat" | "completions"
    api_key: str = field(default="", repr=False)
    timeout_s: float = 60.0
    request_url: str = field(init=False, repr=False, compare=False)
    host: str = field(init=False, repr=False, compare=False)
    headers: dict = field(init=False, repr=False, compare=False, hash=False)
    public_url: str = field(init=False, repr=False, compare=False)  # `url` without user:password@, for records

    def __post_init__(self) -> None:
        if self.api not in APIS:
            raise ValueError(f"api must be one of {APIS}, not {self.api!r}")
        problem = url_problem(self.url)
        request_url, api, basic = ("", self.api, "") if problem else _resolve(self.url, self.api)
        headers = {"Content-Type": "application/json", "Accept": "text/event-stream"}
        if self.api_key:
            headers["Authorization"] = f"Bearer {self.api_key}"
        elif basic:
            headers["Authorization"] = f"Basic {basic}"
        # Frozen: derived fields are computed once here, not per request.
        object.__setattr__(self, "api", api)
        object.__setattr__(self, "request_url", request_url)
        object.__setattr__(self, "host", _host(request_url) if request_url else self.url)
        object.__setattr__(self, "headers", headers)
        object.__setattr__(self, "public_url", split_credentials(self.url.strip())[0] if not problem else self.url)

    def payload(self, prompt: str, max_tokens: int) -> dict:
        """The JSON body of a streamed, greedy request for `prompt`."""
        body: dict = {"model": self.model, "max_tokens": max_tokens, "temperature": 0, "stream": True}
        if self.api == "chat":
            body["messages"] = [{"role": "user", "content": prompt}]
        else:
            body["prompt"] = prompt
        body["stream_options"] = {"include_usage": True}
        return body


def open_session(concurrency: int | None) -> aiohttp.ClientSession:
    """A client session whose connection pool fits `concurrency` (None: unlimited); timeouts are per request."""
    connector = aiohttp.TCPConnector(
        limit=concurrency or 0, limit_per_host=concurrency or 0, ttl_dns_cache=300, keepalive_timeout=60
    )
    # read_bufsize: a stream line longer than twice this is refused by aiohttp; 1 MiB covers any real chunk.
    return aiohttp.ClientSession(
        connector=connector, timeout=aiohttp.ClientTimeout(total=None), trust_env=False, read_bufsize=2**20
    )


class _Failure(Exception):
    """A classified failure inside stream_request: kind and sentence."""

    def __init__(self, kind: str, sentence: str) -> None:
        super().__init__(sentence)
        self.kind = kind
        self.sentence = sentence


def _detail(body: bytes) -> str:
    """The server's own error message from an error body (OpenAI's {"error": {"message"}}), short and one line."""
    text = body.decode("utf-8", errors="replace").strip()
    try:
        data = json.loads(text)
    except ValueError:
        data = None
    if isinstance(data, dict):
        error = data.get("error", data.get("detail", data.get("message")))
        if isinstance(error, dict):
            error = error.get("message", error)
        text = error if isinstance(error, str) else json.dumps(error)
    text = " ".join(text.split()).rstrip(".")
    if text.lstrip().startswith("<"):
        return "an HTML page"
    return text if len(text) <= _DETAIL_CHARS else text[: _DETAIL_CHARS - 1] + "…"


def _status_failure(endpoint: Endpoint, status: int, body: bytes) -> _Failure:
    """The kind and sentence for an HTTP error status."""
    detail = _detail(body)
    said = f" (the server said: {detail})" if detail else ""
    where = f"HTTP {status} from {endpoint.host}"
    if status == 404:
        path = urlsplit(endpoint.request_url).path
        return _Failure(
            "not_found",
            f"{where}{said}: the path {path} or the model name '{endpoint.model}' may be wrong; "
            "check the URL and the model the server serves.",
        )
    if status in (401, 403):
        return _Failure("unauthorized", f"{where}{said}: the API key is missing or wrong; set the endpoint's key.")
    if 400 <= status < 500:
        return _Failure("http_4xx", f"{where}{said}: the server refused the request; check the model and options.")
    if status >= 500:
        return _Failure("http_5xx", f"{where}{said}: the server failed; check its logs.")
    return _Failure("not_sse", f"{where}{said}: expected 200 with a stream; check the endpoint URL.")


def _exception_failure(endpoint: Endpoint, error: BaseException, answered: bool) -> _Failure:
    """The kind and sentence for a network-level exception; `answered` when the response had begun."""
    where = endpoint.host
    if isinstance(error, TimeoutError):  # asyncio's and aiohttp's timeouts are all TimeoutError on 3.11
        return _Failure(
            "timeout",
            f"No complete answer from {where} within {endpoint.timeout_s:g} s (timeout); "
            "raise the timeout or lower max tokens, or check the server's load.",
        )
    if isinstance(error, aiohttp.ClientConnectorError):
        return _Failure(
            "unreachable",
            f"Nothing answered at {where} ({network_reason(error.os_error)}); "
            "check the endpoint URL and that the server is running.",
        )
    if isinstance(error, aiohttp.InvalidURL):
        return _Failure("invalid_url", f"The endpoint URL {endpoint.url!r} is not usable; check it.")
    if isinstance(error, (aiohttp.ClientPayloadError, aiohttp.ServerDisconnectedError)) or answered:
        return _Failure(
            "dropped",
            f"The connection to {where} closed before the stream ended ({first_line(error)}); "
            "check the server's logs for a crash or a proxy timeout.",
        )
    if isinstance(error, (aiohttp.ClientError, OSError)):
        return _Failure(
            "unreachable",
            f"Nothing answered at {where} ({network_reason(error)}); "
            "check the endpoint URL and that the server is running.",
        )
    return _Failure("malformed", f"The answer from {where} could not be read ({first_line(error)}); check the server.")


async def stream_request(
    session: aiohttp.ClientSession,
    endpoint: Endpoint,
    prompt: str,
    max_tokens: int,
    count_tokens: Callable[[str], int] | None = None,
) -> RequestRecord:
    """Send one streamed request and time it; a failure comes back as a record with error_kind, never raised.

    TTFT: send to the first chunk carrying text. ITL: gaps between later text chunks. E2EL: send to the last.
    Output tokens: the server's usage, else `count_tokens` of the text, else the number of text chunks.
    """
    record = RequestRecord(started_at=time.time(), ok=False, model=endpoint.model, endpoint=endpoint.public_url)
    if not endpoint.request_url:
        record.error_kind, record.error = "invalid_url", url_problem(endpoint.url) or "The endpoint URL is not usable."
        return record
    chat = endpoint.api == "chat"
    parts: list[str] | None = [] if count_tokens is not None else None
    itl: list[float] = []
    chunks = 0
    usage = None
    error_next = False
    answered = False
    perf = time.perf_counter
    start = perf()
    first = last = 0.0
    try:
        async with session.post(
            endpoint.request_url,
            json=endpoint.payload(prompt, max_tokens),
            headers=endpoint.headers,
            timeout=aiohttp.ClientTimeout(total=endpoint.timeout_s),
        ) as response:
            record.status_code = status = response.status
            if status != 200:
                raise _status_failure(endpoint, status, await response.content.read(4096))
            if response.content_type != "text/event-stream":
                shown = response.content_type or "no content type"
                raise _Failure(
                    "not_sse",
                    f"{endpoint.host} answered with {shown}, not a stream of server-sent events; "
                    "check that the URL is an OpenAI-compatible endpoint that supports stream: true.",
                )
            answered = True
            # The hot path: one line per SSE field, as vLLM reads it; aiohttp joins lines split across reads.
            async for line in response.content:
                line = line.strip()
                if not line:
                    continue
                if line[:5] != b"data:":
                    if line == b"event: error" or line == b"event:error":
                        error_next = True
                    continue  # comments (": keep-alive"), event:, id:, retry:
                payload = line[5:].lstrip()
                if payload == b"[DONE]":
                    break
                try:
                    data = json.loads(payload)
                except ValueError:
                    shown = payload[:60].decode(errors="replace")
                    raise _Failure(
                        "malformed",
                        f"{endpoint.host} sent a stream event that is not JSON ({shown!r}); "
                        "check that it is an OpenAI-compatible server.",
                    ) from None
                choices = data.get("choices")
                if choices:
                    choice = choices[0]
                    if chat:
                        delta = choice.get("delta")
                        # Reasoning models stream their thinking first: those are generated tokens too.
                        text = delta and (
                            delta.get("content") or delta.get("reasoning_content") or delta.get("reasoning")
                        )
                    else:
                        text = choice.get("text")
                    if text:
                        now = perf()
                        if chunks:
                            itl.append((now - last) * 1000.0)
                        else:
                            first = now
                        last = now
                        chunks += 1
                        if parts is not None:
                            parts.append(text)
                if error_next or data.get("error") is not None:
                    error = data.get("error", data)
                    message = error.get("message", error) if isinstance(error, dict) else error
                    message = message if isinstance(message, str) else json.dumps(message)
                    raise _Failure(
                        "server_error",
                        f"{endpoint.host} reported an error in the stream ({_detail(message.encode())}); "
                        "check the server's logs.",
                    )
                if data.get("usage"):
                    usage = data["usage"]
    except _Failure as failure:
        record.error_kind, record.error = failure.kind, failure.sentence
        return record
    except (aiohttp.ClientError, OSError, TimeoutError, HttpProcessingError) as error:
        failure = _exception_failure(endpoint, error, answered)
        record.error_kind, record.error = failure.kind, failure.sentence
        return record
    except (AttributeError, KeyError, IndexError, TypeError) as error:  # JSON that is not an OpenAI chunk
        record.error_kind = "malformed"
        record.error = (
            f"{endpoint.host} sent a stream event without the OpenAI chunk fields ({first_line(error)}); "
            f"check that the URL is a {'chat ' if chat else ''}completions endpoint."
        )
        return record
    except asyncio.CancelledError:
        raise
    except Exception as error:  # never let one request's surprise end a load test
        failure = _exception_failure(endpoint, error, answered)
        record.error_kind, record.error = failure.kind, failure.sentence
        return record
    if not chunks:
        record.error_kind = "no_content"
        record.error = f"The stream from {endpoint.host} ended without any generated text; check the model and prompt."
        return _with_usage(record, usage)
    record.ok = True
    record.ttft_ms = (first - start) * 1000.0
    record.e2el_ms = (last - start) * 1000.0
    record.itl_ms = itl
    _with_usage(record, usage)
    if record.output_tokens is None:
        if parts is not None:
            record.output_text = "".join(parts)
            try:
                record.output_tokens = int(count_tokens(record.output_text))
            except Exception:  # a tokenizer that fails must not lose a request that succeeded
                record.output_tokens = chunks
        else:
            record.output_tokens = chunks
    record.tpot_ms = None
    record.__post_init__()  # TPOT from the times and tokens now known
    return record


def _with_usage(record: RequestRecord, usage: dict | None) -> RequestRecord:
    """Token counts from the server's usage chunk, when it sent one."""
    if isinstance(usage, dict):
        if isinstance(usage.get("completion_tokens"), int):
            record.output_tokens = usage["completion_tokens"]
        if isinstance(usage.get("prompt_tokens"), int):
            record.input_tokens = usage["prompt_tokens"]
    return record


def run_to_completion(coroutine: Coroutine[Any, Any, T]) -> T:
    """Run a coroutine on a fresh event loop and return its result, from any thread.

    asyncio.run refuses in a thread whose event loop is already running (a notebook, an async application,
    Playwright's sync API); there the coroutine runs on its own loop in a helper thread, joined here.
    """
    try:
        asyncio.get_running_loop()
    except RuntimeError:
        return asyncio.run(coroutine)
    outcome: dict[str, Any] = {}

    def run() -> None:
        try:
            outcome["value"] = asyncio.run(coroutine)
        except BaseException as error:  # handed back to the caller's thread as it was
            outcome["error"] = error

    thread = threading.Thread(target=run, name="pitwall-event-loop", daemon=True)
    thread.start()
    thread.join()
    if "error" in outcome:
        raise outcome["error"]
    return outcome["value"]
