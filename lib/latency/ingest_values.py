"""Cells and columns of a request log read into values: times, durations, truths, statuses, votes, error kinds."""

from __future__ import annotations

import json
import math
import re
import warnings
from typing import Any

import numpy as np
import pandas as pd

from lib.latency.records import ERROR_KINDS

UNITS = {"s": 1000.0, "ms": 1.0, "us": 0.001, "ns": 0.000001}  # factor to milliseconds
_TRUE = {"true", "yes", "y", "ok", "success", "succeeded", "successful", "completed", "complete", "pass", "passed"}
_FALSE = {"false", "no", "n", "error", "failed", "failure", "fail", "ko", "status_code_error", "timeout", "cancelled"}
_UP = {"up", "+1", "1", "true", "yes", "y", "like", "liked", "positive", "good", "thumbs_up", "👍"}
_DOWN = {"down", "-1", "false", "no", "n", "dislike", "disliked", "negative", "bad", "thumbs_down", "👎"}
_NO_ERROR = {"false", "0", "0.0", "no", "n", "none", "null", "nil", "nan", "n/a", "na", "-"}  # an error column's "no"


def missing(value: Any) -> bool:
    if value is None or value is pd.NA or value is pd.NaT:
        return True
    if isinstance(value, float | np.floating):
        return math.isnan(value)
    return isinstance(value, str) and not value.strip()


def numbers(series: pd.Series) -> np.ndarray:
    """Numbers (text like "12.5" too; booleans are not numbers), NaN for the rest."""
    if series.dtype == bool:
        return np.full(len(series), np.nan)
    return pd.to_numeric(series, errors="coerce").to_numpy(dtype=float, na_value=np.nan)


def times(series: pd.Series, unit: str | None) -> np.ndarray:
    """Unix seconds from unix numbers (unit given or told by size) or date strings (naive ones are UTC)."""
    values = numbers(series)
    if unit:
        values = values * UNITS[unit] / 1000.0
    else:  # by size: 1e11 s is the year 5138, 1e11 ms is 1973
        size = np.abs(values)
        values = np.where(size > 1e17, values / 1e9, np.where(size > 1e14, values / 1e6,
                          np.where(size > 1e11, values / 1e3, values)))  # fmt: skip
    text = np.isnan(values) & series.notna().to_numpy()
    if text.any():
        strings = series[text].astype(str)
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")  # "could not infer format" for the odd non-ISO date
            parsed = pd.to_datetime(strings, utc=True, errors="coerce", format="ISO8601")
            if parsed.isna().any():
                retry = parsed.isna()
                parsed[retry] = pd.to_datetime(strings[retry], utc=True, errors="coerce", format="mixed")
        epoch = pd.Timestamp(0, tz="UTC")
        values[text] = ((parsed - epoch).dt.total_seconds()).to_numpy(dtype=float, na_value=np.nan)
    return values


def truth(value: Any) -> bool | None:
    if isinstance(value, bool | np.bool_):
        return bool(value)
    if isinstance(value, int | float | np.integer | np.floating):
        return None if math.isnan(value) else bool(value)
    text = str(value).strip().lower()
    if text in ("1", "1.0") or text in _TRUE:
        return True
    if text in ("0", "0.0") or text in _FALSE:
        return False
    return None


def error_cell(value: Any) -> str | None:
    """An error cell: None for no error (empty, false, 0, "none", "no"), "" for a bare true (failed, nothing said),
    else its text. `truth()` reads only non-text cells here: it would take words like `timeout` for false."""
    if missing(value):
        return None
    if not isinstance(value, str):
        flag = truth(value)
        if flag is not None:
            return "" if flag else None
    text = str(value).strip()
    if text.lower() in _NO_ERROR:
        return None
    return "" if text.lower() in ("true", "yes", "y", "1", "1.0") else text


def status(value: Any) -> tuple[bool | None, int | None]:
    """(ok, HTTP status code) from a status cell: a number is a code (>= 400 failed), a word says ok or failed."""
    if missing(value) or isinstance(value, bool | np.bool_):
        return (None, None) if missing(value) else (bool(value), None)
    try:
        code = int(float(value))
    except (TypeError, ValueError):
        text = str(value).strip().lower()
        if text in _TRUE or text in ("unset", "status_code_ok", "status_code_unset"):
            return True, None
        if text in _FALSE or "error" in text or "fail" in text:
            return False, None
        return None, None
    return (code < 400, code) if 100 <= code <= 599 else (None, None)


def thumbs(value: Any, zero_is_down: bool) -> float | None:
    if isinstance(value, bool | np.bool_):
        return 1.0 if value else 0.0
    text = str(value).strip().lower()
    if text in ("0", "0.0"):
        return 0.0 if zero_is_down else None
    if text in _UP or text in ("1.0",):
        return 1.0
    if text in _DOWN or text in ("-1.0",):
        return 0.0
    return None


def error_kind(text: str, code: int | None) -> str:
    """One of ERROR_KINDS for a logged error type (`timeout`, `503`, `RateLimitError`) or status code."""
    if text in ERROR_KINDS:
        return text
    word = re.sub(r"[\s_\-.]", "", text.lower())
    if word.isdigit():
        code = int(word)
    elif word:
        for keys, kind in (
            (("timeout", "timedout", "deadline"), "timeout"),
            (("connect", "unreachable", "refused", "dns", "resolve"), "unreachable"),
            (("auth", "permission", "forbidden", "apikey"), "unauthorized"),
            (("notfound",), "not_found"),
            (("ratelimit", "toomanyrequests", "badrequest", "invalidrequest", "contextlength"), "http_4xx"),
            (("internalserver", "serviceunavailable", "overloaded", "badgateway"), "http_5xx"),
        ):
            if any(key in word for key in keys):
                return kind
    if code is not None:
        if code in (401, 403):
            return "unauthorized"
        if code == 404:
            return "not_found"
        if code == 408:
            return "timeout"
        if 400 <= code < 500:
            return "http_4xx"
        if code >= 500:
            return "http_5xx"
    return "app_error"  # the application logged the call as failed, saying no more


def number_list(value: Any) -> list[float]:
    if isinstance(value, str):
        try:
            value = json.loads(value)
        except ValueError:
            return []
    if isinstance(value, list | tuple | np.ndarray):
        out = [float(v) for v in value if isinstance(v, int | float | np.number) and not isinstance(v, bool)]
        return [v for v in out if math.isfinite(v) and v >= 0]
    return []
