"""The whole profile on the demo dataset: every planted problem is found, in the library and the CLI."""

from __future__ import annotations

import json

import pytest

from lib.quality.profile import ProfileOptions, profile
from lib.quality.readers import read_dataset
from lib.samples import write_samples
from tests.helpers import assert_one_sentence_error, run_cli


@pytest.fixture(scope="module")
def profiled_demo(tmp_path_factory: pytest.TempPathFactory) -> tuple[dict, object]:
    """The demo JSONL profiled once for the module (rows in the manifest are 0-based record indices)."""
    folder = tmp_path_factory.mktemp("demo")
    write_samples(folder)
    manifest = json.loads((folder / "manifest.json").read_text())
    dataset = read_dataset(folder / "support_conversations.jsonl")
    return manifest, profile(dataset, ProfileOptions(sample_rows=10_000))


def planted(manifest: dict, problem: str) -> set[int]:
    return set(manifest["planted"][problem])


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
    assert planted(manifest, "very_long") <= set(result.length_outliers)
    foreign = {row for row, language in result.row_languages.items() if language not in ("en", "zxx")}
    assert foreign == planted(manifest, "non_english")


def test_every_planted_duplicate_is_flagged(profiled_demo):
    manifest, result = profiled_demo
    exact = {row for row in planted(manifest, "exact_duplicate") if result.exact.first_of[row] >= 0}
    assert exact == planted(manifest, "exact_duplicate")
    clustered = {row for cluster in result.near.clusters for row in cluster}
    assert planted(manifest, "near_duplicate") <= clustered


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
