"""`python -m lib quality ...`: the data quality page from a terminal, as text or `--json`.

quality profile PATH [--text-column C] [--rules FILE | --rule-set NAME] [--report out.html]
                     [--clean OUT] [--save] [--json]      exit 2 when a rule fails (for CI)
quality compare BASELINE CANDIDATE [--json]              drift: lengths, languages, n-grams
quality rules list | show NAME | save NAME FILE | delete NAME
quality runs [--limit N]
"""

from __future__ import annotations

import argparse
from pathlib import Path
from typing import TYPE_CHECKING

from lib.errors import InputError
from lib.files import write_atomically
from lib.models.spec import MODEL_HELP
from lib.output import emit, progress_bar
from lib.settings import load_settings

if TYPE_CHECKING:
    from lib.quality.pipeline import RunSettings
    from lib.quality.profile import ProfileResult
    from lib.quality.readers import Dataset

CHAT_MODES = ("conversation", "message")
EXIT_RULES_FAILED = 2


def register(groups: argparse._SubParsersAction, common: argparse.ArgumentParser) -> None:
    group = groups.add_parser("quality", help="data quality: profile, check, clean and compare datasets")
    commands = group.add_subparsers(dest="command", required=True, metavar="COMMAND")

    prof = commands.add_parser(
        "profile", parents=[common], help="duplicates, near-duplicates, PII, markup, heuristics, lengths, languages"
    )
    _dataset_arguments(prof, "path", "a CSV, TSV, JSONL, JSON, Parquet or text file")
    rules = prof.add_mutually_exclusive_group()
    rules.add_argument("--rules", metavar="FILE", help="a YAML rule set to check; exit 2 when a rule fails")
    rules.add_argument("--rule-set", metavar="NAME", help="a rule set saved in the store (see `quality rules`)")
    prof.add_argument("--report", metavar="OUT.html", help="write a self-contained HTML report")
    prof.add_argument(
        "--clean", metavar="OUT", help="write the cleaned dataset (default steps) to OUT and the dropped rows beside it"
    )
    prof.add_argument("--save", action="store_true", help="store the dataset and the run, as an upload on the page")
    prof.add_argument(
        "--perplexity", type=int, default=0, metavar="ROWS",
        help="score per-row perplexity under --model on a uniform sample of ROWS rows (CCNet's signal; slow on a CPU)",
    )  # fmt: skip
    prof.set_defaults(run=_profile)

    compare = commands.add_parser("compare", parents=[common], help="drift between two datasets")
    _dataset_arguments(compare, "baseline", "the reference dataset")
    compare.add_argument("candidate", help="the dataset compared with it")
    compare.add_argument("--report", metavar="OUT.html", help="write the candidate's HTML report with the drift")
    compare.set_defaults(run=_compare)

    rule_sets = commands.add_parser("rules", help="named rule sets kept in the store")
    actions = rule_sets.add_subparsers(dest="action", required=True, metavar="ACTION")
    actions.add_parser("list", parents=[common], help="the saved rule sets").set_defaults(run=_rules_list)
    show = actions.add_parser("show", parents=[common], help="print a rule set's YAML")
    show.add_argument("name")
    show.set_defaults(run=_rules_show)
    save = actions.add_parser("save", parents=[common], help="save (or replace) a rule set from a YAML file")
    save.add_argument("name")
    save.add_argument("file")
    save.set_defaults(run=_rules_save)
    delete = actions.add_parser("delete", parents=[common], help="delete a rule set")
    delete.add_argument("name")
    delete.set_defaults(run=_rules_delete)

    runs = commands.add_parser("runs", parents=[common], help="stored profiling runs, newest first")
    runs.add_argument("--limit", type=int, default=20)
    runs.set_defaults(run=_runs)


def _dataset_arguments(parser: argparse.ArgumentParser, name: str, help_text: str) -> None:
    parser.add_argument(name, help=help_text)
    parser.add_argument("--text-column", default=None, help="the column to profile (default: detected)")
    parser.add_argument(
        "--chat", default="conversation", choices=CHAT_MODES,
        help="chat data (`messages`): a row per conversation (default) or per message",
    )  # fmt: skip
    parser.add_argument("--threshold", type=float, default=None, help="near-duplicate Jaccard threshold")
    parser.add_argument("--model", default=None, help=f"tokenizer for token counts: {MODEL_HELP}")
    parser.add_argument("--no-tokens", action="store_true", help="skip token counts (no tokenizer is loaded)")


def _existing_file(value: str) -> Path:
    path = Path(value).expanduser()
    if not path.is_file():
        raise InputError(f"{path} is not a file; check the path.")
    return path


def _profile(args: argparse.Namespace) -> int:
    from lib.quality.pipeline import apply_rules, run_settings
    from lib.quality.rules import parse_rule_set

    settings = load_settings()
    path = _existing_file(args.path)
    rules_text, rules_name = _rules_text(args)
    rule_set = parse_rule_set(rules_text, rules_name) if rules_text is not None else None  # before a long profile
    run = run_settings(settings, args.threshold, args.model, not args.no_tokens, perplexity_rows=args.perplexity)
    outputs = [Path(out).expanduser() for out in (args.report, args.clean) if out]
    for out in outputs:
        if not out.parent.is_dir():
            raise InputError(f"Cannot write {out}: the folder {out.parent} does not exist.")
    dataset, result = _profile_with_bar(path, run, args.text_column, args.chat)
    passed = apply_rules(result, rule_set) if rule_set is not None else None
    data = result.to_dict()
    if args.clean:
        data["clean"] = _write_clean(dataset, run.threshold, Path(args.clean).expanduser())
    if args.report:
        from lib.quality.report import render_report

        write_atomically(Path(args.report).expanduser(), render_report(data))
        data["report"] = str(Path(args.report).expanduser())
    if args.save:
        from lib.quality.runs import save_run
        from lib.store import open_store

        data["run_id"] = save_run(open_store(), result, run.to_dict(), rules_name or None, path).id
    emit(data, args.json, profile_text)
    return EXIT_RULES_FAILED if passed is False else 0


def _rules_text(args: argparse.Namespace) -> tuple[str | None, str]:
    if args.rules:
        path = _existing_file(args.rules)
        try:
            return path.read_text(encoding="utf-8"), path.stem
        except (OSError, UnicodeDecodeError) as error:
            raise InputError(f"Cannot read the rule set {path} ({error}); save it as UTF-8 YAML.") from error
    if args.rule_set:
        from lib.store import open_store
        from lib.store.quality_runs import get_rule_set

        stored = get_rule_set(open_store(), args.rule_set)
        if stored is None:
            raise InputError(f"There is no rule set named '{args.rule_set}'; see `python -m lib quality rules list`.")
        return stored.yaml, args.rule_set
    return None, ""


def _write_clean(dataset: Dataset, threshold: float, out: Path) -> dict:
    """Clean with the default steps; write the dataset to `out` and the dropped rows to `<out>.dropped.csv`."""
    from lib.quality.clean import CleanOptions, clean
    from lib.quality.export import dropped_csv, export_bytes

    cleaned = clean(dataset, CleanOptions(), threshold)
    dropped_path = out.with_name(out.name + ".dropped.csv")
    write_atomically(out, export_bytes(dataset, cleaned.frame))
    write_atomically(dropped_path, dropped_csv(cleaned.dropped))
    return {**cleaned.to_dict(), "path": str(out), "dropped_path": str(dropped_path)}


def _compare(args: argparse.Namespace) -> None:
    from lib.quality.drift import compare
    from lib.quality.pipeline import run_settings

    run = run_settings(load_settings(), args.threshold, args.model, not args.no_tokens)
    paths = [_existing_file(value) for value in (args.baseline, args.candidate)]
    results = [_profile_with_bar(path, run, args.text_column, args.chat)[1] for path in paths]
    drift = compare(results[0], results[1]).to_dict()
    if args.report:
        from lib.quality.report import render_report

        write_atomically(Path(args.report).expanduser(), render_report(results[1].to_dict(), drift))
        drift["report"] = str(Path(args.report).expanduser())
    emit(drift, args.json, _drift_text)


def _profile_with_bar(
    path: Path, run: RunSettings, text_column: str | None, chat: str
) -> tuple[Dataset, ProfileResult]:
    """Read and profile the file with a progress bar on the terminal."""
    from lib.quality.pipeline import profile_source

    update, close = progress_bar(f"Profiling {path.name}", unit="‰")
    try:
        return profile_source(path, path.name, run, text_column, chat, lambda done, total, _: update(done, total))
    finally:
        close()


def _drift_text(data: dict) -> str:
    lines = [data["verdict"]]
    for unit, stats in data["lengths"].items():
        lines.append(f"  {unit}: {stats.get('meaning', '')}")
    if "meaning" in data.get("languages", {}):
        lines.append(f"  languages: {data['languages']['meaning']}")
    if "report" in data:
        lines.append(f"  report: {data['report']}")
    return "\n".join(lines)


def _rules_list(args: argparse.Namespace) -> None:
    from lib.store import open_store
    from lib.store.quality_runs import list_rule_sets

    sets = list_rule_sets(open_store())
    emit(
        {"rule_sets": [rule_set.to_dict() for rule_set in sets]},
        args.json,
        lambda _data: (
            "\n".join(f"{rule_set.name}  (updated {rule_set.updated_at})" for rule_set in sets)
            or "No rule sets saved yet; save one with `python -m lib quality rules save NAME FILE`."
        ),
    )


def _rules_show(args: argparse.Namespace) -> None:
    from lib.store import open_store
    from lib.store.quality_runs import get_rule_set

    stored = get_rule_set(open_store(), args.name)
    if stored is None:
        raise InputError(f"There is no rule set named '{args.name}'; see `python -m lib quality rules list`.")
    emit(stored, args.json, lambda rule_set: rule_set.yaml)


def _rules_save(args: argparse.Namespace) -> None:
    from lib.store import open_store
    from lib.store.quality_runs import save_rule_set

    path = _existing_file(args.file)
    try:
        text = path.read_text(encoding="utf-8")
    except (OSError, UnicodeDecodeError) as error:
        raise InputError(f"Cannot read {path} ({error}); save it as UTF-8 YAML.") from error
    stored = save_rule_set(open_store(), args.name, text)
    emit(stored, args.json, lambda rule_set: f"Saved rule set '{rule_set.name}'.")


def _rules_delete(args: argparse.Namespace) -> None:
    from lib.store import open_store
    from lib.store.quality_runs import delete_rule_set

    if not delete_rule_set(open_store(), args.name):
        raise InputError(f"There is no rule set named '{args.name}'; nothing was deleted.")
    emit({"deleted": args.name}, args.json, lambda _data: f"Deleted rule set '{args.name}'.")


def _runs(args: argparse.Namespace) -> None:
    from lib.store import open_store
    from lib.store.quality_runs import list_quality_runs

    runs = list_quality_runs(open_store(), args.limit)
    emit(
        {"runs": [run.to_dict() for run in runs]},
        args.json,
        lambda _data: "\n".join(
            f"#{run.id}  {run.created_at}  {run.dataset}  {run.rows:,} rows" for run in runs
        ) or "No profiling runs stored yet; profile a dataset with --save or on the page.",
    )  # fmt: skip


def profile_text(data: dict) -> str:
    """A short report: the headline counts, the rules, then what the user should know."""
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
    for rule in data["rules"]:
        mark = "PASS" if rule["passed"] else "FAIL"
        lines.append(f"  {mark} {rule['description']}: {rule['observed']}")
    for skipped in data["skipped"][:5]:
        lines.append(f"  skipped line {skipped['line']}: {skipped['reason']}")
    if len(data["skipped"]) > 5:
        lines.append(f"  ... and {len(data['skipped']) - 5} more skipped lines (see --json)")
    for warning in data["warnings"]:
        lines.append(f"  warning: {warning}")
    if "perplexity" in data:
        ppl = data["perplexity"]
        lines.append(
            f"  perplexity ({ppl['model']}, {ppl['rows']:,} rows): median {ppl['median']:.1f}, p95 {ppl['p95']:.1f}, "
            f"{ppl['high']:,} rows unusually high"
        )
    if "clean" in data:
        lines.append(f"  cleaned dataset: {data['clean']['path']} (dropped rows: {data['clean']['dropped_path']})")
    if "report" in data:
        lines.append(f"  report: {data['report']}")
    if "run_id" in data:
        lines.append(f"  stored as run #{data['run_id']}")
    return "\n".join(lines)
