"""Measure an application's own LLM calls in production: TTFT, ITL, E2EL, tokens, failures and user feedback.

    from lib.latency.track import configure, current_call, feedback, track

    configure(url="http://pitwall.internal:8501", token="...")  # or set PITWALL_INGEST_URL and
    # PITWALL_INGEST_TOKEN; with neither, records go to the local store under PITWALL_HOME

    with track(model="llama-3.1-8b", endpoint="chat", user="u-42") as call:
        stream = client.chat.completions.create(
            model="llama-3.1-8b", messages=messages, stream=True, stream_options={"include_usage": True}
        )
        for chunk in stream:
            if chunk.choices and chunk.choices[0].delta.content:
                call.first_token()  # the first call marks TTFT, every later one an inter-token gap
            if chunk.usage:
                call.input_tokens = chunk.usage.prompt_tokens
                call.output_tokens = chunk.usage.completion_tokens
    feedback(call.request_id, thumbs_up=True)  # later, when the user rates the answer (or score=4 on 1-5)

    @track(model="summarise-3b")
    def summarise(text: str) -> str:
        answer = client.completions.create(model="summarise-3b", prompt=text)
        current_call().output_tokens = answer.usage.completion_tokens
        return answer.choices[0].text

Times follow vLLM's `bench serve`: TTFT is the block's start to the first `first_token()`; E2EL runs to the
last `first_token()` when there were two or more, else to the end of the block. An exception leaving the
block marks the request failed (`app_error`) and is re-raised unchanged. Nothing here waits on I/O: records
are queued and a background thread sends them every second (see lib/latency/sender.py); `flush()` sends
what is queued now, and the queue is flushed for up to two seconds when the interpreter exits.
"""

from __future__ import annotations

import atexit
import contextlib
import functools
import inspect
import itertools
import logging
import os
import threading
import time
import uuid
from collections.abc import Callable
from contextvars import ContextVar, Token
from pathlib import Path
from typing import Any, TypeVar

from lib.errors import InputError, first_line
from lib.latency.records import ERROR_KINDS, RequestRecord, score_feedback
from lib.latency.sender import BatchSender, Feedback, http_delivery, local_delivery

log = logging.getLogger("pitwall.latency")
EXIT_FLUSH_S = 2.0
F = TypeVar("F", bound=Callable[..., Any])

_lock = threading.Lock()
_sender: BatchSender | None = None
_current: ContextVar[TrackedCall | None] = ContextVar("pitwall_tracked_call", default=None)
# The blocks open in this task or thread, innermost last: (the track instance, its call, the token of _current).
# Per context, so one `track(...)` instance entered by several tasks or threads at once never swaps their calls.
_open: ContextVar[tuple[tuple[track, TrackedCall, Token], ...]] = ContextVar("pitwall_open_tracks", default=())


class TrackedCall:
    """One tracked LLM call: mark tokens with `first_token()`, set `input_tokens` / `output_tokens`."""

    def __init__(self, model: str = "", endpoint: str = "", user: str = "", request_id: str | None = None):
        self.model = model
        self.endpoint = endpoint
        self.user = user
        self.request_id = request_id or uuid.uuid4().hex
        self.input_tokens: int | None = None
        self.output_tokens: int | None = None
        self.error_kind = ""
        self.error = ""
        self.record: RequestRecord | None = None  # set when the call ends
        self.started_at = time.time()
        self._start = time.perf_counter()
        self._marks: list[float] = []

    def first_token(self) -> None:
        """Mark a token (or chunk) arriving: the first call is TTFT, later calls are inter-token gaps."""
        self._marks.append(time.perf_counter())

    def fail(self, kind_or_message: str) -> None:
        """Mark the call failed without raising: one of ERROR_KINDS (`timeout`), or a message (an `app_error`)."""
        if kind_or_message in ERROR_KINDS:
            self.error_kind = kind_or_message
        else:
            self.error_kind, self.error = "app_error", str(kind_or_message)[:500]

    def finish(self, error: BaseException | None = None) -> RequestRecord:
        """The call's record, measured now (the end of the block)."""
        end = time.perf_counter()
        marks = self._marks
        ttft = round((marks[0] - self._start) * 1000, 3) if marks else None
        last = marks[-1] if len(marks) >= 2 else end  # one mark may be a non-streamed answer: run to the end
        if error is not None:
            self.error_kind, self.error = "app_error", f"{type(error).__name__}: {first_line(error)}"[:500]
        self.record = RequestRecord(
            started_at=self.started_at,
            ok=not self.error_kind,
            ttft_ms=ttft,
            e2el_ms=round((last - self._start) * 1000, 3),
            itl_ms=[round((b - a) * 1000, 3) for a, b in itertools.pairwise(marks)],  # microseconds: enough, and short
            input_tokens=_count(self.input_tokens),
            output_tokens=_count(self.output_tokens),
            model=str(self.model),
            endpoint=str(self.endpoint),
            error_kind=self.error_kind,
            error=self.error,
            request_id=self.request_id,
            user=str(self.user),
            source="track",
        )
        return self.record


def _count(value: Any) -> int | None:
    try:
        return None if value is None else int(value)
    except (TypeError, ValueError):
        return None


class track:
    """Measure the block (or each call of the decorated function) and queue its record; see the module doc.

    One instance may be entered by several tasks or threads at once: each sees its own call. `request_id` is for
    the block form only; a decorated function's calls each get a new id (a fixed one would store only the first).
    """

    def __init__(self, model: str = "", endpoint: str = "", user: str = "", request_id: str | None = None):
        self._args = (model, endpoint, user, request_id)
        self._stray: list[TrackedCall] = []  # entered here, for an exit in another context (a generator across tasks)

    def __enter__(self) -> TrackedCall:
        call = TrackedCall(*self._args)
        _open.set((*_open.get(), (self, call, _current.set(call))))
        self._stray.append(call)
        return call

    def __exit__(self, exc_type: type | None, exc: BaseException | None, traceback: Any) -> bool:
        entries = _open.get()
        mine = [i for i, entry in enumerate(entries) if entry[0] is self]
        if mine:
            _, call, token = entries[mine[-1]]
            _open.set(entries[: mine[-1]] + entries[mine[-1] + 1 :])
            with contextlib.suppress(ValueError):  # set in another context (a block exited out of order)
                _current.reset(token)
            with contextlib.suppress(ValueError):
                self._stray.remove(call)
        elif self._stray:
            call = self._stray.pop()  # entered in another context: the best guess is this instance's latest call
        else:
            return False  # exited without being entered: nothing to record
        _record(call, exc)
        return False  # the application's exception goes on unchanged

    async def __aenter__(self) -> TrackedCall:
        return self.__enter__()

    async def __aexit__(self, exc_type: type | None, exc: BaseException | None, traceback: Any) -> bool:
        return self.__exit__(exc_type, exc, traceback)

    def __call__(self, func: F) -> F:
        """Track every call of `func` (sync or async), each under its own request id."""
        model, endpoint, user, request_id = self._args
        if request_id:
            raise InputError(
                "@track(request_id=...) would give every call the same id, so the store would keep only the first; "
                "leave request_id out of the decorator, or use `with track(request_id=...)` around each call."
            )
        if inspect.iscoroutinefunction(func):

            @functools.wraps(func)
            async def async_wrapper(*args: Any, **kwargs: Any) -> Any:
                async with track(model, endpoint, user, request_id):
                    return await func(*args, **kwargs)

            return async_wrapper  # type: ignore[return-value]

        @functools.wraps(func)
        def wrapper(*args: Any, **kwargs: Any) -> Any:
            with track(model, endpoint, user, request_id):
                return func(*args, **kwargs)

        return wrapper  # type: ignore[return-value]


def current_call() -> TrackedCall | None:
    """The call being tracked around this code (inside a `@track` function), or None."""
    return _current.get()


def _record(call: TrackedCall, error: BaseException | None) -> None:
    try:
        _put(call.finish(error))
    except Exception as problem:  # tracking must never break the application it measures
        log.warning("Pitwall latency: a tracked call was not recorded (%s: %s)", type(problem).__name__, problem)


def feedback(request_id: str, thumbs_up: bool | None = None, score: float | None = None, scale: tuple = (1, 5)) -> None:
    """Record a user's satisfaction with an earlier request: thumbs up 1, down 0, a score s on 1-5 as (s - 1) / 4."""
    if (thumbs_up is None) == (score is None):
        raise ValueError("feedback() takes either thumbs_up or score")
    value = (1.0 if thumbs_up else 0.0) if thumbs_up is not None else score_feedback(float(score), scale)  # type: ignore[arg-type]
    _put(Feedback(str(request_id), value))


def _put(item: RequestRecord | Feedback) -> None:
    """Queue on the current sender; if configure() closed it meanwhile, on the one that replaced it."""
    if not _get_sender().try_put(item):
        _get_sender().put(item)  # closed again (the interpreter is exiting): put() counts it as dropped


def configure(
    url: str | None = None,
    token: str | None = None,
    home: Path | str | None = None,
    *,
    interval_s: float = 1.0,
    batch_size: int = 100,
) -> None:
    """Choose where records go: a dashboard `url` (POSTed with the Bearer `token`) or the store under `home`.

    Without arguments: $PITWALL_INGEST_URL and $PITWALL_INGEST_TOKEN when set, else the local store under
    $PITWALL_HOME. What the previous sink still held is flushed to it (for up to two seconds) first.
    """
    global _sender
    sender = _new_sender(url, token, home, interval_s, batch_size)
    with _lock:
        old, _sender = _sender, sender
    if old is not None:
        old.close(EXIT_FLUSH_S)


def _new_sender(
    url: str | None, token: str | None, home: Path | str | None, interval_s: float = 1.0, batch_size: int = 100
) -> BatchSender:
    if home is None and url is None:
        url = os.environ.get("PITWALL_INGEST_URL") or None
    if token is None:
        token = os.environ.get("PITWALL_INGEST_TOKEN", "")
    deliver = http_delivery(url, token) if url and home is None else local_delivery(Path(home) if home else None)
    return BatchSender(deliver, interval_s=interval_s, batch_size=batch_size)


def _get_sender() -> BatchSender:
    global _sender
    with _lock:  # uncontended, so cheap; two first calls at once must not make two senders
        if _sender is None:
            _sender = _new_sender(None, None, None)
        return _sender


def flush(timeout_s: float = 5) -> bool:
    """Send every queued record now; True when all were handled (sent, or dropped with a warning) in time."""
    sender = _sender
    return True if sender is None else sender.flush(timeout_s)


def stats() -> dict[str, int]:
    """The sender's counts: `pending` (queued or being sent), `sent`, `dropped`."""
    sender = _sender
    if sender is None:
        return {"pending": 0, "sent": 0, "dropped": 0}
    return {"pending": sender.pending, "sent": sender.sent, "dropped": sender.dropped}


@atexit.register
def _flush_at_exit() -> None:
    sender = _sender
    if sender is not None:
        sender.close(EXIT_FLUSH_S)
