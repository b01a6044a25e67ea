"""A load test and a probe as jobs: live progress and Stop, requests stored as they finish, the run closed with
its figures, so the page charts a test while it runs and a stopped test keeps what it measured."""

from __future__ import annotations

import functools
import logging
import secrets
import threading
import time
from collections.abc import Callable
from dataclasses import replace
from pathlib import Path
from typing import TYPE_CHECKING

from lib import config
from lib.errors import PitwallError, first_line
from lib.jobs import JobContext
from lib.jobs.model import JobCancelled
from lib.latency.loadtest import LoadTestResult, LoadTestSpec, run_loadtest
from lib.latency.metrics import slo_from_settings
from lib.latency.prompts import load_prompts, synthetic_prompts
from lib.latency.runs import COMPLETE, FAILED, STOPPED, add_run_requests, finish_run, save_run, start_run
from lib.settings import load_settings_or_defaults
from lib.urls import split_credentials

if TYPE_CHECKING:
    from lib.latency.probe import ProbeResult
    from lib.latency.runs import LatencyRun
    from lib.store import Store

log = logging.getLogger("pitwall.latency")
# Secrets live in this process's memory only, under a random handle: job parameters and runs are stored in
# the database, and neither an API key nor a user:password@ in the endpoint URL may be.
_SECRETS: dict[str, tuple[str, str]] = {}  # handle -> (API key, endpoint URL with its credentials)
_SECRETS_LOCK = threading.Lock()
MAX_PROMPTS = 1000  # synthetic prompts made for a run; longer runs use them in turn


def hold_secrets(api_key: str, endpoint: str) -> str | None:
    """Keep a key and a credentialed URL in memory for a job about to be queued; its parameters carry the handle."""
    if not api_key and split_credentials(endpoint)[1] == "":
        return None
    handle = secrets.token_hex(8)
    with _SECRETS_LOCK:
        _SECRETS[handle] = (api_key, endpoint)
    return handle


def _take_secrets(handle: str | None, endpoint: str) -> tuple[str, str]:
    if handle is None:
        return "", endpoint
    with _SECRETS_LOCK:
        held = _SECRETS.pop(handle, None)
    if held is None:  # the server restarted between queueing and running: the secrets are gone, by design
        raise PitwallError("This load test's API key is no longer in memory (the server restarted); start it again.")
    return held


def forget_secrets(handle: str | None) -> None:
    """Drop held secrets whose job will never run (it could not be queued)."""
    if handle is not None:
        with _SECRETS_LOCK:
            _SECRETS.pop(handle, None)


@functools.lru_cache(maxsize=8)
def _tokenizer(spec: str) -> object | None:
    """A model's tokenizer, loaded once per process; None where it cannot be (counted in chunks or words then)."""
    try:
        from lib.models.loader import load_tokenizer

        return load_tokenizer(spec)
    except Exception as error:  # no tokenizer: the callers fall back
        log.info("No tokenizer for %s (%s)", spec, error)
        return None


def prompt_tokenizer() -> object | None:
    """The default model's tokenizer, for sizing synthetic prompts (a length in tokens of some tokenizer)."""
    return _tokenizer(config.default_model_spec())


def token_counter(model: str) -> Callable[[str], int] | None:
    """Count output tokens the server did not report with the served model's own tokenizer, where this machine has
    it (the model name is a local folder, as `transformers serve` names it, or the embedded model); else None, and
    the client counts streamed chunks. Another model's tokenizer would skew TPOT by the ratio of vocabularies."""
    if model != config.default_model_spec() and not Path(model).is_dir():
        return None  # a hub name: never downloaded for counting
    tokenizer = _tokenizer(model if model == config.default_model_spec() else str(Path(model).resolve()))
    if tokenizer is None:
        return None
    return lambda text: len(tokenizer.encode(text, add_special_tokens=False))  # type: ignore[attr-defined]


def prompts_for(spec: LoadTestSpec) -> list[str]:
    """The prompts file's prompts, or synthetic prompts of the asked input length (used in turn by longer runs)."""
    if spec.prompts_file:
        return load_prompts(spec.prompts_file)
    count = spec.count or int((spec.rate or 10) * (spec.duration_s or 10))
    return synthetic_prompts(max(1, min(MAX_PROMPTS, count)), spec.input_tokens, prompt_tokenizer(), seed=spec.seed)


def stored_spec(spec: LoadTestSpec) -> LoadTestSpec:
    """The spec as it may be stored: the endpoint without user:password@."""
    return replace(spec, endpoint=split_credentials(spec.endpoint)[0])


def loadtest_params(spec: LoadTestSpec, api_key: str = "") -> dict:
    """The job's parameters: the spec (checked now, credentials taken out) and a handle on the secrets held."""
    spec.validate()
    return {"spec": stored_spec(spec).to_dict(), "credentials_handle": hold_secrets(api_key, spec.endpoint)}


def loadtest_job(context: JobContext, spec: dict, credentials_handle: str | None = None) -> dict:
    """Run the load test, storing requests as they finish; the run is closed however the job ends."""
    test = LoadTestSpec(**spec)
    api_key, endpoint = _take_secrets(credentials_handle, test.endpoint)
    context.progress(0, 0, "preparing prompts (sized with the default model's tokenizer; its first use converts it)")
    prompts = prompts_for(test)
    store, slo = context.store, slo_from_settings(load_settings_or_defaults()[0])
    run_id = start_run(store, "loadtest", test.endpoint, test.model, test.to_dict(), time.time(), context.job_id)
    context.keep({"latency_run": run_id})
    saved = 0

    def save_new(result: LoadTestResult) -> None:
        nonlocal saved
        records = result.records[saved:]
        add_run_requests(store, run_id, records)
        saved += len(records)

    def on_progress(snapshot: LoadTestResult) -> None:
        save_new(snapshot)
        done = len(snapshot.records)
        failed = sum(1 for r in snapshot.records if not r.ok)
        message = f"{done:,} requests done, {failed:,} failed, {snapshot.in_flight} in flight"
        context.progress(round(snapshot.progress() * 1000), 1000, message)

    try:
        result = run_loadtest(
            replace(test, endpoint=endpoint),
            prompts,
            api_key,
            on_progress=on_progress,
            count_tokens=token_counter(test.model),
        )
    except BaseException as error:  # stopped, failed or interrupted: close the run with what was measured
        partial = getattr(error, "partial_result", None)
        stopped = isinstance(error, JobCancelled | KeyboardInterrupt)
        message = "stopped before the end; what finished was kept" if stopped else first_line(error)
        try:
            _close(store, run_id, partial, slo, save_new, STOPPED if stopped else FAILED, message)
        except Exception as closing:  # the store itself failed: the job's error says why; the run stays to reap
            log.warning("load test run #%s could not be closed: %s", run_id, closing)
        raise
    status = STOPPED if result.stopped else COMPLETE
    summary = _close(store, run_id, result, slo, save_new, status, "")
    return {"latency_run": run_id, "completed": summary["completed"], "failed": summary["failed"]}


def _close(store, run_id: int, result: LoadTestResult | None, slo, save_new, status: str, message: str) -> dict:
    summary: dict = {}
    if result is not None:
        save_new(result)
        summary = result.summary(slo).to_dict()
    finish_run(store, run_id, status, summary, time.time(), message)
    return summary


def probe_params(model: str, prompts_file: str | None, max_new_tokens: int, dtype: str, count: int) -> dict:
    """The probe job's parameters."""
    return {
        "model": model,
        "prompts_file": prompts_file,
        "max_new_tokens": int(max_new_tokens),
        "dtype": dtype,
        "count": int(count),
    }


def probe_prompts(prompts_file: str | None, count: int) -> list[str]:
    """The probe's prompts: the first `count` of a file's, or `count` synthetic ones."""
    prompts = load_prompts(prompts_file) if prompts_file else synthetic_prompts(count, 64, prompt_tokenizer())
    return prompts[:count]


def save_probe(
    store: Store, model: str, result: ProbeResult, max_new_tokens: int, dtype: str, started: float
) -> LatencyRun:
    """Store a finished probe as a run, like a load test's."""
    spec = {"max_new_tokens": max_new_tokens, "dtype": dtype, "prompts": len(result.records), "device": result.device}
    summary = result.summary().to_dict()
    return save_run(store, "probe", "in-process", model, spec, summary, result.records, started, time.time())


def probe_job(
    context: JobContext, model: str, prompts_file: str | None, max_new_tokens: int, dtype: str, count: int
) -> dict:
    """Time the model in this process (no server); the probe is stored as a run like a load test."""
    from lib.latency.probe import probe

    started = time.time()
    result = probe(model, probe_prompts(prompts_file, count), max_new_tokens, dtype, progress=context.progress)
    run = save_probe(context.store, model, result, max_new_tokens, dtype, started)
    return {"latency_run": run.id, "completed": run.summary["completed"], "failed": run.summary["failed"]}
