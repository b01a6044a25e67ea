"""Where jobs run: a server's dispatcher and workers, a terminal's own run, or a worker process.

One dispatcher per server process (`ensure_runner()`, started by the app's lifespan) claims queued
jobs under their caps and runs each in a worker thread, or in a worker process
(`python -m lib jobs work ID`) for pure-Python CPU work. A terminal command runs its job itself
(`run_here`), recorded in the same table, so the page shows it live and can stop it.
"""

from __future__ import annotations

import logging
import os
import subprocess
import sys
import threading
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

from lib import config
from lib.errors import PitwallError
from lib.jobs import records
from lib.jobs.execute import execute
from lib.jobs.inputs import prune_inputs
from lib.jobs.kinds import PROCESS, JobKind, get_kind, register
from lib.jobs.model import CANCELLED, CLI, FAILED, FINISHED, RUNNING, SERVER, Job, JobCancelled
from lib.processes import this_owner
from lib.settings import Settings, load_settings, load_settings_or_defaults
from lib.store import Store, open_store

POLL_SECONDS = 0.5
HOUSEKEEPING_SECONDS = 3600
ROOT = Path(__file__).resolve().parents[2]
log = logging.getLogger("pitwall.jobs")


def resource_for(kind: JobKind, params: dict) -> str:
    """What a job competes for: the device for model jobs, else its own kind."""
    if kind.uses_model:
        device = params.get("device")
        if not device:
            from lib.models.device import choose_device  # torch, only when a model job is submitted

            device = choose_device()
        return f"model:{device}"
    return kind.name


def cap_for(resource: str, settings: Settings) -> int:
    """How many jobs may hold `resource` at once."""
    if resource.startswith("model:"):
        return settings["jobs.model_jobs_per_device"]
    return settings["jobs.other_jobs"]


def submit(kind_name: str, params: dict, title: str) -> int:
    """Queue a job for the server's workers and wake them; return its id."""
    kind = get_kind(kind_name)
    store = open_store()
    job_id = records.insert_job(store, kind.name, title, params, resource_for(kind, params), SERVER)
    runner = ensure_runner()
    runner.wake()
    return job_id


def run_here(
    kind_name: str,
    params: dict,
    title: str,
    on_wait: Callable[[int, str], None] | None = None,
    on_progress: Callable[[int, int], None] | None = None,
) -> Any:
    """Run a job in this process (a terminal command), queued behind the cap like any other; return its result.

    The job is recorded first, so it shows on the dashboard while it waits and runs; a failure is
    recorded and raised again for the command to report.
    """
    kind = get_kind(kind_name)
    store = open_store()
    settings = load_settings()
    resource = resource_for(kind, params)
    job_id = records.insert_job(store, kind.name, title, params, resource, CLI)
    waited = False
    try:
        while not (claimed := records.try_claim(store, job_id, cap_for(resource, settings))):
            job = records.get_job(store, job_id)
            if job is None or job.state in FINISHED or job.cancel_requested:  # stopped while it waited
                records.finish_job(store, job_id, CANCELLED, error="Stopped before it started.")
                raise JobCancelled(job_id)
            records.heartbeat(store, job_id)
            if on_wait and not waited:
                on_wait(job_id, resource)
                waited = True
            time.sleep(POLL_SECONDS)
    except KeyboardInterrupt:
        records.finish_job(store, job_id, CANCELLED, error="Stopped with Ctrl-C while it waited for its turn.")
        raise
    return execute(store, claimed, settings["jobs.heartbeat_seconds"], reraise=True, on_progress=on_progress)


def _settings_or_defaults() -> Settings:
    """The settings; while settings.toml is broken, the defaults (the Overview says what is wrong)."""
    settings, problem = load_settings_or_defaults()
    if problem:
        log.warning("job dispatcher: settings unreadable, using defaults: %s", problem)
    return settings


def wait_for(job_id: int, timeout: float = 600, poll: float = 0.2) -> Job:
    """Block until the job has finished (for tests and scripts); return it."""
    store = open_store()
    deadline = time.monotonic() + timeout
    while True:
        job = records.get_job(store, job_id)
        if job is None:
            raise PitwallError(f"There is no job #{job_id}.")
        if job.state in FINISHED:
            return job
        if time.monotonic() > deadline:
            raise PitwallError(f"Job #{job_id} is still {job.state} after {timeout:.0f} s.")
        time.sleep(poll)


class JobRunner:
    """The per-process dispatcher: claims queued server jobs of one database and runs them on workers."""

    def __init__(self, database: Path) -> None:
        self.database = database  # fixed at start: a runner never follows PITWALL_HOME to another database
        self._wake = threading.Event()
        self._stopping = threading.Event()
        self._thread = threading.Thread(target=self._loop, name="pitwall-job-dispatcher", daemon=True)
        self._last_housekeeping = 0.0
        self._last_problem = ""

    def start(self) -> None:
        self._thread.start()

    def wake(self) -> None:
        self._wake.set()

    @property
    def alive(self) -> bool:
        return self._thread.is_alive()

    def stop(self, reason: str = "Interrupted: the server stopped while it ran; run it again.") -> None:
        """Stop dispatching; jobs this process still runs are marked interrupted."""
        self._stopping.set()
        self._wake.set()
        self._thread.join(timeout=5)
        try:
            ids = records.interrupt_own_jobs(open_store(self.database), reason)
            if ids:
                log.warning("server stopping: jobs %s marked interrupted", ids)
        except PitwallError as error:
            log.warning("server stopping: could not mark running jobs interrupted: %s", error)

    def _loop(self) -> None:
        while not self._stopping.is_set():
            self._wake.wait(POLL_SECONDS)
            self._wake.clear()
            try:
                self._dispatch()
                self._last_problem = ""
            except Exception as error:  # keep dispatching: the store may come back (a locked or full disk)
                if str(error) != self._last_problem:  # log each new problem once, not twice a second
                    log.exception("job dispatcher: %s", error)
                    self._last_problem = str(error)

    def _dispatch(self) -> None:
        store, settings = open_store(self.database), _settings_or_defaults()
        records.reap_stale(store, settings["jobs.stale_after_seconds"])
        if time.monotonic() - self._last_housekeeping > HOUSEKEEPING_SECONDS:
            self._last_housekeeping = time.monotonic()
            records.prune_finished(store, settings["jobs.keep_days"])
            prune_inputs()
        for job in records.queued_server_jobs(store):
            if self._stopping.is_set():
                return
            if claimed := records.try_claim(store, job.id, cap_for(job.resource, settings)):
                threading.Thread(
                    target=self._work, args=(store, claimed, settings), name=f"job-{job.id}", daemon=True
                ).start()

    def _work(self, store: Store, job: Job, settings: Settings) -> None:
        try:
            if get_kind(job.kind).executor == PROCESS:
                _run_in_process(store, job)
            else:
                execute(store, job, settings["jobs.heartbeat_seconds"])
        except Exception as error:  # execute records its own failures; this is a failure to even start
            log.exception("job #%s could not run", job.id)
            records.finish_job(store, job.id, FAILED, error=f"Job #{job.id} could not start ({error}).")
        finally:
            self._wake.set()  # a slot is free: look at the queue again


def _run_in_process(store: Store, job: Job) -> None:
    """Run the job in `python -m lib jobs work ID`; the worker reports through the store like any job."""
    target = get_kind(job.kind).target  # named on the command line: kinds registered at run time count too
    process = subprocess.Popen(
        [sys.executable, "-m", "lib", "jobs", "work", str(job.id), "--target", target],
        cwd=ROOT,
        stdin=subprocess.DEVNULL,
        env={**os.environ, "PITWALL_HOME": str(store.path.parent)},
    )
    heartbeat_seconds = _settings_or_defaults()["jobs.heartbeat_seconds"]
    while True:  # this side heartbeats too: the worker needs a few seconds before its own heartbeat starts
        try:
            code = process.wait(timeout=heartbeat_seconds)
            break
        except subprocess.TimeoutExpired:
            records.heartbeat(store, job.id)
    finished = records.get_job(store, job.id)
    if finished is not None and finished.state == RUNNING:  # it died without recording an outcome
        records.finish_job(
            store, job.id, FAILED, error=f"The worker process for job #{job.id} died (exit code {code})."
        )


def work_in_this_process(job_id: int, target: str) -> None:
    """The worker process's side of `_run_in_process`: take over the claimed job and run it."""
    store = open_store()
    job = records.get_job(store, job_id)
    if job is None or job.state != RUNNING:
        raise PitwallError(f"Job #{job_id} is not waiting for a worker (it is {job.state if job else 'missing'}).")
    register(JobKind(job.kind, target, job.kind, executor=PROCESS))
    with store.write() as conn:  # the heartbeat and the liveness check now follow this process
        conn.execute("UPDATE jobs SET owner = ? WHERE id = ?", (this_owner(), job_id))
    execute(store, job, load_settings()["jobs.heartbeat_seconds"])


_runner: JobRunner | None = None
_runner_lock = threading.Lock()


def ensure_runner() -> JobRunner:
    """This process's dispatcher for the current database, started on first use (the app's lifespan calls this)."""
    global _runner
    database = config.database_path().expanduser().resolve()
    with _runner_lock:
        if _runner is not None and _runner.database != database:  # PITWALL_HOME moved (tests do this)
            _runner.stop()
            _runner = None
        if _runner is None or not _runner.alive:
            _runner = JobRunner(database)
            _runner.start()
        return _runner


def stop_runner() -> None:
    """Stop this process's dispatcher, if one runs (the app's lifespan calls this at shutdown)."""
    global _runner
    with _runner_lock:
        if _runner is not None:
            _runner.stop()
            _runner = None
