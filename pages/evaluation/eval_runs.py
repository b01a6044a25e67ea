"""The Eval runs tab: the model answers an eval set as a job; every stored run shown with its scores and answers.

Also the helpers the Compare, Human rating and Reports tabs share: run labels, the run picker, the human line.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

import pandas as pd
import streamlit as st

from lib import config
from lib.errors import InputError, PitwallError
from lib.evaluation.evalrun import eval_runs
from lib.evaluation.evalset import EvalSet, read_eval_set
from lib.evaluation.figures import metric_label
from lib.evaluation.jobs_eval import DEFAULT_METRICS, eval_run_params
from lib.jobs import submit
from lib.jobs.inputs import stage_bytes
from lib.models.spec import DTYPE_CHOICES, MODEL_HELP
from lib.quality.readers import read_dataset_bytes
from lib.samples import write_samples
from lib.store import open_store
from pages.evaluation.run_view import show_run
from pages.widgets.feedback import shows_errors
from pages.widgets.jobs import job_outcome, latest_finished, live_jobs
from pages.widgets.run_picker import run_picker

SOURCES = ("Demo QA set", "Upload a file")
DEMO_FILE = "qa_eval.jsonl"
UPLOAD_TYPES = ["jsonl", "ndjson", "json", "csv", "tsv", "parquet"]
FORMAT_HELP = (
    "JSONL or CSV, one question per row. Prompt column: `prompt`, `question`, `input` or `instruction`. "
    "Reference column: `references` (a list), `reference`, `answer`, `answers` (a list, or SQuAD's) or `target`; "
    "an `aliases` list adds other answers that count. Optional: `context` (placed before the question) and `id`."
)
NO_RUN_YET = "No eval run yet: start one in the Eval runs tab."


@dataclass(frozen=True)
class Chosen:
    """The eval set file the user picked: bytes, name, and an id that changes only when the file does."""

    data: bytes
    name: str
    file_id: str


def eval_runs_tab() -> None:
    """Choose an eval set and a model, start the run as a job, then browse the stored runs."""
    st.markdown(
        "The model answers every question of an eval set (greedy decoding); each answer is scored against its "
        "references and the run is **stored** with all its answers, so it can be compared, rated and reported."
    )
    with st.container(border=True):
        st.markdown("##### Eval set")
        source = st.radio("Eval set", SOURCES, horizontal=True, key="evr_source", label_visibility="collapsed")
        chosen, eval_set = None, None
        with shows_errors("Reading the eval set"):
            chosen = _choose(source)
            if chosen is not None:
                eval_set = _parsed(chosen)
                _preview(eval_set)
        _settings_and_start(chosen, eval_set)
    live_jobs("eval-run", "evr")
    with shows_errors("Reading the last eval job"):
        finished = latest_finished("eval-run")
        if finished is not None and finished.state != "succeeded":  # a failure stays in view until the next run
            job_outcome(finished, lambda _job: None)
    st.subheader("Stored runs", divider="gray")
    with shows_errors("Reading the stored runs"):
        store = open_store()
        runs = eval_runs(store)
        if not runs:
            st.info("No eval run yet: choose an eval set above and press **Start eval run**.", icon=":material/info:")
            return
        run_id = run_picker("Run", runs, "evr_run", runs[0].id, help="Stored eval runs, newest first.")
        if run_id is not None:
            show_run(store, run_id)


def _choose(source: str) -> Chosen | None:
    if source == SOURCES[1]:
        upload = st.file_uploader("Eval set file", type=UPLOAD_TYPES, key="evr_upload", help=FORMAT_HELP)
        if upload is None:
            st.caption("Choose a JSONL or CSV file of questions with reference answers (hover the ? for columns).")
            return None
        return Chosen(upload.getvalue(), upload.name, f"upload:{upload.file_id}")
    path = config.samples_dir() / DEMO_FILE
    if not path.is_file():
        st.caption(f"The demo QA set ({DEMO_FILE}) has not been written yet.")
        if st.button("Write the demo data", icon=":material/download:", key="evr_write_demo"):
            write_samples(config.samples_dir())  # the same files the Overview's "Load demo data" writes
            st.rerun()
        return None
    data = read_dataset_bytes(path)  # a sentence for an unreadable or too large file
    return Chosen(data, path.name, f"path:{path}:{path.stat().st_mtime_ns}:{len(data)}")


def _parsed(chosen: Chosen) -> EvalSet:
    """The eval set as read, kept per file in the session, so a rerun never parses it again (nor its error)."""
    cached = st.session_state.get("evr_parsed")
    if cached is None or cached[0] != chosen.file_id:
        try:
            with st.spinner(f"Reading {chosen.name}..."):
                parsed: EvalSet | PitwallError = read_eval_set(chosen.data, name=chosen.name)
        except PitwallError as error:
            parsed = error
        cached = (chosen.file_id, parsed)
        st.session_state["evr_parsed"] = cached
    if isinstance(cached[1], PitwallError):
        raise cached[1]
    return cached[1]


def _preview(eval_set: EvalSet) -> None:
    st.caption(
        f"**{len(eval_set):,} items** · {eval_set.format.upper()} · prompts from `{eval_set.prompt_column}`, "
        f"references from `{', '.join(eval_set.reference_columns)}` · set {eval_set.sha256[:12]}"
    )
    for warning in eval_set.warnings:
        st.warning(f"{eval_set.name}: {warning}.", icon=":material/warning:")
    preview = pd.DataFrame(
        [
            {"id": item.item_id, "prompt": item.prompt, "references": " | ".join(item.references)}
            | ({"context": item.context or ""} if any(i.context for i in eval_set.items) else {})
            for item in eval_set.items[:5]
        ]
    )
    st.dataframe(preview, hide_index=True, width="stretch", height=min(36 * (len(preview) + 1) + 3, 220))


def _settings_and_start(chosen: Chosen | None, eval_set: EvalSet | None) -> None:
    model_col, tokens_col, batch_col, dtype_col = st.columns([3, 1, 1, 1])
    spec = model_col.text_input("Model", value=config.default_model_spec(), key="evr_model", help=MODEL_HELP)
    max_new_tokens = tokens_col.number_input(
        "Max new tokens", 1, 4096, 64, key="evr_max_new_tokens", help="The longest answer, in tokens."
    )
    batch_size = batch_col.number_input(
        "Batch size", 1, 512, 8, key="evr_batch_size", help="Questions answered together; lower it if memory runs out."
    )
    dtype = dtype_col.selectbox(
        "Precision", DTYPE_CHOICES, key="evr_dtype", help="auto: bfloat16 where it runs natively, else float32."
    )
    metrics = st.multiselect(
        "Metrics", DEFAULT_METRICS, default=DEFAULT_METRICS, format_func=metric_label, key="evr_metrics",
        help="BLEU and chrF as sacrebleu, ROUGE-L as rouge-score, F1 and exact match as the SQuAD v1.1 script.",
    )  # fmt: skip
    with st.expander("System prompt (optional)"):
        system_prompt = st.text_area(
            "System prompt", key="evr_system_prompt", height=80, label_visibility="collapsed",
            placeholder="e.g. Answer in a few words.",
            help="Sent before every question when the model has a chat template.",
        )  # fmt: skip
    if st.button(
        "Start eval run", type="primary", icon=":material/play_arrow:", key="evr_start", disabled=eval_set is None
    ):
        with shows_errors("Starting the eval run"):
            _start(chosen, eval_set, spec, dtype, int(max_new_tokens), int(batch_size), metrics, system_prompt)


def _start(
    chosen: Chosen | None,
    eval_set: EvalSet | None,
    spec: str,
    dtype: str,
    max_new_tokens: int,
    batch_size: int,
    metrics: list[str],
    system_prompt: str,
) -> None:
    """Check what can be checked now, stage the file, and queue the run as a job (it survives closed tabs)."""
    if chosen is None or eval_set is None:
        raise InputError("Choose an eval set first: the demo QA set or a file of your own.")
    if not spec.strip():
        raise InputError("Name a model: smollm2-135m, a Hugging Face id, or a local folder.")
    if not metrics:
        raise InputError("Choose at least one metric, e.g. F1.")
    open_store()  # a damaged database is reported now, not after the model has answered everything
    path, _ = stage_bytes(chosen.data, Path(chosen.name).suffix)
    params = eval_run_params(
        path, eval_set.sha256, chosen.name, spec.strip(), dtype, max_new_tokens, batch_size, metrics,
        system_prompt.strip() or None,
    )  # fmt: skip
    title = f"Eval run of {spec.strip()} on {chosen.name} ({len(eval_set):,} items)"
    job_id = submit("eval-run", params, title)
    st.toast(f"Started as job #{job_id}; it goes on if you leave this page.", icon=":material/play_arrow:")
