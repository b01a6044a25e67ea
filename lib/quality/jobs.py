"""Data quality as jobs: profile a staged upload, clean it, or compare two runs, with progress and stop.

Each job stores what it made before it reports success (a run in the store, files under the run's
export folder), so the page that shows the result always finds it. Stopping is the progress
callback raising JobCancelled; nothing is stored before the last step.
"""

from __future__ import annotations

from dataclasses import asdict, dataclass, field
from pathlib import Path

from lib.errors import InputError
from lib.jobs import JobContext
from lib.quality.pipeline import RunSettings, apply_rules, profile_source
from lib.quality.rules import parse_rule_set


@dataclass(frozen=True)
class ProfileJob:
    """The parameters of a profiling job, as stored JSON."""

    data_file: str  # the staged upload (lib.jobs.inputs.stage_bytes)
    name: str  # the file's name as the user knows it
    text_column: str | None
    chat: str
    threshold: float
    families: list[str] = field(default_factory=list)
    sample_rows: int = 100_000
    model: str | None = None
    rule_set: str | None = None  # a stored rule set's name
    perplexity_rows: int = 0  # per-row perplexity on a sample of this many rows; 0: off
    perplexity_model: str | None = None


def profile_params(job: ProfileJob) -> dict:
    """The job's parameters as stored JSON."""
    return asdict(job)


def profile_job(context: JobContext, **params: object) -> dict:
    """Read and profile the staged file, check its rule set, store the run and its dataset; return the run id."""
    from lib.quality.runs import save_run
    from lib.store.quality_runs import get_rule_set

    job = ProfileJob(**params)  # type: ignore[arg-type]
    path = Path(job.data_file)
    if not path.is_file():
        raise InputError(f"The upload for this job ({job.name}) is gone; upload it again.")
    run = RunSettings(
        job.threshold, tuple(job.families), job.sample_rows, job.model, job.perplexity_rows, job.perplexity_model
    )
    rule_set = None
    if job.rule_set:
        stored = get_rule_set(context.store, job.rule_set)
        if stored is None:
            raise InputError(f"There is no rule set named '{job.rule_set}'; choose another or none.")
        rule_set = parse_rule_set(stored.yaml, stored.name)
    dataset, result = profile_source(path, job.name, run, job.text_column, job.chat, context.progress)
    if rule_set is not None:
        apply_rules(result, rule_set)  # outcomes kept in result.rules
    context.progress(1000, 1000, "saving the run")
    context.check()  # a stop during the last step still stops: nothing half-stored
    saved = save_run(context.store, result, run.to_dict(), job.rule_set, path)
    return {"quality_run": saved.id, "dataset": dataset.name}
