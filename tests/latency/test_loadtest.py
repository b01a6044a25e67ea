"""Load tests: the arrival schedule, the concurrency cap, timed runs, stopping, and a spec that cannot run."""

from __future__ import annotations

import itertools
import socket
import time

import numpy as np
import pytest

from lib.errors import InputError
from lib.latency.loadtest import LoadTestResult, LoadTestSpec, arrival_offsets, run_loadtest
from lib.latency.metrics import Slo
from tests.latency.stub_server import StubServer

PROMPTS = ["one two", "one two three four"]


def spec(url: str, model: str = "ok", **options) -> LoadTestSpec:
    return LoadTestSpec(url, model, **options)


def gaps(rate: float, burstiness: float) -> np.ndarray:
    return np.diff(arrival_offsets(20_000, rate, burstiness, seed=3))


def test_arrivals_have_mean_gap_one_over_the_rate() -> None:
    offsets = arrival_offsets(20_000, 4.0, 1.0, seed=3)
    assert offsets[0] == 0.0 and all(b >= a for a, b in itertools.pairwise(offsets))
    assert np.mean(np.diff(offsets)) == pytest.approx(0.25, rel=0.03)


@pytest.mark.parametrize("burstiness", [0.25, 1.0, 4.0])
def test_burstiness_sets_the_spread_of_the_gaps(burstiness: float) -> None:
    found = gaps(10.0, burstiness)
    cv2 = np.var(found) / np.mean(found) ** 2
    assert cv2 == pytest.approx(1 / burstiness, rel=0.1)  # gamma: CV^2 = 1 / shape; 1 is Poisson
    assert np.mean(found) == pytest.approx(0.1, rel=0.05)


def test_no_rate_sends_everything_at_once_and_a_seed_repeats_the_schedule() -> None:
    assert arrival_offsets(5, None, 1.0, 0) == [0.0] * 5
    assert arrival_offsets(3, float("inf"), 1.0, 0) == [0.0] * 3
    assert arrival_offsets(50, 2.0, 1.0, seed=7) == arrival_offsets(50, 2.0, 1.0, seed=7)
    assert arrival_offsets(50, 2.0, 1.0, seed=7) != arrival_offsets(50, 2.0, 1.0, seed=8)


def test_a_run_measures_every_request_and_summarises_them(stub_url: str) -> None:
    result = run_loadtest(spec(stub_url, requests=12, concurrency=4, max_tokens=3), PROMPTS)
    assert len(result.records) == 12 and all(r.ok for r in result.records) and not result.stopped
    summary = result.summary(Slo(ttft_ms=10_000))
    assert summary.completed == 12 and summary.failed == 0 and summary.total_output_tokens == 36
    assert summary.request_throughput == pytest.approx(12 / result.duration_s)
    assert summary.goodput == pytest.approx(summary.request_throughput)
    # prompts are used in turn: 6 of each (the stub reports a prompt's words as its input tokens)
    assert sorted(r.input_tokens for r in result.records) == [2] * 6 + [4] * 6
    assert 0 < result.duration_s < 5 and result.started_at == pytest.approx(time.time(), abs=10)
    assert result.progress() == 1.0


def test_the_concurrency_cap_is_never_exceeded() -> None:
    # A server of its own: the shared one may still be finishing earlier tests' streams, which would skew its count.
    stub = StubServer().start()
    try:
        # Each request streams for ~0.6 s, long enough for all three to be in flight even on a busy machine.
        result = run_loadtest(spec(stub.url, "linger", requests=6, concurrency=3, max_tokens=8), PROMPTS)
        assert all(r.ok for r in result.records) and stub.stats.requests == 6
        assert stub.stats.max_in_flight == 3  # reached, never passed
    finally:
        stub.stop()


def test_a_rate_spaces_the_sends_out(stub_url: str) -> None:
    result = run_loadtest(spec(stub_url, requests=6, rate=40.0, seed=1, max_tokens=1), PROMPTS)
    sends = sorted(r.started_at for r in result.records)
    offsets = arrival_offsets(6, 40.0, 1.0, seed=1)
    # Spread out on the schedule, not sent at once (bounds loose enough for a busy machine).
    assert 0.8 * offsets[-1] <= sends[-1] - sends[0] <= offsets[-1] + 0.5


def test_a_timed_run_stops_sending_when_the_time_is_up(stub_url: str) -> None:
    began = time.time()
    result = run_loadtest(spec(stub_url, duration_s=0.4, rate=50.0, max_tokens=2), PROMPTS)
    sent = sorted(r.started_at for r in result.records)
    assert 5 <= len(sent) <= 45  # about 20
    assert sent[-1] - began < 0.4 + 1.0  # nothing sent long after the 0.4 s were up
    assert all(r.ok for r in result.records) and not result.stopped


def test_should_stop_keeps_what_was_measured_and_drops_the_cancelled(stub_url: str) -> None:
    began = time.perf_counter()
    result = run_loadtest(
        spec(stub_url, "slow", requests=500, concurrency=4),
        PROMPTS,
        should_stop=lambda: time.perf_counter() - began > 0.4,
    )
    assert result.stopped
    assert time.perf_counter() - began < 10  # all 500 would take about 17 s
    assert 4 <= len(result.records) < 500
    assert all(r.ok for r in result.records)  # those cut off are dropped, not failures
    assert result.summary().failed == 0


def test_progress_arrives_while_running_and_once_at_the_end(stub_url: str) -> None:
    seen: list[LoadTestResult] = []
    run_loadtest(
        spec(stub_url, "slow", requests=16, concurrency=4, max_tokens=3), PROMPTS, on_progress=seen.append,
        progress_interval_s=0.05,
    )  # fmt: skip
    assert len(seen) >= 2
    assert len(seen[-1].records) == 16 and seen[-1].progress() == 1.0
    assert [len(s.records) for s in seen] == sorted(len(s.records) for s in seen)
    assert seen[0].progress() < 1.0


def test_a_raising_progress_callback_stops_the_run_and_hands_back_the_partial_result(stub_url: str) -> None:
    class Cancelled(Exception):
        pass

    def progress(snapshot: LoadTestResult) -> None:
        if snapshot.records:
            raise Cancelled("stop")

    began = time.perf_counter()
    with pytest.raises(Cancelled) as raised:
        run_loadtest(spec(stub_url, "slow", requests=500, concurrency=4), PROMPTS, on_progress=progress,
                     progress_interval_s=0.1)  # fmt: skip
    partial = raised.value.partial_result
    assert partial.stopped and 1 <= len(partial.records) < 500
    assert time.perf_counter() - began < 10  # all 500 would take about 17 s


def test_an_unreachable_endpoint_fails_every_request_quickly() -> None:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        url = f"http://127.0.0.1:{sock.getsockname()[1]}"
    began = time.perf_counter()
    result = run_loadtest(spec(url, requests=20, concurrency=4), PROMPTS)
    assert time.perf_counter() - began < 3
    summary = result.summary()
    assert summary.completed == 0 and summary.errors == {"unreachable": 20} and summary.error_rate == 1.0


def test_failures_are_counted_per_kind(stub_url: str) -> None:
    result = run_loadtest(spec(stub_url, "http500", requests=5), PROMPTS)
    assert result.summary().errors == {"http_5xx": 5}


@pytest.mark.parametrize(
    ("options", "says"),
    [
        ({"endpoint": "not a url"}, "not http"),
        ({"requests": 0}, "at least 1"),
        ({"requests": 5, "duration_s": 10.0}, "choose one"),
        ({"rate": 0.0}, "rate"),
        ({"burstiness": 0.0}, "burstiness"),
        ({"concurrency": 0}, "concurrency"),
        ({"max_tokens": 0}, "Max tokens"),
        ({"duration_s": 5.0}, "concurrency cap"),
        ({"model": ""}, "model"),
    ],
)
def test_a_spec_that_cannot_run_is_refused_with_one_sentence(options: dict, says: str) -> None:
    values = {"endpoint": "http://127.0.0.1:8000", "model": "m", **options}
    with pytest.raises(InputError) as raised:
        run_loadtest(LoadTestSpec(**values), PROMPTS)
    message = str(raised.value)
    assert says in message and message.endswith(".") and "\n" not in message


def test_no_prompts_is_refused(stub_url: str) -> None:
    with pytest.raises(InputError, match="no prompts"):
        run_loadtest(spec(stub_url), [])


def test_a_spec_with_neither_count_nor_duration_sends_ten_and_keeps_no_key(stub_url: str) -> None:
    plan = spec(stub_url, max_tokens=1)
    assert plan.count == 10 and "api_key" not in plan.to_dict()
    assert len(run_loadtest(plan, PROMPTS, api_key="secret").records) == 10
