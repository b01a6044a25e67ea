"""Jobs: run off the caller's thread, report progress, stop on request, queue behind caps, survive crashes."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time

import pytest

from lib.jobs import get_job, records, request_cancel, submit, wait_for
from lib.jobs.model import CANCELLED, FAILED, INTERRUPTED, RUNNING, SUCCEEDED
from lib.jobs.runner import ensure_runner
from lib.logs import log_path
from lib.processes import HOST
from lib.store import open_store
from tests.helpers import ROOT, assert_one_sentence_error, run_cli
from tests.jobs.sample_jobs import register_sample_kinds

register_sample_kinds()


def until(predicate, timeout: float = 30.0, what: str = "condition"):
    """Poll until `predicate()` returns something truthy; return it."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if value := predicate():
            return value
        time.sleep(0.02)
    raise AssertionError(f"timed out waiting for {what}")


def running(job_id: int, min_done: int = 1):
    job = get_job(open_store(), job_id)
    return job if job.state == RUNNING and job.progress_done >= min_done else None


def test_a_job_runs_in_the_background_and_records_its_result() -> None:
    started = time.monotonic()
    job_id = submit("count", {"steps": 5}, "Count to five")
    assert time.monotonic() - started < 1  # submit returns at once; the work happens elsewhere
    job = wait_for(job_id, timeout=30)
    assert (job.state, job.result, job.title) == (SUCCEEDED, {"counted": 5}, "Count to five")
    assert (job.progress_done, job.progress_total, job.fraction) == (5, 5, 1.0)
    assert job.started_at <= job.finished_at and job.error is None


def test_progress_shows_while_it_runs() -> None:
    job_id = submit("count", {"steps": 100, "delay": 0.02}, "Count slowly")
    job = until(lambda: running(job_id, min_done=3), what="progress")
    assert 3 <= job.progress_done < 100 and job.progress_total == 100
    assert job.progress_message.startswith("step ")
    request_cancel(open_store(), job_id)
    wait_for(job_id)


def test_stop_ends_a_running_job_as_cancelled_with_nothing_kept() -> None:
    job_id = submit("count", {"steps": 1000, "delay": 0.01}, "Count a lot")
    until(lambda: running(job_id), what="the job to start")
    request_cancel(open_store(), job_id)
    job = wait_for(job_id, timeout=10)
    assert job.state == CANCELLED and job.result is None
    assert job.progress_done < 1000
    assert "was stopped" in job.error and "nothing was stored" in job.error


def test_stop_keeps_what_a_job_finished_where_that_means_something() -> None:
    job_id = submit("count", {"steps": 1000, "delay": 0.01, "keep_partial": True}, "Count, keeping each step")
    until(lambda: running(job_id, min_done=5), what="five steps")
    request_cancel(open_store(), job_id)
    job = wait_for(job_id, timeout=10)
    assert job.state == CANCELLED
    assert 5 <= job.result["counted"] < 1000
    assert "what it finished was kept" in job.error


def test_model_jobs_queue_behind_one_per_device_and_a_queued_one_can_be_stopped() -> None:
    register_sample_kinds(uses_model=True)
    try:
        first = submit("count", {"steps": 1000, "delay": 0.01, "device": "cpu"}, "First model job")
        second = submit("count", {"steps": 3, "device": "cpu"}, "Second model job")
        third = submit("count", {"steps": 3, "device": "cpu"}, "Third model job")
        until(lambda: running(first), what="the first job")
        time.sleep(0.5)  # the dispatcher has looked at the queue several times by now
        store = open_store()
        assert [get_job(store, i).state for i in (second, third)] == ["queued", "queued"]
        assert request_cancel(store, third).state == CANCELLED  # a queued job stops at once
        request_cancel(store, first)
        assert wait_for(first).state == CANCELLED
        finished = wait_for(second)
        assert finished.state == SUCCEEDED
        assert finished.started_at >= get_job(store, first).finished_at
    finally:
        register_sample_kinds(uses_model=False)


def test_a_higher_cap_lets_model_jobs_run_together(monkeypatch) -> None:
    monkeypatch.setenv("PITWALL_JOBS_MODEL_JOBS_PER_DEVICE", "2")
    register_sample_kinds(uses_model=True)
    try:
        ids = [submit("count", {"steps": 1000, "delay": 0.01, "device": "cpu"}, f"job {n}") for n in range(2)]
        until(lambda: all(running(i) for i in ids), what="both jobs running at once")
        for job_id in ids:
            request_cancel(open_store(), job_id)
            wait_for(job_id)
    finally:
        register_sample_kinds(uses_model=False)


def test_a_refused_input_fails_with_its_sentence() -> None:
    job = wait_for(submit("refuse", {}, "Profile a dataset"))
    assert job.state == FAILED
    assert job.error == "The dataset has no text column; choose one."
    assert job.error_id is None


def test_a_bug_fails_with_an_error_id_whose_traceback_is_in_the_log() -> None:
    job = wait_for(submit("crash", {}, "Something buggy"))
    assert job.state == FAILED and job.error_id
    assert f"error id {job.error_id}" in job.error and "KeyError" in job.error
    log = log_path().read_text()
    assert f"[error {job.error_id}]" in log and "Traceback" in log


def test_pure_python_work_runs_in_a_worker_process() -> None:
    job = wait_for(submit("crunch", {"numbers": 200_000}, "Crunch"), timeout=60)
    assert job.state == SUCCEEDED, job.error
    assert job.result["total"] == sum(i * i for i in range(200_000))
    assert job.result["pid"] != os.getpid()


def test_a_finished_job_never_changes_state_again() -> None:
    job = wait_for(submit("count", {"steps": 1}, "Quick"))
    store = open_store()
    assert not records.finish_job(store, job.id, FAILED, error="late")
    with pytest.raises(Exception, match="a finished job cannot change state"), store.write() as conn:
        conn.execute("UPDATE jobs SET state = 'running' WHERE id = ?", (job.id,))
    assert get_job(store, job.id).state == SUCCEEDED


def test_a_job_whose_process_died_shows_as_interrupted() -> None:
    store = open_store()
    local = records.insert_job(store, "count", "Local, killed", {}, "count")
    remote = records.insert_job(store, "count", "Remote, silent", {}, "count")
    for job_id in (local, remote):
        assert records.try_claim(store, job_id, cap=5)
    dead = subprocess.Popen([sys.executable, "-c", "pass"])
    dead.wait()
    with store.write() as conn:
        conn.execute("UPDATE jobs SET owner = ? WHERE id = ?", (f"{HOST}:{dead.pid}", local))
        conn.execute("UPDATE jobs SET owner = 'elsewhere:1', heartbeat_at = ? WHERE id = ?", (time.time(), remote))
    assert records.reap_stale(store, stale_after=30) == [local]  # on this machine a dead pid is certain
    assert records.reap_stale(store, stale_after=30, now=time.time() + 31) == [remote]  # elsewhere: the heartbeat
    for job_id in (local, remote):
        job = get_job(store, job_id)
        assert job.state == INTERRUPTED and "run it again" in job.error


def test_a_silent_job_whose_process_lives_here_is_not_interrupted_but_a_reused_pid_is() -> None:
    store = open_store()
    suspended = records.insert_job(store, "count", "A terminal run under Ctrl-Z", {}, "count")
    reused = records.insert_job(store, "count", "Its pid now belongs to another process", {}, "count")
    for job_id in (suspended, reused):
        assert records.try_claim(store, job_id, cap=5)
    with store.write() as conn:  # this test's own pid, but started at another time: another process
        conn.execute("UPDATE jobs SET owner = ? WHERE id = ?", (f"{HOST}:{os.getpid()}:1", reused))
    assert records.reap_stale(store, stale_after=30, now=time.time() + 3600) == [reused]
    assert get_job(store, suspended).state == RUNNING


def test_a_job_marked_ended_elsewhere_is_told_to_stop_at_its_next_heartbeat() -> None:
    store = open_store()
    job_id = records.insert_job(store, "count", "Long", {}, "count")
    assert records.try_claim(store, job_id, cap=1)
    assert records.heartbeat(store, job_id) is False
    records.finish_job(store, job_id, INTERRUPTED, error="Interrupted.")
    assert records.heartbeat(store, job_id) is True  # its slot is free again: it must not keep running


def test_a_server_stopping_marks_its_running_jobs_interrupted() -> None:
    job_id = submit("count", {"steps": 1000, "delay": 0.01}, "Long")
    until(lambda: running(job_id), what="the job to start")
    from lib.jobs.runner import stop_runner

    stop_runner()
    try:
        job = get_job(open_store(), job_id)
        assert job.state == INTERRUPTED and "server stopped" in job.error
    finally:
        ensure_runner()


TERMINAL_RUN = """
import sys
from tests.jobs.sample_jobs import register_sample_kinds
from lib.jobs import JobCancelled, run_here
register_sample_kinds()
try:
    run_here("count", {"steps": 3000, "delay": 0.01}, "Count in a terminal")
except JobCancelled as error:
    print(f"pitwall: {error}", file=sys.stderr)
    sys.exit(4)
"""


def terminal_run() -> tuple[subprocess.Popen, int]:
    process = subprocess.Popen(
        [sys.executable, "-c", TERMINAL_RUN], cwd=ROOT, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True
    )
    job_id = until(lambda: [j.id for j in records.list_jobs(open_store(), "count") if j.progress_done > 0], 60)[0]
    return process, job_id


def test_a_terminal_run_is_listed_live_and_stopped_from_another_process() -> None:
    process, job_id = terminal_run()
    listed = json.loads(run_cli("jobs", "list", "--active", "--json").stdout)
    assert [(j["id"], j["state"], j["runner"]) for j in listed] == [(job_id, "running", "cli")]
    assert 0 < listed[0]["progress_done"] < 3000
    cancelled = run_cli("jobs", "cancel", str(job_id))
    assert cancelled.returncode == 0, cancelled.stderr
    _, stderr = process.communicate(timeout=30)
    assert process.returncode == 4
    assert_one_sentence_error(stderr)
    assert "was stopped" in stderr
    assert get_job(open_store(), job_id).state == CANCELLED


def test_a_killed_terminal_run_shows_as_interrupted_at_once() -> None:
    process, job_id = terminal_run()
    process.send_signal(signal.SIGKILL)
    process.wait(timeout=10)
    shown = json.loads(run_cli("jobs", "show", str(job_id), "--json").stdout)
    assert shown["state"] == "interrupted"


def test_the_cli_explains_what_cannot_be_done() -> None:
    missing = run_cli("jobs", "show", "42")
    assert missing.returncode == 1 and "There is no job #42" in missing.stderr
    assert_one_sentence_error(missing.stderr)
    done = wait_for(submit("count", {"steps": 1}, "Quick"))
    again = run_cli("jobs", "cancel", str(done.id))
    assert again.returncode == 1 and "already ended (succeeded)" in again.stderr
    text = run_cli("jobs", "list").stdout
    assert f"#{done.id}" in text and "succeeded" in text and "Quick" in text


def test_staged_inputs_are_kept_by_content_and_pruned_when_unused() -> None:
    import os as os_module

    from lib.jobs.inputs import prune_inputs, stage_text

    first, digest = stage_text("the same text")
    again, same = stage_text("the same text")
    other, _ = stage_text("another text")
    assert (first, digest) == (again, same) and first != other
    old = time.time() - 8 * 86_400
    os_module.utime(other, (old, old))
    assert prune_inputs() == 1
    assert first.exists() and not other.exists()


def test_a_broken_settings_file_does_not_stop_the_queue() -> None:
    from lib.settings import settings_path

    settings_path().parent.mkdir(parents=True, exist_ok=True)
    settings_path().write_text("[jobs]\nheartbeat_seconds = 'soon'\n")
    job = wait_for(submit("count", {"steps": 2}, "Runs with the default settings"), timeout=30)
    assert job.state == SUCCEEDED
