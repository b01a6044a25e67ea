"""The Ingest tab: request logs from files, and how applications send records (track() and the HTTP route)."""

from __future__ import annotations

from pathlib import Path

import pandas as pd
import streamlit as st

from lib.jobs.inputs import stage_bytes
from lib.latency.ingest import ingest_file
from lib.latency.ingest_http import ensure_ingest_token
from lib.settings import load_settings_or_defaults
from lib.store import open_store
from pages.latency.demo import demo_traffic_button
from pages.widgets.feedback import shows_errors

LOG_TYPES = ["jsonl", "ndjson", "json", "csv", "tsv", "parquet"]
COLUMNS_HELP = (
    "One request a row. Columns are found by name: OpenTelemetry GenAI (`gen_ai.request.model`, "
    "`gen_ai.usage.input_tokens`, `gen_ai.usage.output_tokens`, `gen_ai.server.time_to_first_token`, "
    "`gen_ai.client.operation.duration` in seconds, `error.type`), or plain names (`timestamp`, `model`, "
    "`ttft_ms`, `latency_ms`, `prompt_tokens`, `completion_tokens`, `status_code`, `thumbs`, `score`). "
    "A mapping file (JSON or YAML, `{field: column}`) names the rest."
)
TRACK_EXAMPLE = """from lib.latency.track import configure, feedback, track

configure(url="{url}", token="<ingest token>")  # or leave out: records go to this machine's store

with track(model="support-8b", endpoint="chat", user=user_id) as call:
    stream = client.chat.completions.create(model="support-8b", messages=messages, stream=True,
                                            stream_options={{"include_usage": True}})
    for chunk in stream:
        if chunk.choices and chunk.choices[0].delta.content:
            call.first_token()           # TTFT on the first call, inter-token gaps after
        if chunk.usage:
            call.output_tokens = chunk.usage.completion_tokens

feedback(call.request_id, thumbs_up=True)   # when the user rates the answer
"""


def ingest_tab() -> None:
    """Upload a log and ingest it; then the application side: the route, its token and a track() example."""
    st.markdown(
        "Bring in request logs from a gateway, a proxy or your application: each row becomes a "
        "production request on the Monitor tab (re-ingesting a file stores nothing twice)."
    )
    with st.container(border=True):
        st.markdown("##### Request log")
        log_file = st.file_uploader("Request log", type=LOG_TYPES, key="ing_file", help=COLUMNS_HELP)
        mapping = st.file_uploader(
            "Column mapping (optional)",
            type=["json", "yaml", "yml"],
            key="ing_mapping",
            help='e.g. {"started_at": "ts", "e2el_ms": {"column": "dur", "unit": "s"}}',
        )
        if st.button("Ingest", type="primary", icon=":material/upload:", key="ing_go", disabled=log_file is None):
            with shows_errors("Ingesting the log"), st.spinner(f"Ingesting {log_file.name}..."):
                _ingest(log_file, mapping)
        if result := st.session_state.get("ing_result"):
            _show_result(*result)
        demo_traffic_button("ing")
    _from_applications()


def _ingest(log_file, mapping) -> None:
    path, _ = stage_bytes(log_file.getvalue(), Path(log_file.name).suffix)
    mapping_path = stage_bytes(mapping.getvalue(), Path(mapping.name).suffix)[0] if mapping is not None else None
    result = ingest_file(open_store(), path, mapping_path)
    st.session_state["ing_result"] = (log_file.name, result.to_dict())


def _show_result(name: str, result: dict) -> None:
    st.success(
        f"**{name}**: {result['stored']:,} requests stored, {result['duplicates']:,} already stored, "
        f"{result['skipped']:,} rows skipped (of {result['rows']:,}).",
        icon=":material/check:",
    )
    st.dataframe(pd.DataFrame(list(result["mapping"].items()), columns=["field", "column"]), hide_index=True)
    for problem in result.get("problems", []):
        st.caption(f"- {problem}")


def _from_applications() -> None:
    st.markdown("##### From applications")
    base = st.context.url.split("/latency")[0] if st.context.url else "http://localhost:8501"
    route = f"{base.rstrip('/')}/api/latency/ingest"
    st.markdown(
        f"Applications on other hosts POST batches of records to **`{route}`** with "
        "`Authorization: Bearer <token>`; `lib.latency.track()` does it for you in the background (batched, "
        "retried, never holding up the call it measures)."
    )
    token_set = bool(load_settings_or_defaults()[0]["latency.ingest_token"])
    left, right = st.columns([1, 3], vertical_alignment="center")
    label = "Rotate the ingest token" if token_set else "Create an ingest token"
    if left.button(label, icon=":material/key:", key="ing_token"):
        with shows_errors("Creating the token"):
            st.session_state["ing_new_token"] = ensure_ingest_token(rotate=token_set)
    state = (
        "A token is set (kept in secrets.toml, readable by you alone)."
        if token_set
        else "No token yet: the route answers 503 until one is created."
    )
    right.caption(f"{state} The CLI does the same: `python -m lib latency token [--rotate]`.")
    if token := st.session_state.pop("ing_new_token", None):
        st.warning("Copy this token now; it is not shown again.", icon=":material/key:")
        st.code(token, language=None)
    st.code(TRACK_EXAMPLE.format(url=base), language="python")
