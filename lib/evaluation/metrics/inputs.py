"""What Pitwall's text metric modules share: their input features and sacrebleu's reference streams.

The metric scripts are loaded by evaluate from their folders, but they run inside Pitwall, so they import
this module by its absolute name (evaluate copies only the script itself).
"""

from __future__ import annotations

from typing import Any


def text_pair_features() -> Any:
    """`predictions`: a string each; `references`: one or more strings each (the count may vary)."""
    import datasets

    return datasets.Features(
        {"predictions": datasets.Value("string"), "references": datasets.Sequence(datasets.Value("string"))}
    )


def reference_streams(references: list[list[str]]) -> list[list[str | None]]:
    """Per-item reference lists as sacrebleu's equal-length streams, padded with None (a missing reference)."""
    width = max(len(refs) for refs in references)
    return [[refs[i] if i < len(refs) else None for refs in references] for i in range(width)]
