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

from lib import config
from lib.errors import PitwallError, first_line
from lib.jobs import JobContext
from lib.jobs.model import JobCancelled
from lib.latency.loadtest import LoadTestResult, LoadTestSpec, run_loadtest
from lib.latency.metrics import slo_from_settings
from lib.latency.prompts import load_prompts, synthetic_prompts
from lib.latency.runs import COMPLETE, FAILED, STOPPED, add_run_requests, finish_run, start_run
from lib.settings import load_settings_or_defaults
from lib.urls import split_credentials

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


@functools.lru_cache(maxsize=1)
def prompt_tokenizer() -> object | None:
    """The default model's tokenizer, for sizing synthetic prompts (a length in tokens of some tokenizer)."""
    try:
        from lib.models.loader import load_tokenizer

        return load_tokenizer(config.default_model_spec())
    except Exception as error:  # no tokenizer: prompts are sized in words
        log.info("No tokenizer for load-test prompts (%s); sizing prompts in words", error)
        return None


@functools.lru_cache(maxsize=8)
def _local_tokenizer(folder: str) -> object | None:
    try:
        from transformers import AutoTokenizer

        return AutoTokenizer.from_pretrained(folder)
    except Exception as error:  # not a model folder: count chunks instead
        log.info("No tokenizer in %s (%s); counting streamed chunks", folder, error)
        return None


def token_counter(model: str) -> Callable[[str], int] | None:
    """Count output tokens the server did not report with the served model's own tokenizer, where this machine has
    it (the model name is a local folder, as `transformers serve` names it, or the embedded model); else None, and
    the client counts streamed chunks. Another model's tokenizer would skew TPOT by the ratio of vocabularies."""
    if model == config.default_model_spec():
        tokenizer = prompt_tokenizer()
    elif Path(model).is_dir():
        tokenizer = _local_tokenizer(str(Path(model).resolve()))
    else:
        return None
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


def probe_job(
    context: JobContext, model: str, prompts_file: str | None, max_new_tokens: int, dtype: str, count: int
) -> dict:
    """Time the model in this process (no server); the probe is stored as a run like a load test."""
    from lib.latency.probe import probe

    prompts = load_prompts(prompts_file) if prompts_file else synthetic_prompts(count, 64, prompt_tokenizer())
    started = time.time()
    result = probe(model, prompts[:count], max_new_tokens, dtype, progress=context.progress)
    summary = result.summary().to_dict()
    from lib.latency.runs import save_run

    run = save_run(
        context.store,
        "probe",
        "in-process",
        model,
        {"max_new_tokens": max_new_tokens, "dtype": dtype, "prompts": len(prompts[:count]), "device": result.device},
        summary,
        result.records,
        started,
        time.time(),
    )
    return {"latency_run": run.id, "completed": summary["completed"], "failed": summary["failed"]}
