"""The Perplexity and Run history tabs: score a text as a job, see stored perplexity runs."""

from __future__ import annotations

import pandas as pd
import streamlit as st

from lib import config, jsonsafe
from lib.evaluation.figures import perplexity_history_figure, perplexity_windows_figure
from lib.evaluation.jobs import perplexity_params
from lib.evaluation.perplexity import DEFAULT_MAX_LENGTH, PerplexityResult, require_text
from lib.evaluation.runs import perplexity_from_run, perplexity_runs
from lib.jobs import Job, submit
from lib.jobs.inputs import stage_text
from lib.models.spec import DTYPE_CHOICES, MODEL_HELP
from lib.store import open_store
from lib.store.eval_runs import get_eval_run
from lib.textfile import decode_text, read_text_file
from pages.widgets.feedback import shows_errors
from pages.widgets.jobs import job_outcome, latest_finished, live_jobs

SOURCES = ("Paste text", "Upload a file", "Demo help-centre article")


def perplexity_tab() -> None:
    st.markdown(
        "Perplexity is exp(mean negative log-likelihood per token): how surprised the model is by the text. "
        "Lower is better; compare it only between runs on the same text and tokenizer."
    )
    source = st.radio("Text", SOURCES, horizontal=True, key="ppl_source")
    text, name = _text_input(source)
    model_col, options_col = st.columns([2, 3])
    spec = model_col.text_input(
        "Model",
        value=config.default_model_spec(),
        key="ppl_model",
        help=MODEL_HELP,
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
            _start_scoring(text, name, spec, dtype, int(max_length) or None, int(stride) or None)
    st.subheader("Latest run", divider="gray")
    live_jobs("perplexity", "ppl")
    with shows_errors("Reading the latest run"):
        job = latest_finished("perplexity")
        if job is None:
            st.caption("No run yet: pick a text and press Score. Runs go on while you switch pages or close the tab.")
        else:
            job_outcome(job, _show_job_result)


def _start_scoring(text: str, name: str, spec: str, dtype: str, max_length: int | None, stride: int | None) -> None:
    """Check what can be checked now, then queue the run as a job: it survives reruns and closed tabs."""
    require_text(text)
    open_store()  # a damaged database is reported now, not after minutes of scoring
    path, digest = stage_text(text)
    params = perplexity_params(path, digest, name, spec.strip(), dtype, max_length, stride)
    job_id = submit("perplexity", params, f"Perplexity of {name}")
    st.toast(f"Scoring {name} as job #{job_id}; it goes on if you leave this page.", icon=":material/play_arrow:")


def _show_job_result(job: Job) -> None:
    run_id = (job.result or {}).get("eval_run")
    run = get_eval_run(open_store(), run_id) if run_id else None
    if run is None:
        st.warning(f"Job #{job.id} finished but its run #{run_id} is no longer stored.")
        return
    _show_result(perplexity_from_run(run), run.id, "latest", run.source)


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
    tiles = st.columns(4)
    tiles[0].metric("Perplexity", f"{result.perplexity:.3f}")
    tiles[1].metric("Tokens scored", f"{result.tokens:,}")
    tiles[2].metric("Scoring time", f"{result.seconds:.2f} s")
    rate = result.tokens_per_second
    tiles[3].metric("Throughput", f"{rate:,.0f} tok/s" if rate else "too quick to time")
    st.caption(
        (f"{source} · " if source else "")
        + f"{result.model} · {result.dtype} on {result.device} · {result.window_summary()}"
        + (f" · stored as run #{run_id}" if run_id else "")
    )
    if result.windows:
        st.plotly_chart(perplexity_windows_figure(result), key=f"ppl_windows_{place}_{run_id}")
    st.download_button(
        "Download result (JSON)",
        jsonsafe.dumps(result.to_dict(with_windows=True), indent=2),
        file_name=f"perplexity-run-{run_id}.json",
        mime="application/json",
        icon=":material/download:",
        key=f"ppl_download_{place}_{run_id}",
    )


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
            _show_result(perplexity_from_run(run), run.id, "history")


def _summary_columns(summary: dict) -> dict:
    return {
        "perplexity": round(summary["perplexity"], 3),
        "tokens": summary.get("tokens"),
        "tokens/s": summary.get("tokens_per_second"),
        "window": f"{summary.get('max_length')}/{summary.get('stride')}",
        "dtype": summary.get("dtype"),
        "device": summary.get("device"),
    }
