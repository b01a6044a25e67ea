"""`python -m lib eval perplexity|runs`."""

from __future__ import annotations

import argparse
from pathlib import Path
from typing import TYPE_CHECKING

from lib import config
from lib.cli import emit, progress_bar
from lib.store import open_store
from lib.store.eval_runs import list_eval_runs
from lib.textfile import read_text_file

if TYPE_CHECKING:
    from lib.evaluation.perplexity import PerplexityResult

HEADLINES = ("perplexity",)


def register(groups: argparse._SubParsersAction, common: argparse.ArgumentParser) -> None:
    group = groups.add_parser("eval", help="evaluate a model")
    commands = group.add_subparsers(dest="command", required=True, metavar="COMMAND")
    ppl = commands.add_parser("perplexity", parents=[common], help="corpus perplexity of a text file (sliding window)")
    ppl.add_argument("--model", default=None, help="smollm2-135m (default), a hub id or a local folder")
    ppl.add_argument("--file", required=True, help="UTF-8 text file to score")
    ppl.add_argument(
        "--max-length", type=int, default=None, help="window length in tokens (default min(context, 1024))"
    )
    ppl.add_argument("--stride", type=int, default=None, help="tokens between window starts (default half the window)")
    ppl.add_argument("--dtype", default="auto", choices=["auto", "float32", "bfloat16"], help="compute dtype")
    ppl.add_argument("--no-store", action="store_true", help="do not record the run in Pitwall's database")
    ppl.set_defaults(run=_perplexity)
    runs = commands.add_parser("runs", parents=[common], help="list stored evaluation runs")
    runs.set_defaults(run=_runs)


def _perplexity(args: argparse.Namespace) -> None:
    # torch and transformers load here, not at start-up, so other commands stay quick.
    from lib.evaluation.perplexity import compute_perplexity, require_text
    from lib.evaluation.runs import save_perplexity_run
    from lib.models.loader import load_model

    text = read_text_file(args.file)
    require_text(text)
    store = None if args.no_store else open_store()  # fail on a bad database before the slow part
    loaded = load_model(args.model or config.default_model_spec(), dtype=args.dtype)
    update, close = progress_bar("scoring")
    try:
        result = compute_perplexity(loaded, text, args.max_length, args.stride, progress=update)
    finally:
        close()
    if store is not None:
        save_perplexity_run(store, result, Path(args.file).name)
    emit(result, args.json, _perplexity_text)


def _perplexity_text(result: PerplexityResult) -> str:
    return (
        f"perplexity {result.perplexity:.3f} over {result.tokens:,} tokens "
        f"({len(result.windows)} windows of {result.max_length}, stride {result.stride}); "
        f"{result.seconds:.2f} s, {result.tokens_per_second:,.0f} tokens/s, {result.dtype} on {result.device}"
    )


def _runs(args: argparse.Namespace) -> None:
    runs = [run.to_dict() for run in list_eval_runs(open_store())]
    emit(runs, args.json, lambda rows: "\n".join(_run_line(r) for r in rows) or "No evaluation runs stored yet.")


def _run_line(run: dict) -> str:
    headline = ", ".join(f"{k} {v:.3f}" for k, v in run["summary"].items() if k in HEADLINES)
    return f"#{run['id']:<4} {run['created_at']}  {run['kind']:<11} {run['model']:<20} {run['source']:<28} {headline}"
