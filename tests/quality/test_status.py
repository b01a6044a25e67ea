"""The Data quality tile: each state, read from stored runs."""

from __future__ import annotations

import json
from datetime import datetime

from lib.quality.profile import ProfileOptions, profile
from lib.quality.readers import read_dataset
from lib.quality.rules import DEFAULT_RULE_SET, check_rules, parse_rule_set
from lib.quality.runs import save_run
from lib.quality.status import status
from lib.settings import defaults
from lib.status import CRITICAL, NO_DATA, OK, WARNING, AreaStatus
from lib.store import Store, open_store
from lib.store.quality_runs import QualityRun, insert_quality_run

PII_NONE = {"email": 0, "phone": 0, "credit_card": 0, "iban": 0, "ip": 0, "ssn": 0, "secret": 0}


def stored(
    store: Store,
    rows: int = 1_000,
    exact: int = 0,
    empty: int = 0,
    near: int = 0,
    pii: dict | None = None,
    rules: list[dict] | None = None,
    rule_set: str | None = None,
) -> QualityRun:
    """A run as `save_run` stores it, with just the counts the tile reads."""
    summary = {
        "dataset": "support.jsonl", "rows": rows, "exact_duplicates": exact, "empty": empty, "near_duplicates": near,
        "pii": {**PII_NONE, **(pii or {})}, "rules": rules or [],
    }  # fmt: skip
    passed = None if not rules else all(rule["passed"] for rule in rules)
    return insert_quality_run(
        store, dataset="support.jsonl", sha256="cd" * 32, format="jsonl", rows=rows, text_column="text",
        settings={}, summary=summary, detail={}, rule_set=rule_set, rules_passed=passed,
    )  # fmt: skip


def tile() -> AreaStatus:
    return status(open_store(), defaults())


def rule(passed: bool, description: str = "no PII", observed: str = "0 rows") -> dict:
    return {"rule": "x", "description": description, "observed": observed, "expected": "", "passed": passed}


def test_no_run_is_no_data_with_a_hint_to_upload_one() -> None:
    found = tile()
    assert (found.area, found.title, found.state, found.headline) == (
        "data-quality", "Data quality", NO_DATA, "no dataset profiled",
    )  # fmt: skip
    assert "Upload a dataset" in found.detail and found.updated_at is None


def test_failed_rules_are_critical_naming_the_worst_finding_and_the_first_failed_rule() -> None:
    store = open_store()
    run = stored(
        store, exact=48,
        rules=[
            rule(True), rule(False, "exact duplicates at most 1% of rows", "4.8% of rows (48 of 1,000)"),
            rule(True), rule(False, "language en for at least 98% of non-empty rows", "91% of 990 non-empty rows"),
        ],
        rule_set="fine-tuning",
    )  # fmt: skip
    found = tile()
    assert found.state == CRITICAL and found.headline == "2 of 4 rules failed"
    assert found.detail == (
        "support.jsonl failed rule set 'fine-tuning': worst finding: 4.8% exact duplicates; "
        "exact duplicates at most 1% of rows, observed 4.8% of rows (48 of 1,000)."
    )
    assert found.updated_at == datetime.fromisoformat(run.created_at).timestamp()


def test_passed_rules_are_ok_even_with_findings_the_rules_allow() -> None:
    stored(open_store(), exact=5, rules=[rule(True), rule(True)], rule_set="lenient")
    found = tile()
    assert found.state == OK and found.headline == "all 2 rules passed"
    assert found.detail == "support.jsonl passed rule set 'lenient': worst finding: 0.5% exact duplicates."


def test_without_rules_a_finding_over_its_limit_warns_and_pii_outranks_shares() -> None:
    store = open_store()
    stored(store, exact=48, empty=3)
    found = tile()
    assert found.state == WARNING and found.headline == "4.8% exact duplicates"
    assert "no rule set was checked" in found.detail
    stored(store, exact=48, near=80, pii={"email": 2, "phone": 7})  # the latest run is the one shown
    found = tile()
    assert found.state == WARNING and found.headline == "PII in 9 rows"
    assert found.detail.startswith(
        "support.jsonl (phone 7, email 2); also 4.8% exact duplicates and 8.0% near-duplicates;"
    )


def test_without_rules_small_findings_or_none_are_ok() -> None:
    store = open_store()
    stored(store, exact=5, near=40)  # findings rank by how close they come to their limits: 0.5 of 1%, 0.8 of 5%
    found = tile()
    assert found.state == OK and found.headline == "1,000 rows profiled"
    assert found.detail == "support.jsonl: largest finding 4.0% near-duplicates."
    stored(store)
    assert tile().detail == "support.jsonl: no duplicates, empty rows or PII found."


def test_a_run_saved_from_a_real_profile_reads_back_as_its_tile() -> None:
    rows = ["Please remember to save your work before you close the window of the editor."] * 3
    data = "\n".join(json.dumps({"text": text}) for text in rows).encode()
    result = profile(read_dataset(data, "notes.jsonl"), ProfileOptions(heuristic_families=()))
    result.rules = [outcome.to_dict() for outcome in check_rules(parse_rule_set(DEFAULT_RULE_SET), result)]
    save_run(open_store(), result, {}, "default", data)
    found = tile()
    assert found.state == CRITICAL and found.headline == "1 of 4 rules failed"
    assert found.detail.startswith("notes.jsonl failed rule set 'default': worst finding: 66.7% exact duplicates;")
