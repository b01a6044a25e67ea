"""Demo traffic: three days of requests with a planted bad hour, written as a request log and ingested."""

from __future__ import annotations

import time

import streamlit as st

from lib import config
from lib.files import write_atomically
from lib.latency.ingest import ingest_file
from lib.samples.request_log import request_log
from lib.store import open_store
from pages.widgets.feedback import shows_errors

DEMO_LOG = "request_log.jsonl"


def demo_traffic_button(key: str) -> None:
    """A button that writes the demo request log (ending now) and ingests it, then redraws the page."""
    if st.button(
        "Load demo traffic",
        icon=":material/science:",
        key=f"{key}_demo",
        help=f"Writes {DEMO_LOG} (OpenTelemetry GenAI names) to the demo folder and ingests it.",
    ):
        with shows_errors("Loading the demo traffic"), st.spinner("Writing and ingesting three days of requests..."):
            log = request_log(end=time.time())
            path = config.samples_dir() / DEMO_LOG
            path.parent.mkdir(parents=True, exist_ok=True)
            write_atomically(path, log.text.encode())
            result = ingest_file(open_store(), path)
            st.toast(f"Ingested {result.stored:,} demo requests.", icon=":material/check:")
            st.rerun()
