"""Profile a dataset's text: every check of the data quality page, as one result the page, CLI and report share.

Checks run over every row, except language and token counts, which run on a uniform sample of
`quality.sample_rows` rows on larger datasets (the sample is stated in the result). Each check keeps the rows it
found, so the page can list them.

Speed (bench/quality_profile.py, a 2-core AMD EPYC VM): a million documents of about 80 words in 24 s as a whole
`quality profile --json` process with `--no-tokens`, 30 s with token counts; 100,000 in 6.8 s, 11x faster than
datasketch's MinHash+LSH alone on them. The previous row-by-row profile took 106 s and 7.4 GB for that million
(2.1 GB now). How:
- The text column stays in Arrow; no Python string is made per row except where a check needs one (PII and markup
  candidates, non-ASCII rows for duplicates, the sample). `ProfileResult.texts` reads rows from Arrow on demand.
- Rows are checked in blocks of BLOCK_ROWS (duplicate hashing, PII, markup, heuristics) by a pool of threads, one
  per core, while the same pool measures languages and tokens on the sample a chunk at a time: Arrow, numpy, RE2
  and the tokenizer release the GIL, so both cores stay busy. Language ID and token counts are batched
  (`language.detect_languages`, `lengths.TokenCounter`): 100,000 sampled rows cost about 4 s and 2 s of CPU
  instead of 25 s and 35 s.
- `progress(done, total, step)` is called from the calling thread after every block and chunk (a fraction of a
  second of work each: on a million rows the longest wait between two calls is about 0.6 s) and per LSH band while
  clustering; `done` only grows. An exception from the callback (a stopped job) stops the work: blocks not started
  are dropped, running ones finish their current step, and every thread is joined before the exception leaves
  `profile`.
"""

from __future__ import annotations

import ctypes
import os
import random
import re
import sys
import threading
import time
from collections.abc import Callable, Iterator, Sequence
from concurrent.futures import FIRST_COMPLETED, Future, ThreadPoolExecutor, wait
from dataclasses import dataclass, field
from typing import Any, overload

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc

from lib.quality.dedup import DuplicateScan, ExactDuplicates, NearDuplicates
from lib.quality.heuristics import HeuristicFindings, apply_heuristics
from lib.quality.language import UNKNOWN, detect_languages, language_mix
from lib.quality.lengths import LengthStats, TokenCounter, robust_outliers, summarize, word_counts
from lib.quality.markup import MarkupFindings, find_markup
from lib.quality.normalize import is_empty
from lib.quality.pii import MAX_EXAMPLES, PII_TYPES, PiiFindings, find_pii
from lib.quality.readers import Dataset

POSITIVE_SHARE = 0.95  # a numeric column this positive is judged on a log scale (see _numeric_outliers)
EXAMPLES = 5  # rows shown per finding
ROW_LIST_LIMIT = 1_000  # row numbers kept per finding in the JSON (all of them stay in the result object)
SAMPLE_SEED = 0
BLOCK_ROWS = 20_000  # rows per task: about half a second of checks, so progress and stopping stay prompt
LANGUAGE_ROWS = 5_000  # sampled rows per language task
TOKEN_ROWS = 5_000  # sampled rows per token-count task
WORKERS = max(1, min(4, os.cpu_count() or 1))
# Rough cost per row of each kind of work (microseconds on one core), so progress moves with time, not with steps.
_COST_LENGTHS, _COST_CHECKS, _COST_LANGUAGE, _COST_TOKENS, _COST_CLUSTER = 1, 25, 30, 20, 3
_SURROGATE = re.compile("[\ud800-\udfff]")
# A row holding no ASCII character other than whitespace may be empty; only those are checked with `is_empty`.
_SOLID_ASCII = "[\\x00-\\x08\\x0e-\\x1b!-~\\x7f]"


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


class TextColumn(Sequence):
    """The profiled text column, row by row (`str` or None), read from Arrow on demand.

    A list of a million Python strings costs about a second and doubles the memory of a profile; this reads the
    rows a caller asks for. Indexing, slicing, `len` and iteration work as on a list.
    """

    def __init__(self, array: pa.ChunkedArray | pa.Array) -> None:
        self.arrow = array if isinstance(array, pa.ChunkedArray) else pa.chunked_array([array], type=array.type)

    def __len__(self) -> int:
        return len(self.arrow)

    @overload
    def __getitem__(self, index: int) -> str | None: ...

    @overload
    def __getitem__(self, index: slice) -> list[str | None]: ...

    def __getitem__(self, index: int | slice) -> str | list[str | None] | None:
        if isinstance(index, slice):
            return self.arrow[index].to_pylist()
        if not -len(self) <= index < len(self):
            raise IndexError(f"row {index} is outside the {len(self)} rows")
        return self.arrow[int(index)].as_py()

    def __iter__(self) -> Iterator[str | None]:
        for chunk in self.arrow.iterchunks():
            for start in range(0, len(chunk), BLOCK_ROWS):
                yield from chunk.slice(start, BLOCK_ROWS).to_pylist()

    def __eq__(self, other: object) -> bool:
        if isinstance(other, TextColumn):
            return self.arrow.equals(other.arrow)
        return isinstance(other, Sequence) and not isinstance(other, str) and list(self) == list(other)

    __hash__ = None  # type: ignore[assignment]  # mutable-looking sequence, like a list

    def take(self, rows: Sequence[int]) -> list[str | None]:
        """The texts of these rows, in this order."""
        return self.arrow.take(pa.array(rows, type=pa.int64())).to_pylist() if len(rows) else []

    def __repr__(self) -> str:
        return f"TextColumn({len(self)} rows)"


@dataclass
class ProfileResult:
    """Everything found in one dataset."""

    dataset: Dataset
    texts: Sequence[str | None]  # the profiled column by row (a TextColumn: str or None per row, read on demand)
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
    step_seconds: dict[str, float] = field(default_factory=dict)  # where the time went (CPU seconds per kind of work)
    perplexity: dict | None = None  # per-row perplexity on a sample, when asked for (lib.quality.pipeline)
    perplexity_high: list[int] = field(default_factory=list)  # rows whose perplexity is a robust outlier above

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
            "near_duplicate_clusters": len(self.near_clusters()),
            "near_duplicate_threshold": self.near.threshold,
            "pii": self.pii.counts(),
            "pii_rows": len(set().union(*self.pii.rows.values())) if self.pii.rows else 0,
            "markup": self.markup.counts(),
            "length": {unit: stats.to_dict() for unit, stats in self.lengths.items()},
            "length_outliers": len(self.length_outliers),
            "histograms": self.histograms(),
            "numeric_outliers": {column: len(found) for column, found in self.numeric_outliers.items()},
            "languages": self.languages,
            "heuristics": self.heuristics.counts(),
            "rules": self.rules,
            **({"perplexity": self.perplexity} if self.perplexity else {}),
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
        if self.perplexity:
            checks["perplexity_high"] = self.perplexity_high
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

    def near_clusters(self) -> list[list[int]]:
        """Clusters holding at least one near-duplicate: a group of exact copies alone is not one."""
        return [cluster for cluster in self.near.clusters if any(self.exact.first_of[row] < 0 for row in cluster[1:])]

    def near_duplicate_rows(self) -> list[int]:
        """Rows in a near-duplicate cluster beyond its first member that are not exact duplicates."""
        found = [row for cluster in self.near.clusters for row in cluster[1:] if self.exact.first_of[row] < 0]
        return sorted(found)

    def example(self, row: int, width: int = 160) -> dict:
        """A row for display: its file row number and the start of its text."""
        text = self.texts[row] or ""
        return {"row": self.row_number(row), "text": text[:width] + ("…" if len(text) > width else "")}


# ---------------------------------------------------------------------------------------------------------------
# Running the checks


class _Stopped(Exception):
    """Raised inside a task when the profile is being abandoned (the caller's exception follows)."""


@dataclass(frozen=True)
class _Task:
    """Work for the pool: what to call, how much it counts towards progress, and what to tell the caller."""

    work: Callable[[], Any]
    units: int
    step: str


@dataclass
class _BlockFindings:
    pii: PiiFindings
    markup: MarkupFindings
    heuristics: HeuristicFindings


class _Run:
    """The thread pool, the progress count and the stop flag of one profile."""

    def __init__(self, report: Callable[[int, int, str], None], total: int) -> None:
        self.report, self.total, self.done = report, max(1, total), 0
        self.stop = threading.Event()
        self.pool = ThreadPoolExecutor(max_workers=WORKERS, thread_name_prefix="profile")
        self.seconds: dict[str, float] = {}
        self._lock = threading.Lock()

    def advance(self, units: int, step: str) -> None:
        """Count finished work and tell the caller (who may raise to stop): only ever from the calling thread."""
        self.done = min(self.total, self.done + max(0, int(units)))
        self.report(self.done, self.total, step)

    def timed(self, kind: str, work: Callable[[], Any]) -> Callable[[], Any]:
        """`work` as a task that does nothing once stopping, and adds its CPU time to `seconds[kind]`."""

        def task() -> Any:
            if self.stop.is_set():
                raise _Stopped
            started = time.thread_time()
            try:
                return work()
            finally:
                with self._lock:
                    self.seconds[kind] = self.seconds.get(kind, 0.0) + time.thread_time() - started

        return task

    def run(self, tasks: Sequence[_Task]) -> list[Any]:
        """Run the tasks on the pool, in this order; their results in the same order, progress as each finishes."""
        futures: dict[Future, int] = {self.pool.submit(task.work): index for index, task in enumerate(tasks)}
        results: list[Any] = [None] * len(tasks)
        pending = set(futures)
        while pending:
            finished, pending = wait(pending, return_when=FIRST_COMPLETED)
            for future in sorted(finished, key=futures.__getitem__):
                index = futures[future]
                results[index] = future.result()  # a task's own error leaves here; `close` stops the others
                self.advance(tasks[index].units, tasks[index].step)
        return results

    def close(self) -> None:
        """Drop the tasks not started, let the running ones see the stop flag, and join every thread."""
        self.stop.set()
        self.pool.shutdown(wait=True, cancel_futures=True)


def profile(
    dataset: Dataset, options: ProfileOptions | None = None, progress: Callable[[int, int, str], None] | None = None
) -> ProfileResult:
    """Run every check on the dataset's text column; `progress(done, total, step)` as the work advances."""
    options = options or ProfileOptions()
    _tune_allocator()
    return _profile(dataset, options, progress or (lambda *_: None), time.perf_counter())


_allocator_tuned = False


def _tune_allocator() -> None:
    """Let glibc keep freed blocks of up to 32 MiB for reuse (its own ceiling), from the first block on.

    glibc hands a freed block over its mmap threshold back to the kernel; the threshold starts at 128 KiB and only
    grows as large blocks are freed, and worker threads' arenas trim eagerly. The checks allocate and free arrays of
    a few MB per batch, so with the defaults every batch maps fresh pages, and on these virtual machines a first
    touch costs 10-20 microseconds a page: measured on 300,000 rows, duplicate hashing 3.7 s -> 2.2 s and the
    heuristics 3.7 s -> 3.0 s, in the main thread and in workers alike. These are the values glibc's own adjustment
    reaches after one large free, set once per process (elsewhere than glibc, nothing happens).
    """
    global _allocator_tuned
    if _allocator_tuned or not sys.platform.startswith("linux"):
        return
    _allocator_tuned = True
    try:
        libc = ctypes.CDLL(None)
        libc.mallopt(_M_MMAP_THRESHOLD, 32 << 20)
        libc.mallopt(_M_TRIM_THRESHOLD, 64 << 20)
    except (OSError, AttributeError):
        pass


_M_TRIM_THRESHOLD, _M_MMAP_THRESHOLD = -1, -3  # glibc's mallopt parameters


def _profile(
    dataset: Dataset, options: ProfileOptions, report: Callable[[int, int, str], None], started: float
) -> ProfileResult:
    array = _text_array(dataset)
    rows = len(array)
    blocks = list(_blocks(array))
    sample_size = min(options.sample_rows, rows)
    token_cost = _COST_TOKENS if options.tokenizer is not None else 0
    total = rows * (_COST_LENGTHS + _COST_CHECKS + _COST_CLUSTER) + sample_size * (_COST_LANGUAGE + token_cost)
    run = _Run(report, total)
    try:
        report(0, run.total, "lengths")
        # The language model loads (about a second) on the pool while the lengths are measured.
        warm = _Task(run.timed("languages", _load_language_model), 0, "lengths")
        measured = run.run(
            [warm] + [_Task(run.timed("lengths", lambda b=block: _lengths(b)), len(block) * _COST_LENGTHS, "lengths")
                      for _, block in blocks]
        )[1:]  # fmt: skip
        chars = np.concatenate([part[0] for part in measured]) if measured else np.zeros(0, dtype=np.int64)
        words = np.concatenate([part[1] for part in measured]) if measured else np.zeros(0, dtype=np.int64)
        empty = [start + row for (start, _), part in zip(blocks, measured, strict=True) for row in part[2]]
        filled = np.ones(rows, dtype=bool)
        filled[empty] = False

        sample = _sample(np.flatnonzero(filled), rows, options.sample_rows)
        run.advance(0, "sample")
        sampled = [text or "" for text in TextColumn(array).take(sample.rows)]
        run.advance(0, "sample")
        scan = DuplicateScan(rows)
        checks = [
            _Task(run.timed("checks", lambda s=start, b=block: _check_block(s, b, scan, options, run.stop)),
                  len(block) * _COST_CHECKS, "duplicates, PII, markup and heuristics")
            for start, block in blocks
        ]  # fmt: skip
        languages = [
            _Task(run.timed("languages", lambda s=start: detect_languages(sampled[s : s + LANGUAGE_ROWS])),
                  min(LANGUAGE_ROWS, len(sampled) - start) * _COST_LANGUAGE, "languages (sample)")
            for start in range(0, len(sampled), LANGUAGE_ROWS)
        ]  # fmt: skip
        counting = []
        if options.tokenizer is not None:
            counter, one_at_a_time = TokenCounter(options.tokenizer), threading.Lock()  # a tokenizer is not reentrant

            def count(start: int) -> np.ndarray:
                with one_at_a_time:
                    return counter.counts(sampled[start : start + TOKEN_ROWS])

            counting = [
                _Task(run.timed("tokens", lambda s=start: count(s)), min(TOKEN_ROWS, len(sampled) - start) * token_cost,
                      "token counts (sample)")
                for start in range(0, len(sampled), TOKEN_ROWS)
            ]  # fmt: skip
        order = _interleave(checks, languages + counting)
        outcomes = dict(zip(order, run.run(order), strict=True))
        found: list[_BlockFindings] = [outcomes[task] for task in checks]
        labels = [label for task in languages for label in outcomes[task]]
        token_parts = [outcomes[task] for task in counting]
    finally:
        run.close()  # on success, and when the callback (or a task) raised: no thread outlives the profile

    clock = time.thread_time()
    exact = scan.exact()
    units = {"done": 0}

    def clustered(done: int, total: int) -> None:
        now = rows * _COST_CLUSTER * done // max(1, total)
        run.advance(now - units["done"], "near-duplicate clusters")
        units["done"] = now

    near = scan.near(exact, options.near_duplicate_threshold, clustered)
    run.seconds["clusters"] = time.thread_time() - clock
    row_languages = dict(zip(sample.rows, labels, strict=True))
    lengths = {"characters": summarize(chars[filled], "characters"), "words": summarize(words[filled], "words")}
    tokens: dict[int, int] = {}
    if options.tokenizer is not None and sampled:
        counts = np.concatenate(token_parts)
        lengths["tokens"] = summarize(counts, "tokens")
        tokens = dict(zip(sample.rows, counts.tolist(), strict=True))
    outliers = robust_outliers(np.where(filled, chars, np.nan))
    run.advance(0, "outliers")
    result = ProfileResult(
        dataset=dataset,
        texts=TextColumn(array),
        empty=empty,
        empty_parts=_empty_parts(dataset, lambda: run.advance(0, "empty messages")),
        exact=exact,
        near=near,
        pii=_merge_pii([(start, part.pii) for (start, _), part in zip(blocks, found, strict=True)]),
        markup=_merge_markup([(start, part.markup) for (start, _), part in zip(blocks, found, strict=True)]),
        heuristics=_merge_heuristics(
            [(start, part.heuristics) for (start, _), part in zip(blocks, found, strict=True)], options
        ),
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
        step_seconds={kind: round(seconds, 3) for kind, seconds in run.seconds.items()},
    )
    result.seconds = time.perf_counter() - started
    run.advance(run.total, "done")
    return result


def _text_array(dataset: Dataset) -> pa.ChunkedArray:
    """The text column as Arrow large strings, without copying the text when pandas already holds it in Arrow
    (the readers' `str` columns); any other column as the text of its values, missing values null."""
    column = dataset.frame[dataset.text_column]
    array: pa.Array | pa.ChunkedArray | None
    try:
        array = pa.array(column, from_pandas=True)
    except (pa.ArrowInvalid, pa.ArrowTypeError, UnicodeEncodeError):
        array = None
    if array is None or not (pa.types.is_string(array.type) or pa.types.is_large_string(array.type)):
        values = [None if value is None else str(value) for value in column.where(column.notna(), None).tolist()]
        try:
            array = pa.array(values, type=pa.large_string())
        except UnicodeEncodeError:  # a lone surrogate, which no reader lets through: shown as U+FFFD
            array = pa.array(
                [None if v is None else _SURROGATE.sub("\ufffd", v) for v in values],
                type=pa.large_string(),
            )
    if not isinstance(array, pa.ChunkedArray):
        array = pa.chunked_array([array], type=array.type)
    return array.cast(pa.large_string())


def _load_language_model() -> None:
    detect_languages(["warm up"])


def _blocks(array: pa.ChunkedArray) -> Iterator[tuple[int, pa.Array]]:
    """(first row, rows) of up to BLOCK_ROWS rows, zero-copy slices of the column's chunks."""
    start = 0
    for chunk in array.iterchunks():
        for offset in range(0, len(chunk), BLOCK_ROWS):
            block = chunk.slice(offset, BLOCK_ROWS)
            yield start + offset, block
        start += len(chunk)


def _lengths(block: pa.Array) -> tuple[np.ndarray, np.ndarray, list[int]]:
    """Characters and words per row, and the empty rows (missing or whitespace only), of one block."""
    chars = pc.fill_null(pc.utf8_length(block), 0).to_numpy(zero_copy_only=False).astype(np.int64)
    words = word_counts(block)
    # A row with an ASCII letter, digit, punctuation mark or control character is not empty; RE2 stops at the first.
    solid = pc.fill_null(pc.match_substring_regex(block, _SOLID_ASCII), False).to_numpy(zero_copy_only=False)
    maybe = np.flatnonzero(~solid)
    if not maybe.size:
        return chars, words, []
    texts = block.take(pa.array(maybe)).to_pylist()
    return chars, words, [int(row) for row, text in zip(maybe, texts, strict=True) if is_empty(text)]


def _check_block(
    start: int, block: pa.Array, scan: DuplicateScan, options: ProfileOptions, stop: threading.Event
) -> _BlockFindings:
    """The row-by-row checks of one block: duplicate hashing (into the shared scan), PII, markup, heuristics."""
    scan.add(start, block)
    found = []
    for check in (find_pii, find_markup, lambda b: apply_heuristics(b, options.heuristic_families)):
        if stop.is_set():
            raise _Stopped
        found.append(check(block))
    return _BlockFindings(*found)


def _interleave(*lanes: list[_Task]) -> list[_Task]:
    """The lanes' tasks merged so that each lane advances in step with the others (by its share of its own work):
    the pool then runs both kinds of work side by side, and they end together."""
    merged = []
    for lane in lanes:
        total = max(1, sum(task.units for task in lane))
        position = 0
        for task in lane:
            merged.append(((position + task.units / 2) / total, len(merged), task))
            position += task.units
    return [task for *_, task in sorted(merged, key=lambda item: item[:2])]


def _sample(candidates: np.ndarray, total: int, size: int) -> Sample:
    """Every non-empty row, or a uniform random sample of `size` of them (seeded: the same file, the same rows)."""
    rows = [int(row) for row in candidates]
    if len(rows) > size:
        rows = sorted(random.Random(SAMPLE_SEED).sample(rows, size))
    return Sample(rows, len(candidates))


def _merge_pii(parts: list[tuple[int, PiiFindings]]) -> PiiFindings:
    """One block's findings after another, rows shifted to the column's numbering; the first examples kept."""
    merged = PiiFindings()
    for start, part in parts:
        for kind in PII_TYPES:
            merged.rows[kind].extend(start + row for row in part.rows.get(kind, []))
            room = MAX_EXAMPLES - len(merged.examples[kind])
            if room > 0:
                merged.examples[kind].extend((start + row, text) for row, text in part.examples.get(kind, [])[:room])
    return merged


def _merge_markup(parts: list[tuple[int, MarkupFindings]]) -> MarkupFindings:
    merged = MarkupFindings()
    for start, part in parts:
        merged.html.extend(start + row for row in part.html)
        merged.control_characters.extend(start + row for row in part.control_characters)
        merged.mojibake.extend(start + row for row in part.mojibake)
    return merged


def _merge_heuristics(parts: list[tuple[int, HeuristicFindings]], options: ProfileOptions) -> HeuristicFindings:
    merged = apply_heuristics(pa.array([], type=pa.large_string()), options.heuristic_families)  # every rule, no rows
    for start, part in parts:
        for name, rows in part.failed.items():
            merged.failed.setdefault(name, []).extend(start + row for row in rows)
    return merged


def _empty_parts(dataset: Dataset, tick: Callable[[], None] = lambda: None) -> list[int]:
    """Records with an empty message (chat) : a conversation whose user or assistant said nothing; `tick()` every
    BLOCK_ROWS records (a million conversations take seconds)."""
    if dataset.chat != "conversation" or "messages" not in dataset.frame.columns:
        return []
    found = []
    for row, messages in enumerate(dataset.frame["messages"].tolist()):
        if row % BLOCK_ROWS == 0:
            tick()
        if isinstance(messages, list | np.ndarray) and any(
            isinstance(message, dict)
            and is_empty(message.get("content") if isinstance(message.get("content"), str) else None)
            for message in messages
        ):
            found.append(row)
    return found


def _numeric_outliers(dataset: Dataset) -> dict[str, list[int]]:
    """Robust outliers (modified z-score) of each numeric column other than ids.

    A column that is almost all positive (durations, prices, counts: skewed by nature) is judged on a log
    scale, so its long tail is not flagged row by row, and its few zero or negative values are flagged as
    the impossible values they usually are; any other column on its raw values.
    """
    found = {}
    for column in dataset.frame.columns:
        values = dataset.frame[column]
        if column == dataset.text_column or values.dtype.kind not in "if" or values.nunique() < 10:
            continue
        x = values.to_numpy(dtype=float)
        present = np.isfinite(x)
        positive = present & (x > 0)
        if present.any() and positive.sum() >= POSITIVE_SHARE * present.sum():
            logged = np.where(positive, np.log(np.where(positive, x, 1.0)), np.nan)
            rows = np.union1d(robust_outliers(logged, log_scale=False), np.flatnonzero(present & ~positive))
        else:
            rows = robust_outliers(x, log_scale=False)
        if rows.size:
            found[str(column)] = [int(row) for row in rows]
    return found


def _markup_rows(markup: MarkupFindings) -> dict[str, list[int]]:
    return {"html": markup.html, "control_characters": markup.control_characters, "mojibake": markup.mojibake}


__all__ = ["PII_TYPES", "ProfileOptions", "ProfileResult", "TextColumn", "profile"]
