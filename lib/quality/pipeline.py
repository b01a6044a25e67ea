"""One profiling run as the page's job and the CLI both do it: settings -> options, read, profile, rules.

Kept apart from `profile.py` (the checks themselves) so that both callers build their options from the
same settings and check rules the same way, and neither knows how the other reports progress.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING

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


@dataclass(frozen=True)
class RunSettings:
    """What a run was asked to do, as stored with it: the knobs that change its numbers."""

    threshold: float
    families: tuple[str, ...]
    sample_rows: int
    model: str | None  # the tokenizer for token counts; None: no token counts

    def to_dict(self) -> dict:
        return {
            "near_duplicate_threshold": self.threshold,
            "heuristic_families": list(self.families),
            "sample_rows": self.sample_rows,
            "tokenizer": self.model,
        }


def run_settings(
    settings: Settings,
    threshold: float | None = None,
    model: str | None = None,
    tokens: bool = True,
    families: tuple[str, ...] | None = None,
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
    if tokens and model is None:
        from lib import config

        model = config.default_model_spec()
    return RunSettings(chosen, tuple(families), int(settings["quality.sample_rows"]), model if tokens else None)


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
    dataset = read_dataset(source, name, text_column, chat)
    tokenizer = None
    if run.model is not None:
        from lib.models.loader import load_tokenizer

        report(0, scale, f"loading the {run.model} tokenizer")
        tokenizer = load_tokenizer(run.model)
    read_part = int(scale * READ_SHARE)
    report(read_part, scale, "profiling")

    def profiled(done: int, total: int, step: str) -> None:
        fraction = done / total if total else 0.0
        report(read_part + int((scale - read_part) * fraction), scale, step)

    options = ProfileOptions(run.threshold, run.families, run.sample_rows, tokenizer, run.model)
    return dataset, profile(dataset, options, profiled)


def apply_rules(result: ProfileResult, rule_set: RuleSet) -> bool | None:
    """Check a parsed rule set against the result (kept in `result.rules`); True when every rule passed."""
    from lib.quality.rules import check_rules, rules_passed

    outcomes = check_rules(rule_set, result)
    result.rules = [outcome.to_dict() for outcome in outcomes]
    return rules_passed(outcomes)
