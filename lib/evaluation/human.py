"""Human ratings of eval-run answers: a 1-5 score and/or a thumb per rater and sample, and how far raters agree.

Agreement is Cohen's kappa between two raters over the samples both rated: (p_o - p_e) / (1 - p_e), where
p_o is the share of samples they rated alike and p_e the share expected by chance from each rater's own
label frequencies. `human_summary` shows the unweighted kappa (a 4 against a 5 counts as a disagreement,
like a 1 against a 5); the quadratic-weighted kappa, which counts near misses on the 1-5 scale as partial
agreement, is beside it as `kappa_quadratic`. With more than two raters both are the mean over every pair
of raters that share at least two samples.
"""

from __future__ import annotations

import itertools
import math
from collections.abc import Sequence
from dataclasses import asdict, dataclass

import numpy as np

from lib.errors import InputError
from lib.store import Store
from lib.store.eval_ratings import Rating, ratings_of_run, unrated_indexes, upsert_rating
from lib.store.eval_runs import get_eval_run
from lib.store.eval_samples import sample_indexes

SCORES = (1, 2, 3, 4, 5)
THUMBS = {"up": 1, "down": -1}
MAX_RATER_CHARACTERS = 100
MAX_COMMENT_CHARACTERS = 4_000
MIN_SHARED = 2  # kappa over fewer shared samples says nothing


@dataclass(frozen=True)
class HumanSummary:
    """What people made of a run's answers, and how far they agree."""

    rated: int  # samples with at least one rating
    mean_score: float | None  # over every 1-5 score given, None when none was
    thumbs_up_share: float | None  # thumbs up / thumbs given, None when none was
    raters: list[str]
    kappa: float | None  # unweighted Cohen's kappa (mean over rater pairs); None below 2 shared samples
    kappa_pairs: int  # the (sample, rater pair) comparisons behind kappa
    kappa_on: str | None = None  # "score" (1-5) or "thumb": scores when two raters share two scored samples
    kappa_quadratic: float | None = None  # quadratic-weighted kappa on 1-5 scores (None for thumbs)

    def to_dict(self) -> dict:
        return asdict(self)


def rate(
    store: Store,
    run_id: int,
    idx: int,
    rater: str,
    score: int | None = None,
    thumb: int | None = None,
    comment: str = "",
) -> Rating:
    """Record a rater's judgement of one sample; rating it again replaces their earlier rating."""
    rater = (rater or "").strip()
    if not rater or len(rater) > MAX_RATER_CHARACTERS or not rater.isprintable():
        raise InputError(f"A rater needs a printable name of 1 to {MAX_RATER_CHARACTERS} characters; give one.")
    if score is None and thumb is None:
        raise InputError("A rating needs a score (1-5) or a thumb (up or down); give one or both.")
    if score is not None and (isinstance(score, bool) or not isinstance(score, int) or score not in SCORES):
        raise InputError(f"A score is a whole number from 1 to 5, not {score!r}; give one in that range.")
    if thumb is not None and (isinstance(thumb, bool) or thumb not in (-1, 1)):
        raise InputError(f"A thumb is 1 (up) or -1 (down), not {thumb!r}; give one of those.")
    comment = comment or ""
    if len(comment) > MAX_COMMENT_CHARACTERS:
        raise InputError(f"A comment holds at most {MAX_COMMENT_CHARACTERS:,} characters; shorten it.")
    _require_sample(store, run_id, idx)
    return upsert_rating(store, run_id, idx, rater, score, thumb, comment)


def _require_sample(store: Store, run_id: int, idx: int) -> None:
    run = get_eval_run(store, run_id)
    if run is None or run.kind != "eval":
        raise InputError(f"There is no eval run #{run_id}; `python -m lib eval runs` lists them.")
    indexes = sample_indexes(store, run_id)
    if idx not in indexes:
        last = indexes[-1] if indexes else -1
        raise InputError(f"Eval run #{run_id} has no sample {idx}; its samples are numbered 0 to {last}.")


def rating_queue(store: Store, run_id: int, rater: str) -> list[int]:
    """The samples (idx) of the run that `rater` has not rated yet, in order."""
    return unrated_indexes(store, run_id, (rater or "").strip())


def human_summary(store: Store, run_id: int) -> HumanSummary:
    """Counts, mean score, thumbs-up share and inter-rater agreement for one run."""
    return summarise(ratings_of_run(store, run_id))


def summarise(ratings: Sequence[Rating]) -> HumanSummary:
    """The summary of a list of ratings (one per rater and sample)."""
    scores = [r.score for r in ratings if r.score is not None]
    thumbs = [r.thumb for r in ratings if r.thumb is not None]
    raters = sorted({r.rater for r in ratings})
    by_rater: dict[str, dict[int, Rating]] = {name: {} for name in raters}
    for rating in ratings:
        by_rater[rating.rater][rating.idx] = rating
    kappa_on, kappa, quadratic, pairs = _agreement(by_rater)
    return HumanSummary(
        rated=len({r.idx for r in ratings}),
        mean_score=float(np.mean(scores)) if scores else None,
        thumbs_up_share=sum(1 for t in thumbs if t > 0) / len(thumbs) if thumbs else None,
        raters=raters,
        kappa=kappa,
        kappa_pairs=pairs,
        kappa_on=kappa_on,
        kappa_quadratic=quadratic,
    )


def _agreement(by_rater: dict[str, dict[int, Rating]]) -> tuple[str | None, float | None, float | None, int]:
    """(what kappa is on, mean unweighted kappa, mean quadratic kappa, comparisons) over every rater pair."""
    for field_name in ("score", "thumb"):  # scores when there are enough of them, else thumbs
        plain, weighted, comparisons = [], [], 0
        for first, second in itertools.combinations(sorted(by_rater), 2):
            shared = [
                idx for idx in sorted(by_rater[first])
                if idx in by_rater[second]
                and getattr(by_rater[first][idx], field_name) is not None
                and getattr(by_rater[second][idx], field_name) is not None
            ]  # fmt: skip
            if len(shared) < MIN_SHARED:
                continue
            a = [getattr(by_rater[first][idx], field_name) for idx in shared]
            b = [getattr(by_rater[second][idx], field_name) for idx in shared]
            labels = SCORES if field_name == "score" else (-1, 1)
            kappa = cohen_kappa(a, b, labels=labels)
            if math.isnan(kappa):  # one label throughout for both: undefined, so this pair does not count
                continue
            comparisons += len(shared)
            plain.append(kappa)
            if field_name == "score":
                weighted.append(cohen_kappa(a, b, labels=labels, weights="quadratic"))
        if comparisons:
            return field_name, _mean(plain), _mean(weighted), comparisons
    return None, None, None, 0


def _mean(values: list[float]) -> float | None:
    finite = [value for value in values if math.isfinite(value)]
    return float(np.mean(finite)) if finite else None


def cohen_kappa(first: Sequence, second: Sequence, labels: Sequence | None = None, weights: str | None = None) -> float:
    """Cohen's kappa of two raters' labels for the same items; `weights` None (unweighted) or "quadratic".

    Quadratic weights count a disagreement by the squared distance between the labels' positions in
    `labels` (pass the whole scale, e.g. 1-5, so distances are the scale's). When both raters used one
    same label throughout, chance agreement is 1 and kappa is undefined: NaN, as scikit-learn returns.
    """
    if len(first) != len(second):
        raise ValueError("both raters must label the same items")
    if weights not in (None, "quadratic"):
        raise ValueError(f"weights must be None or 'quadratic', not {weights!r}")
    scale = list(labels) if labels is not None else sorted(set(first) | set(second))
    position = {label: index for index, label in enumerate(scale)}
    k = len(scale)
    observed = np.zeros((k, k))
    for a, b in zip(first, second, strict=True):
        observed[position[a], position[b]] += 1
    observed /= max(observed.sum(), 1)
    expected = np.outer(observed.sum(axis=1), observed.sum(axis=0))
    if weights is None:
        disagreement = 1.0 - np.eye(k)
    else:
        grid = np.arange(k)
        disagreement = (grid[:, None] - grid[None, :]) ** 2 / max((k - 1) ** 2, 1)
    chance = float((disagreement * expected).sum())
    if chance == 0:
        return math.nan
    return 1.0 - float((disagreement * observed).sum()) / chance
