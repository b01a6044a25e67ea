"""Long work off the Streamlit script thread: jobs with state, progress, heartbeat and cancel, in the store.

    job_id = submit("perplexity", params, "Perplexity of article.txt")   # the page
    result = run_here("perplexity", params, "...")                        # a terminal command
    def perplexity_job(context, **params): context.progress(done, total)  # the work

See `lib/jobs/kinds.py` for the kinds and ../shared/ARCHITECTURE.md for the flow.
"""

from lib.jobs.context import JobContext
from lib.jobs.kinds import JobKind, get_kind, register
from lib.jobs.model import ACTIVE, FINISHED, Job, JobCancelled
from lib.jobs.records import get_job, list_jobs, request_cancel
from lib.jobs.runner import ensure_runner, run_here, stop_runner, submit, wait_for

__all__ = [
    "ACTIVE", "FINISHED", "Job", "JobCancelled", "JobContext", "JobKind", "ensure_runner", "get_job", "get_kind",
    "list_jobs", "register", "request_cancel", "run_here", "stop_runner", "submit", "wait_for",
]  # fmt: skip
