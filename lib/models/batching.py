"""Batches that halve when memory runs out: the one retry loop behind perplexity scoring and answer generation.

Imports only the standard library and torch, so GPU code in lib/ can use it on the GPU machine's python3.
"""

from __future__ import annotations

import logging
from collections.abc import Callable, Iterator
from typing import TypeVar

import torch

T = TypeVar("T")
log = logging.getLogger(__name__)


def halving_batches(
    count: int,
    size: int,
    run: Callable[[int, int, int], T],
    out_of_memory: Callable[[BaseException], bool],
    too_big: Callable[[BaseException, int, int], Exception],
) -> Iterator[tuple[int, int, int, T]]:
    """Run items [start, stop) in batches of `size`, yielding (start, stop, size, result) for each.

    `run(start, stop, size)` does one batch. An error that `out_of_memory` recognises halves the size and
    retries the same items, so nothing is counted twice; at size 1 it is `too_big(error, start, stop)`.
    """
    start = 0
    while start < count:
        stop = min(count, start + size)
        try:
            result = run(start, stop, size)
        except Exception as error:
            if not out_of_memory(error):
                raise
            if size == 1:
                raise too_big(error, start, stop) from error
            size = max(1, size // 2)
            log.warning("Out of memory at %d items per batch; retrying with %d.", stop - start, size)
            if torch.cuda.is_available():
                torch.cuda.empty_cache()
            continue
        yield start, stop, size, result
        start = stop
