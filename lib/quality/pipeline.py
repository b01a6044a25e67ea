"""One profiling run as the page's job and the CLI both do it: settings -> options, read, profile, rules.

Kept apart from `profile.py` (the checks themselves) so that both callers build their options from the
same settings and check rules the same way, and neither knows how the other reports progress.
"""

from __future__ import annotations

import random
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING

import numpy as np

from lib.errors import InputError
from lib.quality.profile import ProfileOptions, ProfileResult, profile
from lib.quality.readers import Dataset, read_dataset
from lib.settings import Settings

if TYPE_CHECKING:
    from lib.quality.rules import RuleSet

FAMILY_SETTINGS = {
    "gopher_quality": "quality.gopher",
    "gopher_repetition": "quality.gopher",
    "c4": "quality.c4",
    "fineweb": "quality.fineweb",
}
THRESHOLD_RANGE = (0.3, 1.0)
READ_SHARE = 0.1  # of the progress bar: reading is ~10% of a profile's time on large files
PERPLEXITY_SHARE = 0.5  # a model's forward passes dominate whatever they are added to


@dataclass(frozen=True)
class RunSettings:
    """What a run was asked to do, as stored with it: the knobs that change its numbers."""

    threshold: float
    families: tuple[str, ...]
    sample_rows: int
    model: str | None  # the tokenizer for token counts; None: no token counts
    perplexity_rows: int = 0  # rows scored for per-row perplexity (a uniform sample); 0: not scored
    perplexity_model: str | None = None

    def to_dict(self) -> dict:
        return {
            "near_duplicate_threshold": self.threshold,
            "heuristic_families": list(self.families),
            "sample_rows": self.sample_rows,
            "tokenizer": self.model,
            "perplexity_rows": self.perplexity_rows,
            "perplexity_model": self.perplexity_model,
        }


def run_settings(
    settings: Settings,
    threshold: float | None = None,
    model: str | None = None,
    tokens: bool = True,
    families: tuple[str, ...] | None = None,
    perplexity_rows: int = 0,
) -> RunSettings:
    """The run's knobs: what was asked, else the settings (`quality.*`), checked."""
    chosen = settings["quality.near_duplicate_threshold"] if threshold is None else float(threshold)
    low, high = THRESHOLD_RANGE
    if not low <= chosen <= high:
        raise InputError(f"The near-duplicate threshold must be between {low} and {high}, not {chosen:g}.")
    if families is None:
        families = tuple(family for family, key in FAMILY_SETTINGS.items() if settings[key])
    unknown = sorted(set(families) - set(FAMILY_SETTINGS))
    if unknown:
        raise InputError(f"Unknown heuristic families {unknown}; choose from {', '.join(FAMILY_SETTINGS)}.")
    if perplexity_rows < 0:
        raise InputError(f"The rows to score for perplexity must be 0 or more, not {perplexity_rows}.")
    from lib import config

    model = model or config.default_model_spec()
    return RunSettings(
        chosen, tuple(families), int(settings["quality.sample_rows"]), model if tokens else None, int(perplexity_rows),
        model if perplexity_rows else None,
    )  # fmt: skip


def profile_source(
    source: Path | bytes,
    name: str,
    run: RunSettings,
    text_column: str | None = None,
    chat: str = "conversation",
    progress: Callable[[int, int, str], None] | None = None,
) -> tuple[Dataset, ProfileResult]:
    """Read the file (or an upload's bytes) and profile it; `progress(done, total, step)` over the whole run."""
    report = progress or (lambda *_: None)
    scale = 1000
    report(0, scale, "reading")
    with ThreadPoolExecutor(1) as loader:
        # The tokenizer loads (importing transformers and torch: ~2.5 s) while the file is read.
        tokenizer_future = loader.submit(_load_tokenizer, run.model) if run.model is not None else None
        dataset = read_dataset(source, name, text_column, chat)
        report(0, scale, f"loading the {run.model} tokenizer" if tokenizer_future else "profiling")
        tokenizer = tokenizer_future.result() if tokenizer_future else None
    read_part = int(scale * READ_SHARE)
    profile_end = int(scale * (1 - PERPLEXITY_SHARE)) if run.perplexity_rows else scale
    report(read_part, scale, "profiling")

    def profiled(done: int, total: int, step: str) -> None:
        fraction = done / total if total else 0.0
        report(read_part + int((profile_end - read_part) * fraction), scale, step)

    options = ProfileOptions(run.threshold, run.families, run.sample_rows, tokenizer, run.model)
    result = profile(dataset, options, profiled)
    if run.perplexity_rows:
        report(profile_end, scale, f"loading {run.perplexity_model} for perplexity")

        def scored(done: int, total: int) -> None:
            share = done / total if total else 0.0
            report(profile_end + int((scale - profile_end) * share), scale, f"perplexity: row {done:,} of {total:,}")

        add_perplexity(result, run.perplexity_model or "", run.perplexity_rows, scored)
    return dataset, result


def _load_tokenizer(model: str) -> object:
    from lib.models.loader import load_tokenizer

    return load_tokenizer(model)


def add_perplexity(
    result: ProfileResult, model: str, rows: int, progress: Callable[[int, int], None] | None = None
) -> None:
    """Score a uniform sample of `rows` non-empty rows under `model` (CCNet's signal); kept on the result."""
    from lib.models.cache import shared_model
    from lib.quality.lengths import robust_outliers
    from lib.quality.perplexity import DEFAULT_MAX_TOKENS, row_perplexities

    empty = set(result.empty)
    candidates = [row for row in range(len(result.texts)) if row not in empty]
    chosen = sorted(random.Random(0).sample(candidates, rows)) if len(candidates) > rows else candidates
    if not chosen:
        return
    texts = [text or "" for text in result.texts.take(chosen)]
    values = np.asarray(row_perplexities(shared_model(model), texts, progress=progress), dtype=float)
    scored = np.isfinite(values)
    logs = np.where(scored, np.log(np.where(scored, values, 1.0)), np.nan)
    # A robust outlier above, and at least twice the median: on near-uniform text the MAD is tiny, and a
    # row 20% above the rest is not what anyone means by garbled.
    floor = np.nanmedian(logs) + np.log(2)
    high = [chosen[i] for i in robust_outliers(logs, log_scale=False) if logs[i] > floor]
    finite = values[scored]
    p5, median, p95 = np.percentile(finite, [5, 50, 95]) if finite.size else (np.nan,) * 3
    edges = np.unique(np.round(np.geomspace(max(1.0, finite.min()), finite.max() + 1, 31), 1)) if finite.size else []
    counts = np.histogram(finite, bins=edges)[0].tolist() if len(edges) > 1 else []
    result.perplexity_high = high
    result.perplexity = {
        "model": model,
        "rows": int(scored.sum()),
        "of": len(candidates),
        "method": "every non-empty row" if len(chosen) == len(candidates) else "a uniform random sample (seed 0)",
        "median": float(median), "p5": float(p5), "p95": float(p95),
        "high": len(high),
        "histogram": {"edges": [float(edge) for edge in edges], "counts": counts},
        "max_tokens": DEFAULT_MAX_TOKENS,
    }  # fmt: skip


def apply_rules(result: ProfileResult, rule_set: RuleSet) -> bool | None:
    """Check a parsed rule set against the result (kept in `result.rules`); True when every rule passed."""
    from lib.quality.rules import check_rules, rules_passed

    outcomes = check_rules(rule_set, result)
    result.rules = [outcome.to_dict() for outcome in outcomes]
    return rules_passed(outcomes)
