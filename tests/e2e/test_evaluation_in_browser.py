"""The Evaluation page in Chromium: upload an eval set, run the tiny model on it, rate, compare and report."""

from __future__ import annotations

import json
import re
from pathlib import Path

import pytest
from playwright.sync_api import expect

from lib.evaluation.evalrun import EvalRunResult, eval_runs, load_eval_run, save_eval_run
from lib.evaluation.scoring import score_corpus, score_samples
from lib.samples.evalset import qa_eval_rows
from lib.store import open_store
from tests.e2e.conftest import screenshot
from tests.e2e.test_browser import assert_healthy, wait_for_page

pytestmark = pytest.mark.e2e
MAIN = "[data-testid='stMainBlockContainer']"


def better_copy(run_id: int) -> int:
    """Store a second run on the same eval set whose answers are the references: a clear improvement."""
    first = load_eval_run(open_store(), run_id)
    outputs = [sample.references[0] for sample in first.samples]
    references = [list(sample.references) for sample in first.samples]
    names = list(first.metrics)
    per_sample = score_samples(outputs, references, names)
    corpus = score_corpus(outputs, references, names, resamples=200)
    samples = [
        type(sample)(**{**sample.to_dict(), "output": outputs[i], "run_id": None,
                        "scores": {name: per_sample[name][i] for name in names}})
        for i, sample in enumerate(first.samples)
    ]  # fmt: skip
    result = EvalRunResult(
        "reference-answers", "e" * 16, first.dataset, first.dataset_sha256, first.settings,
        {name: score.to_dict() for name, score in corpus.items()}, first.timings, samples,
    )  # fmt: skip
    return save_eval_run(open_store(), result)


def test_an_eval_run_is_started_rated_compared_and_reported(server, page, tmp_path: Path, tiny_model_dir: str) -> None:
    eval_file = tmp_path / "four_questions.jsonl"
    eval_file.write_text("\n".join(json.dumps(row) for row in qa_eval_rows()[:4]) + "\n", encoding="utf-8")
    page.set_viewport_size({"width": 1440, "height": 2600})  # the app scrolls inside: all of it in view
    page.goto(server + "/evaluation")
    wait_for_page(page, "Evaluation")
    assert_healthy(page, "Evaluation")

    page.get_by_role("tab", name="Eval runs").click()
    panel = page.get_by_role("tabpanel")  # only the visible tab's panel
    panel.get_by_text("Upload a file").click()
    panel.locator("[data-testid='stFileUploaderDropzoneInput']").set_input_files(str(eval_file))
    panel.get_by_text("4 items", exact=False).wait_for(timeout=30_000)
    panel.get_by_role("textbox", name="Model").fill(tiny_model_dir)
    panel.get_by_role("textbox", name="Model").press("Enter")
    panel.get_by_role("spinbutton", name="Max new tokens").fill("6")
    panel.get_by_role("spinbutton", name="Max new tokens").press("Enter")
    page.wait_for_selector("[data-testid='stStatusWidget']", state="detached", timeout=30_000)
    panel.get_by_role("button", name="Start eval run").click()
    # The job's card shows progress; when it ends the page redraws with the stored run.
    panel.get_by_role("button", name="Download run (JSON)").wait_for(timeout=120_000)
    expect(panel.locator("[data-testid='stMetric']").filter(has_text="F1")).to_have_count(1)
    page.wait_for_selector(f"{MAIN} .js-plotly-plot", timeout=30_000)
    (run,) = eval_runs(open_store())
    expect(panel.get_by_text(f"run #{run.id}", exact=False).first).to_be_visible()
    assert page.locator("[data-testid='stException']").count() == 0
    screenshot(page, "eval-run")

    page.get_by_role("tab", name="Human rating").click()
    panel = page.get_by_role("tabpanel")
    panel.get_by_role("textbox", name="Your name").fill("Ana")
    panel.get_by_role("textbox", name="Your name").press("Enter")
    panel.get_by_text("0 of 4 rated by you").wait_for(timeout=30_000)
    panel.get_by_text("4 · good").click()
    panel.get_by_role("radio", name=re.compile(r"\bup$")).check(force=True)
    page.wait_for_selector("[data-testid='stStatusWidget']", state="detached", timeout=30_000)
    panel.get_by_role("button", name="Save and next").click()
    panel.get_by_text("1 of 4 rated by you").wait_for(timeout=30_000)
    expect(panel.locator("[data-testid='stMetric']").filter(has_text="Mean score")).to_contain_text("4.00")
    screenshot(page, "eval-human")

    better_copy(run.id)
    page.reload()  # a new run stored outside the page: drawn on the next run of the script
    wait_for_page(page, "Evaluation")
    page.get_by_role("tab", name="Compare").click()
    panel = page.get_by_role("tabpanel")
    panel.get_by_text("improved", exact=False).first.wait_for(timeout=60_000)
    page.wait_for_function(
        "document.querySelectorAll(\"[role='tabpanel']:not([hidden]) .js-plotly-plot\").length >= 2", timeout=30_000
    )
    assert page.locator("[data-testid='stException']").count() == 0
    screenshot(page, "eval-compare")

    page.get_by_role("tab", name="Reports").click()
    panel = page.get_by_role("tabpanel")
    panel.get_by_role("spinbutton", name="F1").fill("50")
    panel.get_by_role("spinbutton", name="F1").press("Enter")
    panel.get_by_text("every threshold met", exact=False).wait_for(timeout=30_000)
    panel.get_by_role("button", name="Build report").click()
    panel.get_by_role("button", name="Download HTML").wait_for(timeout=60_000)
    with page.expect_download() as download:
        panel.get_by_role("button", name="Download HTML").click()
    assert download.value.suggested_filename == f"eval-run-{run.id + 1}-report.html"
    assert "Scorecard against run #" in download.value.path().read_text(encoding="utf-8")
    assert page.locator("[data-testid='stException']").count() == 0
    screenshot(page, "eval-report")
