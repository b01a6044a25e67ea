"""`python -m lib quality ...` as CI and analysts use it: rules with exit codes, report, clean export, save, compare."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from tests.helpers import assert_one_sentence_error, cli_in_process

FAILING_RULES = """
name: strict
rules:
  - expect: no_pii
  - expect: at_most
    check: exact_duplicates
    fraction: 0.01
  - expect: min_rows
    count: 100
"""


@pytest.fixture(scope="module")
def home(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return tmp_path_factory.mktemp("quality-cli-home")


def in_home(home: Path, *args: str):
    """The command run in this process with PITWALL_HOME set to the module's home (read at call time)."""
    with pytest.MonkeyPatch.context() as patch:
        patch.setenv("PITWALL_HOME", str(home))
        return cli_in_process(*args)


def quality(home: Path, *args: str):
    return in_home(home, "quality", *args)


def test_a_failing_rule_set_prints_the_table_and_exits_2_for_ci(
    demo_folder: tuple[Path, dict], home: Path, tmp_path: Path
) -> None:
    rules = tmp_path / "strict.yaml"
    rules.write_text(FAILING_RULES)
    path = demo_folder[0] / "support_conversations.jsonl"
    done = quality(home, "profile", str(path), "--no-tokens", "--rules", str(rules), "--json")
    assert done.returncode == 2, done.stderr
    outcomes = json.loads(done.stdout)["rules"]
    assert [(rule["rule"], rule["passed"]) for rule in outcomes] == [
        ("no_pii", False), ("at_most", False), ("min_rows", True),
    ]  # fmt: skip  # 105 rows with PII; 60 of 3,150 exact duplicates is 1.9%
    text = quality(home, "profile", str(path), "--no-tokens", "--rules", str(rules))
    assert text.returncode == 2 and "FAIL" in text.stdout and "PASS" in text.stdout

    rules.write_text("rules:\n  - expect: min_rows\n    count: 100\n")
    assert quality(home, "profile", str(path), "--no-tokens", "--rules", str(rules)).returncode == 0


def test_a_broken_rule_file_is_one_sentence_and_exit_1(
    demo_folder: tuple[Path, dict], home: Path, tmp_path: Path
) -> None:
    rules = tmp_path / "broken.yaml"
    rules.write_text("rules:\n  - expect: length_between\n    min: 20\n    mostly: 3\n")
    done = quality(
        home, "profile", str(demo_folder[0] / "support_conversations.jsonl"), "--no-tokens", "--rules", str(rules)
    )
    assert done.returncode == 1
    assert_one_sentence_error(done.stderr)
    assert "Rule 1" in done.stderr and "mostly" in done.stderr


def test_the_clean_export_re_profiled_has_no_duplicates_empty_rows_or_pii(
    demo_folder: tuple[Path, dict], home: Path, tmp_path: Path
):
    out = tmp_path / "clean.jsonl"
    report = tmp_path / "report.html"
    done = quality(
        home, "profile", str(demo_folder[0] / "support_conversations.jsonl"), "--no-tokens", "--clean", str(out),
        "--report", str(report), "--json",
    )  # fmt: skip
    assert done.returncode == 0, done.stderr
    cleaned = json.loads(done.stdout)["clean"]
    assert Path(cleaned["dropped_path"]).is_file()
    html = report.read_text(encoding="utf-8")
    assert "support_conversations.jsonl" in html and html.count("plotly.js v") == 1  # self-contained

    again = quality(home, "profile", str(out), "--no-tokens", "--json")
    assert again.returncode == 0, again.stderr
    data = json.loads(again.stdout)
    assert data["rows"] == cleaned["kept"]
    assert (data["exact_duplicates"], data["empty"], data["empty_parts"]) == (0, 0, 0)
    assert set(data["pii"].values()) == {0}


def test_saved_runs_are_listed_and_rule_sets_are_kept_in_the_store(
    demo_folder: tuple[Path, dict], home: Path, tmp_path: Path
):
    rules = tmp_path / "basic.yaml"
    rules.write_text("rules:\n  - expect: min_rows\n    count: 10\n")
    assert quality(home, "rules", "save", "basic", str(rules)).returncode == 0
    assert [
        rule_set["name"] for rule_set in json.loads(quality(home, "rules", "list", "--json").stdout)["rule_sets"]
    ] == ["basic"]
    path = demo_folder[0] / "support_conversations.csv"
    done = quality(home, "profile", str(path), "--no-tokens", "--rule-set", "basic", "--save", "--json")
    assert done.returncode == 0, done.stderr
    run_id = json.loads(done.stdout)["run_id"]
    runs = json.loads(quality(home, "runs", "--json").stdout)["runs"]
    assert runs[0]["id"] == run_id and runs[0]["rule_set"] == "basic" and runs[0]["rules_passed"] is True
    tiles = json.loads(in_home(home, "status", "--json").stdout)
    tile = next(tile for tile in tiles if tile["area"] == "data-quality")
    assert tile["state"] == "ok" and tile["headline"] == "1 rule passed"  # its rule set passed
    assert tile["detail"].startswith("support_conversations.csv passed rule set 'basic'")
    assert quality(home, "rules", "delete", "basic").returncode == 0
    missing = quality(home, "profile", str(path), "--no-tokens", "--rule-set", "basic")
    assert missing.returncode == 1 and "no rule set named 'basic'" in missing.stderr


def test_compare_reports_drift_with_its_meaning(demo_folder: tuple[Path, dict], home: Path, tmp_path: Path) -> None:
    original = demo_folder[0] / "support_conversations.jsonl"
    longer = tmp_path / "longer.jsonl"
    rows = [json.loads(line) for line in original.read_text().splitlines()]
    for row in rows:
        row["messages"][-1]["content"] = row["messages"][-1]["content"] * 3
    longer.write_text("".join(json.dumps(row) + "\n" for row in rows))
    same = quality(home, "compare", str(original), str(original), "--no-tokens", "--json")
    assert same.returncode == 0, same.stderr
    assert json.loads(same.stdout)["level"] == "none"
    drift = quality(home, "compare", str(original), str(longer), "--no-tokens", "--json")
    data = json.loads(drift.stdout)
    assert data["level"] == "significant" and data["lengths"]["characters"]["psi"] > 0.25
