"""The Monitor tab: production traffic (track() records, HTTP ingest, logs) over time, SLOs and their alerts."""

from __future__ import annotations

import time

import pandas as pd
import streamlit as st

from lib import config
from lib.alerts import active_alerts
from lib.latency.anomaly import per_bucket_quantile, robust_z_flags
from lib.latency.figures import (
    anomaly_figure,
    error_budget_figure,
    errors_throughput_figure,
    histogram_cdf_figure,
    percentile_band_figure,
    satisfaction_figure,
)
from lib.latency.records import production_frame, production_models, production_span
from lib.latency.slo import objectives_from_settings
from lib.latency.status import slo_table
from lib.latency.tables import auto_bucket, breakdown, bucket_stats
from lib.settings import load_settings_or_defaults
from lib.store import open_store
from pages.latency.demo import demo_traffic_button
from pages.widgets.alerts import active_alerts_table
from pages.widgets.feedback import shows_errors

RANGES = {
    "Last hour": 3600,
    "Last 6 hours": 6 * 3600,
    "Last 24 hours": 86400,
    "Last 3 days": 3 * 86400,
    "Last 7 days": 7 * 86400,
    "Last 30 days": 30 * 86400,
}
METRICS = {"TTFT": "ttft_ms", "E2EL": "e2el_ms", "TPOT": "tpot_ms"}


def monitor_tab() -> None:
    """Filters, then the SLOs, the charts and the per-model table, refreshed live when asked."""
    store = open_store()
    if production_span(store) is None:
        st.info(
            "No production requests yet. Wrap your application's LLM calls in `lib.latency.track()`, send records "
            "to this dashboard's ingest route, or ingest a request log (Ingest tab). To look around first, load "
            "three days of demo traffic with a planted bad hour.",
            icon=":material/info:",
        )
        demo_traffic_button("mon")
        return
    window_col, model_col, live_col = st.columns([2, 3, 1], vertical_alignment="bottom")
    label = window_col.selectbox("Time range", list(RANGES), index=3, key="mon_range")
    models = model_col.multiselect("Models", production_models(store), key="mon_models", placeholder="All models")
    live = live_col.toggle("Live", key="mon_live", help="Redraw every 10 seconds with the newest requests.")

    @st.fragment(run_every=10 if live else None)
    def panel() -> None:
        with shows_errors("Reading the requests"):
            _panel(RANGES[label], models, production_span(open_store()))  # read each redraw: new traffic moves it

    panel()


def _panel(range_s: float, models: list[str], span: tuple[float, float]) -> None:
    store = open_store()
    settings = load_settings_or_defaults()[0]
    now = time.time()
    # Demo and ingested logs can end in the past: a range reaching no request shows the latest traffic instead.
    until = now if span[1] >= now - range_s else span[1] + 1
    frame = production_frame(store, until - range_s, until, models=models or None)
    if until != now:
        st.caption(
            f"No requests in that range before now; showing the range ending at the latest request "
            f"({pd.to_datetime(span[1], unit='s', utc=True):%Y-%m-%d %H:%M} UTC)."
        )
    if frame.empty:
        st.info("No requests in this range for these models.", icon=":material/info:")
        return
    _headline(frame)
    _slos(store, settings, now)
    bucket, bucket_s = auto_bucket(range_s)
    stats = bucket_stats(frame, bucket, bucket_s)
    left, right = st.columns(2)
    left.plotly_chart(percentile_band_figure(stats, "ttft_ms", bucket), width="stretch")
    right.plotly_chart(percentile_band_figure(stats, "e2el_ms", bucket), width="stretch")
    left, right = st.columns(2)
    left.plotly_chart(errors_throughput_figure(stats, bucket), width="stretch")
    if stats["ratings"].sum():
        right.plotly_chart(satisfaction_figure(stats, bucket), width="stretch")
    else:
        right.info(
            "No user feedback in this range: send `feedback(request_id, thumbs_up=...)` from the "
            "application, or a `thumbs`/`score` column in a log.",
            icon=":material/thumbs_up_down:",
        )
    left, right = st.columns(2)
    with left:
        choice = st.radio("Distribution of", list(METRICS), horizontal=True, key="mon_dist")
        st.plotly_chart(histogram_cdf_figure(frame.loc[frame["ok"], METRICS[choice]], METRICS[choice]), width="stretch")
    with right:
        flags = robust_z_flags(per_bucket_quantile(frame, "e2el_ms", bucket=bucket), settings["latency.anomaly_z"])
        st.plotly_chart(anomaly_figure(flags, "e2el_ms"), width="stretch")
    st.markdown("##### Per model and endpoint")
    st.dataframe(_readable(breakdown(frame)), hide_index=True, width="stretch")
    st.download_button(
        "Download these requests (CSV)",
        frame.drop(columns=["time"]).to_csv(index=False),
        "requests.csv",
        "text/csv",
        icon=":material/download:",
        key="mon_download",
    )


def _headline(frame: pd.DataFrame) -> None:
    done = frame[frame["ok"]]
    cells = st.columns(5)
    cells[0].metric("Requests", f"{len(frame):,}")
    cells[1].metric("Error rate", f"{(~frame['ok']).mean():.2%}")
    for cell, (name, column) in zip(cells[2:4], (("TTFT p95", "ttft_ms"), ("E2EL p95", "e2el_ms")), strict=True):
        values = done[column].dropna()
        cell.metric(name, f"{values.quantile(0.95):,.0f} ms" if len(values) else "–")
    rated = frame["feedback"].dropna()
    cells[4].metric(
        "Satisfaction",
        f"{rated.mean():.0%}" if len(rated) else "–",
        help=f"Mean feedback over {len(rated):,} rated requests (thumb up 1, down 0).",
    )


def _slos(store, settings, now: float) -> None:
    """Each SLO's compliance and budget over its period, and the latency alerts firing now."""
    period_s = settings["latency.slo_window_days"] * 86400
    objectives = objectives_from_settings(settings)
    table = slo_table(production_frame(store, now - period_s, now), objectives, now, period_s)
    st.markdown(f"##### SLOs over the last {settings['latency.slo_window_days']:g} days, all models")
    left, right = st.columns([3, 2])
    percent = st.column_config.NumberColumn(format="percent")
    left.dataframe(
        table,
        hide_index=True,
        width="stretch",
        column_config={
            "target": percent,
            "SLI": percent,
            "budget left": percent,
            "burn 1h": st.column_config.NumberColumn(
                format="%.1fx", help="Error ratio over the last hour / (1 - target)"
            ),
        },
    )
    right.plotly_chart(error_budget_figure(table), width="stretch")
    alerts = [a for a in active_alerts(store) if a["rule"].startswith("latency-")]
    if alerts:
        active_alerts_table(alerts)
    else:
        st.caption(
            "No latency alert firing. Burn-rate alerts (SRE workbook): 14.4x over 1 h and 5 min, 6x over "
            f"6 h and 30 min (critical), 1x over 3 days and 6 h (warning). Settings: `{config.pitwall_home()}"
            "/settings.toml`, section [latency]."
        )


def _readable(table: pd.DataFrame) -> pd.DataFrame:
    shown = table.drop(columns=["ratings"]).copy()
    shown["error_rate"] = shown["error_rate"].map(lambda v: f"{v:.2%}")
    shown["satisfaction"] = shown["satisfaction"].map(lambda v: "–" if pd.isna(v) else f"{v:.0%}")
    shown.columns = [READABLE.get(column, column) for column in shown.columns]
    return shown.round(1)


READABLE = {
    "error_rate": "error rate",
    "output_tokens": "output tokens",
    **{
        f"{m}_p{p}": f"{name} p{p} (ms)"
        for m, name in (("ttft_ms", "TTFT"), ("e2el_ms", "E2EL"), ("tpot_ms", "TPOT"))
        for p in (50, 95, 99)
    },
}
