"""Batches that halve on out-of-memory: every item once, in order, and one sentence when one item is too big."""

from __future__ import annotations

import pytest

from lib.errors import ModelError
from lib.models.batching import halving_batches


class Full(Exception):
    """Stands in for an out-of-memory error."""


def test_a_batch_that_runs_out_of_memory_is_retried_in_halves_and_no_item_is_lost_or_doubled() -> None:
    calls = []

    def run(start: int, stop: int, size: int) -> list[int]:
        calls.append((start, stop))
        if stop - start > 2:
            raise Full
        return list(range(start, stop))

    batches = list(halving_batches(7, 8, run, lambda e: isinstance(e, Full), lambda e, a, b: ModelError("big")))
    assert [item for *_, items in batches for item in items] == list(range(7))
    assert calls[:3] == [(0, 7), (0, 4), (0, 2)]  # 8 -> 4 -> 2 windows per pass, the same items each time
    assert {size for _, _, size, _ in batches} == {2}


def test_one_item_too_big_is_the_callers_sentence_and_other_errors_pass_through() -> None:
    def full(start: int, stop: int, size: int) -> None:
        raise Full

    with pytest.raises(ModelError, match="item 0"):
        list(halving_batches(3, 4, full, lambda e: isinstance(e, Full), lambda e, a, b: ModelError(f"item {a}")))

    def broken(start: int, stop: int, size: int) -> None:
        raise ValueError("a bug, not memory")

    with pytest.raises(ValueError):
        list(halving_batches(3, 4, broken, lambda e: isinstance(e, Full), lambda e, a, b: ModelError("big")))
