"""A picker of stored eval runs that follows a moving default but keeps a choice the user made."""

from __future__ import annotations

import streamlit as st

from lib.evaluation.tables import run_label
from lib.store.eval_runs import EvalRun


def run_picker(
    label: str, runs: list[EvalRun], key: str, default: int | None, none_label: str | None = None, help: str = ""
) -> int | None:
    """A selectbox of runs (newest first); `none_label` adds a "no run" choice, returned as None."""
    # It moves to `default` whenever the default changes (a new run finished, or the run it depends on was
    # changed); a choice the user made stays until then.
    options: list[int | None] = ([None] if none_label else []) + [run.id for run in runs]
    marker = f"{key}_default"
    if key not in st.session_state or st.session_state.get(marker) != default or st.session_state[key] not in options:
        st.session_state[key] = default if default in options else options[0]
        st.session_state[marker] = default
    labels = {run.id: run_label(run) for run in runs}
    return st.selectbox(
        label,
        options,
        key=key,
        format_func=lambda i: none_label if i is None else labels.get(i, f"#{i}"),
        help=help or None,
    )
