"""The Data quality page in Chromium: upload the demo JSONL, profile it as a job, browse, clean and download."""

from __future__ import annotations

import json

import pytest
from playwright.sync_api import expect

from lib.samples import write_samples
from tests.e2e.conftest import screenshot
from tests.e2e.test_browser import assert_healthy, wait_for_page

pytestmark = pytest.mark.e2e
MAIN = "[data-testid='stMainBlockContainer']"


def test_an_uploaded_dataset_is_profiled_browsed_cleaned_and_downloaded(server, page, pitwall_home, tmp_path) -> None:
    write_samples(tmp_path)
    expected = json.loads((tmp_path / "manifest.json").read_text())["expected"]["support_conversations.jsonl"]
    page.set_viewport_size({"width": 1440, "height": 2000})
    page.goto(server + "/data-quality")
    wait_for_page(page, "Data quality")
    assert_healthy(page, "Data quality")
    page.locator("[data-testid='stFileUploaderDropzoneInput']").set_input_files(
        str(tmp_path / "support_conversations.jsonl")
    )
    main = page.locator(MAIN)
    main.get_by_text("3,150 rows · JSONL", exact=False).wait_for(timeout=30_000)  # decoded: format and rows
    page.get_by_text("Options: near-duplicate threshold").click()
    page.get_by_text("Count tokens").click()  # off: no tokenizer to load in this test
    page.get_by_role("button", name="Profile").click()
    # The job's card shows progress, then the page redraws with the stored run.
    main.get_by_text("Profiled run").wait_for(timeout=120_000)
    expect(main.locator("[data-testid='stMetric']").filter(has_text="Exact duplicates")).to_contain_text(
        f"{expected['exact_duplicates']}"
    )
    expect(main.locator("[data-testid='stMetric']").filter(has_text="Near-duplicates")).to_contain_text(
        f"{expected['near_duplicates']}"
    )
    page.wait_for_selector(f"{MAIN} .js-plotly-plot", timeout=30_000)
    assert page.locator("[data-testid='stException']").count() == 0
    screenshot(page, "quality-profile")

    page.get_by_role("tab", name="Duplicate clusters").click()
    main.get_by_text("similarity 0.", exact=False).first.wait_for(timeout=30_000)  # members side by side
    screenshot(page, "quality-clusters")

    page.get_by_role("tab", name="Clean & export").click()
    page.get_by_role("button", name="Clean", exact=True).click()
    main.get_by_text("Rows kept").wait_for(timeout=60_000)
    with page.expect_download() as download:
        page.get_by_role("button", name="Download the cleaned dataset (JSONL)").click()
    cleaned = download.value.path().read_text(encoding="utf-8").splitlines()
    dropped = expected["exact_duplicates"] + expected["near_duplicates"] + expected["empty_parts"]
    assert len(cleaned) == expected["rows"] - dropped
    assert all("@" not in line or "[EMAIL]" in line for line in cleaned)  # redacted on the way out
    screenshot(page, "quality-clean")
    assert page.locator("[data-testid='stException']").count() == 0
