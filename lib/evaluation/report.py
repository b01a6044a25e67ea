"""The manager's one-page summary of an eval run: a scorecard against the baseline, as HTML or PDF.

Everything is built from plain dicts (an eval run's `to_dict()`, a comparison's, a human summary's),
so a run stored months ago reports like a fresh one. The HTML file is self-contained (plotly.js
inline); the PDF is drawn with fpdf2, offline, with the same scorecard and a bar per metric.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import asdict, dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from lib.errors import InputError
from lib.evaluation.figures import deltas_figure, metric_label, metric_scores_figure, trend_figure
from lib.evaluation.tables import human_line
from lib.files import write_atomically
from lib.htmlreport import chart_html, escape, html_page

WORST_LISTED = 10
EXTRA_CSS = """
.up { color: #15803d; font-weight: 600; } .down { color: #b91c1c; font-weight: 600; } .flat { color: #6b7280; }
.verdict { font-size: 1.1rem; padding: 0.5rem 0.8rem; border-radius: 6px; display: inline-block; margin: 0.4rem 0; }
.verdict.pass { background: #dcfce7; color: #14532d; } .verdict.fail { background: #fee2e2; color: #7f1d1d; }
.verdict.none { background: #f3f4f6; color: #374151; }
"""


@dataclass(frozen=True)
class ScorecardRow:
    """One metric of the scorecard: the score, its change against the baseline, and its threshold."""

    metric: str
    score: float
    ci95: tuple[float, float]
    baseline: float | None = None
    delta: float | None = None
    delta_ci95: tuple[float, float] | None = None
    significant: bool | None = None
    threshold: float | None = None

    @property
    def passed(self) -> bool | None:
        """Whether the score meets its threshold (None without one)."""
        return None if self.threshold is None else self.score >= self.threshold

    @property
    def direction(self) -> str:
        """`up` or `down` for a significant change, `flat` for one within noise, "" without a baseline."""
        if self.delta is None:
            return ""
        if not self.significant:
            return "flat"
        return "up" if self.delta > 0 else "down"

    def to_dict(self) -> dict:
        return asdict(self) | {"passed": self.passed, "direction": self.direction}


def scorecard(
    metrics: Mapping[str, Mapping[str, Any]],
    deltas: Mapping[str, Mapping[str, Any]] | None = None,
    thresholds: Mapping[str, float] | None = None,
) -> list[ScorecardRow]:
    """The scorecard rows: each metric of the run, its paired delta against the baseline, its threshold."""
    deltas, thresholds = deltas or {}, thresholds or {}
    rows = []
    for name, score in metrics.items():
        if score.get("score") is None:  # a metric that could not be computed has no row to draw
            continue
        delta = deltas.get(name)
        rows.append(
            ScorecardRow(
                metric=name,
                score=float(score["score"]),
                ci95=(float(score["ci95"][0]), float(score["ci95"][1])),
                baseline=float(delta["baseline"]) if delta else None,
                delta=float(delta["delta"]) if delta else None,
                delta_ci95=(float(delta["ci95"][0]), float(delta["ci95"][1])) if delta else None,
                significant=bool(delta["significant"]) if delta else None,
                threshold=thresholds.get(name),
            )
        )
    return rows


def verdict(rows: Sequence[ScorecardRow]) -> str:
    """`pass`, `fail`, or `none` when no metric has a threshold."""
    checked = [row.passed for row in rows if row.passed is not None]
    if not checked:
        return "none"
    return "pass" if all(checked) else "fail"


def baseline_id(comparison: Mapping[str, Any] | None) -> int | None:
    """The baseline run's id in a comparison dict (None without one)."""
    if not comparison:
        return None
    baseline = comparison.get("baseline")
    return baseline.get("run_id") if isinstance(baseline, Mapping) else comparison.get("baseline_id")


def deltas_by_metric(comparison: Mapping[str, Any] | None) -> dict[str, Mapping[str, Any]]:
    """A comparison's paired deltas keyed by metric (it may hold them as a list or a mapping)."""
    if not comparison:
        return {}
    deltas = comparison.get("deltas") or {}
    if isinstance(deltas, Mapping):
        return dict(deltas)
    return {d["name"]: d for d in deltas}


def render_html(
    run: Mapping[str, Any],
    *,
    comparison: Mapping[str, Any] | None = None,
    human: Mapping[str, Any] | None = None,
    thresholds: Mapping[str, float] | None = None,
    trend: Sequence[Mapping[str, Any]] = (),
    samples: Sequence[Mapping[str, Any]] = (),
) -> str:
    """The run summary as one self-contained HTML page."""
    rows = scorecard(run["metrics"], deltas_by_metric(comparison), thresholds)
    generated = datetime.now(UTC).strftime("%Y-%m-%d %H:%M UTC")
    title = f"Eval run #{run.get('run_id', '?')}: {run.get('model', 'model')} on {run.get('dataset', 'dataset')}"
    charts = [metric_scores_figure(run["metrics"], "Scores with 95% intervals")]
    if comparison and deltas_by_metric(comparison):
        charts.append(deltas_figure(list(deltas_by_metric(comparison).values())))
    if len(trend) > 1:
        charts.append(trend_figure(list(trend)))
    sections = [
        f"<h1>{escape(title)}</h1>",
        f'<p class="meta">{escape(_meta_line(run))} · report generated {generated}</p>',
        _verdict_html(rows),
        _scorecard_html(rows, comparison),
        _human_html(human),
        _cost_html(run),
        "<h2>Charts</h2>",
        *(chart_html(figure) for figure in charts),
        _changes_html(comparison),
        _worst_html(samples, rows),
        _settings_html(run),
    ]
    return html_page(title, "\n".join(s for s in sections if s), EXTRA_CSS)


def render_pdf(
    run: Mapping[str, Any],
    *,
    comparison: Mapping[str, Any] | None = None,
    human: Mapping[str, Any] | None = None,
    thresholds: Mapping[str, float] | None = None,
    samples: Sequence[Mapping[str, Any]] = (),
) -> bytes:
    """The same summary as a one-page PDF (scorecard, verdict, cost, human score, worst items)."""
    from lib.evaluation.report_pdf import summary_pdf

    rows = scorecard(run["metrics"], deltas_by_metric(comparison), thresholds)
    return summary_pdf(run, rows, verdict(rows), comparison, human, _worst(samples, rows))


def write_report(path: str | Path, run: Mapping[str, Any], **parts: Any) -> Path:
    """Write the report to `path`: PDF for a `.pdf` name, HTML otherwise; returns the path written."""
    path = Path(path)
    if path.suffix.lower() == ".pdf":
        parts.pop("trend", None)
        content: str | bytes = render_pdf(run, **parts)
    else:
        content = render_html(run, **parts)
    try:
        write_atomically(path, content)
    except OSError as error:
        raise InputError(
            f"Could not write the report to {path}: {error.strerror or error}; choose another path."
        ) from error
    return path


# ---------------------------------------------------------------------------------------------------------------
# Sections


def _meta_line(run: Mapping[str, Any]) -> str:
    parts = [f"{run.get('samples', 0):,} samples"]
    if run.get("created_at"):
        parts.append(f"run {run['created_at']}")
    if run.get("model_fingerprint"):
        parts.append(f"weights {str(run['model_fingerprint'])[:12]}")
    if run.get("dataset_sha256"):
        parts.append(f"dataset {str(run['dataset_sha256'])[:12]}")
    return " · ".join(parts)


def _verdict_html(rows: Sequence[ScorecardRow]) -> str:
    outcome = verdict(rows)
    if outcome == "none":
        return '<p class="verdict none">No thresholds set: scores below are for reading, not gating.</p>'
    failed = [metric_label(r.metric) for r in rows if r.passed is False]
    text = "PASS: every threshold met." if outcome == "pass" else f"FAIL: below threshold on {', '.join(failed)}."
    return f'<p class="verdict {outcome}">{escape(text)}</p>'


def _scorecard_html(rows: Sequence[ScorecardRow], comparison: Mapping[str, Any] | None) -> str:
    baseline = baseline_id(comparison)
    against = f" against run #{escape(baseline)}" if baseline is not None else ""
    head = "<tr><th>metric</th><th>score</th><th>95% interval</th>"
    if comparison:
        head += f"<th>baseline</th><th>change{against}</th><th>change 95% interval</th>"
    head += "<th>threshold</th></tr>"
    body = []
    for row in rows:
        cells = [
            f"<td>{escape(metric_label(row.metric))}</td>",
            f"<td><b>{row.score:.1f}</b></td>",
            f"<td>{row.ci95[0]:.1f}-{row.ci95[1]:.1f}</td>",
        ]
        if comparison:
            cells += [
                f"<td>{_num(row.baseline)}</td>",
                f'<td class="{row.direction}">{_arrow(row)} {_signed(row.delta)}</td>',
                f"<td>{_interval(row.delta_ci95)}</td>",
            ]
        status = "" if row.passed is None else ("passed" if row.passed else "failed")
        threshold = "-" if row.threshold is None else f"&ge; {row.threshold:g} ({status})"
        cells.append(f'<td class="{status}">{threshold}</td>')
        body.append("<tr>" + "".join(cells) + "</tr>")
    note = (
        '<p class="note">&#9650;/&#9660;: a change whose paired-bootstrap 95% interval excludes zero; '
        "&#9654;: within noise.</p>"
        if comparison
        else ""
    )
    return f"<h2>Scorecard{against}</h2><table>{head}{''.join(body)}</table>{note}"


def _human_html(human: Mapping[str, Any] | None) -> str:
    line = human_line(human)
    return f"<h2>Human rating</h2><p>{escape(line[0].upper() + line[1:])}</p>"


def _cost_html(run: Mapping[str, Any]) -> str:
    timings = run.get("timings") or {}
    items = [
        ("answering", _seconds(timings.get("generation_seconds"))),
        ("scoring", _seconds(timings.get("scoring_seconds"))),
        ("prompt tokens", _count(timings.get("prompt_tokens"))),
        ("output tokens", _count(timings.get("output_tokens"))),
        (
            "generation speed",
            f"{timings['tokens_per_second']:,.0f} tokens/s" if timings.get("tokens_per_second") else "-",
        ),
    ]
    tiles = "".join(
        f'<div class="tile"><div class="value">{escape(v)}</div><div class="label">{escape(k)}</div></div>'
        for k, v in items
    )
    return f'<h2>Cost</h2><div class="scorecard">{tiles}</div>'


def _changes_html(comparison: Mapping[str, Any] | None) -> str:
    samples = (comparison or {}).get("samples") or []
    if not samples:
        return ""
    counts = {
        change: sum(1 for s in samples if s.get("change") == change) for change in ("improved", "regressed", "same")
    }
    regressed = [s for s in samples if s.get("change") == "regressed"][:WORST_LISTED]
    rows = "".join(
        f"<tr><td>{escape(s.get('item_id', ''))}</td><td class='example'>{escape(s.get('prompt', ''))}</td>"
        f"<td class='example'>{escape(s.get('baseline_output', ''))}</td>"
        f"<td class='example'>{escape(s.get('candidate_output', ''))}</td></tr>"
        for s in regressed
    )
    table = (
        "<table><tr><th>item</th><th>prompt</th><th>baseline answer</th><th>candidate answer</th></tr>"
        + rows
        + "</table>"
        if rows
        else ""
    )
    return (
        f"<h2>Per-sample changes</h2><p>{counts['improved']} improved, {counts['regressed']} regressed, "
        f"{counts['same']} unchanged.</p>{'<h3>Regressions</h3>' + table if table else ''}"
    )


def _worst(samples: Sequence[Mapping[str, Any]], rows: Sequence[ScorecardRow]) -> list[Mapping[str, Any]]:
    if not samples or not rows:
        return []
    names = [r.metric for r in rows]
    headline = "f1" if "f1" in names else names[0]
    scored = [s for s in samples if (s.get("scores") or {}).get(headline) is not None]
    return sorted(scored, key=lambda s: s["scores"][headline])[:WORST_LISTED]


def _worst_html(samples: Sequence[Mapping[str, Any]], rows: Sequence[ScorecardRow]) -> str:
    worst = _worst(samples, rows)
    if not worst:
        return ""
    names = [r.metric for r in rows]
    head = "<tr><th>item</th><th>prompt</th><th>reference</th><th>answer</th>" + "".join(
        f"<th>{escape(metric_label(n))}</th>" for n in names
    )
    body = "".join(
        f"<tr><td>{escape(s.get('item_id', ''))}</td><td class='example'>{escape(s.get('prompt', ''))}</td>"
        f"<td class='example'>{escape((s.get('references') or [''])[0])}</td>"
        f"<td class='example'>{escape(s.get('output', ''))}</td>"
        + "".join(f"<td>{_num(s['scores'].get(n))}</td>" for n in names)
        + "</tr>"
        for s in worst
    )
    return f"<h2>Weakest answers</h2><table>{head}</tr>{body}</table>"


def _settings_html(run: Mapping[str, Any]) -> str:
    settings = run.get("settings") or {}
    if not settings:
        return ""
    rows = "".join(f"<tr><th>{escape(k)}</th><td>{escape(v)}</td></tr>" for k, v in settings.items())
    return f"<h2>Settings</h2><table>{rows}</table>"


# ---------------------------------------------------------------------------------------------------------------
# Helpers


def _arrow(row: ScorecardRow) -> str:
    return {"up": "&#9650;", "down": "&#9660;", "flat": "&#9654;"}.get(row.direction, "")


def _num(value: float | None) -> str:
    return "-" if value is None else f"{value:.1f}"


def _signed(value: float | None) -> str:
    return "-" if value is None else f"{value:+.1f}"


def _interval(interval: tuple[float, float] | None) -> str:
    return "-" if interval is None else f"{interval[0]:+.1f} to {interval[1]:+.1f}"


def _seconds(value: float | None) -> str:
    if value is None:
        return "-"
    return f"{value:.1f} s" if value < 120 else f"{value / 60:.1f} min"


def _count(value: int | None) -> str:
    return "-" if value is None else f"{int(value):,}"
