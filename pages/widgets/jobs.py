"""The one job widget: live progress of a kind's jobs, from any tab or terminal, with a Stop button.

The progress lives in the store, so the widget survives reruns, page changes and closed tabs: it is
a fragment that rereads the store every second or two and redraws only itself. When a job it was
showing ends, it reruns the whole page once, so the page shows the new result.
"""

from __future__ import annotations

import time
from collections.abc import Callable

import streamlit as st

from lib.jobs import ACTIVE, Job, list_jobs, request_cancel
from lib.jobs.model import CANCELLED, FAILED, INTERRUPTED, SUCCEEDED
from lib.jobs.records import reap_stale
from lib.settings import load_settings_or_defaults
from lib.store import open_store
from pages.widgets.feedback import shows_errors

ACTIVE_REFRESH_SECONDS = 1.0
IDLE_REFRESH_SECONDS = 3.0  # still polling: a run started in a terminal or another tab should appear
STATE_BADGES = {
    "queued": ":gray-badge[:material/hourglass_empty: queued]",
    "running": ":orange-badge[:material/sync: running]",
    SUCCEEDED: ":green-badge[:material/check: succeeded]",
    FAILED: ":red-badge[:material/error: failed]",
    CANCELLED: ":gray-badge[:material/stop: stopped]",
    INTERRUPTED: ":violet-badge[:material/power_off: interrupted]",
}


def active_jobs(kind: str | None = None) -> list[Job]:
    """Queued and running jobs, oldest first; jobs whose process died are marked interrupted first."""
    store = open_store()
    reap_stale(store, load_settings_or_defaults()[0]["jobs.stale_after_seconds"])
    return sorted(list_jobs(store, kind, ACTIVE), key=lambda job: job.id)


def live_jobs(kind: str | None, key: str, idle_note: str = "") -> None:
    """Progress cards for active jobs of `kind` (None: any kind), refreshed in place; reruns the page when one ends."""
    seen_key = f"{key}_jobs_seen"
    with shows_errors("Reading the jobs"):
        initially_active = active_jobs(kind)
        st.session_state.setdefault(seen_key, {job.id for job in initially_active})
        every = ACTIVE_REFRESH_SECONDS if initially_active else IDLE_REFRESH_SECONDS

        @st.fragment(run_every=every)
        def cards() -> None:
            with shows_errors("Reading the jobs"):
                jobs = active_jobs(kind)
                ids = {job.id for job in jobs}
                seen = st.session_state.get(seen_key, set())
                st.session_state[seen_key] = ids
                if ids != seen:  # one ended (show its result) or one appeared (poll faster): redraw the page
                    st.rerun(scope="app")
                for job in jobs:
                    job_card(job, key)
                if not jobs and idle_note:
                    st.caption(idle_note)

        cards()


def job_card(job: Job, key: str) -> None:
    """One active job: title, state, progress bar with its message, elapsed time, and Stop."""
    with st.container(border=True):
        head, stop = st.columns([6, 1], vertical_alignment="center")
        origin = "a terminal" if job.runner == "cli" else "the dashboard"
        head.markdown(f"**{job.title}** &nbsp; {STATE_BADGES[job.state]}")
        head.caption(f"Job #{job.id}, started from {origin} · {_elapsed(job)}")
        stop.button(
            "Stopping..." if job.cancel_requested else "Stop",
            key=f"{key}_stop_{job.id}",
            icon=":material/stop_circle:",
            disabled=job.cancel_requested,
            on_click=_stop,
            args=(job.id,),
            help="Stops at the next step; nothing half-finished is stored (a load test keeps what it measured).",
        )
        fraction = job.fraction
        label = job.progress_message or ("waiting for a free slot" if job.state == "queued" else "starting")
        st.progress(fraction or 0.0, text=f"{label}" + (f" · {fraction:.0%}" if fraction is not None else ""))


def job_outcome(job: Job, show_result: Callable[[Job], None]) -> None:
    """How a finished job ended: its result through `show_result`, or the sentence saying why not."""
    when = time.strftime("%H:%M:%S", time.localtime(job.finished_at or job.created_at))
    if job.state == SUCCEEDED:
        show_result(job)
    elif job.state == FAILED:
        st.error(f"**{job.title}** failed at {when}: {job.error}", icon=":material/error:")
    elif job.state == CANCELLED:
        kept = "what it finished was kept" if job.result else "nothing was stored"
        st.warning(f"**{job.title}** was stopped at {when}; {kept}.", icon=":material/stop_circle:")
    elif job.state == INTERRUPTED:
        st.warning(f"**{job.title}** (noticed at {when}): {job.error}", icon=":material/power_off:")


def latest_finished(kind: str) -> Job | None:
    """The most recent job of `kind` that has ended, whoever started it."""
    finished = [job for job in list_jobs(open_store(), kind, limit=20) if not job.active]
    return finished[0] if finished else None


def _stop(job_id: int) -> None:
    request_cancel(open_store(), job_id)


def _elapsed(job: Job) -> str:
    if job.started_at is None:
        return f"queued {time.time() - job.created_at:.0f} s ago"
    return f"running for {job.elapsed():.0f} s"
