"""The one reader of Prometheus's HTTP API: instant and range PromQL queries, every failure one sentence.

The fleet view (`lib.gpu.prometheus`) and vLLM's latency histograms (`lib.latency.prometheus`) both ask
through here. A URL may carry user:password@ (sent as Basic auth, never shown); messages show only the
scheme, host and port. Each failure names what to check: `setting`, the setting the URL came from.
"""

from __future__ import annotations

import http.client
import json
import urllib.error
import urllib.request
from typing import Any
from urllib.parse import urlencode

from lib.errors import PitwallError, first_line
from lib.urls import display_url, network_reason, split_credentials

SETTING = "gpu.prometheus_url"  # the Prometheus URL setting, named in the messages unless a caller names another
Series = list[tuple[dict[str, str], float]]
RangeSeries = list[tuple[dict[str, str], list[tuple[float, float]]]]


def query(url: str, promql: str, timeout: float = 5.0, *, setting: str = SETTING) -> Series:
    """An instant query: each series' labels (with `__name__` where kept) and its value now."""
    data = _api(url, "query", {"query": promql, "timeout": _duration(timeout)}, timeout, setting)
    kind, result = data.get("resultType"), data.get("result")
    if kind not in ("vector", "scalar") or not isinstance(result, list):
        raise _not_prometheus(display_url(url), f"an instant query answered a {kind or 'missing'} result", setting)
    try:
        if kind == "scalar":
            return [({}, _number(result[1]))]
        return [(dict(item.get("metric", {})), _number(item["value"][1])) for item in result]
    except (KeyError, IndexError, ValueError, TypeError, AttributeError):
        raise _not_prometheus(display_url(url), "the query result has no values", setting) from None


def query_range(
    url: str, promql: str, start: float, end: float, step: float, timeout: float = 5.0, *, setting: str = SETTING
) -> RangeSeries:
    """A range query: each series' labels and its (unix time, value) points from start to end, every step."""
    parameters = {"query": promql, "start": f"{start:.3f}", "end": f"{end:.3f}", "step": f"{step:g}"}
    parameters["timeout"] = _duration(timeout)
    data = _api(url, "query_range", parameters, timeout, setting)
    result = data.get("result")
    if data.get("resultType") != "matrix" or not isinstance(result, list):
        kind = data.get("resultType") or "missing"
        raise _not_prometheus(display_url(url), f"a range query answered a {kind} result", setting)
    try:
        return [
            (dict(item.get("metric", {})), [(float(at), _number(value)) for at, value in item["values"]])
            for item in result
        ]
    except (KeyError, ValueError, TypeError, AttributeError):
        raise _not_prometheus(display_url(url), "the query result has no values", setting) from None


def _api(url: str, endpoint: str, parameters: dict[str, str], timeout: float, setting: str) -> dict[str, Any]:
    """GET /api/v1/<endpoint>; the `data` of a successful answer, or PitwallError in one sentence."""
    shown = display_url(url)
    address, basic = split_credentials(url)  # user:password@ in the URL becomes Basic auth, never shown
    target = f"{address.rstrip('/')}/api/v1/{endpoint}?{urlencode(parameters)}"
    headers = {"Accept": "application/json", "User-Agent": "pitwall"}
    if basic:
        headers["Authorization"] = f"Basic {basic}"
    try:
        request = urllib.request.Request(target, headers=headers)
    except ValueError as error:
        raise PitwallError(
            f"The Prometheus URL {shown} cannot be used ({first_line(error)}); check {setting}."
        ) from None
    try:
        with urllib.request.urlopen(request, timeout=timeout) as response:
            body, kind = response.read(), response.headers.get_content_type()
    except urllib.error.HTTPError as error:
        # Prometheus answers a bad query or a query timeout with 400/422/503 and its JSON error.
        answer = _json(_read_quietly(error))
        error.close()
        if answer is not None and answer.get("status") == "error":
            raise _refused(shown, answer) from None
        status = f"HTTP {error.code}" + (f" {error.reason}" if error.reason else "")
        raise PitwallError(
            f"Prometheus at {shown} answered {status}; check {setting} (and any proxy in front)."
        ) from None
    except urllib.error.URLError as error:
        raise _unreachable(shown, network_reason(error.reason), setting) from None
    except (TimeoutError, OSError, http.client.HTTPException) as error:
        raise _unreachable(shown, network_reason(error), setting) from None
    answer = _json(body)
    if answer is None or answer.get("status") not in ("success", "error"):
        raise _not_prometheus(shown, f"it sent {kind or 'something'}, not the query API's JSON", setting)
    if answer["status"] == "error":
        raise _refused(shown, answer)
    data = answer.get("data")
    if not isinstance(data, dict):
        raise _not_prometheus(shown, "its answer has no data", setting)
    return data


def _duration(seconds: float) -> str:
    """A Prometheus duration (no fractions allowed), so Prometheus gives up on the query when we do."""
    return f"{max(1, round(seconds * 1000))}ms"


def _read_quietly(error: urllib.error.HTTPError) -> bytes:
    try:
        return error.read()
    except (OSError, http.client.HTTPException):
        return b""


def _json(body: bytes) -> dict[str, Any] | None:
    try:
        answer = json.loads(body)
    except (ValueError, UnicodeDecodeError):
        return None
    return answer if isinstance(answer, dict) else None


def _number(value: Any) -> float:
    return float(value)  # Prometheus sends numbers as strings, "NaN" and "+Inf" included


def _unreachable(shown: str, reason: str, setting: str) -> PitwallError:
    return PitwallError(
        f"Prometheus at {shown} cannot be reached ({reason}); check {setting} and that Prometheus is running."
    )


def _not_prometheus(shown: str, why: str, setting: str) -> PitwallError:
    return PitwallError(f"The server at {shown} did not answer like Prometheus ({why}); check {setting}.")


def _refused(shown: str, answer: dict[str, Any]) -> PitwallError:
    kind = answer.get("errorType") or "error"
    text = first_line(ValueError(str(answer.get("error") or "no reason given")))
    return PitwallError(f"Prometheus at {shown} refused the query ({kind}: {text}); check the PromQL.")
