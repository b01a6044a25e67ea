"""Saving a profile as a run: one kept copy per dataset SHA-256, and nothing stored half-written."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from lib.errors import InputError, StoreError
from lib.quality import runs
from lib.quality.profile import ProfileOptions, ProfileResult, profile
from lib.quality.readers import read_dataset
from lib.quality.rules import DEFAULT_RULE_SET, check_rules, parse_rule_set
from lib.quality.runs import datasets_dir, save_run, stored_dataset_path
from lib.store import open_store
from lib.store.quality_runs import get_quality_run, list_quality_runs

TEXTS = [
    "The committee approved the budget after a long discussion about the new library.",
    "Our support team answers every question within two working days, including weekends.",
    "Our support team answers every question within two working days, including weekends.",
]
DATA = "\n".join(json.dumps({"text": text}) for text in TEXTS).encode()
SETTINGS = {"near_duplicate_threshold": 0.7, "heuristic_families": [], "sample_rows": 100_000, "tokenizer": None}


@pytest.fixture(scope="module")
def result() -> ProfileResult:
    return profile(read_dataset(DATA, "support.jsonl"), ProfileOptions(heuristic_families=()))


def kept_files() -> list[str]:
    """Everything in the datasets folder, temporary files included."""
    folder = datasets_dir()
    return sorted(path.name for path in folder.iterdir()) if folder.exists() else []


def test_a_run_keeps_one_copy_per_sha_and_the_summary_and_findings_apart(result: ProfileResult) -> None:
    store = open_store()
    first = save_run(store, result, SETTINGS, None, DATA)
    copy = datasets_dir() / f"{result.dataset.sha256}.jsonl"
    assert first.stored_path == str(copy.absolute()) and copy.read_bytes() == DATA
    inode = copy.stat().st_ino
    second = save_run(store, result, SETTINGS, None, DATA)
    assert second.stored_path == first.stored_path and copy.stat().st_ino == inode  # not written again
    assert kept_files() == [copy.name]
    loaded = get_quality_run(store, first.id)
    assert loaded is not None
    assert (loaded.dataset, loaded.sha256, loaded.format, loaded.rows, loaded.text_column) == (
        "support.jsonl", result.dataset.sha256, "jsonl", 3, "text",
    )  # fmt: skip
    assert loaded.settings == SETTINGS and loaded.rule_set is None and loaded.rules_passed is None
    assert "findings" not in loaded.summary and loaded.summary["exact_duplicates"] == 1
    assert loaded.detail["findings"]["exact_duplicates"]["rows"] == [3]
    assert "clusters" in loaded.detail
    assert stored_dataset_path(loaded) == copy.absolute()


def test_a_copy_is_made_from_a_file_too_and_none_without_data(result: ProfileResult, tmp_path: Path) -> None:
    source = tmp_path / "support.jsonl"
    source.write_bytes(DATA)
    run = save_run(open_store(), result, SETTINGS, None, source)
    assert Path(run.stored_path).read_bytes() == DATA
    bare = save_run(open_store(), result, SETTINGS, None, None)
    assert bare.stored_path is None and stored_dataset_path(bare) is None
    Path(run.stored_path).unlink()  # removed later (by hand, or a clean-up): the run says there is no copy
    assert stored_dataset_path(run) is None


def test_the_rule_outcomes_decide_rules_passed(result: ProfileResult) -> None:
    result.rules = [outcome.to_dict() for outcome in check_rules(parse_rule_set(DEFAULT_RULE_SET), result)]
    try:
        run = save_run(open_store(), result, SETTINGS, "default", None)
    finally:
        result.rules = []
    assert run.rule_set == "default" and run.rules_passed is False  # 1 of 3 rows is a duplicate
    assert [rule["passed"] for rule in run.summary["rules"]] == [True, True, False, True]


def test_a_failed_insert_removes_the_copy_it_made(result: ProfileResult, monkeypatch: pytest.MonkeyPatch) -> None:
    def broken(*_args: object, **_kwargs: object) -> None:
        raise StoreError("The disk holding the database is full; free some space and try again.")

    monkeypatch.setattr(runs, "insert_quality_run", broken)
    with pytest.raises(StoreError):
        save_run(open_store(), result, SETTINGS, None, DATA)
    assert kept_files() == []
    assert list_quality_runs(open_store()) == []


def test_a_failed_insert_leaves_a_copy_that_earlier_runs_use(
    result: ProfileResult, monkeypatch: pytest.MonkeyPatch
) -> None:
    def interrupted(*_args: object, **_kwargs: object) -> None:
        raise KeyboardInterrupt  # even a Ctrl-C during the insert leaves the store consistent

    earlier = save_run(open_store(), result, SETTINGS, None, DATA)
    monkeypatch.setattr(runs, "insert_quality_run", interrupted)
    with pytest.raises(KeyboardInterrupt):
        save_run(open_store(), result, SETTINGS, None, DATA)
    assert stored_dataset_path(earlier) is not None


def test_bytes_that_are_not_the_profiled_dataset_are_refused(result: ProfileResult) -> None:
    with pytest.raises(InputError, match="changed after it was profiled"):
        save_run(open_store(), result, SETTINGS, None, DATA + b"\n")
    assert kept_files() == []  # not even a temporary file
    assert list_quality_runs(open_store()) == []
