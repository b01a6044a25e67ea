"""`python -m lib eval run|rate|compare`: a model answers an eval set (scored and stored), people rate the
answers, and two runs on the same set are compared."""

from __future__ import annotations

import argparse
import getpass
import math
import sys
from pathlib import Path
from typing import TYPE_CHECKING

from lib import config
from lib.errors import InputError
from lib.models.spec import DTYPE_CHOICES, MODEL_HELP
from lib.output import emit, progress_bar
from lib.store import open_store

if TYPE_CHECKING:
    from lib.evaluation.compare import Comparison
    from lib.evaluation.evalrun import EvalRunResult
    from lib.store import Store
    from lib.store.eval_ratings import Rating

EXIT_BELOW_THRESHOLD = 2


def register(commands: argparse._SubParsersAction, common: argparse.ArgumentParser) -> None:
    """Add `eval run`, `eval rate` and `eval compare` to `python -m lib eval`."""
    run = commands.add_parser("run", parents=[common], help="a model answers an eval set; scored and stored")
    run.add_argument("--model", default=None, help=MODEL_HELP)
    run.add_argument("--dataset", required=True, help="eval set: JSONL or CSV with a prompt/question and a reference")
    run.add_argument("--max-new-tokens", type=int, default=64, help="longest answer in tokens (default 64)")
    run.add_argument("--batch-size", type=int, default=8, help="prompts answered together (default 8)")
    run.add_argument("--dtype", default="auto", choices=DTYPE_CHOICES, help="compute dtype (auto: per device)")
    run.add_argument("--metrics", default=None, help="comma-separated metrics (default: all)")
    run.add_argument("--system-prompt", default=None, help="a system message before every question")
    run.add_argument("--resamples", type=int, default=1000, help="bootstrap resamples for the 95%% intervals")
    run.add_argument("--baseline", type=int, default=None, metavar="RUN_ID", help="compare with this stored run")
    run.add_argument(
        "--fail-below",
        action="append",
        default=[],
        metavar="METRIC=VALUE",
        help="exit 2 when the metric's score (0-100) is below VALUE; repeatable",
    )
    run.add_argument("--report", default=None, metavar="OUT.html", help="write an HTML report of the run")
    run.set_defaults(run=_run)

    rate = commands.add_parser("rate", parents=[common], help="rate one answer of an eval run (1-5 and/or a thumb)")
    rate.add_argument("run_id", type=int, metavar="RUN_ID", help="the eval run's number")
    rate.add_argument("idx", type=int, metavar="IDX", help="the sample's number within the run, from 0")
    rate.add_argument("--score", type=int, default=None, help="1 (bad) to 5 (good)")
    rate.add_argument("--thumb", choices=("up", "down"), default=None, help="thumbs up or down")
    rate.add_argument("--comment", default="", help="what was right or wrong")
    rate.add_argument("--rater", default=None, help="who rates (default: your user name)")
    rate.set_defaults(run=_rate)

    compare = commands.add_parser("compare", parents=[common], help="two eval runs on the same eval set")
    compare.add_argument("baseline", type=int, metavar="BASELINE", help="the run compared against")
    compare.add_argument("candidate", type=int, metavar="CANDIDATE", help="the run being judged")
    compare.add_argument("--resamples", type=int, default=1000, help="paired-bootstrap resamples (default 1000)")
    compare.set_defaults(run=_compare)


# ---------------------------------------------------------------------------------------------- eval run


def _run(args: argparse.Namespace) -> int:
    from lib.evaluation.compare import compare_runs
    from lib.evaluation.evalrun import load_eval_run
    from lib.evaluation.evalset import read_eval_set
    from lib.evaluation.scoring import parse_metric_names
    from lib.quality.readers import read_dataset_bytes

    # Everything that can be refused is refused before the model loads.
    metrics = parse_metric_names(args.metrics)
    thresholds = parse_thresholds(args.fail_below, metrics)
    for option, value in (("--max-new-tokens", args.max_new_tokens), ("--batch-size", args.batch_size)):
        if value < 1:
            raise InputError(f"{option} must be at least 1 (got {value}); give a positive number.")
    store = open_store()
    baseline = load_eval_run(store, args.baseline) if args.baseline is not None else None
    path = Path(args.dataset).expanduser()
    data = read_dataset_bytes(path)
    eval_set = read_eval_set(data, name=path.name)
    if baseline is not None and baseline.dataset_sha256 != eval_set.sha256:
        raise InputError(
            f"The baseline run #{args.baseline} was made on {baseline.dataset}, not on this {path.name}; "
            "name a baseline run on the same eval set."
        )
    result = _run_as_job(args, data, eval_set.sha256, path, metrics, len(eval_set.items))
    comparison = compare_runs(store, args.baseline, result.run_id, args.resamples) if baseline else None
    if args.report:
        _write_report(args.report, store, result, comparison, thresholds)
    payload = result.to_dict()
    if comparison is not None:
        payload["comparison"] = _comparison_summary(comparison)
    emit(payload, args.json, lambda _: run_text(result, comparison))
    failures = below_thresholds(result, thresholds)
    for line in failures:
        print(f"pitwall: {line}", file=sys.stderr)
    return EXIT_BELOW_THRESHOLD if failures else 0


def _run_as_job(
    args: argparse.Namespace, data: bytes, digest: str, path: Path, metrics: list[str], items: int
) -> EvalRunResult:
    """Run as a recorded job: it shows on the dashboard while it runs, and `jobs cancel` stops it."""
    from lib.evaluation.evalrun import load_eval_run
    from lib.evaluation.jobs_eval import eval_run_params
    from lib.jobs import run_here
    from lib.jobs.inputs import stage_bytes

    staged, _ = stage_bytes(data, path.suffix)  # named by the same SHA-256 as the eval set's
    model = args.model or config.default_model_spec()
    params = eval_run_params(
        staged, digest, path.name, model, args.dtype, args.max_new_tokens, args.batch_size, metrics,
        args.system_prompt, args.resamples,
    )  # fmt: skip

    def waiting(job_id: int, resource: str) -> None:
        print(f"pitwall: job #{job_id} waits for a free slot on {resource}...", file=sys.stderr)

    update, close = progress_bar("answering", unit="item")
    try:
        outcome = run_here(
            "eval-run", params, f"Eval run of {model} on {path.name} ({items} items, terminal)",
            on_wait=waiting, on_progress=update,
        )  # fmt: skip
    finally:
        close()
    return load_eval_run(open_store(), outcome["eval_run"])  # shown as stored, like the page shows it


def parse_thresholds(entries: list[str], metrics: list[str]) -> dict[str, float]:
    """`["f1=40", "bleu=10"]` as {metric: minimum}; each metric must be one the run computes."""
    thresholds: dict[str, float] = {}
    for entry in entries:
        name, _, value = entry.partition("=")
        name = name.strip().lower()
        try:
            minimum = float(value)
        except ValueError:
            raise InputError(
                f"--fail-below takes METRIC=VALUE, e.g. f1=40, not '{entry}'; give a metric and a number."
            ) from None
        if not math.isfinite(minimum):
            raise InputError(f"--fail-below {entry} is not a finite threshold; give a number like f1=40.")
        if name not in metrics:
            raise InputError(
                f"--fail-below names '{name}', which this run does not compute ({', '.join(metrics)}); "
                "name one of those or add it to --metrics."
            )
        thresholds[name] = minimum
    return thresholds


def below_thresholds(result: EvalRunResult, thresholds: dict[str, float]) -> list[str]:
    """One line per metric whose score is below its threshold (a metric that could not be computed fails)."""
    lines = []
    for name, minimum in thresholds.items():
        score = result.score(name)
        if score is None or score < minimum:
            shown = "not computed" if score is None else f"{score:.2f}"
            lines.append(f"{name} is {shown}, below the required {minimum:g} (--fail-below {name}={minimum:g}).")
    return lines


def _write_report(
    path: str,
    store: Store,
    result: EvalRunResult,
    comparison: Comparison | None,
    thresholds: dict[str, float],
) -> None:
    """The run's one-page report (HTML, or PDF for a .pdf name), from the same dicts the page shows."""
    from lib.evaluation.compare import trend
    from lib.evaluation.human import human_summary
    from lib.evaluation.report import write_report

    written = write_report(
        path,
        result.to_dict(),
        comparison=comparison.to_dict() if comparison else None,
        human=human_summary(store, result.run_id).to_dict(),
        thresholds=thresholds,
        trend=trend(store, result.dataset_sha256),
        samples=[sample.to_dict() for sample in result.samples],
    )
    print(f"pitwall: report written to {written}", file=sys.stderr)


def _comparison_summary(comparison: Comparison) -> dict:
    return {
        "baseline": comparison.baseline["run_id"],
        "headline": comparison.headline,
        "deltas": comparison.deltas,
        "changes": comparison.changes,
        "same_weights": comparison.same_weights,
    }


def run_text(result: EvalRunResult, comparison: Comparison | None = None) -> str:
    """An eval run as `eval run` and `eval show` print it: what ran, how long, each metric with its interval."""
    timings = result.timings
    rate = timings.get("tokens_per_second")
    lines = [
        f"eval run #{result.run_id}: {result.model} on {result.dataset} ({len(result.samples)} items); "
        f"{timings.get('generation_seconds', 0):.1f} s answering"
        + (f" at {rate:,.0f} tokens/s" if rate else "")
        + f", {timings.get('scoring_seconds', 0):.1f} s scoring"
    ]
    lines += [_metric_line(name, entry) for name, entry in result.metrics.items()]
    if comparison is not None:
        lines.append(_comparison_text(comparison))
    return "\n".join(lines)


def _metric_line(name: str, entry: dict) -> str:
    score, ci = entry.get("score"), entry.get("ci95") or (None, None)
    interval = f"  (95% CI {ci[0]:.2f}-{ci[1]:.2f})" if None not in ci else ""
    return f"  {name:<12} {score:7.2f}{interval}" if score is not None else f"  {name:<12}     n/a"


# ---------------------------------------------------------------------------------------------- eval rate


def _rate(args: argparse.Namespace) -> None:
    from lib.evaluation.human import THUMBS, rate

    rater = args.rater or _user_name()
    thumb = THUMBS[args.thumb] if args.thumb else None
    rating = rate(open_store(), args.run_id, args.idx, rater, score=args.score, thumb=thumb, comment=args.comment)
    emit(rating, args.json, _rating_text)


def _user_name() -> str:
    try:
        return getpass.getuser()
    except (KeyError, OSError):  # no user name in a bare container
        return "anonymous"


def _rating_text(rating: Rating) -> str:
    given = []
    if rating.score is not None:
        given.append(f"score {rating.score}")
    if rating.thumb is not None:
        given.append("thumb up" if rating.thumb > 0 else "thumb down")
    return f"{rating.rater} rated sample {rating.idx} of eval run #{rating.run_id}: {', '.join(given)}."


# ---------------------------------------------------------------------------------------------- eval compare


def _compare(args: argparse.Namespace) -> None:
    from lib.evaluation.compare import compare_runs

    comparison = compare_runs(open_store(), args.baseline, args.candidate, args.resamples)
    emit(comparison, args.json, _comparison_text)


def _comparison_text(comparison: Comparison) -> str:
    base, cand = comparison.baseline, comparison.candidate
    lines = [
        f"#{cand['run_id']} {cand['model']} against #{base['run_id']} {base['model']} on {comparison.dataset}"
        + ("" if not comparison.same_weights else " (same weights)")
    ]
    for name, delta in comparison.deltas.items():
        low, high = delta["ci95"]
        verdict = "significant" if delta["significant"] else "not significant"
        lines.append(
            f"  {name:<12} {delta['baseline']:7.2f} -> {delta['candidate']:7.2f}  {delta['delta']:+.2f} "
            f"(95% CI {low:+.2f} to {high:+.2f}, p={delta['p_value']:.3f}, {verdict})"
        )
    changes = comparison.changes
    lines.append(
        f"  by {comparison.headline}: {changes['improved']} improved, {changes['regressed']} regressed, "
        f"{changes['same']} the same"
    )
    return "\n".join(lines)
