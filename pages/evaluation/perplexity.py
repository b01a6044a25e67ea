"""The Perplexity and Run history tabs: score a text or a set of documents as a job, see stored perplexity runs.

Two modes: one text through the guide's sliding window, or a documents file (a document a line, or a
JSONL/CSV column) with each document scored on its own. A second model may score the same input; runs on
the same input with different models are shown side by side, with bits per byte as the figure that stays
comparable across tokenizers.
"""

from __future__ import annotations

import pandas as pd
import streamlit as st

from lib import config, jsonsafe
from lib.errors import InputError
from lib.evaluation.figures import document_perplexity_figure, perplexity_history_figure, perplexity_windows_figure
from lib.evaluation.jobs import perplexity_params
from lib.evaluation.perplexity import DEFAULT_MAX_LENGTH, DocumentsResult, PerplexityResult, require_text
from lib.evaluation.runs import (
    document_previews,
    documents_from_run,
    is_documents_run,
    perplexity_from_run,
    perplexity_runs,
)
from lib.jobs import Job, submit
from lib.jobs.inputs import stage_bytes, stage_text
from lib.models.spec import DTYPE_CHOICES, MODEL_HELP
from lib.store import open_store
from lib.store.eval_runs import get_eval_run
from lib.textfile import decode_text, read_text_file
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
    _show_run(run, "latest")
    _side_by_side(run)


def _show_run(run, place: str) -> None:
    """A stored perplexity run, whichever mode made it."""
    if is_documents_run(run):
        _show_documents(documents_from_run(run), run.id, place, run.source, document_previews(run))
    else:
        _show_result(perplexity_from_run(run), run.id, place, run.source)


def _side_by_side(run) -> None:
    """Every model's latest run on the same input, when more than one model has scored it."""
    if not run.text_sha256:
        return
    same_input = [r for r in perplexity_runs(open_store()) if r.text_sha256 == run.text_sha256]
    latest_per_model: dict[str, object] = {}
    for other in same_input:  # newest first: the first seen per model is its latest
        latest_per_model.setdefault(other.model, other)
    if len(latest_per_model) < 2:
        return
    st.markdown("**Same input, side by side** (bits per byte compares across tokenizers; perplexity only within one)")
    rows = [
        {
            "model": other.model,
            "run": other.id,
            "perplexity": round(other.summary["perplexity"], 3),
            "bits per byte": _rounded(other.summary.get("bits_per_byte"), 4),
            "word perplexity": _rounded(other.summary.get("word_perplexity"), 2),
            "tokens": other.summary.get("tokens"),
            "tokens/s": other.summary.get("tokens_per_second"),
            "dtype": other.summary.get("dtype"),
        }
        for other in latest_per_model.values()
    ]
    st.dataframe(pd.DataFrame(rows).sort_values("bits per byte"), hide_index=True, width="stretch")


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
    from pathlib import Path

    return Path(name).suffix.lower()


def _rounded(value: float | None, digits: int) -> float | None:
    return None if value is None else round(value, digits)


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


def _show_result(result: PerplexityResult, run_id: int | None, place: str, source: str = "") -> None:
    """Tiles, window chart and download; `place` keeps widget keys apart when two tabs show one run."""
    _figure_tiles(result)
    st.caption(
        (f"{source} · " if source else "")
        + f"{result.model} · {result.dtype} on {result.device} · {result.window_summary()}"
        + (f" · stored as run #{run_id}" if run_id else "")
    )
    if result.windows:
        st.plotly_chart(perplexity_windows_figure(result), key=f"ppl_windows_{place}_{run_id}")
    _download(jsonsafe.dumps(result.to_dict(with_windows=True), indent=2), run_id, place)


def _download(payload: str, run_id: int | None, place: str) -> None:
    st.download_button(
        "Download result (JSON)",
        payload,
        file_name=f"perplexity-run-{run_id}.json",
        mime="application/json",
        icon=":material/download:",
        key=f"ppl_download_{place}_{run_id}",
    )


def _figure_tiles(result: PerplexityResult | DocumentsResult) -> None:
    """Perplexity, bits per byte, word perplexity, tokens and speed (and MFU on a GPU) as tiles."""
    tiles = st.columns(6 if result.mfu is not None else 5)
    tiles[0].metric("Perplexity", f"{result.perplexity:.3f}", help="exp(NLL per token), token-weighted")
    bpb = result.bits_per_byte
    tiles[1].metric("Bits per byte", f"{bpb:.4f}" if bpb is not None else "n/a", help="NLL / UTF-8 bytes / ln 2")
    word = result.word_perplexity
    tiles[2].metric("Word perplexity", f"{word:,.2f}" if word is not None else "n/a", help="exp(NLL / words)")
    tiles[3].metric("Tokens scored", f"{result.tokens:,}", help=f"scored in {result.seconds:.2f} s")
    rate = result.tokens_per_second
    tiles[4].metric("Throughput", f"{rate:,.0f} tok/s" if rate else "too quick to time", help="scoring alone")
    if result.mfu is not None:
        tiles[5].metric("MFU", f"{result.mfu:.0%}", help="2 x parameters x tokens processed / s / dense bf16 peak")


def _show_documents(
    result: DocumentsResult, run_id: int, place: str, source: str, previews: dict[int, str] | None = None
) -> None:
    """A documents run: corpus tiles, the spread of per-document perplexity, the most surprising documents."""
    _figure_tiles(result)
    skipped = f" · {len(result.skipped):,} too short to score" if result.skipped else ""
    st.caption(
        f"{source} · {len(result.documents):,} documents{skipped} · {result.model} · {result.dtype} on "
        f"{result.device} · windows of {result.max_length}, stride {result.stride} · stored as run #{run_id}"
    )
    documents = [{"perplexity": d.perplexity} for d in result.documents]
    st.plotly_chart(document_perplexity_figure(documents, result.perplexity), key=f"ppl_docs_{place}_{run_id}")
    table = pd.DataFrame(
        [
            {
                "document": d.index + 1,
                "perplexity": round(d.perplexity, 3),
                "tokens": d.tokens,
                "words": d.words,
                **({"text": previews.get(d.index, "")} if previews else {}),
            }
            for d in result.documents
        ]
    )
    if not table.empty:
        st.markdown("**Most surprising documents** (document *n*: the file's *n*-th, blank lines not counted)")
        st.dataframe(table.sort_values("perplexity", ascending=False).head(200), hide_index=True, width="stretch")
    _download(jsonsafe.dumps(result.to_dict(with_documents=True), indent=2), run_id, place)


def perplexity_history() -> None:
    with shows_errors("Reading the run history"):
        store = open_store()
        runs = perplexity_runs(store)
        if not runs:
            st.info("No runs stored yet. Score a text in the Perplexity tab; every run is kept here.")
            return
        table = pd.DataFrame(
            [
                {
                    "run": r.id,
                    "when (UTC)": r.created_at,
                    "model": r.model,
                    "text": r.source,
                    "text id": (r.text_sha256 or "unknown")[:12],
                    **_summary_columns(r.summary),
                }
                for r in runs
            ]
        )
        st.plotly_chart(
            perplexity_history_figure(
                [
                    {
                        "id": r.id,
                        "created_at": r.created_at,
                        "model": r.model,
                        "source": r.source,
                        "text_sha256": r.text_sha256,
                        "perplexity": r.summary["perplexity"],
                    }
                    for r in runs
                ]
            ),
            key="ppl_history",
        )
        st.dataframe(table, hide_index=True, width="stretch")
        chosen = st.selectbox("Show run", [r.id for r in runs], format_func=lambda i: f"#{i}", key="ppl_history_run")
        run = get_eval_run(store, chosen)
        if run is not None:
            _show_run(run, "history")


def _summary_columns(summary: dict) -> dict:
    return {
        "mode": summary.get("mode", "text"),
        "perplexity": round(summary["perplexity"], 3),
        "bits/byte": _rounded(summary.get("bits_per_byte"), 4),
        "tokens": summary.get("tokens"),
        "tokens/s": summary.get("tokens_per_second"),
        "window": f"{summary.get('max_length')}/{summary.get('stride')}",
        "dtype": summary.get("dtype"),
        "device": summary.get("device"),
    }
