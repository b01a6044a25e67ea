"""The Probe tab: time a model in this process, without any server, for a quick check."""

from __future__ import annotations

from pathlib import Path

import streamlit as st

from lib import config
from lib.jobs import submit
from lib.jobs.inputs import stage_bytes
from lib.latency.jobs import probe_params
from lib.latency.runs import get_run, list_runs
from lib.models.spec import DTYPE_CHOICES, MODEL_HELP
from lib.store import open_store
from pages.latency.run_view import show_run
from pages.widgets.feedback import shows_errors
from pages.widgets.jobs import job_outcome, latest_finished, live_jobs


def probe_tab() -> None:
    """Model, prompts and length; the probe runs as a job on the model's device; the latest probe is shown."""
    st.markdown(
        "Loads the model here and streams its answers through a `TextIteratorStreamer`: TTFT, inter-token gaps and "
        "tokens/s of the model alone, with no HTTP or batching in between. Compare it with a load test of the "
        "same model behind a server to see what serving adds."
    )
    with st.container(border=True):
        model_col, count_col, tokens_col, dtype_col = st.columns([3, 1, 1, 1])
        model = model_col.text_input("Model", value=config.default_model_spec(), key="pr_model", help=MODEL_HELP)
        count = count_col.number_input("Prompts", 1, 200, 5, key="pr_count")
        max_new_tokens = tokens_col.number_input("New tokens", 1, 4096, 32, key="pr_tokens")
        dtype = dtype_col.selectbox("Precision", DTYPE_CHOICES, key="pr_dtype")
        prompts = st.file_uploader(
            "Prompts (optional)", type=["txt", "jsonl", "csv"], key="pr_prompts", help="Default: synthetic prompts."
        )
        if st.button("Run probe", type="primary", icon=":material/play_arrow:", key="pr_start"):
            with shows_errors("Starting the probe"):
                path = str(stage_bytes(prompts.getvalue(), Path(prompts.name).suffix)[0]) if prompts else None
                params = probe_params(model.strip(), path, int(max_new_tokens), dtype, int(count))
                job_id = submit("latency-probe", params, f"Probe of {model.strip()} ({int(count)} prompts)")
                st.toast(f"Started as job #{job_id}.", icon=":material/play_arrow:")
    live_jobs("latency-probe", "pr")
    finished = latest_finished("latency-probe")
    if finished is not None and finished.state != "succeeded":
        job_outcome(finished, lambda _job: None)
    probes = [run for run in list_runs(open_store(), limit=50) if run.kind == "probe"]
    if probes:
        st.subheader("Latest probe", divider="gray")
        run = get_run(open_store(), probes[0].id)
        if run is not None:
            show_run(run, "pr_run")
