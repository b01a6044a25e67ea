"""Choosing a dataset: an upload (decoded once, not on every rerun), the demo data, or a file on the server.

The page decodes the file only to show its format, columns and first rows and to let the user pick the
text column; the profile itself runs as a job on a staged copy, so a long profile survives the tab.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

import pandas as pd
import streamlit as st

from lib import config
from lib.jobs import submit
from lib.jobs.inputs import stage_bytes
from lib.models.spec import MODEL_HELP
from lib.quality.jobs import ProfileJob, profile_params
from lib.quality.pipeline import FAMILY_SETTINGS, RunSettings, run_settings
from lib.quality.readers import CHAT_MODES, Dataset, read_dataset, read_dataset_bytes
from lib.samples import write_samples
from lib.settings import Settings
from lib.store import open_store
from lib.store.quality_runs import list_rule_sets
from pages.widgets.jobs import job_outcome, latest_finished, live_jobs

SOURCES = ("Upload a file", "Demo support conversations", "A file on the server")
DEMO_FILE = "support_conversations.jsonl"
UPLOAD_TYPES = ["csv", "tsv", "tab", "jsonl", "ndjson", "json", "parquet", "pq", "txt", "text"]
FAMILY_LABELS = {
    "gopher_quality": "Gopher quality",
    "gopher_repetition": "Gopher repetition",
    "c4": "C4",
    "fineweb": "FineWeb",
}


@dataclass(frozen=True)
class Chosen:
    """The file the user picked: its bytes, its name, and an id that changes only when the file does."""

    data: bytes
    name: str
    file_id: str


def dataset_picker(settings: Settings) -> None:
    """Source, columns, options and the Profile button; then the running job's progress."""
    with st.container(border=True):
        st.markdown("##### Dataset")
        source = st.radio("Source", SOURCES, horizontal=True, key="dq_source", label_visibility="collapsed")
        chosen = _choose(source)
        if chosen is not None:
            _configure_and_submit(chosen, settings)
    live_jobs("quality-profile", key="dq", idle_note="")
    finished = latest_finished("quality-profile")
    if finished is not None and finished.state != "succeeded":  # a failure stays in view until the next run
        job_outcome(finished, lambda _job: None)


def _choose(source: str) -> Chosen | None:
    if source == SOURCES[0]:
        upload = st.file_uploader(
            "Dataset file", type=UPLOAD_TYPES, key="dq_upload",
            help="CSV, TSV, JSONL (OpenAI chat format included), JSON, Parquet or text (one document per line). "
            "Larger files: `python -m lib quality profile PATH --save` from a terminal.",
        )  # fmt: skip
        if upload is None:
            st.caption("Choose a file to see its columns before profiling it.")
            return None
        return Chosen(upload.getvalue(), upload.name, f"upload:{upload.file_id}")
    if source == SOURCES[1]:
        path = config.samples_dir() / DEMO_FILE
        if not path.is_file():
            st.caption("The demo data has not been written yet.")
            if st.button("Write the demo data", icon=":material/download:", key="dq_write_demo"):
                write_samples(config.samples_dir())
                st.rerun()
            return None
        return _read_path(path)
    value = st.text_input(
        "Path on the server", key="dq_path", placeholder="/data/train.jsonl",
        help="A file the dashboard's server can read (the same as `python -m lib quality profile PATH`).",
    )  # fmt: skip
    if not value.strip():
        return None
    return _read_path(Path(value.strip()).expanduser())


def _read_path(path: Path) -> Chosen:
    data = read_dataset_bytes(path)  # a sentence for a missing, unreadable or too large file
    return Chosen(data, path.name, f"path:{path}:{path.stat().st_mtime_ns}:{len(data)}")


def decoded(chosen: Chosen, text_column: str | None, chat: str) -> Dataset:
    """The dataset as read, kept in the session per file, column and chat mode: a rerun never decodes it again."""
    cache = st.session_state.get("dq_decoded")
    if cache is None or cache["file_id"] != chosen.file_id:
        cache = {"file_id": chosen.file_id, "datasets": {}}  # one file per session in memory: the last one chosen
        st.session_state["dq_decoded"] = cache
    datasets = cache["datasets"]
    if (text_column, chat) not in datasets:
        with st.spinner(f"Reading {chosen.name}..."):
            dataset = read_dataset(chosen.data, chosen.name, text_column, chat)
        datasets[(text_column, chat)] = datasets[(dataset.text_column, chat)] = dataset  # detected = chosen
    return datasets[(text_column, chat)]


def _configure_and_submit(chosen: Chosen, settings: Settings) -> None:
    column = st.session_state.get(f"dq_column_{chosen.file_id}")
    dataset = decoded(chosen, column, st.session_state.get("dq_chat", "conversation"))
    columns = dataset.text_columns or [dataset.text_column]
    left, right = st.columns([3, 2])
    left.selectbox(
        "Text column", columns, index=columns.index(dataset.text_column) if dataset.text_column in columns else 0,
        key=f"dq_column_{chosen.file_id}", help="The column whose text is profiled; detected as the longest "
        "free text. Chat data (`messages`) is flattened into `text`.",
    )  # fmt: skip
    if dataset.chat:
        right.radio(
            "Chat messages", CHAT_MODES, horizontal=True, key="dq_chat",
            help="A row per conversation (its messages as 'role: content' lines) or a row per message.",
        )  # fmt: skip
    st.caption(
        f"**{dataset.name}**: {len(dataset.frame):,} rows · {dataset.format.upper()}"
        + (f" · {dataset.encoding}" if dataset.encoding else "")
        + f" · {dataset.size_bytes / 2**20:,.1f} MB · SHA-256 {dataset.sha256[:12]}…"
    )
    for warning in dataset.warnings:
        st.warning(warning, icon=":material/warning:")
    if dataset.skipped:
        st.warning(
            f"{len(dataset.skipped):,} malformed records were skipped; the rest will be profiled. "
            f"First: line {dataset.skipped[0]['line']}: {dataset.skipped[0]['reason']}",
            icon=":material/warning:",
        )
    with st.expander("First rows", expanded=False):
        st.dataframe(_preview(dataset), hide_index=True, width="stretch")
    run, rule_set = _options(settings)
    if st.button("Profile", type="primary", icon=":material/play_arrow:", key="dq_profile"):
        path, _digest = stage_bytes(chosen.data, Path(chosen.name).suffix)
        job = ProfileJob(
            str(path), dataset.name, dataset.text_column, dataset.chat or "conversation", run.threshold,
            list(run.families), run.sample_rows, run.model, rule_set, run.perplexity_rows, run.perplexity_model,
        )  # fmt: skip
        submit("quality-profile", profile_params(job), f"Profile {dataset.name}")
        st.rerun()


def _preview(dataset: Dataset, rows: int = 5) -> pd.DataFrame:
    head = dataset.frame.head(rows).copy()
    for column in head.columns:
        head[column] = head[column].map(lambda value: value if not isinstance(value, str) else value[:300])
    return head.astype(str)


def _options(settings: Settings) -> tuple[RunSettings, str | None]:
    """The run's knobs, defaulting to the settings, and the rule set's name (None: no rules)."""
    rule_sets = [rule_set.name for rule_set in list_rule_sets(open_store())]
    with st.expander("Options: near-duplicate threshold, heuristics, sample, tokenizer, rule set"):
        left, right = st.columns(2)
        threshold = left.slider(
            "Near-duplicate threshold (Jaccard)", 0.5, 1.0, float(settings["quality.near_duplicate_threshold"]), 0.05,
            key="dq_threshold", help="Two rows whose word 5-gram sets overlap at least this much are near-duplicates "
            "(MinHash LSH, 112 hashes in 14 bands of 8, after datatrove). Lower finds looser copies.",
        )  # fmt: skip
        default_families = [family for family, key in FAMILY_SETTINGS.items() if settings[key]]
        families = right.multiselect(
            "Heuristic rules", list(FAMILY_SETTINGS), default=default_families, key="dq_families",
            format_func=FAMILY_LABELS.get, help="Published web-text filters with their thresholds (Gopher: Rae et "
            "al. 2021; C4: Raffel et al. 2020; FineWeb: Penedo et al. 2024). Short chat turns often fail the Gopher "
            "word-count rule: judge them by your data.",
        )  # fmt: skip
        tokens = left.checkbox("Count tokens", value=True, key="dq_tokens", help="Lengths in the model's tokens.")
        model = left.text_input(
            "Model", value=config.default_model_spec(), key="dq_model",
            help=f"Tokenizer for token counts and model for perplexity: {MODEL_HELP}",
        )  # fmt: skip
        chosen_set = right.selectbox(
            "Rule set", ["(none)", *rule_sets], key="dq_rule_set",
            help="Check the profile against a saved rule set (the Rules tab edits them).",
        )  # fmt: skip
        perplexity_rows = right.number_input(
            "Per-row perplexity: rows to score", min_value=0, max_value=100_000, value=0, step=100,
            key="dq_perplexity", help="CCNet's quality signal under the tokenizer's model, on a uniform sample of "
            "non-empty rows (0: off). Very high perplexity flags garbled text, tables or boilerplate. About 50 rows "
            "a second on a CPU for this small model.",
        )  # fmt: skip
        right.caption(
            f"Language and token counts use a uniform sample of {settings['quality.sample_rows']:,} rows on larger "
            "datasets (`quality.sample_rows`); every other check reads every row."
        )
    run = run_settings(settings, threshold, model.strip() or None, tokens, tuple(families), int(perplexity_rows))
    return run, None if chosen_set == "(none)" else chosen_set
