"""Prompts for a load test: read from a file (text, JSONL, CSV) or made up at a given length."""

from __future__ import annotations

import csv
import io
import json
from pathlib import Path
from typing import Any

import numpy as np

from lib.errors import InputError
from lib.quality.readers import content_text
from lib.textfile import read_text_file

PROMPT_COLUMNS = ("prompt", "question", "text", "input")
# Short, common English words: about one token each for the usual BPE tokenizers.
_WORD_TEXT = (
    "the of and to in is it that was for on are with as be at by this have from or had not but what all were when we "
    "there can an your which their said if do will each about how up out them then she many some so these would "
    "other into has more her two like him see time could no make than first been its who now people my made over did "
    "down only way find use may water long little very after words called just where most know get through back "
    "much before go good new write our used me man too any day same right look think also around another came come "
    "work three word must because does part even place well such here take why help put different away again off "
    "went old number great tell men say small every found still between name should home big give air line set own "
    "under read last never us left end along while might next sound below saw something thought both few those always "
    "show large often together asked house world going want school important until form food keep children feet land "
    "side without boy once animal life enough took four head above kind began almost live page got earth need far hand "
    "high year mother light country father let night picture being study second soon story since white ever paper hard "
    "near sentence better best across during today however sure knew try told young sun thing whole hear example heard "
    "several change answer room sea against top turned learn point city play toward five himself usually money seen"
)
WORDS = tuple(_WORD_TEXT.split())


def load_prompts(path: Path | str) -> list[str]:
    """Prompts from a file: text (one a line), JSONL/JSON or CSV/TSV with a prompt column or OpenAI `messages`."""
    path = Path(path).expanduser()
    text = read_text_file(path)  # refuses a missing, empty, binary or non-UTF-8 file with its sentence
    suffix = path.suffix.lower()
    if suffix in (".jsonl", ".json", ".ndjson"):
        prompts = _from_records(_json_records(text, path), path)
    elif suffix in (".csv", ".tsv"):
        reader = csv.DictReader(io.StringIO(text), delimiter="\t" if suffix == ".tsv" else ",")
        prompts = _from_records(list(reader), path)
    else:
        prompts = [line.strip() for line in text.splitlines()]
    prompts = [prompt for prompt in prompts if prompt and prompt.strip()]
    if not prompts:
        raise InputError(f"{path} holds no prompts (every one is blank); choose a file with some.")
    return prompts


def _json_records(text: str, path: Path) -> list[Any]:
    """The records of a JSONL file, or of a .json file holding one array."""
    stripped = text.strip()
    if stripped.startswith("["):
        try:
            records = json.loads(stripped)
        except ValueError as error:
            raise InputError(f"{path} is not valid JSON ({error.msg} at line {error.lineno}); fix it.") from error
        return records if isinstance(records, list) else [records]
    records = []
    for number, line in enumerate(text.splitlines(), start=1):
        if not line.strip():
            continue
        try:
            records.append(json.loads(line))
        except ValueError as error:
            raise InputError(
                f"Line {number} of {path} is not JSON ({error.msg}); fix it, or save the prompts one a line as .txt."
            ) from error
    return records


def _from_records(records: list[Any], path: Path) -> list[str]:
    """Each record's prompt: a string record itself, else the first prompt column, else the last user message."""
    prompts: list[str] = []
    for record in records:
        if isinstance(record, str):
            prompts.append(record)
            continue
        if not isinstance(record, dict):
            raise InputError(f"{path} holds {type(record).__name__} records, not objects with a prompt; fix it.")
        prompt = _prompt_of(record)
        if prompt is None:
            found = ", ".join(str(key) for key in list(record)[:10]) or "none"
            raise InputError(
                f"{path} has no prompt column (found: {found}); name one {', '.join(PROMPT_COLUMNS)} or messages."
            )
        prompts.append(prompt)
    return prompts


def _prompt_of(record: dict) -> str | None:
    lowered = {str(key).strip().lower(): value for key, value in record.items()}
    for column in PROMPT_COLUMNS:
        if column in lowered:
            value = lowered[column]
            return value if isinstance(value, str) else "" if value is None else json.dumps(value)
    messages = lowered.get("messages")
    if isinstance(messages, list):
        users = [m for m in messages if isinstance(m, dict) and m.get("role", "user") == "user"]
        return content_text(users[-1].get("content")) if users else ""
    return None


def synthetic_prompts(count: int, input_tokens: int, tokenizer: Any = None, seed: int = 0) -> list[str]:
    """`count` different made-up prompts of about `input_tokens` tokens each (exact-ish with a tokenizer)."""
    if count < 1:
        return []
    size = max(1, int(input_tokens))
    rng = np.random.default_rng(seed)
    vocabulary = np.array(WORDS, dtype=object)
    # Words drawn at random from the first one on: no shared prefix, so a prefix cache cannot make them trivial.
    words_per_prompt = size if tokenizer is None else size + size // 2 + 8
    draws = rng.integers(0, len(WORDS), size=(count, words_per_prompt))
    texts = [" ".join(vocabulary[row]) for row in draws]
    if tokenizer is None:
        return texts
    prompts = []
    for text in texts:
        ids = tokenizer.encode(text, add_special_tokens=False)[:size]
        prompts.append(tokenizer.decode(ids))
    return prompts
