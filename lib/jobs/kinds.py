"""The kinds of job Pitwall runs: what function does the work, where it runs, and what it competes for.

A kind names its function as "module:function" and is imported only when a job of it runs, so
listing jobs never imports torch. Each page's issue adds its kinds here (or with `register`).
"""

from __future__ import annotations

import importlib
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from lib.errors import InputError

THREAD, PROCESS = "thread", "process"


@dataclass(frozen=True)
class JobKind:
    """A kind of job: `target` is "module:function", called as function(context, **params) -> result or None."""

    name: str
    target: str
    label: str
    executor: str = THREAD  # a thread for work that releases the GIL (torch, I/O); a process for pure Python
    uses_model: bool = False  # model jobs share one cap per device, so two users cannot exhaust a GPU together
    page: str = ""  # URL path of the page that shows its results

    def function(self) -> Callable[..., Any]:
        module, name = self.target.split(":")
        return getattr(importlib.import_module(module), name)


_KINDS: dict[str, JobKind] = {}


def register(kind: JobKind) -> JobKind:
    """Add (or replace) a kind; returns it."""
    _KINDS[kind.name] = kind
    return kind


def get_kind(name: str) -> JobKind:
    """The kind called `name`, or an InputError naming the known ones."""
    if name not in _KINDS:
        raise InputError(f"There is no job kind '{name}'; known kinds: {', '.join(sorted(_KINDS)) or 'none'}.")
    return _KINDS[name]


def page_of(kind_name: str) -> str:
    """The URL path of the page showing results of this kind ("" when none does)."""
    kind = _KINDS.get(kind_name)
    return kind.page if kind else ""


register(JobKind("perplexity", "lib.evaluation.jobs:perplexity_job", "Perplexity", uses_model=True, page="evaluation"))
# Profiling is numpy and pure Python: a process of its own keeps the dashboard's GIL free.
register(
    JobKind("quality-profile", "lib.quality.jobs:profile_job", "Data profile", executor=PROCESS, page="data-quality")
)
register(JobKind("eval-run", "lib.evaluation.jobs_eval:eval_run_job", "Eval run", uses_model=True, page="evaluation"))
register(JobKind("latency-loadtest", "lib.latency.jobs:loadtest_job", "Load test", page="latency"))
register(JobKind("latency-probe", "lib.latency.jobs:probe_job", "Latency probe", uses_model=True, page="latency"))
