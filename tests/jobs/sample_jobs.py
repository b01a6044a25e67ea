"""Job functions for the tests: each behaves like a real kind of work, in a few tenths of a second."""

from __future__ import annotations

import os
import time

from lib.errors import InputError
from lib.jobs import JobContext, JobKind, register
from lib.jobs.kinds import PROCESS


def count(
    context: JobContext, steps: int = 5, delay: float = 0.02, keep_partial: bool = False, device: str = "cpu"
) -> dict:
    """Counts to `steps`, reporting each step; with keep_partial, a stop keeps what was counted."""
    for step in range(1, steps + 1):
        time.sleep(delay)
        if keep_partial:
            context.keep({"counted": step})
        context.progress(step, steps, f"step {step} of {steps}")
    return {"counted": steps}


def refuse(context: JobContext) -> None:
    raise InputError("The dataset has no text column; choose one.")


def crash(context: JobContext) -> None:
    return {}["no such key"]


def crunch(context: JobContext, numbers: int = 200_000) -> dict:
    """Pure-Python CPU work, for a worker process; reports the process it ran in."""
    total = 0
    for index in range(numbers):
        total += index * index
        if index % 50_000 == 0:
            context.progress(index, numbers, "crunching")
    return {"pid": os.getpid(), "total": total}


def register_sample_kinds(uses_model: bool = False) -> None:
    register(JobKind("count", "tests.jobs.sample_jobs:count", "Count", uses_model=uses_model))
    register(JobKind("refuse", "tests.jobs.sample_jobs:refuse", "Refuse"))
    register(JobKind("crash", "tests.jobs.sample_jobs:crash", "Crash"))
    register(JobKind("crunch", "tests.jobs.sample_jobs:crunch", "Crunch", executor=PROCESS))
