"""`python -m lib <group> <command>`: the dashboard's work from a terminal, as text or `--json`.

Failures print one sentence on stderr and exit non-zero; `--debug` shows the traceback.
"""

from __future__ import annotations

import argparse
import sys

from lib.errors import PitwallError, first_line
from lib.jobs.model import JobCancelled
from lib.logs import log, log_path, log_unexpected, setup_logging
from lib.output import common_options

EXIT_FAILED = 1
EXIT_UNEXPECTED = 3
EXIT_CANCELLED = 4


def build_parser() -> argparse.ArgumentParser:
    """The full command tree; each group registers its own commands."""
    from lib import settings_cli, status_cli
    from lib.alerts import cli as alerts_cli
    from lib.evaluation import cli as evaluation_cli
    from lib.gpu import cli as gpu_cli
    from lib.jobs import cli as jobs_cli
    from lib.latency import cli as latency_cli
    from lib.models import cli as models_cli
    from lib.quality import cli as quality_cli
    from lib.samples import cli as samples_cli
    from lib.security import cli as security_cli
    from lib.store import cli as store_cli

    parser = argparse.ArgumentParser(prog="python -m lib", description="Pitwall from the command line.")
    groups = parser.add_subparsers(dest="group", required=True, metavar="GROUP")
    common = common_options()
    modules = (
        status_cli,
        gpu_cli,
        quality_cli,
        models_cli,
        evaluation_cli,
        latency_cli,
        jobs_cli,
        alerts_cli,
        settings_cli,
        samples_cli,
        store_cli,
        security_cli,
    )
    for module in modules:
        module.register(groups, common)
    return parser


def main(argv: list[str] | None = None) -> int:
    """Run one command; return the process exit code."""
    parser = build_parser()
    args = parser.parse_args(argv)
    setup_logging("cli")
    try:
        return args.run(args) or 0  # a command may return its own code (2: a data-quality rule failed)
    except JobCancelled as error:
        log.info("`%s %s` stopped: %s", args.group, args.command, error)
        print(f"pitwall: {error}", file=sys.stderr)
        return EXIT_CANCELLED
    except PitwallError as error:
        log.info("`%s %s` failed: %s", args.group, args.command, error)
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
        # A job has already logged its failure under an id; anything else is logged here.
        error_id = getattr(error, "pitwall_error_id", None) or log_unexpected(error, f"`{args.group} {args.command}`")
        print(
            f"pitwall: unexpected {type(error).__name__}: {first_line(error)}; the log ({log_path()}) has the "
            f"traceback under error id {error_id} (or rerun with --debug).",
            file=sys.stderr,
        )
        return EXIT_UNEXPECTED
