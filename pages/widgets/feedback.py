"""How pages report failures: one sentence, never a traceback."""

from __future__ import annotations

import logging
from collections.abc import Iterator
from contextlib import contextmanager

import streamlit as st

from lib.errors import PitwallError

log = logging.getLogger("pitwall.ui")


@contextmanager
def shows_errors(action: str) -> Iterator[None]:
    """Run a block; a PitwallError shows its sentence, anything else a short message (traceback to the log).

    Streamlit's own rerun/stop signals derive from BaseException, so they pass through untouched.
    """
    try:
        yield
    except PitwallError as error:
        st.error(str(error), icon=":material/error:")
    except Exception as error:
        log.exception("%s failed", action)
        st.error(
            f"{action} failed unexpectedly ({type(error).__name__}); nothing was stored. "
            "The server log has the details.",
            icon=":material/error:",
        )


def not_built_yet(area: str, will_hold: list[str]) -> None:
    """A plain statement that this part of the app does not exist yet, and what it will hold."""
    st.info(f"**{area} is not built yet.** This page will hold:", icon=":material/construction:")
    st.markdown("\n".join(f"- {item}" for item in will_hold))
