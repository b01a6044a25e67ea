"""The streaming client: times as vLLM measures them, tokens from usage, every failure named in one sentence."""

from __future__ import annotations

import socket
import time

import pytest

from lib.latency.client import Endpoint, open_session, run_to_completion, stream_request, url_problem
from lib.latency.records import ERROR_KINDS, RequestRecord


def send(url: str, model: str, api: str = "chat", max_tokens: int = 8, **options) -> RequestRecord:
    """One request through a fresh session, as a load test sends it."""
    count_tokens = options.pop("count_tokens", None)
    prompt = options.pop("prompt", "say hello to the nice people")
    endpoint = Endpoint(url, model, api, **options)

    async def go() -> RequestRecord:
        async with open_session(1) as session:
            return await stream_request(session, endpoint, prompt, max_tokens, count_tokens)

    return run_to_completion(go())


def assert_failed(record: RequestRecord, kind: str) -> None:
    assert kind in ERROR_KINDS
    assert not record.ok
    assert record.error_kind == kind, record.error
    assert record.error.endswith(".") and "\n" not in record.error and "Traceback" not in record.error
    assert record.ttft_ms is None and record.e2el_ms is None


def closed_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


@pytest.mark.parametrize("api", ["chat", "completions"])
def test_a_stream_is_timed_and_counted_from_the_servers_usage(stub_url: str, api: str) -> None:
    record = send(stub_url, "ok", api, max_tokens=5, count_tokens=lambda text: 999)
    assert record.ok and record.error_kind == "" and record.status_code == 200
    assert record.output_tokens == 5  # usage wins over the tokenizer
    assert record.input_tokens == 6  # the stub counts the prompt's words
    assert 0 < record.ttft_ms <= record.e2el_ms
    assert len(record.itl_ms) == 4
    assert (
        record.model == "ok" and record.endpoint == stub_url and record.started_at == pytest.approx(time.time(), abs=5)
    )


def test_ttft_itl_and_tpot_follow_vllm_formulas_on_a_slow_stream(stub_url: str) -> None:
    record = send(stub_url, "slow", max_tokens=6)
    assert record.ok
    assert record.ttft_ms < 15  # the first chunk is not delayed
    assert len(record.itl_ms) == 5 and min(record.itl_ms) >= 15  # 20 ms between chunks
    assert record.e2el_ms == pytest.approx(record.ttft_ms + sum(record.itl_ms), abs=0.01)
    assert record.tpot_ms == pytest.approx((record.e2el_ms - record.ttft_ms) / (6 - 1))


def test_without_usage_tokens_come_from_the_tokenizer_else_from_the_chunks(stub_url: str) -> None:
    counted = send(stub_url, "no-usage", max_tokens=4, count_tokens=lambda text: len(text))
    assert counted.ok and counted.output_tokens == len("tok0 tok1 tok2 tok3 ")
    assert counted.output_text == "tok0 tok1 tok2 tok3 " and counted.input_tokens is None
    chunks = send(stub_url, "no-usage", max_tokens=4)
    assert chunks.ok and chunks.output_tokens == 4 and chunks.output_text == ""


@pytest.mark.parametrize("api", ["chat", "completions"])
def test_sse_split_across_reads_unspaced_data_comments_and_crlf_are_read(stub_url: str, api: str) -> None:
    record = send(stub_url, "split", api, max_tokens=3, count_tokens=len)
    assert record.ok, record.error
    assert record.output_tokens == 3 and len(record.itl_ms) == 2


@pytest.mark.parametrize(
    ("model", "kind", "status", "says"),
    [
        ("unknown-model", "not_found", 404, "'unknown-model'"),
        ("http500", "http_5xx", 500, "HTTP 500"),
        ("drop", "dropped", 200, "closed before the stream ended"),
        ("malformed", "malformed", 200, "not JSON"),
        ("json", "not_sse", 200, "application/json"),
        ("error-event", "server_error", 200, "CUDA out of memory"),
        ("empty", "no_content", 200, "without any generated text"),
    ],
)
def test_each_failure_is_classified_with_one_sentence(stub_url: str, model: str, kind: str, status: int, says: str):
    record = send(stub_url, model)
    assert_failed(record, kind)
    assert record.status_code == status
    assert says in record.error


def test_a_404_names_the_path_and_the_model(stub_url: str) -> None:
    record = send(stub_url, "llama-99b", "completions")
    assert_failed(record, "not_found")
    assert "/v1/completions" in record.error and "'llama-99b'" in record.error and "does not exist" in record.error


def test_a_wrong_api_key_is_unauthorized_and_the_right_one_passes(stub_url: str) -> None:
    record = send(stub_url, "ok", api_key="wrong")
    assert_failed(record, "unauthorized")
    assert record.status_code == 401 and "API key" in record.error
    assert send(stub_url, "ok", api_key="secret").ok


def test_a_server_that_never_answers_times_out_at_the_endpoint_timeout(stub_url: str) -> None:
    began = time.perf_counter()
    record = send(stub_url, "hang", timeout_s=0.3)
    assert time.perf_counter() - began < 10  # far below the 60 s default timeout
    assert_failed(record, "timeout")
    assert "0.3 s" in record.error


def test_nothing_listening_is_unreachable_and_fast() -> None:
    url = f"http://127.0.0.1:{closed_port()}"
    began = time.perf_counter()
    record = send(url, "ok")
    assert time.perf_counter() - began < 10  # far below the 60 s default timeout
    assert_failed(record, "unreachable")
    assert record.error.startswith(f"Nothing answered at {url} (connection refused)")
    assert record.status_code is None


def test_a_bad_url_is_a_failed_record_not_an_exception() -> None:
    record = send("ftp://example.com", "ok")
    assert_failed(record, "invalid_url")


@pytest.mark.parametrize(
    ("url", "api", "request_url", "resolved_api"),
    [
        ("http://127.0.0.1:8000", "chat", "http://127.0.0.1:8000/v1/chat/completions", "chat"),
        ("http://host:8000/v1/", "completions", "http://host:8000/v1/completions", "completions"),
        ("https://host/v1/chat/completions", "completions", "https://host/v1/chat/completions", "chat"),
        ("http://host:8000/v1/completions", "chat", "http://host:8000/v1/completions", "completions"),
        ("http://host/proxy", "chat", "http://host/proxy/v1/chat/completions", "chat"),
    ],
)
def test_endpoint_accepts_a_base_a_v1_url_or_a_full_url(url: str, api: str, request_url: str, resolved_api: str):
    endpoint = Endpoint(url, "m", api)
    assert endpoint.request_url == request_url
    assert endpoint.api == resolved_api


def test_the_api_key_is_sent_as_a_bearer_header_and_never_shown() -> None:
    endpoint = Endpoint("http://host:8000", "m", api_key="sk-123")
    assert endpoint.headers["Authorization"] == "Bearer sk-123"
    assert "sk-123" not in repr(endpoint)
    assert "Authorization" not in Endpoint("http://host:8000", "m").headers


def test_the_request_body_is_a_greedy_stream_with_usage() -> None:
    chat = Endpoint("http://h", "m").payload("hi", 7)
    assert chat["messages"] == [{"role": "user", "content": "hi"}] and "prompt" not in chat
    assert chat["stream"] is True and chat["stream_options"] == {"include_usage": True}
    assert chat["max_tokens"] == 7 and chat["temperature"] == 0 and chat["model"] == "m"
    assert Endpoint("http://h", "m", "completions").payload("hi", 7)["prompt"] == "hi"


@pytest.mark.parametrize("url", ["", "localhost:8000", "ftp://host/v1", "http://", "http://host:99999"])
def test_url_problem_names_what_is_wrong_in_one_sentence(url: str) -> None:
    problem = url_problem(url)
    assert problem and problem.endswith(".") and "\n" not in problem


def test_url_problem_accepts_http_and_https() -> None:
    assert url_problem("http://127.0.0.1:8000") is None
    assert url_problem("https://api.example.com/v1") is None


def test_credentials_in_the_url_become_basic_auth_and_stay_out_of_records() -> None:
    endpoint = Endpoint("http://user:pw@host:8000/v1", "m")
    assert endpoint.headers["Authorization"].startswith("Basic ")
    assert endpoint.request_url == "http://host:8000/v1/chat/completions"
    assert "pw" not in endpoint.public_url
