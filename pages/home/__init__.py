"""Overview page: what each page answers, what this installation runs with, and the demo data."""

from __future__ import annotations

import json
import logging
import time
from pathlib import Path

import streamlit as st

from lib import config
from lib.alerts import active_alerts, alert_history, send_test_notification
from lib.errors import PitwallError
from lib.gpu.source import simulated_since, switch_simulated
from lib.jobs import list_jobs
from lib.jobs.kinds import page_of
from lib.logs import log_unexpected, unexpected_sentence
from lib.samples import write_samples
from lib.settings import Settings, SettingsError, load_settings, load_settings_or_defaults
from lib.status import pit_wall
from lib.store import open_store
from pages.widgets.alerts import active_alerts_table, alert_events_table
from pages.widgets.feedback import shows_errors
from pages.widgets.jobs import live_jobs
from pages.widgets.navigation import PAGE_TABLE, streamlit_page
from pages.widgets.status import installation
from pages.widgets.tiles import status_tile

log = logging.getLogger("pitwall.ui")


def render() -> None:
    st.title(":material/flag: Pitwall")
    st.caption("Live telemetry and the calls that matter, for teams running LLMs in production.")
    _pit_wall()
    st.subheader("Jobs", divider="gray")
    live_jobs(None, "home", "Nothing running. Long work (scoring a text, profiling a dataset) shows here live.")
    _recent_jobs()
    st.subheader("Alerts", divider="gray")
    _alerts()
    st.divider()
    left, right = st.columns([1, 1], gap="large")
    with left:
        _installation_facts()
        _settings()
    with right:
        _demo_data()


def _pit_wall() -> None:
    """One tile per area with its state, read cheaply from the store."""
    with shows_errors("Reading the state of each area"):
        tiles = {tile.area: tile for tile in pit_wall(open_store(), _settings_or_defaults())}
        pages = {entry.url_path: streamlit_page(entry) for entry in PAGE_TABLE}
        areas = [entry.url_path for entry in PAGE_TABLE if entry.url_path != "home"]
        for column, area in zip(st.columns(len(areas)), areas, strict=True):
            with column:
                status_tile(tiles[area], pages[area])
        for column, area in zip(st.columns(len(areas)), ["jobs", "alerts"], strict=False):
            with column:
                status_tile(tiles[area])


def _settings_or_defaults() -> Settings:
    """The settings; if the file is broken, say so once and carry on with the defaults."""
    settings, problem = load_settings_or_defaults()
    if problem:
        st.error(f"{problem} Showing defaults until it is fixed.", icon=":material/settings_alert:")
    return settings


def _recent_jobs() -> None:
    with shows_errors("Reading the job history"):
        jobs = [job for job in list_jobs(open_store(), limit=15) if not job.active]
        if not jobs:
            return
        with st.expander(f"Recent jobs ({len(jobs)})"):
            st.dataframe(
                [
                    {
                        "job": f"#{job.id}",
                        "what": job.title,
                        "state": job.state,
                        "finished": time.strftime("%Y-%m-%d %H:%M:%S", time.localtime(job.finished_at or 0)),
                        "took (s)": round(job.elapsed() or 0, 1),
                        "result or reason": job.error or job.result_note,
                        "open": f"/{page_of(job.kind)}" if page_of(job.kind) else None,
                    }
                    for job in jobs
                ],
                hide_index=True,
                width="stretch",
                column_config={"open": st.column_config.LinkColumn("open", display_text="open page")},
            )


def _alerts() -> None:
    """What fires now, the latest changes, and a way to check that notifications arrive."""
    with shows_errors("Reading the alerts"):
        store = open_store()
        active = active_alerts(store)
        if active:
            active_alerts_table(active)
        else:
            st.caption("No alert is firing or pending. The GPU and latency pages add their rules here.")
        history = alert_history(store, limit=20)
        if history:
            with st.expander(f"Latest alert changes ({len(history)})"):
                alert_events_table(history)
    if st.button("Send a test notification", icon=":material/notifications:", key="alerts_test"):
        with shows_errors("Sending the test notification"):
            outcome = send_test_notification(load_settings())
            failed = {name: result for name, result in outcome.items() if result != "sent"}
            if failed:
                st.error("; ".join(f"{name}: {result}" for name, result in failed.items()), icon=":material/error:")
            elif "webhook" not in " ".join(outcome):
                st.info("Sent to the log only: set alerts.webhook_url to notify a channel.", icon=":material/info:")
            else:
                st.success(f"Delivered: {', '.join(outcome)}.", icon=":material/check:")


def _settings() -> None:
    st.subheader("Settings")
    try:
        settings = load_settings()
    except SettingsError as error:
        st.error(str(error), icon=":material/settings_alert:")
        return
    st.caption(
        f"From `{settings.path}`, then the environment (`PITWALL_<SECTION>_<KEY>`). "
        "Change one with `python -m lib settings set KEY VALUE`."
    )
    for warning in settings.warnings:
        st.warning(warning, icon=":material/warning:")
    with st.expander("Effective settings and where each came from"):
        st.dataframe(
            [
                {"setting": row["key"], "value": str(row["value"]), "from": row["source"], "meaning": row["help"]}
                for row in settings.to_dict()["settings"]
            ],
            hide_index=True,
            width="stretch",
        )


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
        key="demo_load",
        help=f"Writes the demo files to {folder}; the same seed always writes the same data.",
    )
    if error := st.session_state.pop("demo_error", None):
        st.error(error, icon=":material/error:")
    if present:
        _demo_summary(folder, manifest_path)
    _simulated_gpu_node()


def _simulated_gpu_node() -> None:
    """The switch for the simulated GPU node: four fake GPUs that show every GPU check within a minute."""
    on = simulated_since() is not None
    st.toggle(
        "Simulated GPU node",
        value=on,
        key="demo_simulated_gpus",
        on_change=_switch_simulated_node,
        help="Four simulated H100s for the GPU health page where there is no GPU: load, a full memory, thermal "
        "throttling, a power cap, an ECC error and an XID error within a minute. Labelled simulated everywhere; "
        "real GPUs always take precedence.",
    )
    if on:
        st.caption(
            ":violet-badge[:material/science: simulated] The GPU health page shows the simulated node wherever "
            "no real GPU is found; its alerts are labelled node=simulated-node."
        )


def _switch_simulated_node() -> None:
    switch_simulated(bool(st.session_state["demo_simulated_gpus"]))


def _load_demo() -> None:
    try:
        write_samples(config.samples_dir())
    except PitwallError as error:
        st.session_state["demo_error"] = str(error)
    except Exception as error:  # a callback's exception would replace the whole page
        st.session_state["demo_error"] = unexpected_sentence(
            "Writing the demo data", error, log_unexpected(error, "writing the demo data", log)
        )


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
