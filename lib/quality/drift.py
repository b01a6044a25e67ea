"""Compare two profiled datasets: length distributions, language mix and top word n-grams, in plain words.

Statistics and their conventions:
- Population Stability Index (PSI) = sum over bins of (b - a) * ln(b / a), a and b the shares of rows in
  each bin; bins are the baseline's (a's) deciles, and an empty bin's share is taken as EPSILON so the
  logarithm stays finite. The usual reading (Siddiqi, "Credit Risk Scorecards", Wiley 2006, and the
  industry rule of thumb since): PSI < 0.1 no significant change, 0.1-0.25 moderate change, > 0.25
  significant change.
- Two-sample Kolmogorov-Smirnov: D is the largest gap between the two cumulative distributions, p the
  chance of a gap at least that large if both samples came from one distribution (asymptotic Kolmogorov
  distribution with Stephens' small-sample correction, as in Numerical Recipes' `probks`). p < 0.05 says
  the distributions differ, but with thousands of rows even a negligible difference reaches it, so D (and
  PSI) tell how large the difference is. Lengths are integers with many ties, which makes p conservative.

Result dicts are JSON-ready and hold everything the drift figures draw (lib/quality/figures.py).
"""

from __future__ import annotations

import math
import random
import re
from collections import Counter
from collections.abc import Iterable
from dataclasses import dataclass, field

import numpy as np

from lib.quality.profile import ProfileResult

EPSILON = 1e-4  # share given to an empty bin (or a language one side lacks) in PSI
PSI_BINS = 10  # the baseline's deciles
PSI_MODERATE = 0.1
PSI_SIGNIFICANT = 0.25
KS_ALPHA = 0.05
HISTOGRAM_BINS = 40  # the shared log-spaced grid of the overlaid length figure
NGRAM_ROWS = 20_000  # rows per side the n-grams are counted on (a uniform sample beyond that)
NGRAM_CHARACTERS = 10_000  # characters read per row for n-grams: a 1 MB log row would otherwise dominate
NGRAM_CANDIDATES = 500  # the most common n-grams per side among which the largest share changes are sought
TOP = 20
SAMPLE_SEED = 0
LENGTH_UNITS = ("characters", "words")

PSI_CONVENTION = (
    "Population Stability Index: below 0.1 no significant change, 0.1 to 0.25 moderate change, above 0.25 "
    "significant change (Siddiqi, Credit Risk Scorecards, 2006, and common industry practice). Bins are the "
    f"baseline's deciles; an empty bin counts as a share of {EPSILON:g}."
)
KS_CONVENTION = (
    "Two-sample Kolmogorov-Smirnov: D is the largest gap between the two cumulative distributions (0 identical, "
    "1 disjoint); p < 0.05 means the distributions differ. With many rows even a tiny difference gives a small p, "
    "so read D and PSI for how large it is."
)
_WORD = re.compile(r"\w+(?:['’]\w+)*")


@dataclass
class LengthDrift:
    """How one length measure moved: KS and PSI, and both distributions on shared bins for the figure."""

    unit: str
    a_rows: int
    b_rows: int
    a_median: float | None
    b_median: float | None
    a_mean: float | None
    b_mean: float | None
    ks_statistic: float | None
    ks_p_value: float | None
    psi: float | None
    psi_cuts: list[float]  # the baseline's decile cut points: bins (-inf, c1], (c1, c2], ..., (ck, inf)
    psi_a_shares: list[float]
    psi_b_shares: list[float]
    histogram: dict  # {"edges": [...], "a_counts": [...], "b_counts": [...]}, log-spaced over both
    level: str | None
    meaning: str

    def to_dict(self) -> dict:
        """JSON-ready."""
        return {
            "unit": self.unit,
            "a_rows": self.a_rows,
            "b_rows": self.b_rows,
            "a_median": self.a_median,
            "b_median": self.b_median,
            "a_mean": self.a_mean,
            "b_mean": self.b_mean,
            "ks_statistic": self.ks_statistic,
            "ks_p_value": self.ks_p_value,
            "psi": self.psi,
            "psi_bins": {"cuts": self.psi_cuts, "a_shares": self.psi_a_shares, "b_shares": self.psi_b_shares},
            "histogram": self.histogram,
            "level": self.level,
            "meaning": self.meaning,
        }


@dataclass
class LanguageDrift:
    """How the language mix moved: PSI over languages and each language's share on both sides."""

    psi: float | None
    level: str | None
    a_sample: dict
    b_sample: dict
    a_detected: int
    b_detected: int
    shares: list[dict]  # [{"language", "a_share", "b_share", "change"}], largest absolute change first
    meaning: str

    def to_dict(self) -> dict:
        """JSON-ready."""
        return {
            "psi": self.psi,
            "level": self.level,
            "a_sample": self.a_sample,
            "b_sample": self.b_sample,
            "a_detected": self.a_detected,
            "b_detected": self.b_detected,
            "shares": self.shares,
            "meaning": self.meaning,
        }


@dataclass
class NgramDrift:
    """The most common word n-grams on each side and the n-grams whose share changed most."""

    n: int
    a_total: int
    b_total: int
    a_top: list[dict]  # [{"ngram", "count", "share"}]
    b_top: list[dict]
    changes: list[dict]  # [{"ngram", "a_share", "b_share", "change"}], largest absolute change first
    shared_top: int  # how many of the top TOP n-grams the two sides share
    meaning: str

    def to_dict(self) -> dict:
        """JSON-ready."""
        return {
            "n": self.n,
            "a_total": self.a_total,
            "b_total": self.b_total,
            "a_top": self.a_top,
            "b_top": self.b_top,
            "changes": self.changes,
            "shared_top": self.shared_top,
            "meaning": self.meaning,
        }


@dataclass
class DriftReport:
    """Dataset b against the baseline a, with a verdict sentence."""

    a: dict
    b: dict
    lengths: dict[str, LengthDrift]
    languages: LanguageDrift
    ngrams: dict[str, NgramDrift]
    ngram_sample: dict
    level: str  # "none" | "moderate" | "significant"
    verdict: str
    conventions: dict[str, str] = field(default_factory=lambda: {"psi": PSI_CONVENTION, "ks": KS_CONVENTION})

    def to_dict(self) -> dict:
        """The `--json` shape, and what the drift figures and the report are drawn from."""
        return {
            "a": self.a,
            "b": self.b,
            "level": self.level,
            "verdict": self.verdict,
            "lengths": {unit: drift.to_dict() for unit, drift in self.lengths.items()},
            "languages": self.languages.to_dict(),
            "ngrams": {"sample": self.ngram_sample, **{name: drift.to_dict() for name, drift in self.ngrams.items()}},
            "conventions": self.conventions,
        }


def compare(a: ProfileResult, b: ProfileResult) -> DriftReport:
    """Drift of dataset b against the baseline a."""
    a_filled, b_filled = _filled(a), _filled(b)
    lengths = {
        "characters": compare_lengths(a.char_lengths[a_filled], b.char_lengths[b_filled], "characters"),
        "words": compare_lengths(a.word_lengths[a_filled], b.word_lengths[b_filled], "words"),
    }
    languages = compare_languages(a.languages, b.languages, a.sample.to_dict(), b.sample.to_dict())
    a_rows, a_sample = _ngram_rows(a, a_filled)
    b_rows, b_sample = _ngram_rows(b, b_filled)
    a_texts = [(a.texts[row] or "")[:NGRAM_CHARACTERS] for row in a_rows]
    b_texts = [(b.texts[row] or "")[:NGRAM_CHARACTERS] for row in b_rows]
    ngrams = {"unigrams": compare_ngrams(a_texts, b_texts, 1), "bigrams": compare_ngrams(a_texts, b_texts, 2)}
    ngram_sample = {"a": a_sample, "b": b_sample, "characters_per_row": NGRAM_CHARACTERS}
    level, verdict = _verdict(a.dataset.name, b.dataset.name, lengths, languages)
    return DriftReport(
        a=_side(a, a_filled),
        b=_side(b, b_filled),
        lengths=lengths,
        languages=languages,
        ngrams=ngrams,
        ngram_sample=ngram_sample,
        level=level,
        verdict=verdict,
    )


# ---------------------------------------------------------------------------------------------------------------
# Statistics


def psi(a_shares: Iterable[float], b_shares: Iterable[float], epsilon: float = EPSILON) -> float:
    """Population Stability Index of b against a, over bins given as shares; empty bins count as `epsilon`."""
    p = np.maximum(np.asarray(list(a_shares), dtype=float), epsilon)
    q = np.maximum(np.asarray(list(b_shares), dtype=float), epsilon)
    return float(np.sum((q - p) * np.log(q / p)))


def psi_level(value: float) -> str:
    """The conventional reading: "no significant change", "moderate change" or "significant change"."""
    if value < PSI_MODERATE:
        return "no significant change"
    if value <= PSI_SIGNIFICANT:
        return "moderate change"
    return "significant change"


def kolmogorov_sf(x: float) -> float:
    """P(K > x) for the Kolmogorov distribution (the limit of sqrt(n) * D)."""
    if x <= 0:
        return 1.0
    if x < 1.18:
        # Jacobi's theta form converges fast for small x, where the alternating series does not.
        y = math.exp(-(math.pi**2) / (8 * x * x))
        cdf = math.sqrt(2 * math.pi) / x * sum(y ** ((2 * k - 1) ** 2) for k in range(1, 6))
        return min(1.0, max(0.0, 1.0 - cdf))
    total = 0.0
    for k in range(1, 101):
        term = 2 * (-1) ** (k - 1) * math.exp(-2 * k * k * x * x)
        total += term
        if abs(term) < 1e-16:
            break
    return min(1.0, max(0.0, total))


def ks_2samp(a: np.ndarray, b: np.ndarray) -> tuple[float, float]:
    """Two-sample Kolmogorov-Smirnov statistic D and its two-sided asymptotic p-value; ties are handled exactly."""
    x, y = np.sort(np.asarray(a, dtype=float)), np.sort(np.asarray(b, dtype=float))
    n, m = x.size, y.size
    if n == 0 or m == 0:
        raise ValueError("Both samples need at least one value.")
    points = np.concatenate([x, y])
    # The empirical CDFs only change at observed values; side="right" counts the ties at each value.
    gap = np.abs(np.searchsorted(x, points, side="right") / n - np.searchsorted(y, points, side="right") / m)
    d = float(gap.max())
    root = math.sqrt(n * m / (n + m))
    return d, kolmogorov_sf((root + 0.12 + 0.11 / root) * d)  # Stephens (1970)


# ---------------------------------------------------------------------------------------------------------------
# Lengths


def compare_lengths(a: np.ndarray, b: np.ndarray, unit: str) -> LengthDrift:
    """KS and PSI of b's lengths against a's (non-empty rows), and both on a shared log grid for the figure."""
    a, b = np.asarray(a, dtype=np.int64), np.asarray(b, dtype=np.int64)
    if a.size == 0 or b.size == 0:
        missing = " and ".join(side for side, values in (("a", a), ("b", b)) if values.size == 0)
        return LengthDrift(
            unit, int(a.size), int(b.size), _median(a), _median(b), _mean(a), _mean(b), None, None, None,
            [], [], [], _shared_histogram(a, b), None, f"Not compared: {missing} has no non-empty rows.",
        )  # fmt: skip
    d, p = ks_2samp(a, b)
    cuts = np.unique(np.quantile(a, np.arange(1, PSI_BINS) / PSI_BINS))
    # Bins (-inf, c1], (c1, c2], ..., (ck, inf): side="left" puts a value equal to a cut in the bin it closes.
    a_shares = np.bincount(np.searchsorted(cuts, a, side="left"), minlength=cuts.size + 1) / a.size
    b_shares = np.bincount(np.searchsorted(cuts, b, side="left"), minlength=cuts.size + 1) / b.size
    value = psi(a_shares, b_shares)
    level = psi_level(value)
    a_median, b_median = _median(a), _median(b)
    meaning = (
        f"PSI {value:.3f}: {level} (below 0.1 none, 0.1-0.25 moderate, above 0.25 significant). "
        f"Median {_number(a_median)} → {_number(b_median)} {unit}. " + _ks_meaning(d, p, a.size, b.size)
    )
    return LengthDrift(
        unit=unit,
        a_rows=int(a.size),
        b_rows=int(b.size),
        a_median=a_median,
        b_median=b_median,
        a_mean=_mean(a),
        b_mean=_mean(b),
        ks_statistic=round(d, 6),
        ks_p_value=p,
        psi=round(value, 6),
        psi_cuts=[float(cut) for cut in cuts],
        psi_a_shares=[round(float(share), 6) for share in a_shares],
        psi_b_shares=[round(float(share), 6) for share in b_shares],
        histogram=_shared_histogram(a, b),
        level=level,
        meaning=meaning,
    )


def _ks_meaning(d: float, p: float, n: int, m: int) -> str:
    """KS in words: how far apart the distributions are, and whether that could be chance."""
    gap = f"KS D = {d:.3f}: the cumulative distributions are at most {d * 100:.1f} percentage points apart; "
    if p >= KS_ALPHA:
        return gap + f"p {format_p(p)}: no evidence that the distributions differ (p ≥ 0.05)."
    if d < 0.1:  # significant but small: the large-sample caveat is the point
        return gap + (
            f"p {format_p(p)}: the distributions differ (p < 0.05), though by little (D below 0.1): with {n:,} and "
            f"{m:,} rows even small differences are significant."
        )
    return gap + f"p {format_p(p)}: the distributions differ (p < 0.05)."


def _shared_histogram(a: np.ndarray, b: np.ndarray, bins: int = HISTOGRAM_BINS) -> dict:
    """Both length arrays on one log-spaced grid (as the profile's histograms), so the figure can overlay them."""
    both = np.concatenate([a, b])
    if both.size == 0:
        return {"edges": [], "a_counts": [], "b_counts": []}
    low = max(1.0, float(both.min()))
    top = max(low + 1, float(both.max()) + 1)
    edges = np.unique(np.round(np.geomspace(low, top, bins + 1)))
    a_counts, _ = np.histogram(np.clip(a, 1, None), bins=edges)
    b_counts, _ = np.histogram(np.clip(b, 1, None), bins=edges)
    return {
        "edges": edges.astype(int).tolist(),
        "a_counts": a_counts.astype(int).tolist(),
        "b_counts": b_counts.astype(int).tolist(),
    }


# ---------------------------------------------------------------------------------------------------------------
# Languages


def compare_languages(a: dict[str, int], b: dict[str, int], a_sample: dict, b_sample: dict) -> LanguageDrift:
    """PSI over languages (shares of the rows whose language was told) and each language's share change."""
    a_total, b_total = sum(a.values()), sum(b.values())
    if not a_total or not b_total:
        missing = " and ".join(side for side, total in (("a", a_total), ("b", b_total)) if not total)
        return LanguageDrift(
            None, None, a_sample, b_sample, a_total, b_total, [], f"Not compared: no language detected in {missing}."
        )
    languages = sorted(set(a) | set(b), key=lambda code: -(a.get(code, 0) / a_total + b.get(code, 0) / b_total))
    a_shares = [a.get(code, 0) / a_total for code in languages]
    b_shares = [b.get(code, 0) / b_total for code in languages]
    value = psi(a_shares, b_shares)
    level = psi_level(value)
    shares = [
        {"language": code, "a_share": round(pa, 6), "b_share": round(pb, 6), "change": round(pb - pa, 6)}
        for code, pa, pb in zip(languages, a_shares, b_shares, strict=True)
    ]
    shares.sort(key=lambda entry: -abs(entry["change"]))
    sampled = not (a_sample.get("rows") == a_sample.get("of") and b_sample.get("rows") == b_sample.get("of"))
    top = shares[0]
    meaning = (
        f"PSI {value:.3f}: {level}. The largest move: {top['language']} {top['a_share']:.1%} → {top['b_share']:.1%} "
        "of rows whose language could be told" + (" (measured on uniform samples of rows)." if sampled else ".")
    )
    return LanguageDrift(round(value, 6), level, a_sample, b_sample, a_total, b_total, shares, meaning)


# ---------------------------------------------------------------------------------------------------------------
# N-grams


def words(text: str) -> list[str]:
    """Lowercased words (letters and digits, with inner apostrophes); stop words are kept."""
    return _WORD.findall(text.lower())


def ngram_counts(texts: Iterable[str], n: int) -> Counter[str]:
    """Word n-grams within each text (not across rows), joined by a space."""
    counts: Counter[str] = Counter()
    for text in texts:
        tokens = words(text)
        if n == 1:
            counts.update(tokens)
        else:
            counts.update(" ".join(tokens[i : i + n]) for i in range(len(tokens) - n + 1))
    return counts


def compare_ngrams(a_texts: list[str], b_texts: list[str], n: int, top: int = TOP) -> NgramDrift:
    """The top n-grams of each side with their shares, and the n-grams whose share changed most."""
    a_counts, b_counts = ngram_counts(a_texts, n), ngram_counts(b_texts, n)
    a_total, b_total = sum(a_counts.values()), sum(b_counts.values())
    a_top = _top(a_counts, a_total, top)
    b_top = _top(b_counts, b_total, top)
    # An n-gram outside both sides' most common NGRAM_CANDIDATES has a small share on both, so its change is small.
    candidates = {g for g, _ in a_counts.most_common(NGRAM_CANDIDATES)} | {
        g for g, _ in b_counts.most_common(NGRAM_CANDIDATES)
    }
    changes = []
    for gram in candidates:
        a_share = a_counts[gram] / a_total if a_total else 0.0
        b_share = b_counts[gram] / b_total if b_total else 0.0
        changes.append(
            {"ngram": gram, "a_share": round(a_share, 6), "b_share": round(b_share, 6), "change": b_share - a_share}
        )
    changes.sort(key=lambda entry: (-abs(entry["change"]), entry["ngram"]))
    changes = [{**entry, "change": round(entry["change"], 6)} for entry in changes[:top]]
    shared = len({entry["ngram"] for entry in a_top} & {entry["ngram"] for entry in b_top})
    name = "words" if n == 1 else "word pairs" if n == 2 else f"{n}-word sequences"
    if not a_total or not b_total:
        meaning = f"Not compared: {'a' if not a_total else 'b'} has no words."
    else:
        biggest = changes[0] if changes else None
        meaning = f"{shared} of the {top} most common {name} are common to both." + (
            f" The largest move: '{biggest['ngram']}' {biggest['a_share']:.2%} → {biggest['b_share']:.2%} of {name}."
            if biggest
            else ""
        )
    return NgramDrift(n, a_total, b_total, a_top, b_top, changes, shared, meaning)


def _top(counts: Counter[str], total: int, top: int) -> list[dict]:
    return [
        {"ngram": gram, "count": count, "share": round(count / total, 6)}
        for gram, count in sorted(counts.items(), key=lambda item: (-item[1], item[0]))[:top]
    ]


def _ngram_rows(result: ProfileResult, filled: np.ndarray) -> tuple[list[int], dict]:
    """Every non-empty row, or a seeded uniform sample of NGRAM_ROWS of them, and how they were chosen."""
    rows = [int(row) for row in np.flatnonzero(filled)]
    total = len(rows)
    if total > NGRAM_ROWS:
        rows = sorted(random.Random(SAMPLE_SEED).sample(rows, NGRAM_ROWS))
    method = "every non-empty row" if len(rows) == total else f"a uniform random sample (seed {SAMPLE_SEED})"
    return rows, {"rows": len(rows), "of": total, "method": method}


# ---------------------------------------------------------------------------------------------------------------
# Verdict and helpers


_LEVELS = {"no significant change": 0, "moderate change": 1, "significant change": 2}
_LEVEL_NAMES = ("none", "moderate", "significant")


def _verdict(a_name: str, b_name: str, lengths: dict[str, LengthDrift], languages: LanguageDrift) -> tuple[str, str]:
    """The worst PSI level over lengths and language mix, and one sentence saying what moved."""
    measured = [(f"{unit} per row", drift.psi, drift.level) for unit, drift in lengths.items() if drift.psi is not None]
    if languages.psi is not None:
        measured.append(("language mix", languages.psi, languages.level))
    if not measured:
        return "none", f"{b_name} could not be compared with {a_name}: one of them has no non-empty rows."
    worst = max(_LEVELS[level] for _, _, level in measured)
    if worst == 0:
        listed = ", ".join(f"{what} {value:.3f}" for what, value, _ in measured)
        return "none", f"No significant change from {a_name} to {b_name}: every PSI is below 0.1 ({listed})."
    moved = [(what, value, level) for what, value, level in measured if _LEVELS[level] > 0]
    parts = []
    for what, value, level in moved:
        part = f"{what} PSI {value:.2f} ({level.split()[0]})"
        unit = what.split()[0]
        if unit in lengths:
            drift = lengths[unit]
            part += f", median {_number(drift.a_median)} → {_number(drift.b_median)}"
        elif languages.shares:
            top = languages.shares[0]
            part += f", {top['language']} {top['a_share']:.0%} → {top['b_share']:.0%}"
        parts.append(part)
    headline = "Significant" if worst == 2 else "Moderate"
    return _LEVEL_NAMES[worst], f"{headline} change from {a_name} to {b_name}: " + "; ".join(parts) + "."


def _filled(result: ProfileResult) -> np.ndarray:
    filled = np.ones(len(result.texts), dtype=bool)
    filled[result.empty] = False
    return filled


def _side(result: ProfileResult, filled: np.ndarray) -> dict:
    return {
        "dataset": result.dataset.name,
        "sha256": result.dataset.sha256,
        "rows": len(result.texts),
        "non_empty": int(filled.sum()),
    }


def format_p(p: float) -> str:
    """A p-value for people: "= 0.032", or "< 0.0001" where it underflows towards zero."""
    return "< 0.0001" if p < 1e-4 else f"= {p:.2g}"


def _median(values: np.ndarray) -> float | None:
    return float(np.median(values)) if values.size else None


def _mean(values: np.ndarray) -> float | None:
    return round(float(values.mean()), 3) if values.size else None


def _number(value: float | None) -> str:
    if value is None:
        return "-"
    return f"{value:,.0f}" if float(value).is_integer() else f"{value:,.1f}"
