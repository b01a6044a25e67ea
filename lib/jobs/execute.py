"""Running one claimed job to its end, the same way in a server thread, a worker process or a terminal."""

from __future__ import annotations

import logging
from collections.abc import Callable
from typing import Any

from lib.errors import PitwallError
from lib.jobs import records
from lib.jobs.context import JobContext
from lib.jobs.kinds import get_kind
from lib.jobs.model import CANCELLED, FAILED, SUCCEEDED, Job, JobCancelled
from lib.logs import log_unexpected, unexpected_sentence
from lib.store import Store

log = logging.getLogger("pitwall.jobs")


def execute(
    store: Store,
    job: Job,
    heartbeat_seconds: float,
    reraise: bool = False,
    on_progress: Callable[[int, int], None] | None = None,
) -> Any:
    """Call the job's function with a context, record how it ended, and return its result.

    With `reraise` (a terminal run), the failure is raised again after it is recorded, so the
    command can print its sentence and exit non-zero.
    """
    with JobContext(store, job.id, heartbeat_seconds, on_progress) as context:
        try:
            function = get_kind(job.kind).function()
            log.info("job #%s (%s) started", job.id, job.kind)
            result = function(context, **job.params)
        except JobCancelled as error:
            records.finish_job(store, job.id, CANCELLED, result=context.partial_result, error=str(error))
            log.info("job #%s stopped on request", job.id)
            if reraise:
                raise
            return None
        except PitwallError as error:
            records.finish_job(store, job.id, FAILED, result=context.partial_result, error=str(error))
            log.info("job #%s failed: %s", job.id, error)
            if reraise:
                raise
            return None
        except Exception as error:
            error_id = log_unexpected(error, f"job #{job.id} ({job.kind})", log)
            error.pitwall_error_id = error_id  # type: ignore[attr-defined]  # the CLI reports the same id
            sentence = unexpected_sentence(f"Job #{job.id}", error, error_id)
            records.finish_job(store, job.id, FAILED, error=sentence, error_id=error_id)
            if reraise:
                raise
            return None
        except BaseException:  # KeyboardInterrupt in a terminal: the user stopped it
            records.finish_job(store, job.id, CANCELLED, error="Stopped with Ctrl-C in the terminal that ran it.")
            raise
        records.finish_job(store, job.id, SUCCEEDED, result=result if isinstance(result, dict) else None)
        log.info("job #%s succeeded: %s", job.id, result)
        return result
