"""Aggregates over request records, as vLLM's `bench serve` computes them: percentiles, throughput, goodput.

Formulas (shown beside each chart, since tools name these differently; NVIDIA AIPerf's "ITL" is vLLM's TPOT):
- TTFT: request start to the first streamed chunk with content.
- ITL: each gap between later content chunks (every gap of every request, pooled).
- E2EL: request start to the last content chunk.
- TPOT: (E2EL - TTFT) / (output tokens - 1), per request with at least 2 output tokens.
- Request throughput: completed requests / duration. Output-token throughput: output tokens / duration.
- Goodput: completed requests meeting every SLO / duration.
"""

from __future__ import annotations

import math
from collections import Counter
from collections.abc import Iterable, Sequence
from dataclasses import asdict, dataclass, field
from typing import TYPE_CHECKING

import numpy as np

from lib.latency.records import RequestRecord

if TYPE_CHECKING:
    from lib.settings import Settings

PERCENTILES = (50, 90, 95, 99)
FORMULAS: dict[str, str] = {
    "ttft_ms": "TTFT = first content chunk - request start",
    "itl_ms": "ITL = gap between consecutive content chunks (all gaps pooled)",
    "tpot_ms": "TPOT = (E2EL - TTFT) / (output tokens - 1)",
    "e2el_ms": "E2EL = last content chunk - request start",
    "request_throughput": "requests/s = completed / duration",
    "output_token_throughput": "tokens/s = output tokens / duration",
    "goodput": "goodput = completed requests meeting every SLO / duration",
    "error_rate": "error rate = failed / (completed + failed)",
}


@dataclass(frozen=True)
class Slo:
    """Per-request objectives (ms; None leaves one out) and the share of requests that must meet them."""

    ttft_ms: float | None = None
    tpot_ms: float | None = None
    e2el_ms: float | None = None
    target: float = 0.99

    def met_by(self, record: RequestRecord) -> bool:
        """Whether a request succeeded and met every objective set (a missing TPOT, one token, meets it)."""
        if not record.ok:
            return False
        for limit, value in ((self.ttft_ms, record.ttft_ms), (self.e2el_ms, record.e2el_ms)):
            if limit is not None and (value is None or value > limit):
                return False
        return self.tpot_ms is None or record.tpot_ms is None or record.tpot_ms <= self.tpot_ms

    def to_dict(self) -> dict:
        return asdict(self)


def distribution(values: Iterable[float | None]) -> dict[str, float | None]:
    """{"mean", "p50", "p90", "p95", "p99"} of the values (ms); every figure None when there are none."""
    array = np.asarray([v for v in values if v is not None and math.isfinite(v)], dtype=float)
    if array.size == 0:
        return {"mean": None, **{f"p{p}": None for p in PERCENTILES}}
    found = np.percentile(array, PERCENTILES)  # linear interpolation, as numpy (and vLLM) default
    return {"mean": float(array.mean()), **{f"p{p}": float(v) for p, v in zip(PERCENTILES, found, strict=True)}}


@dataclass(frozen=True)
class LoadSummary:
    """The figures of one load test (the `latency loadtest --json` object)."""

    completed: int
    failed: int
    duration_s: float
    request_throughput: float
    output_token_throughput: float
    goodput: float | None
    ttft_ms: dict
    tpot_ms: dict
    itl_ms: dict
    e2el_ms: dict
    errors: dict[str, int]
    total_input_tokens: int = 0
    total_output_tokens: int = 0
    error_rate: float | None = None
    slo: dict = field(default_factory=dict)

    def to_dict(self) -> dict:
        return asdict(self)


def summarize(records: Sequence[RequestRecord], duration_s: float, slo: Slo | None = None) -> LoadSummary:
    """Aggregate a run's requests over its wall-clock duration (vLLM's `calculate_metrics`)."""
    done = [r for r in records if r.ok]
    failed = len(records) - len(done)
    duration = max(float(duration_s), 1e-9)
    output_tokens = sum(r.output_tokens or 0 for r in done)
    good = sum(1 for r in done if slo.met_by(r)) if slo else None
    return LoadSummary(
        completed=len(done),
        failed=failed,
        duration_s=float(duration_s),
        request_throughput=len(done) / duration,
        output_token_throughput=output_tokens / duration,
        goodput=None if good is None else good / duration,
        ttft_ms=distribution(r.ttft_ms for r in done),
        tpot_ms=distribution(r.tpot_ms for r in done),
        itl_ms=distribution(gap for r in done for gap in r.itl_ms),
        e2el_ms=distribution(r.e2el_ms for r in done),
        errors=dict(Counter(r.error_kind or "unknown" for r in records if not r.ok).most_common()),
        total_input_tokens=sum(r.input_tokens or 0 for r in done),
        total_output_tokens=output_tokens,
        error_rate=failed / len(records) if records else None,
        slo=slo.to_dict() if slo else {},
    )


def slo_from_settings(settings: Settings) -> Slo:
    """The per-request SLO set under latency.* in settings."""
    return Slo(
        settings["latency.slo_ttft_ms"], settings["latency.slo_tpot_ms"], settings["latency.slo_e2e_ms"],
        settings["latency.slo_target"],
    )  # fmt: skip
