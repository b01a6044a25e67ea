"""The cleaning pipeline: chosen steps applied to a dataset's text, rows dropped with reasons, counts per step.

`clean(dataset, options, threshold)` transforms the text first and decides drops afterwards, on the transformed
text. The order matters: two rows that differed only by an email address become exact duplicates once both
say "[EMAIL]", and an HTML row that was only tags becomes empty once they are stripped, so deciding first
would export duplicates and empty rows the re-profile then finds.

Transforms, in this order (each one counts the rows it changed):
1. normalize_unicode: NFC (or NFKC, which also folds "ﬁ", full-width letters and "²", so it is not the default);
   C0/C1 control characters other than tab, line feed and carriage return removed (vertical tab and form
   feed become line breaks), stray byte-order marks inside the text removed.
2. strip_html: `lib.quality.markup.strip_html` (tags removed, block elements become line breaks, entities decoded).
3. collapse_whitespace: line breaks unified to "\\n" and kept (lists, code and dialogue need them); runs of
   spaces and tabs inside a line become one space; spaces at line ends go; at most one blank line in a row; the
   text trimmed. A line's leading indentation is kept, so code stays code.
4. redact_pii: each validated match of the chosen types becomes its placeholder ("[EMAIL]", "[PHONE]"...).
   By default the other text columns are redacted too (`redact_other_columns`): the demo CSV profiles
   `assistant_reply` but its emails and phone numbers are in `user_message`, and an export that promises
   redaction must not carry them in the next column.
5. Classic NLP steps (off by default; see CLASSIC_WARNING): lowercase, tokenize, remove_stopwords, then
   lemmatize or stem. When redaction is on it runs once more after them: removing a stop word can join two
   digit groups into a phone number.

Drops, in this order; a row gets the reason of the first step that drops it:
1. empty: nothing but whitespace left. Chat conversations (flattened per conversation) are cleaned message by
   message, and a conversation with an empty message is dropped as a whole as `empty_message (role)`: a
   conversation with a silent user or assistant turn teaches the wrong thing, and cutting the message out
   would leave two turns of one side in a row. An assistant message that carries tool calls and no text is
   not empty. (Any role counts, the system prompt too, because the profile's `empty_parts` counts any.)
2. heuristics: rows failing any of the chosen heuristic rules (reason lists every chosen rule failed).
3. exact duplicates: rows equal to an earlier kept row after `normalize` (the profile's comparison).
4. near duplicates: MinHash clusters at the profile's threshold; a cluster's first row is kept and the rest
   dropped as `near_duplicate of row N`. Clusters are transitive (A~B and B~C put C with A), as datatrove's are.
Heuristics run before deduplication so a duplicate group keeps a row that passes the rules instead of losing
every member to a representative the rules then drop.

Chat data read per message (one row per message) is cleaned and exported one row per message as read: the
pipeline does not rebuild conversations from messages it may have dropped.
"""

from __future__ import annotations

import re
import time
import unicodedata
from collections.abc import Callable, Sequence
from dataclasses import asdict, dataclass, field
from typing import Any

import numpy as np
import pandas as pd

from lib.errors import InputError
from lib.quality import nlp
from lib.quality.dedup import duplicates, exact_duplicates, near_duplicates
from lib.quality.export import plain_messages
from lib.quality.heuristics import RULE_NAMES, RULES, apply_heuristics
from lib.quality.markup import find_markup, strip_html
from lib.quality.normalize import is_empty
from lib.quality.pii import PII_TYPES, PLACEHOLDERS, find_matches, find_pii, redact_all
from lib.quality.readers import CHAT_COLUMN, Dataset, content_text, flatten_messages

DEFAULT_THRESHOLD = 0.7  # the profile's default (ProfileOptions, settings' quality.near_duplicate_threshold)
UNICODE_FORMS = ("NFC", "NFKC")
WORD_FORMS = (None, "lemma", "porter")
PREVIEW_WIDTH = 400
DROPPED_PREVIEW = 200  # characters of text per dropped row
REDACT_PASSES = 3  # redaction re-checks the rows it changed, in case a replacement completed a new match

CLASSIC_WARNING = (
    "Lowercasing, tokenising, stop-word removal and lemmatising or stemming are for classic NLP features "
    "(bag-of-words, TF-IDF, topic models); leave them off for LLM training or fine-tuning data, because they "
    "destroy the text a model should learn from: its casing, punctuation, function words and word forms."
)

TRANSFORM_STEPS = (
    "normalize_unicode",
    "strip_html",
    "collapse_whitespace",
    "redact_pii",
    "lowercase",
    "tokenize",
    "remove_stopwords",
    "lemmatize",
    "porter_stem",
)
DROP_STEPS = ("empty", "empty_message", "heuristics", "exact_duplicates", "near_duplicates")
DROPPED_COLUMNS = ("row", "step", "reason", "text")


@dataclass(frozen=True)
class CleanOptions:
    """Which steps run: the LLM-safe ones on by default (HTML stripping off), the classic NLP ones off."""

    normalize_unicode: bool = True
    unicode_form: str = "NFC"
    strip_html: bool = False
    collapse_whitespace: bool = True
    redact_pii: bool = True
    pii_types: tuple[str, ...] = PII_TYPES
    redact_other_columns: bool = True  # redact PII in every other text column as well as the cleaned one
    drop_empty: bool = True
    drop_exact_duplicates: bool = True
    drop_near_duplicates: bool = True
    heuristic_rules: tuple[str, ...] = ()  # names from lib.quality.heuristics.RULE_NAMES
    # Classic NLP steps: off for LLM data (CLASSIC_WARNING says why).
    lowercase: bool = False
    tokenize: bool = False
    remove_stopwords: bool = False
    language: str = "en"  # for stop words and lemmas
    lemma_or_stem: str | None = None  # None, "lemma" (simplemma) or "porter" (NLTK's Porter stemmer)

    def __post_init__(self) -> None:
        if self.unicode_form not in UNICODE_FORMS:
            raise InputError(f"Unicode normalisation is NFC or NFKC, not '{self.unicode_form}'; choose one.")
        unknown = [kind for kind in self.pii_types if kind not in PII_TYPES]
        if unknown:
            raise InputError(f"Unknown PII type '{unknown[0]}'; choose from: {', '.join(PII_TYPES)}.")
        rules = [rule for rule in self.heuristic_rules if rule not in RULE_NAMES]
        if rules:
            raise InputError(f"Unknown heuristic rule '{rules[0]}'; choose from: {', '.join(RULE_NAMES)}.")
        if self.lemma_or_stem not in WORD_FORMS:
            raise InputError(
                f"Word forms are reduced by 'lemma' or 'porter' (or not at all), not '{self.lemma_or_stem}'; "
                "choose one."
            )
        if self.remove_stopwords:
            nlp.check_stopword_language(self.language)
        if self.lemma_or_stem == "lemma":
            nlp.check_lemma_language(self.language)
        if self.lemma_or_stem == "porter" and self.language != "en":
            raise InputError(
                f"The Porter stemmer is for English, and the language chosen is '{self.language}'; "
                "choose lemmatisation for it, or English."
            )

    @property
    def classic(self) -> bool:
        """True when any classic NLP step is on."""
        return bool(self.lowercase or self.tokenize or self.remove_stopwords or self.lemma_or_stem)

    def transforms(self) -> list[str]:
        """The transform steps that will run, in order."""
        chosen = {
            "normalize_unicode": self.normalize_unicode,
            "strip_html": self.strip_html,
            "collapse_whitespace": self.collapse_whitespace,
            "redact_pii": self.redact_pii and bool(self.pii_types),
            "lowercase": self.lowercase,
            "tokenize": self.tokenize,
            "remove_stopwords": self.remove_stopwords,
            "lemmatize": self.lemma_or_stem == "lemma",
            "porter_stem": self.lemma_or_stem == "porter",
        }
        return [step for step in TRANSFORM_STEPS if chosen[step]]

    def drops(self) -> list[str]:
        """The drop steps that will run, in order (`empty` covers `empty_message` for chat)."""
        chosen = {
            "empty": self.drop_empty,
            "heuristics": bool(self.heuristic_rules),
            "exact_duplicates": self.drop_exact_duplicates,
            "near_duplicates": self.drop_near_duplicates,
        }
        return [step for step in chosen if chosen[step]]

    def to_dict(self) -> dict:
        """The options, JSON-ready."""
        data = asdict(self)
        data["pii_types"] = list(self.pii_types)
        data["heuristic_rules"] = list(self.heuristic_rules)
        return data


@dataclass
class CleanResult:
    """The kept rows, the dropped rows with reasons, and what each step did."""

    dataset: Dataset
    options: CleanOptions
    threshold: float
    frame: pd.DataFrame  # the kept rows (index 0..k-1), every input column, the text column transformed
    row_numbers: list[int]  # per kept row: its file line or record number
    dropped: pd.DataFrame  # row (file row number), step, reason, text (the cleaned text's start), by row
    counts: dict[str, dict[str, int]]  # step -> {"changed": rows} for transforms, {"dropped": rows} for drops
    steps: list[str]  # the steps that ran, in order
    before: list[str | None]  # per input row, the text column as read (chat: the flattened conversation)
    after: list[str | None]  # per input row, the text as cleaned
    changed_by: dict[int, list[str]]  # input row -> the transform steps that changed it
    drop_reasons: dict[int, str]  # input row -> why it was dropped
    redacted_columns: dict[str, int] = field(default_factory=dict)  # other column -> values redacted
    warnings: list[str] = field(default_factory=list)
    seconds: float = 0.0

    @property
    def kept(self) -> int:
        """How many rows are kept."""
        return len(self.frame)

    def preview(self, limit: int = 20, width: int = PREVIEW_WIDTH) -> list[dict]:
        """Before/after pairs of the first `limit` changed rows, each cut to `width` around its first change."""
        out = []
        for row in sorted(self.changed_by)[:limit]:
            before, after = self.before[row] or "", self.after[row] or ""
            start = _first_difference(before, after)
            out.append(
                {
                    "row": self.dataset.row_numbers[row],
                    "steps": self.changed_by[row],
                    "before": _window(before, start, width),
                    "after": _window(after, start, width),
                    "dropped": self.drop_reasons.get(row),
                }
            )
        return out

    def to_dict(self) -> dict:
        """The `--json` shape: counts per step, rows kept and dropped, the steps applied and the options."""
        by_step = self.dropped["step"].value_counts() if len(self.dropped) else pd.Series(dtype="int64")
        return {
            "dataset": self.dataset.name,
            "format": self.dataset.format,
            "text_column": self.dataset.text_column,
            "chat": self.dataset.chat,
            "rows": len(self.before),
            "kept": self.kept,
            "dropped": len(self.dropped),
            "dropped_by_step": {str(step): int(count) for step, count in by_step.items()},
            "changed": len(self.changed_by),
            "counts": self.counts,
            "steps": self.steps,
            "redacted_columns": self.redacted_columns,
            "options": self.options.to_dict(),
            "near_duplicate_threshold": self.threshold,
            "warnings": self.warnings,
            "seconds": round(self.seconds, 3),
        }


# ---------------------------------------------------------------------------------------------------------------
# Entry point
# ---------------------------------------------------------------------------------------------------------------


def clean(
    dataset: Dataset,
    options: CleanOptions | None = None,
    threshold: float = DEFAULT_THRESHOLD,
    progress: Callable[[int, int, str], None] | None = None,
) -> CleanResult:
    """Clean the dataset's text column with the chosen steps; `progress(done, total, step)` after each step."""
    options = options or CleanOptions()
    if not 0.0 < threshold <= 1.0:
        raise InputError(f"The near-duplicate threshold must be above 0 and at most 1, not {threshold:g}; choose one.")
    started = time.perf_counter()
    transforms, drops = options.transforms(), options.drops()
    total = len(transforms) + len(drops) + 1
    report = progress or (lambda *_: None)
    chat = dataset.chat == "conversation" and CHAT_COLUMN in dataset.frame.columns
    units = _ChatUnits(dataset.frame[CHAT_COLUMN].tolist()) if chat else _RowUnits(_column_texts(dataset))
    before = units.texts()
    counts: dict[str, dict[str, int]] = {}
    changed_by: dict[int, list[str]] = {}

    done = 0
    for step in transforms:
        report(done, total, step)
        rows = units.apply(_transform(step, options))
        counts[step] = {"changed": len(rows)}
        for row in rows:
            changed_by.setdefault(row, []).append(step)
        done += 1
    if "redact_pii" in transforms and options.classic:
        again = units.apply(_transform("redact_pii", options))  # stop-word removal can join digits into a phone
        for row in again:
            if "redact_pii" not in changed_by.setdefault(row, []):
                changed_by[row].append("redact_pii")
                counts["redact_pii"]["changed"] += 1
    after = units.texts()
    changed_by = {row: steps for row, steps in changed_by.items() if after[row] != before[row]}

    reasons: dict[int, tuple[str, str]] = {}  # row -> (step, reason)
    if "empty" in drops:
        report(done, total, "empty")
        for row, text in enumerate(after):
            if is_empty(text):
                reasons[row] = ("empty", "empty")
        if chat:
            for row, role in units.empty_messages().items():
                reasons.setdefault(row, ("empty_message", f"empty_message ({role or 'no role'})"))
        done += 1
    if "heuristics" in drops:
        report(done, total, "heuristics")
        _drop_heuristics(after, reasons, options.heuristic_rules)
        done += 1
    dedup = [step for step in drops if step in ("exact_duplicates", "near_duplicates")]
    if dedup:
        report(done, total, "duplicates")
        _drop_duplicates(after, reasons, dedup, threshold, dataset.row_numbers)
        done += len(dedup)
    dropped_by = pd.Series([step for step, _reason in reasons.values()], dtype="str").value_counts()
    for step in drops:
        counts[step] = {"dropped": int(dropped_by.get(step, 0))}
        if step == "empty" and chat:
            counts["empty_message"] = {"dropped": int(dropped_by.get("empty_message", 0))}

    report(done, total, "frame")
    keep = np.ones(len(after), dtype=bool)
    keep[list(reasons)] = False
    kept_rows = np.flatnonzero(keep)
    frame = units.frame(dataset, after).iloc[kept_rows].reset_index(drop=True)
    redacted: dict[str, int] = {}
    if "redact_pii" in transforms and options.redact_other_columns:
        redacted = _redact_other_columns(frame, dataset, chat, options.pii_types)  # the kept rows only
    dropped = _dropped_frame(reasons, after, dataset.row_numbers)
    result = CleanResult(
        dataset=dataset,
        options=options,
        threshold=threshold,
        frame=frame,
        row_numbers=[dataset.row_numbers[row] for row in kept_rows],
        dropped=dropped,
        counts=counts,
        steps=transforms + drops,
        before=before,
        after=after,
        changed_by=changed_by,
        drop_reasons={row: reason for row, (_step, reason) in reasons.items()},
        redacted_columns=redacted,
        warnings=_warnings(dataset, options),
    )
    result.seconds = time.perf_counter() - started
    report(total, total, "done")
    return result


def _column_texts(dataset: Dataset) -> list[str | None]:
    column = dataset.frame[dataset.text_column]
    return [value if isinstance(value, str) else None for value in column.tolist()]


def _warnings(dataset: Dataset, options: CleanOptions) -> list[str]:
    notes = []
    if dataset.chat == "message":
        notes.append(
            "chat data read per message is cleaned and exported one row per message as read (columns "
            "conversation, role, text), not as conversations; a repeated system prompt counts as a duplicate"
        )
    if options.classic:
        notes.append(CLASSIC_WARNING.rstrip("."))
    return notes


# ---------------------------------------------------------------------------------------------------------------
# The texts being cleaned: one per row, or one per chat message
# ---------------------------------------------------------------------------------------------------------------


class _RowUnits:
    """One text per row: the dataset's text column."""

    def __init__(self, texts: list[str | None]) -> None:
        self.values = texts

    def texts(self) -> list[str | None]:
        return list(self.values)

    def apply(self, step: Callable[[list[str | None]], list[str | None]]) -> list[int]:
        """Run a step over every text; the rows it changed."""
        new = step(self.values)
        changed = [row for row, (old, value) in enumerate(zip(self.values, new, strict=True)) if old != value]
        self.values = new
        return changed

    def frame(self, dataset: Dataset, after: list[str | None]) -> pd.DataFrame:
        frame = dataset.frame.copy(deep=False)  # copy-on-write: the dataset's own frame is never changed
        frame[dataset.text_column] = pd.array(after, dtype="str")
        return frame


class _ChatUnits:
    """One text per chat message (or per text part of a message), so messages are cleaned one by one."""

    def __init__(self, conversations: list[Any]) -> None:
        # Plain lists of dicts (Arrow hands back numpy arrays of dicts, with None for keys a record lacks).
        self.conversations = [plain_messages(value) for value in conversations]
        self.address: list[tuple[int, int, int]] = []  # (row, message, part or -1 for the content itself)
        self.values: list[str | None] = []
        for row, messages in enumerate(self.conversations):
            if messages is None:
                continue
            for index, message in enumerate(messages):
                if isinstance(message, str):
                    self.address.append((row, index, -2))  # a bare string message
                    self.values.append(message)
                    continue
                if not isinstance(message, dict):
                    continue  # not a message the reader takes text from either
                content = message.get("content")
                if isinstance(content, str):
                    self.address.append((row, index, -1))
                    self.values.append(content)
                elif isinstance(content, list):
                    for part_index, part in enumerate(content):
                        if isinstance(part, dict) and isinstance(part.get("text"), str):
                            self.address.append((row, index, part_index))
                            self.values.append(part["text"])

    def apply(self, step: Callable[[list[str | None]], list[str | None]]) -> list[int]:
        """Run a step over every message text; the conversations it changed."""
        new = step(self.values)
        rows = set()
        for (row, index, part), old, value in zip(self.address, self.values, new, strict=True):
            if old == value:
                continue
            rows.add(row)
            messages = self.conversations[row]
            assert messages is not None  # an address is only made for a conversation's messages
            if part == -2:
                messages[index] = value
            elif part == -1:
                messages[index]["content"] = value
            else:
                messages[index]["content"][part]["text"] = value
        self.values = new
        return sorted(rows)

    def texts(self) -> list[str | None]:
        """Each conversation as the reader flattens it: "role: content" lines."""
        return [flatten_messages(messages) for messages in self.conversations]

    def empty_messages(self) -> dict[int, str]:
        """Row -> the role of its first message with no text (tool-call turns without text are not empty)."""
        found: dict[int, str] = {}
        for row, messages in enumerate(self.conversations):
            for message in messages or []:
                if isinstance(message, str):
                    role, text, tools = "", message, False
                else:
                    role = message.get("role") if isinstance(message.get("role"), str) else ""
                    text = content_text(message.get("content"))
                    tools = bool(message.get("tool_calls") or message.get("function_call"))
                if is_empty(text) and not tools:
                    found[row] = role
                    break
        return found

    def frame(self, dataset: Dataset, after: list[str | None]) -> pd.DataFrame:
        frame = dataset.frame.copy(deep=False)
        messages = np.empty(len(self.conversations), dtype=object)  # filled one by one: no 2-D guessing
        for row, value in enumerate(self.conversations):
            messages[row] = value
        frame[CHAT_COLUMN] = messages
        frame[dataset.text_column] = pd.array(after, dtype="str")
        return frame


# ---------------------------------------------------------------------------------------------------------------
# Transforms: each maps the list of texts to a new list (None stays None)
# ---------------------------------------------------------------------------------------------------------------

_CONTROL = re.compile(r"[\x00-\x08\x0e-\x1f\x7f-\x9f\ufeff]")  # C0/C1 controls (not \t \n \r), stray BOMs
_VERTICAL = re.compile(r"\r\n?|[\x0b\x0c\x85\u2028\u2029]")  # line ends and separators -> "\n"
# Whitespace after a non-space (so inside a line: indentation stays) that is not already one plain space. Single
# spaces are not matched at all: replacing every space by itself made this step ten times slower.
_INNER = re.compile(r"(?<=\S)(?:[^\S\n]{2,}|[^\S \n])")
_TRAILING = re.compile(r"[^\S\n]+\n")
# Whitespace other than " " and "\n" (every character str.isspace accepts): a fast test of whether the slower
# patterns above need to run at all.
_ODD_SPACE = re.compile(r"[\t\x0b-\x0d\x1c-\x1f\x85\xa0\u1680\u2000-\u200a\u2028\u2029\u202f\u205f\u3000]")
_BLANK_LINES = re.compile(r"\n{3,}")


def normalize_unicode(text: str, form: str = "NFC") -> str:
    """The text in Unicode `form`, without control characters (tab and line breaks kept) or stray BOMs."""
    out = unicodedata.normalize(form, text)
    if "\x0b" in out or "\x0c" in out:
        out = out.replace("\x0b", "\n").replace("\x0c", "\n")  # vertical tab, form feed: they break lines
    return _CONTROL.sub("", out)


def collapse_whitespace(text: str) -> str:
    """Runs of spaces inside a line as one space, no trailing spaces, at most one blank line, trimmed."""
    out = text
    if _ODD_SPACE.search(out):
        out = _TRAILING.sub("\n", _INNER.sub(" ", _VERTICAL.sub("\n", out)))
    else:  # only " " and "\n": plain substring tests decide what is needed
        if "  " in out:
            out = _INNER.sub(" ", out)
        if " \n" in out:
            out = _TRAILING.sub("\n", out)
    if "\n\n\n" in out:
        out = _BLANK_LINES.sub("\n\n", out)
    return out.strip()


def _each(function: Callable[[str], str]) -> Callable[[list[str | None]], list[str | None]]:
    def step(texts: list[str | None]) -> list[str | None]:
        return [None if text is None else function(text) for text in texts]

    return step


def _strip_html_all(texts: list[str | None]) -> list[str | None]:
    out = list(texts)
    for row in find_markup(texts).html:  # vectorised prefilter: only rows with markup are parsed
        out[row] = strip_html(out[row])  # type: ignore[arg-type]
    return out


def redact_texts(texts: Sequence[str | None], kinds: Sequence[str] = PII_TYPES) -> list[str | None]:
    """Every text with each validated match of `kinds` replaced by its placeholder, re-checked until stable."""
    out = _redact_once(list(texts), kinds)
    changed = [row for row, (old, new) in enumerate(zip(texts, out, strict=True)) if old != new]
    for _ in range(REDACT_PASSES - 1):  # a replacement can, rarely, complete a match across its ends
        if not changed:
            break
        again = _redact_once([out[row] for row in changed], kinds)
        changed = [row for row, new in zip(changed, again, strict=True) if new != out[row] and _set(out, row, new)]
    return out


def _set(values: list, row: int, value: Any) -> bool:
    values[row] = value
    return True


def _redact_once(texts: list[str | None], kinds: Sequence[str]) -> list[str | None]:
    if set(kinds) >= set(PII_TYPES):
        return redact_all(texts)
    out = list(texts)
    found = find_pii(texts)  # vectorised: the rows holding each type
    rows = sorted({row for kind in kinds for row in found.rows[kind]})
    for row in rows:
        text = out[row]
        parts, position = [], 0
        for match in find_matches(text, kinds):  # type: ignore[arg-type]
            parts += [text[position : match.start], PLACEHOLDERS[match.kind]]  # type: ignore[index]
            position = match.end
        out[row] = "".join(parts) + text[position:]  # type: ignore[index]
    return out


def _transform(step: str, options: CleanOptions) -> Callable[[list[str | None]], list[str | None]]:
    language = options.language
    steps: dict[str, Callable[[list[str | None]], list[str | None]]] = {
        "normalize_unicode": _each(lambda text: normalize_unicode(text, options.unicode_form)),
        "strip_html": _strip_html_all,
        "collapse_whitespace": _each(collapse_whitespace),
        "redact_pii": lambda texts: redact_texts(texts, options.pii_types),
        "lowercase": _each(nlp.lowercase),
        "tokenize": _each(nlp.tokenize),
        "remove_stopwords": _each(lambda text: nlp.remove_stopwords(text, language)),
        "lemmatize": _each(lambda text: nlp.lemmatize(text, language)),
        "porter_stem": _each(nlp.porter_stem),
    }
    return steps[step]


def _redact_other_columns(frame: pd.DataFrame, dataset: Dataset, chat: bool, kinds: Sequence[str]) -> dict[str, int]:
    """Redact PII in every other column holding text (nested JSON values too); values changed per column."""
    skip = {dataset.text_column, CHAT_COLUMN} if chat else {dataset.text_column}
    redacted = {}
    for column in frame.columns:
        if column in skip:
            continue
        series = frame[column]
        if isinstance(series.dtype, pd.CategoricalDtype):  # Parquet written from a pandas category
            series = series.astype(object)
        if pd.api.types.is_string_dtype(series.dtype) and series.dtype != object:
            values = [value if isinstance(value, str) else None for value in series.tolist()]
            new = redact_texts(values, kinds)
            count = sum(1 for old, value in zip(values, new, strict=True) if old != value)
            if count:
                frame[column] = pd.array([np.nan if v is None else v for v in new], dtype=series.dtype)
        elif series.dtype == object:
            count, new_values = _redact_nested(series.tolist(), kinds)
            if count:
                column_values = np.empty(len(new_values), dtype=object)
                for row, value in enumerate(new_values):
                    column_values[row] = value
                frame[column] = column_values
        else:
            continue
        if count:
            redacted[str(column)] = count
    return redacted


def _redact_nested(values: list[Any], kinds: Sequence[str]) -> tuple[int, list[Any]]:
    """Redact the strings in a column of strings, lists and dicts (JSON values); how many values changed."""
    strings: list[str | None] = []

    def collect(value: Any) -> None:
        if isinstance(value, str):
            strings.append(value)
        elif isinstance(value, dict):
            for item in value.values():
                collect(item)
        elif isinstance(value, list | tuple | np.ndarray):
            for item in value:
                collect(item)

    for value in values:
        collect(value)
    if not strings:
        return 0, values
    redacted = iter(redact_texts(strings, kinds))

    def rebuild(value: Any) -> Any:
        if isinstance(value, str):
            return next(redacted)
        if isinstance(value, dict):
            return {key: rebuild(item) for key, item in value.items()}
        if isinstance(value, list | tuple | np.ndarray):
            return [rebuild(item) for item in value]
        return value

    out, changed = [], 0
    for value in values:
        new = rebuild(value)
        if _differs(value, new):  # an unchanged value is kept as it was (a numpy array stays one)
            out.append(new)
            changed += 1
        else:
            out.append(value)
    return changed, out


def _differs(old: Any, new: Any) -> bool:
    if isinstance(old, str) or isinstance(new, str):
        return old != new
    if isinstance(old, dict) and isinstance(new, dict):
        return old.keys() != new.keys() or any(_differs(old[key], new[key]) for key in old)
    if isinstance(old, list | tuple | np.ndarray) and isinstance(new, list):
        return len(old) != len(new) or any(_differs(a, b) for a, b in zip(old, new, strict=True))
    return False


# ---------------------------------------------------------------------------------------------------------------
# Drops
# ---------------------------------------------------------------------------------------------------------------


def _drop_heuristics(texts: list[str | None], reasons: dict[int, tuple[str, str]], rules: Sequence[str]) -> None:
    families = {rule.family for rule in RULES if rule.name in rules}
    judged = [None if row in reasons else text for row, text in enumerate(texts)]
    findings = apply_heuristics(judged, families)
    failed: dict[int, list[str]] = {}
    for rule in RULE_NAMES:  # in RULES order, so a row's reason reads the same way every time
        if rule in rules:
            for row in findings.failed.get(rule, []):
                failed.setdefault(row, []).append(rule)
    for row, names in failed.items():
        reasons.setdefault(row, ("heuristics", "heuristic: " + ", ".join(names)))


def _drop_duplicates(
    texts: list[str | None],
    reasons: dict[int, tuple[str, str]],
    steps: list[str],
    threshold: float,
    row_numbers: list[int],
) -> None:
    """Exact duplicates of an earlier kept row, then near-duplicate cluster members after the first."""
    candidates = [None if row in reasons else text for row, text in enumerate(texts)]  # dropped rows never lead
    exact = near = None
    if len(steps) == 2:
        exact, near = duplicates(candidates, threshold)  # one normalising pass for both
    elif steps == ["exact_duplicates"]:
        exact = exact_duplicates(candidates)
    else:
        near = near_duplicates(candidates, threshold)
    if exact is not None:
        for row in np.flatnonzero(exact.first_of >= 0).tolist():
            first = int(exact.first_of[row])
            reasons.setdefault(row, ("exact_duplicates", f"exact_duplicate of row {row_numbers[first]}"))
    if near is not None:
        for cluster in near.clusters:
            first = cluster[0]  # the lowest row: never an exact duplicate, which would have an earlier twin
            for row in cluster[1:]:
                reasons.setdefault(row, ("near_duplicates", f"near_duplicate of row {row_numbers[first]}"))


def _dropped_frame(
    reasons: dict[int, tuple[str, str]], texts: list[str | None], row_numbers: list[int]
) -> pd.DataFrame:
    """One row per dropped row, by file row: the text is the cleaned one, so no redacted PII comes back here."""
    rows = sorted(reasons)
    return pd.DataFrame(
        {
            "row": pd.array([row_numbers[row] for row in rows], dtype="int64"),
            "step": pd.array([reasons[row][0] for row in rows], dtype="str"),
            "reason": pd.array([reasons[row][1] for row in rows], dtype="str"),
            "text": pd.array([_cut(texts[row] or "", DROPPED_PREVIEW) for row in rows], dtype="str"),
        },
        columns=list(DROPPED_COLUMNS),
    )


def _cut(text: str, width: int) -> str:
    return text[:width] + ("…" if len(text) > width else "")


def _first_difference(before: str, after: str) -> int:
    """Where two texts first differ (the shorter one's length when one starts the other)."""
    return next(
        (i for i, (a, b) in enumerate(zip(before, after, strict=False)) if a != b), min(len(before), len(after))
    )


def _window(text: str, start: int, width: int) -> str:
    """`width` characters of the text from a little before `start`, with "…" where it was cut."""
    begin = max(0, min(start - width // 4, len(text) - width))
    piece = text[begin : begin + width]
    return ("…" if begin > 0 else "") + piece + ("…" if begin + width < len(text) else "")


__all__ = ["CLASSIC_WARNING", "CleanOptions", "CleanResult", "clean"]
