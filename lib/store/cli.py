"""`python -m lib store info`."""

from __future__ import annotations

import argparse

from lib.output import emit
from lib.store.db import StoreInfo, open_store


def register(groups: argparse._SubParsersAction, common: argparse.ArgumentParser) -> None:
    group = groups.add_parser("store", help="Pitwall's database")
    commands = group.add_subparsers(dest="command", required=True, metavar="COMMAND")
    info = commands.add_parser("info", parents=[common], help="path, schema version and row counts")
    info.set_defaults(run=lambda args: emit(open_store().info(), args.json, _text))


def _text(info: StoreInfo) -> str:
    lines = [
        f"database   {info.path}",
        f"schema     version {info.schema_version} of {info.latest_version}, journal {info.journal_mode}",
        f"size       {info.size_bytes / 1024:.0f} KiB",
    ]
    lines += [f"  {name:<20} {count:>8,} rows" for name, count in info.tables.items()]
    return "\n".join(lines)
