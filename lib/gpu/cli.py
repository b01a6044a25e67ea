"""`python -m lib gpu snapshot|plan|collect|history|exporter|fleet|simulate`."""

from __future__ import annotations

import argparse
import contextlib
import signal
import sys
import threading
import time

from lib.errors import InputError, PitwallError
from lib.gpu.nvml import Snapshot
from lib.gpu.source import current_reader, read_snapshot, simulated_since, switch_simulated
from lib.models.spec import MODEL_HELP
from lib.output import emit
from lib.settings import load_settings

GIB = 1024**3


def register(groups: argparse._SubParsersAction, common: argparse.ArgumentParser) -> None:
    group = groups.add_parser("gpu", help="GPU health: readings, capacity planning, history, exporter, fleet")
    commands = group.add_subparsers(dest="command", required=True, metavar="COMMAND")
    snapshot = commands.add_parser("snapshot", parents=[common], help="every GPU and GPU process now")
    snapshot.set_defaults(run=_snapshot)
    plan = commands.add_parser("plan", parents=[common], help="will a model fit: weights, KV cache, overhead")
    plan.add_argument("--model", required=True, help=MODEL_HELP)
    plan.add_argument("--dtype", default="bfloat16", help="weights (and KV cache) dtype (default bfloat16)")
    plan.add_argument("--context", type=int, default=4096, help="tokens per sequence (default 4096)")
    plan.add_argument("--batch", type=int, default=1, help="concurrent sequences (default 1)")
    plan.set_defaults(run=_plan)
    collect = commands.add_parser("collect", parents=[common], help="sample GPUs into the store until stopped")
    collect.add_argument("--interval", type=float, default=None, help="seconds between samples (default: settings)")
    collect.add_argument("--ticks", type=int, default=None, help="stop after this many samples (default: never)")
    collect.set_defaults(run=_collect)
    history = commands.add_parser("history", parents=[common], help="downsampled history of every GPU")
    history.add_argument("--window", default="1 h", help="5 min, 1 h, 24 h or 7 d (default 1 h)")
    history.set_defaults(run=_history)
    exporter = commands.add_parser("exporter", parents=[common], help="serve /metrics for Prometheus")
    exporter.add_argument("--port", type=int, default=9400, help="port to listen on (default 9400)")
    exporter.add_argument("--host", default="0.0.0.0", help="address to listen on (default all)")
    exporter.set_defaults(run=_exporter)
    fleet = commands.add_parser("fleet", parents=[common], help="every node's GPUs, read from Prometheus")
    fleet.add_argument("--prometheus", default=None, help="Prometheus URL (default: setting gpu.prometheus_url)")
    fleet.set_defaults(run=_fleet)
    simulate = commands.add_parser("simulate", parents=[common], help="switch the simulated GPU node on or off")
    simulate.add_argument("switch", choices=("on", "off", "status"), help="on, off, or status")
    simulate.set_defaults(run=_simulate)


def _snapshot(args: argparse.Namespace) -> None:
    emit(read_snapshot(), args.json, snapshot_text)


def snapshot_text(snapshot: Snapshot) -> str:
    """A short table of GPUs and processes, or the reason there are none."""
    if not snapshot.gpus:
        return f"No GPU: {snapshot.reason}."
    label = " (SIMULATED node)" if snapshot.simulated else ""
    lines = [f"{snapshot.hostname}{label}, driver {snapshot.driver or 'unknown'}"]
    for gpu in snapshot.gpus:
        if gpu.lost:
            lines.append(f"  GPU {gpu.index}: {gpu.lost}")
            continue
        used = "?" if gpu.memory_used_bytes is None else f"{gpu.memory_used_bytes / GIB:.1f}"
        total = "?" if gpu.memory_total_bytes is None else f"{gpu.memory_total_bytes / GIB:.0f}"
        util = "?" if gpu.gpu_util_percent is None else f"{gpu.gpu_util_percent:.0f}%"
        temp = "?" if gpu.temperature_c is None else f"{gpu.temperature_c:.0f} C"
        power = "?" if gpu.power_w is None else f"{gpu.power_w:.0f} W"
        throttle = f"  throttling: {', '.join(gpu.throttle_reasons)}" if gpu.throttle_reasons else ""
        lines.append(f"  GPU {gpu.index} {gpu.name or '?'}: {used}/{total} GiB, util {util}, {temp}, {power}{throttle}")
    for process in snapshot.processes:
        memory = "?" if process.used_memory_bytes is None else f"{process.used_memory_bytes / GIB:.1f} GiB"
        lines.append(
            f"  pid {process.pid} on GPU {process.gpu_index}: {process.name or 'unknown'} "
            f"({process.user or 'unknown user'}), {memory}"
        )
    return "\n".join(lines)


def _plan(args: argparse.Namespace) -> None:
    from lib.gpu.planner import plan_capacity, plan_text

    snapshot = read_snapshot(with_processes=False)
    plan = plan_capacity(args.model, args.dtype, args.context, args.batch, snapshot.gpus, snapshot.simulated)
    emit(plan, args.json, plan_text)


def _collect(args: argparse.Namespace) -> None:
    from lib.gpu.collector import Collector, TickResult
    from lib.store import open_store

    settings = load_settings()
    if args.interval is not None:
        if not 0.1 <= args.interval <= 3600:
            raise InputError(f"--interval must be between 0.1 and 3600 seconds, not {args.interval:g}.")
        settings = settings.with_overrides({"gpu.sample_interval_seconds": args.interval})
    stop = threading.Event()
    signal.signal(signal.SIGTERM, lambda *_: stop.set())
    ticks = {"count": 0, "standby": False}

    def on_tick(result: TickResult) -> None:
        ticks["count"] += 1
        if result.state == "standby" and not ticks["standby"]:
            print("Another collector holds the lease on this store; standing by to take over.", file=sys.stderr)
        ticks["standby"] = result.state == "standby"
        if result.state == "no gpu" and ticks["count"] == 1:
            print(f"No GPU to sample: {result.reason}. Waiting for one.", file=sys.stderr)
        if result.state == "failed":
            print(f"A sample was not stored: {result.reason}.", file=sys.stderr)
        for message in result.events:
            print(f"alert: {message}", file=sys.stderr)
        if args.ticks is not None and ticks["count"] >= args.ticks:
            stop.set()

    collector = Collector(open_store(), settings=lambda: settings)
    print(
        f"Sampling GPUs every {settings['gpu.sample_interval_seconds']:g} s into the store; Ctrl-C stops.",
        file=sys.stderr,
    )
    try:
        collector.run(stop, on_tick)
    except KeyboardInterrupt:
        stop.set()
    emit({"ticks": ticks["count"]}, args.json, lambda r: f"Stopped after {r['ticks']} samples.")


def _history(args: argparse.Namespace) -> None:
    from lib.gpu.history import WINDOWS, history
    from lib.store import open_store

    window = args.window.replace(" ", "")
    windows = {name.replace(" ", ""): seconds for name, seconds in WINDOWS.items()}
    if window not in windows:
        raise InputError(f"--window must be one of {', '.join(WINDOWS)}, not {args.window!r}.")
    settings = load_settings()
    found = history(
        open_store(),
        windows[window],
        raw_hours=settings["retention.raw_hours"],
        sample_seconds=settings["gpu.sample_interval_seconds"],
    )
    frame = found.frame.assign(ts=found.frame["ts"].astype("int64") // 10**9) if not found.empty else found.frame
    result = {
        "window_seconds": found.window_seconds,
        "step_seconds": found.step_seconds,
        "source": found.source,
        "points": frame.to_dict(orient="records"),
    }
    emit(
        result,
        args.json,
        lambda r: (
            f"{len(r['points'])} points, one per {r['step_seconds']} s, from {r['source']}."
            if r["points"]
            else "No GPU history in this window: is a collector running (`python -m lib gpu collect`)?"
        ),
    )


def _exporter(args: argparse.Namespace) -> None:
    from lib.gpu.exporter import serve_exporter

    print(f"Serving GPU metrics on http://{args.host}:{args.port}/metrics; Ctrl-C stops.", file=sys.stderr)
    with contextlib.suppress(KeyboardInterrupt):
        serve_exporter(args.port, args.host, current_reader)


def _fleet(args: argparse.Namespace) -> None:
    from lib.gpu.prometheus import fleet_text, read_fleet

    settings = load_settings()
    url = args.prometheus or settings["gpu.prometheus_url"]
    if not url:
        raise PitwallError(
            "No Prometheus server is set; pass --prometheus URL or set one with "
            "`python -m lib settings set gpu.prometheus_url URL`."
        )
    emit(read_fleet(url, settings["gpu.prometheus_timeout_seconds"]), args.json, fleet_text)


def _simulate(args: argparse.Namespace) -> None:
    if args.switch != "status":
        switch_simulated(args.switch == "on")
    since = simulated_since()
    result = {"simulated": since is not None, "since": since}
    emit(
        result,
        args.json,
        lambda r: (
            f"The simulated GPU node is on (since {time.strftime('%H:%M:%S', time.localtime(r['since']))}); "
            "real GPUs, where there are any, still come first."
            if r["simulated"]
            else "The simulated GPU node is off."
        ),
    )
