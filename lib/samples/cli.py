"""`python -m lib samples write DIR`."""

from __future__ import annotations

import argparse

from lib.config import samples_dir
from lib.output import emit
from lib.samples.writer import SamplesManifest, write_samples


def register(groups: argparse._SubParsersAction, common: argparse.ArgumentParser) -> None:
    group = groups.add_parser("samples", help="demo data for every page")
    commands = group.add_subparsers(dest="command", required=True, metavar="COMMAND")
    write = commands.add_parser("write", parents=[common], help="write the demo datasets into DIR")
    write.add_argument("dir", nargs="?", default=None, help="folder to write into (default $PITWALL_HOME/samples)")
    write.add_argument("--seed", type=int, default=7, help="random seed; the same seed writes the same files")
    write.set_defaults(run=lambda args: emit(write_samples(args.dir or samples_dir(), args.seed), args.json, _text))


def _text(manifest: SamplesManifest) -> str:
    lines = [f"Wrote {manifest.conversations:,} conversations and {manifest.qa_items} QA items to {manifest.folder}:"]
    lines += [f"  {path}" for path in manifest.files.values()]
    lines.append("Planted problems: " + ", ".join(f"{name} {count}" for name, count in manifest.planted.items()))
    return "\n".join(lines)
