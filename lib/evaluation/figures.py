"""Plotly figures for evaluation results, shared by the page and the HTML report.

Builders take plain dicts (a result's `to_dict()`), so a stored run draws like a fresh one. Text from
users (model names, file names) is HTML-escaped, because plotly renders a subset of HTML.
"""

from __future__ import annotations

import html
import math
from collections.abc import Mapping
from typing import Any

import plotly.graph_objects as go

from lib.evaluation.perplexity import PerplexityResult

ACCENT = "#F5A524"
REFERENCE_LINE = "#8AB4F8"


def perplexity_windows_figure(result: PerplexityResult) -> go.Figure:
    """Perplexity of each window's newly scored tokens, with the corpus value as a line."""
    windows = result.windows
    figure = go.Figure(
        go.Bar(
            x=[w.index + 1 for w in windows],
            y=[w.perplexity for w in windows],
            marker_color=ACCENT,
            customdata=[(w.begin, w.end, w.scored_tokens) for w in windows],
            hovertemplate=(
                "window %{x}<br>tokens %{customdata[0]}-%{customdata[1]}<br>"
                "scored %{customdata[2]}<br>perplexity %{y:.2f}<extra></extra>"
            ),
            name="window",
        )
    )
    figure.add_hline(
        y=result.perplexity,
        line_dash="dash",
        line_color=REFERENCE_LINE,
        annotation_text=f"corpus {result.perplexity:.2f}",
        annotation_position="top left",
    )
    figure.update_layout(
        title=f"Perplexity per window ({result.max_length}-token windows, stride {result.stride})",
        xaxis_title="window",
        yaxis_title="perplexity (lower is better)",
        margin=dict(l=10, r=10, t=50, b=10),
        height=340,
        showlegend=False,
    )
    return figure


def perplexity_history_figure(runs: list[dict]) -> go.Figure:
    """Corpus perplexity of stored runs in run order, one line per model and text.

    A text is known by its SHA-256, not its file name: two different `article.txt` files are two
    lines, and the same text uploaded under two names is one (labelled with its latest name).
    """
    figure = go.Figure()
    groups: dict[tuple[str, str], list[dict]] = {}
    for run in sorted(runs, key=lambda r: r["id"]):
        text_key = run.get("text_sha256") or f"name:{run['source']}"  # runs stored before hashes existed
        groups.setdefault((run["model"], text_key), []).append(run)
    for (model, text_key), rows in groups.items():
        short = "" if text_key.startswith("name:") else f" ({text_key[:8]})"
        name = f"{model} · {rows[-1]['source']}{short}"
        figure.add_trace(
            go.Scatter(
                x=[f"#{r['id']}" for r in rows],
                y=[r["perplexity"] for r in rows],
                mode="lines+markers",
                name=name,
                customdata=[r["created_at"] for r in rows],
                hovertemplate="run %{x}<br>%{customdata}<br>perplexity %{y:.3f}<extra>%{fullData.name}</extra>",
            )
        )
    figure.update_layout(
        title="Perplexity of stored runs",
        xaxis=dict(
            title="run",
            type="category",
            categoryorder="array",
            categoryarray=[f"#{r['id']}" for r in sorted(runs, key=lambda r: r["id"])],
        ),
        yaxis_title="perplexity (lower is better)",
        margin=dict(l=10, r=10, t=50, b=10),
        height=320,
        legend=dict(orientation="h", y=-0.2),
    )
    return figure


METRIC_LABELS = {"bleu": "BLEU", "chrf": "chrF", "rouge_l": "ROUGE-L", "f1": "F1", "exact_match": "Exact match"}
IMPROVED = "#16a34a"
REGRESSED = "#dc2626"
UNCHANGED = "#9ca3af"


def metric_label(name: str) -> str:
    """`rouge_l` -> `ROUGE-L`; unknown names as given."""
    return METRIC_LABELS.get(name, name)


def metric_scores_figure(
    metrics: Mapping[str, Mapping[str, Any]], title: str = "Scores with 95% intervals"
) -> go.Figure:
    """One bar per metric (0-100) with its bootstrap 95% interval as an error bar."""
    names = list(metrics)
    scores = [float(metrics[n]["score"]) for n in names]
    lows = [s - float(metrics[n]["ci95"][0]) for n, s in zip(names, scores, strict=True)]
    highs = [float(metrics[n]["ci95"][1]) - s for n, s in zip(names, scores, strict=True)]
    figure = go.Figure(
        go.Bar(
            x=scores,
            y=[metric_label(n) for n in names],
            orientation="h",
            marker_color=ACCENT,
            error_x=dict(type="data", symmetric=False, array=highs, arrayminus=lows, color="#444"),
            text=[f"{s:.1f}" for s in scores],
            textposition="inside",
            insidetextanchor="start",
            hovertemplate="%{y}: %{x:.2f}<extra></extra>",
        )
    )
    figure.update_layout(
        title=title,
        xaxis=dict(title="score (0-100, higher is better)", range=[0, 100]),
        yaxis=dict(autorange="reversed"),
        margin=dict(l=10, r=10, t=50, b=10),
        height=80 + 45 * max(1, len(names)),
        showlegend=False,
    )
    return figure


def sample_scores_figure(per_sample: Mapping[str, list[float]]) -> go.Figure:
    """How the per-sample scores spread: one box per metric, every sample a dot."""
    figure = go.Figure()
    for name, values in per_sample.items():
        figure.add_trace(
            go.Box(
                x=values,
                name=metric_label(name),
                boxpoints="all",
                jitter=0.4,
                pointpos=0,
                marker=dict(color=ACCENT, size=5, opacity=0.6),
                line_color="#555",
                hovertemplate="%{x:.1f}<extra>%{fullData.name}</extra>",
            )
        )
    figure.update_layout(
        title="Per-sample scores",
        xaxis=dict(title="score (0-100)", range=[-2, 102]),
        yaxis=dict(autorange="reversed"),  # the same order as the scores chart beside it
        margin=dict(l=10, r=10, t=50, b=10),
        height=80 + 45 * max(1, len(per_sample)),
        showlegend=False,
    )
    return figure


def deltas_figure(deltas: list[Mapping[str, Any]]) -> go.Figure:
    """Candidate minus baseline per metric with its paired-bootstrap 95% interval; colour says significant."""
    names = [metric_label(d["name"]) for d in deltas]
    values = [float(d["delta"]) for d in deltas]
    colors = [
        (IMPROVED if v > 0 else REGRESSED) if d["significant"] else UNCHANGED
        for d, v in zip(deltas, values, strict=True)
    ]
    figure = go.Figure(
        go.Scatter(
            x=values,
            y=names,
            mode="markers",
            marker=dict(size=13, color=colors, symbol="diamond"),
            error_x=dict(
                type="data",
                symmetric=False,
                array=[float(d["ci95"][1]) - v for d, v in zip(deltas, values, strict=True)],
                arrayminus=[v - float(d["ci95"][0]) for d, v in zip(deltas, values, strict=True)],
                color="#555",
            ),
            customdata=[(d["p_value"], "significant" if d["significant"] else "not significant") for d in deltas],
            hovertemplate="%{y}: %{x:+.2f}<br>p = %{customdata[0]:.3f}, %{customdata[1]}<extra></extra>",
        )
    )
    figure.add_vline(x=0, line_color="#888", line_dash="dot")
    figure.update_layout(
        title="Change against the baseline (paired bootstrap 95% interval)",
        xaxis_title="candidate - baseline (points)",
        yaxis=dict(autorange="reversed"),
        margin=dict(l=10, r=10, t=50, b=10),
        height=80 + 45 * max(1, len(deltas)),
        showlegend=False,
    )
    return figure


def trend_figure(runs: list[Mapping[str, Any]], metrics: list[str] | None = None) -> go.Figure:
    """Each metric over the eval runs of one dataset, in run order, with the 95% interval as a band.

    `runs` are dicts with `id`, `created_at`, `model` and `metrics` ({name: {"score", "ci95"}}).
    """
    ordered = sorted(runs, key=lambda r: r["id"])
    names = metrics or sorted({n for r in ordered for n in r.get("metrics", {})})
    figure = go.Figure()
    x = [f"#{r['id']}" for r in ordered]
    for index, name in enumerate(names):
        color = PALETTE[index % len(PALETTE)]
        rows = [r["metrics"].get(name) for r in ordered]
        have = [(xi, row, r) for xi, row, r in zip(x, rows, ordered, strict=True) if row]
        if not have:
            continue
        xs = [h[0] for h in have]
        figure.add_trace(
            go.Scatter(
                x=xs + xs[::-1],
                y=[h[1]["ci95"][1] for h in have] + [h[1]["ci95"][0] for h in have][::-1],
                fill="toself",
                fillcolor=_translucent(color),
                line=dict(width=0),
                hoverinfo="skip",
                showlegend=False,
                legendgroup=name,
            )
        )
        figure.add_trace(
            go.Scatter(
                x=xs,
                y=[h[1]["score"] for h in have],
                mode="lines+markers",
                name=metric_label(name),
                legendgroup=name,
                line=dict(color=color),
                customdata=[(html.escape(h[2]["model"]), h[2]["created_at"]) for h in have],
                hovertemplate=(
                    "run %{x} · %{customdata[0]}<br>%{customdata[1]}<br>%{y:.2f}<extra>%{fullData.name}</extra>"
                ),
            )
        )
    figure.update_layout(
        title="Scores over runs on this dataset",
        xaxis=dict(title="run", type="category", categoryorder="array", categoryarray=x),
        yaxis=dict(title="score (0-100)", range=[0, 100]),
        margin=dict(l=10, r=10, t=50, b=10),
        height=360,
        legend=dict(orientation="h", y=-0.3),
    )
    return figure


def document_perplexity_figure(documents: list[Mapping[str, Any]], corpus: float) -> go.Figure:
    """Distribution of per-document perplexity (log scale), with the token-weighted corpus figure."""
    values = [float(d["perplexity"]) for d in documents if d.get("perplexity") is not None]
    figure = go.Figure(go.Histogram(x=[math.log10(v) for v in values if v > 0], marker_color=ACCENT, nbinsx=40))
    figure.add_vline(
        x=math.log10(corpus) if corpus > 0 else 0,
        line_dash="dash",
        line_color=REFERENCE_LINE,
        annotation_text=f"corpus {corpus:.2f}",
    )
    ticks = [1, 2, 5, 10, 20, 50, 100, 200, 500, 1000, 10_000, 100_000]
    figure.update_layout(
        title=f"Perplexity per document ({len(values):,} documents)",
        xaxis=dict(title="perplexity (log scale)", tickvals=[math.log10(t) for t in ticks], ticktext=ticks),
        yaxis_title="documents",
        margin=dict(l=10, r=10, t=50, b=10),
        height=320,
        bargap=0.05,
    )
    return figure


PALETTE = ["#F5A524", "#2563eb", "#7c3aed", "#0891b2", "#16a34a", "#dc2626"]


def _translucent(hex_color: str, alpha: float = 0.15) -> str:
    red, green, blue = (int(hex_color[i : i + 2], 16) for i in (1, 3, 5))
    return f"rgba({red},{green},{blue},{alpha})"
