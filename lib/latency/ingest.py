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
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from lib.errors import InputError, first_line
from lib.latency import ingest_mapping as fields
from lib.latency import ingest_values as parse
from lib.latency.records import RequestRecord, save_records, score_feedback
from lib.store import Store

MAX_PROBLEMS = 100  # per-row problems kept; the counts cover every row
SHOWN_PROBLEMS = 10  # in an IngestResult
_HEAD = 64 * 1024


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
    sources = fields.sources(mapping)
    fallbacks = fields.fallbacks(mapping, frame.columns)
    count = len(frame)
    numbers = row_numbers or list(range(1, count + 1))
    problems: list[str] = []

    def problem(position: int, text: str) -> None:
        if len(problems) < MAX_PROBLEMS:
            problems.append(f"row {numbers[position]}: {text}")

    def specs(name: str) -> list[fields.Source]:
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

    started = numeric("started_at", lambda series, spec: parse.times(series, spec.unit))
    durations = {name: values for name in ("e2el_ms", "ttft_ms", "tpot_ms")
                 if (values := numeric(name, _durations)) is not None}  # fmt: skip
    tokens = {name: values for name in ("input_tokens", "output_tokens")
              if (values := numeric(name, _counts)) is not None}  # fmt: skip
    texts = {name: cells(name, lambda v: "" if parse.missing(v) else str(v).strip(), "")
             for name in ("model", "endpoint", "user", "request_id")}  # fmt: skip
    errors = {name: cells(name, parse.error_cell, None) for name in ("error_kind", "error")}
    ok_cells = cells("ok", lambda v: None if parse.missing(v) else parse.truth(v), None)
    statuses = cells("status", parse.status, (None, None))
    codes = cells("status_code", parse.status, (None, None))
    feedback, notes = _feedback_column(column("feedback"), column("score"), column("thumbs"), sources)
    itl = [parse.number_list(v) for v in column("itl_ms").tolist()] if "itl_ms" in sources else None
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
            kind = parse.error_kind(given, code)
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


def _durations(series: pd.Series, spec: fields.Source) -> np.ndarray:
    values = parse.numbers(series) * parse.UNITS[spec.unit or "ms"]
    return np.where(values >= 0, values, np.nan)


def _counts(series: pd.Series, _spec: fields.Source) -> np.ndarray:
    values = parse.numbers(series)
    return np.where(values >= 0, np.round(values), np.nan)


def _value(values: np.ndarray | None, i: int) -> float | None:
    return None if values is None or not np.isfinite(values[i]) else float(values[i])


def _int(values: np.ndarray | None, i: int) -> int | None:
    value = _value(values, i)
    return None if value is None else int(value)


def _row_id(row: dict, seen: dict[str, int]) -> str:
    """A request id from the row's content and how many identical rows came before it (stable across re-reads)."""
    content = json.dumps({str(k): v for k, v in row.items() if not parse.missing(v)}, sort_keys=True, default=str)
    digest = hashlib.sha256(content.encode()).hexdigest()
    seen[digest] = occurrence = seen.get(digest, 0) + 1
    if occurrence > 1:
        digest = hashlib.sha256(f"{digest}:{occurrence}".encode()).hexdigest()
    return f"row-{digest[:32]}"


def _feedback_column(
    feedback: pd.Series | None, score: pd.Series | None, thumbs: pd.Series | None, sources: dict[str, fields.Source]
) -> tuple[list[float | None], list[tuple[int, str]]]:
    """Per-row feedback 0-1 (or None), and (position, note) for values that could not be read."""
    count = max((len(s) for s in (feedback, score, thumbs) if s is not None), default=0)
    out: list[float | None] = [None] * count
    notes: list[tuple[int, str]] = []
    for name, series in (("thumbs", thumbs), ("score", score), ("feedback", feedback)):  # the last one set wins
        if series is None:
            continue
        values = series.tolist()
        numbers = parse.numbers(series)
        zero_is_down = not np.any(numbers == -1)  # thumbs as 1/-1: 0 is no vote; as 1/0: 0 is down
        finite = numbers[np.isfinite(numbers)]
        unit_interval = name == "score" and finite.size and finite.min() >= 0 and finite.max() <= 1
        unit_interval = unit_interval and bool(np.any(finite % 1))  # 0.8 is already 0-1; 1..5 is a scale
        for i, value in enumerate(values):
            if parse.missing(value):
                continue
            result = None
            if name == "thumbs" or (name == "feedback" and not np.isfinite(numbers[i])):
                result = parse.thumbs(value, zero_is_down)
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
    mapping: dict[str, Any] = fields.detect_mapping(frame.columns)
    if mapping_path is not None:
        mapping = fields.merge_mapping(mapping, fields.load_mapping(mapping_path, frame.columns))
    fields.require_usable(mapping, frame.columns, name)
    records, problems = records_from_frame(frame, mapping, "ingest", numbers)
    stored = save_records(store, records)
    if stored:
        records_arrived(store, urgent=True)  # a person just ingested this file: show its alerts now
    return IngestResult(
        stored=stored,
        duplicates=len(records) - stored,
        skipped=len(frame) - len(records) + len(read_problems),
        problems=(read_problems + problems)[:SHOWN_PROBLEMS],
        mapping={key: fields.column_of(value) for key, value in mapping.items()},
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
        mapping = fields.detect_mapping(frame.columns)
        fields.require_usable(mapping, frame.columns, "The batch")
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
