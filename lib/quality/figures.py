"""Plotly figures of a data quality profile and of a drift comparison, built from their dicts.

Every builder takes the `to_dict()` of a ProfileResult (or a DriftReport), so the page, a stored run and
the HTML report draw the same charts. A missing key or an empty dataset gives a figure with a note, never
an exception. Text that comes from the data or the user (rule names, descriptions, file names) is
HTML-escaped first, because plotly renders a subset of HTML in titles, labels and hovers.
"""

from __future__ import annotations

import html
from collections.abc import Mapping
from typing import Any

import plotly.graph_objects as go

from lib.quality.heuristics import FAMILIES, RULES

ACCENT = "#F5A524"
BASELINE = "#2563eb"  # drift: dataset a
COMPARED = "#f59e0b"  # drift: dataset b
PASS = "#16a34a"
FAIL = "#dc2626"
UNCHECKED = "#9ca3af"
CATEGORY_COLORS = {
    "empty": "#6b7280",
    "duplicates": "#2563eb",
    "length": "#7c3aed",
    "PII": "#dc2626",
    "markup": "#0891b2",
    "heuristics": ACCENT,
    "numeric": "#65a30d",
}
FAMILY_COLORS = {"gopher_quality": "#2563eb", "gopher_repetition": "#7c3aed", "c4": "#0891b2", "fineweb": ACCENT}
FAMILY_NAMES = {
    "gopher_quality": "Gopher quality",
    "gopher_repetition": "Gopher repetition",
    "c4": "C4",
    "fineweb": "FineWeb",
}
LANGUAGES_SHOWN = 10
MARGIN = dict(l=10, r=10, t=50, b=10)

_RULE_FAMILY = {rule.name: rule.family for rule in RULES}
_RULE_DESCRIPTION = {rule.name: rule.description for rule in RULES}
_CHECK_LABELS = {
    "empty": "empty rows",
    "empty_parts": "conversations with an empty message",
    "exact_duplicates": "exact duplicates",
    "near_duplicates": "near-duplicates",
    "length_outliers": "length outliers",
}
_MARKUP_LABELS = {"html": "HTML markup", "control_characters": "control characters", "mojibake": "mojibake"}


def check_label(check: str) -> str:
    """A finding's key (`pii_email`, `heuristic_c4_curly_bracket`...) as people read it."""
    if check in _CHECK_LABELS:
        return _CHECK_LABELS[check]
    if check.startswith("pii_"):
        return "PII: " + check[len("pii_") :].replace("_", " ")
    # Rule and column names stay as written: they are what a rule set or the file calls them.
    for prefix, label in (("heuristic_", "heuristic: "), ("outlier_", "numeric outlier: ")):
        if check.startswith(prefix):
            return label + check[len(prefix) :]
    if check.startswith("markup_"):
        return _MARKUP_LABELS.get(check[len("markup_") :], check[len("markup_") :].replace("_", " "))
    return check.replace("_", " ")


def check_description(check: str) -> str | None:
    """What a heuristic finding flags (`heuristic_c4_curly_bracket` -> "a line C4 keeps contains '{'..."), else None."""
    if check.startswith("heuristic_"):
        return _RULE_DESCRIPTION.get(check[len("heuristic_") :])
    return None


def pii_rows(data: Mapping[str, Any]) -> tuple[int, bool]:
    """Rows with any PII and whether that is exact: the union of the types' rows, else the sum over types.

    The union needs every type's full row list and one row per file row (not chat per message, where
    messages share their conversation's line number); otherwise the sum, which may count a row twice.
    """
    counts = {kind: int(count) for kind, count in (data.get("pii") or {}).items()}
    findings = data.get("findings") or {}
    lists = [findings.get(f"pii_{kind}") for kind in counts]
    complete = all(isinstance(found, Mapping) and len(found.get("rows") or []) == found.get("count") for found in lists)
    if counts and complete and data.get("chat") != "message":
        return len({row for found in lists for row in found["rows"]}), True
    return sum(counts.values()), False


def empty_figure(title: str, note: str, height: int = 260) -> go.Figure:
    """A figure with nothing to draw: the title and a note saying why."""
    figure = go.Figure()
    figure.add_annotation(
        text=note, xref="paper", yref="paper", x=0.5, y=0.5, showarrow=False, font=dict(size=13, color="#4b5563")
    )
    figure.update_layout(
        title=dict(text=title, font=dict(size=14)),
        height=height,
        margin=MARGIN,
        xaxis=dict(visible=False),
        yaxis=dict(visible=False),
    )
    return figure


# ---------------------------------------------------------------------------------------------------------------
# One profile


def length_histogram_figure(data: Mapping[str, Any], unit: str = "characters") -> go.Figure:
    """Rows per length bin (log-spaced bins on a log axis) of the non-empty rows, with the median marked."""
    title = f"Row length in {unit}"
    histogram = (data.get("histograms") or {}).get(unit) or {}
    edges, counts = list(histogram.get("edges") or []), list(histogram.get("counts") or [])
    if not counts or len(edges) != len(counts) + 1 or not sum(counts):
        why = "token counts were not taken" if unit == "tokens" else "no non-empty rows to measure"
        return empty_figure(title, f"Nothing to draw: {why}.")
    total = sum(counts)
    # A filled step line on a log axis: bars on a log axis get widths in log units, a step line is exact.
    upper = [high - 1 for high in edges[1:]]  # bins hold [edge, next edge), the last up to its top edge - 1
    custom = [(low, high, count, count / total) for low, high, count in zip(edges[:-1], upper, counts, strict=True)]
    figure = go.Figure(
        _step_histogram(
            edges, counts, custom,
            f"%{{customdata[0]:,}}-%{{customdata[1]:,}} {unit}: %{{customdata[2]:,}} rows (%{{customdata[3]:.1%}})",
        )
    )  # fmt: skip
    stats = (data.get("length") or {}).get(unit) or {}
    if stats.get("median"):
        figure.add_trace(
            go.Scatter(
                x=[stats["median"], stats["median"]],
                y=[0, max(counts)],
                mode="lines",
                line=dict(color="#374151", dash="dash", width=1),
                name=f"median {stats['median']:,.0f}",
                hovertemplate=f"median {stats['median']:,.0f} {unit}<extra></extra>",
            )
        )
    measured = f"{total:,} non-empty rows"
    if unit == "tokens" and stats.get("rows") and data.get("sample", {}).get("method", "every row") != "every row":
        measured = f"a sample of {total:,} rows"
    figure.update_layout(
        title=dict(text=f"{title} · {measured}", font=dict(size=14)),
        height=300,
        margin=MARGIN,
        showlegend=bool(stats.get("median")),
        legend=dict(orientation="h", y=-0.25),
        xaxis=dict(title=f"{unit} per row (log scale)", type="log"),
        yaxis=dict(title="rows", rangemode="tozero"),
    )
    return figure


def issues_figure(data: Mapping[str, Any]) -> go.Figure:
    """Rows affected per issue type, largest first, with the share of rows in the hover."""
    title = "Rows affected per issue"
    rows = int(data.get("rows") or 0)
    if not rows:
        return empty_figure(title, "Nothing to draw: the dataset has no rows.")
    # A check missing from the dict (an older stored run) gets no bar rather than a misleading zero.
    issues: list[tuple[str, int, str]] = [
        (label, int(data[key] or 0), category)
        for key, label, category in (
            ("empty", "empty rows", "empty"),
            ("exact_duplicates", "exact duplicates", "duplicates"),
            ("near_duplicates", "near-duplicates", "duplicates"),
            ("length_outliers", "length outliers", "length"),
        )
        if key in data
    ]
    if data.get("chat") == "conversation" or data.get("empty_parts"):
        issues.append(("conversations with an empty message", int(data.get("empty_parts") or 0), "empty"))
    if data.get("pii"):
        count, exact = pii_rows(data)
        issues.append(("PII (any type)" if exact else "PII (sum over types)", count, "PII"))
    markup = data.get("markup") or {}
    for kind in ("html", "mojibake", "control_characters"):
        if kind in markup:
            issues.append((_MARKUP_LABELS[kind], int(markup[kind]), "markup"))
    for column, count in (data.get("numeric_outliers") or {}).items():
        issues.append((f"outliers in {_plain(column)}", int(count), "numeric"))
    # Every rule that failed somewhere (a rule nobody failed adds a zero bar per rule: see heuristics_figure).
    for rule, count in (data.get("heuristics") or {}).items():
        if count:
            issues.append((f"heuristic: {_plain(rule)}", int(count), "heuristics"))
    if not issues:
        return empty_figure(title, "Nothing to draw: no check results in this run.")
    issues.sort(key=lambda issue: (-issue[1], issue[0]))
    figure = go.Figure()
    for category in dict.fromkeys(category for _, _, category in issues):
        chosen = [issue for issue in issues if issue[2] == category]
        figure.add_trace(
            go.Bar(
                y=[label for label, _, _ in chosen],
                x=[count for _, count, _ in chosen],
                orientation="h",
                name=category,
                marker_color=CATEGORY_COLORS[category],
                customdata=[count / rows for _, count, _ in chosen],
                text=[f"{count:,}" for _, count, _ in chosen],
                textposition="outside",
                cliponaxis=False,
                hovertemplate="%{y}: %{x:,} rows (%{customdata:.1%} of rows)<extra></extra>",
            )
        )
    figure.update_layout(
        title=dict(text=f"{title} · of {rows:,} rows", font=dict(size=14)),
        height=120 + 22 * len(issues),
        margin=MARGIN,
        barmode="overlay",
        legend=dict(orientation="h", y=-0.12 if len(issues) > 10 else -0.3),
        xaxis=dict(title="rows", rangemode="tozero"),
        yaxis=dict(categoryorder="array", categoryarray=[label for label, _, _ in reversed(issues)], automargin=True),
    )
    return figure


def language_figure(data: Mapping[str, Any]) -> go.Figure:
    """Share of rows per language, the top ten and the rest as "other", saying which rows were measured."""
    languages = {str(code): int(count) for code, count in (data.get("languages") or {}).items()}
    sample = data.get("sample") or {}
    title = "Language mix"
    detected = sum(languages.values())
    if not detected:
        return empty_figure(title, "Nothing to draw: no row was long enough to tell its language.")
    ranked = sorted(languages.items(), key=lambda item: (-item[1], item[0]))
    shown = ranked[:LANGUAGES_SHOWN]
    rest = sum(count for _, count in ranked[LANGUAGES_SHOWN:])
    if rest:
        shown.append((f"other ({len(ranked) - LANGUAGES_SHOWN})", rest))
    figure = go.Figure(
        go.Bar(
            x=[code for code, _ in shown],
            y=[count / detected * 100 for _, count in shown],
            customdata=[count for _, count in shown],
            marker_color=ACCENT,
            text=[f"{count / detected:.1%}" for _, count in shown],
            textposition="outside",
            cliponaxis=False,
            hovertemplate="%{x}: %{customdata:,} rows (%{y:.1f}%)<extra></extra>",
        )
    )
    figure.update_layout(
        title=dict(text=f"{title} · {_sample_statement(sample, detected)}", font=dict(size=14)),
        height=300,
        margin=MARGIN,
        xaxis=dict(title="language (ISO 639-1)", type="category"),
        yaxis=dict(title="share of rows (%)", rangemode="tozero"),
    )
    return figure


def pii_figure(data: Mapping[str, Any]) -> go.Figure:
    """Rows containing each kind of personal data (every kind checked, zeros included)."""
    counts = {str(kind): int(count) for kind, count in (data.get("pii") or {}).items()}
    rows = int(data.get("rows") or 0)
    title = "Rows with personal data (PII), by type"
    if not counts or not rows:
        return empty_figure(title, "Nothing to draw: no PII check results.")
    total, exact = pii_rows(data)
    labels = [kind.replace("_", " ") for kind in counts]
    figure = go.Figure(
        go.Bar(
            x=labels,
            y=list(counts.values()),
            marker_color=CATEGORY_COLORS["PII"],
            customdata=[count / rows for count in counts.values()],
            text=[f"{count:,}" for count in counts.values()],
            textposition="outside",
            cliponaxis=False,
            hovertemplate="%{x}: %{y:,} rows (%{customdata:.1%} of rows)<extra></extra>",
        )
    )
    summary = f"{total:,} rows with any type" if exact else f"{total:,} findings in all"
    figure.update_layout(
        title=dict(text=f"{title} · {summary}", font=dict(size=14)),
        height=280,
        margin=MARGIN,
        xaxis=dict(title="PII type", type="category"),
        yaxis=dict(title="rows", rangemode="tozero"),
    )
    return figure


def heuristics_figure(data: Mapping[str, Any]) -> go.Figure:
    """Rows failing each quality heuristic, grouped and coloured by family (Gopher, C4, FineWeb)."""
    counts = {str(rule): int(count) for rule, count in (data.get("heuristics") or {}).items()}
    rows = int(data.get("rows") or 0)
    title = "Rows failing each quality heuristic"
    if not counts or not rows:
        return empty_figure(title, "Nothing to draw: no heuristic was run.")
    order = {family: index for index, family in enumerate(FAMILIES)}
    ranked = sorted(counts, key=lambda rule: (order.get(_family(rule), len(order)), list(counts).index(rule)))
    figure = go.Figure()
    for family in dict.fromkeys(_family(rule) for rule in ranked):
        chosen = [rule for rule in ranked if _family(rule) == family]
        figure.add_trace(
            go.Bar(
                y=[_plain(rule) for rule in chosen],
                x=[counts[rule] for rule in chosen],
                orientation="h",
                name=FAMILY_NAMES.get(family, _plain(family)),
                marker_color=FAMILY_COLORS.get(family, UNCHECKED),
                customdata=[(counts[rule] / rows, _plain(_RULE_DESCRIPTION.get(rule, ""))) for rule in chosen],
                hovertemplate="%{y}: %{x:,} rows (%{customdata[0]:.1%})<br>fails when %{customdata[1]}<extra></extra>",
            )
        )
    failing = sum(1 for count in counts.values() if count)
    figure.update_layout(
        title=dict(text=f"{title} · {failing} of {len(counts)} rules failed by some row", font=dict(size=14)),
        height=120 + 20 * len(counts),
        margin=MARGIN,
        barmode="overlay",
        legend=dict(orientation="h", y=-0.08),
        xaxis=dict(title="rows failing", rangemode="tozero"),
        yaxis=dict(categoryorder="array", categoryarray=[_plain(r) for r in reversed(ranked)], automargin=True),
    )
    return figure


def rules_figure(data: Mapping[str, Any]) -> go.Figure:
    """Each rule's outcome as a table: what was observed, what was required, passed or failed."""
    rules = [rule for rule in (data.get("rules") or []) if isinstance(rule, Mapping)]
    title = "Rules"
    if not rules:
        return empty_figure(title, "No rules were checked for this run.", height=160)
    outcomes = [rule_outcome(rule) for rule in rules]
    passed, failed = outcomes.count("passed"), outcomes.count("failed")
    colors = [{"passed": PASS, "failed": FAIL}.get(outcome, UNCHECKED) for outcome in outcomes]
    figure = go.Figure(
        go.Table(
            columnwidth=[2, 5, 2.5, 1.5, 1, 1],
            header=dict(
                values=["rule", "description", "observed", "required", "failing rows", "result"],
                align="left",
                fill_color="#e5e7eb",
                font=dict(color="#111827", size=12),
            ),
            cells=dict(
                values=[
                    [_plain(rule.get("rule", "")) for rule in rules],
                    [_plain(rule.get("description", "")) for rule in rules],
                    [_plain(format_value(rule.get("observed"))) for rule in rules],
                    [_plain(format_value(rule.get("expected"))) for rule in rules],
                    [_plain(format_value(rule.get("failing_rows"))) for rule in rules],
                    [outcome.upper() for outcome in outcomes],
                ],
                align="left",
                fill_color=[["white"] * len(rules)] * 5 + [colors],
                font=dict(color=[["#111827"] * len(rules)] * 5 + [["white"] * len(rules)], size=12),
                height=26,
            ),
        )
    )
    figure.update_layout(
        title=dict(text=f"{title} · {passed} passed, {failed} failed of {len(rules)}", font=dict(size=14)),
        height=110 + 30 * len(rules),
        margin=MARGIN,
    )
    return figure


def rule_outcome(rule: Mapping[str, Any]) -> str:
    """ "passed", "failed" or "not checked" (passed missing or None: the rule could not be evaluated)."""
    passed = rule.get("passed")
    return "not checked" if passed is None else "passed" if passed else "failed"


def format_value(value: Any) -> str:
    """A rule's observed or required value for people: numbers with separators, ranges and operators as text."""
    if value is None:
        return "-"
    if isinstance(value, bool):
        return str(value).lower()
    if isinstance(value, int):
        return f"{value:,}"
    if isinstance(value, float):
        return f"{value:,.4g}" if abs(value) < 1e6 else f"{value:,.0f}"
    if isinstance(value, Mapping):
        return ", ".join(f"{key} {format_value(item)}" for key, item in value.items())
    if isinstance(value, list | tuple):
        return ", ".join(format_value(item) for item in value)
    return str(value)


# ---------------------------------------------------------------------------------------------------------------
# Drift (from DriftReport.to_dict())


def drift_lengths_figure(drift: Mapping[str, Any], unit: str = "characters") -> go.Figure:
    """Both datasets' length distributions overlaid as shares of rows, on the shared log-spaced bins."""
    a_name, b_name = _names(drift)
    entry = (drift.get("lengths") or {}).get(unit) or {}
    histogram = entry.get("histogram") or {}
    edges = list(histogram.get("edges") or [])
    a_counts, b_counts = list(histogram.get("a_counts") or []), list(histogram.get("b_counts") or [])
    title = f"Row length in {unit}: {a_name} vs {b_name}"
    if len(edges) < 2 or not (sum(a_counts) and sum(b_counts)):
        return empty_figure(title, f"Nothing to draw: {entry.get('meaning') or 'no lengths on one side.'}")
    figure = go.Figure()
    for name, counts, color in ((a_name, a_counts, BASELINE), (b_name, b_counts, COMPARED)):
        total = sum(counts)
        shares = [count / total * 100 for count in counts]
        custom = [(low, high - 1, count) for low, high, count in zip(edges[:-1], edges[1:], counts, strict=True)]
        figure.add_trace(
            go.Scatter(
                x=edges,
                y=[*shares, shares[-1]],
                mode="lines",
                line=dict(shape="hv", color=color, width=2),
                name=name,
                customdata=[*custom, custom[-1]],
                hovertemplate=f"%{{customdata[0]:,}}-%{{customdata[1]:,}} {unit}: %{{customdata[2]:,}} rows "
                f"(%{{y:.1f}}%)<extra>{name}</extra>",
            )
        )
    stats = []
    if entry.get("psi") is not None:
        stats.append(f"PSI {entry['psi']:.3f} ({entry.get('level', '')})")
    if entry.get("ks_statistic") is not None:
        p = float(entry.get("ks_p_value") or 0.0)
        stats.append(f"KS D {entry['ks_statistic']:.3f}, p {'< 0.0001' if p < 1e-4 else f'{p:.2g}'}")
    figure.update_layout(
        title=dict(text=title + (" · " + " · ".join(stats) if stats else ""), font=dict(size=14)),
        height=320,
        margin=MARGIN,
        hovermode="x unified",
        legend=dict(orientation="h", y=-0.25),
        xaxis=dict(title=f"{unit} per row (log scale)", type="log"),
        yaxis=dict(title="share of non-empty rows (%)", rangemode="tozero"),
    )
    return figure


def drift_languages_figure(drift: Mapping[str, Any]) -> go.Figure:
    """Each language's share on both sides, side by side (the ten largest on either side, the rest as other)."""
    a_name, b_name = _names(drift)
    entry = drift.get("languages") or {}
    shares = list(entry.get("shares") or [])
    title = f"Language mix: {a_name} vs {b_name}"
    if not shares:
        return empty_figure(title, f"Nothing to draw: {entry.get('meaning') or 'no languages detected.'}")
    ranked = sorted(shares, key=lambda item: -max(item["a_share"], item["b_share"]))
    shown, rest = ranked[:LANGUAGES_SHOWN], ranked[LANGUAGES_SHOWN:]
    labels = [item["language"] for item in shown]
    a_values = [item["a_share"] * 100 for item in shown]
    b_values = [item["b_share"] * 100 for item in shown]
    if rest:
        labels.append(f"other ({len(rest)})")
        a_values.append(sum(item["a_share"] for item in rest) * 100)
        b_values.append(sum(item["b_share"] for item in rest) * 100)
    figure = go.Figure()
    for name, values, color in ((a_name, a_values, BASELINE), (b_name, b_values, COMPARED)):
        figure.add_trace(
            go.Bar(
                x=labels,
                y=values,
                name=name,
                marker_color=color,
                hovertemplate=f"%{{x}}: %{{y:.1f}}% of rows<extra>{name}</extra>",
            )
        )
    psi = entry.get("psi")
    figure.update_layout(
        title=dict(
            text=title + (f" · PSI {psi:.3f} ({entry.get('level', '')})" if psi is not None else ""),
            font=dict(size=14),
        ),
        barmode="group",
        height=320,
        margin=MARGIN,
        legend=dict(orientation="h", y=-0.25),
        xaxis=dict(title="language (ISO 639-1)", type="category"),
        yaxis=dict(title="share of rows with a detected language (%)", rangemode="tozero"),
    )
    return figure


def drift_ngrams_figure(drift: Mapping[str, Any], kind: str = "unigrams") -> go.Figure:
    """The n-grams whose share changed most, as the change in percentage points (b minus a)."""
    a_name, b_name = _names(drift)
    entry = (drift.get("ngrams") or {}).get(kind) or {}
    changes = list(entry.get("changes") or [])
    what = "words" if kind == "unigrams" else "word pairs"
    title = f"Largest changes in the share of {what}: {b_name} minus {a_name}"
    if not changes:
        return empty_figure(title, f"Nothing to draw: {entry.get('meaning') or 'no words on one side.'}")
    changes = sorted(changes, key=lambda item: item["change"])
    figure = go.Figure(
        go.Bar(
            y=[_plain(item["ngram"]) for item in changes],
            x=[item["change"] * 100 for item in changes],
            orientation="h",
            marker_color=[COMPARED if item["change"] > 0 else BASELINE for item in changes],
            customdata=[(item["a_share"] * 100, item["b_share"] * 100) for item in changes],
            hovertemplate="'%{y}': %{customdata[0]:.2f}% → %{customdata[1]:.2f}% (%{x:+.2f} points)<extra></extra>",
        )
    )
    figure.update_layout(
        title=dict(text=title, font=dict(size=14)),
        height=120 + 20 * len(changes),
        margin=MARGIN,
        showlegend=False,
        xaxis=dict(title=f"change in share of all {what} (percentage points)", zeroline=True),
        yaxis=dict(type="category", automargin=True),
    )
    return figure


# ---------------------------------------------------------------------------------------------------------------
# Helpers


def _plain(text: Any) -> str:
    """Text from data or users, escaped so plotly shows it as typed instead of rendering tags in it."""
    return html.escape(str(text), quote=False)


def _family(rule: str) -> str:
    return _RULE_FAMILY.get(rule) or rule.split("_", 1)[0]


def _names(drift: Mapping[str, Any]) -> tuple[str, str]:
    a = (drift.get("a") or {}).get("dataset") or "a"
    b = (drift.get("b") or {}).get("dataset") or "b"
    if a == b:  # the same file name on both sides: keep the legend's two entries apart
        a, b = f"{a} (a)", f"{b} (b)"
    return _plain(a), _plain(b)


def _sample_statement(sample: Mapping[str, Any], detected: int) -> str:
    """Which rows the languages were told on, e.g. "a uniform sample of 100,000 of 2,000,000 rows"."""
    rows, of = sample.get("rows"), sample.get("of")
    if rows is None or of is None:
        return f"{detected:,} rows"
    unknown = max(0, int(rows) - detected)
    told = f", {unknown:,} too short to tell" if unknown else ""
    if rows == of:
        return f"every non-empty row ({int(rows):,}{told})"
    return f"a uniform random sample of {int(rows):,} of {int(of):,} non-empty rows{told}"


def perplexity_figure(data: Mapping[str, Any]) -> go.Figure:
    """Rows per perplexity bin (log-spaced) on the scored sample, with the median marked (CCNet's quality signal)."""
    ppl = data.get("perplexity") or {}
    title = "Per-row perplexity"
    histogram = ppl.get("histogram") or {}
    edges, counts = list(histogram.get("edges") or []), list(histogram.get("counts") or [])
    if not counts or len(edges) != len(counts) + 1:
        return empty_figure(title, "Nothing to draw: perplexity was not scored on this run.")
    figure = go.Figure(
        _step_histogram(
            edges, counts, list(zip(edges[:-1], edges[1:], counts, strict=True)),
            "perplexity %{customdata[0]:,.1f}-%{customdata[1]:,.1f}: %{customdata[2]:,} rows",
        )
    )  # fmt: skip
    median = ppl.get("median")
    if median:
        figure.add_trace(
            go.Scatter(
                x=[median, median], y=[0, max(counts)], mode="lines", line=dict(color="#374151", dash="dash", width=1),
                name=f"median {median:,.1f}", hovertemplate=f"median {median:,.1f}<extra></extra>",
            )
        )  # fmt: skip
    figure.update_layout(
        title=dict(
            text=f"{title} under {_plain(ppl.get('model', ''))} · {ppl.get('rows', 0):,} rows "
            f"({_plain(ppl.get('method', ''))}) · {ppl.get('high', 0):,} unusually high",
            font=dict(size=14),
        ),
        height=300, margin=MARGIN, showlegend=bool(median), legend=dict(orientation="h", y=-0.25),
        xaxis=dict(title="perplexity (log scale; lower: more predictable text)", type="log"),
        yaxis=dict(title="rows", rangemode="tozero"),
    )  # fmt: skip
    return figure


def _step_histogram(edges: list, counts: list, custom: list, hover: str) -> go.Scatter:
    """Counts per [edge, next edge) bin as a filled step line: exact bin widths on a log axis, where bars are not."""
    return go.Scatter(
        x=edges,
        y=[*counts, counts[-1]],
        mode="lines",
        line=dict(shape="hv", color=ACCENT, width=1.5),
        fill="tozeroy",
        customdata=[*custom, custom[-1]],
        hovertemplate=hover + "<extra></extra>",
        name="rows",
    )
