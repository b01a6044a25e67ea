"""The manager's report: the scorecard's arrows and verdict, a self-contained HTML file, and a PDF."""

from __future__ import annotations

import re
from pathlib import Path

import pytest
from plotly.offline import get_plotlyjs

from lib.errors import InputError
from lib.evaluation import report

RUN = {
    "run_id": 12,
    "samples": 30,
    "model": "<script>alert(1)</script>",
    "dataset": "qa_eval.jsonl",
    "created_at": "2026-11-28T01:00:00+00:00",
    "metrics": {
        "f1": {"score": 64.0, "ci95": [55.0, 72.0]},
        "bleu": {"score": 21.0, "ci95": [15.0, 27.0], "signature": "nrefs:1|case:mixed|eff:no|tok:13a"},
        "exact_match": {"score": 40.0, "ci95": [23.0, 57.0]},
    },
    "timings": {"generation_seconds": 12.5, "scoring_seconds": 0.4, "prompt_tokens": 900, "output_tokens": 450},
    "settings": {"max_new_tokens": 64},
}
COMPARISON = {
    "baseline": {"run_id": 9, "model": "base"},
    "deltas": [
        {"name": "f1", "baseline": 50.0, "candidate": 64.0, "delta": 14.0, "ci95": [6.0, 22.0], "p_value": 0.001,
         "significant": True},
        {"name": "bleu", "baseline": 26.0, "candidate": 21.0, "delta": -5.0, "ci95": [-9.0, -1.0], "p_value": 0.01,
         "significant": True},
        {"name": "exact_match", "baseline": 38.0, "candidate": 40.0, "delta": 2.0, "ci95": [-8.0, 12.0],
         "p_value": 0.4, "significant": False},
    ],
}  # fmt: skip
SAMPLES = [
    {"item_id": f"qa-{i}", "prompt": f"Question {i}?", "references": [f"answer {i}"], "output": f"reply {i}",
     "scores": {"f1": float(i * 10), "bleu": 0.0, "exact_match": 0.0}}
    for i in range(12)
]  # fmt: skip


def test_arrows_show_only_significant_changes_and_thresholds_decide_the_verdict() -> None:
    rows = report.scorecard(RUN["metrics"], report.deltas_by_metric(COMPARISON), {"f1": 60, "bleu": 25})
    by_metric = {row.metric: row for row in rows}
    assert by_metric["f1"].direction == "up" and by_metric["bleu"].direction == "down"
    assert by_metric["exact_match"].direction == "flat"  # +2 within noise is no arrow up
    assert by_metric["f1"].passed is True and by_metric["bleu"].passed is False
    assert by_metric["exact_match"].passed is None
    assert report.verdict(rows) == "fail"
    assert report.verdict(report.scorecard(RUN["metrics"], None, {"f1": 60})) == "pass"
    assert report.verdict(report.scorecard(RUN["metrics"])) == "none"


def test_the_html_report_is_self_contained_escaped_and_reads_as_a_summary(tmp_path: Path) -> None:
    path = report.write_report(
        tmp_path / "run-12.html", RUN, comparison=COMPARISON, thresholds={"f1": 60, "bleu": 25},
        human={"rated": 8, "mean_score": 3.6, "thumbs_up_share": 0.75, "raters": ["ana", "ben"], "kappa": 0.61,
               "kappa_pairs": 6},
        samples=SAMPLES,
    )  # fmt: skip
    page = path.read_text()
    assert "<script>alert(1)</script>" not in page and "&lt;script&gt;alert(1)&lt;/script&gt;" in page
    assert page.count(get_plotlyjs()[:300]) == 1 and not re.search(r"<script[^>]+src=", page)  # opens offline
    assert page.count("Plotly.newPlot") == 2  # scores and deltas (no trend with one run)
    assert "FAIL: below threshold on BLEU." in page
    assert "&#9650; +14.0" in page and "&#9660; -5.0" in page and "&#9654; +2.0" in page
    assert "kappa) 0.61" in page and "mean score 3.60 / 5" in page
    assert "reply 0" in page and "reply 11" not in page  # the ten weakest answers only


def test_the_pdf_report_is_a_pdf_even_with_text_outside_latin_1(tmp_path: Path) -> None:
    samples = [{**SAMPLES[0], "output": "答案是巴黎 ▲"}]
    path = report.write_report(tmp_path / "run-12.pdf", RUN, comparison=COMPARISON, samples=samples)
    data = path.read_bytes()
    assert data.startswith(b"%PDF-") and data.rstrip().endswith(b"%%EOF")
    assert len(data) > 1000


def test_an_unwritable_report_path_is_one_sentence(tmp_path: Path) -> None:
    (tmp_path / "taken").write_text("a file where a folder should be")
    with pytest.raises(InputError, match="Could not write the report"):
        report.write_report(tmp_path / "taken" / "run.html", RUN)
