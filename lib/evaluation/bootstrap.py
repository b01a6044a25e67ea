"""Percentile bootstrap intervals and the paired bootstrap test, vectorised with numpy.

A resample is a row of item indices drawn with replacement. Mean metrics (ROUGE-L, F1, exact match) are
re-averaged per row. Corpus metrics (BLEU, chrF) are not means of sentence scores: each row sums the items'
sufficient statistics (n-gram matches, totals, lengths) and forms the score from the sums with sacrebleu's
own formula, for all rows at once. Rows are turned into an (rows x items) count matrix, so summing is one
matrix product instead of a Python loop over resamples.
"""

from __future__ import annotations

import math
from collections.abc import Iterator
from dataclasses import dataclass

import numpy as np

DEFAULT_RESAMPLES = 1000
CONFIDENCE = 0.95
# Bound the (rows x items) matrices to about this many cells, so a 100,000-item corpus stays in memory.
_CELLS_PER_CHUNK = 4_000_000
# sacrebleu's defaults, which the BLEU and chrF modules use: 4-gram BLEU; chrF with character 6-grams, beta 2.
BLEU_ORDER = 4
CHRF_BETA = 2
_LOG_ZERO = -9999999999  # sacrebleu.utils.my_log: the log of a zero precision


# Python's math.log and math.exp over arrays, as sacrebleu uses them: numpy's own may differ in the last bit,
# and BLEU on the identity resample should be sacrebleu's number exactly. A few thousand calls: cheap.
_math_log = np.frompyfunc(math.log, 1, 1)
_math_exp = np.frompyfunc(math.exp, 1, 1)


def _log(values: np.ndarray) -> np.ndarray:
    return _math_log(values).astype(np.float64)


def _exp(values: np.ndarray) -> np.ndarray:
    return _math_exp(values).astype(np.float64)


@dataclass(frozen=True)
class PairedResult:
    """The paired bootstrap of candidate minus baseline: the interval of the delta and its p-value."""

    ci95: tuple[float, float]
    p_value: float

    @property
    def significant(self) -> bool:
        """True when the interval excludes zero."""
        low, high = self.ci95
        return low > 0 or high < 0


def resample_indices(n: int, resamples: int = DEFAULT_RESAMPLES, seed: int = 0) -> Iterator[np.ndarray]:
    """Seeded (rows x n) blocks of indices drawn with replacement, `resamples` rows in all."""
    rng = np.random.default_rng(seed)
    rows = max(1, _CELLS_PER_CHUNK // max(n, 1))
    for start in range(0, resamples, rows):
        yield rng.integers(0, n, size=(min(rows, resamples - start), n))


def counts_matrix(indices: np.ndarray, n: int) -> np.ndarray:
    """How often each item appears in each row of `indices`: a float (rows x n) matrix for matrix products."""
    rows = indices.shape[0]
    flat = (indices + n * np.arange(rows)[:, None]).ravel()
    return np.bincount(flat, minlength=rows * n).reshape(rows, n).astype(np.float64)


def bleu_from_stats(stats: np.ndarray) -> np.ndarray:
    """Corpus BLEU (0-100) from summed sacrebleu statistics, one row per corpus.

    A row is `[sys_len, ref_len, correct_1..4, total_1..4]`, as `sacrebleu.BLEU._extract_corpus_statistics`
    gives per sentence; this is `BLEU.compute_bleu` with its defaults (exponential smoothing, no effective
    order), vectorised over rows.
    """
    stats = np.atleast_2d(np.asarray(stats, dtype=np.float64))
    sys_len, ref_len = stats[:, 0], stats[:, 1]
    correct, total = stats[:, 2 : 2 + BLEU_ORDER], stats[:, 2 + BLEU_ORDER : 2 + 2 * BLEU_ORDER]
    with np.errstate(divide="ignore", invalid="ignore"):
        brevity = np.where(
            sys_len < ref_len, np.where(sys_len > 0, _exp(1 - ref_len / np.where(sys_len > 0, sys_len, 1)), 0.0), 1.0
        )
        log_sum = np.zeros(len(stats))
        smooth = np.ones(len(stats))
        stopped = np.zeros(len(stats), dtype=bool)  # sacrebleu breaks at the first order with no n-grams
        for n in range(BLEU_ORDER):
            stopped |= total[:, n] == 0
            unmatched = ~stopped & (correct[:, n] == 0)
            smooth = np.where(unmatched, smooth * 2, smooth)  # exp smoothing: 1/2, 1/4, ... of a match
            precision = np.where(unmatched, 100.0 / (smooth * total[:, n]), 100.0 * correct[:, n] / total[:, n])
            log_sum = log_sum + np.where(stopped, _LOG_ZERO, _log(np.where(stopped, 1.0, precision)))
        scores = brevity * _exp(log_sum / BLEU_ORDER)
    return np.where(correct.any(axis=1), scores, 0.0)  # no match at all: 0 (sacrebleu's early return)


def chrf_from_stats(stats: np.ndarray, beta: int = CHRF_BETA) -> np.ndarray:
    """Corpus chrF (0-100) from summed sacrebleu statistics, one row per corpus.

    A row is `[hyp, ref, match]` per n-gram order, as `sacrebleu.CHRF._extract_corpus_statistics` gives per
    sentence; this is `CHRF._compute_f_score` without eps smoothing (its default), vectorised over rows.
    """
    stats = np.atleast_2d(np.asarray(stats, dtype=np.float64))
    factor = beta**2
    avg_precision = np.zeros(len(stats))
    avg_recall = np.zeros(len(stats))
    orders = np.zeros(len(stats))
    with np.errstate(divide="ignore", invalid="ignore"):
        for i in range(stats.shape[1] // 3):
            hyp, ref, match = stats[:, 3 * i], stats[:, 3 * i + 1], stats[:, 3 * i + 2]
            counted = (hyp > 0) & (ref > 0)  # only orders with n-grams on both sides count
            avg_precision = avg_precision + np.where(counted, match / hyp, 0.0)
            avg_recall = avg_recall + np.where(counted, match / ref, 0.0)
            orders = orders + counted
        avg_precision = np.where(orders > 0, avg_precision / orders, 0.0)
        avg_recall = np.where(orders > 0, avg_recall / orders, 0.0)
        total = avg_precision + avg_recall
        scores = (1 + factor) * avg_precision * avg_recall / (factor * avg_precision + avg_recall)
    return np.where(total > 0, 100 * scores, 0.0)


_CORPUS_FORMULAS = {"bleu": bleu_from_stats, "chrf": chrf_from_stats}


def scores_for_indices(kind: str, values: np.ndarray, indices: np.ndarray) -> np.ndarray:
    """The metric on each row of `indices`: `kind` "mean" averages per-item values, "bleu"/"chrf" sum stats."""
    values = np.asarray(values, dtype=np.float64)
    counts = counts_matrix(indices, len(values))
    if kind == "mean":
        return counts @ values / len(values)
    return _CORPUS_FORMULAS[kind](counts @ values)


def percentile_interval(scores: np.ndarray, confidence: float = CONFIDENCE) -> tuple[float, float]:
    """The central `confidence` percentile interval of bootstrap scores."""
    tail = 100 * (1 - confidence) / 2
    low, high = np.percentile(scores, [tail, 100 - tail])
    return float(low), float(high)


def bootstrap_scores(kind: str, values: np.ndarray, resamples: int = DEFAULT_RESAMPLES, seed: int = 0) -> np.ndarray:
    """The metric on `resamples` seeded bootstrap resamples of the items."""
    values = np.asarray(values, dtype=np.float64)
    blocks = resample_indices(len(values), resamples, seed)
    return np.concatenate([scores_for_indices(kind, values, block) for block in blocks])


def bootstrap_interval(
    kind: str, values: np.ndarray, resamples: int = DEFAULT_RESAMPLES, seed: int = 0
) -> tuple[float, float]:
    """The percentile bootstrap 95% interval of the metric over the items."""
    return percentile_interval(bootstrap_scores(kind, values, resamples, seed))


def paired_bootstrap(
    kind: str, baseline: np.ndarray, candidate: np.ndarray, resamples: int = DEFAULT_RESAMPLES, seed: int = 0
) -> PairedResult:
    """Paired bootstrap of candidate minus baseline: both systems on the same resamples of the same items.

    The p-value is two-sided: twice the smaller share of resamples in which the delta is <= 0 or >= 0
    (Koehn 2004's sign test, with the +1 of sacrebleu's `_compute_p_value` so that it is never 0). Two
    identical systems get p = 1; a system better on every resample gets p = 2 / (resamples + 1).
    """
    baseline = np.asarray(baseline, dtype=np.float64)
    candidate = np.asarray(candidate, dtype=np.float64)
    if baseline.shape != candidate.shape:
        raise ValueError("The two systems must have statistics for the same items.")
    deltas = []
    for block in resample_indices(len(baseline), resamples, seed):
        deltas.append(scores_for_indices(kind, candidate, block) - scores_for_indices(kind, baseline, block))
    delta = np.concatenate(deltas)
    at_most_zero = (np.sum(delta <= 0) + 1) / (len(delta) + 1)
    at_least_zero = (np.sum(delta >= 0) + 1) / (len(delta) + 1)
    p_value = min(1.0, 2 * min(at_most_zero, at_least_zero))
    return PairedResult(percentile_interval(delta), float(p_value))
