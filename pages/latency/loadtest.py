"""The Load test tab: a local `transformers serve` in one click, the load-test form, live results while it runs."""

from __future__ import annotations

from pathlib import Path

import streamlit as st

from lib.errors import InputError
from lib.jobs import submit
from lib.jobs.inputs import stage_bytes
from lib.latency.jobs import forget_secrets, loadtest_params
from lib.latency.loadtest import LoadTestSpec
from lib.latency.runs import RUNNING, get_run, list_runs
from lib.store import open_store
from pages.latency.local_server import local_server_panel
from pages.latency.run_view import show_run
from pages.widgets.feedback import shows_errors
from pages.widgets.jobs import active_jobs, job_outcome, latest_finished, live_jobs

PROMPT_TYPES = ["txt", "jsonl", "csv"]


def loadtest_tab() -> None:
    """Where to send, how much and how fast; then the live or latest run."""
    st.markdown(
        "Streams requests to any OpenAI-compatible endpoint (`/v1/chat/completions` or `/v1/completions`) and times "
        "each one as vLLM's `bench serve` does. It runs as a job: leave the page and it goes on; **Stop** keeps what "
        "was measured."
    )
    served = local_server_panel()
    with st.container(border=True):
        st.markdown("##### Endpoint")
        url_col, api_col, model_col = st.columns([3, 1, 2])
        url = url_col.text_input(
            "Endpoint URL",
            value=served.url if served else "http://127.0.0.1:8000",
            key="lt_url",
            help="A base URL (http://host:8000), a /v1 URL, or the full /v1/chat/completions URL.",
        )
        api = api_col.selectbox("API", ["chat", "completions"], key="lt_api")
        model = model_col.text_input(
            "Model name", value=served.model if served else "", key="lt_model", help="As the server names it."
        )
        api_key = st.text_input(
            "API key (optional)",
            type="password",
            key="lt_key",
            help="Sent as a Bearer token; held in memory for this test only, never stored.",
        )
        spec = _amount_and_pace(url, api, model)
        if st.button("Start load test", type="primary", icon=":material/play_arrow:", key="lt_start"):
            with shows_errors("Starting the load test"):
                _start(spec, api_key)
    live_jobs("latency-loadtest", "lt")
    with shows_errors("Reading the load tests"):
        finished = latest_finished("latency-loadtest")
        if finished is not None and finished.state != "succeeded":
            job_outcome(finished, lambda _job: None)
        _latest_run()


def _amount_and_pace(url: str, api: str, model: str) -> LoadTestSpec:
    st.markdown("##### Load")
    cells = st.columns(4)
    by_time = cells[0].radio("Run for", ["requests", "seconds"], horizontal=True, key="lt_by")
    amount = cells[1].number_input(f"How many {by_time}", 1, 100_000, 20, key="lt_amount")
    rate = cells[2].number_input(
        "Rate (req/s, 0 = all at once)", 0.0, 10_000.0, 0.0, key="lt_rate", help="Mean arrivals per second."
    )
    burstiness = cells[3].number_input(
        "Burstiness", 0.05, 100.0, 1.0, key="lt_burst", help="Gamma shape of the gaps: 1 is Poisson, lower is burstier."
    )
    cells = st.columns(4)
    concurrency = cells[0].number_input("Max in flight (0 = no cap)", 0, 10_000, 4, key="lt_conc")
    max_tokens = cells[1].number_input("max_tokens", 1, 32_768, 64, key="lt_max_tokens")
    input_tokens = cells[2].number_input(
        "Prompt length (tokens)", 1, 32_768, 128, key="lt_input_tokens", help="Of the synthetic prompts."
    )
    timeout = cells[3].number_input("Request timeout (s)", 1.0, 3600.0, 60.0, key="lt_timeout")
    prompts = st.file_uploader(
        "Prompts from a dataset (optional)",
        type=PROMPT_TYPES,
        key="lt_prompts",
        help="TXT (one a line), JSONL or CSV with a prompt/question/text column; used in turn. "
        "Without one, synthetic prompts of the length above.",
    )
    prompts_file = str(stage_bytes(prompts.getvalue(), Path(prompts.name).suffix)[0]) if prompts else None
    return LoadTestSpec(
        endpoint=url.strip(),
        model=model.strip(),
        api=api,
        requests=None if by_time == "seconds" else int(amount),
        duration_s=float(amount) if by_time == "seconds" else None,
        rate=float(rate) or None,
        burstiness=float(burstiness),
        concurrency=int(concurrency) or None,
        max_tokens=int(max_tokens),
        input_tokens=int(input_tokens),
        prompts_file=prompts_file,
        timeout_s=float(timeout),
    )


def _start(spec: LoadTestSpec, api_key: str) -> None:
    if not spec.model:
        raise InputError("Name the model to request, as the server serves it (GET /v1/models lists them).")
    params = loadtest_params(spec, api_key)  # checks the spec: one sentence for a bad URL or count
    amount = f"{spec.requests:,} requests" if spec.requests else f"{spec.duration_s:g} s"
    try:
        job_id = submit("latency-loadtest", params, f"Load test of {spec.model} ({amount})")
    except BaseException:
        forget_secrets(params["credentials_handle"])  # the job will never run to take them
        raise
    st.toast(f"Started as job #{job_id}.", icon=":material/play_arrow:")


def _latest_run() -> None:
    """The newest load test, redrawn every second while one is queued or running, so its charts fill in live."""
    running = bool(active_jobs("latency-loadtest"))

    @st.fragment(run_every=1.0 if running else None)
    def live() -> None:
        with shows_errors("Reading the load test"):
            store = open_store()
            runs = [run for run in list_runs(store, limit=20) if run.kind == "loadtest"]
            run = get_run(store, runs[0].id) if runs else None
            if run is None:
                return
            st.subheader("Live results" if run.status == RUNNING else "Latest load test", divider="gray")
            show_run(run, "lt_run")

    live()
