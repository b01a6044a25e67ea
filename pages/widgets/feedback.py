"""How pages report failures: one sentence, never a traceback; bugs carry an error id found in the log."""

from __future__ import annotations

import logging
from collections.abc import Iterator
from contextlib import contextmanager

import streamlit as st

from lib.errors import PitwallError
from lib.logs import log_unexpected, unexpected_sentence

log = logging.getLogger("pitwall.ui")


@contextmanager
def shows_errors(action: str) -> Iterator[None]:
    """Run a block; a PitwallError shows its sentence, anything else a sentence with an error id (traceback logged).

    Streamlit's own rerun/stop signals derive from BaseException, so they pass through untouched.
    """
    try:
        yield
    except PitwallError as error:
        st.error(str(error), icon=":material/error:")
    except Exception as error:
        error_id = log_unexpected(error, action, log)
        st.error(unexpected_sentence(action, error, error_id), icon=":material/error:")


def report_script_error(error: Exception) -> bool:
    """The app's last line of defence (st.App's on_script_error): a sentence with an error id, the traceback logged."""
    if isinstance(error, PitwallError):  # an expected failure that escaped (a widget callback): its own sentence
        st.error(str(error), icon=":material/error:")
        return True
    error_id = log_unexpected(error, "a page", log)
    st.error(unexpected_sentence("This page", error, error_id), icon=":material/error:")
    return True  # no traceback in the browser


def not_built_yet(area: str, will_hold: list[str]) -> None:
    """A plain statement that this part of the app does not exist yet, and what it will hold."""
    st.info(f"**{area} is not built yet.** This page will hold:", icon=":material/construction:")
    st.markdown("\n".join(f"- {item}" for item in will_hold))
