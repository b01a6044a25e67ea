"""A load test and a probe as jobs: live progress and Stop, requests stored as they finish, the run closed with
its figures, so the page charts a test while it runs and a stopped test keeps what it measured."""

from __future__ import annotations

import functools
import logging
import secrets
import threading
import time
from collections.abc import Callable

from lib import config
from lib.errors import PitwallError
from lib.jobs import JobContext
from lib.jobs.model import JobCancelled
from lib.latency.loadtest import LoadTestResult, LoadTestSpec, run_loadtest
from lib.latency.metrics import slo_from_settings
from lib.latency.prompts import load_prompts, synthetic_prompts
from lib.latency.runs import COMPLETE, FAILED, STOPPED, add_run_requests, finish_run, start_run
from lib.settings import load_settings_or_defaults

log = logging.getLogger("pitwall.latency")
# API keys live in this process's memory only, under a random handle: job parameters are stored in the
# database, and a key must never be.
_API_KEYS: dict[str, str] = {}
_KEYS_LOCK = threading.Lock()


def hold_api_key(api_key: str) -> str | None:
    """Keep a key in memory for a job about to be queued; the job's parameters carry only the returned handle."""
    if not api_key:
        return None
    handle = secrets.token_hex(8)
    with _KEYS_LOCK:
        _API_KEYS[handle] = api_key
    return handle


def _take_api_key(handle: str | None) -> str:
    if handle is None:
        return ""
    with _KEYS_LOCK:
        key = _API_KEYS.pop(handle, None)
    if key is None:  # the server restarted between queueing and running: the key is gone, by design
        raise PitwallError("This load test's API key is no longer in memory (the server restarted); start it again.")
    return key


@functools.lru_cache(maxsize=1)
def prompt_tokenizer() -> object | None:
    """The default model's tokenizer, for sizing synthetic prompts and counting tokens a server does not report."""
    try:
        from lib.models.loader import load_tokenizer

        return load_tokenizer(config.default_model_spec())
    except Exception as error:  # no tokenizer: prompts are sized in words and tokens counted per chunk
        log.info("No tokenizer for load-test prompts (%s); sizing prompts in words", error)
        return None


def token_counter() -> Callable[[str], int] | None:
    """Count output tokens with the default model's tokenizer (when the server sends no usage)."""
    tokenizer = prompt_tokenizer()
    if tokenizer is None:
        return None
    return lambda text: len(tokenizer.encode(text, add_special_tokens=False))  # type: ignore[attr-defined]


def prompts_for(spec: LoadTestSpec) -> list[str]:
    """The prompts file's prompts, or synthetic prompts of the asked input length (one per request)."""
    if spec.prompts_file:
        return load_prompts(spec.prompts_file)
    count = spec.count or max(1, min(1000, int((spec.rate or 10) * (spec.duration_s or 10))))
    return synthetic_prompts(count, spec.input_tokens, prompt_tokenizer(), seed=spec.seed)


def loadtest_params(spec: LoadTestSpec, api_key: str = "") -> dict:
    """The job's parameters: the spec (checked now) and a handle on the key held in memory."""
    spec.validate()
    return {"spec": spec.to_dict(), "api_key_handle": hold_api_key(api_key)}


def loadtest_job(context: JobContext, spec: dict, api_key_handle: str | None = None) -> dict:
    """Run the load test, storing requests as they finish; the run is closed before the job reports."""
    test = LoadTestSpec(**spec)
    api_key = _take_api_key(api_key_handle)
    context.progress(0, 0, "preparing prompts (sized with the default model's tokenizer; its first use converts it)")
    prompts = prompts_for(test)
    store, slo = context.store, slo_from_settings(load_settings_or_defaults()[0])
    run_id = start_run(store, "loadtest", test.endpoint, test.model, test.to_dict(), time.time())
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
        context.progress(
            round(snapshot.progress() * 1000),
            1000,
            f"{done:,} requests done, {failed:,} failed, {snapshot.in_flight} in flight",
        )

    try:
        result = run_loadtest(test, prompts, api_key, on_progress=on_progress, count_tokens=token_counter())
    except JobCancelled as stop:
        partial = getattr(stop, "partial_result", None)
        _close(store, run_id, partial, slo, save_new, STOPPED, "stopped before the end; what finished was kept")
        raise
    except PitwallError as error:
        _close(store, run_id, None, slo, save_new, FAILED, str(error))
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
