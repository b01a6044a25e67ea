"""`python -m lib model info|path`."""

from __future__ import annotations

import argparse
from typing import TYPE_CHECKING

from lib import config
from lib.models.spec import DTYPE_CHOICES, MODEL_HELP
from lib.output import emit

if TYPE_CHECKING:
    from lib.models.loader import ModelInfo


def register(groups: argparse._SubParsersAction, common: argparse.ArgumentParser) -> None:
    group = groups.add_parser("model", help="the model Pitwall scores and serves")
    commands = group.add_subparsers(dest="command", required=True, metavar="COMMAND")
    info = commands.add_parser("info", parents=[common], help="load the model and report its size, device and dtype")
    info.add_argument("--model", default=None, help=MODEL_HELP)
    info.add_argument("--dtype", default="auto", choices=DTYPE_CHOICES, help="compute dtype (auto: per device)")
    info.set_defaults(run=_info)
    path = commands.add_parser(
        "path", parents=[common], help="print the model's local folder (for `transformers serve`)"
    )
    path.add_argument("--model", default=None, help=MODEL_HELP)
    path.set_defaults(run=_path)


def _info(args: argparse.Namespace) -> None:
    from lib.models.loader import load_model  # torch loads here, not at start-up

    info = load_model(args.model or config.default_model_spec(), dtype=args.dtype).info
    emit(info, args.json, _info_text)


def _info_text(info: ModelInfo) -> str:
    return "\n".join(
        [
            f"model         {info.model} ({info.source}, {info.architecture})",
            f"parameters    {info.parameters:,}",
            f"device        {info.device}",
            f"dtype         {info.dtype}",
            f"context       {info.context_length:,} tokens" if info.context_length else "context       unknown",
            f"loaded in     {info.load_seconds:.2f} s",
            f"folder        {info.folder}",
        ]
    )


def _path(args: argparse.Namespace) -> None:
    from lib.models.loader import model_folder

    folder = model_folder(args.model or config.default_model_spec())
    emit({"path": str(folder)}, args.json, lambda result: result["path"])
