"""Gopher quality, Gopher repetition, C4 and FineWeb heuristic rules, one named rule per check, vectorised.

The rules and thresholds are HF datatrove's (src/datatrove/pipeline/filters/gopher_quality_filter.py,
gopher_repetition_filter.py, c4_filters.py, fineweb_quality_filter.py; ../shared/REFERENCE.md quotes them).
Every rule is evaluated on its own, so a row can fail several; datatrove stops at the first failing check and
reports that one reason (`DATATROVE_REASONS` maps its reasons to these names).

Where this differs from datatrove, and why:
- Words are whitespace-separated tokens (`str.split()`), as in the Gopher paper. datatrove uses spaCy's English
  tokenizer, which makes punctuation its own token: there "end." is two words, here one. So our mean word length
  is a little longer (about 0.2 characters on English prose), our share of words with a letter a little higher,
  and n-grams include the punctuation attached to a word.
- Stop words are matched as whole words (ASCII word boundaries), case-sensitive like datatrove: "the," counts
  (spaCy splits the comma off), "The" does not (datatrove does not lowercase either).
- C4 is a line filter that rewrites documents. For profiling we report document-level flags, evaluating its
  lines in datatrove's order (too-long word, citations removed, terminal punctuation, fewer than 3 words):
  `c4_lorem_ipsum` and `c4_curly_bracket` when such a kept line holds "lorem ipsum" or "{" (datatrove drops the
  document), `c4_javascript` when a kept line mentions javascript (datatrove drops the line), and
  `c4_too_few_sentences` when the lines it keeps hold fewer than 5 sentences. datatrove counts sentences with
  spaCy's sentencizer; here a sentence ends at a word ending in . ! or ? (optionally followed by one closing
  quote or bracket) that is not the line's last word.
- The duplicated 5..10-gram share keeps word boundaries; datatrove joins an n-gram's words without a separator,
  so "ab c" and "a bc" would count as one n-gram there.

Speed: rules are computed with numpy over the UTF-8 bytes of a pyarrow array (words, lines and characters
located by position), plus a few RE2 scans; `rule_failures` is the per-row reference in plain Python, and
the vectorised path must agree with it (the tests check that on random documents). Python takes over only where
bytes cannot decide cheaply: rows with control characters or non-ASCII whitespace (byte-level words would differ
from `str.split`), Wikipedia-style citations, line breaks other than "\n", lines that may repeat, C4 keywords on a
multi-line row; and the n-gram rules of rows whose upper bound (from the bigrams repeating within them) could
exceed a threshold.
"""

from __future__ import annotations

import functools
import itertools
import re
from collections import Counter
from collections.abc import Callable, Iterable, Sequence
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field

import numpy as np
import pandas as pd
import pyarrow as pa

from lib.quality.pii import PARALLEL_ROWS, THREADS, as_string_array, regex_rows, string_buffers

FAMILIES = ("gopher_quality", "gopher_repetition", "c4", "fineweb")

# Thresholds (datatrove defaults; REFERENCE.md "Data quality (datatrove)").
GOPHER_MIN_WORDS, GOPHER_MAX_WORDS = 50, 100_000
GOPHER_MIN_MEAN_WORD, GOPHER_MAX_MEAN_WORD = 3, 10
GOPHER_MAX_SYMBOL_RATIO = 0.1
GOPHER_MAX_BULLET_LINES = 0.9
GOPHER_MAX_ELLIPSIS_LINES = 0.3
GOPHER_MIN_ALPHA_WORDS = 0.8
GOPHER_MIN_STOP_WORDS = 2
STOP_WORDS = ("the", "be", "to", "of", "and", "that", "have", "with")
GOPHER_DUP_LINE_FRACTION, GOPHER_DUP_PARA_FRACTION = 0.3, 0.3
GOPHER_DUP_LINE_CHARS, GOPHER_DUP_PARA_CHARS = 0.2, 0.2
TOP_NGRAMS = ((2, 0.20), (3, 0.18), (4, 0.16))
DUP_NGRAMS = ((5, 0.15), (6, 0.14), (7, 0.13), (8, 0.12), (9, 0.11), (10, 0.10))
C4_MIN_SENTENCES, C4_MIN_WORDS_PER_LINE, C4_MAX_WORD_LENGTH = 5, 3, 1000
C4_END_PUNCTUATION = (".", "?", "!", '"', "'")
C4_POLICY_SUBSTRINGS = (
    "terms of use",
    "privacy policy",
    "cookie policy",
    "uses cookies",
    "use of cookies",
    "use cookies",
)
FINEWEB_MIN_LINE_PUNCT, FINEWEB_MAX_SHORT_LINES, FINEWEB_SHORT_LINE_CHARS = 0.12, 0.67, 30
FINEWEB_MAX_DUP_LINE_CHARS, FINEWEB_MAX_NEWLINES_PER_WORD = 0.01, 0.3


def _code_points(spec: str) -> frozenset[str]:
    """'0021 002E 061D-061F' -> the characters, inclusive ranges expanded."""
    chars: set[str] = set()
    for item in spec.split():
        low, _, high = item.partition("-")
        chars.update(chr(cp) for cp in range(int(low, 16), int(high or low, 16) + 1))
    return frozenset(chars)


# datatrove's src/datatrove/utils/text.py: PUNCTUATION (ASCII punctuation, C0/C1 controls except tab and line feed,
# and some typographic and CJK marks) and TERMINAL_PUNCTUATION; a word made only of PUNCTUATION_SET characters
# is a "symbol" word for Gopher.
PUNCTUATION = _code_points(
    "0000-0008 000B-001F 0021-002F 003A-0040 005B-0060 007B-009F 00AB 00B4 00BB 2013-2014 2019 201C-201E 2026 2236 "
    "2501 25BA 3001-3002 3008-300D 3010-3011 FF01 FF05 FF08-FF09 FF0C FF0E FF11 FF1A-FF1B FF1F FF5E"
)
TERMINAL_PUNCTUATION = _code_points(
    "0021 002E 003F 0589 061D-061F 06D4 0700-0702 07F9 0837 0839 083D-083E 0964-0965 104A-104B 1362 1367-1368 166E "
    "1735-1736 17D4-17D6 17D9-17DA 1803 1809 1944-1945 1AA8-1AAB 1B5A-1B5B 1B5E-1B5F 1B7D-1B7E 1C3B-1C3C 1C7E-1C7F "
    "203C-203D 2047-2049 2E2E 2E3C 2E53-2E54 3002 A4FF A60E-A60F A6F3 A6F7 A876-A877 A8CE-A8CF A92F A9C8-A9C9 "
    "AA5D-AA5F AAF0-AAF1 ABEB FE52 FE56-FE57 FF01 FF0E FF1F FF61 10A56-10A57 10F55-10F59 10F86-10F89 11047-11048 "
    "110BE-110C1 11141-11143 111C5-111C6 111CD 111DE-111DF 11238-11239 1123B-1123C 112A9 1144B-1144C 115C2-115C3 "
    "115C9-115D7 11641-11642 1173C-1173E 11944 11946 11A42-11A43 11A9B-11A9C 11C41-11C42 11EF7-11EF8 11F43-11F44 "
    "16A6E-16A6F 16AF5 16B37-16B38 16B44 16E98 1BC9F 1DA88"
)
PUNCTUATION_SET = PUNCTUATION | TERMINAL_PUNCTUATION


@dataclass(frozen=True)
class HeuristicRule:
    """One check: its name (the key in the findings), its family and what it flags, with the threshold."""

    name: str
    family: str
    description: str


def _rules() -> tuple[HeuristicRule, ...]:
    g, r, c, f = FAMILIES
    rules = [
        HeuristicRule("gopher_word_count", g, "fewer than 50 or more than 100,000 words (words with a non-symbol)"),
        HeuristicRule("gopher_mean_word_length", g, "mean word length outside 3-10 characters"),
        HeuristicRule("gopher_hash_ratio", g, "more than 0.1 '#' per word"),
        HeuristicRule("gopher_ellipsis_ratio", g, "more than 0.1 ellipses ('...' or '…') per word"),
        HeuristicRule("gopher_bullet_lines", g, "more than 90% of lines start with a bullet ('•' or '-')"),
        HeuristicRule("gopher_ellipsis_lines", g, "more than 30% of lines end with an ellipsis"),
        HeuristicRule("gopher_alpha_words", g, "fewer than 80% of words contain a letter"),
        HeuristicRule("gopher_stop_words", g, "fewer than 2 of the stop words: " + ", ".join(STOP_WORDS)),
        HeuristicRule("gopher_dup_para_fraction", r, "more than 30% of paragraphs are duplicates"),
        HeuristicRule("gopher_dup_para_chars", r, "duplicate paragraphs hold more than 20% of the characters"),
        HeuristicRule("gopher_dup_line_fraction", r, "more than 30% of lines are duplicates"),
        HeuristicRule("gopher_dup_line_chars", r, "duplicate lines hold more than 20% of the characters"),
    ]
    rules += [
        HeuristicRule(
            f"gopher_top_{n}gram", r, f"the most frequent {n}-gram covers more than {frac:.0%} of the characters"
        )
        for n, frac in TOP_NGRAMS
    ]
    rules += [
        HeuristicRule(f"gopher_dup_{n}gram", r, f"repeated {n}-grams cover more than {frac:.0%} of the characters")
        for n, frac in DUP_NGRAMS
    ]
    rules += [
        HeuristicRule("c4_lorem_ipsum", c, "a line C4 keeps contains 'lorem ipsum' (C4 drops the document)"),
        HeuristicRule("c4_curly_bracket", c, "a line C4 keeps contains '{' (C4 drops the document)"),
        HeuristicRule("c4_javascript", c, "a line C4 would keep mentions 'javascript' (C4 drops the line)"),
        HeuristicRule(
            "c4_too_few_sentences",
            c,
            "fewer than 5 sentences in the lines C4 keeps (lines ending in . ? ! \" ' with at least 3 words, "
            "no javascript, no cookie or terms-of-use notice)",
        ),
        HeuristicRule("fineweb_line_punct", f, "fewer than 12% of lines end in terminal punctuation"),
        HeuristicRule("fineweb_short_lines", f, "more than 67% of lines have 30 characters or fewer"),
        HeuristicRule("fineweb_dup_line_chars", f, "duplicate lines hold more than 1% of the characters"),
        HeuristicRule("fineweb_list_ratio", f, "more than 0.3 line breaks per word"),
    ]
    return tuple(rules)


RULES: tuple[HeuristicRule, ...] = _rules()
RULE_NAMES = tuple(rule.name for rule in RULES)

# datatrove's exclusion reasons -> our rule names (C4's line-level stats have no reason there).
DATATROVE_REASONS: dict[str, str] = {
    "gopher_short_doc": "gopher_word_count",
    "gopher_long_doc": "gopher_word_count",
    "gopher_below_avg_threshold": "gopher_mean_word_length",
    "gopher_above_avg_threshold": "gopher_mean_word_length",
    "gopher_too_many_hashes": "gopher_hash_ratio",
    "gopher_too_many_ellipsis": "gopher_ellipsis_ratio",
    "gopher_too_many_bullets": "gopher_bullet_lines",
    "gopher_too_many_end_ellipsis": "gopher_ellipsis_lines",
    "gopher_below_alpha_threshold": "gopher_alpha_words",
    "gopher_enough_stop_words": "gopher_stop_words",
    "dup_para_frac": "gopher_dup_para_fraction",
    "dup_para_char_frac": "gopher_dup_para_chars",
    "dup_line_frac": "gopher_dup_line_fraction",
    "dup_line_char_frac": "gopher_dup_line_chars",
    **{f"top_{n}_gram": f"gopher_top_{n}gram" for n, _ in TOP_NGRAMS},
    **{f"duplicated_{n}_n_grams": f"gopher_dup_{n}gram" for n, _ in DUP_NGRAMS},
    "lorem_ipsum": "c4_lorem_ipsum",
    "curly_bracket": "c4_curly_bracket",
    "line-filter-javascript": "c4_javascript",
    "too_few_sentences": "c4_too_few_sentences",
    "line_punct_ratio": "fineweb_line_punct",
    "short_line_ratio": "fineweb_short_lines",
    "char_dup_ratio": "fineweb_dup_line_chars",
    "list_ratio": "fineweb_list_ratio",
}


@dataclass
class HeuristicFindings:
    """Per rule of the enabled families, the rows (ascending) failing it."""

    failed: dict[str, list[int]] = field(default_factory=dict)

    def counts(self) -> dict[str, int]:
        """Rows failing each rule."""
        return {name: len(rows) for name, rows in self.failed.items()}

    def to_dict(self) -> dict:
        """Counts and row indices, JSON-ready."""
        return {"counts": self.counts(), "rows": {name: list(rows) for name, rows in self.failed.items()}}


# ---------------------------------------------------------------------------------------------------------------
# The reference: one row in Python. The vectorised path below must agree with it exactly (tests check that).
# ---------------------------------------------------------------------------------------------------------------

_DELETE_PUNCTUATION = dict.fromkeys(map(ord, PUNCTUATION_SET))
_STOP = re.compile(r"\b(" + "|".join(STOP_WORDS) + r")\b", re.ASCII)
_PARAGRAPHS = re.compile(r"\n{2,}")  # gopher_repetition_filter.py: paragraph_exp
_LINES = re.compile(r"\n+")  # gopher_repetition_filter.py: _line_splitter
_CITATION = re.compile(r"\[\d*]|\[edit]|\[citation needed]")  # c4_filters.py: CITATION_REGEX


def _find_duplicates(items: list[str]) -> tuple[int, int]:
    """datatrove's find_duplicates: how many items repeat an earlier one, and their characters."""
    seen: set[str] = set()
    count = chars = 0
    for item in items:
        if item in seen:
            count += 1
            chars += len(item)
        else:
            seen.add(item)
    return count, chars


def _top_ngram_chars(words: list[str], n: int) -> int:
    """datatrove's find_top_duplicate: length x count of the most frequent n-gram (first seen wins ties)."""
    grams = Counter(" ".join(words[i : i + n]) for i in range(len(words) - n + 1))
    gram, count = grams.most_common(1)[0]
    return len(gram) * count


def _repeated_ngram_chars(words: list[str], n: int) -> int:
    """datatrove's find_all_duplicate: characters (spaces excluded) of n-grams repeating an earlier one, taken
    greedily without overlap; n-grams are compared as word tuples."""
    seen: set[tuple[str, ...]] = set()
    chars, i = 0, 0
    while i < len(words) - n + 1:
        gram = tuple(words[i : i + n])
        if gram in seen:
            chars += sum(map(len, gram))
            i += n
        else:
            seen.add(gram)
            i += 1
    return chars


_LONG_ROW_WORDS = 50_000  # above this, n-grams are counted with numpy (the same answers, found faster)


def _ngram_failures(words: list[str], length: int) -> list[str]:
    if len(words) > _LONG_ROW_WORDS:
        return _ngram_failures_numpy(words, length)
    out = []
    for n, frac in TOP_NGRAMS:
        if len(words) >= n and _top_ngram_chars(words, n) / length > frac:
            out.append(f"gopher_top_{n}gram")
    for n, frac in DUP_NGRAMS:
        if _repeated_ngram_chars(words, n) / length > frac:
            out.append(f"gopher_dup_{n}gram")
    return out


def _ngram_failures_numpy(words: list[str], length: int) -> list[str]:
    """_ngram_failures for a long row: n-grams numbered exactly (pandas factorize numbers values in order of first
    appearance), so the most frequent n-gram and its first occurrence are array operations; the greedy scan for
    repeated 5..10-grams visits only the positions whose n-gram occurred before."""
    codes = pd.factorize(np.array(words, dtype=object))[0].astype(np.int64)
    vocabulary = int(codes.max()) + 1
    chars_before = np.zeros(len(words) + 1, dtype=np.int64)
    np.cumsum(np.fromiter(map(len, words), dtype=np.int64, count=len(words)), out=chars_before[1:])
    top, dup = dict(TOP_NGRAMS), dict(DUP_NGRAMS)
    out = []
    grams = codes
    for n in range(2, 11):
        # Number the n-grams: (number of its first n-1 words, its last word) -> a new number; exact, no hashing.
        grams = pd.factorize(grams[:-1] * vocabulary + codes[n - 1 :])[0].astype(np.int64)
        if not grams.size:
            break
        if n in top:
            counts = np.bincount(grams)
            best = int(np.argmax(counts))  # the first of the most frequent (numbers follow first appearance)
            first = int(np.argmax(grams == best))
            if (chars_before[first + n] - chars_before[first] + n - 1) * counts[best] / length > top[n]:
                out.append(f"gopher_top_{n}gram")
        if n in dup:
            if int(grams.max()) + 1 == grams.size:
                break  # every n-gram is new: so are all longer ones, nothing repeats
            if _greedy_repeated_chars(grams, chars_before, n) / length > dup[n]:
                out.append(f"gopher_dup_{n}gram")
    return out


def _greedy_repeated_chars(grams: np.ndarray, chars_before: np.ndarray, n: int) -> int:
    """datatrove's find_all_duplicate over numbered n-grams, stepping only through positions that repeat an earlier
    n-gram: an n-gram is "seen" once one of its occurrences was visited (not skipped after a counted repeat)."""
    is_first = np.ones(grams.size, dtype=bool)
    is_first[1:] = grams[1:] > np.maximum.accumulate(grams)[:-1]
    added: set[int] = set()  # n-grams whose first occurrence was skipped, then seen at a later visited position
    skipped_first: set[int] = set()
    chars, next_free = 0, 0
    for position in np.flatnonzero(~is_first).tolist():
        if position < next_free:
            continue
        gram = int(grams[position])
        if gram in added or gram not in skipped_first:
            chars += int(chars_before[position + n] - chars_before[position])
            for inside in range(position + 1, min(position + n, grams.size)):
                if is_first[inside]:
                    skipped_first.add(int(grams[inside]))
            next_free = position + n
        else:
            added.add(gram)
    return chars


# A sentence ends at a word ending in . ! or ? (optionally then one closing quote or bracket) that has a word after it.
_SENTENCE_BOUNDARY = re.compile(r"[.!?][\"')\]”’»]?(?=\s+\S)")
_POLICY = re.compile("|".join(map(re.escape, C4_POLICY_SUBSTRINGS)))


def _word_failures(text: str, words: list[str], families: frozenset[str]) -> list[str]:
    """Rules that look at words only (no lines)."""
    out: list[str] = []
    n_words = len(words)
    if "gopher_quality" in families:
        lengths = [len(word) for word in words if word.translate(_DELETE_PUNCTUATION)]
        if not GOPHER_MIN_WORDS <= len(lengths) <= GOPHER_MAX_WORDS:
            out.append("gopher_word_count")
        if lengths and not GOPHER_MIN_MEAN_WORD <= sum(lengths) / len(lengths) <= GOPHER_MAX_MEAN_WORD:
            out.append("gopher_mean_word_length")
        if text.count("#") / n_words > GOPHER_MAX_SYMBOL_RATIO:
            out.append("gopher_hash_ratio")
        if (text.count("...") + text.count("…")) / n_words > GOPHER_MAX_SYMBOL_RATIO:
            out.append("gopher_ellipsis_ratio")
        if sum(any(char.isalpha() for char in word) for word in words) / n_words < GOPHER_MIN_ALPHA_WORDS:
            out.append("gopher_alpha_words")
        if len(set(_STOP.findall(text))) < GOPHER_MIN_STOP_WORDS:
            out.append("gopher_stop_words")
    if "gopher_repetition" in families:
        out += _ngram_failures(words, len(text))
    return out


def _c4_failures(text: str) -> list[str]:
    flags: set[str] = set()
    sentences = 0
    for raw in text.splitlines():
        line = raw.strip()
        tokens = line.split()
        if len(tokens) < C4_MIN_WORDS_PER_LINE:
            continue
        if len(line) > C4_MAX_WORD_LENGTH and max(map(len, tokens)) > C4_MAX_WORD_LENGTH:
            continue
        if "[" in line:
            line = _CITATION.sub("", line)
        if not line.endswith(C4_END_PUNCTUATION) or line.endswith("..."):
            continue
        lower = line.lower()
        if "lorem ipsum" in lower:
            flags.add("c4_lorem_ipsum")
        if "javascript" in lower:
            flags.add("c4_javascript")
            continue
        if "{" in line:
            flags.add("c4_curly_bracket")
        if _POLICY.search(lower):
            continue
        # Sentences of the kept line (after citations were removed: the text datatrove's sentencizer sees).
        sentences += 1 + len(_SENTENCE_BOUNDARY.findall(line))
    if sentences < C4_MIN_SENTENCES:
        flags.add("c4_too_few_sentences")
    return sorted(flags)


def _line_failures(text: str, words: list[str], families: frozenset[str]) -> list[str]:
    """Rules that look at lines or paragraphs."""
    out: list[str] = []
    if "gopher_quality" in families:
        lines = text.splitlines()
        if sum(line.lstrip().startswith(("•", "-")) for line in lines) / len(lines) > GOPHER_MAX_BULLET_LINES:
            out.append("gopher_bullet_lines")
        if sum(line.rstrip().endswith(("...", "…")) for line in lines) / len(lines) > GOPHER_MAX_ELLIPSIS_LINES:
            out.append("gopher_ellipsis_lines")
    if "gopher_repetition" in families:
        paragraphs = _PARAGRAPHS.split(text.strip())
        count, chars = _find_duplicates(paragraphs)
        if count / len(paragraphs) > GOPHER_DUP_PARA_FRACTION:
            out.append("gopher_dup_para_fraction")
        if chars / len(text) > GOPHER_DUP_PARA_CHARS:
            out.append("gopher_dup_para_chars")
        lines = _LINES.split(text)
        count, chars = _find_duplicates(lines)
        if count / len(lines) > GOPHER_DUP_LINE_FRACTION:
            out.append("gopher_dup_line_fraction")
        if chars / len(text) > GOPHER_DUP_LINE_CHARS:
            out.append("gopher_dup_line_chars")
    if "c4" in families:
        out += _c4_failures(text)
    if "fineweb" in families:
        lines = [line for line in text.split("\n") if line.strip() != ""]
        if lines:
            if sum(line[-1] in TERMINAL_PUNCTUATION for line in lines) / len(lines) < FINEWEB_MIN_LINE_PUNCT:
                out.append("fineweb_line_punct")
            short = sum(len(line) <= FINEWEB_SHORT_LINE_CHARS for line in lines)
            if short / len(lines) > FINEWEB_MAX_SHORT_LINES:
                out.append("fineweb_short_lines")
            if _find_duplicates(lines)[1] / len(text.replace("\n", "")) > FINEWEB_MAX_DUP_LINE_CHARS:
                out.append("fineweb_dup_line_chars")
            if text.count("\n") / len(words) > FINEWEB_MAX_NEWLINES_PER_WORD:
                out.append("fineweb_list_ratio")
    return out


def _families(families: Iterable[str]) -> frozenset[str]:
    chosen = frozenset(families)
    unknown = sorted(chosen - set(FAMILIES))
    if unknown:
        raise ValueError(f"Unknown heuristic families {unknown}; choose from {list(FAMILIES)}.")
    return chosen


def rule_failures(text: str | None, families: Iterable[str] = FAMILIES) -> list[str]:
    """The rules one row fails (empty for an empty row), in RULES order."""
    if text is None or not text.strip():
        return []
    chosen = _families(families)
    words = text.split()
    failed = set(_word_failures(text, words, chosen) + _line_failures(text, words, chosen))
    return [name for name in RULE_NAMES if name in failed]


# ---------------------------------------------------------------------------------------------------------------
# Vectorised path
# ---------------------------------------------------------------------------------------------------------------

_CHUNK_BYTES = 1 << 19  # half a megabyte of text per step: numpy's passes over it stay in the core's cache
_PAD = 8  # zero bytes either side of a chunk, so fixed-offset reads near its ends stay inside the buffer
_STOP_TWO = "(?s)" + "|".join(  # RE2: two different stop words, in either order (datatrove: intersection >= 2)
    rf"\b{word}\b.*\b(?:{'|'.join(other for other in STOP_WORDS if other != word)})\b" for word in STOP_WORDS
)


@functools.cache
def _char_tables() -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
    """Per code point: isalpha, in PUNCTUATION_SET, isspace, in TERMINAL_PUNCTUATION (built once, ~0.3 s)."""
    size = 0x110000
    alpha = np.fromiter((chr(cp).isalpha() for cp in range(size)), dtype=bool, count=size)
    space = np.zeros(size, dtype=bool)
    space[[cp for cp in range(size) if chr(cp).isspace()]] = True
    punct = np.zeros(size, dtype=bool)
    punct[[ord(char) for char in PUNCTUATION_SET]] = True
    terminal = np.zeros(size, dtype=bool)
    terminal[[ord(char) for char in TERMINAL_PUNCTUATION]] = True
    return alpha, punct, space, terminal


def _segment_sums(values: np.ndarray, starts: np.ndarray, ends: np.ndarray) -> np.ndarray:
    """Sum of values[starts[k]:ends[k]] for each k (empty segments give 0)."""
    cumulative = np.zeros(values.size + 1, dtype=np.int64)
    np.cumsum(values, out=cumulative[1:])
    return cumulative[ends] - cumulative[starts]


_MASKS = np.array([(1 << (8 * k)) - 1 for k in range(8)] + [(1 << 64) - 1], dtype=np.uint64)
_K1, _K2, _K3 = np.uint64(0x9E3779B97F4A7C15), np.uint64(0xC2B2AE3D27D4EB4F), np.uint64(0x165667B19E3779F9)
_K1_INVERSE = np.uint64(pow(int(_K1), -1, 1 << 64))  # K1 is odd: (K1 * K1_INVERSE) mod 2**64 == 1


def _word_hashes(b: np.ndarray, starts: np.ndarray, ends: np.ndarray) -> np.ndarray:
    """A 64-bit hash per word from its first and last 8 bytes and its length: equal words hash equal (all the
    n-gram screen needs); two long words sharing both ends collide, which only sends a row to the exact check."""
    view = np.ndarray((b.size - 7,), dtype=np.uint64, buffer=b, strides=(1,))  # unaligned 8-byte loads
    lengths = ends - starts
    with np.errstate(over="ignore"):
        h = (view[starts] & _MASKS[np.minimum(lengths, 8)]) * _K1 ^ lengths.astype(np.uint64) * _K3
        long = np.flatnonzero(lengths > 8)
        h[long] ^= view[ends[long] - 8] * _K2
    return h


@dataclass
class _Text:
    """One chunk of rows as UTF-8 bytes with its words and non-ASCII characters located.

    `b` holds the rows' bytes with _PAD zero bytes either side; every other position is into the unpadded bytes
    (add _PAD to index `b`). Words are runs of bytes > 32: for regular rows exactly `str.split()`.
    """

    b: np.ndarray
    o: np.ndarray  # row offsets, rows + 1
    s: np.ndarray  # word starts
    e: np.ndarray  # word ends (exclusive)
    w0: np.ndarray  # row r's words are w0[r] <= word < w1[r]
    w1: np.ndarray
    word_chars: np.ndarray
    row_chars: np.ndarray
    continuation: np.ndarray  # positions of UTF-8 continuation bytes
    lead: np.ndarray  # positions of non-ASCII characters ...
    cp: np.ndarray  # ... and their code points
    controls: np.ndarray  # positions of bytes < 32 ...
    control_values: np.ndarray  # ... and the bytes
    _hashes: np.ndarray | None = None

    def word_hashes(self) -> np.ndarray:
        """_word_hashes of every word, made once per chunk (the line and n-gram screens both use them)."""
        if self._hashes is None:
            self._hashes = _word_hashes(self.b, self.s + _PAD, self.e + _PAD)
        return self._hashes

    @property
    def rows(self) -> int:
        return self.o.size - 1

    @property
    def n_words(self) -> np.ndarray:
        return self.w1 - self.w0

    def at(self, positions: np.ndarray) -> np.ndarray:
        """The bytes at these positions (zero just outside the chunk)."""
        return self.b[positions + _PAD]

    def equal(self, positions: np.ndarray, pattern: bytes) -> np.ndarray:
        """Whether the bytes from each position on spell `pattern`."""
        out = np.ones(positions.size, dtype=bool)
        for k, byte in enumerate(pattern):
            out &= self.b[positions + _PAD + k] == byte
        return out

    def row_of(self, positions: np.ndarray) -> np.ndarray:
        return np.searchsorted(self.o, positions, side="right") - 1

    def any_in_row(self, positions: np.ndarray) -> np.ndarray:
        hit = np.zeros(self.rows, dtype=bool)
        hit[self.row_of(positions)] = True
        return hit

    def terminal_at(self, positions: np.ndarray) -> np.ndarray:
        """Whether the character whose last byte is at each position is TERMINAL_PUNCTUATION."""
        last = self.at(positions)
        out = (last == ord(".")) | (last == ord("!")) | (last == ord("?"))
        wide = np.flatnonzero(last >= 0x80)
        if wide.size:
            out[wide] = _char_tables()[3][self.cp[np.searchsorted(self.lead, positions[wide], side="right") - 1]]
        return out


def _text(data: np.ndarray, offsets: np.ndarray) -> _Text:
    """Locate the words and the non-ASCII characters of rows offsets[0..-1] (absolute offsets into data)."""
    base = int(offsets[0])
    o = (offsets - base).astype(np.int64)
    nb = int(o[-1])
    b = np.zeros(nb + 2 * _PAD, dtype=np.uint8)
    b[_PAD : _PAD + nb] = data[base : base + nb]
    bb = b[_PAD : _PAD + nb]

    ws = bb <= 32
    present = o[:-1] < o[1:]
    before = np.empty(nb, dtype=bool)
    after = np.empty(nb, dtype=bool)
    if nb:
        before[0], after[-1] = True, True
        before[1:], after[:-1] = ws[:-1], ws[1:]
        before[o[:-1][present]], after[o[1:][present] - 1] = True, True  # a word never runs into the next row
    word = ~ws
    s = np.flatnonzero(word & before)
    e = np.flatnonzero(word & after) + 1
    w0, w1 = np.searchsorted(s, o[:-1]), np.searchsorted(s, o[1:])

    # Characters = bytes - UTF-8 continuation bytes (which always lie inside a word).
    continuation = np.flatnonzero((bb & 0xC0) == 0x80)
    word_chars = (e - s) - np.bincount(np.searchsorted(s, continuation, side="right") - 1, minlength=s.size)
    row_chars = np.diff(o) - np.bincount(np.searchsorted(o, continuation, side="right") - 1, minlength=o.size - 1)

    lead = np.flatnonzero(bb >= 0xC0)
    b0 = bb[lead].astype(np.int64)
    b1, b2, b3 = ((b[lead + _PAD + k] & 0x3F).astype(np.int64) for k in (1, 2, 3))
    cp = np.where(
        b0 < 0xE0,
        ((b0 & 0x1F) << 6) | b1,
        np.where(b0 < 0xF0, ((b0 & 0x0F) << 12) | (b1 << 6) | b2, ((b0 & 0x07) << 18) | (b1 << 12) | (b2 << 6) | b3),
    )
    controls = np.flatnonzero(bb < 32)
    return _Text(b, o, s, e, w0, w1, word_chars, row_chars, continuation, lead, np.minimum(cp, 0x10FFFF), controls,
                 bb[controls])  # fmt: skip


@dataclass
class _Chunk:
    """Verdicts for one chunk of rows (indices local to the chunk)."""

    regular: np.ndarray  # byte-level words are str.split(): plain ASCII whitespace, no other control characters
    lines_in_python: np.ndarray  # regular rows whose line rules must be judged in Python
    flags: dict[str, np.ndarray]  # rule -> failing rows (valid for regular rows; line rules where not in Python)
    ngram_check: np.ndarray  # regular rows whose n-gram rules must be computed exactly
    n_words: np.ndarray


def _chunk_features(data: np.ndarray, offsets: np.ndarray, families: frozenset[str], pre: dict[str, np.ndarray]):
    """Verdicts for rows offsets[0..-1]: every rule vectorised for regular rows, plus the rows Python must judge."""
    t = _text(data, offsets)
    space_of = _char_tables()[2]
    values = t.control_values
    odd_control = (values < 9) | ((values > 13) & (values < 28))
    regular = ~(t.any_in_row(t.controls[odd_control]) | t.any_in_row(t.lead[space_of[t.cp]]))
    nothing = np.zeros(t.rows, dtype=bool)
    if not t.s.size:  # every regular row is empty (whitespace only)
        return _Chunk(regular, nothing, {}, nothing, t.n_words)
    flags = _gopher_words(t, pre) if "gopher_quality" in families else {}
    ngram_check = _ngram_screen(t, t.word_hashes()) if "gopher_repetition" in families else nothing
    line_flags, lines_in_python = _line_rules(t, families, pre)
    flags.update(line_flags)
    return _Chunk(regular, lines_in_python & regular, flags, ngram_check, t.n_words)


def _gopher_words(t: _Text, pre: dict[str, np.ndarray]) -> dict[str, np.ndarray]:
    """Gopher quality's word rules (its line rules are in _line_rules)."""
    alpha_of, punct_of, _, _ = _char_tables()
    bb = t.b[_PAD:-_PAD]
    low = bb | 0x20
    alpha = (low - 97).astype(np.uint8) < 26  # uint8 wraps below 'a'
    content = alpha | ((bb - 48).astype(np.uint8) < 10)
    alpha[t.lead] = alpha_of[t.cp]
    content[t.lead] = ~punct_of[t.cp]
    # Per word: the bytes from its start to the next word's start (the word, then whitespace).
    has_alpha = np.logical_or.reduceat(alpha, t.s) if t.s.size else np.zeros(0, dtype=bool)
    has_content = np.logical_or.reduceat(content, t.s) if t.s.size else np.zeros(0, dtype=bool)
    non_symbol = _segment_sums(has_content, t.w0, t.w1)
    total_length = _segment_sums(np.where(has_content, t.word_chars, 0), t.w0, t.w1)
    with np.errstate(divide="ignore", invalid="ignore"):
        mean = total_length / non_symbol
        alpha_share = _segment_sums(has_alpha, t.w0, t.w1) / t.n_words
    return {
        "gopher_word_count": (non_symbol < GOPHER_MIN_WORDS) | (non_symbol > GOPHER_MAX_WORDS),
        "gopher_mean_word_length": (non_symbol > 0) & ((mean < GOPHER_MIN_MEAN_WORD) | (mean > GOPHER_MAX_MEAN_WORD)),
        "gopher_alpha_words": alpha_share < GOPHER_MIN_ALPHA_WORDS,
        "gopher_stop_words": ~pre["stop_words"],
    }


def _line_rules(t: _Text, families: frozenset[str], pre: dict[str, np.ndarray]):
    """Line rules for rows whose only line break is "\\n"; returns the flags and the rows left to Python (other
    line breaks, possibly repeated lines, or C4 substrings on a row of several lines)."""
    rows = np.arange(t.rows)
    present = t.o[:-1] < t.o[1:]
    values = t.control_values
    newline_only = ~t.any_in_row(t.controls[(values != 9) & (values != 10)])
    newlines = t.controls[values == 10]
    newline_row = t.row_of(newlines)
    # Lines are the pieces between "\n" (text.split("\n")), ordered by row then position.
    starts = np.concatenate([t.o[:-1][present], newlines + 1])
    ends = np.concatenate([newlines, t.o[1:][present]])
    start_rows = np.concatenate([rows[present], newline_row])
    end_rows = np.concatenate([newline_row, rows[present]])
    order_start, order_end = np.lexsort((starts, start_rows)), np.lexsort((ends, end_rows))
    line_start, line_end, line_row = starts[order_start], ends[order_end], start_rows[order_start]
    lw0, lw1 = np.searchsorted(t.s, line_start), np.searchsorted(t.s, line_end)
    has_words = lw1 > lw0
    first = t.s[np.minimum(lw0, t.s.size - 1)]  # (for lines with words; the chunk has some)
    last_word = np.maximum(lw1 - 1, 0)
    last_end = t.e[last_word]
    lines_per_row = np.bincount(line_row, minlength=t.rows)
    several = lines_per_row > 1

    def per_row(line_values: np.ndarray) -> np.ndarray:
        return np.bincount(line_row, weights=line_values, minlength=t.rows)

    flags: dict[str, np.ndarray] = {}
    to_python = ~newline_only
    if "gopher_quality" in families:
        # str.splitlines() drops the empty piece after a final "\n".
        split_lines = lines_per_row - (present & (t.at(np.maximum(t.o[1:] - 1, 0)) == 10))
        bullet = has_words & ((t.at(first) == ord("-")) | t.equal(first, "•".encode()))
        # (A word shorter than the pattern cannot end with it: the bytes before it belong to whitespace or
        # to the previous row.)
        long_enough = t.e[last_word] - t.s[last_word] >= 3
        ellipsis = has_words & long_enough & (t.equal(last_end - 3, b"...") | t.equal(last_end - 3, "…".encode()))
        with np.errstate(divide="ignore", invalid="ignore"):
            flags["gopher_bullet_lines"] = per_row(bullet) / split_lines > GOPHER_MAX_BULLET_LINES
            flags["gopher_ellipsis_lines"] = per_row(ellipsis) / split_lines > GOPHER_MAX_ELLIPSIS_LINES
    if "c4" in families:
        substrings = pre["lorem"] | pre["javascript"] | pre["curly"] | pre["policy"]
        to_python |= several & substrings  # which line holds them decides: judged in Python
        kept = has_words & (lw1 - lw0 >= C4_MIN_WORDS_PER_LINE) & _c4_line_end_ok(t, last_word)
        kept &= _segment_sums(t.word_chars > C4_MAX_WORD_LENGTH, lw0, lw1) == 0
        ends_sentence = _ends_sentence_words(t)
        boundaries = _segment_sums(ends_sentence, lw0, lw1) - np.where(has_words, ends_sentence[last_word], 0)
        counted = kept & ~(pre["javascript"] | pre["policy"])[line_row]
        any_kept = per_row(kept) > 0
        flags["c4_lorem_ipsum"] = any_kept & pre["lorem"]
        flags["c4_javascript"] = any_kept & pre["javascript"]
        flags["c4_curly_bracket"] = any_kept & ~pre["javascript"] & pre["curly"]
        flags["c4_too_few_sentences"] = per_row(np.where(counted, 1 + boundaries, 0)) < C4_MIN_SENTENCES
    if "fineweb" in families:
        # FineWeb's lines are the pieces with something besides whitespace; their raw last character counts.
        line_chars = (line_end - line_start) - (
            np.searchsorted(t.continuation, line_end) - np.searchsorted(t.continuation, line_start)
        )
        terminal = has_words & t.terminal_at(np.maximum(line_end - 1, 0))
        with np.errstate(divide="ignore", invalid="ignore"):
            nonempty = per_row(has_words)
            flags["fineweb_line_punct"] = per_row(terminal) / nonempty < FINEWEB_MIN_LINE_PUNCT
            short = per_row(has_words & (line_chars <= FINEWEB_SHORT_LINE_CHARS)) / nonempty
            flags["fineweb_short_lines"] = short > FINEWEB_MAX_SHORT_LINES
            newline_count = np.bincount(newline_row, minlength=t.rows)
            flags["fineweb_list_ratio"] = newline_count / t.n_words > FINEWEB_MAX_NEWLINES_PER_WORD
    if families & {"gopher_repetition", "fineweb"}:
        to_python |= _repeated_line_rows(t, line_start, line_end, line_row, lw0, lw1, several)
    return flags, to_python


def _c4_line_end_ok(t: _Text, last_word: np.ndarray) -> np.ndarray:
    """C4: the stripped line (whose last word is given) ends in . ? ! " or ' and not in "..."."""
    end = t.e[last_word]
    last = t.at(end - 1)
    punctuation = (last == ord(".")) | (last == ord("?")) | (last == ord("!")) | (last == ord('"'))
    dots = (end - t.s[last_word] >= 3) & t.equal(end - 3, b"...")
    return (punctuation | (last == ord("'"))) & ~dots


def _ends_sentence_words(t: _Text) -> np.ndarray:
    """Per word: it ends in . ! or ?, optionally followed by one closing quote or bracket (_SENTENCE_BOUNDARY)."""

    def is_stop(values: np.ndarray) -> np.ndarray:
        return (values == ord(".")) | (values == ord("!")) | (values == ord("?"))

    last = t.at(t.e - 1)
    length = t.e - t.s  # guards: the bytes before a word's first byte are not the word's
    out = is_stop(last)
    closer = np.flatnonzero((last == ord('"')) | (last == ord("'")) | (last == ord(")")) | (last == ord("]")))
    out[closer] = (length[closer] >= 2) & is_stop(t.at(t.e[closer] - 2))
    wide = np.flatnonzero(last >= 0x80)  # typographic closers: ” ’ »
    end, size = t.e[wide], length[wide]
    quote = (size >= 4) & (t.equal(end - 3, "”".encode()) | t.equal(end - 3, "’".encode())) & is_stop(t.at(end - 4))
    guillemet = (size >= 3) & t.equal(end - 2, "»".encode()) & is_stop(t.at(end - 3))
    out[wide] = quote | guillemet
    return out


def _repeated_line_rows(t: _Text, line_start, line_end, line_row, lw0, lw1, several) -> np.ndarray:
    """Rows where two of Gopher's lines (pieces of re.split("\\n+")) may be equal: compared by their words, so
    lines that differ only in spacing, or hold only spaces, count as equal here (Python then decides exactly)."""
    rows = np.zeros(t.rows, dtype=bool)
    items = np.flatnonzero(several[line_row] & (line_end > line_start))
    if not items.size:
        return rows
    h = t.word_hashes()
    words = t.s.size
    power = np.ones(words + 1, dtype=np.uint64)
    with np.errstate(over="ignore"):
        np.cumprod(np.full(words, _K1, dtype=np.uint64), out=power[1:])
        inverse = np.ones(words + 1, dtype=np.uint64)
        np.cumprod(np.full(words, _K1_INVERSE, dtype=np.uint64), out=inverse[1:])
        prefix = np.zeros(words + 1, dtype=np.uint64)
        np.cumsum(h * power[:words], out=prefix[1:])
        w0, w1 = lw0[items], lw1[items]
        keys = (prefix[w1] - prefix[w0]) * inverse[w0] ^ (w1 - w0).astype(np.uint64) * _K3
        # re.split("\\n+") also yields "" for a leading and a trailing "\n": an empty line, key 0.
        starts_empty = np.flatnonzero(several & (t.at(t.o[:-1]) == 10))
        ends_empty = np.flatnonzero(several & (t.at(np.maximum(t.o[1:] - 1, 0)) == 10))
        all_rows = np.concatenate([line_row[items], starts_empty, ends_empty])
        keys = np.concatenate([np.where(w1 > w0, keys, 0), np.zeros(starts_empty.size + ends_empty.size, np.uint64)])
        keys ^= all_rows.astype(np.uint64) * _K2
    rows[all_rows[pd.Series(keys).duplicated(keep=False).to_numpy()]] = True
    return rows


def _ngram_screen(t: _Text, h: np.ndarray) -> np.ndarray:
    """Rows whose repetition rules could fail: an upper bound on each rule's value exceeds its threshold.

    Every occurrence of an n-gram that repeats in a row (n >= 2) starts a run of n-1 bigrams that each repeat
    in the row. So the most frequent n-gram's characters times its count are at most (a) the characters of all
    windows made of repeated bigrams, and (b) the largest of a window's characters times the smallest count of its
    bigrams (the first n-gram's length when nothing repeats is among those); the repeated 5..10-gram characters
    are at most the characters of the words the windows of five words cover. `h` holds the word hashes.
    """
    words = t.s.size
    n_words = t.n_words
    row_of_word = np.repeat(np.arange(t.rows), n_words)
    pairs = np.flatnonzero(row_of_word[:-1] == row_of_word[1:])
    with np.errstate(over="ignore"):
        keys = (h[pairs] * _K1) ^ ((h[pairs + 1] << np.uint64(17)) | (h[pairs + 1] >> np.uint64(47)))
        keys ^= row_of_word[pairs].astype(np.uint64) * _K3
    twice = pd.Series(keys).duplicated(keep=False).to_numpy()  # a hash table pass; counting only the few repeats
    counts = np.zeros(words, dtype=np.int64)  # per word: how often the bigram starting there occurs in its row
    counts[pairs] = 1  # (0 for a row's last word; equal hashes only ever add)
    if twice.any():
        codes = pd.factorize(keys[twice])[0]
        counts[pairs[twice]] = np.bincount(codes)[codes]
    repeated = counts >= 2

    chars_before = np.zeros(words + 1, dtype=np.int64)
    np.cumsum(t.word_chars, out=chars_before[1:])
    limit = t.row_chars.astype(np.float64) * (1 - 1e-9)  # a hair under the row length: never miss a tie
    check = np.zeros(t.rows, dtype=bool)
    window = repeated.copy()  # window[i]: bigrams i .. i+n-2 all repeat
    fewest = counts.copy()  # fewest[i]: the smallest count among bigrams i .. i+n-2
    present = np.flatnonzero(n_words > 0)
    for n, frac in TOP_NGRAMS:
        if n > 2:
            window[: words - n + 2] &= repeated[n - 2 :]
            window[max(words - n + 2, 0) :] = False
            np.minimum(fewest[: words - n + 2], counts[n - 2 :], out=fewest[: words - n + 2])
            fewest[max(words - n + 2, 0) :] = 0
        span = np.zeros(words, dtype=np.int64)
        reach = max(words - n + 1, 0)
        span[:reach] = chars_before[n : n + reach] - chars_before[:reach] + n - 1
        starts = np.flatnonzero(window[:reach])
        mass = np.zeros(words, dtype=np.int64)
        mass[starts] = span[starts]
        summed = _segment_sums(mass, t.w0, t.w1)
        largest = np.zeros(t.rows, dtype=np.int64)
        if present.size:
            largest[present] = np.maximum.reduceat(fewest * span, t.w0[present])
        has_n = n_words >= n
        first = np.where(has_n, chars_before[np.minimum(t.w0 + n, words)] - chars_before[t.w0] + n - 1, 0)
        check |= has_n & (np.minimum(np.maximum(summed, first), largest) > frac * limit)
    window[: max(words - 3, 0)] &= repeated[3:]  # now 5-word windows of repeated bigrams
    window[max(words - 3, 0) :] = False
    covered_before = np.zeros(words + 1, dtype=np.int64)
    np.cumsum(window, out=covered_before[1:])
    index = np.arange(words)
    covered = covered_before[index + 1] - covered_before[np.maximum(index - 4, 0)] > 0
    repeated_chars = _segment_sums(np.where(covered, t.word_chars, 0), t.w0, t.w1)
    return check | (repeated_chars > min(frac for _, frac in DUP_NGRAMS) * limit)


_C4_PHRASES = {
    "lorem": "lorem ipsum", "javascript": "javascript", "terms": "terms of use", "privacy": "privacy policy",
    "cookie": "cookie",
}  # fmt: skip


def _prefilters(arr: pa.Array, families: frozenset[str]) -> dict[str, np.ndarray]:
    """Row flags from RE2 scans over the whole column (literal scans cost ~0.05-0.2 s per million rows)."""
    patterns: dict[str, str] = {}
    if "gopher_quality" in families:
        patterns.update({"stop_words": _STOP_TWO, "hash": "#", "dots": r"\.\.\.", "ellipsis_char": "…"})
    if "c4" in families:
        # The five case-insensitive phrases are rare: one scan finds the rows with any, each is then looked for there
        # (a case-insensitive scan costs four times a literal one).
        patterns.update({"curly": r"\{", "bracket": r"\[", "phrases": "(?i)" + "|".join(_C4_PHRASES.values())})
    pre = regex_rows(arr, patterns)
    if "c4" in families:
        phrase_rows = np.flatnonzero(pre.pop("phrases"))
        subset = arr.take(pa.array(phrase_rows)) if phrase_rows.size else None
        for name, phrase in _C4_PHRASES.items():
            pre[name] = np.zeros(len(arr), dtype=bool)
            if subset is not None:
                pre[name][phrase_rows[regex_rows(subset, {name: "(?i)" + phrase})[name]]] = True
    if "gopher_quality" in families:
        pre["ellipsis"] = pre.pop("dots") | pre.pop("ellipsis_char")
    if "c4" in families:
        policy = pre.pop("terms") | pre.pop("privacy")
        cookie = np.flatnonzero(pre.pop("cookie"))
        if cookie.size:
            phrases = "(?i)" + "|".join(C4_POLICY_SUBSTRINGS)
            policy[cookie[regex_rows(arr.take(pa.array(cookie)), {"p": phrases})["p"]]] = True
        pre["policy"] = policy
        # Citations are removed before C4's end-of-line test: rows with one are judged in Python.
        bracket = np.flatnonzero(pre.pop("bracket"))
        citation = np.zeros(len(arr), dtype=bool)
        if bracket.size:
            citation[bracket[regex_rows(arr.take(pa.array(bracket)), {"c": _CITATION.pattern})["c"]]] = True
        pre["citation"] = citation
    return pre


def _chunk_bounds(offsets: np.ndarray) -> list[tuple[int, int]]:
    rows = offsets.size - 1
    targets = np.arange(offsets[0], offsets[-1], _CHUNK_BYTES)
    cuts = sorted(set(np.searchsorted(offsets[:-1], targets, side="right").tolist()) | {0, rows})
    cuts = [cut for cut in cuts if 0 <= cut <= rows]
    return [(low, high) for low, high in itertools.pairwise(cuts) if high > low]


def apply_heuristics(
    texts: Sequence[str | None] | pa.Array | pa.ChunkedArray,
    families: Iterable[str] = FAMILIES,
    progress: Callable[[int, int], None] | None = None,
) -> HeuristicFindings:
    """Rows failing each rule of the chosen families; empty rows are skipped (the profiler counts them)."""
    chosen = _families(families)
    names = [rule.name for rule in RULES if rule.family in chosen]
    arr = as_string_array(texts)
    total = len(arr)
    if total == 0 or not names:
        return HeuristicFindings({name: [] for name in names})
    pre = _prefilters(arr, chosen)
    data, offsets = string_buffers(arr)
    _char_tables()  # built once, before the threads need it
    bounds = _chunk_bounds(offsets)

    def features(bound: tuple[int, int]) -> _Chunk:
        low, high = bound
        chunk_pre = {key: value[low:high] for key, value in pre.items()}
        return _chunk_features(data, offsets[low : high + 1], chosen, chunk_pre)

    plan = _Plan(total, names, ~arr.is_null().to_numpy(zero_copy_only=False))
    if total < PARALLEL_ROWS or THREADS == 1 or len(bounds) < 2:
        for low, high in bounds:
            plan.add(low, high, features((low, high)), pre, chosen)
            if progress is not None:
                progress(high, total)
    else:
        # numpy and pandas release the GIL in their loops: two threads keep both cores of a small machine busy.
        executor = ThreadPoolExecutor(max_workers=THREADS)
        try:
            for (low, high), chunk in zip(bounds, executor.map(features, bounds), strict=True):
                plan.add(low, high, chunk, pre, chosen)
                if progress is not None:
                    progress(high, total)
        finally:
            executor.shutdown(cancel_futures=True)  # a progress callback that raises (a cancelled job) stops the rest
    _judge_in_python(arr, plan, chosen)
    return HeuristicFindings({name: np.flatnonzero(plan.failed[name]).tolist() for name in names})


_LINE_RULES = frozenset(
    {"gopher_bullet_lines", "gopher_ellipsis_lines", "gopher_dup_para_fraction", "gopher_dup_para_chars",
     "gopher_dup_line_fraction", "gopher_dup_line_chars", "c4_lorem_ipsum", "c4_curly_bracket", "c4_javascript",
     "c4_too_few_sentences", "fineweb_line_punct", "fineweb_short_lines", "fineweb_dup_line_chars",
     "fineweb_list_ratio"}
)  # fmt: skip


class _Plan:
    """Vectorised verdicts so far, and the rows still to be judged (in part) in Python."""

    def __init__(self, total: int, names: list[str], valid: np.ndarray):
        self.failed = {name: np.zeros(total, dtype=bool) for name in names}
        self.valid = valid
        self.python_rows: list[int] = []  # judged entirely in Python
        self.line_rows: list[int] = []  # word rules vectorised, line rules in Python
        self.ngram_rows: list[int] = []  # n-gram rules computed exactly in Python
        self.symbol_rows: list[int] = []  # '#' and ellipsis counts taken in Python

    def add(self, low: int, high: int, chunk: _Chunk, pre: dict[str, np.ndarray], chosen: frozenset[str]) -> None:
        """Take one chunk's verdicts for rows low..high."""
        # Byte-level words decide emptiness for regular rows; the others are judged (and found empty) in Python.
        present = self.valid[low:high] & ((chunk.n_words > 0) | ~chunk.regular)
        regular = present & chunk.regular
        if "c4" in chosen:
            regular &= ~pre["citation"][low:high]
        for name, values in chunk.flags.items():
            if name in self.failed:
                self.failed[name][low:high] = values & regular
        self.python_rows += (low + np.flatnonzero(present & ~regular)).tolist()
        self.line_rows += (low + np.flatnonzero(regular & chunk.lines_in_python)).tolist()
        self.ngram_rows += (low + np.flatnonzero(regular & chunk.ngram_check)).tolist()
        if "gopher_quality" in chosen:
            symbols = pre["hash"][low:high] | pre["ellipsis"][low:high]
            self.symbol_rows += (low + np.flatnonzero(regular & symbols)).tolist()


def _texts(arr: pa.Array, rows: list[int]) -> list[str]:
    return arr.take(pa.array(rows, type=pa.int64())).to_pylist() if rows else []


def _set_rows(failed: dict[str, np.ndarray], row: int, names: Iterable[str], judged: Iterable[str]) -> None:
    """Row `row` fails `names` among the rules `judged` (the others keep their vectorised value)."""
    hit = set(names)
    for name in judged:
        if name in failed:
            failed[name][row] = name in hit


def _judge_in_python(arr: pa.Array, plan: _Plan, chosen: frozenset[str]) -> None:
    failed = plan.failed
    every = list(failed)
    for row, text in zip(plan.python_rows, _texts(arr, plan.python_rows), strict=True):
        _set_rows(failed, row, rule_failures(text, chosen), every)
    line_names = [name for name in failed if name in _LINE_RULES]
    for row, text in zip(plan.line_rows, _texts(arr, plan.line_rows), strict=True):
        _set_rows(failed, row, _line_failures(text, text.split(), chosen), line_names)
    ngram_names = [f"gopher_top_{n}gram" for n, _ in TOP_NGRAMS] + [f"gopher_dup_{n}gram" for n, _ in DUP_NGRAMS]
    for row, text in zip(plan.ngram_rows, _texts(arr, plan.ngram_rows), strict=True):
        _set_rows(failed, row, _ngram_failures(text.split(), len(text)), ngram_names)
    for row, text in zip(plan.symbol_rows, _texts(arr, plan.symbol_rows), strict=True):
        n_words = len(text.split())
        failed["gopher_hash_ratio"][row] = text.count("#") / n_words > GOPHER_MAX_SYMBOL_RATIO
        ellipses = text.count("...") + text.count("…")
        failed["gopher_ellipsis_ratio"][row] = ellipses / n_words > GOPHER_MAX_SYMBOL_RATIO
