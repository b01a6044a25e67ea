"""A demo request log: three days of an LLM service's traffic, in OpenTelemetry GenAI names, with a bad hour.

Two models answer a daily tide of requests; users rate about one answer in five, less happily when it was
slow. One planted hour, ending `bad_hour_ends_s` before the log's end (by default the last hour: it is going
on now), brings a spike of twice the usual traffic, eight times the time to first token and a 30% failure
rate: it burns the error budget far faster than 14.4 times, so the 1 h / 5 min burn-rate alert pages as soon
as the log is ingested.
"""

from __future__ import annotations

import json
import math
from dataclasses import asdict, dataclass

import numpy as np

MODELS = {"support-8b": 0.7, "summarise-3b": 0.3}  # model -> share of traffic
REQUESTS_PER_HOUR = 120


@dataclass(frozen=True)
class RequestLog:
    """The log's JSONL text and what was planted in it."""

    text: str
    rows: int
    start: float
    end: float
    bad_hour: tuple[float, float]

    def manifest(self) -> dict:
        return {k: v for k, v in asdict(self).items() if k != "text"}


def request_log(
    end: float, hours: int = 72, bad_hour_ends_s: float = 0.0, seed: int = 11, per_hour: int = REQUESTS_PER_HOUR
) -> RequestLog:
    """The demo log ending at `end` (unix seconds); the same arguments always give the same text."""
    rng = np.random.default_rng(seed)
    start = end - hours * 3600
    bad_end = end - bad_hour_ends_s
    bad_start = bad_end - 3600
    lines = []
    times = []
    for hour in range(hours):
        hour_start = start + hour * 3600
        tide = 1 + 0.6 * math.sin(2 * math.pi * ((hour_start / 3600) % 24 - 9) / 24)  # busy afternoons
        times.extend(hour_start + rng.uniform(0, 3600, int(rng.poisson(per_hour * tide))))
    times.extend(rng.uniform(bad_start, bad_end, per_hour))  # the spike of traffic that made the hour go bad
    for at in np.sort(times):
        lines.append(_request(rng, float(at), bad_start, bad_end))
    text = "".join(json.dumps(line) + "\n" for line in lines)
    return RequestLog(text, len(lines), start, end, (bad_start, bad_end))


def _request(rng: np.random.Generator, at: float, bad_start: float, bad_end: float) -> dict:
    model = str(rng.choice(list(MODELS), p=list(MODELS.values())))
    bad = bad_start <= at < bad_end
    small = model == "summarise-3b"
    ttft = rng.lognormal(math.log(0.18 if small else 0.35), 0.35) * (8 if bad else 1)
    tpot = rng.lognormal(math.log(0.012 if small else 0.022), 0.2) * (1.5 if bad else 1)
    output_tokens = int(rng.integers(20, 400))
    failed = rng.random() < (0.30 if bad else 0.003)
    row: dict = {
        "timestamp": round(at, 3),
        "gen_ai.request.model": model,
        "server.address": "llm-gateway.internal",
        "gen_ai.usage.input_tokens": int(rng.integers(50, 1500)),
    }
    if failed:
        row["error.type"] = str(rng.choice(["timeout", "503"]))
        row["gen_ai.client.operation.duration"] = round(float(rng.uniform(5, 30) if bad else ttft), 4)
        return row
    duration = ttft + tpot * (output_tokens - 1)
    row |= {
        "gen_ai.usage.output_tokens": output_tokens,
        "gen_ai.server.time_to_first_token": round(float(ttft), 4),
        "gen_ai.client.operation.duration": round(float(duration), 4),
    }
    if rng.random() < 0.2:  # about one answer in five is rated; slow ones less happily
        happy = 0.9 if ttft < 1.0 else 0.35
        row["thumbs"] = "up" if rng.random() < happy else "down"
    return row
