"""The Jobs tile: what runs now, and whether recent jobs failed."""

from __future__ import annotations

import time

from lib.jobs.model import ACTIVE, FAILED, INTERRUPTED
from lib.jobs.records import list_jobs, reap_stale
from lib.settings import Settings
from lib.status import NO_DATA, OK, WARNING, AreaStatus
from lib.store import Store

RECENT_SECONDS = 86_400


def status(store: Store, settings: Settings) -> AreaStatus:
    """ok; warning when a job failed or was interrupted in the last day; no data before the first job."""
    reap_stale(store, settings["jobs.stale_after_seconds"])
    jobs = list_jobs(store, limit=200)
    if not jobs:
        return AreaStatus("jobs", "Jobs", NO_DATA, "no jobs yet", "Long work (scoring, profiling) runs here.")
    active = [job for job in jobs if job.state in ACTIVE]
    since = time.time() - RECENT_SECONDS
    broken = [job for job in jobs if job.state in (FAILED, INTERRUPTED) and (job.finished_at or 0) > since]
    headline = f"{len(active)} running" if active else "idle"
    if broken:
        return AreaStatus(
            "jobs",
            "Jobs",
            WARNING,
            headline,
            f"{len(broken)} failed or interrupted in the last day.",
            jobs[0].created_at,
        )
    return AreaStatus("jobs", "Jobs", OK, headline, f"{len(jobs)} recent jobs, none failed today.", jobs[0].created_at)
