"""Looking at rows: duplicate clusters side by side, and one row with everything found in it."""

from __future__ import annotations

import html
from pathlib import Path

import numpy as np
import streamlit as st

from lib.errors import InputError
from lib.quality.clusters import word_diff
from lib.quality.readers import Dataset, read_dataset
from lib.store.quality_runs import QualityRun

TEXT_WIDTH = 1_500  # characters of a row shown in full view


@st.cache_resource(max_entries=2, show_spinner="Reading the stored dataset...")
def _stored_dataset(path: str, name: str, text_column: str, chat: str | None) -> Dataset:
    column = None if chat else text_column  # chat data: the flattened text, however the file names it
    return read_dataset(Path(path), name, column, chat or "conversation")


def run_dataset(run: QualityRun) -> Dataset:
    """The run's dataset, read back from the copy stored with it (cached for the two most recent runs)."""
    if not run.stored_path or not Path(run.stored_path).is_file():
        raise InputError(
            f"The copy of {run.dataset} stored with run #{run.id} is gone; profile the file again to browse its rows."
        )
    return _stored_dataset(run.stored_path, run.dataset, run.text_column, run.summary.get("chat"))


def duplicate_clusters(run: QualityRun) -> None:
    """Pick a cluster; its members side by side with their similarity to the first."""
    groups = run.detail.get("clusters", [])
    kinds = {"near": "Near-duplicate clusters", "exact": "Exact duplicate groups"}
    kind = st.radio("Show", list(kinds), format_func=kinds.get, horizontal=True, key=f"dq_cluster_kind_{run.id}")
    chosen = [group for group in groups if group["kind"] == kind]
    total = run.summary["near_duplicate_clusters"] if kind == "near" else None
    if not chosen:
        st.success("No near-duplicate clusters in this dataset." if kind == "near" else "No exact duplicates.")
        return
    st.caption(
        f"The {len(chosen):,} largest " + ("clusters" if kind == "near" else "groups")
        + (f" of {total:,}" if total else "") + "; each member with its estimated Jaccard similarity to the first."
    )  # fmt: skip
    index = st.selectbox(
        "Cluster", range(len(chosen)), key=f"dq_cluster_{run.id}_{kind}",
        format_func=lambda i: f"{i + 1}. {chosen[i]['size']} rows, first at file row {chosen[i]['file_rows'][0]}",
    )  # fmt: skip
    group = chosen[index]
    texts = run_dataset(run).frame[run_dataset(run).text_column]
    shown = list(zip(group["rows"], group["file_rows"], group["similarity"], group["exact"], strict=True))[:4]
    first_text = _text(texts.iloc[group["rows"][0]])
    for column, (row, file_row, similarity, exact) in zip(st.columns(len(shown)), shown, strict=True):
        with column.container(border=True):
            badge = "first" if row == group["rows"][0] else ("exact copy" if exact else f"similarity {similarity:.2f}")
            st.markdown(f"**File row {file_row}** · {badge}")
            text = _text(texts.iloc[row])
            if row == group["rows"][0] or exact:
                st.text(text)
            else:  # what differs from the first member, marked
                st.html(_diff_html(first_text, text))
    st.caption("Words removed from the first member are struck through in red; words added are green.")
    if len(group["rows"]) > len(shown):
        st.caption(
            f"{group['size'] - len(shown)} more rows in this cluster: file rows {group['file_rows'][len(shown) :]}."
        )


def row_inspector(run: QualityRun) -> None:
    """One row by its file row number: its text, its other columns, and every check that flagged it."""
    dataset = run_dataset(run)
    numbers = dataset.row_numbers
    if not numbers:
        st.info("This dataset has no rows.")
        return
    flagged = _flags(run)
    first_flagged = min(flagged) if flagged else numbers[0]
    file_row = st.number_input(
        "File row", min_value=min(numbers), max_value=max(numbers), value=first_flagged, step=1,
        key=f"dq_row_{run.id}", help="The line (JSONL, text) or record number (CSV, JSON, Parquet) in the file.",
    )  # fmt: skip
    # Per-message chat data has several rows (messages) per file line: show each of them.
    positions = np.flatnonzero(np.asarray(numbers) == int(file_row))
    if not positions.size:
        st.warning(f"File row {file_row} is not among the rows read (it may have been skipped as malformed).")
        return
    checks = flagged.get(int(file_row), [])
    if checks:
        st.markdown("Flagged by: " + " ".join(f":orange-badge[{check}]" for check in checks))
    else:
        st.markdown(":green-badge[no finding] (row lists keep the first 1,000 rows per check)")
    for position in positions:
        st.text(_text(dataset.frame[dataset.text_column].iloc[int(position)]))
    others = dataset.frame.iloc[positions].drop(columns=[dataset.text_column]).astype(str)
    if not others.empty and len(others.columns):
        st.dataframe(others, hide_index=True, width="stretch")
    if flagged:
        st.caption(
            "Flagged rows: " + ", ".join(str(row) for row in sorted(flagged)[:50]) + (" …" if len(flagged) > 50 else "")
        )


def _diff_html(first: str, other: str) -> str:
    """The member's text with its differences from the first marked; every piece of text HTML-escaped."""
    styles = {
        "same": "{}",
        "removed": "<del style='background:#5c1f24;color:#ffb3b8'>{}</del>",
        "added": "<ins style='background:#1f4d2c;color:#b6f2c8;text-decoration:none'>{}</ins>",
    }
    body = " ".join(styles[op].format(html.escape(piece)) for op, piece in word_diff(first, other))
    return f"<div style='white-space:pre-wrap;line-height:1.6'>{body}</div>"


def _flags(run: QualityRun) -> dict[int, list[str]]:
    flags: dict[int, list[str]] = {}
    for check, finding in run.detail.get("findings", {}).items():
        for row in finding["rows"]:
            flags.setdefault(int(row), []).append(check)
    return flags


def _text(value: object) -> str:
    if not isinstance(value, str):
        return "(missing)"
    if not value.strip():
        return "(empty)"
    return value[:TEXT_WIDTH] + (f" … ({len(value) - TEXT_WIDTH:,} more characters)" if len(value) > TEXT_WIDTH else "")
