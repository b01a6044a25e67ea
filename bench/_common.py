"""Shared bits for bench scripts: run from the repo root or anywhere."""

from __future__ import annotations

import sys
from pathlib import Path
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    import numpy as np

ROOT = Path(__file__).resolve().parents[1]
if str(ROOT) not in sys.path:
    sys.path.insert(0, str(ROOT))


def report(name: str, ours: float, baseline: float, unit: str, higher_is_better: bool) -> None:
    """One line: ours, the baseline, and how many times better ours is."""
    ratio = ours / baseline if higher_is_better else baseline / ours
    print(f"{name}: ours {ours:,.3f} {unit} vs baseline {baseline:,.3f} {unit} -> {ratio:.2f}x")


def vocabulary(common_words: str, rng: np.random.Generator, size: int = 4000, syllables: tuple[int, int] = (1, 4)):
    """The common words, then pronounceable made-up ones until `size`, most frequent first (for Zipf draws)."""
    import numpy as np

    parts = [c + v for c in "bcdfghklmnprstvwz" for v in "aeiou"] + ["th", "ch", "sh", "er", "an", "in", "on"]
    words = list(dict.fromkeys(common_words.split()))
    seen = set(words)
    while len(words) < size:
        word = "".join(rng.choice(parts, size=rng.integers(*syllables)))
        if word not in seen:
            seen.add(word)
            words.append(word)
    return np.array(words, dtype=object)
