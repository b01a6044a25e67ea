"""Eval runs: a model answers an eval set, every answer is scored, and the run is stored with its samples.

A run is an `eval_runs` row of kind "eval" (its summary holds the metrics, settings, timings and the
model's fingerprint; `text_sha256` holds the eval set's SHA-256, so runs on the same set can be found and
compared) plus one `eval_samples` row per item, written in one transaction.
"""

from __future__ import annotations

import hashlib
import time
from collections.abc import Callable, Sequence
from dataclasses import asdict, dataclass, field
from pathlib import Path

from lib.errors import InputError
from lib.evaluation.evalset import EvalItem
from lib.models.loader import LoadedModel
from lib.store import Store
from lib.store.eval_runs import EvalRun, get_eval_run, list_eval_runs
from lib.store.eval_samples import EvalSample, insert_run_with_samples, list_samples, with_run_id

EVAL = "eval"
FINGERPRINT_CHUNKS = 16  # sampled reads per weights file: enough to tell a fine-tune from its base
FINGERPRINT_CHUNK_BYTES = 64 * 1024
WEIGHT_PATTERNS = ("*.safetensors", "*.bin", "*.gguf")


@dataclass(frozen=True)
class EvalRunSettings:
    """How a run was made: which model and eval set, and the generation and scoring settings."""

    model: str
    dataset_name: str
    dataset_sha256: str
    max_new_tokens: int = 64
    batch_size: int = 8
    dtype: str = "auto"
    metrics: tuple[str, ...] = ("bleu", "chrf", "rouge_l", "f1", "exact_match")
    system_prompt: str | None = None
    resamples: int = 1000  # bootstrap resamples behind each metric's 95% interval

    def to_dict(self) -> dict:
        return {**asdict(self), "metrics": list(self.metrics)}


@dataclass
class EvalRunResult:
    """A finished run: per-metric corpus scores with 95% intervals, timings, and every sample."""

    model: str
    model_fingerprint: str
    dataset: str
    dataset_sha256: str
    settings: dict  # EvalRunSettings.to_dict() plus the device and the dtype actually used
    metrics: dict[str, dict]  # name -> MetricScore.to_dict(): score (0-100), ci95, signature
    timings: dict  # generation_seconds, scoring_seconds, tokens_per_second, prompt_tokens, output_tokens
    samples: list[EvalSample] = field(default_factory=list)
    run_id: int | None = None  # None until stored
    created_at: str | None = None

    def to_dict(self, with_samples: bool = False) -> dict:
        """The summary (`samples` is the count); `with_samples` adds every sample under `sample_rows`."""
        payload = {
            "run_id": self.run_id,
            "samples": len(self.samples),
            "metrics": self.metrics,
            "model": self.model,
            "model_fingerprint": self.model_fingerprint,
            "dataset": self.dataset,
            "dataset_sha256": self.dataset_sha256,
            "settings": self.settings,
            "timings": self.timings,
            "created_at": self.created_at,
        }
        if with_samples:
            payload["sample_rows"] = [sample.to_dict() for sample in self.samples]
        return payload

    def score(self, metric: str) -> float | None:
        """The corpus score of one metric (0-100), or None when the run did not compute it."""
        entry = self.metrics.get(metric)
        return None if entry is None else entry.get("score")


def run_eval(
    loaded: LoadedModel,
    items: Sequence[EvalItem],
    settings: EvalRunSettings,
    progress: Callable[[int, int], None] | None = None,
) -> EvalRunResult:
    """Answer every item greedily, then score each answer and the corpus; nothing is stored here."""
    from lib.evaluation.generate import generate_answers
    from lib.evaluation.scoring import score_corpus, score_samples

    if not items:
        raise InputError(f"The eval set {settings.dataset_name} has no items; choose a file with questions in it.")
    metrics = tuple(settings.metrics)
    if not metrics:
        raise InputError("An eval run needs at least one metric; name one, e.g. f1.")
    started = time.perf_counter()
    generations = generate_answers(
        loaded, items, settings.max_new_tokens, settings.batch_size, settings.system_prompt, progress
    )
    generation_seconds = time.perf_counter() - started
    predictions = [generation.output for generation in generations]
    references = [list(item.references) for item in items]
    started = time.perf_counter()
    per_sample = score_samples(predictions, references, metrics)
    corpus = score_corpus(predictions, references, metrics, resamples=settings.resamples)
    scoring_seconds = time.perf_counter() - started
    samples = [
        EvalSample(
            idx=index, item_id=item.item_id, prompt=item.prompt, context=item.context,
            references=list(item.references), output=generation.output,
            scores={name: float(per_sample[name][index]) for name in metrics},
            prompt_tokens=generation.prompt_tokens, output_tokens=generation.output_tokens,
            seconds=generation.seconds,
        )
        for index, (item, generation) in enumerate(zip(items, generations, strict=True))
    ]  # fmt: skip
    prompt_tokens = sum(g.prompt_tokens for g in generations)
    output_tokens = sum(g.output_tokens for g in generations)
    timings = {
        "generation_seconds": round(generation_seconds, 3),
        "scoring_seconds": round(scoring_seconds, 3),
        # None rather than a huge number when the clock saw no time pass
        "tokens_per_second": round(output_tokens / generation_seconds, 2) if generation_seconds > 0 else None,
        "prompt_tokens": prompt_tokens,
        "output_tokens": output_tokens,
    }
    return EvalRunResult(
        model=settings.model,
        model_fingerprint=model_fingerprint(loaded.info.folder),
        dataset=settings.dataset_name,
        dataset_sha256=settings.dataset_sha256,
        settings={**settings.to_dict(), "device": loaded.info.device, "dtype_used": loaded.info.dtype},
        metrics={name: corpus[name].to_dict() for name in metrics},
        timings=timings,
        samples=samples,
    )


def model_fingerprint(folder: str | Path) -> str:
    """16 hex digits that change when the weights do: SHA-256 over config.json and, per weights file, its name,
    size and sampled bytes.

    Hashing whole files would read gigabytes; names and sizes alone cannot tell a fine-tune from its base (same
    shapes, same sizes). Sixteen 64 KiB reads spread over each file (1 MiB per file) see changed values
    anywhere in the weights, since fine-tuning moves nearly every tensor.
    """
    folder = Path(folder)
    digest = hashlib.sha256()
    config = folder / "config.json"
    if config.is_file():
        digest.update(config.read_bytes())
    weights = sorted({path for pattern in WEIGHT_PATTERNS for path in folder.glob(pattern)})
    for path in weights:
        size = path.stat().st_size
        digest.update(f"{path.name}\0{size}\0".encode())
        with path.open("rb") as handle:
            step = max(size // FINGERPRINT_CHUNKS, 1)
            for offset in range(0, size, step)[:FINGERPRINT_CHUNKS]:
                handle.seek(offset)
                digest.update(handle.read(FINGERPRINT_CHUNK_BYTES))
    return digest.hexdigest()[:16]


def save_eval_run(store: Store, result: EvalRunResult) -> int:
    """Store the run row and all its samples atomically; return the run's id (also set on `result`)."""
    summary = result.to_dict()
    for key in ("run_id", "created_at"):
        summary.pop(key)
    run = insert_run_with_samples(
        store, EVAL, result.model, result.dataset, summary, {}, result.dataset_sha256, result.samples
    )
    result.run_id, result.created_at = run.id, run.created_at
    result.samples = with_run_id(result.samples, run.id)
    return run.id


def load_eval_run(store: Store, run_id: int) -> EvalRunResult:
    """A stored eval run with its samples; InputError when there is no eval run of that id."""
    run = get_eval_run(store, run_id)
    if run is None:
        raise InputError(f"There is no stored run #{run_id}; `python -m lib eval runs` lists them.")
    if run.kind != EVAL:
        raise InputError(f"Run #{run_id} is a {run.kind} run, not an eval run; `python -m lib eval runs` lists them.")
    return result_from_run(run, list_samples(store, run_id))


def result_from_run(run: EvalRun, samples: list[EvalSample] | None = None) -> EvalRunResult:
    """Rebuild a result from a stored row (fields an older Pitwall did not store come back empty)."""
    summary = run.summary
    return EvalRunResult(
        model=run.model,
        model_fingerprint=summary.get("model_fingerprint", ""),
        dataset=summary.get("dataset", run.source),
        dataset_sha256=summary.get("dataset_sha256", run.text_sha256 or ""),
        settings=summary.get("settings", {}),
        metrics=summary.get("metrics", {}),
        timings=summary.get("timings", {}),
        samples=samples or [],
        run_id=run.id,
        created_at=run.created_at,
    )


def eval_runs(store: Store, limit: int = 500) -> list[EvalRun]:
    """Stored eval runs, newest first, without their samples."""
    return list_eval_runs(store, EVAL, limit)
