"""A local OpenAI-compatible endpoint in one click: `transformers serve` for a model, started and stopped here."""

from __future__ import annotations

import time
from pathlib import Path

import streamlit as st

from lib import config
from lib.latency.serve import ServeInfo, serve_status, start_serve, stop_serve
from lib.models.spec import MODEL_HELP
from lib.settings import load_settings_or_defaults
from pages.widgets.feedback import shows_errors

STATE_BADGES = {
    "ready": ":green-badge[:material/check: ready]",
    "starting": ":orange-badge[:material/sync: starting]",
    "exited": ":red-badge[:material/error: exited]",
}


def local_server_panel() -> ServeInfo | None:
    """The managed server's state with Start/Stop; returns it when it is up, so the form can aim at it."""
    info = serve_status()
    running = info is not None and info.state != "exited"
    label = "Local endpoint: `transformers serve`" + (f" ({info.state} at {info.url})" if running else "")
    with st.expander(label, expanded=info is None or info.state != "ready"):
        if running:
            _running(info)
            return info
        if info is not None:
            st.error(f"The local server for `{info.model_spec}` exited; its log ends: {_tail(info, 1) or '(empty)'}")
        st.caption(
            "Serves a model on this machine's loopback port (OpenAI-compatible, streaming), so a load test has "
            "something real to measure within a minute. Its log is kept under the Pitwall folder."
        )
        model_col, port_col, go_col = st.columns([3, 1, 1], vertical_alignment="bottom")
        spec = model_col.text_input("Model to serve", config.default_model_spec(), key="srv_model", help=MODEL_HELP)
        port = port_col.number_input(
            "Port",
            0,
            65535,
            load_settings_or_defaults()[0]["latency.serve_port"],
            key="srv_port",
            help="A loopback port; 0 picks a free one.",
        )
        if go_col.button("Start server", icon=":material/rocket_launch:", key="srv_start"):
            with shows_errors("Starting transformers serve"), st.spinner("Starting transformers serve..."):
                aim_form_at(start_serve(spec.strip(), int(port) or None))
                st.rerun()
    return None


def aim_form_at(info: ServeInfo) -> None:
    """Point the load-test form at the server (its widgets are drawn below this panel, so they may be set now)."""
    st.session_state["lt_url"] = info.url
    st.session_state["lt_model"] = info.model


def _running(info: ServeInfo) -> None:
    since = time.strftime("%H:%M:%S", time.localtime(info.started_at))
    head, stop = st.columns([5, 1], vertical_alignment="center")
    head.markdown(
        f"Serving **`{info.model}`** at `{info.url}` &nbsp; {STATE_BADGES.get(info.state, '')}  \n"
        f"pid {info.pid}, since {since} · log `{info.log_path}`"
    )
    if st.session_state.get("lt_url") != info.url:
        st.button(
            "Load-test this server", icon=":material/arrow_downward:", key="srv_aim", on_click=aim_form_at, args=(info,)
        )
    if stop.button("Stop server", icon=":material/stop_circle:", key="srv_stop"):
        with shows_errors("Stopping transformers serve"):
            stop_serve()
            st.rerun()
    with st.popover("Last lines of its log"):
        st.code(_tail(info, 30) or "(empty)", language=None)


def _tail(info: ServeInfo, lines: int) -> str:
    try:
        return "\n".join(Path(info.log_path).read_text(errors="replace").splitlines()[-lines:])
    except OSError:
        return ""
