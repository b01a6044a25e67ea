"""An eval run as a job: read the staged eval set, load the shared model, answer with progress and stop, score,
store the run with its samples, return its id."""

from __future__ import annotations

from dataclasses import asdict, dataclass, field

from lib.errors import InputError
from lib.evaluation.evalrun import EvalRunSettings, run_eval, save_eval_run
from lib.evaluation.evalset import read_eval_set
from lib.jobs import JobContext
from lib.models.cache import shared_model

DEFAULT_METRICS = ["bleu", "chrf", "rouge_l", "f1", "exact_match"]


@dataclass(frozen=True)
class EvalRunJob:
    """The job's parameters: where the staged eval set is, what it is called, the model and the settings."""

    dataset_file: str
    dataset_sha256: str
    dataset_name: str
    model: str
    dtype: str = "auto"
    max_new_tokens: int = 64
    batch_size: int = 8
    metrics: list[str] = field(default_factory=lambda: list(DEFAULT_METRICS))
    system_prompt: str | None = None
    resamples: int = 1000


def eval_run_params(
    dataset_file: object,
    dataset_sha256: str,
    dataset_name: str,
    model: str,
    dtype: str = "auto",
    max_new_tokens: int = 64,
    batch_size: int = 8,
    metrics: list[str] | None = None,
    system_prompt: str | None = None,
    resamples: int = 1000,
) -> dict:
    """The job's parameters as stored JSON."""
    job = EvalRunJob(
        str(dataset_file), dataset_sha256, dataset_name, model, dtype, int(max_new_tokens), int(batch_size),
        list(metrics or DEFAULT_METRICS), system_prompt, int(resamples),
    )  # fmt: skip
    return asdict(job)


def eval_run_job(context: JobContext, **params: object) -> dict:
    """Answer and score the eval set; the run is stored before the job reports success, so the page finds it."""
    job = EvalRunJob(**params)  # type: ignore[arg-type]
    context.progress(0, 0, f"reading {job.dataset_name}")
    try:
        eval_set = read_eval_set(job.dataset_file, name=job.dataset_name)
    except InputError as error:
        raise InputError(f"The eval set for this job cannot be read ({error}); start the run again.") from error
    context.progress(0, 0, f"loading {job.model}")
    loaded = shared_model(job.model, job.dtype)
    total = len(eval_set.items)
    context.progress(0, total, f"answered 0 of {total}")

    def progress(done: int, total: int) -> None:
        context.progress(done, total, f"answered {done} of {total}")

    settings = EvalRunSettings(
        model=job.model,
        dataset_name=job.dataset_name,
        dataset_sha256=job.dataset_sha256,
        max_new_tokens=job.max_new_tokens,
        batch_size=job.batch_size,
        dtype=job.dtype,
        metrics=tuple(job.metrics),
        system_prompt=job.system_prompt,
        resamples=job.resamples,
    )
    result = run_eval(loaded, eval_set.items, settings, progress=progress)
    context.check()  # a stop that arrived while scoring still stops: nothing half-written
    run_id = save_eval_run(context.store, result)
    return {"eval_run": run_id}
