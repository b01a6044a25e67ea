"""Plotly figures of GPU data, built from frames, so the page and any report draw the same charts."""

from __future__ import annotations

import pandas as pd
import plotly.graph_objects as go

from lib.gpu.history import METRICS
from lib.gpu.planner import CapacityPlan

SIMULATED_NOTE = "SIMULATED data"


def history_figure(frame: pd.DataFrame, metric: str, step_seconds: int, simulated: bool = False) -> go.Figure:
    """One metric over time, a WebGL line per GPU (node/GPU when there are several nodes)."""
    title, unit = METRICS[metric]
    figure = go.Figure()
    several_nodes = frame["node"].nunique() > 1 if not frame.empty else False
    for (node, gpu), trace in frame.groupby(["node", "gpu"], sort=True):
        name = f"{node} · GPU {gpu}" if several_nodes else f"GPU {gpu}"
        figure.add_trace(
            go.Scattergl(
                x=trace["ts"],
                y=trace[metric],
                mode="lines",
                name=name,
                connectgaps=False,
                hovertemplate=f"%{{y:.1f}} {unit}<extra>{name}</extra>",
            )
        )
    every = f"{step_seconds} s" if step_seconds < 120 else f"{step_seconds // 60} min"
    figure.update_layout(
        title=dict(text=f"{title} ({unit}) · one point per {every}", font=dict(size=14)),
        height=260,
        margin=dict(l=10, r=10, t=40, b=10),
        hovermode="x unified",
        legend=dict(orientation="h", y=-0.2),
        yaxis=dict(rangemode="tozero", ticksuffix=" " + unit if unit in ("%", "W") else ""),
    )
    if simulated:
        _mark_simulated(figure)
    return figure


def fleet_figure(frame: pd.DataFrame, column: str, title: str, unit: str) -> go.Figure:
    """A bar per GPU of the fleet (node · GPU), for one measurement."""
    labels = frame["hostname"].astype(str) + " · GPU " + frame["gpu"].astype(str)
    figure = go.Figure(go.Bar(x=labels, y=frame[column], hovertemplate=f"%{{x}}: %{{y:.1f}} {unit}<extra></extra>"))
    figure.update_layout(
        title=dict(text=f"{title} ({unit})", font=dict(size=14)),
        height=260,
        margin=dict(l=10, r=10, t=40, b=10),
        yaxis=dict(rangemode="tozero"),
    )
    return figure


def _mark_simulated(figure: go.Figure) -> None:
    figure.add_annotation(
        text=SIMULATED_NOTE,
        xref="paper",
        yref="paper",
        x=1,
        y=1.12,
        showarrow=False,
        font=dict(color="#b45309", size=12),
    )


def capacity_figure(plan: CapacityPlan) -> go.Figure:
    """What the model needs (weights, KV cache, overhead stacked) against each GPU's free memory, in GiB."""
    gib = 1024**3
    needed = "needed"
    rows = [needed] + [f"GPU {gpu['index']}" for gpu in plan.gpus]
    figure = go.Figure()
    for label, size, color in (
        ("weights", plan.weights_bytes, "#2563eb"),
        ("KV cache", plan.kv_cache_bytes, "#f59e0b"),
        ("overhead", plan.overhead_bytes, "#9ca3af"),
    ):
        figure.add_trace(
            go.Bar(
                y=[needed],
                x=[size / gib],
                name=label,
                orientation="h",
                marker_color=color,
                hovertemplate=f"{label}: %{{x:.2f}} GiB<extra></extra>",
            )
        )
    # One bar per GPU of its free memory now, green when the plan fits, red when not, grey when unknown.
    for gpu in plan.gpus:
        index, free = gpu["index"], gpu["free_bytes"]
        fits = plan.fits.get(index)
        verdict = "free memory unknown" if fits is None else "fits" if fits else "does not fit"
        color = "#d1d5db" if fits is None else "#16a34a" if fits else "#dc2626"
        largest = "" if fits is None else f", largest batch {plan.max_batch[index]:,}"
        figure.add_trace(
            go.Bar(
                y=[f"GPU {index}"],
                x=[(free or 0) / gib],
                name=f"GPU {index} free",
                orientation="h",
                marker_color=color,
                opacity=0.55,
                showlegend=False,
                text=[f"{verdict}{largest}"],
                textposition="outside" if fits is None else "auto",
                hovertemplate=f"GPU {index} {gpu['name'] or ''}: %{{x:.2f}} GiB free<extra></extra>",
            )
        )
    figure.add_vline(
        x=plan.total_bytes / gib,
        line_dash="dash",
        line_color="#374151",
        annotation_text=f"needed {plan.total_bytes / gib:.2f} GiB",
        annotation_position="top right",
    )
    figure.update_layout(
        title=dict(
            text=f"{plan.model} · {plan.dtype} · {plan.context:,} tokens × batch {plan.batch:,}", font=dict(size=14)
        ),
        barmode="stack",
        height=140 + 40 * len(rows),
        margin=dict(l=10, r=10, t=50, b=10),
        xaxis=dict(title="GiB", rangemode="tozero"),
        yaxis=dict(categoryorder="array", categoryarray=list(reversed(rows))),
        legend=dict(orientation="h", y=-0.3, traceorder="normal"),
    )
    if any(gpu["simulated"] for gpu in plan.gpus):
        _mark_simulated(figure)
    return figure
