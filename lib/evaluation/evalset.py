"""Reading an eval set (JSONL, CSV, or anything `read_dataset` reads): prompts with their reference answers.

Columns are found by name, the first present of each list winning:
- prompt: `prompt`, `question`, `input`, `instruction`;
- references: `references` (a list), `reference`, `answer`, `answers` (a list, or SQuAD's
  `{"text": [...], "answer_start": [...]}`), `target`, `output`; a row's first non-empty one is used,
  and an `aliases` list adds the other answers that also count;
- optional `context` (placed before the question in the prompt) and `id` (else `row-N`, N the file's line
  or record number).
"""

from __future__ import annotations

import json
import math
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

import numpy as np

from lib.errors import InputError

PROMPT_COLUMNS = ("prompt", "question", "input", "instruction")
REFERENCE_COLUMNS = ("references", "reference", "answer", "answers", "target", "output")
ALIAS_COLUMN = "aliases"
CONTEXT_COLUMN = "context"
ID_COLUMN = "id"
_SEQUENCE = (list, tuple, np.ndarray)  # a JSON list arrives as a list from json, an ndarray from pyarrow


@dataclass(frozen=True)
class EvalItem:
    """One question of an eval set and every answer that counts as right."""

    item_id: str
    prompt: str
    references: list[str]
    context: str | None = None

    def to_dict(self) -> dict:
        return asdict(self)


@dataclass(frozen=True)
class EvalSet:
    """An eval set as read: its items, the file's name and SHA-256 (how runs on the same set are matched)."""

    items: list[EvalItem]
    name: str
    sha256: str
    format: str
    prompt_column: str
    reference_columns: list[str]
    warnings: list[str] = field(default_factory=list)  # what the reader left out or guessed

    def __len__(self) -> int:
        return len(self.items)


def read_eval_set(source: Path | str | bytes, name: str | None = None) -> EvalSet:
    """Read a path (or an upload's bytes) into an EvalSet; an unusable file raises one-sentence InputError."""
    from lib.quality.readers import read_dataset  # pandas: imported when a set is read, not with this module

    # read_dataset's own sentences cover a missing, unreadable, empty or binary file; a file with no text
    # column at all gets its "no text column (columns found: ...)" sentence.
    dataset = read_dataset(source, name=name)
    frame, shown = dataset.frame, dataset.name
    columns = [str(column) for column in frame.columns]
    prompt_column = next((c for c in PROMPT_COLUMNS if c in columns), None)
    if prompt_column is None:
        raise InputError(
            f"{shown} has no prompt column (columns found: {', '.join(columns)}); "
            f"rename one to {', '.join(PROMPT_COLUMNS[:-1])} or {PROMPT_COLUMNS[-1]}."
        )
    reference_columns = [c for c in REFERENCE_COLUMNS if c in columns]
    if not reference_columns:
        raise InputError(
            f"{shown} has no reference column (columns found: {', '.join(columns)}); "
            f"add one named {', '.join(REFERENCE_COLUMNS[:-1])} or {REFERENCE_COLUMNS[-1]}."
        )
    records = frame.to_dict("records")
    items, seen_ids = [], set()
    for position, record in enumerate(records):
        row = dataset.row_numbers[position]
        where = f"{'line' if dataset.format in ('jsonl', 'text') else 'row'} {row}"
        prompt = _text(record.get(prompt_column))
        if not prompt.strip():
            raise InputError(f"{shown} has an empty {prompt_column} at {where}; fill it in or remove the row.")
        references = next((refs for c in reference_columns if (refs := _answers(record.get(c)))), [])
        if not references:
            raise InputError(
                f"{shown} has no reference answer at {where} (looked in {', '.join(reference_columns)}); "
                "add one or remove the row."
            )
        for alias in _answers(record.get(ALIAS_COLUMN)):
            if alias not in references:
                references.append(alias)
        context = _text(record.get(CONTEXT_COLUMN)).strip() or None
        item_id = _text(record.get(ID_COLUMN)).strip() or f"row-{row}"
        if item_id in seen_ids:  # ids key the comparison of two runs, so they must tell items apart
            item_id = f"{item_id}#{row}"
        seen_ids.add(item_id)
        items.append(EvalItem(item_id, prompt, references, context))
    warnings = [f"{len(dataset.skipped):,} malformed records were left out"] if dataset.skipped else []
    return EvalSet(items, shown, dataset.sha256, dataset.format, prompt_column, reference_columns, warnings)


def _missing(value: Any) -> bool:
    return value is None or (isinstance(value, float) and math.isnan(value)) or value.__class__.__name__ == "NAType"


def _text(value: Any) -> str:
    """A cell as text: numbers the way they were written (a CSV's `7` may arrive as 7.0), missing as ""."""
    if _missing(value):
        return ""
    if isinstance(value, float | np.floating) and float(value).is_integer():
        return str(int(value))
    if isinstance(value, np.integer):
        return str(int(value))
    return value if isinstance(value, str) else str(value)


def _answers(value: Any) -> list[str]:
    """The non-empty answers in a cell: a string, a number, a list of them, or SQuAD's {"text": [...]}.

    A CSV cannot hold a list, so a cell that is a JSON list (`["Paris", "Paris, France"]`) is read as one.
    """
    if isinstance(value, str) and value.lstrip().startswith("["):
        try:
            parsed = json.loads(value)
        except ValueError:
            parsed = None
        value = parsed if isinstance(parsed, list) else value
    if isinstance(value, dict):
        value = value.get("text")
    if isinstance(value, _SEQUENCE):
        values = list(value)
    elif _missing(value):
        values = []
    else:
        values = [value]
    answers: list[str] = []
    for entry in values:
        if isinstance(entry, dict | list | tuple | np.ndarray):
            continue
        text = _text(entry).strip()
        if text and text not in answers:
            answers.append(text)
    return answers
