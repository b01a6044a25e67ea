"""Writing a cleaned dataset in its input format, the dropped rows as CSV, and the names to download them under.

`export_bytes(dataset, frame)` writes the frame (a `CleanResult.frame`, or any frame of the dataset's columns) so
that `read_dataset` reads back the same rows. Decisions worth knowing:
- Always UTF-8 without a byte-order mark, whatever the input's encoding was (cp1252, UTF-16...).
- CSV is written with the input's own separator (comma, semicolon, pipe) and TSV tab-separated, quoted where a
  cell needs it (a newline, a quote, the separator), lines ending in "\\n". Lists and objects in a cell are
  written as JSON text.
- JSONL and JSON hold one object per row with every column; JSON is an array of them, one per line. Missing
  values are null.
- A whole-number column that pandas turned into floats because some values are missing (a blank CSV cell, a
  record without the key) is written as whole numbers again: "5", not "5.0".
- Parquet keeps the column types (pyarrow).
- Plain text is one document per line, so a line break inside a document would split it into two: line breaks
  inside a document are written as single spaces (a paragraph break too). Choose JSONL to keep them.
- Chat data read per conversation is written with its `messages` lists (each message's content as cleaned;
  keys Arrow filled with null left out) and without the `text` column the reader added by flattening them.
  CSV and TSV keep that flattened `text` beside `messages` as JSON text (so the re-read file profiles the same
  text), and plain text gets it alone.
  Chat data read per message is written one row per message as read (conversation, role, text).
"""

from __future__ import annotations

import io
import json
import math
import re
from datetime import date, datetime
from datetime import time as clock
from pathlib import PurePath
from typing import Any

import numpy as np
import pandas as pd

from lib.errors import InputError
from lib.quality.readers import CHAT_COLUMN, FLAT_TEXT, FORMATS, Dataset

EXTENSIONS = {
    "csv": ".csv",
    "tsv": ".tsv",
    "jsonl": ".jsonl",
    "json": ".json",
    "parquet": ".parquet",
    "text": ".txt",
}
MIME_TYPES = {
    "csv": "text/csv",
    "tsv": "text/tab-separated-values",
    "jsonl": "application/x-ndjson",
    "json": "application/json",
    "parquet": "application/vnd.apache.parquet",
    "text": "text/plain",
}
_SAME_FORMAT = {  # other extensions the reader takes as the same format, kept in the export's name
    ".tab": "tsv",
    ".ndjson": "jsonl",
    ".jsonlines": "jsonl",
    ".pq": "parquet",
    ".text": "text",
}
_LINE_BREAK = re.compile(r"\r\n?|\n")
_FORMULA_START = ("=", "+", "-", "@", "\t", "\r")  # what a spreadsheet runs as a formula (OWASP CSV injection)
_EXACT_INTEGERS = 2**53  # floats hold every whole number up to here


def export_bytes(dataset: Dataset, frame: pd.DataFrame, fmt: str | None = None) -> bytes:
    """The frame written in `fmt` (default: the dataset's own format) as UTF-8 bytes, readable by read_dataset."""
    fmt = fmt or dataset.format
    if fmt not in FORMATS:
        raise InputError(f"Cannot export as '{fmt}'; choose one of: {', '.join(FORMATS)}.")
    if fmt == "text":
        return _text_bytes(frame[dataset.text_column])
    if dataset.chat == "conversation" and CHAT_COLUMN in frame.columns:
        messages = np.empty(len(frame), dtype=object)  # filled one by one, so pandas cannot make it 2-D
        for row, value in enumerate(frame[CHAT_COLUMN].tolist()):
            messages[row] = plain_messages(value) if value is not None else None
        frame = frame.assign(**{CHAT_COLUMN: messages})
        if fmt in ("jsonl", "json", "parquet") and FLAT_TEXT in frame.columns:  # these hold `messages` as lists
            frame = frame.drop(columns=[FLAT_TEXT])  # the reader's flattening of `messages`, not the file's
    if fmt == "parquet":
        return _parquet_bytes(frame, dataset.name)
    frame = _whole_numbers(frame)
    if fmt in ("csv", "tsv"):
        default = "," if fmt == "csv" else "\t"
        same_format = fmt == dataset.format and dataset.delimiter
        return _delimited_bytes(frame, dataset.delimiter if same_format else default)  # type: ignore[arg-type]
    lines = [json.dumps(_record(row), ensure_ascii=False, allow_nan=False) for row in _records(frame)]
    if fmt == "jsonl":
        return "".join(line + "\n" for line in lines).encode("utf-8")
    return ("[\n" + ",\n".join(lines) + "\n]\n" if lines else "[]\n").encode("utf-8")


def dropped_csv(dropped: pd.DataFrame) -> bytes:
    """The dropped rows (row, step, reason, text) as UTF-8 CSV; text cells a spreadsheet would run are defused."""
    frame = dropped.copy()
    if "text" in frame.columns:
        # A leading apostrophe makes Excel and LibreOffice show "=SUM(...)" as text instead of running it.
        frame["text"] = [
            "'" + value if isinstance(value, str) and value.startswith(_FORMULA_START) else value
            for value in frame["text"].tolist()
        ]
    return frame.to_csv(index=False, lineterminator="\n").encode("utf-8")


def export_name(dataset_name: str, suffix: str, fmt: str | None = None) -> str:
    """A download name beside the input's: ("data.jsonl", "clean") -> "data.clean.jsonl"; `fmt` sets the extension."""
    name = PurePath(dataset_name.replace("\\", "/")).name or "dataset"  # never a folder from an upload's name
    stem, dot, extension = name.rpartition(".")
    if not dot or not stem:
        stem, extension = name, ""
    extension = f".{extension}" if extension else ""
    if fmt is not None:
        if fmt not in EXTENSIONS:
            raise InputError(f"Cannot name an export as '{fmt}'; choose one of: {', '.join(EXTENSIONS)}.")
        known = extension.lower()
        if EXTENSIONS[fmt] != known and _SAME_FORMAT.get(known) != fmt:
            extension = EXTENSIONS[fmt]
    return f"{stem}.{suffix}{extension}"


def plain_messages(value: Any) -> list | None:
    """A conversation as a list of message dicts (copies), without the keys Arrow filled with None.

    pyarrow reads a JSONL `messages` column as one struct type, so a message gains every key any message has
    (`"tool_calls": None`, `"name": None`); those are left out again. A message's `content` is kept even when
    it is null: an assistant turn that only calls a tool has no text.
    """
    if not isinstance(value, list | tuple | np.ndarray):
        return None
    out: list = []
    for message in value:
        if isinstance(message, dict):
            out.append({key: _copy(item) for key, item in message.items() if item is not None or key == "content"})
        else:
            out.append(_copy(message))
    return out


def _copy(value: Any) -> Any:
    """Nested numpy arrays as lists and dicts copied, so a message can be changed without touching the dataset."""
    if isinstance(value, np.ndarray | list | tuple):
        return [_copy(item) for item in value]
    if isinstance(value, dict):
        return {key: _copy(item) for key, item in value.items()}
    return value


def mime_type(fmt: str) -> str:
    """The MIME type of an export format, for a download button."""
    return MIME_TYPES.get(fmt, "application/octet-stream")


# ---------------------------------------------------------------------------------------------------------------


def _text_bytes(column: pd.Series) -> bytes:
    lines = [_LINE_BREAK.sub(" ", value) if isinstance(value, str) else "" for value in column.tolist()]
    return "".join(line + "\n" for line in lines).encode("utf-8")


def _whole_numbers(frame: pd.DataFrame) -> pd.DataFrame:
    """Float columns that are whole numbers with gaps (ints made float by a missing value) as nullable integers."""
    changed = {}
    for column in frame.columns:
        values = frame[column]
        if values.dtype.kind != "f" or not values.isna().any():
            continue  # without gaps a float column came from floats ("1.0" in the file): keep it
        present = values.dropna().to_numpy()
        if present.size and np.all(np.mod(present, 1) == 0) and np.all(np.abs(present) < _EXACT_INTEGERS):
            changed[column] = values.astype("Int64")
    return frame.assign(**changed) if changed else frame


def _delimited_bytes(frame: pd.DataFrame, separator: str) -> bytes:
    nested = {
        column: [_cell(value) for value in frame[column].tolist()]
        for column in frame.columns
        if frame[column].dtype == object
    }
    if nested:
        frame = frame.assign(**nested)
    return frame.to_csv(index=False, sep=separator, lineterminator="\n").encode("utf-8")


def _cell(value: Any) -> Any:
    """A CSV cell: lists and objects as JSON text, everything else as it is."""
    if isinstance(value, dict | list | tuple | np.ndarray):
        return json.dumps(_jsonable(value), ensure_ascii=False)
    return value


def _records(frame: pd.DataFrame) -> list[dict]:
    return frame.to_dict(orient="records")


def _record(row: dict) -> dict:
    return {str(key): _jsonable(value) for key, value in row.items()}


def _jsonable(value: Any) -> Any:
    """A value as plain JSON: numpy as Python, missing and non-finite numbers as null, dates as ISO text."""
    if value is None or isinstance(value, str | bool | int):
        return value
    if isinstance(value, float):
        return value if math.isfinite(value) else None
    if isinstance(value, dict):
        return {str(key): _jsonable(item) for key, item in value.items()}
    if isinstance(value, list | tuple | np.ndarray):
        return [_jsonable(item) for item in value]
    if value is pd.NA or value is pd.NaT:
        return None
    if isinstance(value, np.generic):
        return _jsonable(value.item())
    if isinstance(value, datetime | date | clock):  # pandas' Timestamp is a datetime
        return value.isoformat()
    if isinstance(value, bytes):
        return value.decode("utf-8", errors="replace")
    return str(value)


def _parquet_bytes(frame: pd.DataFrame, name: str) -> bytes:
    import pyarrow as pa
    import pyarrow.parquet as pq

    try:
        table = pa.Table.from_pandas(frame, preserve_index=False)
    except (pa.ArrowException, ValueError, TypeError):
        # Mixed values in one column (a string here, a list there): write those columns as plain JSON values.
        plain = {
            str(column): [_jsonable(value) for value in frame[column].tolist()]
            for column in frame.columns
            if frame[column].dtype == object
        }
        try:
            table = pa.Table.from_pandas(frame.assign(**plain), preserve_index=False)
        except (pa.ArrowException, ValueError, TypeError) as error:
            raise InputError(
                f"The cleaned {name} cannot be written as Parquet (a column mixes kinds of values); export it as JSONL."
            ) from error
    sink = io.BytesIO()
    pq.write_table(table, sink)
    return sink.getvalue()
