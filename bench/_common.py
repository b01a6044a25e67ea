"""Shared bits for bench scripts: run from the repo root or anywhere."""

import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
if str(ROOT) not in sys.path:
    sys.path.insert(0, str(ROOT))


def report(name: str, ours: float, baseline: float, unit: str, higher_is_better: bool) -> None:
    """One line: ours, the baseline, and how many times better ours is."""
    ratio = ours / baseline if higher_is_better else baseline / ours
    print(f"{name}: ours {ours:,.3f} {unit} vs baseline {baseline:,.3f} {unit} -> {ratio:.2f}x")
