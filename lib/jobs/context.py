"""What a running job holds: a progress callback that also carries cancellation, and a heartbeat.

The heartbeat runs in its own thread, so a job deep in a minutes-long forward pass still shows as
alive; it also reads the job's cancel flag, so a Stop from another process reaches the job within
one heartbeat, and the job's next progress call raises JobCancelled.
"""

from __future__ import annotations

import logging
import threading
import time
from collections.abc import Callable
from typing import Any

from lib.errors import PitwallError
from lib.jobs import records
from lib.jobs.model import JobCancelled
from lib.store import Store

PROGRESS_EVERY_SECONDS = 0.25  # progress writes are throttled: a loop may call progress() thousands of times
log = logging.getLogger("pitwall.jobs")


class JobContext:
    """Handed to a job's function as its first argument."""

    def __init__(
        self,
        store: Store,
        job_id: int,
        heartbeat_seconds: float = 2.0,
        on_progress: Callable[[int, int], None] | None = None,
    ):
        self.store = store
        self.on_progress = on_progress  # a terminal's own progress bar, beside the store's record
        self.job_id = job_id
        self.heartbeat_seconds = heartbeat_seconds
        self.partial_result: dict | None = None
        self._cancelled = threading.Event()
        self._stop = threading.Event()
        self._last_write = 0.0
        self._thread: threading.Thread | None = None

    def progress(self, done: int, total: int, message: str = "") -> None:
        """Report progress; raises JobCancelled if the job was asked to stop."""
        if self.on_progress and total:
            self.on_progress(done, total)
        now = time.monotonic()
        if now - self._last_write >= PROGRESS_EVERY_SECONDS or done >= total:
            self._last_write = now
            try:
                if records.record_progress(self.store, self.job_id, done, total, message):
                    self._cancelled.set()
            except PitwallError as error:  # a locked store must not kill a long job; the next write retries
                log.warning("job #%s: progress not recorded: %s", self.job_id, error)
        self.check()

    def check(self) -> None:
        """Raise JobCancelled if the job was asked to stop (cheap: reads a flag the heartbeat keeps)."""
        if self._cancelled.is_set():
            raise JobCancelled(self.job_id, self.kept_note())

    def keep(self, result: dict) -> None:
        """Record what a stopped job still produced (a partial load test), kept when it is cancelled."""
        self.partial_result = result

    def kept_note(self) -> str:
        return "what it finished was kept" if self.partial_result else "nothing was stored"

    def start_heartbeat(self) -> None:
        self._thread = threading.Thread(target=self._beat, name=f"job-{self.job_id}-heartbeat", daemon=True)
        self._thread.start()

    def stop_heartbeat(self) -> None:
        self._stop.set()
        if self._thread is not None:
            self._thread.join(timeout=5)

    def _beat(self) -> None:
        while not self._stop.wait(self.heartbeat_seconds):
            try:
                if records.heartbeat(self.store, self.job_id):
                    self._cancelled.set()
            except Exception as error:  # keep beating: one failed write must not mark a live job dead
                log.warning("job #%s: heartbeat failed: %s", self.job_id, error)

    def __enter__(self) -> JobContext:
        self.start_heartbeat()
        return self

    def __exit__(self, *exc: Any) -> None:
        self.stop_heartbeat()
