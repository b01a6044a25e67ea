"""Every page renders without an exception (no GPU needed), and the perplexity slice works end to end."""

from __future__ import annotations

from pathlib import Path

import pytest
from streamlit.testing.v1 import AppTest

from lib import config
from lib.errors import StoreError
from lib.jobs import list_jobs, records, wait_for
from lib.processes import HOST
from lib.store import open_store
from lib.store.eval_runs import list_eval_runs
from pages.widgets.navigation import PAGE_TABLE
from tests.helpers import ROOT

SLOW = 180  # seconds for runs that load the model


def page_app(module: str) -> AppTest:
    """One page as the dashboard runs it: the sidebar status, then the page's render()."""
    script = (
        f"from pages.widgets.status import sidebar_status\nfrom {module} import render\nsidebar_status()\nrender()\n"
    )
    return AppTest.from_string(script, default_timeout=30)


@pytest.mark.parametrize("entry", PAGE_TABLE, ids=lambda e: e.url_path)
def test_every_page_renders_without_an_exception(entry) -> None:
    at = page_app(entry.module).run()
    assert not at.exception, [e.value for e in at.exception]
    assert at.title[0].value.endswith(entry.title if entry.url_path != "home" else "Pitwall")
    if not entry.built:
        assert any("is not built yet" in info.value for info in at.info)


def test_the_dashboard_opens_on_the_overview() -> None:
    at = AppTest.from_file(str(ROOT / "dashboard.py"), default_timeout=30).run()
    assert not at.exception, [e.value for e in at.exception]
    assert at.title[0].value.endswith("Pitwall")
    assert any(str(config.database_path()) in c.value for c in at.sidebar.caption)


def test_loading_the_demo_data_shows_its_planted_problems(pitwall_home: Path) -> None:
    at = page_app("pages.home").run()
    at.button(key="demo_load").click().run()
    assert not at.exception
    assert (pitwall_home / "samples" / "support_conversations.jsonl").is_file()
    problems = frame_with(at, "problem")
    assert "exact duplicate" in set(problems["problem"])
    assert len(at.get("download_button")) == 4


def test_a_damaged_database_is_reported_not_raised(pitwall_home: Path) -> None:
    pitwall_home.mkdir()
    (pitwall_home / "pitwall.db").write_bytes(b"garbage" * 1000)
    at = page_app("pages.home").run()
    assert not at.exception
    assert any("not a readable Pitwall database" in e.value for e in at.error)


def frame_with(at: AppTest, column: str):
    """The page's table that has `column`."""
    return next(frame.value for frame in at.dataframe if column in frame.value.columns)


def score(at: AppTest, text: str, model: str = "smollm2-135m") -> AppTest:
    """Fill the form and press Score; wait for the job it starts (if any), then draw the page again."""
    before = job_ids()
    at.radio(key="ppl_source").set_value("Paste text")
    at.text_area(key="ppl_text").set_value(text)
    at.text_input(key="ppl_model").set_value(model)
    at.number_input(key="ppl_max_length").set_value(128)
    at.selectbox(key="ppl_dtype").set_value("float32")
    at = at.button(key="ppl_run").click().run(timeout=SLOW)
    for job_id in job_ids() - before:
        wait_for(job_id, timeout=SLOW)
        at = at.run(timeout=SLOW)
    return at


def job_ids() -> set[int]:
    """Ids of every stored job (none when the database is unreadable, as some tests make it)."""
    try:
        return {job.id for job in list_jobs(open_store())}
    except StoreError:
        return set()


def test_perplexity_from_the_page_is_shown_stored_and_listed_after_a_restart(embedded_model) -> None:
    at = score(page_app("pages.evaluation").run(), "The quick brown fox jumps over the lazy dog. " * 20)
    assert not at.exception, [e.value for e in at.exception]
    assert not at.error, [e.value for e in at.error]  # the history tab shows the same run without clashing
    tiles = {m.label: m.value for m in at.tabs[0].metric}
    runs = list_eval_runs(open_store())
    assert len(runs) == 1
    assert tiles["Perplexity"] == f"{runs[0].summary['perplexity']:.3f}"
    assert at.get("plotly_chart")

    restarted = page_app("pages.evaluation").run()  # a new session sees what the last one stored
    history = restarted.dataframe[0].value
    assert list(history["run"]) == [runs[0].id]
    assert history["perplexity"][0] == pytest.approx(runs[0].summary["perplexity"], abs=1e-3)


@pytest.mark.parametrize(
    ("text", "model", "message"),
    [
        ("   ", "smollm2-135m", "The text is empty"),
        ("Some text here.", "someone/not-downloaded", "HF_HUB_OFFLINE=1"),
        ("Some text here.", "./no/such/folder", "does not exist"),
    ],
)
def test_bad_input_on_the_page_is_one_sentence_and_stores_nothing(embedded_model, text, model, message) -> None:
    at = score(page_app("pages.evaluation").run(), text, model)
    assert not at.exception
    assert any(message in e.value for e in at.error), [e.value for e in at.error]
    assert list_eval_runs(open_store()) == []


def test_a_binary_upload_is_refused_with_a_sentence() -> None:
    at = page_app("pages.evaluation").run()
    at.radio(key="ppl_source").set_value("Upload a file").run()
    at.get("file_uploader")[0].set_value(("weights.txt", b"\x00\x01\x02" * 100, "text/plain")).run()
    assert not at.exception
    assert any("binary" in e.value for e in at.error)


def test_a_failed_run_does_not_leave_the_previous_result_on_screen(embedded_model) -> None:
    at = score(page_app("pages.evaluation").run(), "A perfectly ordinary sentence about the weather today. " * 5)
    assert at.tabs[0].metric
    at = score(at, "A perfectly ordinary sentence about the weather today.", model="./no/such/folder")
    assert not at.tabs[0].metric
    assert any("failed at" in e.value and "does not exist" in e.value for e in at.error)


def test_a_job_started_elsewhere_shows_live_and_can_be_stopped_from_the_page() -> None:
    # As a run started in a terminal or another tab: the page finds it in the store, not in its session.
    store = open_store()
    job_id = records.insert_job(store, "perplexity", "Perplexity of notes.txt (terminal)", {}, "model:cpu", "cli")
    assert records.try_claim(store, job_id, cap=1)
    records.record_progress(store, job_id, 3, 12, "window 3 of 12")
    at = page_app("pages.evaluation").run()
    assert not at.exception
    assert any("Perplexity of notes.txt (terminal)" in m.value for m in at.markdown)
    assert any("started from a terminal" in c.value for c in at.caption)
    stop = at.button(key=f"ppl_stop_{job_id}")
    stop.click().run()
    assert records.get_job(store, job_id).cancel_requested  # the terminal's run stops at its next window
    assert at.button(key=f"ppl_stop_{job_id}").disabled


def test_an_interrupted_run_says_so_instead_of_spinning_forever() -> None:
    store = open_store()
    job_id = records.insert_job(store, "perplexity", "Perplexity of big.txt", {}, "model:cpu")
    assert records.try_claim(store, job_id, cap=1)
    with store.write() as conn:  # its server was killed: the owner process no longer exists
        conn.execute("UPDATE jobs SET owner = ? WHERE id = ?", (f"{HOST}:999999999", job_id))
    at = page_app("pages.evaluation").run()
    assert not at.exception
    assert any("Interrupted" in w.value and "run it again" in w.value for w in at.warning)
    assert records.get_job(store, job_id).state == "interrupted"


def test_the_overview_shows_each_areas_state_and_the_settings_with_their_source(monkeypatch) -> None:
    monkeypatch.setenv("PITWALL_JOBS_OTHER_JOBS", "6")
    at = page_app("pages.home").run()
    assert not at.exception, [e.value for e in at.exception]
    text = " ".join(m.value for m in at.markdown)
    for title in ("GPU health", "Data quality", "Evaluation", "Latency", "Security", "Jobs", "Alerts"):
        assert f"**{title}**" in text
    assert "not built yet" in text and "no runs yet" in text
    settings = frame_with(at, "setting")
    row = settings[settings["setting"] == "jobs.other_jobs"].iloc[0]
    assert (row["value"], row["from"]) == ("6", "environment")


def test_the_overview_tile_shows_the_latest_perplexity(embedded_model) -> None:
    score(page_app("pages.evaluation").run(), "The quick brown fox jumps over the lazy dog. " * 20)
    run = list_eval_runs(open_store())[0]
    at = page_app("pages.home").run()
    assert any(f"perplexity {run.summary['perplexity']:.2f}" in m.value for m in at.markdown)


def test_damaged_demo_files_are_reported_on_both_pages(pitwall_home: Path) -> None:
    samples = pitwall_home / "samples"
    samples.mkdir(parents=True)
    (samples / "manifest.json").write_text("")
    (samples / "help_centre.txt").write_bytes("caf\xe9".encode("latin-1"))
    home = page_app("pages.home").run()
    assert not home.exception
    assert any("incomplete or damaged" in w.value for w in home.warning)
    evaluation = page_app("pages.evaluation").run()
    evaluation.radio(key="ppl_source").set_value("Demo help-centre article").run()
    assert not evaluation.exception
    assert any("not UTF-8" in e.value for e in evaluation.error)


def test_a_damaged_database_stops_scoring_before_it_starts(pitwall_home: Path) -> None:
    pitwall_home.mkdir()
    (pitwall_home / "pitwall.db").write_bytes(b"garbage" * 1000)
    at = score(page_app("pages.evaluation").run(), "Some text worth scoring, if only it could be stored.")
    assert not at.exception
    assert any("not a readable Pitwall database" in e.value for e in at.tabs[0].error)
    assert not at.tabs[0].metric


def test_the_overview_lists_firing_alerts_and_sends_a_test_notification(monkeypatch) -> None:
    from lib.alerts import AlertRule, Observation, evaluate
    from tests.alerts.test_notifiers import Receiver

    rule = AlertRule("gpu-memory", "gpu.memory_percent", ">", 95.0, severity="critical", summary="GPU {gpu} memory")
    evaluate(open_store(), rule, [Observation({"gpu": "0"}, 98.5)], notifiers=[])
    with Receiver() as receiver:
        monkeypatch.setenv("PITWALL_ALERTS_WEBHOOK_URL", receiver.url)
        at = page_app("pages.home").run()
        assert not at.exception
        alerts = frame_with(at, "alert")
        assert list(alerts["alert"]) == ["gpu-memory"] and list(alerts["state"]) == ["firing"]
        assert any("1 firing" in m.value for m in at.markdown)  # the Alerts tile turns critical
        at.button(key="alerts_test").click().run()
        assert any("Delivered" in s.value and "webhook" in s.value for s in at.success)
        assert len(receiver.requests) == 1 and "test notification" in receiver.requests[0]["body"]["text"]


def test_an_error_no_page_caught_is_one_sentence_with_the_id_of_its_logged_traceback() -> None:
    # dashboard.py hands this to st.App(on_script_error=...): the last line of defence for every page.
    from lib.logs import log_path

    script = (
        "from pages.widgets.feedback import report_script_error\n"
        "try:\n    {}['gpu']\nexcept KeyError as error:\n    report_script_error(error)\n"
    )
    at = AppTest.from_string(script, default_timeout=30).run()
    assert not at.exception
    sentence = at.error[0].value
    assert "This page failed unexpectedly (KeyError)" in sentence and "Traceback" not in sentence
    error_id = sentence.rsplit("error id ", 1)[1].rstrip(".")
    assert f"[error {error_id}] a page failed" in log_path().read_text()


def test_the_dashboard_hands_page_errors_to_the_handler() -> None:
    import ast

    tree = ast.parse((ROOT / "dashboard.py").read_text())
    app = next(n for n in tree.body if isinstance(n, ast.Assign) and n.targets[0].id == "app")
    keywords = {k.arg: ast.unparse(k.value) for k in app.value.keywords}
    assert keywords["on_script_error"] == "report_script_error" and keywords["lifespan"] == "lifespan"


def test_an_expected_failure_that_escapes_a_callback_keeps_its_own_sentence() -> None:
    script = (
        "from lib.errors import StoreError\nfrom pages.widgets.feedback import report_script_error\n"
        "report_script_error(StoreError('The database is locked; try again in a moment.'))\n"
    )
    at = AppTest.from_string(script, default_timeout=30).run()
    assert [e.value for e in at.error] == ["The database is locked; try again in a moment."]
