"""The sidebar's status block and the facts the overview shows: model, device, store."""

from __future__ import annotations

from dataclasses import dataclass

import streamlit as st

from lib import config
from lib.errors import PitwallError
from lib.models import embedded
from lib.models.device import choose_device, device_label
from lib.models.spec import parse_model_spec
from lib.store import StoreInfo, open_store


@dataclass(frozen=True)
class Installation:
    model: str
    model_source: str
    model_note: str
    device: str
    store_path: str
    store: StoreInfo | None
    store_error: str | None


@st.cache_resource(show_spinner=False)
def _device() -> str:
    return device_label(choose_device())


def installation() -> Installation:
    """What this dashboard runs with; never raises, so the sidebar always renders."""
    spec_text = config.default_model_spec()
    try:
        spec = parse_model_spec(spec_text)
        source = spec.source
        if spec.source == "embedded":
            note = "converted, loads in under 2 s" if embedded.is_converted() else "converted on first use (about 20 s)"
        else:
            note = spec.location
    except PitwallError as error:
        source, note = "invalid", str(error)
    try:
        store, store_error = open_store().info(), None
    except PitwallError as error:
        store, store_error = None, str(error)
    return Installation(spec_text, source, note, _device(), str(config.database_path()), store, store_error)


def sidebar_status() -> None:
    """Model, device and store path under the navigation."""
    facts = installation()
    with st.sidebar:
        st.caption(
            f":material/neurology: **Model** {facts.model} ({facts.model_source})  \n"
            f":material/developer_board: **Device** {facts.device}  \n"
            f":material/database: **Store** `{facts.store_path}`"
        )
        if facts.store_error:
            st.error(facts.store_error)
