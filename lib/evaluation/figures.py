"""Plotly figures for evaluation results, shared by the page and (later) the HTML report."""

from __future__ import annotations

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
