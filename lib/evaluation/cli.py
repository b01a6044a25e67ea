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
    from lib.evaluation.perplexity import DocumentsResult, PerplexityResult

HEADLINES = ("perplexity",)


def register(groups: argparse._SubParsersAction, common: argparse.ArgumentParser) -> None:
    group = groups.add_parser("eval", help="evaluate a model")
    commands = group.add_subparsers(dest="command", required=True, metavar="COMMAND")
    ppl = commands.add_parser(
        "perplexity", parents=[common], help="corpus perplexity of a text file (sliding window) or of documents"
    )
    ppl.add_argument("--model", default=None, help=MODEL_HELP)
    source = ppl.add_mutually_exclusive_group(required=True)
    source.add_argument("--file", help="UTF-8 text file to score as one text; - reads standard input")
    source.add_argument(
        "--dataset", help="documents file, each document scored on its own: TXT (one a line), JSONL or CSV"
    )
    ppl.add_argument("--text-column", default=None, help="JSONL/CSV column holding the documents (default: text)")
    ppl.add_argument(
        "--max-length", type=int, default=None, help="window length in tokens (default min(context, 1024))"
    )
    ppl.add_argument("--stride", type=int, default=None, help="tokens between window starts (default half the window)")
    ppl.add_argument("--dtype", default="auto", choices=DTYPE_CHOICES, help="compute dtype (auto: per device)")
    ppl.add_argument("--batch-size", type=int, default=None, help="windows per forward pass (default: from memory)")
    ppl.add_argument(
        "--windows", action="store_true", help="include every window's (or, with --dataset, document's) numbers"
    )
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
    from lib.evaluation.perplexity import require_text, resolve_window

    if args.text_column is not None and args.dataset is None:
        raise InputError("--text-column names a column of a --dataset file; leave it out with --file.")
    if args.batch_size is not None and args.batch_size < 1:
        raise InputError(f"The batch size must be at least 1, not {args.batch_size}.")
    if args.dataset is not None:
        from lib.evaluation.documents import read_documents

        documents = read_documents(args.dataset, args.text_column)  # a bad file fails before the model loads
        resolve_window(10**9, args.max_length, args.stride)
        scored = _documents_without_storing(args, documents) if args.no_store else _documents_as_job(args)
        emit(scored.to_dict(with_documents=args.windows) if args.json else scored, args.json, _documents_text)
        return
    text, source = _read_input(args.file)
    require_text(text)
    # Refuse a bad window before loading anything; the model's own context limit is checked once it is loaded.
    resolve_window(10**9, args.max_length, args.stride)
    result = _score_without_storing(args, text) if args.no_store else _score_as_job(args, text, source)
    emit(result.to_dict(with_windows=args.windows) if args.json else result, args.json, _perplexity_text)


def _score_as_job(args: argparse.Namespace, text: str, source: str) -> PerplexityResult:
    """Run as a recorded job: it shows on the dashboard while it runs, and `jobs cancel` stops it."""
    from lib.evaluation.runs import perplexity_from_run
    from lib.jobs.inputs import stage_text

    store = open_store()  # fail on a bad database before the slow part
    path, digest = stage_text(text)
    run = _run_job(args, store, path, digest, source, "text")
    return perplexity_from_run(run)


def _documents_as_job(args: argparse.Namespace) -> DocumentsResult:
    """A documents file as a recorded job; the staged copy keeps the file's suffix, which says how to read it."""
    from lib.evaluation.runs import documents_from_run
    from lib.jobs.inputs import stage_bytes
    from lib.quality.readers import read_dataset_bytes

    store = open_store()
    dataset = Path(args.dataset)
    path, digest = stage_bytes(read_dataset_bytes(dataset), dataset.suffix)
    return documents_from_run(_run_job(args, store, path, digest, dataset.name, "documents"))


def _run_job(args: argparse.Namespace, store, path: Path, digest: str, source: str, mode: str):
    from lib.evaluation.jobs import perplexity_params
    from lib.jobs import run_here

    params = perplexity_params(
        path, digest, source, args.model or config.default_model_spec(), args.dtype, args.max_length, args.stride,
        mode, args.text_column, args.batch_size,
    )  # fmt: skip

    def waiting(job_id: int, resource: str) -> None:
        print(f"pitwall: job #{job_id} waits for a free slot on {resource}...", file=sys.stderr)

    update, close = progress_bar("scoring")
    try:
        result = run_here(
            "perplexity", params, f"Perplexity of {source} (terminal)", on_wait=waiting, on_progress=update
        )
    finally:
        close()
    return get_eval_run(store, result["eval_run"])  # shown as stored, like the page shows it


def _score_without_storing(args: argparse.Namespace, text: str) -> PerplexityResult:
    from lib.evaluation.perplexity import compute_perplexity
    from lib.models.loader import load_model

    loaded = load_model(args.model or config.default_model_spec(), dtype=args.dtype)
    update, close = progress_bar("scoring")
    try:
        return compute_perplexity(
            loaded, text, args.max_length, args.stride, progress=update, batch_size=args.batch_size
        )
    finally:
        close()


def _documents_without_storing(args: argparse.Namespace, documents: list[str]) -> DocumentsResult:
    from lib.evaluation.perplexity import score_documents
    from lib.models.loader import load_model

    loaded = load_model(args.model or config.default_model_spec(), dtype=args.dtype)
    update, close = progress_bar("scoring")
    try:
        return score_documents(loaded, documents, args.max_length, args.stride, args.batch_size, progress=update)
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


def _documents_text(result: DocumentsResult) -> str:
    skipped = f", {len(result.skipped):,} under 2 tokens skipped" if result.skipped else ""
    return (
        f"perplexity {result.perplexity:.3f} over {result.tokens:,} tokens of {len(result.documents):,} documents"
        f"{skipped}; {result.bits_per_byte:.4f} bits per byte, word perplexity {result.word_perplexity:.3f}; "
        f"{result.seconds:.2f} s, {_rate(result.tokens_per_second)}, {result.dtype} on {result.device}"
    )


def _runs(args: argparse.Namespace) -> None:
    runs = [run.to_dict() for run in list_eval_runs(open_store())]
    emit(runs, args.json, lambda rows: "\n".join(_run_line(r) for r in rows) or "No evaluation runs stored yet.")


def _run(args: argparse.Namespace) -> None:
    from lib.evaluation.runs import PERPLEXITY, documents_from_run, is_documents_run, perplexity_from_run

    run = get_eval_run(open_store(), args.id)
    if run is None:
        raise InputError(f"There is no stored run #{args.id}; `python -m lib eval runs` lists them.")
    if run.kind == "eval":
        from lib.evaluation.evalrun import load_eval_run
        from lib.evaluation.run_cli import run_text

        result = load_eval_run(open_store(), run.id)
        emit(result.to_dict(with_samples=True), args.json, lambda _: run_text(result))
        return
    if run.kind != PERPLEXITY:
        emit(run, args.json, lambda r: f"#{r.id} {r.kind} {r.model} {r.source} {r.summary}")
        return
    if is_documents_run(run):
        scored = documents_from_run(run)
        payload = {"id": run.id, "created_at": run.created_at, "source": run.source, "mode": "documents"}
        payload |= scored.to_dict(with_documents=True)
        emit(payload, args.json, lambda _: f"#{run.id} {run.created_at} {run.source}: " + _documents_text(scored))
        return
    result = perplexity_from_run(run)
    payload = {"id": run.id, "created_at": run.created_at, "source": run.source, **result.to_dict(with_windows=True)}
    emit(payload, args.json, lambda _: f"#{run.id} {run.created_at} {run.source}: " + _perplexity_text(result))


def _run_line(run: dict) -> str:
    metrics = run["summary"].get("metrics") or {}
    headline = ", ".join(
        [f"{k} {v:.3f}" for k, v in run["summary"].items() if k in HEADLINES]
        + [f"{name} {m['score']:.1f}" for name, m in metrics.items() if m.get("score") is not None]
    )
    return f"#{run['id']:<4} {run['created_at']}  {run['kind']:<11} {run['model']:<20} {run['source']:<28} {headline}"


def _rate(tokens_per_second: float | None) -> str:
    return f"{tokens_per_second:,.0f} tokens/s" if tokens_per_second else "too quick to time"
