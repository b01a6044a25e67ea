"""Exact and near-duplicate rows: hashing of normalised text, and MinHash LSH over word 5-gram shingles.

Exact duplicates compare rows after `normalize` (NFKC, casefold, whitespace collapsed): a row repeats an earlier
one when their normalised texts are equal (8-byte BLAKE2b of the UTF-8, grouped with pandas). Empty rows
(`is_empty`, None, NaN) are left out of every count.

Near duplicates follow datatrove's MinHash defaults (word 5-gram shingles, 112 hashes, 14 bands x 8 rows at
threshold 0.8), vectorised with numpy a batch of 5,000 rows at a time:

0. Normalising. ASCII rows (most rows of most datasets) are normalised by Arrow's kernels on the batch's bytes: NFKC
   leaves ASCII unchanged and casefold is lower case, so lower-casing, trimming and collapsing whitespace runs to
   one space gives `normalize`'s bytes exactly; other rows go through `normalize` itself. The batch becomes one
   buffer of normalised texts, each followed by a newline.
1. Shingle hashes. Words are the runs between the single spaces and newlines of that buffer. A word is hashed from
   its zero-padded 16-byte chunks (two little-endian uint64 each, multiply-xor mixing started from its length; words
   over 256 bytes use BLAKE2b), and a shingle of words w_0..w_k-1 hashes to fmix64(sum C_j * w_j mod 2**64) >> 32
   with C_j = fmix64((j+1) * golden) | 1. No Python `hash()` anywhere, so signatures are the same in every process.
   A text shorter than `ngram` words is one shingle of all its words.
2. Permutations. Hash i maps a shingle hash x to (a_i * x + b_i) mod 2**32 with a_i odd (a bijection); a_i and b_i
   come from `numpy.random.RandomState(seed)` (a frozen stream, so stored signatures stay comparable across numpy
   versions). This is the 32-bit linear family text-dedup uses in its 32-bit mode; on random shingle hashes its
   Jaccard estimates have the binomial mean and spread, as datatrove's (a*x+b) mod (2**61-1) does, at a fraction of
   the cost: uint32 multiply-add vectorises, uint64 modulo does not. Minima per text come from np.minimum.reduceat.
3. LSH. Bands x rows minimise datasketch's weighted false-positive and false-negative areas with weights 0.05/0.95
   instead of its 0.5/0.5: every candidate pair is verified afterwards, so a false positive costs one comparison
   while a false negative is lost for good. At threshold 0.8 and 112 hashes that is datatrove's 14 x 8 (a pair at
   Jaccard 0.8 becomes a candidate with probability 0.92; datasketch's own choice, 9 x 12, gives 0.47). A band's key
   is a weighted sum of its values, mixed; colliding keys are found by hashing and sorting, never a loop per row.
   Rows with identical signatures (exact duplicates above all) collapse onto their first row before banding.
4. Verification and clustering. A candidate pair joins only when its estimated Jaccard (the fraction of equal
   signature values) is at least the threshold; pairs that fail are remembered so later bands skip them, as are
   pairs already joined. Joins go through a vectorised union-find (minimum label, pointer jumping). On a large
   dataset the bands' keys and colliding pairs are made by a thread per core.

`DuplicateScan` does steps 0-2 a block of rows at a time, so the profiler can run blocks on several threads.

Memory for the whole run is the low 16 bits of each signature value (num_perm x n x 2 bytes: 224 MB for 1,000,000
rows at 112 hashes) plus one 8-byte key per band and row while clustering. Two different minima agree in their low
16 bits 1 time in 65,536, which the estimate corrects for.
"""

from __future__ import annotations

import contextlib
import hashlib
from collections.abc import Callable, Iterator, Sequence
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from functools import lru_cache

import numpy as np
import pandas as pd
import pyarrow as pa
import pyarrow.compute as pc

from lib.quality.normalize import is_empty, normalize
from lib.quality.pii import PARALLEL_ROWS, THREADS, as_string_array, string_buffers

DEFAULT_THRESHOLD = 0.8
DEFAULT_NUM_PERM = 112
DEFAULT_NGRAM = 5
DEFAULT_SEED = 1
BATCH_ROWS = 5_000  # about 2.5 MB of text: the batch's arrays stay in cache
BATCH_CHARS = 8_000_000  # a batch also ends after this many bytes of text
# In a band bucket holding more than this many (distinct-signature) documents, each one is compared with the next
# BUCKET_WINDOW members only: templated pages would otherwise make O(n^2) pairs. Members still join through chains.
BUCKET_WINDOW = 16
# Every candidate pair is verified, so missing a true pair is weighted far above proposing a false one.
LSH_FALSE_POSITIVE_WEIGHT = 0.05
LSH_FALSE_NEGATIVE_WEIGHT = 0.95

_U64 = np.uint64
_MAX32 = np.uint32(0xFFFFFFFF)
_LONG_WORD = 256  # bytes; longer words (URLs, base64 blobs) are hashed one by one with BLAKE2b
_CHUNK = 16
_K_LEN = _U64(0x9E3779B97F4A7C15)
_K_LO = _U64(0xBF58476D1CE4E5B9)
_K_HI = _U64(0x94D049BB133111EB)
_ROW_SALT = 1 << 20  # band keys use other weights than shingles
_FOLD_EPS = 1 / 65536  # chance that two different minima agree in their low 16 bits
_PERM_CHUNK = 1 << 16  # shingles per permutation pass, so the working arrays stay in cache


@dataclass
class ExactDuplicates:
    """Rows equal to an earlier row after normalisation; empty rows never count."""

    first_of: np.ndarray  # int64 per row: index of the earlier row it repeats, or -1
    count: int  # rows that repeat an earlier one
    groups: list[list[int]] = field(default_factory=list)  # identical rows, first row first, largest group first

    def to_dict(self) -> dict:
        """JSON-ready summary: the count and the groups."""
        return {"count": self.count, "groups": self.groups}


@dataclass
class NearDuplicates:
    """Clusters of rows whose estimated Jaccard similarity reaches the threshold, transitively."""

    clusters: list[list[int]]  # first member = lowest row; 2+ members; largest cluster first
    count: int  # rows beyond a cluster's first member that are not exact duplicates of an earlier row
    threshold: float
    similarity: dict[tuple[int, int], float] = field(default_factory=dict)  # (first member, other) -> estimate

    def to_dict(self) -> dict:
        """JSON-ready summary: the count, the clusters and the first-member similarities."""
        return {
            "count": self.count,
            "threshold": self.threshold,
            "clusters": self.clusters,
            "similarity": [[first, other, value] for (first, other), value in self.similarity.items()],
        }


# ---------------------------------------------------------------------------------------------------------------
# Normalising in batches


@dataclass
class _Batch:
    start: int  # row index of the batch's first row
    size: int
    rows: np.ndarray  # offsets (within the batch) of the non-empty rows
    buf: np.ndarray  # uint8: their normalised texts in UTF-8, each followed by "\n"
    ends: np.ndarray  # int64: where each one's "\n" is in buf (it starts after the previous one's)

    @property
    def count(self) -> int:
        return int(self.rows.size)


def _batches(texts: Sequence[str | None] | pa.Array | pa.ChunkedArray) -> Iterator[_Batch]:
    """Normalise the rows a batch at a time; missing, non-text and whitespace-only rows are left out.

    Rows in ASCII, nearly all rows of most datasets, are normalised by Arrow's kernels (NFKC leaves ASCII as it is
    and casefold is lower case); the others go through `normalize` one by one. Either way the bytes are those of
    `normalize(text)`.
    """
    arrow = isinstance(texts, pa.Array | pa.ChunkedArray) or _is_arrow_series(texts)
    array = as_string_array(texts) if arrow else None
    total = len(texts)
    start = 0
    while start < total:
        if array is not None:
            batch = array.slice(start, BATCH_ROWS)
            python: dict[int, str] = {}
        else:
            batch, python = _arrow_batch(texts[start : start + BATCH_ROWS])  # a slice: positional for a Series too
        size = _rows_within(batch, BATCH_CHARS)
        if size < len(batch):
            batch = batch.slice(0, size)
            python = {row: text for row, text in python.items() if row < size}
        yield _normalised(start, batch, python)
        start += size


def _is_arrow_series(texts: object) -> bool:
    return isinstance(texts, pd.Series) and isinstance(texts.dtype, pd.StringDtype | pd.ArrowDtype)


def _arrow_batch(values: Sequence[object]) -> tuple[pa.Array, dict[int, str]]:
    """A batch of Python values as Arrow strings (non-text values as nulls), and the texts Arrow cannot hold (lone
    surrogates), by row, to be normalised in Python."""
    cleaned = [value if isinstance(value, str) else None for value in values]
    try:
        return pa.array(cleaned, type=pa.large_string()), {}
    except (pa.ArrowInvalid, UnicodeEncodeError):
        python = {}
        for row, value in enumerate(cleaned):
            if value is not None and not value.isascii():
                try:
                    value.encode("utf-8")
                except UnicodeEncodeError:
                    python[row], cleaned[row] = value, None
        return pa.array(cleaned, type=pa.large_string()), python


def _rows_within(batch: pa.Array, limit: int) -> int:
    """How many leading rows to take: until their bytes reach `limit` (the row crossing it included)."""
    offsets = np.frombuffer(batch.buffers()[1], dtype=np.int64)[batch.offset : batch.offset + len(batch) + 1]
    return min(len(batch), int(np.searchsorted(offsets[1:] - offsets[0], limit, side="left")) + 1)


# ASCII whitespace that is not a single space, or a run of it (Arrow's ascii_* kernels and str.split() agree on
# these six; str.split() also splits at \x1c-\x1f, whose rows are normalised in Python).
_WHITESPACE_RUN = r"[\t\n\v\f\r ]{2,}|[\t\n\v\f\r]"
_SPACE = pa.scalar(" ", pa.large_string())
_NEWLINE = pa.scalar("\n", pa.large_string())
_NOTHING = pa.scalar("", pa.large_string())


def _normalised(start: int, batch: pa.Array, python: dict[int, str]) -> _Batch:
    """The batch's non-empty rows as normalised UTF-8, each followed by "\n"."""
    data, offsets = string_buffers(batch)
    raw = data[int(offsets[0]) : int(offsets[-1])]
    n = len(batch)
    # Rows with a byte >= 0x80 or an information separator (\x1c-\x1f) are normalised in Python.
    odd = np.flatnonzero((raw >= 0x80) | ((raw - np.uint8(28)) < 4))
    in_python = np.zeros(n, dtype=bool)
    in_python[np.searchsorted(offsets - offsets[0], odd, side="right") - 1] = True
    in_python[list(python)] = True
    lowered = pc.ascii_trim_whitespace(pc.ascii_lower(batch))
    form = pc.replace_substring_regex(lowered, _WHITESPACE_RUN, " ")
    wanted = np.flatnonzero(in_python)
    if wanted.size:
        texts = batch.take(pa.array(wanted)).to_pylist()
        forms = [
            normalize(text).encode("utf-8", "surrogatepass") if isinstance(text, str) and not is_empty(text) else b""
            for text in (python.get(row, text) for row, text in zip(wanted.tolist(), texts, strict=True))
        ]
        # As bytes: a lone surrogate (from a Python list) is kept as `normalize` leaves it, as before.
        form = pc.replace_with_mask(
            form.cast(pa.large_binary()), pa.array(in_python), pa.array(forms, type=pa.large_binary())
        )
    keep = pc.fill_null(pc.greater(pc.binary_length(form), 0), False)
    kept = pc.filter(pc.binary_join_element_wise(form, _NEWLINE.cast(form.type), _NOTHING.cast(form.type)), keep)
    buf, bounds = string_buffers(kept)
    rows = np.flatnonzero(keep.to_numpy(zero_copy_only=False))
    return _Batch(start, n, rows, buf[int(bounds[0]) : int(bounds[-1])], (bounds[1:] - bounds[0] - 1).astype(np.int64))


def _text_hashes(batch: _Batch) -> np.ndarray:
    """8-byte BLAKE2b of each normalised text's UTF-8 (surrogates kept, so no row fails to encode)."""
    view = memoryview(batch.buf)
    begins = np.r_[0, batch.ends[:-1] + 1][: batch.ends.size].tolist()
    digests = b"".join(
        hashlib.blake2b(view[begin:end], digest_size=8).digest()
        for begin, end in zip(begins, batch.ends.tolist(), strict=True)
    )
    return np.frombuffer(digests, dtype="<u8").astype(np.uint64)


# ---------------------------------------------------------------------------------------------------------------
# Exact duplicates


def exact_duplicates(texts: Sequence[str | None]) -> ExactDuplicates:
    """Rows whose normalised text repeats an earlier row's; empty rows are left out of every count."""
    hashes = np.zeros(len(texts), dtype=np.uint64)
    empty = np.ones(len(texts), dtype=bool)
    for batch in _batches(texts):
        rows = batch.start + batch.rows
        hashes[rows] = _text_hashes(batch)
        empty[rows] = False
    return _exact_from_hashes(hashes, empty)


def _exact_from_hashes(hashes: np.ndarray, empty: np.ndarray) -> ExactDuplicates:
    """Group rows by text hash: first occurrences, repeat count and groups of 2+ rows."""
    first_of = np.full(len(hashes), -1, dtype=np.int64)
    rows = np.flatnonzero(~empty)
    if rows.size == 0:
        return ExactDuplicates(first_of, 0, [])
    codes, _ = pd.factorize(hashes[rows])  # codes number the distinct texts in order of first appearance
    _, first_pos = np.unique(codes, return_index=True)
    first_rows = rows[first_pos]
    first_of[rows] = first_rows[codes]
    first_of[first_rows] = -1
    return ExactDuplicates(first_of, int(np.count_nonzero(first_of >= 0)), _groups_of(codes, rows))


def _groups_of(labels: np.ndarray, rows: np.ndarray) -> list[list[int]]:
    """Rows sharing a label, as lists in row order; only groups of 2+, largest first, then by first row."""
    sizes = np.bincount(labels)
    keep = sizes[labels] >= 2
    labels, rows = labels[keep], rows[keep]
    if rows.size == 0:
        return []
    order = np.lexsort((rows, labels))
    labels, rows = labels[order], rows[order]
    starts = np.flatnonzero(np.r_[True, labels[1:] != labels[:-1]])
    lengths = np.diff(np.r_[starts, rows.size])
    ranked = np.lexsort((rows[starts], -lengths))
    members = np.split(rows, starts[1:])
    return [members[i].tolist() for i in ranked]


# ---------------------------------------------------------------------------------------------------------------
# Shingle hashing


def _fmix64(h: np.ndarray) -> np.ndarray:
    """MurmurHash3's 64-bit finaliser (in place): every input bit reaches every output bit."""
    h ^= h >> _U64(33)
    h *= _U64(0xFF51AFD7ED558CCD)
    h ^= h >> _U64(33)
    h *= _U64(0xC4CEB9FE1A85EC53)
    h ^= h >> _U64(33)
    return h


def _mix_chunk(h: np.ndarray, lo: np.ndarray, hi: np.ndarray) -> np.ndarray:
    """Fold one 16-byte chunk of a word into its running hash (in place on h, which is returned)."""
    h ^= lo
    h *= _K_LO
    h ^= hi
    h *= _K_HI
    h ^= h >> _U64(31)
    return h


@lru_cache(maxsize=16)
def _odd_weights(count: int, salt: int = 0) -> np.ndarray:
    """Independent-looking odd 64-bit weights fmix64((salt + j + 1) * golden) | 1: a sum of weighted values is equal
    for two inputs only by chance (weights that are multiples of one constant would make it a small-integer sum)."""
    weights = _fmix64(np.arange(salt + 1, salt + count + 1, dtype=np.uint64) * _K_LEN) | _U64(1)
    weights.flags.writeable = False  # cached: shared by every caller
    return weights


def _shingle_weights(ngram: int) -> np.ndarray:
    """One weight per position in a shingle, so word order matters."""
    return _odd_weights(ngram)


_BYTE_MASKS = np.array([(1 << (8 * k)) - 1 for k in range(9)], dtype=np.uint64)  # the low k bytes


def _word_hashes(buf: np.ndarray, starts: np.ndarray, lengths: np.ndarray) -> np.ndarray:
    """64-bit hash of each word buf[start:start+length], from zero-padded 16-byte chunks read as two uint64."""
    padded = np.empty(buf.size + 2 * _CHUNK, dtype=np.uint8)
    padded[: buf.size] = buf
    padded[buf.size :] = 0
    # An unaligned little-endian uint64 starting at every byte: one gather reads 8 bytes of every word at once.
    at = np.ndarray((buf.size + _CHUNK,), dtype="<u8", buffer=padded, strides=(1,))
    hashes = lengths.astype(np.uint64) * _K_LEN
    short = lengths <= _LONG_WORD
    every = bool(short.all())
    for offset in range(0, int(lengths[short].max(initial=0)), _CHUNK):
        if offset == 0 and every:  # the usual first pass: every word, no index needed
            todo, first, left = None, starts, lengths
        else:
            todo = np.flatnonzero(short & (lengths > offset))
            first, left = starts[todo] + offset, lengths[todo] - offset  # where the chunk starts, bytes left
        lo = at[first]
        lo &= _BYTE_MASKS[np.minimum(left, 8)]
        hi = at[first + 8]
        hi &= _BYTE_MASKS[np.clip(left - 8, 0, 8)]
        mixed = _mix_chunk(hashes if todo is None else hashes[todo], lo, hi)
        if todo is None:
            hashes = mixed
        else:
            hashes[todo] = mixed
    for index in np.flatnonzero(~short):  # rare: one BLAKE2b per very long word
        data = buf[starts[index] : starts[index] + lengths[index]].tobytes()
        hashes[index] = int.from_bytes(hashlib.blake2b(data, digest_size=8).digest(), "little")
    return hashes


def _shingle_hashes(buf: np.ndarray, count: int, ngram: int) -> tuple[np.ndarray, np.ndarray]:
    """32-bit hash of every word n-gram of each of `count` (non-empty, normalised) texts in `buf` (each followed by
    "\n"), and each text's first shingle."""
    # `normalize` leaves single spaces between words and no other whitespace, so words are the runs between them.
    ends = np.flatnonzero((buf == 32) | (buf == 10))
    starts = np.r_[0, ends[:-1] + 1]
    words = _word_hashes(buf, starts, ends - starts)
    doc_of_word = np.r_[0, np.cumsum(buf[ends[:-1]] == 10)]
    word_count = np.bincount(doc_of_word, minlength=count)
    word_start = np.r_[0, np.cumsum(word_count)[:-1]]
    shingle_count = np.maximum(word_count - ngram + 1, 1)
    first_shingle = np.r_[0, np.cumsum(shingle_count)[:-1]]
    total = int(shingle_count.sum())
    position = np.repeat(word_start - first_shingle, shingle_count) + np.arange(total)
    # Combine the n words from every word position at once (contiguous slices), then keep the positions that
    # start a shingle; the few short texts get their shorter sums below.
    weights = _shingle_weights(ngram)
    words = np.r_[words, np.zeros(ngram, dtype=np.uint64)]
    acc = np.zeros(words.size - ngram, dtype=np.uint64)
    for j, weight in enumerate(weights):
        acc += words[j : j + acc.size] * weight
    acc = acc[position]
    short = np.flatnonzero(word_count < ngram)
    if short.size:
        span, at = word_count[short], word_start[short]
        sums = np.zeros(short.size, dtype=np.uint64)
        for j, weight in enumerate(weights[:-1]):
            sums += words[at + j] * weight * (span > j).astype(np.uint64)
        acc[first_shingle[short]] = sums
    return (_fmix64(acc) >> _U64(32)).astype(np.uint32), first_shingle


# ---------------------------------------------------------------------------------------------------------------
# MinHash signatures


@lru_cache(maxsize=8)
def _permutations(num_perm: int, seed: int) -> tuple[np.ndarray, np.ndarray]:
    """The (a, b) of each hash (a * x + b) mod 2**32; a is odd so each hash is a bijection."""
    state = np.random.RandomState(seed)
    a = state.randint(0, 2**32, size=num_perm, dtype=np.uint64).astype(np.uint32) | np.uint32(1)
    b = state.randint(0, 2**32, size=num_perm, dtype=np.uint64).astype(np.uint32)
    return a, b


def _signature_batch(batch: _Batch, num_perm: int, ngram: int, seed: int) -> np.ndarray:
    """(num_perm, batch.count) uint32 minima of the batch's non-empty normalised texts."""
    count = batch.count
    out = np.empty((num_perm, count), dtype=np.uint32)
    if not count:
        return out
    shingles, first = _shingle_hashes(batch.buf, count, ngram)
    a, b = _permutations(num_perm, seed)
    bounds = np.r_[first, shingles.size]
    doc = 0
    while doc < count:
        # A run of whole documents with about _PERM_CHUNK shingles (at least one document).
        stop = max(doc + 1, int(np.searchsorted(bounds, bounds[doc] + _PERM_CHUNK, side="right")) - 1)
        stop = min(stop, count)
        x = shingles[bounds[doc] : bounds[stop]]
        segments = first[doc:stop] - bounds[doc]
        work = np.empty_like(x)
        for k in range(num_perm):
            np.multiply(x, a[k], out=work)
            work += b[k]
            np.minimum.reduceat(work, segments, out=out[k, doc:stop])
        doc = stop
    return out


def minhash_signatures(
    texts: Sequence[str | None], num_perm: int = DEFAULT_NUM_PERM, ngram: int = DEFAULT_NGRAM, seed: int = DEFAULT_SEED
) -> np.ndarray:
    """(n, num_perm) uint32 MinHash of each text's word n-grams after `normalize`; empty texts are all 0xFFFFFFFF."""
    _check(num_perm=num_perm, ngram=ngram)
    out = np.full((len(texts), num_perm), _MAX32, dtype=np.uint32)
    for batch in _batches(texts):
        out[batch.start + batch.rows] = _signature_batch(batch, num_perm, ngram, seed).T
    return out


def _check(num_perm: int, ngram: int, threshold: float = DEFAULT_THRESHOLD) -> None:
    if num_perm < 1 or ngram < 1:
        raise ValueError("num_perm and ngram must be at least 1.")
    if not 0.0 < threshold <= 1.0:
        raise ValueError(f"The near-duplicate threshold must be above 0 and at most 1, not {threshold}.")


# ---------------------------------------------------------------------------------------------------------------
# LSH


@lru_cache(maxsize=64)
def lsh_params(threshold: float, num_perm: int) -> tuple[int, int]:
    """(bands, rows) minimising datasketch's weighted false-positive and false-negative areas (weights 0.05/0.95)."""
    grid = np.linspace(0.0, 1.0, 2001)
    below, above = grid <= threshold, grid >= threshold
    best, best_error = (1, num_perm), np.inf
    for bands in range(1, num_perm + 1):
        rows = np.arange(1, num_perm // bands + 1)[:, None]
        candidate = 1.0 - (1.0 - grid[None, :] ** rows) ** bands  # chance a pair at Jaccard s shares a band
        false_positive = np.trapezoid(np.where(below, candidate, 0.0), grid, axis=1)
        false_negative = np.trapezoid(np.where(above, 1.0 - candidate, 0.0), grid, axis=1)
        error = LSH_FALSE_POSITIVE_WEIGHT * false_positive + LSH_FALSE_NEGATIVE_WEIGHT * false_negative
        i = int(np.argmin(error))
        if error[i] < best_error - 1e-12:
            best, best_error = (bands, i + 1), float(error[i])
    return best


def _row_keys(folded: np.ndarray) -> np.ndarray:
    """A 64-bit key per column of `folded` (rows x docs, uint16): equal columns give equal keys."""
    acc = np.zeros(folded.shape[1], dtype=np.uint64)
    for row, weight in zip(folded, _odd_weights(folded.shape[0], salt=_ROW_SALT), strict=True):
        acc += row.astype(np.uint64) * weight
    return _fmix64(acc)


def _estimate(folded: np.ndarray, left: np.ndarray, right: np.ndarray) -> np.ndarray:
    """Estimated Jaccard of each pair from 16-bit signature values, corrected for chance agreement."""
    out = np.empty(left.size, dtype=np.float64)
    step = max(1, (1 << 22) // max(1, folded.shape[0]))
    for s in range(0, left.size, step):
        equal = np.count_nonzero(folded[:, left[s : s + step]] == folded[:, right[s : s + step]], axis=0)
        out[s : s + step] = equal / folded.shape[0]
    return np.clip((out - _FOLD_EPS) / (1 - _FOLD_EPS), 0.0, 1.0)


def _compress(labels: np.ndarray) -> None:
    """Point every node straight at its root (pointer jumping, in place)."""
    while True:
        parents = labels[labels]
        if np.array_equal(parents, labels):
            return
        labels[:] = parents


def _union(labels: np.ndarray, left: np.ndarray, right: np.ndarray) -> None:
    """Merge the components of each pair (vectorised union-find; roots are the lowest member)."""
    while left.size:
        lroot, rroot = labels[left], labels[right]
        apart = lroot != rroot
        left, right, lroot, rroot = left[apart], right[apart], lroot[apart], rroot[apart]
        if not left.size:
            return
        np.minimum.at(labels, np.maximum(lroot, rroot), np.minimum(lroot, rroot))
        _compress(labels)


def _bucket_pairs(keys: np.ndarray, window: int = BUCKET_WINDOW) -> tuple[np.ndarray, np.ndarray]:
    """Pairs of documents (lower index first) whose band keys collide: all pairs in a bucket of up to window+1."""
    shared = np.flatnonzero(pd.Series(keys).duplicated(keep=False).to_numpy())
    if shared.size == 0:
        return np.empty(0, np.int64), np.empty(0, np.int64)
    order = shared[np.argsort(keys[shared], kind="stable")]  # index order inside each bucket
    sorted_keys = keys[order]
    lefts, rights = [], []
    for gap in range(1, window + 1):
        same = np.flatnonzero(sorted_keys[:-gap] == sorted_keys[gap:])
        if same.size == 0:
            break
        lefts.append(order[same])
        rights.append(order[same + gap])
    return np.concatenate(lefts), np.concatenate(rights)


@contextlib.contextmanager
def _mapper(threads: int) -> Iterator[Callable]:
    """`map`, on a pool of `threads` threads when more than one; leaving drops the work not started (a progress
    callback that raised) and joins the threads."""
    if threads <= 1:
        yield map
        return
    pool = ThreadPoolExecutor(max_workers=threads)
    try:
        yield pool.map
    finally:
        pool.shutdown(wait=True, cancel_futures=True)


def _cluster(
    folded: np.ndarray, rows: np.ndarray, threshold: float, progress: Callable[[int, int], None] | None = None
) -> np.ndarray:
    """Component root (lowest member) of each of `rows` (columns of `folded`): LSH, verification, union-find;
    `progress(done, 2 * bands)` as band keys are made and as each band is joined."""
    num_perm = folded.shape[0]
    bands, width = lsh_params(threshold, num_perm)
    # Band keys and each band's colliding pairs are independent of one another: on a large dataset they are made
    # by a thread per core (numpy and pandas' hash tables release the GIL); joining stays in band order.
    with _mapper(THREADS if rows.size >= PARALLEL_ROWS else 1) as mapper:
        keys = np.empty((bands, rows.size), dtype=np.uint64)

        def band_keys(band: int) -> None:
            keys[band] = _row_keys(folded[band * width : (band + 1) * width, rows])

        for band, _ in enumerate(mapper(band_keys, range(bands)), 1):
            if progress is not None:
                progress(band, 2 * bands)
        # Rows with identical signatures (exact duplicates above all) collapse onto their first one: an estimate of
        # 1.0 always passes, and buckets stay small. Band keys plus the hashes left over cover the whole signature.
        whole = np.zeros(rows.size, dtype=np.uint64)
        for band_key, weight in zip(keys, _odd_weights(bands, salt=_ROW_SALT), strict=True):
            whole += band_key * weight
        if bands * width < num_perm:
            whole ^= _row_keys(folded[bands * width :, rows])
        codes, _ = pd.factorize(whole)  # codes number the distinct signatures in row order
        _, first = np.unique(codes, return_index=True)
        reps = rows[first]  # ascending, since codes follow first appearance
        labels = np.arange(reps.size, dtype=np.int64)
        rejected = np.empty(0, dtype=np.int64)
        for band, (left, right) in enumerate(mapper(lambda band: _bucket_pairs(keys[band, first]), range(bands))):
            fresh = labels[left] != labels[right]  # already joined through earlier bands
            code = np.unique(left[fresh] * reps.size + right[fresh])
            code = code[~np.isin(code, rejected, assume_unique=True)]  # failed verification in an earlier band
            left, right = code // reps.size, code % reps.size
            similar = _estimate(folded, reps[left], reps[right]) >= threshold
            rejected = np.union1d(rejected, code[~similar])
            _union(labels, left[similar], right[similar])
            if progress is not None:
                progress(bands + band + 1, 2 * bands)
    return reps[labels[codes]]


# ---------------------------------------------------------------------------------------------------------------
# Near duplicates


class DuplicateScan:
    """One pass over the rows for `duplicates`, fed a block of rows at a time: text hashes, the empty mask and the
    16-bit signature values (perm x row).

    Blocks may come in any order and from several threads at once (each writes only its own rows), so a profile can
    hash one block while it checks another. Memory is reserved up front but touched block by block.
    """

    def __init__(
        self,
        rows: int,
        num_perm: int = DEFAULT_NUM_PERM,
        ngram: int = DEFAULT_NGRAM,
        seed: int = DEFAULT_SEED,
        text_hashes: bool = True,
    ) -> None:
        _check(num_perm=num_perm, ngram=ngram)
        self.rows, self.num_perm, self.ngram, self.seed = rows, num_perm, ngram, seed
        self.hashes = np.zeros(rows, dtype=np.uint64) if text_hashes else None
        self.empty = np.ones(rows, dtype=bool)
        # Only the low 16 bits of each minimum are kept: enough to compare signatures, a quarter of the memory. (The
        # high bits of a minimum are mostly zero.)
        self.folded = np.empty((num_perm, rows), dtype=np.uint16)

    def add(
        self,
        start: int,
        texts: Sequence[str | None] | pa.Array | pa.ChunkedArray,
        progress: Callable[[int, int], None] | None = None,
    ) -> None:
        """Scan rows start .. start + len(texts); `progress(done, len(texts))` after each batch."""
        self.folded[:, start : start + len(texts)] = 0xFFFF  # empty rows keep the all-max signature
        for batch in _batches(texts):
            rows = start + batch.start + batch.rows
            self.empty[rows] = False
            if self.hashes is not None:
                self.hashes[rows] = _text_hashes(batch)
            signatures = _signature_batch(batch, self.num_perm, self.ngram, self.seed)
            self.folded[:, rows] = signatures.astype(np.uint16)  # low bits
            if progress is not None:
                progress(batch.start + batch.size, len(texts))

    def exact(self) -> ExactDuplicates:
        """Exact duplicates of the scanned rows (needs the text hashes)."""
        if self.hashes is None:
            raise ValueError("This scan kept no text hashes; create it with text_hashes=True.")
        return _exact_from_hashes(self.hashes, self.empty)

    def near(
        self, exact: ExactDuplicates, threshold: float, progress: Callable[[int, int], None] | None = None
    ) -> NearDuplicates:
        """Near-duplicate clusters of the scanned rows; `progress(done, total)` per LSH band."""
        _check(num_perm=self.num_perm, ngram=self.ngram, threshold=threshold)
        return _near_from_folded(self.folded, self.empty, exact, threshold, progress)


def _scan(
    texts: Sequence[str | None],
    num_perm: int,
    ngram: int,
    seed: int,
    progress: Callable[[int, int], None] | None,
    text_hashes: bool,
) -> DuplicateScan:
    """One pass over the rows."""
    scan = DuplicateScan(len(texts), num_perm, ngram, seed, text_hashes)
    scan.add(0, texts, progress)
    return scan


def duplicates(
    texts: Sequence[str | None],
    threshold: float = DEFAULT_THRESHOLD,
    num_perm: int = DEFAULT_NUM_PERM,
    ngram: int = DEFAULT_NGRAM,
    seed: int = DEFAULT_SEED,
    progress: Callable[[int, int], None] | None = None,
) -> tuple[ExactDuplicates, NearDuplicates]:
    """Exact and near duplicates from one normalising pass (what a profile of both should call)."""
    _check(num_perm=num_perm, ngram=ngram, threshold=threshold)
    scan = _scan(texts, num_perm, ngram, seed, progress, text_hashes=True)
    exact = scan.exact()
    return exact, scan.near(exact, threshold)


def near_duplicates(
    texts: Sequence[str | None],
    threshold: float = DEFAULT_THRESHOLD,
    exact: ExactDuplicates | None = None,
    num_perm: int = DEFAULT_NUM_PERM,
    ngram: int = DEFAULT_NGRAM,
    seed: int = DEFAULT_SEED,
    progress: Callable[[int, int], None] | None = None,
) -> NearDuplicates:
    """Clusters of rows with estimated word-5-gram Jaccard >= threshold (MinHash LSH, every pair verified)."""
    _check(num_perm=num_perm, ngram=ngram, threshold=threshold)
    scan = _scan(texts, num_perm, ngram, seed, progress, text_hashes=exact is None)
    return scan.near(scan.exact() if exact is None else exact, threshold)


def _near_from_folded(
    folded: np.ndarray,
    empty: np.ndarray,
    exact: ExactDuplicates,
    threshold: float,
    progress: Callable[[int, int], None] | None = None,
) -> NearDuplicates:
    """Cluster the non-empty rows and describe the clusters."""
    rows = np.flatnonzero(~empty)
    labels = _cluster(folded, rows, threshold, progress)
    clusters = _groups_of(labels, rows)
    firsts = np.array([c[0] for c in clusters for _ in c[1:]], dtype=np.int64)
    others = np.array([m for c in clusters for m in c[1:]], dtype=np.int64)
    values = _estimate(folded, firsts, others) if others.size else np.empty(0)
    count = int(np.count_nonzero(exact.first_of[others] < 0)) if others.size else 0
    similarity = {(int(f), int(o)): round(float(v), 4) for f, o, v in zip(firsts, others, values, strict=True)}
    return NearDuplicates(clusters=clusters, count=count, threshold=threshold, similarity=similarity)
