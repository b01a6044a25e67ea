"""Evaluation charts: what a reader sees in them (values, intervals, colours, escaped names)."""

from __future__ import annotations

from lib.evaluation import figures

METRICS = {"bleu": {"score": 31.5, "ci95": [28.0, 35.2]}, "f1": {"score": 62.0, "ci95": [55.0, 70.0]}}


def test_scores_are_drawn_with_their_intervals() -> None:
    bar = figures.metric_scores_figure(METRICS).data[0]
    assert list(bar.y) == ["BLEU", "F1"]
    assert list(bar.x) == [31.5, 62.0]
    assert list(bar.error_x.arrayminus) == [3.5, 7.0] and [round(v, 6) for v in bar.error_x.array] == [3.7, 8.0]


def test_only_significant_changes_are_coloured() -> None:
    deltas = [
        {"name": "f1", "delta": 6.0, "ci95": [2.0, 10.0], "p_value": 0.004, "significant": True},
        {"name": "bleu", "delta": -4.0, "ci95": [-7.0, -1.0], "p_value": 0.01, "significant": True},
        {"name": "chrf", "delta": 1.0, "ci95": [-2.0, 4.0], "p_value": 0.3, "significant": False},
    ]
    colors = list(figures.deltas_figure(deltas).data[0].marker.color)
    assert colors == [figures.IMPROVED, figures.REGRESSED, figures.UNCHANGED]


def test_the_trend_follows_run_order_and_escapes_model_names() -> None:
    runs = [
        {"id": 7, "created_at": "2026-11-28T01:00:00", "model": "<b>tuned</b>", "metrics": METRICS},
        {"id": 3, "created_at": "2026-11-27T01:00:00", "model": "base", "metrics": {"f1": METRICS["f1"]}},
    ]
    figure = figures.trend_figure(runs)
    f1_line = next(t for t in figure.data if t.name == "F1")
    assert list(f1_line.x) == ["#3", "#7"]
    bleu_line = next(t for t in figure.data if t.name == "BLEU")
    assert list(bleu_line.x) == ["#7"]  # run 3 had no BLEU: no point, no gap filled with zero
    assert bleu_line.customdata[0][0] == "&lt;b&gt;tuned&lt;/b&gt;"
