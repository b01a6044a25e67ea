"""`python -m lib settings show|set`."""

from __future__ import annotations

import argparse

from lib.output import emit
from lib.settings import Effective, Settings, load_settings, set_setting


def register(groups: argparse._SubParsersAction, common: argparse.ArgumentParser) -> None:
    group = groups.add_parser("settings", help="thresholds, retention, SLOs, webhooks, allowed models")
    commands = group.add_subparsers(dest="command", required=True, metavar="COMMAND")
    show = commands.add_parser("show", parents=[common], help="every setting, its value and where it came from")
    show.set_defaults(run=lambda args: emit(load_settings(), args.json, settings_text))
    change = commands.add_parser(
        "set", parents=[common], help="change one setting in settings.toml (secrets go to secrets.toml, 0600)"
    )
    change.add_argument("key", help="dotted name, e.g. jobs.heartbeat_seconds")
    change.add_argument("value", help="the new value; lists are comma-separated")
    change.set_defaults(run=lambda args: emit(set_setting(args.key, args.value), args.json, _changed_text))


def settings_text(settings: Settings) -> str:
    rows = [entry.to_dict() for entry in settings.entries.values()]
    width = max(len(row["key"]) for row in rows)
    lines = [f"{row['key']:<{width}}  {_shown(row['value']):<24} {row['source']}" for row in rows]
    lines += [f"warning: {warning}" for warning in settings.warnings]
    return f"# {settings.path}\n" + "\n".join(lines)


def _changed_text(entry: Effective) -> str:
    note = "" if entry.source in ("file", "secrets file") else f" (but ${entry.env_var} overrides it: {entry.source})"
    return f"{entry.key} = {_shown(entry.to_dict()['value'])}{note}"


def _shown(value: object) -> str:
    return ", ".join(value) if isinstance(value, list) else str(value)
