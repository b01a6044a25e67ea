"""Clean & export: chosen steps, a before/after preview with counts, and the downloads."""

from __future__ import annotations

import pandas as pd
import streamlit as st

from lib.quality.clean import CLASSIC_WARNING, CleanOptions, CleanResult, clean
from lib.quality.export import dropped_csv, export_bytes, export_name, mime_type
from lib.quality.readers import Dataset
from lib.store.quality_runs import QualityRun
from pages.data_quality.browse import run_dataset

HEURISTIC_CHOICES_LIMIT = 40


def cleaning_pipeline(run: QualityRun) -> None:
    """Steps -> Clean -> counts, preview, dropped rows and downloads."""
    st.markdown(
        "Choose the steps; text is transformed first, then empty rows and duplicates are found on the "
        "transformed text, so two rows that differed only by an email are caught once redacted."
    )
    left, right = st.columns(2)
    with left:
        st.markdown("**Text**")
        normalise = st.checkbox(
            "Normalise Unicode (NFC)", value=True, key="dq_c_nfkc",
            help="Composes accents and removes control characters and stray byte-order marks.",
        )  # fmt: skip
        strip_html = st.checkbox("Strip HTML", value=run.summary.get("markup", {}).get("html", 0) > 0, key="dq_c_html")
        collapse = st.checkbox("Collapse whitespace", value=True, key="dq_c_ws")
        redact = st.checkbox(
            "Redact PII", value=True, key="dq_c_pii",
            help="Each match becomes a placeholder such as [EMAIL], in every text column, not only the profiled one.",
        )  # fmt: skip
    with right:
        st.markdown("**Rows to drop**")
        empty = st.checkbox("Empty rows", value=True, key="dq_c_empty")
        exact = st.checkbox("Exact duplicates (keep the first)", value=True, key="dq_c_exact")
        near = st.checkbox("Near-duplicates (keep the first)", value=True, key="dq_c_near")
        failing = [rule for rule, count in run.summary.get("heuristics", {}).items() if count]
        rules = st.multiselect(
            "Rows failing these heuristics", failing[:HEURISTIC_CHOICES_LIMIT], key="dq_c_rules",
            help="Only rules that flagged rows in this run are offered.",
        )  # fmt: skip
    with st.expander("Classic NLP steps (off for LLM training data)"):
        st.warning(CLASSIC_WARNING, icon=":material/warning:")
        c1, c2, c3 = st.columns(3)
        lowercase = c1.checkbox("Lowercase", key="dq_c_lower")
        tokenize = c1.checkbox("Tokenise (words and punctuation)", key="dq_c_tok")
        stopwords = c2.checkbox("Remove stop-words", key="dq_c_stop")
        language = c2.text_input("Stop-word / lemma language", value="en", key="dq_c_lang", max_chars=3)
        reduce = c3.radio("Reduce words", ["none", "lemma", "porter"], key="dq_c_reduce", horizontal=True)
    options = CleanOptions(
        normalize_unicode=normalise, strip_html=strip_html, collapse_whitespace=collapse, redact_pii=redact,
        drop_empty=empty, drop_exact_duplicates=exact, drop_near_duplicates=near, heuristic_rules=tuple(rules),
        lowercase=lowercase, tokenize=tokenize, remove_stopwords=stopwords, language=language.strip() or "en",
        lemma_or_stem=None if reduce == "none" else reduce,
    )  # fmt: skip
    key = f"dq_cleaned_{run.id}"
    if st.button("Clean", type="primary", icon=":material/cleaning_services:", key="dq_clean"):
        dataset = run_dataset(run)
        bar = st.progress(0.0, text="Cleaning...")

        def progress(done: int, total: int, step: str = "") -> None:
            bar.progress(min(1.0, done / total) if total else 0.0, text=f"Cleaning: {step}")

        result = clean(dataset, options, run.settings["near_duplicate_threshold"], progress)
        bar.empty()
        st.session_state[key] = (options, result, dataset)
    if key in st.session_state:
        _show(run, *st.session_state[key])


def _show(run: QualityRun, options: CleanOptions, result: CleanResult, dataset: Dataset) -> None:
    cols = st.columns(3)
    changed = sum(step.get("changed", 0) for step in result.counts.values())
    cols[0].metric("Rows kept", f"{result.kept:,}", border=True)
    cols[1].metric("Rows dropped", f"{len(result.dropped):,}", border=True)
    cols[2].metric("Changes made", f"{changed:,}", border=True, help="Rows changed, summed over the text steps.")
    steps = [
        {"step": step, "changed": counts.get("changed"), "dropped": counts.get("dropped")}
        for step, counts in result.counts.items()
    ]
    if steps:
        st.dataframe(pd.DataFrame(steps), hide_index=True)
    for warning in result.warnings:
        st.warning(warning, icon=":material/warning:")
    preview = result.preview(10)
    if preview:
        st.markdown("**Before and after** (the first changed rows, cut around the first change)")
        st.dataframe(pd.DataFrame(preview), hide_index=True, width="stretch")
    if len(result.dropped):
        st.markdown("**Dropped rows and why**")
        st.dataframe(result.dropped.head(500), hide_index=True, width="stretch")
    if dataset.format == "text":
        st.caption("Plain-text export: one document per line, so line breaks inside a document become spaces.")
    left, right = st.columns(2)
    left.download_button(
        f"Download the cleaned dataset ({dataset.format.upper()})", lambda: export_bytes(dataset, result.frame),
        file_name=export_name(run.dataset, "clean"), mime=mime_type(dataset.format), icon=":material/download:",
        key="dq_dl_clean", on_click="ignore",
    )  # fmt: skip
    right.download_button(
        "Download the dropped rows (CSV)", lambda: dropped_csv(result.dropped),
        file_name=export_name(run.dataset, "dropped", "csv"), mime="text/csv", icon=":material/download:",
        key="dq_dl_dropped", on_click="ignore",
    )  # fmt: skip
