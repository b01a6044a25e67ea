"""Plotly figures for latency: percentile bands over time, histogram and CDF, errors, throughput, satisfaction.

Every latency chart names its formula under the title: tools disagree on names (AIPerf's "ITL" is vLLM's
TPOT), so the page says which one it means. Builders take the frames of `lib.latency.tables`.
"""

from __future__ import annotations

import html

import numpy as np
import pandas as pd
import plotly.graph_objects as go
from plotly.subplots import make_subplots

from lib.latency.metrics import FORMULAS

ACCENT = "#F5A524"
P50, P95, P99 = "#8AB4F8", "#F5A524", "#E5484D"
GOOD, BAD = "#46A758", "#E5484D"
NAMES = {"ttft_ms": "TTFT", "tpot_ms": "TPOT", "e2el_ms": "E2EL", "itl_ms": "ITL"}


def _layout(figure: go.Figure, title: str, subtitle: str = "", height: int = 350) -> go.Figure:
    figure.update_layout(
        title=dict(text=html.escape(title), subtitle=dict(text=html.escape(subtitle))),
        margin=dict(l=10, r=10, t=70, b=40),
        height=height,
        # Below the plot: above it, the legend would cover the formula under the title.
        legend=dict(orientation="h", yanchor="top", y=-0.25, xanchor="left", x=0),
        hovermode="x unified",
    )
    return figure


def percentile_band_figure(stats: pd.DataFrame, metric: str, bucket: str) -> go.Figure:
    """p50, p95 and p99 of one latency per time bucket, the p50-p99 spread shaded."""
    name = NAMES[metric]
    figure = go.Figure()
    figure.add_trace(go.Scatter(x=stats["time"], y=stats[f"{metric}_p99"], name="p99", line=dict(color=P99, width=1)))
    figure.add_trace(
        go.Scatter(
            x=stats["time"],
            y=stats[f"{metric}_p50"],
            name="p50",
            line=dict(color=P50, width=2),
            fill="tonexty",
            fillcolor="rgba(138,180,248,0.15)",
        )
    )
    figure.add_trace(
        go.Scatter(x=stats["time"], y=stats[f"{metric}_p95"], name="p95", line=dict(color=P95, width=2, dash="dot"))
    )
    figure.update_yaxes(title_text="ms", rangemode="tozero")
    return _layout(figure, f"{name} per {bucket}: p50, p95, p99", FORMULAS[metric])


def histogram_cdf_figure(values: pd.Series, metric: str) -> go.Figure:
    """Histogram of one latency (bars) with its cumulative distribution (line, right axis)."""
    name = NAMES[metric]
    data = np.sort(pd.to_numeric(values, errors="coerce").dropna().to_numpy())
    figure = make_subplots(specs=[[{"secondary_y": True}]])
    figure.add_trace(go.Histogram(x=data, nbinsx=40, name="requests", marker_color=ACCENT, opacity=0.75))
    if data.size:
        share = np.arange(1, data.size + 1) / data.size * 100
        figure.add_trace(go.Scatter(x=data, y=share, name="CDF", line=dict(color=P50, width=2)), secondary_y=True)
        for p, color in ((50, P50), (95, P95), (99, P99)):
            figure.add_vline(
                x=float(np.percentile(data, p)),
                line_dash="dot",
                line_color=color,
                annotation_text=f"p{p}",
                annotation_position="top",
            )
    figure.update_xaxes(title_text=f"{name} (ms)")
    figure.update_yaxes(title_text="requests", secondary_y=False)
    figure.update_yaxes(
        title_text="% of requests at or below",
        range=[0, 100],
        tickvals=[0, 25, 50, 75, 100],
        showgrid=False,
        secondary_y=True,
    )
    figure.update_layout(hovermode="closest")
    return _layout(figure, f"{name} distribution ({data.size:,} requests)", FORMULAS[metric])


def errors_throughput_figure(stats: pd.DataFrame, bucket: str) -> go.Figure:
    """Error rate per bucket (bars) and request and token throughput (lines, right axis)."""
    figure = make_subplots(specs=[[{"secondary_y": True}]])
    figure.add_trace(
        go.Bar(x=stats["time"], y=stats["error_rate"] * 100, name="error rate %", marker_color=BAD, opacity=0.7)
    )
    figure.add_trace(
        go.Scatter(x=stats["time"], y=stats["requests_per_s"], name="requests/s", line=dict(color=P50)),
        secondary_y=True,
    )
    figure.add_trace(
        go.Scatter(
            x=stats["time"], y=stats["output_tokens_per_s"], name="output tokens/s", line=dict(color=ACCENT, dash="dot")
        ),
        secondary_y=True,
    )
    figure.update_yaxes(title_text="error rate %", rangemode="tozero", secondary_y=False)
    figure.update_yaxes(title_text="per second", rangemode="tozero", showgrid=False, tickmode="auto", secondary_y=True)
    return _layout(
        figure,
        f"Errors and throughput per {bucket}",
        f"{FORMULAS['error_rate']}; {FORMULAS['output_token_throughput']}",
    )


def satisfaction_figure(stats: pd.DataFrame, bucket: str) -> go.Figure:
    """User satisfaction (share of positive feedback) beside p95 end-to-end latency, per bucket."""
    figure = make_subplots(specs=[[{"secondary_y": True}]])
    figure.add_trace(
        go.Scatter(
            x=stats["time"],
            y=stats["satisfaction"] * 100,
            name="satisfaction %",
            mode="lines+markers",
            line=dict(color=GOOD, width=2),
            customdata=stats["ratings"],
            hovertemplate="%{y:.0f}% satisfied (%{customdata} ratings)<extra></extra>",
        )
    )
    figure.add_trace(
        go.Scatter(x=stats["time"], y=stats["e2el_ms_p95"], name="E2EL p95 ms", line=dict(color=P95, dash="dot")),
        secondary_y=True,
    )
    figure.update_yaxes(title_text="satisfied %", range=[0, 105], secondary_y=False)
    figure.update_yaxes(
        title_text="E2EL p95 (ms)", rangemode="tozero", showgrid=False, tickmode="auto", secondary_y=True
    )
    return _layout(
        figure,
        f"User satisfaction beside latency, per {bucket}",
        "satisfaction = mean feedback (thumb up 1, down 0; a 1-5 score as (s - 1) / 4)",
    )


def requests_scatter_figure(frame: pd.DataFrame) -> go.Figure:
    """Each request of a load test: TTFT and E2EL against when it was sent; failures marked on the axis."""
    start = frame["started_at"].min() if len(frame) else 0.0
    offset = frame["started_at"] - start
    done, failed = frame[frame["ok"]], frame[~frame["ok"]]
    figure = go.Figure()
    figure.add_trace(
        go.Scatter(
            x=offset[frame["ok"]], y=done["e2el_ms"], mode="markers", name="E2EL", marker=dict(color=P95, size=6)
        )
    )
    figure.add_trace(
        go.Scatter(
            x=offset[frame["ok"]], y=done["ttft_ms"], mode="markers", name="TTFT", marker=dict(color=P50, size=6)
        )
    )
    if len(failed):
        figure.add_trace(
            go.Scatter(
                x=offset[~frame["ok"]],
                y=[0] * len(failed),
                mode="markers",
                name="failed",
                marker=dict(color=BAD, symbol="x", size=9),
                text=failed["error_kind"],
                hovertemplate="failed: %{text}<extra></extra>",
            )
        )
    figure.update_xaxes(title_text="sent at (s from start)")
    figure.update_yaxes(title_text="ms", rangemode="tozero")
    figure.update_layout(hovermode="closest")
    return _layout(figure, "Each request: TTFT and E2EL", f"{FORMULAS['ttft_ms']}; {FORMULAS['e2el_ms']}")


def error_budget_figure(slos: pd.DataFrame) -> go.Figure:
    """Error budget left per SLO (bars from -100% to 100%; below 0 the SLO is broken)."""
    raw = pd.to_numeric(slos["budget left"], errors="coerce") * 100
    left = raw.fillna(0).clip(lower=-100)  # no requests measured: no bar, labelled so
    colors = [BAD if v < 0 else (ACCENT if v < 25 else GOOD) for v in left]
    figure = go.Figure(
        go.Bar(
            x=left,
            y=slos["SLO"],
            orientation="h",
            marker_color=colors,
            text=["no data" if pd.isna(v) else f"{v:.0f}%" for v in raw],
            textposition="auto",
        )
    )
    figure.update_xaxes(title_text="error budget left (%)", range=[-100, 100])
    figure.update_layout(hovermode="closest")
    return _layout(
        figure,
        "Error budget left",
        "budget = (1 - target) x requests; left = 1 - bad / budget",
        height=60 + 50 * max(len(slos), 1),
    )


def anomaly_figure(flags: pd.DataFrame, metric: str) -> go.Figure:
    """Per-bucket p95 of one latency, its robust baseline, and the buckets flagged as unusual."""
    name = NAMES[metric]
    figure = go.Figure()
    figure.add_trace(go.Scatter(x=flags.index, y=flags["value"], name=f"{name} p95", line=dict(color=P50)))
    if "baseline" in flags:
        figure.add_trace(
            go.Scatter(
                x=flags.index, y=flags["baseline"], name="baseline (median)", line=dict(color="#888", dash="dash")
            )
        )
    flagged = flags[flags["anomaly"]]
    figure.add_trace(
        go.Scatter(
            x=flagged.index,
            y=flagged["value"],
            mode="markers",
            name="unusual",
            marker=dict(color=BAD, size=10, symbol="circle-open", line=dict(width=2)),
        )
    )
    figure.update_yaxes(title_text="ms", rangemode="tozero")
    return _layout(
        figure,
        f"Unusual minutes: {name} p95",
        "flagged when the robust z-score 0.6745 (x - median) / MAD exceeds the threshold",
    )
