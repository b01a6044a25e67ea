"""Human ratings: validated, replaced on re-rating, queued per rater; Cohen's kappa against textbook values."""

from __future__ import annotations

import math

import pytest

from lib.errors import InputError
from lib.evaluation.human import cohen_kappa, human_summary, rate, rating_queue
from lib.store import open_store
from lib.store.eval_samples import EvalSample, insert_run_with_samples


def stored_run(n: int = 6) -> tuple:
    store = open_store()
    samples = [EvalSample(i, f"q{i}", f"Q{i}?", None, ["a"], "a") for i in range(n)]
    run = insert_run_with_samples(store, "eval", "tiny", "set.jsonl", {}, {}, "ab" * 32, samples)
    return store, run.id


def test_textbook_kappa_yes_no_example() -> None:
    # Wikipedia's "Cohen's kappa" example: 50 proposals, both yes 20, A yes/B no 5, A no/B yes 10, both no 15.
    # p_o = 0.7, p_e = 0.5*0.6 + 0.5*0.4 = 0.5, kappa = (0.7 - 0.5) / (1 - 0.5) = 0.4.
    a = ["yes"] * 25 + ["no"] * 25
    b = ["yes"] * 20 + ["no"] * 5 + ["yes"] * 10 + ["no"] * 15
    assert cohen_kappa(a, b) == pytest.approx(0.4)


def test_quadratic_kappa_by_hand() -> None:
    # Rater B is one point above A on four of five items. Disagreement weights (i-j)^2/16:
    # observed mean 4 * (1/16) / 5 = 0.05; expected (A uniform; B 2,3,4 at 0.2, 5 at 0.4) = 0.25; kappa = 0.8.
    a, b = [1, 2, 3, 4, 5], [2, 3, 4, 5, 5]
    assert cohen_kappa(a, b, labels=range(1, 6), weights="quadratic") == pytest.approx(0.8)
    assert cohen_kappa(a, b, labels=range(1, 6)) < 0.1  # unweighted: near misses are plain misses


def test_perfect_agreement_is_one_and_systematic_disagreement_negative() -> None:
    assert cohen_kappa([1, 2, 3, 4, 5, 5], [1, 2, 3, 4, 5, 5]) == pytest.approx(1.0)
    assert cohen_kappa([1, -1, 1, -1], [-1, 1, -1, 1]) == pytest.approx(-1.0)
    assert math.isnan(cohen_kappa([3, 3], [3, 3]))  # one label throughout: undefined, as scikit-learn says


def test_a_re_rating_replaces_the_earlier_one_in_the_summary() -> None:
    store, run_id = stored_run()
    rate(store, run_id, 0, "ana", score=1, comment="wrong")
    rate(store, run_id, 0, "ana", score=5, thumb=1)
    summary = human_summary(store, run_id)
    assert (summary.rated, summary.mean_score, summary.thumbs_up_share, summary.raters) == (1, 5.0, 1.0, ["ana"])
    assert summary.kappa is None and summary.kappa_pairs == 0  # one rater: nothing to agree with


def test_two_raters_agreeing_fully_have_kappa_one() -> None:
    store, run_id = stored_run()
    for idx, score in enumerate([1, 2, 4, 5, 3]):
        rate(store, run_id, idx, "ana", score=score)
        rate(store, run_id, idx, "bo", score=score, thumb=1 if score > 3 else -1)
    summary = human_summary(store, run_id)
    assert summary.kappa == pytest.approx(1.0) and summary.kappa_quadratic == pytest.approx(1.0)
    assert (summary.kappa_pairs, summary.kappa_on, summary.rated) == (5, "score", 5)
    assert summary.mean_score == pytest.approx(3.0) and summary.thumbs_up_share == pytest.approx(0.4)


def test_three_raters_get_the_mean_pairwise_kappa_and_thumbs_count_without_scores() -> None:
    store, run_id = stored_run()
    votes = {"ana": [1, 1, -1, -1], "bo": [1, 1, -1, -1], "cy": [1, -1, 1, -1]}
    for rater, thumbs in votes.items():
        for idx, thumb in enumerate(thumbs):
            rate(store, run_id, idx, rater, thumb=thumb)
    summary = human_summary(store, run_id)
    # ana-bo agree fully (1); ana-cy and bo-cy agree on half, as chance would (0): mean 1/3.
    assert summary.kappa == pytest.approx(1 / 3) and summary.kappa_on == "thumb"
    assert summary.kappa_pairs == 12 and summary.kappa_quadratic is None


def test_one_shared_sample_is_too_few_for_kappa() -> None:
    store, run_id = stored_run()
    rate(store, run_id, 0, "ana", score=4)
    rate(store, run_id, 0, "bo", score=2)
    rate(store, run_id, 1, "ana", score=4)  # bo never rated sample 1
    assert human_summary(store, run_id).kappa is None


def test_the_queue_skips_what_the_rater_already_rated() -> None:
    store, run_id = stored_run(4)
    rate(store, run_id, 1, "ana", thumb=-1)
    rate(store, run_id, 3, "bo", thumb=1)
    assert rating_queue(store, run_id, "ana") == [0, 2, 3]
    assert rating_queue(store, run_id, "bo") == [0, 1, 2]


@pytest.mark.parametrize(
    ("kwargs", "message"),
    [
        ({"score": 6}, "from 1 to 5"),
        ({"score": 0}, "from 1 to 5"),
        ({"score": True}, "from 1 to 5"),
        ({"thumb": 0}, "1 \\(up\\) or -1"),
        ({}, "score \\(1-5\\) or a thumb"),
        ({"score": 3, "rater": " "}, "rater needs"),
        ({"score": 3, "idx": 99}, "has no sample 99; its samples are numbered 0 to 5"),
        ({"score": 3, "run_id": 999}, "no eval run #999"),
    ],
)
def test_bad_ratings_get_one_sentence_and_store_nothing(kwargs: dict, message: str) -> None:
    store, run_id = stored_run()
    arguments = {"run_id": run_id, "idx": 0, "rater": "ana", **kwargs}
    with pytest.raises(InputError, match=message) as caught:
        rate(store, **arguments)
    assert "\n" not in str(caught.value)
    assert human_summary(store, run_id).rated == 0


def test_scores_that_never_vary_leave_agreement_to_the_thumbs() -> None:
    store, run_id = stored_run()
    for idx, (ana, bo) in enumerate([(1, 1), (1, -1), (-1, -1), (-1, 1)]):
        rate(store, run_id, idx, "ana", score=4, thumb=ana)  # both always say 4: kappa on scores is undefined
        rate(store, run_id, idx, "bo", score=4, thumb=bo)
    summary = human_summary(store, run_id)
    assert summary.kappa_on == "thumb" and summary.kappa == pytest.approx(0.0) and summary.kappa_pairs == 4
