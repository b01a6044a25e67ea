"""Rule sets and data quality runs round-trip through the database; a bad rule set stores nothing."""

from __future__ import annotations

import math

import pytest

from lib.errors import InputError
from lib.store import Store, open_store
from lib.store.quality_runs import (
    QualityRun,
    delete_rule_set,
    get_quality_run,
    get_rule_set,
    insert_quality_run,
    latest_quality_run,
    list_quality_runs,
    list_rule_sets,
    save_rule_set,
)

RULES = "# my rules\nname: ignored-for-the-stored-name\nrules:\n  - expect: no_pii\n"


def test_a_rule_set_is_saved_as_written_listed_by_name_and_deleted() -> None:
    store = open_store()
    saved = save_rule_set(store, " strict ", RULES)
    assert saved.name == "strict" and saved.yaml == RULES  # the comment survives
    save_rule_set(store, "lenient", "rules:\n  - expect: min_rows\n    count: 1\n")
    assert [rule_set.name for rule_set in list_rule_sets(store)] == ["lenient", "strict"]
    loaded = get_rule_set(store, "strict")
    assert loaded is not None and loaded.to_dict() == saved.to_dict()
    assert delete_rule_set(store, "strict") is True
    assert delete_rule_set(store, "strict") is False
    assert get_rule_set(store, "strict") is None
    assert [rule_set.name for rule_set in list_rule_sets(store)] == ["lenient"]


def test_saving_again_replaces_the_yaml_and_keeps_when_it_was_created() -> None:
    store = open_store()
    first = save_rule_set(store, "strict", RULES)
    second = save_rule_set(store, "strict", RULES.replace("no_pii", "min_rows\n    count: 5"))
    assert "min_rows" in second.yaml and second.created_at == first.created_at
    assert len(list_rule_sets(store)) == 1


@pytest.mark.parametrize(
    ("name", "text", "message"),
    [
        ("bad", "rules:\n  - expect: be_nice\n", r"Rule 1 expects 'be_nice'"),
        ("bad", "rules: [\n", r"not valid YAML"),
        ("   ", RULES, r"needs a name"),
        ("x" * 101, RULES, r"at most 100 characters"),
    ],
)
def test_an_invalid_rule_set_is_refused_and_nothing_is_stored(name: str, text: str, message: str) -> None:
    store = open_store()
    save_rule_set(store, "bad", RULES)  # an earlier good version is not overwritten by a bad one
    with pytest.raises(InputError, match=message):
        save_rule_set(store, name, text)
    assert [(rule_set.name, rule_set.yaml) for rule_set in list_rule_sets(store)] == [("bad", RULES)]


def _insert(store: Store, dataset: str = "a.jsonl", **extra: object) -> QualityRun:
    values = {
        "dataset": dataset, "sha256": "ab" * 32, "format": "jsonl", "rows": 3, "text_column": "text",
        "settings": {"sample_rows": 100_000}, "summary": {"rows": 3, "exact_duplicates": 1},
        "detail": {"findings": {"empty": {"count": 0, "rows": []}}},
    }  # fmt: skip
    return insert_quality_run(store, **{**values, **extra})  # type: ignore[arg-type]


def test_runs_round_trip_newest_first_with_the_detail_only_when_asked() -> None:
    store = open_store()
    assert latest_quality_run(store) is None and list_quality_runs(store) == []
    first = _insert(store)
    second = _insert(
        store, "b.csv", rule_set="strict", rules_passed=False, stored_path="/somewhere/b.csv",
        summary={"rows": 3, "mean": math.nan},
    )  # fmt: skip
    assert [run.id for run in list_quality_runs(store)] == [second.id, first.id]
    assert [run.id for run in list_quality_runs(store, limit=1)] == [second.id]
    assert all(run.detail == {} for run in list_quality_runs(store))
    loaded = get_quality_run(store, first.id)
    assert loaded is not None and loaded.to_dict() == first.to_dict()
    assert loaded.detail == {"findings": {"empty": {"count": 0, "rows": []}}}
    assert loaded.rule_set is None and loaded.rules_passed is None and loaded.stored_path is None
    latest = latest_quality_run(store)
    assert latest is not None and latest.id == second.id and latest.detail == {}
    assert (latest.rule_set, latest.rules_passed, latest.stored_path) == ("strict", False, "/somewhere/b.csv")
    assert latest.summary["mean"] is None and latest.summary["null_reasons"] == {"mean": "not a number"}
    assert latest_quality_run(store, with_detail=True).detail == {"findings": {"empty": {"count": 0, "rows": []}}}
    assert get_quality_run(store, second.id + 100) is None


def test_rules_passed_true_comes_back_as_true() -> None:
    store = open_store()
    run = _insert(store, rule_set="strict", rules_passed=True)
    assert run.rules_passed is True and get_quality_run(store, run.id).rules_passed is True
