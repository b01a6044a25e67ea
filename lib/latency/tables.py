"""The tables the latency page shows, built from request frames: per time bucket, per model and endpoint, per run.

Pure functions over pandas frames (`records.production_frame`, or `requests_frame` of a load test), so the
page, the CLI and the tests read the same numbers.
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np
import pandas as pd

from lib.latency.metrics import FORMULAS, PERCENTILES
from lib.latency.records import ERROR_KINDS, FRAME_COLUMNS, RequestRecord
from lib.latency.runs import LatencyRun

LATENCY_COLUMNS = {"ttft_ms": "TTFT", "tpot_ms": "TPOT", "e2el_ms": "E2EL"}
# Bucket widths the page chooses from, so a chart of any span has at most ~240 points.
BUCKETS = (("10s", 10), ("1min", 60), ("5min", 300), ("15min", 900), ("1h", 3600), ("6h", 21600), ("1D", 86400))


def auto_bucket(span_s: float, max_points: int = 240) -> tuple[str, int]:
    """The narrowest bucket (pandas frequency, seconds) giving at most `max_points` buckets over `span_s`."""
    for name, seconds in BUCKETS:
        if span_s / seconds <= max_points:
            return name, seconds
    return BUCKETS[-1]


def requests_frame(records: Sequence[RequestRecord]) -> pd.DataFrame:
    """Records as a frame with the production frame's columns (for a load test's requests)."""
    frame = pd.DataFrame([record.to_dict() for record in records], columns=list(FRAME_COLUMNS))
    for column in ("ttft_ms", "e2el_ms", "tpot_ms", "feedback", "input_tokens", "output_tokens", "started_at"):
        frame[column] = pd.to_numeric(frame[column], errors="coerce").astype(float)
    frame["ok"] = frame["ok"].astype(bool)
    frame["time"] = pd.to_datetime(frame["started_at"], unit="s", utc=True)
    return frame


def _quantile(series: pd.Series, q: float) -> float:
    values = series.dropna()
    return float(np.percentile(values, q * 100)) if len(values) else float("nan")


QUANTILE_COLUMNS = [f"{metric}_p{p}" for metric in ("ttft_ms", "e2el_ms", "tpot_ms") for p in (50, 95, 99)]
GROUP_COLUMNS = ["requests", "errors", "error_rate", "output_tokens", "satisfaction", "ratings", *QUANTILE_COLUMNS]


def _group_figures(group: pd.DataFrame) -> dict:
    """The figures of one group of requests: counts, error rate, tokens, satisfaction, latency percentiles."""
    done = group[group["ok"]]
    rated = group["feedback"].dropna()
    figures = {
        "requests": len(group),
        "errors": int((~group["ok"]).sum()),
        "error_rate": float((~group["ok"]).mean()),
        "output_tokens": float(done["output_tokens"].fillna(0).sum()),
        "satisfaction": float(rated.mean()) if len(rated) else float("nan"),
        "ratings": len(rated),
    }
    for column in QUANTILE_COLUMNS:
        metric, p = column.rsplit("_p", 1)
        figures[column] = _quantile(done[metric], int(p) / 100)
    return figures


def bucket_stats(frame: pd.DataFrame, bucket: str, bucket_s: float) -> pd.DataFrame:
    """Per time bucket: requests, errors, error rate, p50/p95/p99 of TTFT, E2EL and TPOT, rates, satisfaction."""
    columns = ["time", *GROUP_COLUMNS, "requests_per_s", "output_tokens_per_s"]
    rows = []
    for start, group in frame.groupby(frame["time"].dt.floor(bucket)):
        figures = _group_figures(group)
        rows.append(
            {
                "time": start,
                **figures,
                "requests_per_s": figures["requests"] / bucket_s,
                "output_tokens_per_s": figures["output_tokens"] / bucket_s,
            }
        )
    return pd.DataFrame(rows, columns=columns)


def breakdown(frame: pd.DataFrame, by: Sequence[str] = ("model", "endpoint")) -> pd.DataFrame:
    """One row per model and endpoint with the group figures, most requests first."""
    rows = []
    for keys, group in frame.groupby(list(by), dropna=False):
        keys = keys if isinstance(keys, tuple) else (keys,)
        rows.append({**dict(zip(by, keys, strict=True)), **_group_figures(group)})
    table = pd.DataFrame(rows, columns=[*by, *GROUP_COLUMNS])
    return table.sort_values("requests", ascending=False, ignore_index=True)


def distribution_table(summary: dict) -> pd.DataFrame:
    """A load test's TTFT, TPOT, ITL and E2EL figures (ms) in rows, each with its formula."""
    rows = []
    for key, name in (("ttft_ms", "TTFT"), ("tpot_ms", "TPOT"), ("itl_ms", "ITL"), ("e2el_ms", "E2EL")):
        figures = summary.get(key) or {}
        rows.append(
            {
                "metric": name,
                "mean": figures.get("mean"),
                **{f"p{p}": figures.get(f"p{p}") for p in PERCENTILES},
                "formula": FORMULAS[key],
            }
        )
    return pd.DataFrame(rows)


def errors_table(summary: dict) -> pd.DataFrame:
    """Failed requests per error kind, most first, with what each kind means."""
    errors = summary.get("errors") or {}
    return pd.DataFrame(
        [{"error": kind, "requests": count, "meaning": ERROR_KINDS.get(kind, "")} for kind, count in errors.items()],
        columns=["error", "requests", "meaning"],
    )


def runs_table(runs: Sequence[LatencyRun]) -> pd.DataFrame:
    """Stored load tests and probes, newest first, with their headline figures."""
    rows = []
    for run in runs:
        summary = run.summary
        rows.append(
            {
                "run": run.id,
                "started": pd.to_datetime(run.created_at, unit="s", utc=True),
                "kind": run.kind,
                "status": run.status,
                "model": run.model,
                "endpoint": run.endpoint,
                "completed": summary.get("completed"),
                "failed": summary.get("failed"),
                "req/s": summary.get("request_throughput"),
                "tok/s": summary.get("output_token_throughput"),
                "TTFT p50 ms": (summary.get("ttft_ms") or {}).get("p50"),
                "TTFT p99 ms": (summary.get("ttft_ms") or {}).get("p99"),
                "E2EL p99 ms": (summary.get("e2el_ms") or {}).get("p99"),
            }
        )
    return pd.DataFrame(rows)
