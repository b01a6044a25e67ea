"""The load-test client's own cost: our `run_loadtest` vs a plain aiohttp streaming client, same stub, same run.

Server: the test stub (`tests/latency/stub_server.py`, Starlette on uvicorn) in its own process, so it does not share
the client's GIL; model "ok" streams 8 chat chunks at once, then a usage chunk and [DONE].
Ours: `lib.latency.loadtest.run_loadtest` with every request due at once and 8 in flight, as a user runs it (its
progress monitor on, records built, TTFT/ITL/TPOT computed, usage read).
Baseline: the minimal client vLLM's `bench serve` uses: one aiohttp session (connection pool of 8), all requests
created at once behind a semaphore of 8, `session.post`, iterate `response.content` lines, `json.loads` each data
line, first and last chunk times. Both send the same prompts with the same JSON fields.
Measured: requests/s over first send to last completion, and p50/p99 end-to-end latency (ms); rounds alternate
(baseline, ours) so both see the same machine state; the median round of each is compared.
Target (issue 9 item 11): ours at least 90% of the baseline's requests/s, and p99 within 2 ms of it.

    python bench/latency_client.py                  # 4,000 requests a round, 3 rounds each (about a minute)
    python bench/latency_client.py --requests 1000 --rounds 1
"""

from __future__ import annotations

import argparse
import asyncio
import json
import socket
import statistics
import subprocess
import sys
import time

import aiohttp
import numpy as np
from _common import ROOT, report

from lib.latency.loadtest import LoadTestSpec, run_loadtest
from lib.latency.prompts import synthetic_prompts

CONCURRENCY = 8
MAX_TOKENS = 8


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def start_stub(port: int) -> subprocess.Popen:
    """The stub in its own process; returns once it accepts connections."""
    process = subprocess.Popen(
        [sys.executable, "-m", "tests.latency.stub_server", "--port", str(port)],
        cwd=ROOT,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    deadline = time.monotonic() + 20
    while time.monotonic() < deadline:
        try:
            socket.create_connection(("127.0.0.1", port), timeout=0.2).close()
            return process
        except OSError:
            time.sleep(0.05)
    process.kill()
    raise SystemExit("the stub server did not start")


async def _plain(url: str, prompts: list[str], requests: int) -> tuple[float, list[float]]:
    """The baseline: vLLM's way, minimal. Returns (duration s, E2E latencies ms)."""
    connector = aiohttp.TCPConnector(limit=CONCURRENCY, limit_per_host=CONCURRENCY)
    latencies: list[float] = []
    async with aiohttp.ClientSession(connector=connector, timeout=aiohttp.ClientTimeout(total=60)) as session:
        semaphore = asyncio.Semaphore(CONCURRENCY)

        async def one(prompt: str) -> None:
            async with semaphore:
                payload = {
                    "model": "ok",
                    "messages": [{"role": "user", "content": prompt}],
                    "max_tokens": MAX_TOKENS,
                    "temperature": 0,
                    "stream": True,
                    "stream_options": {"include_usage": True},
                }
                start = time.perf_counter()
                first = last = 0.0
                async with session.post(url, json=payload) as response:
                    async for line in response.content:
                        line = line.strip()
                        if not line:
                            continue
                        chunk = line.removeprefix(b"data: ")
                        if chunk == b"[DONE]":
                            break
                        data = json.loads(chunk)
                        if data.get("choices"):
                            now = time.perf_counter()
                            first = first or now
                            last = now
                latencies.append((last - start) * 1000)

        began = time.perf_counter()
        await asyncio.gather(*(one(prompts[i % len(prompts)]) for i in range(requests)))
        return time.perf_counter() - began, latencies


def plain_round(base: str, prompts: list[str], requests: int) -> tuple[float, float, float]:
    duration, latencies = asyncio.run(_plain(base + "/v1/chat/completions", prompts, requests))
    return len(latencies) / duration, *np.percentile(latencies, [50, 99])


def ours_round(base: str, prompts: list[str], requests: int) -> tuple[float, float, float]:
    spec = LoadTestSpec(base, "ok", requests=requests, concurrency=CONCURRENCY, max_tokens=MAX_TOKENS)
    result = run_loadtest(spec, prompts, on_progress=lambda snapshot: None)
    summary = result.summary()
    assert summary.completed == requests, summary.errors
    return summary.request_throughput, summary.e2el_ms["p50"], summary.e2el_ms["p99"]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--requests", type=int, default=4000)
    parser.add_argument("--rounds", type=int, default=3)
    args = parser.parse_args()
    port = free_port()
    stub = start_stub(port)
    base = f"http://127.0.0.1:{port}"
    prompts = synthetic_prompts(256, 32, seed=1)
    try:
        plain_round(base, prompts, 200)  # warm-up: imports, the stub's first requests
        ours_round(base, prompts, 200)
        rounds: dict[str, list[tuple[float, float, float]]] = {"baseline": [], "ours": []}
        for number in range(1, args.rounds + 1):
            for name, run in (("baseline", plain_round), ("ours", ours_round)):
                rate, p50, p99 = run(base, prompts, args.requests)
                rounds[name].append((rate, p50, p99))
                print(f"round {number} {name:8}: {rate:7,.0f} req/s  p50 {p50:5.2f} ms  p99 {p99:5.2f} ms")
    finally:
        stub.terminate()
        stub.wait(timeout=10)
    median = {
        name: [statistics.median(values) for values in zip(*found, strict=True)] for name, found in rounds.items()
    }
    (ours_rate, ours_p50, ours_p99), (base_rate, base_p50, base_p99) = median["ours"], median["baseline"]
    print(f"{args.requests:,} requests a round, {CONCURRENCY} in flight, {MAX_TOKENS} chunks each; medians of rounds:")
    report("requests/s", ours_rate, base_rate, "req/s", higher_is_better=True)
    report("p50 E2E latency", ours_p50, base_p50, "ms", higher_is_better=False)
    report("p99 E2E latency", ours_p99, base_p99, "ms", higher_is_better=False)
    share = ours_rate / base_rate
    print(f"target requests/s >= 90% of baseline: {share:.0%} -> {'met' if share >= 0.9 else 'NOT met'}")
    gap = ours_p99 - base_p99
    print(f"target p99 within 2 ms of baseline: {gap:+.2f} ms -> {'met' if gap <= 2.0 else 'NOT met'}")


if __name__ == "__main__":
    main()
