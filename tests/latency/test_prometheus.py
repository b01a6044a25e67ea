"""vLLM's latency histograms through a real Prometheus (Debian's 2.42) scraping two vLLM-like exporters.

`new-vllm` serves models A (TTFT ~90 ms) and B (TTFT ~400 ms) with vLLM 0.11+ names (ITL as
`inter_token_latency`, per-request TPOT) and an `idle` model that never gets a request; `old-vllm` serves
model C with the pre-0.11 name for the same gaps (`time_per_output_token`). Every boundary is vLLM's, and
a background thread keeps observing, so `rate()` always has increments.

new-vllm is prometheus_client's own server, whose OpenMetrics answer (Prometheus asks for it first) spells
the samples `vllm_...` (prometheus/client_python#1177), as a real vLLM's may; old-vllm always answers the
classic text format, which keeps `vllm:...`. So both spellings are read.
"""

from __future__ import annotations

import json
import random
import threading
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import pytest
from prometheus_client import CONTENT_TYPE_LATEST, CollectorRegistry, Histogram, generate_latest, start_http_server

from lib.errors import InputError, PitwallError
from lib.latency.prometheus import latency_history, latency_quantiles
from lib.promql import query
from tests.prometheus_server import (
    PROMETHEUS,
    assert_one_sentence,
    assert_unreachable_is_one_sentence,
    running_prometheus,
    wait_for_query,
)

# vLLM's bucket boundaries (vllm/v1/metrics/loggers.py), in seconds.
TTFT_BUCKETS = [0.001, 0.005, 0.01, 0.02, 0.04, 0.06, 0.08, 0.1, 0.25, 0.5, 0.75, 1.0, 2.5, 5.0, 7.5, 10.0, 20.0]
ITL_BUCKETS = [0.01, 0.025, 0.05, 0.075, 0.1, 0.15, 0.2, 0.3, 0.4, 0.5, 0.75, 1.0, 2.5, 5.0, 7.5, 10.0, 20.0]
E2E_BUCKETS = [0.3, 0.5, 0.8, 1.0, 1.5, 2.0, 2.5, 5.0, 10.0, 15.0, 20.0, 30.0, 40.0, 50.0, 60.0, 120.0]
# model -> metric -> (low, high) seconds, drawn uniformly: each range inside one vLLM bucket.
DRAWS = {
    "A": {"ttft": (0.081, 0.099), "itl": (0.026, 0.049), "tpot": (0.026, 0.049), "e2el": (0.81, 0.99)},
    "B": {"ttft": (0.26, 0.49), "itl": (0.076, 0.099), "tpot": (0.076, 0.099), "e2el": (2.6, 4.9)},
    "C": {"ttft": (0.51, 0.74), "itl": (0.11, 0.149), "e2el": (5.1, 9.9)},
}


@dataclass
class Scraped:
    url: str  # Prometheus
    exporter_url: str  # new-vllm's /metrics: a server that is not Prometheus
    instances: dict[str, str]  # exporter name -> its instance label


def serve(answer: Callable[[str], tuple[int, str, bytes]]) -> tuple[ThreadingHTTPServer, threading.Thread]:
    """A loopback HTTP server answering every GET with `answer(path)`: status, content type, body."""

    class Handler(BaseHTTPRequestHandler):
        def do_GET(self) -> None:
            status, kind, body = answer(self.path)
            self.send_response(status)
            self.send_header("Content-Type", kind)
            self.send_header("Content-Length", str(len(body)))
            self.end_headers()
            self.wfile.write(body)

        def log_message(self, *args: object) -> None:
            pass

    server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    thread = threading.Thread(target=server.serve_forever, kwargs={"poll_interval": 0.05}, daemon=True)
    thread.start()
    return server, thread


def empty_prometheus(path: str) -> tuple[int, str, bytes]:
    """A Prometheus that scrapes no vLLM server: every query answers no series."""
    kind = "matrix" if "query_range" in path else "vector"
    return (
        200,
        "application/json",
        json.dumps({"status": "success", "data": {"resultType": kind, "result": []}}).encode(),
    )


def vllm_registry(new_names: bool) -> tuple[CollectorRegistry, dict[str, Histogram]]:
    """A registry with vLLM's latency histograms, under the names of vLLM 0.11+ or of older releases."""
    registry = CollectorRegistry()

    def histogram(name: str, buckets: list[float]) -> Histogram:
        return Histogram(name, f"{name} (vLLM's name)", ["model_name"], buckets=buckets, registry=registry)

    metrics = {
        "ttft": histogram("vllm:time_to_first_token_seconds", TTFT_BUCKETS),
        "e2el": histogram("vllm:e2e_request_latency_seconds", E2E_BUCKETS),
    }
    if new_names:
        metrics["itl"] = histogram("vllm:inter_token_latency_seconds", ITL_BUCKETS)
        metrics["tpot"] = histogram("vllm:request_time_per_output_token_seconds", ITL_BUCKETS)
    else:
        metrics["itl"] = histogram("vllm:time_per_output_token_seconds", ITL_BUCKETS)
    return registry, metrics


@pytest.fixture(scope="module")
def scraped(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Scraped]:
    """Two vLLM-like exporters under steady traffic and a Prometheus scraping them every second."""
    if PROMETHEUS is None:
        pytest.skip("needs Prometheus on PATH (Debian: apt-get install prometheus)")
    folder = tmp_path_factory.mktemp("prometheus")
    new_registry, new_metrics = vllm_registry(new_names=True)
    old_registry, old_metrics = vllm_registry(new_names=False)
    new_metrics["ttft"].labels("idle")  # a model that is exported but never asked: no quantile, not 0
    served = {"A": new_metrics, "B": new_metrics, "C": old_metrics}
    stop = threading.Event()

    def traffic() -> None:
        draw = random.Random(9)
        while not stop.is_set():
            for model, metrics in served.items():
                for metric, (low, high) in DRAWS[model].items():
                    metrics[metric].labels(model).observe(draw.uniform(low, high))
            stop.wait(0.01)

    observer = threading.Thread(target=traffic, daemon=True)
    observer.start()
    servers = [
        start_http_server(0, addr="127.0.0.1", registry=new_registry),
        serve(lambda _path: (200, CONTENT_TYPE_LATEST, generate_latest(old_registry))),
    ]
    instances = {
        name: f"127.0.0.1:{server.server_address[1]}" for name, (server, _) in zip(("new", "old"), servers, strict=True)
    }
    # every model's TTFT histogram with two scrapes in Prometheus, so rate() has an increment
    promql = 'count(rate({__name__=~"vllm[:_]time_to_first_token_seconds_count", model_name=~"A|B|C"}[1m]) > 0)'
    scrape_configs = [{"job_name": "vllm", "static_configs": [{"targets": list(instances.values())}]}]
    try:
        with running_prometheus(folder, scrape_configs) as prometheus:
            wait_for_query(prometheus, promql, [({}, 3.0)], "had no TTFT rates")
            yield Scraped(prometheus.url, f"http://{instances['new']}", instances)
    finally:
        stop.set()
        for server, thread in servers:
            server.shutdown()
            server.server_close()
            thread.join(5)
        observer.join(5)


def values(frame, model: str, metric: str) -> dict[float, float]:
    rows = frame[(frame["model_name"] == model) & (frame["metric"] == metric)]
    return dict(zip(rows["quantile"], rows["value_ms"], strict=True))


def test_each_models_quantiles_land_in_its_bucket(scraped: Scraped) -> None:
    frame = latency_quantiles(scraped.url, window="1m", quantiles=(0.5, 0.99))
    assert list(frame.columns) == ["model_name", "instance", "metric", "vllm_metric", "quantile", "value_ms"]
    a, b = values(frame, "A", "ttft"), values(frame, "B", "ttft")
    assert set(a) == set(b) == {0.5, 0.99}
    assert all(80 <= v <= 100 for v in a.values()), a  # vLLM's (80 ms, 100 ms] bucket
    assert all(250 <= v <= 500 for v in b.values()), b  # (250 ms, 500 ms]
    assert b[0.5] > a[0.5] and b[0.99] > a[0.99] and a[0.99] >= a[0.5]
    assert all(800 <= v <= 1000 for v in values(frame, "A", "e2el").values())
    assert set(frame[frame["model_name"] == "A"]["instance"]) == {scraped.instances["new"]}
    # Both spellings were stored (new-vllm's as vllm_..., old-vllm's as vllm:...), and both were read.
    stored = query(scraped.url, 'count by (__name__) ({__name__=~"vllm.time_to_first_token_seconds_count"})')
    assert sorted(labels["__name__"][:5] for labels, _ in stored) == ["vllm:", "vllm_"]
    assert set(frame["vllm_metric"]) >= {"vllm:time_to_first_token_seconds"}


def test_the_itl_histogram_is_read_from_whichever_name_the_server_exports(scraped: Scraped) -> None:
    frame = latency_quantiles(scraped.url, window="1m", quantiles=(0.5,))
    itl = frame[frame["metric"] == "itl"].set_index("model_name")
    assert itl.loc["A", "vllm_metric"] == "vllm:inter_token_latency_seconds"
    assert itl.loc["C", "vllm_metric"] == "vllm:time_per_output_token_seconds"  # vLLM < 0.11 named it so
    assert 25 <= itl.loc["A", "value_ms"] <= 50 and 100 <= itl.loc["C", "value_ms"] <= 150
    tpot = frame[frame["metric"] == "tpot"]  # the per-request TPOT histogram exists only since 0.11
    assert sorted(tpot["model_name"]) == ["A", "B"]
    assert list(frame[frame["model_name"] == "A"]["metric"]) == ["ttft", "itl", "tpot", "e2el"]


def test_a_model_without_requests_in_the_window_is_left_out_not_zero(scraped: Scraped) -> None:
    frame = latency_quantiles(scraped.url, window="1m")
    assert "idle" not in set(frame["model_name"]) and sorted(set(frame["model_name"])) == ["A", "B", "C"]
    assert (frame["value_ms"] > 0).all()


def test_history_has_points_per_model(scraped: Scraped) -> None:
    end = time.time()
    history = latency_history(scraped.url, "ttft", 0.5, end - 20, end, 1, window="1m")
    assert list(history.columns) == ["time", "model_name", "instance", "value_ms"]
    latest = history.groupby("model_name")["value_ms"].last()
    assert sorted(latest.index) == ["A", "B", "C"]
    assert 80 <= latest["A"] <= 100 and 250 <= latest["B"] <= 500 and 500 <= latest["C"] <= 750
    itl = latency_history(scraped.url, "itl", 0.5, end - 5, end, 1, window="1m")
    assert sorted(set(itl["model_name"])) == ["A", "B", "C"]  # both names, one series per model


def test_bad_arguments_are_refused_before_any_query() -> None:
    with pytest.raises(InputError, match="choose one of ttft, itl, tpot, e2el"):
        latency_history("http://127.0.0.1:1", "tbt", 0.5, 0, 1, 1)
    with pytest.raises(InputError, match="not a Prometheus duration"):
        latency_quantiles("http://127.0.0.1:1", window="5 minutes")
    with pytest.raises(InputError, match="between 0 and 1"):
        latency_quantiles("http://127.0.0.1:1", quantiles=(50,))


def test_an_unreachable_prometheus_is_one_sentence() -> None:
    assert_unreachable_is_one_sentence(lambda url: latency_quantiles(url, timeout=2))


def test_a_vllm_server_itself_is_not_prometheus(scraped: Scraped) -> None:
    with pytest.raises(PitwallError) as caught:
        latency_quantiles(scraped.exporter_url)
    assert_one_sentence(str(caught.value), scraped.exporter_url)
    assert "did not answer like Prometheus" in str(caught.value)


def test_a_prometheus_without_vllm_series_says_where_to_point_it() -> None:
    server, thread = serve(empty_prometheus)
    url = f"http://127.0.0.1:{server.server_address[1]}"
    try:
        for read in (lambda: latency_quantiles(url), lambda: latency_history(url, "e2el", 0.9, 0, 60, 15)):
            with pytest.raises(PitwallError) as caught:
                read()
            assert str(caught.value) == (
                f"Prometheus at {url} has no vLLM latency histograms (vllm:time_to_first_token_seconds); "
                "point it at a vLLM server's /metrics."
            )
    finally:
        server.shutdown()
        server.server_close()
        thread.join(5)


def test_the_page_shows_each_models_quantiles_and_its_p99_over_time(scraped: Scraped) -> None:
    from tests.pages.test_pages import page_app

    at = page_app("pages.latency").run()
    at.text_input(key="prom_url").set_value(scraped.url).run(timeout=30)
    assert not at.exception, [e.value for e in at.exception]
    assert not at.tabs[4].error, [e.value for e in at.tabs[4].error]
    table = next(df.value for df in at.tabs[4].dataframe if "model_name" in df.value.columns)
    assert {"A", "B", "C"} <= set(table["model_name"])
    assert any(label.startswith("TTFT (vllm") for label in table["metric"])
    assert at.tabs[4].get("plotly_chart")  # the p99 history of the chosen metric
