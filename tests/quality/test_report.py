"""The HTML report: one file that opens offline, with every number a reader needs and no live dataset markup."""

from __future__ import annotations

import json
import re

import pytest
from plotly.offline import get_plotlyjs

from lib.quality.drift import compare
from lib.quality.profile import ProfileResult, profile
from lib.quality.readers import read_dataset
from lib.quality.report import render_report

PLANTED = "<script>alert(1)</script>"
SENTENCE = "The order arrived two days late and the box was damaged, so I would like a refund please."
RULES = [
    {"rule": "max_duplicates", "description": "at most 5% exact duplicates", "observed": "9.1% of rows",
     "expected": "<= 5%", "passed": False, "failing_rows": 6, "examples": [61, 62]},
    {"rule": "no_pii", "description": "no email addresses", "observed": "0 rows", "expected": "0 rows",
     "passed": True, "failing_rows": 0, "examples": []},
]  # fmt: skip


def profiled(lines: list[str], name: str) -> ProfileResult:
    return profile(read_dataset("\n".join(lines).encode(), name))


@pytest.fixture(scope="module")
def result() -> ProfileResult:
    """60 rows of text, 6 exact duplicates, 55 empty rows, a row with a planted script tag, one unreadable line."""
    texts = [f"Ticket {i}: {SENTENCE} {SENTENCE}" for i in range(60)]
    texts += texts[:6] + [""] * 55 + [f"Ticket 99: {PLANTED} hidden in a support message with html."]
    lines = [json.dumps({"text": text}) for text in texts]
    lines.insert(3, "{not json")
    return profiled(lines, "tickets.jsonl")


@pytest.fixture(scope="module")
def page(result: ProfileResult) -> str:
    return render_report({**result.to_dict(), "rules": RULES})


def test_one_self_contained_file_with_plotly_js_once(page):
    assert page.startswith("<!DOCTYPE html>") and page.rstrip().endswith("</html>")
    assert page.count(get_plotlyjs()[:300]) == 1  # inlined once, so it opens offline
    assert not re.search(r"<script[^>]+src=", page)  # nothing fetched from a CDN
    charts = page.count("Plotly.newPlot(")
    assert charts >= 6  # issues, characters, words, languages, PII, heuristics
    assert page.count("<script") == 1 + charts  # plotly.js, then one script per chart and no other


def test_title_names_the_dataset_and_the_time(page):
    title = re.search(r"<title>(.*?)</title>", page).group(1)
    assert "tickets.jsonl" in title and re.search(r"\d{4}-\d{2}-\d{2} \d{2}:\d{2} UTC", title)
    assert "<h1>Data quality report: tickets.jsonl</h1>" in page


def test_scorecard_shows_the_headline_counts(page, result):
    data = result.to_dict()
    tiles = dict(
        (label, value) for value, label in re.findall(r'<div class="value">(.*?)</div><div class="label">([^<]*)', page)
    )
    assert tiles["rows"] == f"{data['rows']:,}"
    assert tiles["empty rows"].startswith("55 ")
    assert tiles["exact duplicates"].startswith(f"{data['exact_duplicates']} ")
    assert tiles["length outliers"].startswith(f"{data['length_outliers']:,}")
    assert tiles["rules"] == "1 passed · 1 failed"


def test_rules_table_gives_each_rules_outcome(page):
    rows = {
        match.group(1): match.group(2)
        for match in re.finditer(
            r"<tr><td>([^<]+)</td>.*?<td class=\"(?:passed|failed|unchecked)\">(\w+)</td></tr>", page
        )
    }
    assert rows == {"max_duplicates": "FAILED", "no_pii": "PASSED"}
    assert "&lt;= 5%" in page  # the requirement, escaped


def test_a_planted_script_in_the_data_is_escaped(page):
    assert PLANTED not in page
    assert "&lt;script&gt;alert(1)&lt;/script&gt;" in page
    assert "alert(1)" not in re.sub(r"&lt;script&gt;alert\(1\)&lt;/script&gt;", "", page)  # no other copy


def test_markup_in_names_warnings_and_rules_is_escaped():
    data = {
        "dataset": '<img src=x onerror="alert(2)">.csv',
        "rows": 1,
        "warnings": ["<b>bad</b> encoding"],
        "skipped": [{"line": 3, "reason": "<i>broken</i>"}],
        "rules": [{"rule": "<svg onload=alert(3)>", "description": "x", "observed": "1", "expected": "0",
                   "passed": False}],
    }  # fmt: skip
    page = render_report(data)
    body = page.replace(get_plotlyjs(), "")  # plotly.js itself holds "<svg" and "<img" in its strings
    for raw in ("<img", "<b>bad", "<i>broken", "<svg"):
        assert raw not in body
    assert "&lt;img src=x onerror=&quot;alert(2)&quot;&gt;.csv" in page


def test_findings_list_count_share_rows_and_examples(page, result):
    data = result.to_dict()
    empty = re.search(r"<h3>empty rows: 55 rows \((.*?)\)</h3>.*?<p class=\"rows\">lines (.*?)</p>", page, re.S)
    assert empty, "the empty-rows finding is missing"
    assert empty.group(1) == f"{55 / data['rows']:.2%}"
    listed = empty.group(2)
    expected = data["findings"]["empty"]["rows"]
    assert listed.startswith(", ".join(f"{row:,}" for row in expected[:50]))
    assert listed.endswith("… and 5 more")  # 55 rows, the first 50 listed
    duplicates = data["findings"]["exact_duplicates"]
    assert f"exact duplicates: {duplicates['count']} rows" in page
    assert "Ticket 0: The order arrived" in page  # an example's text
    assert "No rows found by:" in page and "PII: email" in page


def test_skipped_lines_warnings_and_settings_are_stated(page, result):
    data = result.to_dict()
    assert "Skipped lines (1)" in page and data["skipped"][0]["reason"][:20] in page
    assert "near-duplicate threshold" in page
    assert f"{data['sample']['rows']:,} of {data['sample']['of']:,} non-empty rows" in page
    assert data["sha256"] in page


def test_no_rules_and_a_minimal_dict_still_render():
    page = render_report({})
    assert "No rules were checked for this run." in page
    assert "Nothing to draw" in page
    assert page.count("Plotly.newPlot(") >= 1


def test_drift_section_carries_the_verdict_statistics_and_charts(result):
    other = profiled(
        [json.dumps({"text": f"Billet {i}: Bonjour, je voudrais retourner ma veste, elle est arrivée abîmée."})
         for i in range(80)],
        "billets.jsonl",
    )  # fmt: skip
    drift = compare(result, other).to_dict()
    page = render_report(result.to_dict(), drift)
    assert "Drift: billets.jsonl against tickets.jsonl" in page
    assert drift["verdict"] in page
    assert f"{drift['lengths']['characters']['psi']:.3f}" in page
    assert "Siddiqi" in page and "p &lt; 0.05" in page
    assert "Most common words" in page and "Most common word pairs" in page
    assert page.count(get_plotlyjs()[:300]) == 1
    assert page.count("Plotly.newPlot(") >= 6 + 5  # the profile's charts and the drift charts
