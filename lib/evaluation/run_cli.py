"""`python -m lib eval run`: a model answers an eval set, scored and stored (not built yet)."""

from __future__ import annotations

import argparse


def register(commands: argparse._SubParsersAction, common: argparse.ArgumentParser) -> None:
    """Add the command to `python -m lib eval`."""
