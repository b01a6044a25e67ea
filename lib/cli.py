"""`python -m lib <group> <command>`: the dashboard's work from a terminal, as text or `--json`.

Failures print one sentence on stderr and exit non-zero; `--debug` shows the traceback.
"""

from __future__ import annotations

import argparse
import json
import sys
from collections.abc import Callable
from typing import Any

from lib.errors import PitwallError, first_line

EXIT_FAILED = 1
EXIT_UNEXPECTED = 3


def common_options() -> argparse.ArgumentParser:
    """The options every command takes, placed after the command name."""
    parent = argparse.ArgumentParser(add_help=False)
    parent.add_argument("--json", action="store_true", help="print machine-readable JSON")
    parent.add_argument("--debug", action="store_true", help="show the traceback when something fails")
    return parent


def build_parser() -> argparse.ArgumentParser:
    """The full command tree; each group registers its own commands."""
    from lib.evaluation import cli as evaluation_cli
    from lib.models import cli as models_cli
    from lib.samples import cli as samples_cli
    from lib.store import cli as store_cli

    parser = argparse.ArgumentParser(prog="python -m lib", description="Pitwall from the command line.")
    groups = parser.add_subparsers(dest="group", required=True, metavar="GROUP")
    common = common_options()
    for module in (models_cli, evaluation_cli, samples_cli, store_cli):
        module.register(groups, common)
    return parser


def emit(result: Any, as_json: bool, as_text: Callable[[Any], str]) -> None:
    """Print `result` as JSON (its `to_dict()`) or as the group's readable text."""
    if as_json:
        payload = result.to_dict() if hasattr(result, "to_dict") else result
        print(json.dumps(payload, indent=2, default=str))
    else:
        print(as_text(result))


def progress_bar(description: str, enabled: bool = True) -> tuple[Callable[[int, int], None], Callable[[], None]]:
    """A tqdm bar on stderr (shown only on a terminal) as a `progress(done, total)` callback and a closer."""
    from tqdm import tqdm

    bar = tqdm(desc=description, unit="window", file=sys.stderr, disable=None if enabled else True, leave=False)

    def update(done: int, total: int) -> None:
        bar.total = total
        bar.n = done
        bar.refresh()

    return update, bar.close


def main(argv: list[str] | None = None) -> int:
    """Run one command; return the process exit code."""
    parser = build_parser()
    args = parser.parse_args(argv)
    try:
        args.run(args)
        return 0
    except PitwallError as error:
        if args.debug:
            raise
        print(f"pitwall: {error}", file=sys.stderr)
        return EXIT_FAILED
    except KeyboardInterrupt:
        print("pitwall: interrupted; nothing was stored.", file=sys.stderr)
        return 130
    except Exception as error:  # the last line of defence: a sentence, never a traceback
        if args.debug:
            raise
        print(
            f"pitwall: unexpected {type(error).__name__}: {first_line(error)}; "
            "rerun with --debug for the traceback and report it.",
            file=sys.stderr,
        )
        return EXIT_UNEXPECTED
