"""Evaluation runs round-trip through the database, newest first."""

from lib.store import open_store
from lib.store.eval_runs import get_eval_run, insert_eval_run, list_eval_runs


def test_runs_are_listed_newest_first_and_filtered_by_kind() -> None:
    store = open_store()
    first = insert_eval_run(store, "perplexity", "m1", "a.txt", {"perplexity": 10.0}, {"windows": [1, 2]})
    second = insert_eval_run(store, "bleu", "m2", "b.jsonl", {"bleu": 31.2}, {})
    assert [r.id for r in list_eval_runs(store)] == [second.id, first.id]
    assert [r.id for r in list_eval_runs(store, "perplexity")] == [first.id]


def test_a_run_comes_back_with_its_detail() -> None:
    store = open_store()
    run = insert_eval_run(store, "perplexity", "m1", "a.txt", {"perplexity": 10.0}, {"windows": [{"i": 1}]})
    loaded = get_eval_run(store, run.id)
    assert loaded is not None
    assert loaded.summary == {"perplexity": 10.0}
    assert loaded.detail == {"windows": [{"i": 1}]}
    assert get_eval_run(store, run.id + 100) is None
