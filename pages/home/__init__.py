"""Overview page: what each page answers, what this installation runs with, and the demo data."""

from __future__ import annotations

import json
import logging
from pathlib import Path

import streamlit as st

from lib import config
from lib.errors import PitwallError
from lib.samples import write_samples
from pages.widgets.navigation import PAGE_TABLE, streamlit_page
from pages.widgets.status import installation

log = logging.getLogger("pitwall.ui")


def render() -> None:
    st.title(":material/flag: Pitwall")
    st.caption("Live telemetry and the calls that matter, for teams running LLMs in production.")
    _page_cards()
    st.divider()
    left, right = st.columns([1, 1], gap="large")
    with left:
        _installation_facts()
    with right:
        _demo_data()


def _page_cards() -> None:
    entries = [e for e in PAGE_TABLE if e.url_path != "home"]
    for column, entry in zip(st.columns(len(entries)), entries, strict=True):
        with column.container(border=True):
            st.markdown(f"**{entry.title}**")
            st.caption(entry.question)
            st.markdown(
                ":green-badge[:material/check: ready]"
                if entry.built
                else ":gray-badge[:material/construction: not built yet]"
            )
            st.page_link(streamlit_page(entry), label=f"Open {entry.title}", icon=":material/arrow_forward:")


def _installation_facts() -> None:
    st.subheader("This installation")
    facts = installation()
    st.markdown(
        f"- **Model** `{facts.model}` ({facts.model_source}): {facts.model_note}\n"
        f"- **Device** {facts.device}\n"
        f"- **Store** `{facts.store_path}`"
    )
    if facts.store:
        runs = facts.store.tables.get("eval_runs", 0)
        st.caption(
            f"Schema version {facts.store.schema_version}, {facts.store.journal_mode.upper()} journal, "
            f"{facts.store.size_bytes / 1024:.0f} KiB, {runs} evaluation run{'s' if runs != 1 else ''} stored."
        )
    if facts.store_error:
        st.error(facts.store_error)
    st.caption("Set `PITWALL_HOME` to move all state, `PITWALL_MODEL` to change the default model.")


def _demo_data() -> None:
    st.subheader("Demo data")
    folder = config.samples_dir()
    manifest_path = folder / "manifest.json"
    present = manifest_path.is_file()
    st.caption(
        "A seeded support-conversation dataset (chat JSONL and CSV) with planted problems, a question-answer "
        "evaluation set and a help-centre article to score, so every page has something to show."
    )
    st.button(
        "Reload demo data" if present else "Load demo data",
        type="secondary" if present else "primary",
        on_click=_load_demo,  # a callback runs before the page is drawn, so the page shows the new state
        help=f"Writes the demo files to {folder}; the same seed always writes the same data.",
    )
    if error := st.session_state.pop("demo_error", None):
        st.error(error, icon=":material/error:")
    if present:
        _demo_summary(folder, manifest_path)


def _load_demo() -> None:
    try:
        write_samples(config.samples_dir())
    except PitwallError as error:
        st.session_state["demo_error"] = str(error)
    except Exception as error:  # a callback's exception would replace the whole page
        log.exception("writing the demo data failed")
        st.session_state["demo_error"] = f"Writing the demo data failed unexpectedly ({type(error).__name__})."


def _demo_summary(folder: Path, manifest_path: Path) -> None:
    try:
        manifest = json.loads(manifest_path.read_text(encoding="utf-8"))
        planted = {name: len(rows) for name, rows in manifest["planted"].items()}
        rows = int(manifest["rows"])
    except (OSError, ValueError, KeyError, TypeError, AttributeError):
        st.warning(f"The demo data in `{folder}` is incomplete or damaged; press the button to write it again.")
        return
    st.markdown(f"`{folder}` holds **{rows:,} conversations**. Planted problems:")
    st.dataframe(
        [{"problem": name.replace("_", " "), "rows": count} for name, count in planted.items()],
        hide_index=True,
        width="stretch",
        height=250,
    )
    for name in ("support_conversations.jsonl", "support_conversations.csv", "qa_eval.jsonl", "help_centre.txt"):
        path = folder / name
        if path.is_file():
            st.download_button(
                f"Download {name}", path.read_bytes, file_name=name, key=f"download-{name}", icon=":material/download:"
            )
