"""Language per row, offline: py3langid's model (langid.py's, 97 languages, shipped inside the package), batched.

py3langid classifies one text at a time and walks its byte DFA in a Python loop: about 250 microseconds a row
here. `detect_languages` gives the same answers from the same model, a batch of texts at a time:

1. Each text is prepared as py3langid's `_encode` does (lowercased when all upper case, NFC, UTF-8).
2. The DFA is walked one byte position at a time for every text of the batch at once (numpy gathers; texts sorted
   by length so the ones still running are a prefix), keeping every state visited.
3. A state's feature (`tk_output`, -1 for none) is counted per text, the distinct features kept in order of first
   appearance, which is the order py3langid's Counter keeps (so the product below adds in the same order).
4. Scores are py3langid's `log1p(counts) @ nb_ptc[features] + nb_pc` per text (the float16 table widened to float32
   once), its floor for a text without features and its alias folding (srl -> sr), then the argmax.

About 40 microseconds a row, half of it the per-text product (BLAS), against py3langid's 250 here. The labels are
py3langid's `classify` (the tests compare them; they agreed on all 200,000 benchmark rows checked): the product adds the
same float32 terms in the same order, so only BLAS's own summation could differ in the last bit, which could swap
two languages only where they score equal to seven digits.
"""

from __future__ import annotations

import threading
import unicodedata
from collections import Counter
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np

_identifier: Any = None
_tables: _Tables | None = None
_lock = threading.Lock()
UNKNOWN = "unknown"  # an empty row, or one too short to tell
MIN_CHARACTERS = 3
# py3langid's cost grows with the text; 500 characters tell the language as well as 30,000 (a long log would
# otherwise take milliseconds).
MAX_CHARACTERS = 500
BATCH_ROWS = 5_000  # texts walked together: a batch's states take about 4 bytes per byte of text
_ROUND = 32  # texts counted together (a scratch table of _ROUND x features positions)


@dataclass(frozen=True)
class _Tables:
    """py3langid's model as numpy arrays."""

    nextmove: np.ndarray  # uint32, rows of 256: the next state of (state, byte) is nextmove[rowbase[state] + byte]
    rowbase: np.ndarray  # int64 per state
    output: np.ndarray  # int64 per state: its feature, or -1
    weights: np.ndarray  # (features, classes) float32: nb_ptc widened once
    prior: np.ndarray  # (classes,) float32: nb_pc
    classes: np.ndarray  # object: the label of each column
    alias_pairs: tuple[tuple[int, int], ...]  # (first, duplicate) columns of one label
    floor: float  # the score of a text without features (py3langid's RAW_FLOOR)


def _model() -> Any:
    """py3langid's identifier, loaded once per process (about half a second)."""
    global _identifier
    with _lock:
        if _identifier is None:
            from py3langid.langid import MODEL_FILE, LanguageIdentifier

            _identifier = LanguageIdentifier.from_model_file(MODEL_FILE, norm_probs=False)
        return _identifier


def _model_tables() -> _Tables:
    """The identifier's arrays for batched scoring, built once per process."""
    global _tables
    identifier = _model()
    with _lock:
        if _tables is None:
            from py3langid.langid import RAW_FLOOR

            nextmove = np.frombuffer(identifier.tk_nextmove, dtype=f"u{identifier.tk_nextmove.itemsize}")
            rows = np.frombuffer(identifier.tk_row, dtype=f"u{identifier.tk_row.itemsize}")
            _tables = _Tables(
                nextmove=nextmove.astype(np.uint32),
                rowbase=rows.astype(np.int64) << 8,
                output=np.asarray(identifier.tk_output, dtype=np.int64),
                weights=np.asarray(identifier.nb_ptc, dtype=np.float32),
                prior=np.asarray(identifier.nb_pc, dtype=np.float32),
                classes=np.array(identifier.nb_classes, dtype=object),
                alias_pairs=tuple(identifier._alias_pairs),
                floor=float(RAW_FLOOR),
            )
        return _tables


def _prepared(text: str) -> bytes:
    """The bytes py3langid walks for a text (its `_encode`)."""
    if text.isupper():
        text = text.lower()
    return unicodedata.normalize("NFC", text).encode("utf-8", errors="surrogatepass")


def _walk(tables: _Tables, encoded: list[bytes]) -> tuple[np.ndarray, np.ndarray]:
    """Every text's features in the order its bytes produce them: (text index, feature) pairs, text by text."""
    lengths = np.fromiter(map(len, encoded), dtype=np.int64, count=len(encoded))
    data = np.frombuffer(b"".join(encoded), dtype=np.uint8)
    starts = np.zeros(len(encoded), dtype=np.int64)
    np.cumsum(lengths[:-1], out=starts[1:])
    order = np.argsort(-lengths, kind="stable")  # longest first: at step t the texts still running are a prefix
    by_length, first_byte = lengths[order], starts[order]
    steps = int(by_length[0]) if by_length.size else 0
    running = len(encoded) - np.searchsorted(by_length[::-1], np.arange(steps), side="right")
    step_start = np.zeros(steps + 1, dtype=np.int64)
    np.cumsum(running, out=step_start[1:])
    visited = np.empty(int(step_start[-1]), dtype=np.uint32)
    state = np.zeros(len(encoded), dtype=np.int64)
    nextmove, rowbase = tables.nextmove, tables.rowbase
    for step in range(steps):
        k = int(running[step])
        moved = nextmove[rowbase[state[:k]] + data[first_byte[:k] + step]]
        state[:k] = moved
        visited[step_start[step] : step_start[step + 1]] = moved
    # Reorder the visits text by text (the byte order within each text kept): position = text start + step.
    sorted_text = np.arange(visited.size) - np.repeat(step_start[:-1], running)
    step_of = np.repeat(np.arange(steps), running)
    text_start = np.zeros(len(encoded), dtype=np.int64)
    np.cumsum(lengths[order][:-1], out=text_start[1:])
    by_text = np.empty_like(visited)
    by_text[text_start[sorted_text] + step_of] = visited
    features = tables.output[by_text]
    text_of = np.repeat(order, by_length)  # by_text is in sorted-text order; name each visit's original text
    found = features >= 0
    return text_of[found], features[found]


def _first_counts(text_of: np.ndarray, features: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Each text's distinct features in order of first appearance (py3langid's Counter order) and their counts.

    A scratch table holds, per (text of a round, feature), the position of its first occurrence: written in reverse
    so the earliest occurrence is written last. Rounds of _ROUND texts keep the table small; no sorting or hashing.
    """
    size = _model_tables().weights.shape[0]
    bounds = np.r_[0, np.flatnonzero(text_of[1:] != text_of[:-1]) + 1, text_of.size]
    scratch = np.empty(_ROUND * size, dtype=np.int64)
    position = np.arange(text_of.size)
    first_of = np.empty(text_of.size, dtype=np.int64)
    for round_start in range(0, bounds.size - 1, _ROUND):
        edges = bounds[round_start : round_start + _ROUND + 1]
        low, high = int(edges[0]), int(edges[-1])
        local = np.repeat(np.arange(edges.size - 1), np.diff(edges)) * size + features[low:high]
        scratch[local[::-1]] = position[low:high][::-1]
        first_of[low:high] = scratch[local]
    firsts = np.flatnonzero(first_of == position)
    return firsts, np.bincount(first_of, minlength=text_of.size)[firsts]


def _scores(tables: _Tables, count: int, text_of: np.ndarray, features: np.ndarray) -> np.ndarray:
    """(count, classes) float32 raw scores, as py3langid's `_decide` without norm_probs."""
    scores = np.full((count, tables.prior.size), tables.floor, dtype=np.float32)
    if features.size:
        firsts, counts = _first_counts(text_of, features)
        logs = np.log1p(counts.astype(np.float32))
        unique_features, texts = features[firsts], text_of[firsts]
        starts = np.flatnonzero(np.r_[True, texts[1:] != texts[:-1]])
        bounds = np.r_[starts, firsts.size].tolist()
        weights, prior = tables.weights, tables.prior
        for k, text in enumerate(texts[starts].tolist()):
            low, high = bounds[k], bounds[k + 1]
            scores[text] = np.dot(logs[low:high], weights.take(unique_features[low:high], axis=0)) + prior
    for first_column, duplicate in tables.alias_pairs:
        np.maximum(scores[:, first_column], scores[:, duplicate], out=scores[:, first_column])
        scores[:, duplicate] = tables.floor
    return scores


def detect_languages(
    texts: Sequence[str | None], progress: Callable[[int, int], None] | None = None, every: int = BATCH_ROWS
) -> list[str]:
    """An ISO 639-1 code per text (`unknown` for empty or very short texts); `progress(done, total)` per batch."""
    tables = _model_tables()
    found = [UNKNOWN] * len(texts)
    batch = max(1, min(every, BATCH_ROWS))
    for start in range(0, len(texts), batch):
        rows, encoded = [], []
        for row, text in enumerate(texts[start : start + batch], start):
            stripped = (text or "").strip()[:MAX_CHARACTERS]
            if len(stripped) >= MIN_CHARACTERS:
                rows.append(row)
                encoded.append(_prepared(stripped))
        if encoded:
            text_of, features = _walk(tables, encoded)
            best = _scores(tables, len(encoded), text_of, features).argmax(axis=1)
            for row, label in zip(rows, tables.classes[best].tolist(), strict=True):
                found[row] = label
        if progress is not None:
            progress(min(start + batch, len(texts)), len(texts))
    return found


def detect_language(text: str | None) -> str:
    """py3langid's own answer for one text, one text at a time (the reference `detect_languages` agrees with)."""
    stripped = (text or "").strip()[:MAX_CHARACTERS]
    return _model().classify(stripped)[0] if len(stripped) >= MIN_CHARACTERS else UNKNOWN


def language_mix(languages: Sequence[str]) -> dict[str, int]:
    """Rows per language, most common first."""
    return dict(Counter(languages).most_common())
