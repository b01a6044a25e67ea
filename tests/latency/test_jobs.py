"""A load test as a job: requests stored while it runs, Stop keeps them, the API key never reaches the database."""

from __future__ import annotations

from lib.jobs import request_cancel, submit, wait_for
from lib.jobs.model import CANCELLED, FAILED, SUCCEEDED
from lib.latency.jobs import loadtest_params
from lib.latency.loadtest import LoadTestSpec
from lib.latency.records import run_records
from lib.latency.runs import COMPLETE, RUNNING, STOPPED, get_run, list_runs
from lib.store import open_store
from tests.jobs.test_jobs import until


def test_a_finished_load_test_is_one_stored_run_with_every_request_and_no_secret(stub_url: str) -> None:
    with_credentials = stub_url.replace("http://", "http://alice:pw-9f2c@")
    spec = LoadTestSpec(with_credentials, "slow", requests=6, concurrency=3, max_tokens=4)
    params = loadtest_params(spec, api_key="secret")  # the stub's key
    job = wait_for(submit("latency-loadtest", params, "Load test"), timeout=60)
    assert job.state == SUCCEEDED, job.error
    run = get_run(open_store(), job.result["latency_run"])
    assert (run.status, run.summary["completed"], len(run.requests)) == (COMPLETE, 6, 6)
    assert run.summary["ttft_ms"]["p50"] <= run.summary["e2el_ms"]["p50"]
    assert run.endpoint == stub_url and all(r.endpoint.startswith(stub_url) for r in run.requests)
    stored = open_store().path.read_bytes() + open_store().path.with_suffix(".db-wal").read_bytes()
    assert b"secret" not in stored and b"pw-9f2c" not in stored  # neither the key nor the password


def test_requests_show_while_it_runs_and_stop_keeps_them(stub_url: str) -> None:
    spec = LoadTestSpec(stub_url, "slow", duration_s=60, rate=20, concurrency=4, max_tokens=4)
    job_id = submit("latency-loadtest", loadtest_params(spec), "Long load test")
    run_id = until(lambda: (runs := list_runs(open_store())) and runs[0].id, what="the run to be recorded")
    # Finished requests reach the store while the test still runs: the page charts them live.
    until(lambda: len(run_records(open_store(), run_id)) >= 3, what="live requests")
    assert get_run(open_store(), run_id, with_requests=False).status == RUNNING
    request_cancel(open_store(), job_id)
    job = wait_for(job_id, timeout=20)
    assert job.state == CANCELLED and "what it finished was kept" in job.error
    run = get_run(open_store(), run_id)
    assert run.status == STOPPED and run.summary["completed"] == len(run.requests) >= 3
    assert run.summary["duration_s"] < 60


def test_a_lost_api_key_fails_the_job_with_a_sentence(stub_url: str) -> None:
    params = loadtest_params(LoadTestSpec(stub_url, "ok", requests=1), api_key="k")
    params["credentials_handle"] = "gone"  # as after a server restart between queueing and running
    job = wait_for(submit("latency-loadtest", params, "Load test"), timeout=30)
    assert job.state == FAILED and "start it again" in job.error


def test_a_run_whose_job_died_is_shown_as_cut_off_with_its_requests_kept() -> None:
    from lib.latency.records import RequestRecord
    from lib.latency.runs import FAILED, add_run_requests, start_run

    store = open_store()
    run_id = start_run(store, "loadtest", "http://x", "m", {}, 1_800_000_000.0, job_id=4242)  # no such job runs
    add_run_requests(store, run_id, [RequestRecord(1_800_000_001.0, True, 10.0, 30.0, output_tokens=3)])
    (listed,) = list_runs(store)
    assert (listed.status, "cut off" in listed.message) == (FAILED, True)
    assert len(get_run(store, run_id).requests) == 1
