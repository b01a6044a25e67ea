"""`python -m lib quality profile PATH`: the data quality checks from a terminal, as text or `--json`."""

from __future__ import annotations

import argparse
from pathlib import Path

from lib.errors import InputError
from lib.models.spec import MODEL_HELP
from lib.output import emit, progress_bar
from lib.settings import load_settings

CHAT_MODES = ("conversation", "message")


def register(groups: argparse._SubParsersAction, common: argparse.ArgumentParser) -> None:
    group = groups.add_parser("quality", help="data quality: profile a dataset's text")
    commands = group.add_subparsers(dest="command", required=True, metavar="COMMAND")
    prof = commands.add_parser(
        "profile", parents=[common], help="duplicates, near-duplicates, PII, markup, heuristics, lengths, languages"
    )
    prof.add_argument("path", help="a CSV, TSV, JSONL, JSON, Parquet or text file")
    prof.add_argument("--text-column", default=None, help="the column to profile (default: detected)")
    prof.add_argument(
        "--chat", default="conversation", choices=CHAT_MODES, help="chat data (`messages`): a row per conversation "
        "(default) or per message"
    )  # fmt: skip
    prof.add_argument(
        "--threshold", type=float, default=None, help="near-duplicate Jaccard threshold (default: settings)"
    )
    prof.add_argument("--model", default=None, help=f"tokenizer for token counts: {MODEL_HELP}")
    prof.add_argument("--no-tokens", action="store_true", help="skip token counts (no tokenizer is loaded)")
    prof.set_defaults(run=_profile)


def _profile(args: argparse.Namespace) -> None:
    from lib.quality.profile import ProfileOptions, profile
    from lib.quality.readers import read_dataset

    settings = load_settings()
    threshold = settings["quality.near_duplicate_threshold"] if args.threshold is None else args.threshold
    if not 0.3 <= threshold <= 1.0:
        raise InputError(f"--threshold must be between 0.3 and 1.0, not {threshold:g}.")
    path = Path(args.path)
    if not path.is_file():
        raise InputError(f"{path} is not a file; check the path.")
    dataset = read_dataset(path, path.name, args.text_column, args.chat)
    families = tuple(
        family
        for family, key in (
            ("gopher_quality", "quality.gopher"), ("gopher_repetition", "quality.gopher"), ("c4", "quality.c4"),
            ("fineweb", "quality.fineweb"),
        )
        if settings[key]
    )  # fmt: skip
    tokenizer = None
    if not args.no_tokens:
        from lib.models.loader import load_tokenizer

        tokenizer = load_tokenizer(args.model)
    options = ProfileOptions(threshold, families, settings["quality.sample_rows"], tokenizer, args.model)
    update, close = progress_bar(f"Profiling {path.name}", unit="step")
    try:
        result = profile(dataset, options, lambda done, total, _step: update(done, total))
    finally:
        close()
    emit(result, args.json, profile_text)


def profile_text(result: object) -> str:
    """A short report: the headline counts, then every finding with rows."""
    data = result.to_dict()  # type: ignore[attr-defined]
    lines = [
        f"{data['dataset']}: {data['rows']:,} rows ({data['format']}, text column {data['text_column']!r}), "
        f"profiled in {data['seconds']:.1f} s",
        f"  empty {data['empty']:,} · exact duplicates {data['exact_duplicates']:,} · near-duplicates "
        f"{data['near_duplicates']:,} in {data['near_duplicate_clusters']:,} clusters · length outliers "
        f"{data['length_outliers']:,}",
        "  PII rows: " + ", ".join(f"{kind} {count:,}" for kind, count in data["pii"].items()),
        "  languages: "
        + ", ".join(f"{lang} {count:,}" for lang, count in list(data["languages"].items())[:6])
        + f" ({data['sample']['method']}, {data['sample']['rows']:,} rows)",
    ]
    failing = {rule: count for rule, count in data["heuristics"].items() if count}
    if failing:
        lines.append("  heuristics failed: " + ", ".join(f"{rule} {count:,}" for rule, count in failing.items()))
    for skipped in data["skipped"][:5]:
        lines.append(f"  skipped line {skipped['line']}: {skipped['reason']}")
    if len(data["skipped"]) > 5:
        lines.append(f"  ... and {len(data['skipped']) - 5} more skipped lines (see --json)")
    for warning in data["warnings"]:
        lines.append(f"  warning: {warning}")
    return "\n".join(lines)
