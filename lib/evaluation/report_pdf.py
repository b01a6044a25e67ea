"""The eval run summary as a one-page PDF, drawn with fpdf2 (pure Python, offline, no browser).

The core PDF fonts cover Latin-1 only; DejaVu Sans is used where the system has it, and otherwise
text outside Latin-1 (model answers in other scripts) is replaced rather than failing the report.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import TYPE_CHECKING, Any

from lib.evaluation.figures import metric_label

if TYPE_CHECKING:
    from lib.evaluation.report import ScorecardRow

UNICODE_FONTS = (Path("/usr/share/fonts/truetype/dejavu/DejaVuSans.ttf"),)
GREEN, RED, GREY, ACCENT = (21, 128, 61), (185, 28, 28), (107, 114, 128), (245, 165, 36)
DIRECTION_WORDS = {"up": "up", "down": "down", "flat": "within noise", "": ""}


def summary_pdf(
    run: Mapping[str, Any],
    rows: Sequence[ScorecardRow],
    outcome: str,
    comparison: Mapping[str, Any] | None,
    human: Mapping[str, Any] | None,
    worst: Sequence[Mapping[str, Any]],
) -> bytes:
    """The PDF's bytes: title, verdict, scorecard with bars and intervals, human score, cost, weakest answers."""
    from fpdf import FPDF

    pdf = FPDF(format="A4")
    pdf.set_auto_page_break(auto=True, margin=12)
    pdf.add_page()
    font, text = _font(pdf)
    pdf.set_font(font, size=15)
    title = f"Eval run #{run.get('run_id', '?')}: {run.get('model', '')} on {run.get('dataset', '')}"
    pdf.multi_cell(0, 8, text(title), new_x="LMARGIN", new_y="NEXT")
    pdf.set_font(font, size=9)
    pdf.set_text_color(*GREY)
    meta = f"{run.get('samples', 0)} samples" + (f" - run {run['created_at']}" if run.get("created_at") else "")
    pdf.cell(0, 5, text(meta), new_x="LMARGIN", new_y="NEXT")
    pdf.ln(2)
    _verdict(pdf, font, text, rows, outcome)
    _scorecard(pdf, font, text, rows, comparison)
    _human_and_cost(pdf, font, text, run, human)
    _worst(pdf, font, text, worst, rows)
    return bytes(pdf.output())


def _font(pdf: Any) -> tuple[str, Any]:
    """The font to use and a function that makes text printable in it."""
    for path in UNICODE_FONTS:
        if path.is_file():
            pdf.add_font("DejaVu", fname=str(path))
            return "DejaVu", str
    return "helvetica", lambda value: str(value).encode("latin-1", "replace").decode("latin-1")


def _verdict(pdf: Any, font: str, text: Any, rows: Sequence[ScorecardRow], outcome: str) -> None:
    pdf.set_font(font, size=12)
    if outcome == "none":
        pdf.set_text_color(*GREY)
        line = "No thresholds set: the scores are for reading, not gating."
    else:
        failed = [metric_label(r.metric) for r in rows if r.passed is False]
        pdf.set_text_color(*(GREEN if outcome == "pass" else RED))
        line = "PASS: every threshold met." if outcome == "pass" else f"FAIL: below threshold on {', '.join(failed)}."
    pdf.cell(0, 8, text(line), new_x="LMARGIN", new_y="NEXT")
    pdf.set_text_color(0, 0, 0)
    pdf.ln(1)


def _scorecard(
    pdf: Any, font: str, text: Any, rows: Sequence[ScorecardRow], comparison: Mapping[str, Any] | None
) -> None:
    pdf.set_font(font, size=12)
    from lib.evaluation.report import baseline_id

    baseline = baseline_id(comparison)
    against = f" against run #{baseline}" if baseline is not None else ""
    pdf.cell(0, 7, text(f"Scorecard{against}"), new_x="LMARGIN", new_y="NEXT")
    pdf.set_font(font, size=9)
    bar_x, bar_width = 118, 80
    for row in rows:
        y = pdf.get_y()
        pdf.set_x(pdf.l_margin)
        pdf.cell(28, 6, text(metric_label(row.metric)))
        pdf.cell(14, 6, f"{row.score:.1f}")
        pdf.cell(26, 6, f"[{row.ci95[0]:.1f}, {row.ci95[1]:.1f}]")
        if row.delta is not None:
            color = {"up": GREEN, "down": RED}.get(row.direction, GREY)
            pdf.set_text_color(*color)
            pdf.cell(28, 6, text(f"{row.delta:+.1f} ({DIRECTION_WORDS[row.direction]})"))
            pdf.set_text_color(0, 0, 0)
        # A bar for the score on 0-100 with its interval as a line, and the threshold as a tick.
        pdf.set_fill_color(235, 235, 235)
        pdf.rect(bar_x, y + 1.5, bar_width, 3, style="F")
        pdf.set_fill_color(*ACCENT)
        pdf.rect(bar_x, y + 1.5, bar_width * max(0.0, min(row.score, 100.0)) / 100, 3, style="F")
        pdf.set_draw_color(60, 60, 60)
        low, high = (bar_x + bar_width * max(0.0, min(v, 100.0)) / 100 for v in row.ci95)
        pdf.line(low, y + 3, high, y + 3)
        if row.threshold is not None:
            pdf.set_draw_color(*(GREEN if row.passed else RED))
            tick = bar_x + bar_width * max(0.0, min(row.threshold, 100.0)) / 100
            pdf.line(tick, y + 0.5, tick, y + 5.5)
        pdf.set_xy(pdf.l_margin, y + 6)
    pdf.set_text_color(*GREY)
    pdf.set_font(font, size=8)
    pdf.multi_cell(
        0, 4, text("Bars: score 0-100, line: bootstrap 95% interval, tick: threshold. A change is up or down only "
                   "when its paired-bootstrap 95% interval excludes zero."),
        new_x="LMARGIN", new_y="NEXT",
    )  # fmt: skip
    pdf.set_text_color(0, 0, 0)
    pdf.ln(2)


def _human_and_cost(pdf: Any, font: str, text: Any, run: Mapping[str, Any], human: Mapping[str, Any] | None) -> None:
    pdf.set_font(font, size=12)
    pdf.cell(0, 7, "Human rating and cost", new_x="LMARGIN", new_y="NEXT")
    pdf.set_font(font, size=9)
    from lib.evaluation.tables import human_line

    line = human_line(human)
    pdf.cell(0, 5, text(f"Human: {line}"), new_x="LMARGIN", new_y="NEXT")
    timings = run.get("timings") or {}
    cost = []
    if timings.get("generation_seconds") is not None:
        cost.append(f"answering {timings['generation_seconds']:.1f} s")
    if timings.get("scoring_seconds") is not None:
        cost.append(f"scoring {timings['scoring_seconds']:.1f} s")
    if timings.get("output_tokens") is not None:
        cost.append(
            f"{int(timings.get('prompt_tokens') or 0):,} prompt + {int(timings['output_tokens']):,} output tokens"
        )
    pdf.cell(0, 5, text("Cost: " + (", ".join(cost) or "not recorded")), new_x="LMARGIN", new_y="NEXT")
    pdf.ln(2)


def _worst(pdf: Any, font: str, text: Any, worst: Sequence[Mapping[str, Any]], rows: Sequence[ScorecardRow]) -> None:
    if not worst:
        return
    pdf.set_font(font, size=12)
    pdf.cell(0, 7, "Weakest answers", new_x="LMARGIN", new_y="NEXT")
    pdf.set_font(font, size=8)
    headline = "f1" if any(r.metric == "f1" for r in rows) else rows[0].metric
    for sample in worst:
        score = (sample.get("scores") or {}).get(headline)
        reference = (sample.get("references") or [""])[0]
        line = (
            f"{sample.get('item_id', '')} ({metric_label(headline)} {score:.0f}): {_clip(sample.get('prompt', ''))}"
            f" | expected: {_clip(reference, 60)} | answered: {_clip(sample.get('output', ''), 90)}"
        )
        pdf.multi_cell(0, 4, text(line), new_x="LMARGIN", new_y="NEXT")


def _clip(value: Any, limit: int = 80) -> str:
    flat = " ".join(str(value).split())
    return flat if len(flat) <= limit else flat[: limit - 3] + "..."
