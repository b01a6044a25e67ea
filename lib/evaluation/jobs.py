"""Perplexity as a job: load the shared model, score with progress and stop, store the run, return its id."""

from __future__ import annotations

from dataclasses import asdict, dataclass

from lib.errors import InputError
from lib.evaluation.perplexity import compute_perplexity, require_text
from lib.evaluation.runs import save_perplexity_run
from lib.jobs import JobContext
from lib.models.cache import shared_model
from lib.textfile import read_text_file


@dataclass(frozen=True)
class PerplexityJob:
    """The job's parameters: where the staged text is, what it is called, and how to score it."""

    text_file: str
    text_sha256: str
    source: str
    model: str
    dtype: str = "auto"
    max_length: int | None = None
    stride: int | None = None


def perplexity_params(text_file: object, text_sha256: str, source: str, model: str, *options: object) -> dict:
    """The job's parameters as stored JSON; options are dtype, max_length and stride, in that order."""
    return asdict(PerplexityJob(str(text_file), text_sha256, source, model, *options))  # type: ignore[arg-type]


def perplexity_job(context: JobContext, **params: object) -> dict:
    """Score the text; the run is stored before the job reports success, so whatever shows it finds it."""
    job = PerplexityJob(**params)  # type: ignore[arg-type]
    context.progress(0, 0, f"loading {job.model}")
    try:
        text = read_text_file(job.text_file)
    except InputError as error:
        raise InputError(f"The text for this job is gone ({error}); start the run again.") from error
    require_text(text)
    loaded = shared_model(job.model, job.dtype)
    context.progress(0, 0, f"tokenising {job.source}")

    def progress(done: int, total: int) -> None:
        context.progress(done, total, f"window {done} of {total}")

    result = compute_perplexity(loaded, text, job.max_length, job.stride, progress=progress)
    context.check()  # a stop that arrived during the last window still stops: nothing half-written
    run = save_perplexity_run(context.store, result, job.source, job.text_sha256)
    return {"eval_run": run.id}
