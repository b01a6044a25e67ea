"""One stored load test or probe: headline figures, the distribution table with formulas, charts, errors, export."""

from __future__ import annotations

import pandas as pd
import streamlit as st

from lib.latency.figures import histogram_cdf_figure, requests_scatter_figure
from lib.latency.metrics import summarize
from lib.latency.runs import RUNNING, LatencyRun, requests_jsonl
from lib.latency.tables import distribution_table, errors_table, requests_frame

STATUS_BADGES = {
    "running": ":orange-badge[:material/sync: running]",
    "complete": ":green-badge[:material/check: complete]",
    "stopped": ":gray-badge[:material/stop: stopped, partial]",
    "failed": ":red-badge[:material/error: failed]",
}


def show_run(run: LatencyRun, key: str) -> None:
    """Everything about one run; a running one is summarised from the requests finished so far."""
    summary = run.summary
    if run.status == RUNNING or not summary:
        elapsed = max((r.started_at + (r.e2el_ms or 0) / 1000 for r in run.requests), default=run.created_at)
        summary = summarize(run.requests, max(elapsed - run.created_at, 1e-3)).to_dict()
    st.markdown(
        f"**#{run.id} · {run.kind} of `{run.model}`** at `{run.endpoint}` &nbsp; {STATUS_BADGES.get(run.status, '')}"
    )
    if run.message:
        st.caption(run.message)
    _tiles(summary)
    table = distribution_table(summary)
    st.dataframe(
        table,
        hide_index=True,
        width="stretch",
        column_config={
            c: st.column_config.NumberColumn(format="%.1f ms") for c in ("mean", "p50", "p90", "p95", "p99")
        },
    )
    frame = requests_frame(run.requests)
    if frame.empty:
        st.caption("No request finished yet.")
        return
    left, right = st.columns(2)
    left.plotly_chart(requests_scatter_figure(frame), width="stretch", key=f"{key}_scatter")
    with right:
        metric = st.radio("Distribution of", ["E2EL", "TTFT", "TPOT"], horizontal=True, key=f"{key}_metric")
        column = {"E2EL": "e2el_ms", "TTFT": "ttft_ms", "TPOT": "tpot_ms"}[metric]
        st.plotly_chart(histogram_cdf_figure(frame.loc[frame["ok"], column], column), width="stretch", key=f"{key}_h")
    errors = errors_table(summary)
    if len(errors):
        st.markdown("##### Failed requests")
        st.dataframe(errors, hide_index=True, width="stretch")
        first = next((r for r in run.requests if not r.ok and r.error), None)
        if first is not None:
            st.caption(f"First failure: {first.error}")
    st.download_button(
        "Download every request (JSONL)",
        lambda: requests_jsonl(run),  # built when clicked, not on every (live) redraw
        f"latency-run-{run.id}.jsonl",
        "application/jsonl",
        icon=":material/download:",
        key=f"{key}_jsonl",
    )


def _tiles(summary: dict) -> None:
    cells = st.columns(6)
    cells[0].metric("Completed", f"{summary['completed']:,}")
    cells[1].metric("Failed", f"{summary['failed']:,}")
    cells[2].metric("Requests/s", f"{summary['request_throughput']:.2f}")
    cells[3].metric("Output tokens/s", f"{summary['output_token_throughput']:,.1f}")
    goodput = summary.get("goodput")
    cells[4].metric(
        "Goodput (req/s)",
        "–" if goodput is None else f"{goodput:.2f}",
        help="Requests per second that met every SLO (latency.slo_* settings).",
    )
    p99 = (summary.get("e2el_ms") or {}).get("p99")
    cells[5].metric("E2EL p99", "–" if p99 is None or pd.isna(p99) else f"{p99:,.0f} ms")
