"""`python -m lib latency loadtest|probe|ingest|runs|show|slo|token|serve|prometheus`."""

from __future__ import annotations

import argparse
import os
import signal
import sys
import threading
import time

from lib import config
from lib.errors import InputError
from lib.models.spec import DTYPE_CHOICES, MODEL_HELP
from lib.output import emit, progress_bar
from lib.store import open_store

EXIT_ALL_FAILED = 1


def register(groups: argparse._SubParsersAction, common: argparse.ArgumentParser) -> None:
    group = groups.add_parser("latency", help="load tests, probes, request logs and SLOs")
    commands = group.add_subparsers(dest="command", required=True, metavar="COMMAND")
    load = commands.add_parser("loadtest", parents=[common], help="load-test an OpenAI-compatible endpoint")
    load.add_argument("--endpoint", required=True, help="base URL (http://host:8000) or a full /v1/... URL")
    load.add_argument("--model", required=True, help="the model name the server serves")
    load.add_argument("--api", choices=("chat", "completions"), default="chat", help="which API (default chat)")
    amount = load.add_mutually_exclusive_group()
    amount.add_argument("--requests", type=int, default=None, help="how many requests (default 10)")
    amount.add_argument("--duration", type=float, default=None, help="or keep sending for this many seconds")
    load.add_argument("--rate", type=float, default=None, help="requests per second (default: all at once)")
    load.add_argument("--burstiness", type=float, default=1.0, help="gamma shape of arrivals; 1 is Poisson")
    load.add_argument("--concurrency", type=int, default=None, help="most requests in flight (default: no cap)")
    load.add_argument("--max-tokens", type=int, default=64, help="max_tokens of each request (default 64)")
    load.add_argument("--input-tokens", type=int, default=128, help="length of synthetic prompts (default 128)")
    load.add_argument("--prompts", default=None, help="prompts file: TXT (one a line), JSONL or CSV")
    load.add_argument("--timeout", type=float, default=60.0, help="seconds one request may take (default 60)")
    load.add_argument("--seed", type=int, default=0, help="seed of the arrival times and synthetic prompts")
    load.add_argument("--api-key-env", default="OPENAI_API_KEY", help="environment variable holding the API key")
    load.add_argument("--save", action="store_true", help="store the run (it shows on the dashboard)")
    load.set_defaults(run=_loadtest)
    probe = commands.add_parser("probe", parents=[common], help="time a model in this process (no server)")
    probe.add_argument("--model", default=None, help=MODEL_HELP)
    probe.add_argument("--prompts", default=None, help="prompts file (default: synthetic prompts)")
    probe.add_argument("--count", type=int, default=5, help="prompts to run (default 5)")
    probe.add_argument("--max-new-tokens", type=int, default=32, help="tokens generated per prompt (default 32)")
    probe.add_argument("--dtype", default="auto", choices=DTYPE_CHOICES, help="compute dtype (auto: per device)")
    probe.add_argument("--save", action="store_true", help="store the probe as a run")
    probe.set_defaults(run=_probe)
    ingest = commands.add_parser("ingest", parents=[common], help="ingest a request log (CSV or JSONL)")
    ingest.add_argument("file", help="the log: one request a row")
    ingest.add_argument("--mapping", default=None, help="JSON or YAML {field: column} for columns not found by name")
    ingest.set_defaults(run=_ingest)
    runs = commands.add_parser("runs", parents=[common], help="stored load tests and probes")
    runs.set_defaults(run=_runs)
    show = commands.add_parser("show", parents=[common], help="one stored run's figures")
    show.add_argument("id", type=int, help="the run's number, as `latency runs` lists it")
    show.add_argument("--requests", action="store_true", help="print every request as JSON Lines instead")
    show.set_defaults(run=_show)
    slo = commands.add_parser("slo", parents=[common], help="SLO compliance, error budgets and burn rates now")
    slo.add_argument("--check", action="store_true", help="also evaluate the burn-rate alerts now (and notify)")
    slo.set_defaults(run=_slo)
    token = commands.add_parser("token", parents=[common], help="the ingest route's token (created if missing)")
    token.add_argument("--rotate", action="store_true", help="replace the token (senders need the new one)")
    token.set_defaults(run=_token)


def _loadtest(args: argparse.Namespace) -> int:
    from lib.latency.loadtest import LoadTestSpec

    spec = LoadTestSpec(
        endpoint=args.endpoint,
        model=args.model,
        api=args.api,
        requests=args.requests,
        duration_s=args.duration,
        rate=args.rate,
        burstiness=args.burstiness,
        concurrency=args.concurrency,
        max_tokens=args.max_tokens,
        input_tokens=args.input_tokens,
        prompts_file=args.prompts,
        timeout_s=args.timeout,
        seed=args.seed,
    )
    spec.validate()  # a bad URL or count is one sentence before anything starts
    api_key = os.environ.get(args.api_key_env, "")
    summary = _saved_loadtest(spec, api_key) if args.save else _loadtest_here(spec, api_key)
    emit(summary, args.json, _summary_text)
    return _all_failed(summary)


def _loadtest_here(spec, api_key: str) -> dict:
    """Run in this process; Ctrl-C stops sending and prints the figures of what finished."""
    from lib.latency.jobs import prompts_for, token_counter
    from lib.latency.loadtest import run_loadtest
    from lib.latency.metrics import slo_from_settings
    from lib.settings import load_settings_or_defaults

    prompts = prompts_for(spec)
    stop = threading.Event()
    on_main_thread = threading.current_thread() is threading.main_thread()
    previous = signal.signal(signal.SIGINT, lambda *_: stop.set()) if on_main_thread else None
    update, close = progress_bar("requests", unit="request")
    try:
        result = run_loadtest(
            spec,
            prompts,
            api_key,
            count_tokens=token_counter(spec.model),
            should_stop=stop.is_set,
            on_progress=lambda r: update(round(r.progress() * 1000), 1000),
        )
    finally:
        close()
        if previous is not None:
            signal.signal(signal.SIGINT, previous)
    summary = result.summary(slo_from_settings(load_settings_or_defaults()[0])).to_dict()
    if result.stopped:
        print(
            f"pitwall: stopped; the figures cover the {len(result.records):,} requests that finished.", file=sys.stderr
        )
    return summary


def _saved_loadtest(spec, api_key: str) -> dict:
    from lib.jobs import run_here
    from lib.latency.jobs import loadtest_params
    from lib.latency.runs import get_run

    store = open_store()
    update, close = progress_bar("requests", unit="request")
    try:
        result = run_here(
            "latency-loadtest",
            loadtest_params(spec, api_key),
            f"Load test of {spec.model} (terminal)",
            on_progress=update,
        )
    finally:
        close()
    run = get_run(store, result["latency_run"], with_requests=False)
    assert run is not None
    return {**run.summary, "run_id": run.id}


def _all_failed(summary: dict) -> int:
    """Exit 1 when not one request succeeded, with the first reason on stderr (the figures still print)."""
    if summary.get("completed", 0) == 0 and summary.get("failed", 0) > 0:
        kinds = ", ".join(f"{kind} ({count})" for kind, count in summary["errors"].items())
        print(f"pitwall: all {summary['failed']} requests failed: {kinds}.", file=sys.stderr)
        return EXIT_ALL_FAILED
    return 0


def _summary_text(summary: dict) -> str:
    """vLLM-style result block."""
    lines = [
        f"{'Successful requests:':<34}{summary['completed']:>12,}",
        f"{'Failed requests:':<34}{summary['failed']:>12,}",
        f"{'Duration (s):':<34}{summary['duration_s']:>12.2f}",
        f"{'Request throughput (req/s):':<34}{summary['request_throughput']:>12.2f}",
        f"{'Output token throughput (tok/s):':<34}{summary['output_token_throughput']:>12.2f}",
    ]
    if summary.get("goodput") is not None:
        lines.append(f"{'Goodput (req/s, all SLOs met):':<34}{summary['goodput']:>12.2f}")
    for key, name in (("ttft_ms", "TTFT"), ("tpot_ms", "TPOT"), ("itl_ms", "ITL"), ("e2el_ms", "E2EL")):
        figures = summary[key]
        if figures.get("mean") is None:
            continue
        cells = "  ".join(f"{label} {figures[label]:,.1f}" for label in ("mean", "p50", "p90", "p95", "p99"))
        lines.append(f"{name + ' (ms):':<14}{cells}")
    for kind, count in (summary.get("errors") or {}).items():
        lines.append(f"{'  failed, ' + kind + ':':<34}{count:>12,}")
    if "run_id" in summary:
        lines.append(f"Stored as run #{summary['run_id']} (`python -m lib latency show {summary['run_id']}`).")
    return "\n".join(lines)


def _probe(args: argparse.Namespace) -> int:
    from lib.latency.jobs import probe_prompts, save_probe
    from lib.latency.probe import probe

    if args.count < 1 or args.max_new_tokens < 1:
        raise InputError("--count and --max-new-tokens must be at least 1.")
    model = args.model or config.default_model_spec()
    prompts = probe_prompts(args.prompts, args.count)
    update, close = progress_bar("prompts", unit="prompt")
    started = time.time()
    try:
        result = probe(
            model,
            prompts,
            args.max_new_tokens,
            args.dtype,
            progress=lambda done, total, _message="": update(done, total),
        )
    finally:
        close()
    summary = {
        **result.summary().to_dict(),
        "model": model,
        "device": result.device,
        "dtype": result.dtype,
        "tokens_per_s": result.tokens_per_s,
    }
    if args.save:
        summary["run_id"] = save_probe(open_store(), model, result, args.max_new_tokens, args.dtype, started).id
    emit(
        summary,
        args.json,
        lambda s: f"{model} on {s['device']} ({s['dtype']}), {s['tokens_per_s']:.1f} tokens/s\n" + _summary_text(s),
    )
    return _all_failed(summary)


def _ingest(args: argparse.Namespace) -> None:
    from lib.latency.ingest import ingest_file

    result = ingest_file(open_store(), args.file, args.mapping)
    emit(result, args.json, _ingest_text)


def _ingest_text(result) -> str:
    lines = [
        f"{result.stored:,} requests stored, {result.duplicates:,} already stored, "
        f"{result.skipped:,} rows skipped (of {result.rows:,}).",
        *(f"  {field} <- {column}" for field, column in result.mapping.items()),
        *(f"  {problem}" for problem in result.problems),
    ]
    return "\n".join(lines)


def _runs(args: argparse.Namespace) -> None:
    from lib.latency.runs import list_runs
    from lib.latency.tables import runs_table

    runs = list_runs(open_store())
    emit(
        {"runs": [run.to_dict() for run in runs]},
        args.json,
        lambda _r: runs_table(runs).to_string(index=False) if runs else "No load test or probe stored yet.",
    )


def _show(args: argparse.Namespace) -> None:
    from lib.latency.runs import get_run, requests_jsonl

    run = get_run(open_store(), args.id)
    if run is None:
        raise InputError(f"There is no stored latency run #{args.id}; `python -m lib latency runs` lists them.")
    if args.requests:
        sys.stdout.write(requests_jsonl(run))
        return
    payload = {**run.to_dict(), "requests": len(run.requests)}
    emit(
        payload,
        args.json,
        lambda p: (
            f"#{p['id']} {p['kind']} of {p['model']} at {p['endpoint']}: {p['status']}"
            + (f" ({p['message']})" if p["message"] else "")
            + "\n"
            + _summary_text(p["summary"])
            if p["summary"]
            else f"#{p['id']}: {p['status']}, no figures"
        ),
    )


def _slo(args: argparse.Namespace) -> None:
    from lib.latency.records import production_frame
    from lib.latency.slo import check_slos, objectives_from_settings
    from lib.latency.status import slo_table, status
    from lib.settings import load_settings_or_defaults

    store, settings = open_store(), load_settings_or_defaults()[0]
    now = time.time()
    events = check_slos(store, settings, now) if args.check else []
    period_s = settings["latency.slo_window_days"] * 86400
    table = slo_table(production_frame(store, now - period_s, now), objectives_from_settings(settings), now, period_s)
    tile = status(store, settings, now)
    payload = {
        "state": tile.state,
        "headline": tile.headline,
        "detail": tile.detail,
        "slos": table.to_dict(orient="records"),
        "events": [event.to_dict() for event in events],
    }
    emit(
        payload, args.json, lambda p: f"{p['state']}: {p['headline']}\n{p['detail']}\n\n" + table.to_string(index=False)
    )


def _token(args: argparse.Namespace) -> None:
    from lib.latency.ingest_http import ensure_ingest_token

    token = ensure_ingest_token(rotate=args.rotate)
    emit(
        {"token": token},
        args.json,
        lambda p: (
            f"{p['token']}\nSend it as `Authorization: Bearer <token>` to /api/latency/ingest on the dashboard's port."
        ),
    )
