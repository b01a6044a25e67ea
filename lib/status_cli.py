"""`python -m lib status`: the Overview's tiles in a terminal."""

from __future__ import annotations

import argparse

from lib.output import emit
from lib.settings import load_settings
from lib.status import AreaStatus, ago, pit_wall
from lib.store import open_store


def register(groups: argparse._SubParsersAction, common: argparse.ArgumentParser) -> None:
    command = groups.add_parser("status", parents=[common], help="each area's state: ok, warning, critical, no data")
    command.set_defaults(run=_status, command="status")


def _status(args: argparse.Namespace) -> None:
    tiles = pit_wall(open_store(), load_settings())
    emit([tile.to_dict() for tile in tiles], args.json, lambda _: "\n".join(map(_line, tiles)))


def _line(tile: AreaStatus) -> str:
    when = f" ({ago(tile.updated_at)})" if tile.updated_at else ""
    return f"{tile.title:<13} {tile.state.upper():<9} {tile.headline}{when}: {tile.detail}"
