"""A pit-wall tile: an area's state as a coloured badge, its figure, and a link to its page."""

from __future__ import annotations

import streamlit as st

from lib.status import CRITICAL, NO_DATA, OK, WARNING, AreaStatus, ago

BADGES = {
    OK: ":green-badge[:material/check_circle: ok]",
    WARNING: ":orange-badge[:material/warning: warning]",
    CRITICAL: ":red-badge[:material/error: critical]",
    NO_DATA: ":gray-badge[:material/remove: no data]",
}


def status_tile(tile: AreaStatus, page: st.Page | None = None) -> None:
    """One bordered tile: badge, headline, detail, age, and the page link."""
    with st.container(border=True, height="stretch"):
        st.markdown(f"**{tile.title}** &nbsp; {BADGES[tile.state]}")
        st.markdown(f"#### {tile.headline}")
        st.caption(tile.detail + (f" · {ago(tile.updated_at)}" if tile.updated_at else ""))
        if page is not None:
            st.page_link(page, label=f"Open {tile.title}", icon=":material/arrow_forward:")
