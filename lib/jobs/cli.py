"""`python -m lib jobs list|show|cancel` (and `jobs work ID`, the worker process's entry point)."""

from __future__ import annotations

import argparse
import time

from lib.errors import InputError
from lib.jobs import records
from lib.jobs.model import ACTIVE, Job
from lib.output import emit
from lib.settings import load_settings
from lib.store import Store, open_store


def register(groups: argparse._SubParsersAction, common: argparse.ArgumentParser) -> None:
    group = groups.add_parser("jobs", help="background jobs: list, show, cancel")
    commands = group.add_subparsers(dest="command", required=True, metavar="COMMAND")
    listing = commands.add_parser("list", parents=[common], help="jobs, newest first, with their progress")
    listing.add_argument("--active", action="store_true", help="only queued and running jobs")
    listing.add_argument("--kind", default=None, help="only jobs of this kind (e.g. perplexity)")
    listing.add_argument("--limit", type=int, default=50, help="at most this many (default 50)")
    listing.set_defaults(run=_list)
    show = commands.add_parser("show", parents=[common], help="one job, whole")
    show.add_argument("id", type=int)
    show.set_defaults(run=_show)
    cancel = commands.add_parser("cancel", parents=[common], help="stop a job, wherever it runs")
    cancel.add_argument("id", type=int)
    cancel.set_defaults(run=_cancel)
    work = commands.add_parser("work", parents=[common], help=argparse.SUPPRESS)
    work.add_argument("id", type=int)
    work.add_argument("--target", required=True)
    work.set_defaults(run=_work)


def _fresh_store() -> Store:
    """The store, with jobs whose process died already marked interrupted, so no view shows them running."""
    store = open_store()
    records.reap_stale(store, load_settings()["jobs.stale_after_seconds"])
    return store


def _list(args: argparse.Namespace) -> None:
    jobs = records.list_jobs(_fresh_store(), args.kind, ACTIVE if args.active else None, args.limit)
    emit([job.to_dict() for job in jobs], args.json, lambda _: "\n".join(map(job_line, jobs)) or "No jobs.")


def _show(args: argparse.Namespace) -> None:
    emit(_job(_fresh_store(), args.id), args.json, job_detail)


def _cancel(args: argparse.Namespace) -> None:
    store = _fresh_store()
    job = _job(store, args.id)
    if not job.active:
        raise InputError(f"Job #{job.id} has already ended ({job.state}); there is nothing to stop.")
    job = records.request_cancel(store, args.id)
    emit(
        job, args.json, lambda j: f"#{j.id} {'stopped' if not j.active else 'asked to stop; it ends at its next step'}"
    )


def _work(args: argparse.Namespace) -> None:
    from lib.jobs.runner import work_in_this_process

    work_in_this_process(args.id, args.target)


def _job(store: Store, job_id: int) -> Job:
    job = records.get_job(store, job_id)
    if job is None:
        raise InputError(f"There is no job #{job_id}; `python -m lib jobs list` lists them.")
    return job


def job_line(job: Job) -> str:
    """`#12  running    42%  Perplexity of article.txt  (window 5 of 12)`."""
    share = f"{job.fraction:4.0%}" if job.fraction is not None else "   -"
    note = job.progress_message if job.active else (job.error or job.result_note)
    return f"#{job.id:<5} {job.state:<11} {share}  {job.title}" + (f"  ({note})" if note else "")


def job_detail(job: Job) -> str:
    started = time.strftime("%Y-%m-%d %H:%M:%S", time.localtime(job.started_at)) if job.started_at else "not yet"
    lines = [
        job_line(job),
        f"kind       {job.kind} (runs on {job.resource}, by the {job.runner})",
        f"started    {started}" + (f", {job.elapsed():.1f} s" if job.started_at else ""),
        f"progress   {job.progress_done} of {job.progress_total} {job.progress_message}".rstrip(),
    ]
    if job.result:
        lines.append(f"result     {job.result_note}")
    if job.error:
        lines.append(f"error      {job.error}")
    return "\n".join(lines)
