"""`python -m lib eval perplexity|runs|show`, and the `score` and `run` commands from their own modules."""

from __future__ import annotations

import argparse
import sys
from pathlib import Path
from typing import TYPE_CHECKING

from lib import config
from lib.errors import InputError
from lib.models.spec import DTYPE_CHOICES, MODEL_HELP
from lib.output import emit, progress_bar
from lib.store import open_store
from lib.store.eval_runs import get_eval_run, list_eval_runs
from lib.textfile import decode_text, read_text_file

if TYPE_CHECKING:
    from lib.evaluation.perplexity import PerplexityResult

HEADLINES = ("perplexity",)


def register(groups: argparse._SubParsersAction, common: argparse.ArgumentParser) -> None:
    group = groups.add_parser("eval", help="evaluate a model")
    commands = group.add_subparsers(dest="command", required=True, metavar="COMMAND")
    ppl = commands.add_parser("perplexity", parents=[common], help="corpus perplexity of a text file (sliding window)")
    ppl.add_argument("--model", default=None, help=MODEL_HELP)
    ppl.add_argument("--file", required=True, help="UTF-8 text file to score; - reads standard input")
    ppl.add_argument(
        "--max-length", type=int, default=None, help="window length in tokens (default min(context, 1024))"
    )
    ppl.add_argument("--stride", type=int, default=None, help="tokens between window starts (default half the window)")
    ppl.add_argument("--dtype", default="auto", choices=DTYPE_CHOICES, help="compute dtype (auto: per device)")
    ppl.add_argument("--windows", action="store_true", help="include every window's numbers in the JSON")
    ppl.add_argument("--no-store", action="store_true", help="do not record the run in Pitwall's database")
    ppl.set_defaults(run=_perplexity)
    runs = commands.add_parser("runs", parents=[common], help="list stored evaluation runs")
    runs.set_defaults(run=_runs)
    show = commands.add_parser("show", parents=[common], help="one stored run, with its detail")
    show.add_argument("id", type=int, help="the run's number, as `eval runs` lists it")
    show.set_defaults(run=_run)
    # Each capability owns its commands: `eval score` (reference metrics) and `eval run` (eval runs).
    from lib.evaluation import run_cli, score_cli

    score_cli.register(commands, common)
    run_cli.register(commands, common)


def _perplexity(args: argparse.Namespace) -> None:
    text, source = _read_input(args.file)
    from lib.evaluation.perplexity import require_text, resolve_window

    require_text(text)
    # Refuse a bad window before loading anything; the model's own context limit is checked once it is loaded.
    resolve_window(10**9, args.max_length, args.stride)
    result = _score_without_storing(args, text) if args.no_store else _score_as_job(args, text, source)
    emit(result.to_dict(with_windows=args.windows) if args.json else result, args.json, _perplexity_text)


def _score_as_job(args: argparse.Namespace, text: str, source: str) -> PerplexityResult:
    """Run as a recorded job: it shows on the dashboard while it runs, and `jobs cancel` stops it."""
    from lib.evaluation.jobs import perplexity_params
    from lib.evaluation.runs import perplexity_from_run
    from lib.jobs import run_here
    from lib.jobs.inputs import stage_text

    store = open_store()  # fail on a bad database before the slow part
    path, digest = stage_text(text)
    params = perplexity_params(
        path, digest, source, args.model or config.default_model_spec(), args.dtype, args.max_length, args.stride
    )

    def waiting(job_id: int, resource: str) -> None:
        print(f"pitwall: job #{job_id} waits for a free slot on {resource}...", file=sys.stderr)

    update, close = progress_bar("scoring")
    try:
        result = run_here(
            "perplexity", params, f"Perplexity of {source} (terminal)", on_wait=waiting, on_progress=update
        )
    finally:
        close()
    run = get_eval_run(store, result["eval_run"])  # shown as stored, like the page shows it
    return perplexity_from_run(run)


def _score_without_storing(args: argparse.Namespace, text: str) -> PerplexityResult:
    from lib.evaluation.perplexity import compute_perplexity
    from lib.models.loader import load_model

    loaded = load_model(args.model or config.default_model_spec(), dtype=args.dtype)
    update, close = progress_bar("scoring")
    try:
        return compute_perplexity(loaded, text, args.max_length, args.stride, progress=update)
    finally:
        close()


def _read_input(file: str) -> tuple[str, str]:
    """The text to score and the name it is stored under; `-` is standard input."""
    if file == "-":
        return decode_text(sys.stdin.buffer.read(), "standard input"), "standard input"
    return read_text_file(file), Path(file).name


def _perplexity_text(result: PerplexityResult) -> str:
    return (
        f"perplexity {result.perplexity:.3f} over {result.tokens:,} tokens "
        f"({result.window_summary()}); "
        f"{result.seconds:.2f} s, {_rate(result.tokens_per_second)}, {result.dtype} on {result.device}"
    )


def _runs(args: argparse.Namespace) -> None:
    runs = [run.to_dict() for run in list_eval_runs(open_store())]
    emit(runs, args.json, lambda rows: "\n".join(_run_line(r) for r in rows) or "No evaluation runs stored yet.")


def _run(args: argparse.Namespace) -> None:
    from lib.evaluation.runs import PERPLEXITY, perplexity_from_run

    run = get_eval_run(open_store(), args.id)
    if run is None:
        raise InputError(f"There is no stored run #{args.id}; `python -m lib eval runs` lists them.")
    if run.kind != PERPLEXITY:
        emit(run, args.json, lambda r: f"#{r.id} {r.kind} {r.model} {r.source} {r.summary}")
        return
    result = perplexity_from_run(run)
    payload = {"id": run.id, "created_at": run.created_at, "source": run.source, **result.to_dict(with_windows=True)}
    emit(payload, args.json, lambda _: f"#{run.id} {run.created_at} {run.source}: " + _perplexity_text(result))


def _run_line(run: dict) -> str:
    headline = ", ".join(f"{k} {v:.3f}" for k, v in run["summary"].items() if k in HEADLINES)
    return f"#{run['id']:<4} {run['created_at']}  {run['kind']:<11} {run['model']:<20} {run['source']:<28} {headline}"


def _rate(tokens_per_second: float | None) -> str:
    return f"{tokens_per_second:,.0f} tokens/s" if tokens_per_second else "too quick to time"
