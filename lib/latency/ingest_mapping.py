"""The log vocabulary: which column feeds which RequestRecord field, in which unit, by name or a mapping file."""

from __future__ import annotations

import json
import math
import re
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from lib.errors import InputError, first_line
from lib.latency.ingest_values import UNITS

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


@dataclass(frozen=True)
class Source:
    column: str
    unit: str | None
    scale: tuple[float, float] = (1.0, 5.0)


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
    claimed = {column_of(value) for value in user.values() if value is not None}
    merged: dict[str, Any] = {k: v for k, v in automatic.items() if k not in user and v not in claimed}
    merged.update({k: v for k, v in user.items() if v is not None})
    return merged


def column_of(value: Any) -> str:
    return value["column"] if isinstance(value, dict) else str(value)


def sources(mapping: dict[str, Any]) -> dict[str, Source]:
    """Field -> where to read it and in which unit (given, known for the name, or from a `_ms`/`_s` suffix)."""
    out = {}
    for name, value in mapping.items():
        if value is None or name not in FIELDS:
            continue
        column = column_of(value)
        spec = value if isinstance(value, dict) else {}
        unit = spec.get("unit") or _ALIAS_UNITS.get((name, normalise(column))) or _suffix_unit(normalise(column))
        scale = spec.get("scale") or (1, 5)
        out[name] = Source(column, unit, (float(scale[0]), float(scale[1])))
    return out


def _suffix_unit(name: str) -> str | None:
    for suffixes, unit in ((("_ms", "_millis"), "ms"), (("_s", "_sec", "_secs", "_seconds"), "s"),
                           (("_us", "_micros"), "us"), (("_ns", "_nano", "_nanos"), "ns")):  # fmt: skip
        if name.endswith(suffixes):
            return unit
    return None


def require_usable(mapping: dict[str, Any], columns: Any, name: str) -> None:
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


def fallbacks(mapping: dict[str, Any], columns: Any) -> dict[str, list[Source]]:
    """For each automatically mapped field, its other alias columns (a log whose failed rows lack
    `gen_ai.response.model` but have `gen_ai.request.model`; a batch mixing `request_id` and `span_id`)."""
    automatic = detect_mapping(columns)
    used = {column_of(value) for value in mapping.values() if value is not None}
    by_name: dict[str, str] = {}
    for column in columns:
        by_name.setdefault(normalise(column), str(column))
    out: dict[str, list[Source]] = {}
    for name, value in mapping.items():
        if value is None or automatic.get(name) != value:
            continue  # the user chose this column: no second guesses
        for alias, unit in FIELDS[name][1]:
            column = by_name.get(alias)
            if column is not None and column not in used:
                out.setdefault(name, []).append(Source(column, unit or _suffix_unit(alias)))
                used.add(column)
    return out
