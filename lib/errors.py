"""User-facing errors: each carries one sentence that says what happened and what to do."""

from __future__ import annotations


class PitwallError(Exception):
    """An expected failure whose message is shown to the user as it is, without a traceback."""


class InputError(PitwallError):
    """The user's input (text, file, option) cannot be used."""


class ModelError(PitwallError):
    """A model cannot be found, fetched or loaded."""


class StoreError(PitwallError):
    """The Pitwall database cannot be opened or used."""


def first_line(error: BaseException) -> str:
    """The first line of an exception's message (or its type name), for one-sentence errors."""
    lines = str(error).strip().splitlines()
    return lines[0].rstrip(".") if lines else type(error).__name__
