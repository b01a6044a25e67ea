"""A data quality profile (and optionally a drift comparison) as one self-contained HTML file.

The file opens offline: plotly.js is inlined once in the head and every chart after it refers to it.
Every piece of text from the dataset or the user (file names, examples, warnings, rule names) is
HTML-escaped, since dataset rows may hold markup or scripts; the charts' JSON is escaped by plotly.
"""

from __future__ import annotations

from collections.abc import Mapping
from datetime import UTC, datetime
from typing import Any

from lib.htmlreport import chart_html as _chart
from lib.htmlreport import escape as _e
from lib.htmlreport import html_page
from lib.quality.figures import (
    check_description,
    check_label,
    drift_languages_figure,
    drift_lengths_figure,
    drift_ngrams_figure,
    format_value,
    heuristics_figure,
    issues_figure,
    language_figure,
    length_histogram_figure,
    perplexity_figure,
    pii_figure,
    pii_rows,
    rule_outcome,
)

ROWS_LISTED = 50  # row numbers shown per finding
SKIPPED_LISTED = 200
NGRAMS_LISTED = 20


def render_report(data: Mapping[str, Any], drift: Mapping[str, Any] | None = None) -> str:
    """The profile dict (ProfileResult.to_dict(), or a stored run's) and an optional drift dict as one HTML page."""
    name = str(data.get("dataset") or "dataset")
    generated = datetime.now(UTC).strftime("%Y-%m-%d %H:%M UTC")
    profiled = data.get("created_at") or data.get("profiled_at")
    when = f"profiled {_e(profiled)} · report generated {generated}" if profiled else f"generated {generated}"
    charts = [
        issues_figure(data),
        *(
            length_histogram_figure(data, unit)
            for unit in ("characters", "words", "tokens")
            if _has_histogram(data, unit)
        ),
        language_figure(data),
        pii_figure(data),
        heuristics_figure(data),
        *([perplexity_figure(data)] if data.get("perplexity") else []),
    ]
    sections = [
        f"<h1>Data quality report: {_e(name)}</h1>",
        f'<p class="meta">{when}</p>',
        _scorecard(data),
        _rules_section(data),
        "<h2>Charts</h2>",
        *(_chart(figure) for figure in charts),
        _findings_section(data),
        _skipped_section(data),
        _warnings_section(data),
        _settings_section(data),
    ]
    if drift:
        sections.append(_drift_section(drift))
    body = "\n".join(section for section in sections if section)
    return html_page(f"Data quality report: {name} · {generated}", body)


# ---------------------------------------------------------------------------------------------------------------
# Sections


def _scorecard(data: Mapping[str, Any]) -> str:
    rows = int(data.get("rows") or 0)
    pii, exact = pii_rows(data)
    rules = [rule for rule in (data.get("rules") or []) if isinstance(rule, Mapping)]
    outcomes = [rule_outcome(rule) for rule in rules]
    tiles = [
        ("rows", f"{rows:,}", ""),
        ("empty rows", _count(data.get("empty"), rows), ""),
        ("exact duplicates", _count(data.get("exact_duplicates"), rows), "copies beyond the first"),
        (
            "near-duplicates",
            _count(data.get("near_duplicates"), rows),
            f"in {int(data.get('near_duplicate_clusters') or 0):,} clusters",
        ),
        ("rows with PII" if exact else "PII findings", _count(pii, rows), "" if exact else "sum over types"),
        ("length outliers", _count(data.get("length_outliers"), rows), ""),
        (
            "rules",
            f"{outcomes.count('passed')} passed · {outcomes.count('failed')} failed" if rules else "none checked",
            "",
        ),
    ]
    cells = "".join(
        f'<div class="tile"><div class="value">{value}</div><div class="label">{_e(label)}'
        + (f"<br>{_e(note)}" if note else "")
        + "</div></div>"
        for label, value, note in tiles
    )
    return f'<h2>Summary</h2>\n<div class="scorecard">{cells}</div>'


def _rules_section(data: Mapping[str, Any]) -> str:
    rules = [rule for rule in (data.get("rules") or []) if isinstance(rule, Mapping)]
    if not rules:
        return '<h2>Rules</h2>\n<p class="note">No rules were checked for this run.</p>'
    lines = []
    for rule in rules:
        outcome = rule_outcome(rule)
        css = {"passed": "passed", "failed": "failed"}.get(outcome, "unchecked")
        lines.append(
            f"<tr><td>{_e(rule.get('rule', ''))}</td><td>{_e(rule.get('description', ''))}</td>"
            f"<td>{_e(format_value(rule.get('observed')))}</td><td>{_e(format_value(rule.get('expected')))}</td>"
            f"<td>{_e(format_value(rule.get('failing_rows')))}</td>"
            f'<td class="{css}">{outcome.upper()}</td></tr>'
        )
    header = "<tr><th>rule</th><th>description</th><th>observed</th><th>required</th><th>failing rows</th>"
    header += "<th>result</th></tr>"
    return f"<h2>Rules</h2>\n<table>{header}{''.join(lines)}</table>"


def _findings_section(data: Mapping[str, Any]) -> str:
    findings = {name: found for name, found in (data.get("findings") or {}).items() if isinstance(found, Mapping)}
    if not findings:
        return '<h2>Findings</h2>\n<p class="note">No findings recorded.</p>'
    where = "line" if data.get("format") in ("jsonl", "text") else "record"
    found = sorted(
        ((name, entry) for name, entry in findings.items() if entry.get("count")), key=lambda item: -item[1]["count"]
    )
    clean = [name for name, entry in findings.items() if not entry.get("count")]
    parts = [
        "<h2>Findings</h2>",
        f'<p class="note">Row numbers are the file\'s {where} numbers; the first {ROWS_LISTED} are listed.</p>',
    ]
    for name, entry in found:
        count, numbers = int(entry["count"]), list(entry.get("rows") or [])
        listed = ", ".join(f"{int(row):,}" for row in numbers[:ROWS_LISTED])
        more = f" … and {count - min(len(numbers), ROWS_LISTED):,} more" if count > ROWS_LISTED else ""
        examples = "".join(
            f'<tr><td>{int(example.get("row", 0)):,}</td><td class="example">{_e(example.get("text", ""))}</td></tr>'
            for example in entry.get("examples") or []
            if isinstance(example, Mapping)
        )
        description = check_description(name)
        parts.append(
            f'<div class="finding"><h3>{_e(check_label(name))}: {_rows(count)} '
            f"({float(entry.get('fraction') or 0):.2%})</h3>"
            + (f'<p class="note">Fails when {_e(description)}.</p>' if description else "")
            + f'<p class="rows">{where}s {listed}{more}</p>'
            + (f"<table><tr><th>{where}</th><th>example</th></tr>{examples}</table>" if examples else "")
            + "</div>"
        )
    if clean:
        parts.append(f'<p class="note">No rows found by: {_e(", ".join(check_label(name) for name in clean))}.</p>')
    return "\n".join(parts)


def _skipped_section(data: Mapping[str, Any]) -> str:
    skipped = [entry for entry in (data.get("skipped") or []) if isinstance(entry, Mapping)]
    if not skipped:
        return ""
    lines = "".join(
        f"<tr><td>{_e(entry.get('line', ''))}</td><td>{_e(entry.get('reason', ''))}</td></tr>"
        for entry in skipped[:SKIPPED_LISTED]
    )
    more = f'<p class="note">… and {len(skipped) - SKIPPED_LISTED:,} more.</p>' if len(skipped) > SKIPPED_LISTED else ""
    return (
        f'<h2>Skipped lines ({len(skipped):,})</h2>\n<p class="note">Lines the reader could not use; they are '
        f"not in any count above.</p>\n<table><tr><th>line</th><th>reason</th></tr>{lines}</table>{more}"
    )


def _warnings_section(data: Mapping[str, Any]) -> str:
    warnings = list(data.get("warnings") or [])
    if not warnings:
        return ""
    items = "".join(f"<li>{_e(warning)}</li>" for warning in warnings)
    return f"<h2>Warnings</h2>\n<ul>{items}</ul>"


def _settings_section(data: Mapping[str, Any]) -> str:
    sample = data.get("sample") or {}
    sampled = (
        f"Languages{' and token counts' if 'tokens' in (data.get('length') or {}) else ''} were measured on "
        f"{sample.get('method', 'every row')}: {int(sample.get('rows') or 0):,} of {int(sample.get('of') or 0):,} "
        "non-empty rows; every other check ran on every row."
    )
    settings = [
        ("file", data.get("dataset")),
        ("SHA-256", data.get("sha256")),
        ("format", data.get("format")),
        ("encoding", data.get("encoding")),
        ("text column", data.get("text_column")),
        ("chat data", {"conversation": "one row per conversation", "message": "one row per message"}.get(
            str(data.get("chat")), "no")),
        ("near-duplicate threshold", data.get("near_duplicate_threshold")),
        ("sample", sampled),
        ("profiled in", f"{float(data['seconds']):.1f} s" if data.get("seconds") is not None else None),
    ]  # fmt: skip
    lines = "".join(
        f"<tr><th>{_e(label)}</th><td>{_e(format_value(value))}</td></tr>"
        for label, value in settings
        if value is not None
    )
    return f"<h2>Settings</h2>\n<table>{lines}</table>"


def _drift_section(drift: Mapping[str, Any]) -> str:
    a = (drift.get("a") or {}).get("dataset", "a")
    b = (drift.get("b") or {}).get("dataset", "b")
    parts = [
        f"<h2>Drift: {_e(b)} against {_e(a)}</h2>",
        f"<p><strong>{_e(drift.get('verdict', ''))}</strong></p>",
    ]
    lines = []
    for unit, entry in (drift.get("lengths") or {}).items():
        lines.append(
            f"<tr><td>{_e(unit)} per row</td><td>{_stat(entry.get('psi'))}</td><td>{_stat(entry.get('ks_statistic'))}"
            f"</td><td>{_p_value(entry.get('ks_p_value'))}</td><td>{_e(entry.get('meaning', ''))}</td></tr>"
        )
    languages = drift.get("languages") or {}
    lines.append(
        f"<tr><td>language mix</td><td>{_stat(languages.get('psi'))}</td><td>-</td><td>-</td>"
        f"<td>{_e(languages.get('meaning', ''))}</td></tr>"
    )
    parts.append(
        "<table><tr><th>measure</th><th>PSI</th><th>KS D</th><th>KS p</th><th>what it means</th></tr>"
        + "".join(lines)
        + "</table>"
    )
    conventions = drift.get("conventions") or {}
    parts.extend(f'<p class="note">{_e(text)}</p>' for text in conventions.values())
    for unit in drift.get("lengths") or {}:
        parts.append(_chart(drift_lengths_figure(drift, unit)))
    parts.append(_chart(drift_languages_figure(drift)))
    ngrams = drift.get("ngrams") or {}
    sample = ngrams.get("sample") or {}
    if sample:
        statement = "; ".join(
            f"{_e(side)}: {_e(info.get('method', ''))}, {int(info.get('rows') or 0):,} of {int(info.get('of') or 0):,} "
            "non-empty rows"
            for side, info in ((a, sample.get("a") or {}), (b, sample.get("b") or {}))
        )
        parts.append(
            f'<p class="note">Word n-grams (lowercased, stop words kept) counted on {statement}; the first '
            f"{int(sample.get('characters_per_row') or 0):,} characters of each row.</p>"
        )
    for kind in ("unigrams", "bigrams"):
        entry = ngrams.get(kind)
        if not isinstance(entry, Mapping):
            continue
        parts.append(_chart(drift_ngrams_figure(drift, kind)))
        parts.append(f'<p class="note">{_e(entry.get("meaning", ""))}</p>')
        parts.append(_ngram_table(kind, a, b, entry))
    return "\n".join(parts)


def _ngram_table(kind: str, a: str, b: str, entry: Mapping[str, Any]) -> str:
    a_top, b_top = list(entry.get("a_top") or []), list(entry.get("b_top") or [])
    lines = []
    for index in range(min(NGRAMS_LISTED, max(len(a_top), len(b_top)))):
        cells = ""
        for top in (a_top, b_top):
            item = top[index] if index < len(top) else None
            cells += (
                f"<td>{_e(item['ngram'])}</td><td>{float(item['share']):.2%}</td>" if item else "<td></td><td></td>"
            )
        lines.append(f"<tr><td>{index + 1}</td>{cells}</tr>")
    what = "words" if kind == "unigrams" else "word pairs"
    return (
        f"<h3>Most common {what}</h3><table><tr><th>#</th><th>{_e(a)}</th><th>share</th><th>{_e(b)}</th>"
        f"<th>share</th></tr>{''.join(lines)}</table>"
    )


# ---------------------------------------------------------------------------------------------------------------
# Helpers


def _has_histogram(data: Mapping[str, Any], unit: str) -> bool:
    # Characters and words are drawn even when empty (the figure says why); tokens only when counted.
    return unit != "tokens" or bool((data.get("histograms") or {}).get("tokens"))


def _rows(count: int) -> str:
    return f"{count:,} row" + ("" if count == 1 else "s")


def _count(value: Any, rows: int) -> str:
    count = int(value or 0)
    return f"{count:,}" + (f' <span class="label">({count / rows:.1%})</span>' if rows else "")


def _stat(value: Any, spec: str = ".3f") -> str:
    return "-" if value is None else format(float(value), spec)


def _p_value(value: Any) -> str:
    if value is None:
        return "-"
    return "&lt; 0.0001" if float(value) < 1e-4 else f"{float(value):.3g}"
