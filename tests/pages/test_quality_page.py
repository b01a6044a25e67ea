"""The Data quality page in AppTest: profile the demo as a job, see its planted problems, rules, cleaning, bad input."""

from __future__ import annotations

import json
import random
from pathlib import Path

import pytest
from streamlit.testing.v1 import AppTest

from lib import config
from lib.jobs import wait_for
from lib.quality.profile import ProfileOptions, profile
from lib.quality.readers import read_dataset
from lib.quality.runs import save_run
from lib.samples import write_samples
from lib.settings import load_settings
from lib.status import area_status
from lib.store import open_store
from lib.store.quality_runs import list_quality_runs, list_rule_sets
from tests.pages.test_pages import frame_with, job_ids, page_app

QUALITY_PAGE = "pages.data_quality"
SLOW = 180


def run_jobs(at: AppTest, before: set[int]) -> AppTest:
    """Wait for the jobs the last action started, then draw the page again."""
    for job_id in job_ids() - before:
        wait_for(job_id, timeout=SLOW)
    return at.run(timeout=SLOW)


def profile_demo(at: AppTest) -> AppTest:
    """Choose the demo conversations (writing them first), no token counts, and press Profile."""
    at.radio(key="dq_source").set_value("Demo support conversations").run()
    if any(button.key == "dq_write_demo" for button in at.button):
        at = at.button(key="dq_write_demo").click().run()
    at.checkbox(key="dq_tokens").uncheck().run()
    before = job_ids()
    at = at.button(key="dq_profile").click().run(timeout=SLOW)
    return run_jobs(at, before)


def expected_counts() -> dict:
    manifest = json.loads((config.samples_dir() / "manifest.json").read_text(encoding="utf-8"))
    return manifest["expected"]["support_conversations.jsonl"]


@pytest.fixture(scope="module")
def profiled(tmp_path_factory: pytest.TempPathFactory) -> tuple[AppTest, Path]:
    """The page after profiling the demo once for the module, with its own PITWALL_HOME."""
    home = tmp_path_factory.mktemp("quality-page")
    with pytest.MonkeyPatch.context() as patch:
        patch.setenv("PITWALL_HOME", str(home))
        at = profile_demo(page_app(QUALITY_PAGE).run())
        yield at, home


def test_before_any_profile_the_page_says_what_to_do() -> None:
    at = page_app(QUALITY_PAGE).run()
    assert not at.exception, [e.value for e in at.exception]
    assert any("No dataset profiled yet" in box.value for box in at.info)
    assert [option for option in at.radio(key="dq_source").options] == [
        "Upload a file", "Demo support conversations", "A file on the server",
    ]  # fmt: skip


def test_the_demo_profiled_from_the_page_shows_every_planted_problem(profiled, monkeypatch) -> None:
    at, home = profiled
    monkeypatch.setenv("PITWALL_HOME", str(home))
    assert not at.exception, [e.value for e in at.exception]
    assert not at.error, [e.value for e in at.error]
    expected = expected_counts()
    tiles = {metric.label: metric.value for metric in at.metric}
    assert tiles["Rows"] == f"{expected['rows']:,}"
    assert tiles["Exact duplicates"] == f"{expected['exact_duplicates']:,}"
    assert tiles["Near-duplicates"] == f"{expected['near_duplicates']:,}"
    assert tiles["Rows with PII"] == f"{sum(expected['pii'].values()):,}"
    assert tiles["Empty"] == f"{expected['empty']:,}"
    assert any(f"{expected['empty_parts']} conversations with an empty message" in c.value for c in at.caption)
    findings = frame_with(at, "check").set_index("check")["rows"]
    assert findings["pii_email"] == expected["pii"]["email"] and findings["markup_html"] == expected["markup"]["html"]
    assert len(at.get("plotly_chart")) >= 5  # issues, lengths, languages, PII, heuristics
    runs = list_quality_runs(open_store())
    assert len(runs) == 1 and runs[0].summary["exact_duplicates"] == expected["exact_duplicates"]
    assert Path(runs[0].stored_path).is_file()  # the dataset is kept with the run, for the row inspector

    tile = area_status("data-quality", open_store(), load_settings())
    assert tile.state == "warning" and tile.headline == "PII in 105 rows"  # no rule set checked
    assert tile.detail.startswith("support_conversations.jsonl (email 45, phone 40, credit_card 20)")


def test_a_rule_set_is_saved_checked_and_fails_the_run_with_a_table(profiled, monkeypatch) -> None:
    at, home = profiled
    monkeypatch.setenv("PITWALL_HOME", str(home))
    at.text_input(key="dq_rules_name_(new rule set)").set_value("fine-tuning").run()
    at.text_area(key="dq_rules_yaml_(new rule set)").set_value("rules:\n  - expect: nonsense\n").run()
    at = at.button(key="dq_rules_save").click().run()
    assert any("nonsense" in e.value and "length_between" in e.value for e in at.error)  # names the known ones
    assert list_rule_sets(open_store()) == []  # nothing stored

    at.text_area(key="dq_rules_yaml_(new rule set)").set_value(
        "rules:\n  - expect: no_pii\n  - expect: min_rows\n    count: 100\n"
    ).run()
    at = at.button(key="dq_rules_save").click().run()
    assert [rule_set.name for rule_set in list_rule_sets(open_store())] == ["fine-tuning"]
    at.selectbox(key="dq_rules_choice").set_value("fine-tuning").run()
    before = job_ids()
    at = run_jobs(at.button(key="dq_rules_recheck").click().run(), before)
    assert not at.exception, [e.value for e in at.exception]
    outcomes = frame_with(at, "description")
    assert list(outcomes["result"]) == ["❌ fail", "✅ pass"]  # PII is planted; 3,150 rows >= 100
    newest = list_quality_runs(open_store())[0]
    assert newest.rule_set == "fine-tuning" and newest.rules_passed is False
    tile = area_status("data-quality", open_store(), load_settings())
    assert tile.state == "critical" and tile.headline == "1 of 2 rules failed"
    assert tile.detail.startswith("support_conversations.jsonl failed rule set 'fine-tuning'")


def test_cleaning_from_the_page_drops_the_planted_rows_and_offers_downloads(profiled, monkeypatch) -> None:
    at, home = profiled
    monkeypatch.setenv("PITWALL_HOME", str(home))
    expected = expected_counts()
    at = at.button(key="dq_clean").click().run(timeout=SLOW)
    assert not at.exception, [e.value for e in at.exception]
    tiles = {metric.label: metric.value for metric in at.metric}
    dropped = expected["exact_duplicates"] + expected["near_duplicates"] + expected["empty_parts"]
    assert tiles["Rows dropped"] == f"{dropped:,}"
    assert tiles["Rows kept"] == f"{expected['rows'] - dropped:,}"
    reasons = frame_with(at, "reason")
    assert {"exact_duplicates", "near_duplicates", "empty_message"} <= set(reasons["step"]), set(reasons["step"])
    labels = [button.label for button in at.get("download_button")]
    assert "Download the cleaned dataset (JSONL)" in labels and "Download the dropped rows (CSV)" in labels


@pytest.mark.parametrize(
    ("name", "data", "message"),
    [
        ("weights.csv", random.Random(0).randbytes(4_000), "binary"),
        ("numbers.csv", b"a,b\n1,2\n3,4\n", "columns found: a, b"),
        ("empty.jsonl", b"", "is empty"),
    ],
)
def test_a_bad_upload_is_one_sentence_and_nothing_is_stored(name: str, data: bytes, message: str) -> None:
    at = page_app(QUALITY_PAGE).run()
    at.get("file_uploader")[0].set_value((name, data, "application/octet-stream")).run()
    assert not at.exception, [e.value for e in at.exception]
    assert any(message in e.value for e in at.error), [e.value for e in at.error]
    assert list_quality_runs(open_store()) == []


def test_two_runs_of_one_dataset_compare_as_no_significant_change(profiled, monkeypatch) -> None:
    at, home = profiled
    monkeypatch.setenv("PITWALL_HOME", str(home))
    if len(list_quality_runs(open_store())) < 2:  # a second run of the same file, as the baseline
        at = profile_demo(at)
    at = at.run()
    at = at.button(key="dq_compare").click().run(timeout=SLOW)
    assert not at.exception, [e.value for e in at.exception]
    verdict = " ".join(block.value for block in at.markdown)
    assert "No significant change from support_conversations.jsonl to support_conversations.jsonl" in verdict
    assert any(label.startswith("Download the comparison") for label in [b.label for b in at.get("download_button")])


def test_a_per_message_run_and_a_csv_run_show_every_tab_without_an_error(tmp_path: Path) -> None:
    write_samples(tmp_path)
    for name, chat in (("support_conversations.jsonl", "message"), ("support_conversations.csv", "conversation")):
        path = tmp_path / name
        result = profile(read_dataset(path, name, chat=chat), ProfileOptions(sample_rows=2_000))
        save_run(open_store(), result, {}, None, path)
        at = page_app(QUALITY_PAGE).run()  # the newest run: every tab draws from it
        assert not at.exception and not at.error, [e.value for e in [*at.exception, *at.error]]
        if chat == "message":  # file line 1 holds three messages: the row inspector shows all three
            at.number_input(key=f"dq_row_{list_quality_runs(open_store())[0].id}").set_value(1).run()
            assert sum("system: " not in t.value and "You are a helpful support" in t.value for t in at.text) == 1
            assert not at.error


def test_a_server_path_that_is_missing_or_a_folder_is_one_sentence(tmp_path: Path) -> None:
    at = page_app(QUALITY_PAGE).run()
    at.radio(key="dq_source").set_value("A file on the server").run()
    for value, words in ((str(tmp_path / "nope.jsonl"), "There is no file"), (str(tmp_path), "is a folder")):
        at.text_input(key="dq_path").set_value(value).run()
        assert not at.exception, [e.value for e in at.exception]
        assert any(words in e.value for e in at.error), [e.value for e in at.error]
