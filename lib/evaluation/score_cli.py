"""`python -m lib eval score`: predictions against references, every metric with its bootstrap 95% interval.

Only argparse is imported here: `python -m lib --help` builds every command, and evaluate takes seconds to import.
"""

from __future__ import annotations

import argparse

METRIC_NAMES = "bleu,chrf,rouge_l,f1,exact_match"


def register(commands: argparse._SubParsersAction, common: argparse.ArgumentParser) -> None:
    """Add the command to `python -m lib eval`."""
    score = commands.add_parser(
        "score", parents=[common], help="score predictions against references (BLEU, chrF, ROUGE-L, F1, EM)"
    )
    score.add_argument("--predictions", required=True, help="one prediction per line, or JSONL")
    score.add_argument("--references", required=True, help="one reference per line, or JSONL (lists for several)")
    score.add_argument("--metrics", default=None, help=f"comma-separated metrics (default all: {METRIC_NAMES})")
    score.add_argument("--resamples", type=int, default=1000, help="bootstrap resamples for the 95%% intervals")
    score.add_argument("--seed", type=int, default=0, help="seed of the bootstrap resamples")
    score.set_defaults(run=_score)


def _score(args: argparse.Namespace) -> None:
    from lib.evaluation.scoring import parse_metric_names, read_pairs, score_corpus
    from lib.output import emit

    metrics = parse_metric_names(args.metrics)  # a bad name fails before the files are read
    predictions, references = read_pairs(args.predictions, args.references)
    scores = score_corpus(predictions, references, metrics, resamples=args.resamples, seed=args.seed)
    payload = {"samples": len(predictions), "metrics": {name: score.to_dict() for name, score in scores.items()}}
    emit(payload, args.json, _as_text)


def _as_text(payload: dict) -> str:
    lines = [f"{payload['samples']:,} items; 95% bootstrap intervals", f"{'metric':<12} {'score':>7}  95% interval"]
    for name, score in payload["metrics"].items():
        low, high = score["ci95"]
        lines.append(f"{name:<12} {score['score']:>7.2f}  {low:.2f}-{high:.2f}")
    lines += [f"{name} signature: {s['signature']}" for name, s in payload["metrics"].items() if "signature" in s]
    return "\n".join(lines)
