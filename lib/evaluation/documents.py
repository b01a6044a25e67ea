"""Reading a documents file for documents-mode perplexity: TXT (a document a line), JSONL or CSV.

CSV, TSV, Parquet and JSONL of objects go through the data-quality reader (`lib.quality.readers`), which
already knows encodings, delimiters and malformed records; only JSONL whose lines are plain strings
(a form that reader refuses) and plain text are read here.
"""

from __future__ import annotations

import json
from pathlib import Path

from lib.errors import InputError
from lib.textfile import read_text_file

DEFAULT_COLUMN = "text"
TEXT_SUFFIXES = {".txt", ".text", ".md", ""}


def read_documents(path: str | Path, text_column: str | None = None) -> list[str]:
    """The documents in a file, in file order, blank ones left out; an unusable file is one InputError."""
    path = Path(path)
    suffix = path.suffix.lower()
    if suffix in TEXT_SUFFIXES:
        if text_column is not None:
            raise InputError(f"{path.name} is plain text with one document a line; it has no columns to choose.")
        documents = [line for line in read_text_file(path).splitlines() if line.strip()]
    elif suffix in (".jsonl", ".ndjson") and _first_record_is_a_string(path):
        documents = _string_lines(path)
    else:
        documents = _from_dataset(path, text_column)
    if not documents:
        raise InputError(f"{path.name} has no documents in it (every line or value is blank); choose another file.")
    return documents


def _first_record_is_a_string(path: Path) -> bool:
    for line in read_text_file(path).splitlines():
        if line.strip():
            try:
                return isinstance(json.loads(line), str)
            except ValueError:
                return False
    return False


def _string_lines(path: Path) -> list[str]:
    """JSONL whose records are strings: each string is a document."""
    documents = []
    for number, line in enumerate(read_text_file(path).splitlines(), start=1):
        if not line.strip():
            continue
        try:
            value = json.loads(line)
        except ValueError as error:
            raise InputError(f"Line {number} of {path.name} is not JSON ({error.msg}); fix or remove it.") from error
        if not isinstance(value, str):
            raise InputError(f"Line {number} of {path.name} is not a string like the lines before it; fix it.")
        if value.strip():
            documents.append(value)
    return documents


def _from_dataset(path: Path, text_column: str | None) -> list[str]:
    from lib.quality.readers import read_dataset

    # The column rule is ours, not the reader's guess: `text` unless another is named.
    dataset = read_dataset(path, text_column=text_column or DEFAULT_COLUMN)
    values = dataset.frame[dataset.text_column].tolist()
    return [value for value in values if isinstance(value, str) and value.strip()]
