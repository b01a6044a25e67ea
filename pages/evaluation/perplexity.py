"""The Perplexity tab: score a text or a set of documents as a job, then see the stored run.

Two modes: one text through the guide's sliding window, or a documents file (a document a line, or a
JSONL/CSV column) with each document scored on its own. A second model may score the same input; runs on
the same input with different models are shown side by side, with bits per byte as the figure that stays
comparable across tokenizers.
"""

from __future__ import annotations

from pathlib import Path

import streamlit as st

from lib import config
from lib.errors import InputError
from lib.evaluation.jobs import perplexity_params
from lib.evaluation.perplexity import DEFAULT_MAX_LENGTH, require_text
from lib.jobs import Job, submit
from lib.jobs.inputs import stage_bytes, stage_text
from lib.models.spec import DTYPE_CHOICES, MODEL_HELP
from lib.store import open_store
from lib.store.eval_runs import get_eval_run
from lib.textfile import decode_text, read_text_file
from pages.evaluation.perplexity_result import show_perplexity_run, show_side_by_side
from pages.widgets.feedback import shows_errors
from pages.widgets.jobs import job_outcome, latest_finished, live_jobs

SOURCES = ("Paste text", "Upload a file", "Demo help-centre article")
MODES = {"One text (sliding window)": "text", "Documents (each scored on its own)": "documents"}
DOCUMENT_TYPES = ["txt", "jsonl", "csv", "tsv", "parquet", "json"]


def perplexity_tab() -> None:
    st.markdown(
        "Perplexity is exp(mean negative log-likelihood per token): how surprised the model is by the text. "
        "Lower is better; compare it only between runs on the same text and tokenizer. **Bits per byte** "
        "(lm-evaluation-harness) divides by the text's UTF-8 bytes instead of tokens, so it compares models "
        "with different tokenizers."
    )
    mode = MODES[st.radio("Mode", list(MODES), horizontal=True, key="ppl_mode")]
    if mode == "documents":
        text, name, column = _documents_input()
    else:
        source = st.radio("Text", SOURCES, horizontal=True, key="ppl_source")
        (text, name), column = _text_input(source), None
    model_col, second_col, options_col = st.columns([2, 2, 3])
    spec = model_col.text_input(
        "Model",
        value=config.default_model_spec(),
        key="ppl_model",
        help=MODEL_HELP,
    )
    second = second_col.text_input(
        "Second model (optional)",
        key="ppl_model_2",
        placeholder="score the same input with another model",
        help="Both models score the same input as two runs, shown side by side below. " + MODEL_HELP,
    )
    with options_col.expander("Window settings"):
        max_length = st.number_input(
            "Window length (tokens)",
            min_value=0,
            value=0,
            step=128,
            key="ppl_max_length",
            help=f"0 = the model's context, capped at {DEFAULT_MAX_LENGTH}. "
            "Longer windows give each token more context.",
        )
        stride = st.number_input(
            "Stride (tokens)",
            min_value=0,
            value=0,
            step=64,
            key="ppl_stride",
            help="0 = half the window. A smaller stride gives more context per token and costs more forward passes.",
        )
        dtype = st.selectbox(
            "Precision",
            DTYPE_CHOICES,
            key="ppl_dtype",
            help="auto: bfloat16 on GPUs and CPUs that run it natively, else float32.",
        )
    if st.button("Score", type="primary", icon=":material/play_arrow:", key="ppl_run"):
        with shows_errors("Starting the run"):
            for model in [spec, *([second] if second.strip() else [])]:
                _start_scoring(text, name, model, dtype, int(max_length) or None, int(stride) or None, mode, column)
    st.subheader("Latest run", divider="gray")
    live_jobs("perplexity", "ppl")
    with shows_errors("Reading the latest run"):
        job = latest_finished("perplexity")
        if job is None:
            st.caption("No run yet: pick a text and press Score. Runs go on while you switch pages or close the tab.")
        else:
            job_outcome(job, _show_job_result)


def _start_scoring(
    content: str | bytes,
    name: str,
    spec: str,
    dtype: str,
    max_length: int | None,
    stride: int | None,
    mode: str = "text",
    column: str | None = None,
) -> None:
    """Check what can be checked now, then queue the run as a job: it survives reruns and closed tabs."""
    open_store()  # a damaged database is reported now, not after minutes of scoring
    if mode == "documents":
        if not content:
            raise InputError("Choose a documents file (or the demo article, a document a line) first.")
        from lib.evaluation.documents import read_documents

        path, digest = stage_bytes(content if isinstance(content, bytes) else content.encode(), _suffix(name))
        read_documents(path, column)  # a file without usable documents is refused now, in one sentence
    else:
        require_text(content)
        path, digest = stage_text(content)
    params = perplexity_params(path, digest, name, spec.strip(), dtype, max_length, stride, mode, column)
    job_id = submit("perplexity", params, f"Perplexity of {name}")
    st.toast(f"Scoring {name} as job #{job_id}; it goes on if you leave this page.", icon=":material/play_arrow:")


def _show_job_result(job: Job) -> None:
    run_id = (job.result or {}).get("eval_run")
    run = get_eval_run(open_store(), run_id) if run_id else None
    if run is None:
        st.warning(f"Job #{job.id} finished but its run #{run_id} is no longer stored.")
        return
    show_perplexity_run(run, "latest")
    show_side_by_side(run)


def _documents_input() -> tuple[bytes, str, str | None]:
    """A documents file (or the demo article, a document a line) and the column holding the text."""
    source = st.radio("Documents", ("Upload a file", "Demo help-centre article"), horizontal=True, key="ppl_doc_source")
    if source == "Upload a file":
        upload = st.file_uploader(
            "Documents file", type=DOCUMENT_TYPES, key="ppl_doc_file",
            help="TXT: a document a line. JSONL, CSV, TSV or Parquet: one document a row, from the text column.",
        )  # fmt: skip
        content, name = (upload.getvalue(), upload.name) if upload else (b"", "no file")
    else:
        path = config.samples_dir() / "help_centre.txt"
        if not path.is_file():
            st.info("The demo data is not loaded yet: load it from the Overview page, or upload a file instead.")
            return b"", "help_centre.txt", None
        content, name = path.read_bytes(), "help_centre.txt"
    column = None
    if _suffix(name) not in (".txt", ".md", ".text", ""):
        column = st.text_input("Text column", value="text", key="ppl_doc_column").strip() or None
    return content, name, column


def _suffix(name: str) -> str:
    return Path(name).suffix.lower()


def _text_input(source: str) -> tuple[str, str]:
    if source == "Paste text":
        return st.text_area(
            "Text to score", height=160, key="ppl_text", placeholder="Paste a few paragraphs..."
        ), "pasted text"
    if source == "Upload a file":
        upload = st.file_uploader("Text file (UTF-8)", type=["txt", "md", "text"], key="ppl_file")
        if upload is None:
            return "", "no file"
        with shows_errors(f"Reading {upload.name}"):
            return decode_text(upload.getvalue(), upload.name), upload.name
        return "", upload.name
    path = config.samples_dir() / "help_centre.txt"
    if not path.is_file():
        st.info("The demo data is not loaded yet: load it from the Overview page, or paste text instead.")
        return "", "help_centre.txt"
    with shows_errors("Reading the demo article"):
        text = read_text_file(path)
        st.caption(f"`{path}`: {len(text):,} characters.")
        return text, "help_centre.txt"
    return "", "help_centre.txt"
