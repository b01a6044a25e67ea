"""The one loaded model per server process, shared by every session."""

from __future__ import annotations

import streamlit as st

from lib.models import LoadedModel, load_model


@st.cache_resource(max_entries=1, show_spinner=False)
def shared_model(spec: str, dtype: str = "auto") -> LoadedModel:
    """Load once per (spec, dtype); loading another evicts the previous, so one model stays in memory."""
    return load_model(spec, dtype=dtype)
