"""Pitwall: the entry script. Start it with `make run`, `python dashboard.py` or `streamlit run dashboard.py`."""

import sys

import streamlit as st
from streamlit import runtime

from pages.widgets.navigation import app_pages
from pages.widgets.status import sidebar_status


def serve(argv: list[str]) -> None:
    """`python dashboard.py [streamlit options]`: run the server with the legacy `pages/` mode off from the start.

    A `pages/` folder beside this script makes a fresh server's first run use Streamlit's legacy
    multipage mode: it runs this script (st.navigation below still takes over, so no page file is ever
    run directly), but first shows a "Page not found" dialog for any URL other than "/". Declaring
    the st.navigation mode before the server starts removes that first-request dialog.
    """
    from streamlit.runtime.pages_manager import PagesManager
    from streamlit.web import cli

    PagesManager.uses_pages_directory = False
    sys.argv = ["streamlit", "run", __file__, *argv]
    sys.exit(cli.main())


if __name__ == "__main__" and not runtime.exists():
    serve(sys.argv[1:])

# On every run, first: st.navigation switches Streamlit out of its legacy `pages/` mode, so every URL
# runs this script (and whatever gate it will hold) rather than a page file directly.
page = st.navigation(app_pages())
st.set_page_config(page_title=f"{page.title} · Pitwall", page_icon=":material/flag:", layout="wide")
sidebar_status()
page.run()
