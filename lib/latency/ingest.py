"""Production request records from a log file (CSV, TSV, JSONL, JSON, Parquet) or an HTTP ingest payload.

Columns are matched to RequestRecord fields by name (case-insensitive; dots, dashes, spaces and underscores
alike; an `attributes.` or `@` prefix ignored). Understood: our own field names; OpenTelemetry GenAI names
(`gen_ai.response.model` / `gen_ai.request.model`, `gen_ai.usage.input_tokens`, `gen_ai.usage.output_tokens`,
`gen_ai.client.operation.duration`, `gen_ai.server.time_to_first_token`, `gen_ai.server.time_per_output_token`,
all three in seconds, `error.type`, `server.address`, `http.response.status_code`); and common names
(`timestamp`, `latency_ms`, `latency` in seconds, `prompt_tokens`, `status_code`, `rating`, `thumbs`, ...).
A duration's unit comes from its name: `_ms` is milliseconds, OTel names and bare `latency`/`ttft` are seconds.
Timestamps are ISO strings or unix seconds, milliseconds, microseconds or nanoseconds (told apart by size).

A mapping file (JSON or YAML) overrides the automatic choice: `{"e2el_ms": "took"}` or
`{"e2el_ms": {"column": "took", "unit": "s"}}`; `null` leaves a field out.

A row without a request id gets one hashed from its content (and how many identical rows came before it), so
ingesting the same file twice, or a log that has grown since, stores each request once.
"""

from __future__ import annotations

import hashlib
import io
import json
import math
import re
import warnings
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from lib.errors import InputError, first_line
from lib.latency.records import ERROR_KINDS, RequestRecord, save_records, score_feedback
from lib.store import Store

MAX_PROBLEMS = 100  # per-row problems kept; the counts cover every row
SHOWN_PROBLEMS = 10  # in an IngestResult
UNITS = {"s": 1000.0, "ms": 1.0, "us": 0.001, "ns": 0.000001}  # factor to milliseconds
_HEAD = 64 * 1024

# field -> (kind, aliases as (normalised column name, unit or None)); earlier aliases win.
FIELDS: dict[str, tuple[str, tuple[tuple[str, str | None], ...]]] = {
    "started_at": ("time", (
        ("started_at", None), ("start_time", None), ("start_time_unix_nano", "ns"), ("timestamp", None),
        ("time", None), ("created_at", None), ("created", None), ("start", None), ("request_time", None),
        ("ts", None),
    )),
    "e2el_ms": ("duration", (
        ("e2el_ms", "ms"), ("latency_ms", "ms"), ("duration_ms", "ms"), ("elapsed_ms", "ms"),
        ("response_time_ms", "ms"), ("total_time_ms", "ms"), ("gen_ai_client_operation_duration", "s"),
        ("e2el", "s"), ("latency", "s"), ("duration", "s"), ("elapsed", "s"), ("response_time", "s"),
        ("latency_s", "s"), ("duration_s", "s"),
    )),
    "ttft_ms": ("duration", (
        ("ttft_ms", "ms"), ("time_to_first_token_ms", "ms"), ("gen_ai_server_time_to_first_token", "s"),
        ("ttft", "s"), ("ttft_s", "s"), ("time_to_first_token", "s"),
    )),
    "tpot_ms": ("duration", (
        ("tpot_ms", "ms"), ("time_per_output_token_ms", "ms"), ("gen_ai_server_time_per_output_token", "s"),
        ("tpot", "s"), ("tpot_s", "s"), ("time_per_output_token", "s"),
    )),
    "itl_ms": ("list", (("itl_ms", "ms"),)),
    "input_tokens": ("int", (
        ("input_tokens", None), ("prompt_tokens", None), ("gen_ai_usage_input_tokens", None),
        ("usage_input_tokens", None), ("usage_prompt_tokens", None), ("tokens_in", None),
    )),
    "output_tokens": ("int", (
        ("output_tokens", None), ("completion_tokens", None), ("gen_ai_usage_output_tokens", None),
        ("usage_output_tokens", None), ("usage_completion_tokens", None), ("tokens_out", None),
    )),
    "model": ("text", (
        ("model", None), ("gen_ai_response_model", None), ("gen_ai_request_model", None), ("model_name", None),
        ("model_id", None),
    )),
    "endpoint": ("text", (("endpoint", None), ("server_address", None), ("url", None), ("base_url", None))),
    "ok": ("bool", (("ok", None), ("success", None), ("succeeded", None))),
    "status": ("status", (("status", None), ("outcome", None))),
    "status_code": ("status", (
        ("status_code", None), ("http_response_status_code", None), ("http_status_code", None),
        ("http_status", None), ("response_status_code", None),
    )),
    "error_kind": ("text", (("error_kind", None), ("error_type", None))),
    "error": ("text", (("error", None), ("error_message", None), ("exception_message", None))),
    "feedback": ("feedback", (("feedback", None),)),
    "score": ("score", (("score", None), ("rating", None), ("stars", None), ("user_score", None))),
    "thumbs": ("thumbs", (("thumbs", None), ("thumb", None), ("thumbs_up", None), ("vote", None))),
    "user": ("text", (("user", None), ("user_id", None), ("enduser_id", None), ("username", None))),
    # Not `id` (often a row number, 1, 2, ... in every log) nor `trace_id` (shared by a trace's calls): request ids
    # are unique across the store, so either would drop later requests as "already stored"; a mapping may name them.
    "request_id": ("text", (("request_id", None), ("gen_ai_response_id", None), ("span_id", None))),
}  # fmt: skip
_ALIAS_UNITS = {(name, alias): unit for name, (_kind, aliases) in FIELDS.items() for alias, unit in aliases}
_NEEDED = "a start time (timestamp, started_at, ...) and a latency (latency_ms, e2el_ms, ttft_ms, OTel's durations)"
_TRUE = {"true", "yes", "y", "ok", "success", "succeeded", "successful", "completed", "complete", "pass", "passed"}
_FALSE = {"false", "no", "n", "error", "failed", "failure", "fail", "ko", "status_code_error", "timeout", "cancelled"}
_UP = {"up", "+1", "1", "true", "yes", "y", "like", "liked", "positive", "good", "thumbs_up", "👍"}
_DOWN = {"down", "-1", "false", "no", "n", "dislike", "disliked", "negative", "bad", "thumbs_down", "👎"}
_NO_ERROR = {"false", "0", "0.0", "no", "n", "none", "null", "nil", "nan", "n/a", "na", "-"}  # an error column's "no"


@dataclass
class IngestResult:
    """What one ingest stored, skipped and how it read the columns."""

    stored: int
    duplicates: int  # rows whose request was stored before (an ingest repeated)
    skipped: int  # rows left out: no start time, no latency, not JSON
    problems: list[str] = field(default_factory=list)  # the first few, with row numbers
    mapping: dict[str, str] = field(default_factory=dict)  # field -> column used
    rows: int = 0

    def to_dict(self) -> dict:
        """Plain data for `--json` and the page."""
        return asdict(self)


@dataclass(frozen=True)
class _Source:
    column: str
    unit: str | None
    scale: tuple[float, float] = (1.0, 5.0)


# ---------------------------------------------------------------------------------------------- mapping


def normalise(name: Any) -> str:
    """A column name as the matcher compares it: lower case, `_` for dots/dashes/spaces, no `attributes.` prefix."""
    text = re.sub(r"[.\-\s/]+", "_", str(name).strip().lstrip("@").lower()).strip("_")
    return text.removeprefix("attributes_")


def detect_mapping(columns: Any) -> dict[str, str]:
    """Field -> column chosen by name for the columns of a log; each column is used once."""
    by_name: dict[str, str] = {}
    for column in columns:
        by_name.setdefault(normalise(column), str(column))
    mapping: dict[str, str] = {}
    used: set[str] = set()
    for name, (_kind, aliases) in FIELDS.items():
        for alias, _unit in aliases:
            column = by_name.get(alias)
            if column is not None and column not in used:
                mapping[name] = column
                used.add(column)
                break
    return mapping


def load_mapping(path: Path | str, columns: Any) -> dict[str, Any]:
    """A user's mapping file (JSON or YAML) checked against the fields and the log's columns.

    Returns field -> column, {"column", "unit"} or None (leave the field out); a bad file raises one InputError.
    """
    path = Path(path).expanduser()
    try:
        text = path.read_text(encoding="utf-8-sig")
    except FileNotFoundError as error:
        raise InputError(f"There is no mapping file {path}; check the path.") from error
    except (OSError, UnicodeDecodeError) as error:
        raise InputError(f"Cannot read the mapping file {path} ({first_line(error)}); check it.") from error
    try:
        if path.suffix.lower() == ".json":
            data = json.loads(text)
        else:
            import yaml  # YAML is a superset of JSON: either reads here

            data = yaml.safe_load(text)
    except Exception as error:  # json and yaml raise their own error types
        raise InputError(f"The mapping file {path} is not valid JSON or YAML ({first_line(error)}); fix it.") from error
    if not isinstance(data, dict) or not data:
        raise InputError(
            f'The mapping file {path} must hold an object of field: column, such as {{"e2el_ms": "latency"}}.'
        )
    return check_mapping(data, columns, str(path))


def check_mapping(data: dict, columns: Any, name: str = "The mapping") -> dict[str, Any]:
    """A user mapping with its columns resolved; unknown fields, missing columns or bad units: one InputError."""
    present = {str(column): str(column) for column in columns}
    loose = {normalise(column): str(column) for column in columns}
    unknown, missing, bad = [], [], []
    resolved: dict[str, Any] = {}
    for key, value in data.items():
        if key not in FIELDS:
            unknown.append(str(key))
            continue
        if value is None:
            resolved[key] = None
            continue
        spec = value if isinstance(value, dict) else {"column": value}
        column, unit = spec.get("column"), spec.get("unit")
        if not isinstance(column, str) or not column:
            bad.append(f"{key} (no column named)")
            continue
        if unit is not None and unit not in UNITS:
            bad.append(f"{key} (unit {unit!r}; use s, ms, us or ns)")
            continue
        if spec.get("scale") is not None and not _good_scale(spec["scale"]):
            bad.append(f"{key} (scale {str(spec['scale'])[:40]!r}; give two numbers, low then high, such as [1, 5])")
            continue
        found = present.get(column) or loose.get(normalise(column))
        if found is None:
            missing.append(column)
            continue
        entry = dict(spec, column=found)
        resolved[key] = entry if len(entry) > 1 else found
    parts = []
    if unknown:
        parts.append(f"unknown fields {', '.join(unknown)} (known: {', '.join(FIELDS)})")
    if missing:
        parts.append(f"columns the log does not have: {', '.join(missing)} (it has: {_listing(columns)})")
    if bad:
        parts.append(f"bad entries {', '.join(bad)}")
    if parts:
        raise InputError(f"{name} names {'; and '.join(parts)}; fix the mapping.")
    return resolved


def _good_scale(scale: Any) -> bool:
    """A score scale a mapping may give: two finite numbers (not booleans), low < high."""
    if not isinstance(scale, list | tuple) or len(scale) != 2:
        return False
    if not all(isinstance(end, int | float) and not isinstance(end, bool) and math.isfinite(end) for end in scale):
        return False
    return scale[0] < scale[1]


def merge_mapping(automatic: dict[str, str], user: dict[str, Any]) -> dict[str, Any]:
    """The automatic mapping with the user's entries on top; a column the user assigned leaves its automatic field."""
    claimed = {_column_of(value) for value in user.values() if value is not None}
    merged: dict[str, Any] = {k: v for k, v in automatic.items() if k not in user and v not in claimed}
    merged.update({k: v for k, v in user.items() if v is not None})
    return merged


def _column_of(value: Any) -> str:
    return value["column"] if isinstance(value, dict) else str(value)


def _sources(mapping: dict[str, Any]) -> dict[str, _Source]:
    """Field -> where to read it and in which unit (given, known for the name, or from a `_ms`/`_s` suffix)."""
    out = {}
    for name, value in mapping.items():
        if value is None or name not in FIELDS:
            continue
        column = _column_of(value)
        spec = value if isinstance(value, dict) else {}
        unit = spec.get("unit") or _ALIAS_UNITS.get((name, normalise(column))) or _suffix_unit(normalise(column))
        scale = spec.get("scale") or (1, 5)
        out[name] = _Source(column, unit, (float(scale[0]), float(scale[1])))
    return out


def _suffix_unit(name: str) -> str | None:
    for suffixes, unit in ((("_ms", "_millis"), "ms"), (("_s", "_sec", "_secs", "_seconds"), "s"),
                           (("_us", "_micros"), "us"), (("_ns", "_nano", "_nanos"), "ns")):  # fmt: skip
        if name.endswith(suffixes):
            return unit
    return None


def _require_usable(mapping: dict[str, Any], columns: Any, name: str) -> None:
    if "started_at" in mapping and ({"e2el_ms", "ttft_ms"} & mapping.keys()):
        return
    lacking = []
    if "started_at" not in mapping:
        lacking.append("a start time")
    if not {"e2el_ms", "ttft_ms"} & mapping.keys():
        lacking.append("a latency")
    raise InputError(
        f"{name} has no column for {' or '.join(lacking)} (columns found: {_listing(columns)}); it needs "
        f"{_NEEDED}: rename them or give a mapping file."
    )


def _listing(columns: Any, limit: int = 15) -> str:
    names = [str(column) for column in columns]
    if not names:
        return "none"
    more = f" and {len(names) - limit} more" if len(names) > limit else ""
    return ", ".join(names[:limit]) + more


# ---------------------------------------------------------------------------------------------- values


def _missing(value: Any) -> bool:
    if value is None or value is pd.NA or value is pd.NaT:
        return True
    if isinstance(value, float | np.floating):
        return math.isnan(value)
    return isinstance(value, str) and not value.strip()


def _numbers(series: pd.Series) -> np.ndarray:
    """Numbers (text like "12.5" too; booleans are not numbers), NaN for the rest."""
    if series.dtype == bool:
        return np.full(len(series), np.nan)
    return pd.to_numeric(series, errors="coerce").to_numpy(dtype=float, na_value=np.nan)


def _times(series: pd.Series, unit: str | None) -> np.ndarray:
    """Unix seconds from unix numbers (unit given or told by size) or date strings (naive ones are UTC)."""
    values = _numbers(series)
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


def _truth(value: Any) -> bool | None:
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


def _error_cell(value: Any) -> str | None:
    """An error cell: None for no error (empty, false, 0, "none", "no"), "" for a bare true (failed, nothing said),
    else its text. `_truth()` reads only non-text cells here: it would take words like `timeout` for false."""
    if _missing(value):
        return None
    if not isinstance(value, str):
        truth = _truth(value)
        if truth is not None:
            return "" if truth else None
    text = str(value).strip()
    if text.lower() in _NO_ERROR:
        return None
    return "" if text.lower() in ("true", "yes", "y", "1", "1.0") else text


def _status(value: Any) -> tuple[bool | None, int | None]:
    """(ok, HTTP status code) from a status cell: a number is a code (>= 400 failed), a word says ok or failed."""
    if _missing(value) or isinstance(value, bool | np.bool_):
        return (None, None) if _missing(value) else (bool(value), None)
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


def _thumbs(value: Any, zero_is_down: bool) -> float | None:
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


def _error_kind(text: str, code: int | None) -> str:
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


def _list(value: Any) -> list[float]:
    if isinstance(value, str):
        try:
            value = json.loads(value)
        except ValueError:
            return []
    if isinstance(value, list | tuple | np.ndarray):
        out = [float(v) for v in value if isinstance(v, int | float | np.number) and not isinstance(v, bool)]
        return [v for v in out if math.isfinite(v) and v >= 0]
    return []


# ---------------------------------------------------------------------------------------------- rows


def records_from_frame(
    frame: pd.DataFrame, mapping: dict[str, Any], source: str = "ingest", row_numbers: list[int] | None = None
) -> tuple[list[RequestRecord], list[str]]:
    """Records from a frame's rows per `mapping` (field -> column or {"column", "unit"}) and the problems met.

    A row without a start time, or a successful one without any latency, is left out with a problem naming its
    row (`row_numbers[i]`, default i + 1); the first MAX_PROBLEMS problems are returned.
    """
    return _convert(frame, mapping, source, row_numbers)[1:]


def _convert(
    frame: pd.DataFrame, mapping: dict[str, Any], source: str, row_numbers: list[int] | None
) -> tuple[list[int], list[RequestRecord], list[str]]:
    """(frame positions of the records, the records, problems)."""
    sources = _sources(mapping)
    fallbacks = _fallbacks(mapping, frame.columns)
    count = len(frame)
    numbers = row_numbers or list(range(1, count + 1))
    problems: list[str] = []

    def problem(position: int, text: str) -> None:
        if len(problems) < MAX_PROBLEMS:
            problems.append(f"row {numbers[position]}: {text}")

    def specs(name: str) -> list[_Source]:
        """The field's column, then (when chosen automatically) its other alias columns to fill the gaps."""
        return ([sources[name]] if name in sources else []) + fallbacks.get(name, [])

    def column(name: str) -> pd.Series | None:
        return frame[sources[name].column].reset_index(drop=True) if name in sources else None

    def numeric(name: str, convert: Any) -> np.ndarray | None:
        out = None
        for spec in specs(name):
            values = convert(frame[spec.column].reset_index(drop=True), spec)
            out = values if out is None else np.where(np.isnan(out), values, out)
        return out

    def cells(name: str, convert: Any, empty: Any) -> list[Any]:
        out = [empty] * count
        for spec in specs(name):
            for i, value in enumerate(frame[spec.column].tolist()):
                if out[i] == empty:
                    out[i] = convert(value)
        return out

    started = numeric("started_at", lambda series, spec: _times(series, spec.unit))
    durations = {name: values for name in ("e2el_ms", "ttft_ms", "tpot_ms")
                 if (values := numeric(name, _durations)) is not None}  # fmt: skip
    tokens = {name: values for name in ("input_tokens", "output_tokens")
              if (values := numeric(name, _counts)) is not None}  # fmt: skip
    texts = {name: cells(name, lambda v: "" if _missing(v) else str(v).strip(), "")
             for name in ("model", "endpoint", "user", "request_id")}  # fmt: skip
    errors = {name: cells(name, _error_cell, None) for name in ("error_kind", "error")}
    ok_cells = cells("ok", lambda v: None if _missing(v) else _truth(v), None)
    statuses = cells("status", _status, (None, None))
    codes = cells("status_code", _status, (None, None))
    feedback, notes = _feedback_column(column("feedback"), column("score"), column("thumbs"), sources)
    itl = [_list(v) for v in column("itl_ms").tolist()] if "itl_ms" in sources else None
    raw = frame.to_dict("records") if "request_id" not in sources or not all(texts["request_id"]) else None
    seen: dict[str, int] = {}

    positions, records = [], []
    for i in range(count):
        if started is None or not np.isfinite(started[i]):
            problem(i, "no start time (the time column is empty or not a date); left out")
            continue
        code = codes[i][1] if codes[i][1] is not None else statuses[i][1]
        failed = ok_cells[i] is False or statuses[i][0] is False or codes[i][0] is False
        failed = failed or errors["error_kind"][i] is not None or errors["error"][i] is not None
        e2el = _value(durations.get("e2el_ms"), i)
        ttft = _value(durations.get("ttft_ms"), i)
        if e2el is None and ttft is None and not failed:
            problem(i, "no latency (the latency columns are empty or not numbers); left out")
            continue
        kind, error = "", errors["error"][i] or ""
        if failed:
            given = errors["error_kind"][i] or ""
            kind = _error_kind(given, code)
            if given and given != kind and not error:
                error = given  # keep what the log said (`RateLimitError`) beside the kind we filed it under
        request_id = texts["request_id"][i] or _row_id(raw[i] if raw else {}, seen)
        output_tokens = _int(tokens.get("output_tokens"), i)
        records.append(
            RequestRecord(
                started_at=float(started[i]), ok=not failed, ttft_ms=ttft, e2el_ms=e2el,
                tpot_ms=_value(durations.get("tpot_ms"), i), itl_ms=itl[i] if itl else [],
                input_tokens=_int(tokens.get("input_tokens"), i), output_tokens=output_tokens,
                model=texts["model"][i], endpoint=texts["endpoint"][i], error_kind=kind, error=error[:500],
                status_code=code, feedback=feedback[i] if feedback else None, request_id=request_id,
                user=texts["user"][i], source=source,
            )
        )  # fmt: skip
        positions.append(i)
    for i, note in notes:
        problem(i, note)
    return positions, records, problems


def _durations(series: pd.Series, spec: _Source) -> np.ndarray:
    values = _numbers(series) * UNITS[spec.unit or "ms"]
    return np.where(values >= 0, values, np.nan)


def _counts(series: pd.Series, _spec: _Source) -> np.ndarray:
    values = _numbers(series)
    return np.where(values >= 0, np.round(values), np.nan)


def _fallbacks(mapping: dict[str, Any], columns: Any) -> dict[str, list[_Source]]:
    """For each automatically mapped field, its other alias columns (a log whose failed rows lack
    `gen_ai.response.model` but have `gen_ai.request.model`; a batch mixing `request_id` and `span_id`)."""
    automatic = detect_mapping(columns)
    used = {_column_of(value) for value in mapping.values() if value is not None}
    by_name: dict[str, str] = {}
    for column in columns:
        by_name.setdefault(normalise(column), str(column))
    out: dict[str, list[_Source]] = {}
    for name, value in mapping.items():
        if value is None or automatic.get(name) != value:
            continue  # the user chose this column: no second guesses
        for alias, unit in FIELDS[name][1]:
            column = by_name.get(alias)
            if column is not None and column not in used:
                out.setdefault(name, []).append(_Source(column, unit or _suffix_unit(alias)))
                used.add(column)
    return out


def _value(values: np.ndarray | None, i: int) -> float | None:
    return None if values is None or not np.isfinite(values[i]) else float(values[i])


def _int(values: np.ndarray | None, i: int) -> int | None:
    value = _value(values, i)
    return None if value is None else int(value)


def _row_id(row: dict, seen: dict[str, int]) -> str:
    """A request id from the row's content and how many identical rows came before it (stable across re-reads)."""
    content = json.dumps({str(k): v for k, v in row.items() if not _missing(v)}, sort_keys=True, default=str)
    digest = hashlib.sha256(content.encode()).hexdigest()
    seen[digest] = occurrence = seen.get(digest, 0) + 1
    if occurrence > 1:
        digest = hashlib.sha256(f"{digest}:{occurrence}".encode()).hexdigest()
    return f"row-{digest[:32]}"


def _feedback_column(
    feedback: pd.Series | None, score: pd.Series | None, thumbs: pd.Series | None, sources: dict[str, _Source]
) -> tuple[list[float | None], list[tuple[int, str]]]:
    """Per-row feedback 0-1 (or None), and (position, note) for values that could not be read."""
    count = max((len(s) for s in (feedback, score, thumbs) if s is not None), default=0)
    out: list[float | None] = [None] * count
    notes: list[tuple[int, str]] = []
    for name, series in (("thumbs", thumbs), ("score", score), ("feedback", feedback)):  # the last one set wins
        if series is None:
            continue
        values = series.tolist()
        numbers = _numbers(series)
        zero_is_down = not np.any(numbers == -1)  # thumbs as 1/-1: 0 is no vote; as 1/0: 0 is down
        finite = numbers[np.isfinite(numbers)]
        unit_interval = name == "score" and finite.size and finite.min() >= 0 and finite.max() <= 1
        unit_interval = unit_interval and bool(np.any(finite % 1))  # 0.8 is already 0-1; 1..5 is a scale
        for i, value in enumerate(values):
            if _missing(value):
                continue
            result = None
            if name == "thumbs" or (name == "feedback" and not np.isfinite(numbers[i])):
                result = _thumbs(value, zero_is_down)
            elif np.isfinite(numbers[i]):
                if unit_interval or (name == "feedback" and 0 <= numbers[i] <= 1):
                    result = float(numbers[i])
                else:
                    try:
                        result = score_feedback(numbers[i], sources[name].scale if name == "score" else (1, 5))
                    except ValueError as error:
                        notes.append((i, f"{error}; feedback left out"))
                        continue
            if result is None:
                notes.append((i, f"{name} {str(value)[:40]!r} is not a rating; feedback left out"))
            else:
                out[i] = result
    return out, notes


# ---------------------------------------------------------------------------------------------- files


def read_log(path: Path | str) -> tuple[pd.DataFrame, list[int], list[str], str]:
    """A request log as a frame, each row's file line (or record number), the malformed lines, and its name."""
    from lib.quality.readers import detect_format, read_dataset_bytes

    path = Path(path).expanduser()
    name = path.name or str(path)
    data = read_dataset_bytes(path)  # missing, a folder, unreadable or over quality.max_file_mb: one sentence
    if not data.strip():
        raise InputError(f"{name} is empty; choose a request log with one request per row (CSV or JSONL).")
    fmt = detect_format(name, data[:_HEAD])  # refuses images, archives, databases by their magic bytes
    if fmt == "parquet":
        try:
            frame = pd.read_parquet(io.BytesIO(data))
        except Exception as error:  # pyarrow raises many types for a damaged file
            raise InputError(
                f"{name} is not a readable Parquet file ({first_line(error)}); export it again."
            ) from error
        return frame, list(range(1, len(frame) + 1)), [], name
    text = _decode(data, name)
    if fmt == "text":
        raise InputError(f"{name} is not a CSV or JSONL request log (no columns found); export the log as one of them.")
    if fmt == "json":
        try:
            value = json.loads(text)
        except ValueError:
            fmt = "jsonl"  # a .json file holding one object per line
        else:
            rows = value.get("records") if isinstance(value, dict) else value
            if not isinstance(rows, list):
                raise InputError(f"{name} holds JSON that is not a list of requests; use JSONL or [{{...}}, ...].")
            objects = [row for row in rows if isinstance(row, dict)]
            problems = [
                f"record {i}: not an object; left out" for i, row in enumerate(rows, 1) if not isinstance(row, dict)
            ]
            numbers = [i for i, row in enumerate(rows, 1) if isinstance(row, dict)]
            return _frame(objects, name), numbers, problems, name
    if fmt == "jsonl":
        objects, numbers, problems = [], [], []
        for number, line in enumerate(text.splitlines(), 1):
            if not line.strip():
                continue
            try:
                value = json.loads(line)
            except ValueError as error:
                problems.append(f"line {number}: not JSON ({first_line(error)}); left out")
                continue
            if not isinstance(value, dict):
                problems.append(f"line {number}: not a JSON object; left out")
                continue
            objects.append(value)
            numbers.append(number)
        if not objects:
            raise InputError(f"{name} has no JSON object lines; choose a JSONL log with one request per line.")
        return _frame(objects, name), numbers, problems, name
    sep = "\t" if fmt == "tsv" else _separator(text)
    try:
        frame = pd.read_csv(io.StringIO(text), sep=sep, skipinitialspace=True)
    except Exception as error:  # pandas' parser raises several types
        raise InputError(f"{name} cannot be read as CSV ({first_line(error)}); check the file.") from error
    if frame.empty:
        raise InputError(f"{name} has a header but no rows; choose a log with requests in it.")
    return frame, list(range(2, len(frame) + 2)), [], name  # line 1 is the header


def _frame(objects: list[dict], name: str) -> pd.DataFrame:
    if not objects:
        raise InputError(f"{name} has no requests in it; choose a log with one request per row.")
    return pd.json_normalize(objects, sep=".")  # {"attributes": {"gen_ai.request.model": ..}} -> attributes.gen_ai...


def _decode(data: bytes, name: str) -> str:
    if data.startswith((b"\xff\xfe", b"\xfe\xff")):
        try:
            return data.decode("utf-16")
        except UnicodeDecodeError as error:
            raise InputError(f"{name} claims to be UTF-16 but is damaged; save it as UTF-8.") from error
    if b"\x00" in data[:_HEAD]:
        raise InputError(f"{name} is a binary file, not a request log; choose a CSV or JSONL file.")
    try:
        return data.decode("utf-8-sig")
    except UnicodeDecodeError:
        return data.decode("cp1252", errors="replace")  # an old Windows export: names and numbers survive


def _separator(text: str) -> str:
    header = text.split("\n", 1)[0]
    counts = {sep: header.count(sep) for sep in (",", ";", "\t", "|")}
    return max(counts, key=lambda sep: (counts[sep], sep == ","))


def ingest_file(store: Store, path: Path | str, mapping_path: Path | str | None = None) -> IngestResult:
    """Store the requests of a log file as production records; a file that cannot be used raises InputError."""
    from lib.latency.watch import records_arrived

    frame, numbers, read_problems, name = read_log(path)
    mapping: dict[str, Any] = detect_mapping(frame.columns)
    if mapping_path is not None:
        mapping = merge_mapping(mapping, load_mapping(mapping_path, frame.columns))
    _require_usable(mapping, frame.columns, name)
    records, problems = records_from_frame(frame, mapping, "ingest", numbers)
    stored = save_records(store, records)
    if stored:
        records_arrived(store, urgent=True)  # a person just ingested this file: show its alerts now
    return IngestResult(
        stored=stored,
        duplicates=len(records) - stored,
        skipped=len(frame) - len(records) + len(read_problems),
        problems=(read_problems + problems)[:SHOWN_PROBLEMS],
        mapping={key: _column_of(value) for key, value in mapping.items()},
        rows=len(frame) + len(read_problems),
    )


# ---------------------------------------------------------------------------------------------- HTTP payload


def records_from_payload(data: Any) -> tuple[list[RequestRecord], list[tuple[str, float]], list[str]]:
    """Records, (request_id, feedback 0-1) pairs and problems from an ingest body.

    The body is `{"records": [...], "feedback": [{"request_id": ..., "feedback": 0-1}]}` (or a bare list of
    records); records use the log vocabulary. A body of the wrong shape raises InputError.
    """
    shape = 'send {"records": [{...}], "feedback": [{"request_id": ..., "feedback": 0.0-1.0}]}'
    if isinstance(data, list):
        data = {"records": data}
    if not isinstance(data, dict) or not ({"records", "feedback"} & data.keys()):
        raise InputError(f"The body has neither 'records' nor 'feedback'; {shape}.")
    rows, votes = data.get("records") or [], data.get("feedback") or []
    if not isinstance(rows, list) or not isinstance(votes, list):
        raise InputError(f"'records' and 'feedback' must be lists; {shape}.")
    problems = [f"record {i}: not an object; left out" for i, row in enumerate(rows, 1) if not isinstance(row, dict)]
    objects = [row for row in rows if isinstance(row, dict)]
    records: list[RequestRecord] = []
    if objects:
        frame = pd.json_normalize(objects, sep=".")
        mapping = detect_mapping(frame.columns)
        _require_usable(mapping, frame.columns, "The batch")
        numbers = [i for i, row in enumerate(rows, 1) if isinstance(row, dict)]
        positions, records, row_problems = _convert(frame, mapping, "http", numbers)
        problems += [text.replace("row ", "record ", 1) for text in row_problems]
        for position, record in zip(positions, records, strict=True):
            if objects[position].get("source") == "track":  # an application's track() through the HTTP sender
                record.source = "track"
    feedback = []
    for i, vote in enumerate(votes, 1):
        value = _vote(vote) if isinstance(vote, dict) else None
        if value is None:
            problems.append(f"feedback {i}: needs request_id and feedback 0-1 (or thumbs_up, or score); left out")
        else:
            feedback.append(value)
    return records, feedback, problems[:MAX_PROBLEMS]


def _vote(vote: dict) -> tuple[str, float] | None:
    request_id = vote.get("request_id")
    if not isinstance(request_id, str) or not request_id:
        return None
    value = vote.get("feedback")
    if isinstance(value, int | float) and not isinstance(value, bool) and 0 <= value <= 1:
        return request_id, float(value)
    if isinstance(vote.get("thumbs_up"), bool):
        return request_id, 1.0 if vote["thumbs_up"] else 0.0
    score, scale = vote.get("score"), vote.get("scale") or (1, 5)
    if isinstance(score, int | float) and not isinstance(score, bool):
        try:
            return request_id, score_feedback(score, tuple(scale))
        except (TypeError, ValueError, IndexError):
            return None
    return None
