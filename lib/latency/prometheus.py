"""vLLM's own latency histograms, read from a Prometheus that scrapes vLLM servers' /metrics.

vLLM exports per `model_name` histograms of TTFT (`vllm:time_to_first_token_seconds`), end-to-end latency
(`vllm:e2e_request_latency_seconds`) and the gaps between streamed outputs. Those gaps are
`vllm:inter_token_latency_seconds` since vLLM 0.11; older servers export the same measurement as
`vllm:time_per_output_token_seconds`, a name that says TPOT but observes every inter-token gap, so both are
shown as ITL (the `vllm_metric` column says which series answered; a server exporting both is read from the
new name). A true per-request TPOT, `vllm:request_time_per_output_token_seconds`, exists since 0.11 and is
shown as TPOT where it is exported.

Quantiles are Prometheus's: `histogram_quantile(q, sum by (le, model_name, instance) (rate(<m>_bucket[w])))`,
which interpolates linearly inside a bucket, so a value is only as precise as vLLM's bucket boundaries.
A model with no requests in the window has no quantile (NaN) and is left out, never shown as 0.

Names are matched as `vllm[:_]...`: prometheus_client's OpenMetrics output (which Prometheus asks for first)
turns the colon of a sample's name into an underscore (prometheus/client_python#1177), so a Prometheus
may hold `vllm_time_to_first_token_seconds_bucket`; either spelling is read and shown by vLLM's name.
"""

from __future__ import annotations

import math
import re
from collections.abc import Sequence

import pandas as pd

from lib.errors import InputError, PitwallError
from lib.promql import query, query_range
from lib.urls import display_url

TTFT = "vllm:time_to_first_token_seconds"
E2EL = "vllm:e2e_request_latency_seconds"
ITL = "vllm:inter_token_latency_seconds"
ITL_BEFORE_0_11 = "vllm:time_per_output_token_seconds"  # same observations as ITL, under its old name
TPOT = "vllm:request_time_per_output_token_seconds"
# Our metric key -> the vLLM histograms that feed it, preferred first.
METRICS: dict[str, tuple[str, ...]] = {"ttft": (TTFT,), "itl": (ITL, ITL_BEFORE_0_11), "tpot": (TPOT,), "e2el": (E2EL,)}
LABELS = {"ttft": "TTFT", "itl": "ITL", "tpot": "TPOT", "e2el": "E2EL"}
QUANTILE_COLUMNS = ["model_name", "instance", "metric", "vllm_metric", "quantile", "value_ms"]
HISTORY_COLUMNS = ["time", "model_name", "instance", "value_ms"]
_DURATION = re.compile(r"^(\d+(ms|s|m|h|d|w|y))+$")


def no_vllm_message(url: str) -> str:
    """What to say when Prometheus answers but scrapes no vLLM server."""
    return (
        f"Prometheus at {display_url(url)} has no vLLM latency histograms ({TTFT}); "
        "point it at a vLLM server's /metrics."
    )


def exported(url: str, timeout: float = 5.0) -> dict[tuple[str, str], set[str]]:
    """(model_name, instance) -> the vLLM latency histograms Prometheus has for it; raises when there are none."""
    names = "|".join(re.escape(name.removeprefix("vllm:")) for names in METRICS.values() for name in names)
    series = query(url, f'count by (__name__, model_name, instance) ({{__name__=~"vllm[:_]({names})_count"}})', timeout)
    found: dict[tuple[str, str], set[str]] = {}
    for labels, _ in series:
        name = "vllm:" + labels.get("__name__", "")[5:].removesuffix("_count")
        found.setdefault(_pair(labels), set()).add(name)
    if not any(TTFT in names for names in found.values()):
        raise PitwallError(no_vllm_message(url))
    return found


def latency_quantiles(
    url: str, window: str = "5m", quantiles: Sequence[float] = (0.5, 0.9, 0.99), timeout: float = 5.0
) -> pd.DataFrame:
    """Each model's latency quantiles (ms) over the last `window`, per vLLM instance, from one PromQL query."""
    _check_window(window)
    _check_quantiles(quantiles)
    found = exported(url, timeout)
    present = set().union(*found.values())
    parts = [
        _labelled(_quantile_expr(name, q, window), quantile=f"{q:g}", vllm_metric=name)
        for names in METRICS.values()
        for name in names
        if name in present
        for q in quantiles
    ]
    rows = []
    for labels, value in query(url, " or ".join(parts), timeout):
        name, pair = labels.get("vllm_metric", ""), _pair(labels)
        metric = _metric_of(name)
        if metric is None or not math.isfinite(value) or _chosen(metric, found.get(pair, set())) != name:
            continue  # no traffic in the window (NaN), or an older name where the newer one answers
        rows.append((*pair, metric, name, float(labels["quantile"]), value * 1000.0))
    frame = pd.DataFrame(rows, columns=QUANTILE_COLUMNS)
    order = frame["metric"].map(list(METRICS).index)
    return (
        frame.assign(_order=order)
        .sort_values(["model_name", "instance", "_order", "quantile"])
        .drop(columns="_order")
        .reset_index(drop=True)
    )


def latency_history(
    url: str,
    metric: str,
    quantile: float,
    start: float,
    end: float,
    step: float,
    window: str = "5m",
    timeout: float = 5.0,
) -> pd.DataFrame:
    """One latency quantile (ms) over time per (model_name, instance): columns time (unix s), model_name, ..."""
    if metric not in METRICS:
        raise InputError(f"vLLM has no latency histogram for {metric!r}; choose one of {', '.join(METRICS)}.")
    _check_window(window)
    _check_quantiles([quantile])
    parts = [_labelled(_quantile_expr(name, quantile, window), vllm_metric=name) for name in METRICS[metric]]
    series = query_range(url, " or ".join(parts), start, end, step, timeout)
    if not series:
        exported(url, timeout)  # says so when Prometheus has no vLLM series at all; else: no traffic
    # A server exporting both ITL names is read from the newer one, as latency_quantiles does.
    names = {_pair(labels): set() for labels, _ in series}
    for labels, _ in series:
        names[_pair(labels)].add(labels.get("vllm_metric", ""))
    rows = [
        (at, *_pair(labels), value * 1000.0)
        for labels, points in series
        if labels.get("vllm_metric") == _chosen(metric, names[_pair(labels)])
        for at, value in points
        if math.isfinite(value)
    ]
    frame = pd.DataFrame(rows, columns=HISTORY_COLUMNS)
    return frame.sort_values(["model_name", "instance", "time"]).reset_index(drop=True)


def _quantile_expr(name: str, quantile: float, window: str) -> str:
    buckets = f'{{__name__=~"vllm[:_]{re.escape(name.removeprefix("vllm:"))}_bucket"}}'  # either spelling
    return f"histogram_quantile({quantile:g}, sum by (le, model_name, instance) (rate({buckets}[{window}])))"


def _labelled(expr: str, **labels: str) -> str:
    """`expr` with constant labels added (label_replace from the empty label), so `or` keeps the parts apart."""
    for label, value in labels.items():
        expr = f'label_replace({expr}, "{label}", "{value}", "", "")'
    return expr


def _pair(labels: dict[str, str]) -> tuple[str, str]:
    return labels.get("model_name", ""), labels.get("instance", "")


def _metric_of(name: str) -> str | None:
    return next((metric for metric, names in METRICS.items() if name in names), None)


def _chosen(metric: str, names: set[str]) -> str | None:
    """The preferred histogram of `metric` among those a server exports."""
    return next((name for name in METRICS[metric] if name in names), None)


def _check_window(window: str) -> None:
    if not _DURATION.match(window):
        raise InputError(f"The window {window!r} is not a Prometheus duration; write it like 5m, 1h or 30s.")


def _check_quantiles(quantiles: Sequence[float]) -> None:
    bad = [q for q in quantiles if not 0 < q < 1]
    if bad or not quantiles:
        raise InputError(f"Quantiles must lie between 0 and 1 (got {bad or 'none'}); write 0.99 for p99.")
