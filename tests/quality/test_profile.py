"""The whole profile on the demo dataset: it reports exactly what the manifest planted, in the library and the CLI."""

from __future__ import annotations

import json
import shlex
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from lib.quality.profile import ProfileOptions, profile
from lib.quality.readers import read_dataset
from tests.helpers import assert_one_sentence_error, run_cli

DEMO_FILES = ["support_conversations.jsonl", "support_conversations.csv"]
NOT_CLI_KEYS = ("command", "findings", "non_english")  # the manifest's notes beside the CLI's keys


@pytest.fixture(scope="module")
def profiled_demo(demo_folder: tuple[Path, dict]) -> tuple[dict, object]:
    """The demo JSONL profiled once for the module (rows in the manifest are 0-based record indices)."""
    folder, manifest = demo_folder
    dataset = read_dataset(folder / "support_conversations.jsonl")
    return manifest, profile(dataset, ProfileOptions(sample_rows=10_000))


@pytest.fixture(scope="module")
def cli_json(demo_folder: tuple[Path, dict], tmp_path_factory: pytest.TempPathFactory) -> dict[str, dict]:
    """Each demo file profiled by the command the manifest gives for it, as a user runs it."""
    folder, manifest = demo_folder
    home = tmp_path_factory.mktemp("home")  # default settings, whatever the developer's own PITWALL_HOME says
    found = {}
    for name in DEMO_FILES:
        command = shlex.split(manifest["expected"][name]["command"])
        assert command[:3] == ["python", "-m", "lib"] and name in command
        args = [str(folder / name) if arg == name else arg for arg in command[3:]]
        done = run_cli(*args, env={"PITWALL_HOME": str(home)})
        assert done.returncode == 0, done.stderr
        found[name] = json.loads(done.stdout)
    return found


def planted(manifest: dict, problem: str) -> set[int]:
    return set(manifest["planted"][problem])


@pytest.mark.parametrize("name", DEMO_FILES)
def test_the_cli_reports_the_counts_the_manifest_expects(cli_json: dict, demo_folder, name: str) -> None:
    expected, data = demo_folder[1]["expected"][name], cli_json[name]
    for key, value in expected.items():
        if key not in NOT_CLI_KEYS:
            assert data[key] == value, key
    assert sum(count for language, count in data["languages"].items() if language != "en") == expected["non_english"]
    assert data["sample"]["method"] == "every row"  # so every row's language was measured


@pytest.mark.parametrize("name", DEMO_FILES)
def test_each_cli_finding_lists_exactly_the_planted_rows(cli_json: dict, demo_folder, name: str) -> None:
    folder, manifest = demo_folder
    expected, findings = manifest["expected"][name], cli_json[name]["findings"]
    for finding, problems in expected["findings"].items():
        rows = sorted(row + 1 for problem in problems for row in manifest["planted"][problem])  # file row numbers
        assert findings[finding]["rows"] == rows, finding
    if name.endswith(".csv"):  # empty: the planted empty rows whose user message was the blanked one
        users = pd.read_csv(folder / name, keep_default_na=False)["user_message"]
        blank = sorted(row + 1 for row in manifest["planted"]["empty"] if not users[row].strip())
        assert findings["empty"]["rows"] == blank and len(blank) == expected["empty"]
    # Nothing else is flagged by a check that looks for a planted kind of problem.
    for finding, result in findings.items():
        if finding.startswith(("pii_", "markup_", "outlier_")) and finding not in expected["findings"]:
            assert result["count"] == 0, finding


def test_pii_and_markup_are_found_on_exactly_the_planted_rows(profiled_demo):
    manifest, result = profiled_demo
    assert set(result.pii.rows["email"]) == planted(manifest, "email")
    assert set(result.pii.rows["phone"]) == planted(manifest, "phone")
    assert set(result.pii.rows["credit_card"]) == planted(manifest, "card_number")
    assert set(result.markup.html) == planted(manifest, "html")
    assert result.to_dict()["pii"] == {
        "email": 45, "phone": 40, "credit_card": 20, "iban": 0, "ip": 0, "ssn": 0, "secret": 0,
    }  # fmt: skip


def test_empty_messages_long_logs_and_other_languages_are_found(profiled_demo):
    manifest, result = profiled_demo
    assert set(result.empty_parts) == planted(manifest, "empty")
    assert set(result.length_outliers) == planted(manifest, "very_long")
    foreign = {row for row, language in result.row_languages.items() if language not in ("en", "zxx")}
    assert foreign == planted(manifest, "non_english")


def test_the_planted_duplicates_are_the_only_duplicates(profiled_demo):
    manifest, result = profiled_demo
    exact = {int(row) for row in (result.exact.first_of >= 0).nonzero()[0]}
    assert exact == planted(manifest, "exact_duplicate")
    assert set(result.near_duplicate_rows()) == planted(manifest, "near_duplicate")
    # Each copy is clustered with the row it was copied from, and nothing else is clustered.
    pairs = sorted(sorted(cluster) for cluster in result.near.clusters)
    assert pairs == sorted([original, int(copy)] for copy, original in manifest["duplicate_of"].items())


def test_the_json_has_the_issues_keys_and_file_line_numbers(profiled_demo):
    _manifest, result = profiled_demo
    data = result.to_dict()
    for key in (
        "rows",
        "text_column",
        "empty",
        "exact_duplicates",
        "near_duplicates",
        "near_duplicate_clusters",
        "pii",
        "length",
        "length_outliers",
        "languages",
        "heuristics",
        "rules",
        "skipped",
        "seconds",
    ):
        assert key in data, key
    assert data["rows"] == 3_150 and data["text_column"] == "text"
    first_email = data["findings"]["pii_email"]["rows"][0]
    assert first_email == min(result.pii.rows["email"]) + 1  # a JSONL line number, as an editor shows it
    assert data["sample"] == {"rows": 3_150, "of": 3_150, "method": "every row"}


def test_the_cli_reports_a_malformed_line_and_profiles_the_rest(tmp_path):
    lines = [
        json.dumps({"text": f"Row {n}: my order NW-{100000 + n} has not arrived yet, can you check?"}) for n in range(6)
    ]
    lines[3] = '{"text": "broken'
    path = tmp_path / "rows.jsonl"
    path.write_text("\n".join(lines) + "\n")
    done = run_cli("quality", "profile", str(path), "--no-tokens", "--json")
    assert done.returncode == 0, done.stderr
    data = json.loads(done.stdout)
    assert data["rows"] == 5 and [entry["line"] for entry in data["skipped"]] == [4]


@pytest.mark.parametrize(
    ("content", "words"),
    [
        (b"", "empty"),
        (b"\x89PNG\r\n\x1a\n" + bytes(200), "PNG"),
        (b"id,score\n1,2\n3,4\n", "no text column"),
    ],
)
def test_bad_files_get_one_sentence_and_a_non_zero_exit(tmp_path, content, words):
    path = tmp_path / "data.csv"
    path.write_bytes(content)
    done = run_cli("quality", "profile", str(path), "--no-tokens")
    assert done.returncode == 1
    assert_one_sentence_error(done.stderr)
    assert words.lower() in done.stderr.lower()


def test_a_skewed_positive_column_flags_its_impossible_values_not_its_long_tail() -> None:
    rng = np.random.default_rng(0)
    seconds = np.round(rng.lognormal(4.0, 0.6, 3_000), 1)  # response times: a long right tail is normal
    seconds[[5, 9, 100]] = [86_400, -5, 0]  # a day, a negative and a zero: data errors
    csv = "text,seconds\n" + "".join(f'"a message about order {n}",{value}\n' for n, value in enumerate(seconds))
    result = profile(read_dataset(csv.encode(), "tickets.csv"), ProfileOptions(sample_rows=1_000))
    flagged = result.numeric_outliers["seconds"]
    assert {5, 9, 100} <= set(flagged) and len(flagged) <= 6  # raw values would flag dozens of the tail
