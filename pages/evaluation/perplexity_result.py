"""A stored perplexity run, as the Perplexity tab and the Run history show it: tiles, chart, table, download."""

from __future__ import annotations

import streamlit as st

from lib import jsonsafe
from lib.evaluation.figures import document_perplexity_figure, perplexity_windows_figure
from lib.evaluation.perplexity import DocumentsResult, PerplexityResult
from lib.evaluation.runs import (
    document_previews,
    documents_from_run,
    is_documents_run,
    perplexity_from_run,
    perplexity_runs,
)
from lib.evaluation.tables import side_by_side_frame, surprising_documents_frame
from lib.store import open_store
from lib.store.eval_runs import EvalRun


def show_perplexity_run(run: EvalRun, place: str) -> None:
    """A stored run, whichever mode made it; `place` keeps widget keys apart when two tabs show one run."""
    if is_documents_run(run):
        _show_documents(documents_from_run(run), run.id, place, run.source, document_previews(run))
    else:
        _show_text(perplexity_from_run(run), run.id, place, run.source)


def show_side_by_side(run: EvalRun) -> None:
    """Every model's latest run on the same input, when more than one model has scored it."""
    table = side_by_side_frame(perplexity_runs(open_store()), run.text_sha256)
    if not table.empty:
        st.markdown(
            "**Same input, side by side** (bits per byte compares across tokenizers; perplexity only within one)"
        )
        st.dataframe(table, hide_index=True, width="stretch")


def _show_text(result: PerplexityResult, run_id: int, place: str, source: str) -> None:
    _figure_tiles(result)
    st.caption(
        (f"{source} · " if source else "")
        + f"{result.model} · {result.dtype} on {result.device} · {result.window_summary()}"
        + f" · stored as run #{run_id}"
    )
    if result.windows:
        st.plotly_chart(perplexity_windows_figure(result), key=f"ppl_windows_{place}_{run_id}")
    _download(jsonsafe.dumps(result.to_dict(with_windows=True), indent=2), run_id, place)


def _show_documents(
    result: DocumentsResult, run_id: int, place: str, source: str, previews: dict[int, str] | None = None
) -> None:
    _figure_tiles(result)
    skipped = f" · {len(result.skipped):,} too short to score" if result.skipped else ""
    st.caption(
        f"{source} · {len(result.documents):,} documents{skipped} · {result.model} · {result.dtype} on "
        f"{result.device} · windows of {result.max_length}, stride {result.stride} · stored as run #{run_id}"
    )
    documents = [{"perplexity": d.perplexity} for d in result.documents]
    st.plotly_chart(document_perplexity_figure(documents, result.perplexity), key=f"ppl_docs_{place}_{run_id}")
    table = surprising_documents_frame(result, previews)
    if not table.empty:
        st.markdown("**Most surprising documents** (document *n*: the file's *n*-th, blank lines not counted)")
        st.dataframe(table, hide_index=True, width="stretch")
    _download(jsonsafe.dumps(result.to_dict(with_documents=True), indent=2), run_id, place)


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


def _download(payload: str, run_id: int, place: str) -> None:
    st.download_button(
        "Download result (JSON)",
        payload,
        file_name=f"perplexity-run-{run_id}.json",
        mime="application/json",
        icon=":material/download:",
        key=f"ppl_download_{place}_{run_id}",
    )
