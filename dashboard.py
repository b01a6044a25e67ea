"""Pitwall: the entry script. `streamlit run dashboard.py` (or `make run`)."""

import streamlit as st

from pages.widgets.navigation import app_pages
from pages.widgets.status import sidebar_status

# First, on every run: st.navigation switches Streamlit out of its legacy `pages/` mode, so every
# URL runs this script (and whatever gate it will hold) rather than a page file directly.
page = st.navigation(app_pages())
st.set_page_config(page_title=f"{page.title} · Pitwall", page_icon=":material/flag:", layout="wide")
sidebar_status()
page.run()
