"""Eval-run samples and ratings in the store: stored with their run or not at all, kept across reopening."""

from __future__ import annotations

import sqlite3

import pytest

from lib.store import open_store
from lib.store.eval_ratings import ratings_of_run, unrated_indexes, upsert_rating
from lib.store.eval_runs import get_eval_run, list_eval_runs
from lib.store.eval_samples import EvalSample, insert_run_with_samples, list_samples, runs_on_dataset


def sample(idx: int, output: str = "Paris") -> EvalSample:
    return EvalSample(
        idx=idx, item_id=f"q{idx}", prompt=f"Question {idx}?", context="ctx" if idx else None,
        references=["Paris", "Paris, France"], output=output, scores={"f1": 100.0, "bleu": 12.5},
        prompt_tokens=20 + idx, output_tokens=3, seconds=0.25,
    )  # fmt: skip


def store_run(store, n: int = 3, sha: str = "ab" * 32) -> int:
    run = insert_run_with_samples(
        store, "eval", "tiny", "set.jsonl", {"metrics": {}}, {}, sha, [sample(i) for i in range(n)]
    )
    return run.id


def test_a_run_and_its_samples_survive_reopening_the_store() -> None:
    run_id = store_run(open_store())
    from lib.store import db

    db._migrated.clear()  # as a second process would see it
    samples = list_samples(open_store(), run_id)
    assert [s.idx for s in samples] == [0, 1, 2]
    assert samples[1].references == ["Paris", "Paris, France"] and samples[1].context == "ctx"
    assert samples[0].context is None and samples[0].scores == {"f1": 100.0, "bleu": 12.5}
    assert samples[2].prompt_tokens == 22 and samples[2].run_id == run_id


def test_a_sample_that_fails_to_insert_stores_neither_run_nor_samples() -> None:
    store = open_store()
    with pytest.raises(sqlite3.IntegrityError):  # two samples with one idx break the primary key half-way
        insert_run_with_samples(store, "eval", "tiny", "set.jsonl", {}, {}, "cd" * 32, [sample(0), sample(0)])
    assert list_eval_runs(store) == []
    with store.read() as conn:
        assert conn.execute("SELECT COUNT(*) FROM eval_samples").fetchone()[0] == 0


def test_a_re_rating_replaces_the_raters_earlier_rating() -> None:
    store = open_store()
    run_id = store_run(store)
    upsert_rating(store, run_id, 1, "ana", 2, None, "wrong city")
    upsert_rating(store, run_id, 1, "bo", None, 1)
    again = upsert_rating(store, run_id, 1, "ana", 5, -1, "")
    ratings = ratings_of_run(store, run_id)
    assert [(r.rater, r.score, r.thumb, r.comment) for r in ratings] == [("ana", 5, -1, ""), ("bo", None, 1, "")]
    assert again.id == ratings[0].id


def test_the_queue_holds_what_this_rater_has_not_rated() -> None:
    store = open_store()
    run_id = store_run(store, n=4)
    upsert_rating(store, run_id, 2, "ana", 4, None)
    upsert_rating(store, run_id, 0, "bo", 4, None)
    assert unrated_indexes(store, run_id, "ana") == [0, 1, 3]
    assert unrated_indexes(store, run_id, "new") == [0, 1, 2, 3]


@pytest.mark.parametrize(("score", "thumb"), [(6, None), (0, None), (None, 0), (None, 2), (None, None)])
def test_the_database_refuses_impossible_ratings(score, thumb) -> None:
    store = open_store()
    run_id = store_run(store)
    with pytest.raises(sqlite3.IntegrityError):
        upsert_rating(store, run_id, 0, "ana", score, thumb)


def test_a_rating_needs_an_existing_sample() -> None:
    store = open_store()
    run_id = store_run(store, n=2)
    with pytest.raises(sqlite3.IntegrityError):
        upsert_rating(store, run_id, 7, "ana", 3, None)


def test_deleting_a_run_deletes_its_samples_and_ratings() -> None:
    store = open_store()
    run_id, kept = store_run(store), store_run(store)
    upsert_rating(store, run_id, 0, "ana", 3, None)
    with store.write() as conn:
        conn.execute("DELETE FROM eval_runs WHERE id = ?", (run_id,))
    assert list_samples(store, run_id) == [] and ratings_of_run(store, run_id) == []
    assert len(list_samples(store, kept)) == 3 and get_eval_run(store, kept) is not None


def test_runs_on_one_dataset_come_oldest_first() -> None:
    store = open_store()
    first, _other, second = store_run(store), store_run(store, sha="ef" * 32), store_run(store)
    assert [run.id for run in runs_on_dataset(store, "eval", "ab" * 32)] == [first, second]
