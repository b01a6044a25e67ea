"""Perplexity as a job: load the shared model, score with progress and stop, store the run, return its id."""

from __future__ import annotations

from dataclasses import asdict, dataclass
from pathlib import Path

from lib.errors import InputError
from lib.evaluation.perplexity import compute_perplexity, require_text, score_documents
from lib.evaluation.runs import save_documents_run, save_perplexity_run
from lib.jobs import JobContext
from lib.models.cache import shared_model
from lib.textfile import read_text_file

MODES = ("text", "documents")


@dataclass(frozen=True)
class PerplexityJob:
    """The job's parameters: where the staged input is, what it is called, and how to score it.

    mode "text" scores the staged file as one text (sliding window); "documents" reads it as a
    documents file (TXT a document a line, JSONL or CSV with `text_column`) and scores each on its own.
    """

    text_file: str
    text_sha256: str
    source: str
    model: str
    dtype: str = "auto"
    max_length: int | None = None
    stride: int | None = None
    mode: str = "text"
    text_column: str | None = None
    batch_size: int | None = None


def perplexity_params(text_file: object, text_sha256: str, source: str, model: str, *options: object) -> dict:
    """The job's parameters as stored JSON; options are dtype, max_length, stride, mode, text_column and
    batch_size, in that order."""
    job = PerplexityJob(str(text_file), text_sha256, source, model, *options)  # type: ignore[arg-type]
    if job.mode not in MODES:
        raise InputError(f"Unknown perplexity mode '{job.mode}'; choose text or documents.")
    return asdict(job)


def perplexity_job(context: JobContext, **params: object) -> dict:
    """Score the input; the run is stored before the job reports success, so whatever shows it finds it."""
    job = PerplexityJob(**params)  # type: ignore[arg-type]
    context.progress(0, 0, f"loading {job.model}")
    if not Path(job.text_file).is_file():
        raise InputError(f"The input for this job ({job.source}) is gone; start the run again.")
    documents = None
    if job.mode == "documents":
        from lib.evaluation.documents import read_documents

        documents = read_documents(job.text_file, job.text_column)
    else:
        text = read_text_file(job.text_file)
    if documents is None:
        require_text(text)
    loaded = shared_model(job.model, job.dtype)
    context.progress(0, 0, f"tokenising {job.source}")

    def progress(done: int, total: int) -> None:
        context.progress(done, total, f"window {done} of {total}")

    if documents is not None:
        scored = score_documents(loaded, documents, job.max_length, job.stride, job.batch_size, progress=progress)
        context.check()  # a stop that arrived during the last batch still stops: nothing half-written
        run = save_documents_run(context.store, scored, job.source, job.text_sha256, documents)
    else:
        result = compute_perplexity(loaded, text, job.max_length, job.stride, progress, batch_size=job.batch_size)
        context.check()
        run = save_perplexity_run(context.store, result, job.source, job.text_sha256)
    return {"eval_run": run.id}
