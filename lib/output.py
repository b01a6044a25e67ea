"""What every `python -m lib` command shares: its common options, JSON or text output, a progress bar.

Kept apart from `lib/cli.py` (which assembles the command tree from every group) so that the
groups' `cli.py` modules and the command tree do not import each other.
"""

from __future__ import annotations

import argparse
import sys
from collections.abc import Callable
from typing import Any

from lib import jsonsafe


def common_options() -> argparse.ArgumentParser:
    """The options every command takes, placed after the command name."""
    parent = argparse.ArgumentParser(add_help=False)
    parent.add_argument("--json", action="store_true", help="print machine-readable JSON")
    parent.add_argument("--debug", action="store_true", help="show the traceback when something fails")
    return parent


def emit(result: Any, as_json: bool, as_text: Callable[[Any], str]) -> None:
    """Print `result` as strict JSON (its `to_dict()`) or as the group's readable text."""
    if as_json:
        payload = result.to_dict() if hasattr(result, "to_dict") else result
        print(jsonsafe.dumps(payload, indent=2))
    else:
        print(as_text(result))


def progress_bar(
    description: str, enabled: bool = True, unit: str = "window"
) -> tuple[Callable[[int, int], None], Callable[[], None]]:
    """A tqdm bar on stderr (shown only on a terminal) as a `progress(done, total)` callback and a closer."""
    from tqdm import tqdm

    bar = tqdm(desc=description, unit=unit, file=sys.stderr, disable=None if enabled else True, leave=False)

    def update(done: int, total: int) -> None:
        bar.total = total
        bar.n = done
        bar.refresh()

    return update, bar.close
