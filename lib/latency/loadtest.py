"""A load test against an OpenAI-compatible endpoint, as vLLM's `bench serve` runs one.

Requests are sent on a gamma arrival schedule (burstiness 1 is Poisson; no rate sends them all at once), at most
`concurrency` in flight, each streamed and timed by `lib.latency.client`. The duration that throughput is divided by
is the wall time from the first send to the last completion.
"""

from __future__ import annotations

import asyncio
import contextlib
import math
import time
from collections.abc import Callable
from dataclasses import asdict, dataclass, field

import numpy as np

from lib.errors import InputError
from lib.latency.client import Endpoint, open_session, run_to_completion, stream_request, url_problem
from lib.latency.metrics import LoadSummary, Slo, summarize
from lib.latency.records import RequestRecord

DEFAULT_REQUESTS = 10
_POLL_S = 0.2  # how often should_stop is asked


@dataclass(frozen=True)
class LoadTestSpec:
    """What to run: where, how many (a count or a duration), how fast and how many at once. No API key here."""

    endpoint: str
    model: str
    api: str = "chat"
    requests: int | None = None  # a count; with neither this nor duration_s, DEFAULT_REQUESTS
    duration_s: float | None = None  # or keep sending until this many seconds have passed
    rate: float | None = None  # requests/s; None sends them all at once
    burstiness: float = 1.0  # gamma shape: 1 is Poisson, lower is burstier
    concurrency: int | None = None  # most requests in flight; None: no cap
    max_tokens: int = 64
    input_tokens: int = 128  # of synthetic prompts, when no prompts file
    prompts_file: str | None = None
    timeout_s: float = 60.0
    seed: int = 0

    def to_dict(self) -> dict:
        return asdict(self)

    def problems(self) -> list[str]:
        """One sentence per thing wrong with the spec; empty when it can run."""
        found = []
        if problem := url_problem(self.endpoint):
            found.append(problem)
        if not (self.model or "").strip():
            found.append("No model name was given; enter the name the server serves (GET /v1/models lists them).")
        if self.api not in ("chat", "completions"):
            found.append(f"The API must be 'chat' or 'completions', not {self.api!r}; choose one.")
        if self.requests is not None and self.duration_s is not None:
            found.append("Both a request count and a duration were given; choose one.")
        if self.requests is not None and self.requests < 1:
            found.append(f"The request count must be at least 1, not {self.requests}; raise it.")
        if self.duration_s is not None and not (self.duration_s > 0 and math.isfinite(self.duration_s)):
            found.append(f"The duration must be a positive number of seconds, not {self.duration_s}; raise it.")
        if self.rate is not None and not self.rate > 0:
            found.append(f"The rate must be above 0 requests/s, not {self.rate}; leave it empty to send all at once.")
        if not self.burstiness > 0:
            found.append(f"The burstiness must be above 0 (1 is Poisson), not {self.burstiness}; raise it.")
        if self.concurrency is not None and self.concurrency < 1:
            found.append(f"The concurrency must be at least 1, not {self.concurrency}; raise it or leave it empty.")
        if self.duration_s is not None and self.concurrency is None and _unpaced(self.rate):
            found.append("A timed run with no rate needs a concurrency cap, or it would send without end; set one.")
        if self.max_tokens < 1:
            found.append(f"Max tokens must be at least 1, not {self.max_tokens}; raise it.")
        if self.input_tokens < 1:
            found.append(f"Input tokens must be at least 1, not {self.input_tokens}; raise it.")
        if not self.timeout_s > 0:
            found.append(f"The timeout must be above 0 seconds, not {self.timeout_s}; raise it.")
        return found

    def validate(self) -> None:
        """Raise InputError with the first problem, if any."""
        if found := self.problems():
            raise InputError(found[0])

    @property
    def count(self) -> int | None:
        """How many requests to send: the count asked, DEFAULT_REQUESTS with neither, None for a timed run."""
        if self.duration_s is not None:
            return None
        return DEFAULT_REQUESTS if self.requests is None else self.requests


def _unpaced(rate: float | None) -> bool:
    return rate is None or math.isinf(rate)


def arrival_offsets(count: int, rate: float | None, burstiness: float = 1.0, seed: int = 0) -> list[float]:
    """Send times (s after the start) of `count` requests: gamma(burstiness, 1/(rate x burstiness)) gaps.

    The first request goes at 0; no rate (or an infinite one) sends every request at 0.
    """
    if count <= 0:
        return []
    if _unpaced(rate):
        return [0.0] * count
    gaps = _gaps(np.random.default_rng(seed), count - 1, rate, burstiness)
    return [0.0, *np.cumsum(gaps).tolist()]


def _gaps(rng: np.random.Generator, count: int, rate: float, burstiness: float) -> np.ndarray:
    # Mean gap 1/rate whatever the shape; CV^2 = 1/burstiness (vLLM's get_request).
    return rng.gamma(shape=burstiness, scale=1.0 / (rate * burstiness), size=count)


@dataclass
class LoadTestResult:
    """A load test's requests (finished ones, in the order they finished) and its wall-clock span."""

    spec: LoadTestSpec
    records: list[RequestRecord]
    duration_s: float  # first send to last completion (vLLM's benchmark_duration)
    stopped: bool  # stopped early (should_stop, or on_progress raised)
    started_at: float  # unix time of the first send
    elapsed_s: float = 0.0  # since the run began, for progress while it runs
    in_flight: int = 0  # requests sent and not yet finished (live snapshots)

    def summary(self, slo: Slo | None = None) -> LoadSummary:
        """The run's figures (vLLM's calculate_metrics)."""
        return summarize(self.records, self.duration_s, slo)

    def progress(self) -> float:
        """How far the run is, 0-1: requests finished of those asked, or time passed of the duration."""
        if self.spec.duration_s is not None:
            return min(1.0, self.elapsed_s / self.spec.duration_s)
        total = self.spec.count or 1
        return min(1.0, len(self.records) / total)


@dataclass
class _State:
    """What the running test shares between its sender, its requests and its monitor."""

    records: list[RequestRecord] = field(default_factory=list)
    tasks: set[asyncio.Task] = field(default_factory=set)
    begun: float = 0.0  # perf_counter when the run began
    wall_begun: float = 0.0
    first_send: float | None = None  # perf_counter
    last_done: float | None = None
    stop: asyncio.Event | None = None
    error: BaseException | None = None  # raised by on_progress

    def snapshot(self, spec: LoadTestSpec, stopped: bool = False) -> LoadTestResult:
        now = time.perf_counter()
        duration = 0.0
        if self.first_send is not None and self.last_done is not None:
            duration = max(0.0, self.last_done - self.first_send)
        started = self.wall_begun + ((self.first_send - self.begun) if self.first_send is not None else 0.0)
        return LoadTestResult(
            spec=spec, records=list(self.records), duration_s=duration, stopped=stopped, started_at=started,
            elapsed_s=now - self.begun, in_flight=len(self.tasks),
        )  # fmt: skip


def run_loadtest(
    spec: LoadTestSpec,
    prompts: list[str],
    api_key: str = "",
    on_progress: Callable[[LoadTestResult], None] | None = None,
    should_stop: Callable[[], bool] | None = None,
    count_tokens: Callable[[str], int] | None = None,
    progress_interval_s: float = 0.5,
) -> LoadTestResult:
    """Run a load test to the end (or until stopped) and return every finished request; blocks the calling thread.

    Prompts are used in turn (cycled when fewer than the requests). `on_progress` gets a snapshot at most every
    `progress_interval_s` and once at the end; it runs on a worker thread so it never stalls the requests being
    timed. `should_stop` is asked about every 0.2 s: when it answers true no more requests are sent, those in flight
    are cancelled and dropped (not counted as failures), and the result comes back with stopped=True. If
    `on_progress` raises (a job's cancel), the run stops the same way and that exception is raised again, with the
    partial LoadTestResult as its `partial_result` attribute. Request failures never raise: they are records.
    """
    spec.validate()
    if not prompts:
        raise InputError("There are no prompts to send; give a prompts file with some, or use synthetic prompts.")
    state = _State()
    result = run_to_completion(_run(spec, list(prompts), api_key, on_progress, should_stop, count_tokens,
                              progress_interval_s, state))  # fmt: skip
    if state.error is None and on_progress is not None:
        try:
            on_progress(result)
        except BaseException as error:
            state.error = error
            result.stopped = True
    if state.error is not None:
        state.error.partial_result = result  # type: ignore[attr-defined]
        raise state.error
    return result


async def _run(
    spec: LoadTestSpec,
    prompts: list[str],
    api_key: str,
    on_progress: Callable[[LoadTestResult], None] | None,
    should_stop: Callable[[], bool] | None,
    count_tokens: Callable[[str], int] | None,
    interval_s: float,
    state: _State,
) -> LoadTestResult:
    endpoint = Endpoint(spec.endpoint, spec.model, spec.api, api_key, spec.timeout_s)
    state.stop = asyncio.Event()
    state.begun, state.wall_begun = time.perf_counter(), time.time()
    async with open_session(spec.concurrency) as session:
        sender = asyncio.create_task(_send_all(spec, endpoint, prompts, session, count_tokens, state))
        monitor = asyncio.create_task(_monitor(spec, on_progress, should_stop, interval_s, state))
        stopping = asyncio.create_task(state.stop.wait())
        try:
            await asyncio.wait([sender, stopping], return_when=asyncio.FIRST_COMPLETED)
            if sender.done():
                sender.result()  # a bug in the sender surfaces instead of hanging
                if state.tasks and not state.stop.is_set():  # let those in flight finish (each bounded by timeout)
                    drain = asyncio.gather(*state.tasks, return_exceptions=True)
                    await asyncio.wait([drain, stopping], return_when=asyncio.FIRST_COMPLETED)
        finally:
            stopped = state.stop.is_set()
            state.stop.set()
            sender.cancel()
            for task in list(state.tasks):
                task.cancel()
            monitor.cancel()
            await asyncio.gather(sender, stopping, monitor, *state.tasks, return_exceptions=True)
    return state.snapshot(spec, stopped=stopped)


async def _send_all(
    spec: LoadTestSpec,
    endpoint: Endpoint,
    prompts: list[str],
    session,
    count_tokens: Callable[[str], int] | None,
    state: _State,
) -> None:
    """Start each request at its arrival time, waiting for a free slot when `concurrency` are in flight."""
    loop = asyncio.get_running_loop()
    limit = asyncio.Semaphore(spec.concurrency) if spec.concurrency else None
    count = spec.count
    timed = spec.duration_s is not None
    end = state.begun + spec.duration_s if timed else math.inf
    rng = np.random.default_rng(spec.seed)
    paced = not _unpaced(spec.rate)
    due = 0.0  # offset of the next send
    gaps: list[float] = []
    stop = state.stop
    index = 0
    while (count is None or index < count) and not stop.is_set():
        if paced and index:
            if not gaps:  # drawn in blocks: a timed run has no count to draw them all up front
                gaps = _gaps(rng, 1024, spec.rate, spec.burstiness).tolist()[::-1]
            due += gaps.pop()
            wait = state.begun + due - time.perf_counter()
            if wait > 0:
                if state.begun + due >= end:
                    break
                await _sleep_unless(stop, wait)
                if stop.is_set():
                    break
            else:
                await asyncio.sleep(0)  # behind schedule: still let the requests already sent make progress
        if limit is not None:
            await limit.acquire()
            if stop.is_set():
                limit.release()
                break
        if time.perf_counter() >= end:
            if limit is not None:
                limit.release()
            break
        prompt = prompts[index % len(prompts)]
        task = loop.create_task(_one(session, endpoint, prompt, spec.max_tokens, count_tokens, state))
        state.tasks.add(task)
        task.add_done_callback(state.tasks.discard)
        if limit is not None:
            task.add_done_callback(lambda _task: limit.release())
        index += 1
        if not paced and limit is None and index % 256 == 0:
            await asyncio.sleep(0)  # let the first requests start while thousands are being created


async def _sleep_unless(stop: asyncio.Event, seconds: float) -> None:
    """Sleep, waking early when the run is stopped."""
    if seconds < 0.05:  # short waits: a plain sleep is cheaper than a timed wait on the event
        await asyncio.sleep(seconds)
        return
    with contextlib.suppress(TimeoutError):
        await asyncio.wait_for(stop.wait(), seconds)


async def _one(session, endpoint: Endpoint, prompt: str, max_tokens: int, count_tokens, state: _State) -> None:
    """One request; its record is kept only when it finished (a cancelled one is dropped)."""
    sent = time.perf_counter()
    if state.first_send is None:
        state.first_send = sent
    record = await stream_request(session, endpoint, prompt, max_tokens, count_tokens)
    state.last_done = time.perf_counter()
    state.records.append(record)


async def _monitor(
    spec: LoadTestSpec,
    on_progress: Callable[[LoadTestResult], None] | None,
    should_stop: Callable[[], bool] | None,
    interval_s: float,
    state: _State,
) -> None:
    """Ask should_stop every 0.2 s and report progress every interval; either one can stop the run."""
    loop = asyncio.get_running_loop()
    poll = min(_POLL_S, interval_s) if on_progress is not None else _POLL_S
    next_report = time.perf_counter() + interval_s
    while not state.stop.is_set():
        await _sleep_unless(state.stop, poll)
        if state.stop.is_set():
            return
        try:
            if should_stop is not None and should_stop():
                state.stop.set()
                return
            if on_progress is not None and time.perf_counter() >= next_report:
                # On a worker thread: a slow callback (a database write) must not delay the requests being timed.
                await loop.run_in_executor(None, on_progress, state.snapshot(spec))
                next_report = time.perf_counter() + interval_s
        except Exception as error:  # a job's cancel, or a broken callback: stop and re-raise later
            state.error = error
            state.stop.set()
            return
