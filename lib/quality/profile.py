"""Profile a dataset's text: every check of the data quality page, as one result the page, CLI and report share.

Checks run over every row, except language and token counts, which run on a uniform sample of
`quality.sample_rows` rows on larger datasets (py3langid costs about 40 microseconds a row here;
the sample is stated in the result). Each check keeps the rows it found, so the page can list them.
"""

from __future__ import annotations

import random
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

import numpy as np
import pyarrow as pa

from lib.quality.dedup import ExactDuplicates, NearDuplicates, duplicates
from lib.quality.heuristics import HeuristicFindings, apply_heuristics
from lib.quality.language import UNKNOWN, detect_languages, language_mix
from lib.quality.lengths import LengthStats, char_and_word_lengths, robust_outliers, summarize, token_lengths
from lib.quality.markup import MarkupFindings, find_markup
from lib.quality.normalize import is_empty
from lib.quality.pii import PII_TYPES, PiiFindings, find_pii
from lib.quality.readers import Dataset

EXAMPLES = 5  # rows shown per finding
ROW_LIST_LIMIT = 1_000  # row numbers kept per finding in the JSON (all of them stay in the result object)
SAMPLE_SEED = 0


@dataclass
class ProfileOptions:
    """What to run: thresholds, heuristic families, the sample size and the tokenizer for token counts."""

    near_duplicate_threshold: float = 0.7  # settings' default: datatrove's 14x8 bands centre near 0.72
    heuristic_families: tuple[str, ...] = ("gopher_quality", "gopher_repetition", "c4", "fineweb")
    sample_rows: int = 100_000
    tokenizer: Any = None  # a transformers tokenizer, or None to skip token counts
    tokenizer_name: str | None = None


@dataclass
class Sample:
    """Which rows language and token counts were measured on."""

    rows: list[int]
    of: int

    @property
    def complete(self) -> bool:
        return len(self.rows) == self.of

    def to_dict(self) -> dict:
        method = "every row" if self.complete else f"a uniform random sample (seed {SAMPLE_SEED})"
        return {"rows": len(self.rows), "of": self.of, "method": method}


@dataclass
class ProfileResult:
    """Everything found in one dataset."""

    dataset: Dataset
    texts: list[str | None]
    empty: list[int]
    empty_parts: list[int]  # chat conversations (or records) with an empty message or field
    exact: ExactDuplicates
    near: NearDuplicates
    pii: PiiFindings
    markup: MarkupFindings
    heuristics: HeuristicFindings
    lengths: dict[str, LengthStats]
    length_outliers: list[int]
    numeric_outliers: dict[str, list[int]]
    languages: dict[str, int]
    row_languages: dict[int, str]  # sampled row -> language
    sample: Sample
    seconds: float
    char_lengths: np.ndarray = field(default_factory=lambda: np.zeros(0, dtype=np.int64))  # per row, 0 when empty
    word_lengths: np.ndarray = field(default_factory=lambda: np.zeros(0, dtype=np.int64))
    token_lengths: dict[int, int] = field(default_factory=dict)  # sampled row -> tokens (empty: no tokenizer)
    rules: list[dict] = field(default_factory=list)

    def row_number(self, row: int) -> int:
        """Where the row came from in the file (line or record number), for people."""
        return self.dataset.row_numbers[row]

    def to_dict(self) -> dict:
        """The `quality profile --json` shape."""
        rows = len(self.texts)
        return {
            "dataset": self.dataset.name,
            "sha256": self.dataset.sha256,
            "format": self.dataset.format,
            "encoding": self.dataset.encoding,
            "rows": rows,
            "text_column": self.dataset.text_column,
            "chat": self.dataset.chat,
            "empty": len(self.empty),
            "empty_parts": len(self.empty_parts),
            "exact_duplicates": self.exact.count,
            "near_duplicates": self.near.count,
            "near_duplicate_clusters": len(self.near.clusters),
            "near_duplicate_threshold": self.near.threshold,
            "pii": self.pii.counts(),
            "markup": self.markup.counts(),
            "length": {unit: stats.to_dict() for unit, stats in self.lengths.items()},
            "length_outliers": len(self.length_outliers),
            "histograms": self.histograms(),
            "numeric_outliers": {column: len(found) for column, found in self.numeric_outliers.items()},
            "languages": self.languages,
            "heuristics": self.heuristics.counts(),
            "rules": self.rules,
            "sample": self.sample.to_dict(),
            "skipped": self.dataset.skipped,
            "warnings": self.dataset.warnings,
            "findings": self.findings(),
            "seconds": round(self.seconds, 3),
        }

    def findings(self) -> dict[str, dict]:
        """Each check's count, share of rows, file row numbers (up to ROW_LIST_LIMIT) and examples."""
        checks: dict[str, list[int]] = {
            "empty": self.empty,
            "empty_parts": self.empty_parts,
            "exact_duplicates": [int(row) for row in np.flatnonzero(self.exact.first_of >= 0)],
            "near_duplicates": self.near_duplicate_rows(),
            "length_outliers": self.length_outliers,
        }
        checks.update({f"pii_{kind}": rows for kind, rows in self.pii.rows.items()})
        checks.update({f"markup_{kind}": rows for kind, rows in _markup_rows(self.markup).items()})
        checks.update({f"heuristic_{rule}": rows for rule, rows in self.heuristics.failed.items()})
        checks.update({f"outlier_{column}": rows for column, rows in self.numeric_outliers.items()})
        total = max(1, len(self.texts))
        return {
            name: {
                "count": len(rows),
                "fraction": round(len(rows) / total, 6),
                "rows": [self.row_number(row) for row in rows[:ROW_LIST_LIMIT]],
                "examples": [self.example(row) for row in rows[:EXAMPLES]],
            }
            for name, rows in checks.items()
        }

    def histograms(self, bins: int = 40) -> dict[str, dict]:
        """Length histograms of the non-empty rows on a log-spaced grid, so stored runs can redraw them."""
        filled = np.ones(len(self.texts), dtype=bool)
        filled[self.empty] = False
        series = {"characters": self.char_lengths[filled], "words": self.word_lengths[filled]}
        if self.token_lengths:
            series["tokens"] = np.fromiter(self.token_lengths.values(), dtype=np.int64)
        out = {}
        for unit, values in series.items():
            if values.size == 0:
                continue
            low = max(1.0, float(values.min()))
            top = max(low + 1, float(values.max()) + 1)
            edges = np.unique(np.round(np.geomspace(low, top, bins + 1)))
            counts, edges = np.histogram(np.clip(values, 1, None), bins=edges)
            out[unit] = {"edges": edges.astype(int).tolist(), "counts": counts.astype(int).tolist()}
        return out

    def near_duplicate_rows(self) -> list[int]:
        """Rows in a near-duplicate cluster beyond its first member that are not exact duplicates."""
        found = [row for cluster in self.near.clusters for row in cluster[1:] if self.exact.first_of[row] < 0]
        return sorted(found)

    def example(self, row: int, width: int = 160) -> dict:
        """A row for display: its file row number and the start of its text."""
        text = self.texts[row] or ""
        return {"row": self.row_number(row), "text": text[:width] + ("…" if len(text) > width else "")}


def profile(
    dataset: Dataset, options: ProfileOptions | None = None, progress: Callable[[int, int, str], None] | None = None
) -> ProfileResult:
    """Run every check on the dataset's text column; `progress(done, total, step)` after each step."""
    options = options or ProfileOptions()
    started = time.perf_counter()
    texts = [None if value is None else str(value) for value in _text_values(dataset)]
    steps = 8
    report = progress or (lambda *_: None)

    report(0, steps, "lengths")
    array = pa.array(texts, type=pa.large_string())
    chars, words = char_and_word_lengths(array)
    empty = [row for row, text in enumerate(texts) if is_empty(text)]
    filled = np.ones(len(texts), dtype=bool)
    filled[empty] = False
    report(1, steps, "duplicates")
    exact, near = duplicates(texts, options.near_duplicate_threshold)  # one normalising pass for both
    report(2, steps, "duplicates")
    report(3, steps, "PII")
    pii = find_pii(array)  # one Arrow array shared by the vectorised checks
    report(4, steps, "markup")
    markup = find_markup(array)
    report(5, steps, "quality heuristics")
    heuristics = apply_heuristics(array, options.heuristic_families)
    report(6, steps, "languages and tokens")
    sample = _sample(np.flatnonzero(filled), len(texts), options.sample_rows)
    sampled_texts = [texts[row] or "" for row in sample.rows]
    row_languages = dict(zip(sample.rows, detect_languages(sampled_texts), strict=True))
    lengths = {"characters": summarize(chars[filled], "characters"), "words": summarize(words[filled], "words")}
    tokens: dict[int, int] = {}
    if options.tokenizer is not None and sampled_texts:
        counts = token_lengths(sampled_texts, options.tokenizer)
        lengths["tokens"] = summarize(counts, "tokens")
        tokens = dict(zip(sample.rows, (int(count) for count in counts), strict=True))
    report(7, steps, "outliers")
    outliers = robust_outliers(np.where(filled, chars, np.nan))
    result = ProfileResult(
        dataset=dataset,
        texts=texts,
        empty=empty,
        empty_parts=_empty_parts(dataset),
        exact=exact,
        near=near,
        pii=pii,
        markup=markup,
        heuristics=heuristics,
        lengths=lengths,
        length_outliers=[int(row) for row in outliers],
        numeric_outliers=_numeric_outliers(dataset),
        languages=language_mix([lang for lang in row_languages.values() if lang != UNKNOWN]),
        row_languages=row_languages,
        sample=sample,
        seconds=0.0,
        char_lengths=chars,
        word_lengths=words,
        token_lengths=tokens,
    )
    result.seconds = time.perf_counter() - started
    report(steps, steps, "done")
    return result


def _text_values(dataset: Dataset) -> list[Any]:
    column = dataset.frame[dataset.text_column]
    return column.where(column.notna(), None).tolist()


def _sample(candidates: np.ndarray, total: int, size: int) -> Sample:
    """Every non-empty row, or a uniform random sample of `size` of them (seeded: the same file, the same rows)."""
    rows = [int(row) for row in candidates]
    if len(rows) > size:
        rows = sorted(random.Random(SAMPLE_SEED).sample(rows, size))
    return Sample(rows, len(candidates))


def _empty_parts(dataset: Dataset) -> list[int]:
    """Records with an empty message (chat) : a conversation whose user or assistant said nothing."""
    if dataset.chat != "conversation" or "messages" not in dataset.frame.columns:
        return []
    found = []
    for row, messages in enumerate(dataset.frame["messages"].tolist()):
        if isinstance(messages, list | np.ndarray) and any(
            isinstance(message, dict)
            and is_empty(message.get("content") if isinstance(message.get("content"), str) else None)
            for message in messages
        ):
            found.append(row)
    return found


def _numeric_outliers(dataset: Dataset) -> dict[str, list[int]]:
    """Robust outliers (modified z-score on the raw values) of each numeric column other than ids."""
    found = {}
    for column in dataset.frame.columns:
        values = dataset.frame[column]
        if column == dataset.text_column or values.dtype.kind not in "if" or values.nunique() < 10:
            continue
        rows = robust_outliers(values.to_numpy(dtype=float), log_scale=False)
        if rows.size:
            found[str(column)] = [int(row) for row in rows]
    return found


def _markup_rows(markup: MarkupFindings) -> dict[str, list[int]]:
    return {"html": markup.html, "control_characters": markup.control_characters, "mojibake": markup.mojibake}


__all__ = ["PII_TYPES", "ProfileOptions", "ProfileResult", "profile"]
