"""Comparing two eval runs on the same eval set: paired-bootstrap deltas per metric, per-sample changes, and
people's ratings of both; and the trend of every run on one eval set."""

from __future__ import annotations

from dataclasses import asdict, dataclass, field

from lib.errors import InputError
from lib.evaluation.evalrun import EVAL, EvalRunResult, load_eval_run
from lib.evaluation.human import HumanSummary, human_summary
from lib.store import Store
from lib.store.eval_samples import runs_on_dataset

HEADLINE_PREFERENCE = "f1"
SAME_TOLERANCE = 1e-9  # per-sample scores are 0-100 floats; closer than this is the same score


@dataclass(frozen=True)
class Comparison:
    """Candidate against baseline on one eval set: per-metric deltas (candidate minus baseline) and per-sample rows."""

    baseline: dict  # run_id, model, model_fingerprint, created_at, metrics
    candidate: dict
    dataset: str
    dataset_sha256: str
    headline: str  # the metric that decides each row's `change`
    deltas: dict  # metric -> PairedDelta.to_dict(): baseline, candidate, delta, ci95, p_value, significant
    samples: list[dict]  # per sample: idx, item_id, prompt, references, baseline/candidate output and scores, change
    changes: dict[str, int]  # improved / regressed / same counts by the headline metric
    human: dict[str, HumanSummary] = field(default_factory=dict)  # "baseline" and "candidate"
    same_weights: bool = False  # both runs' model fingerprints are equal

    def to_dict(self) -> dict:
        payload = asdict(self)
        payload["human"] = {key: summary.to_dict() for key, summary in self.human.items()}
        return payload


def compare_runs(store: Store, baseline_id: int, candidate_id: int, resamples: int = 1000) -> Comparison:
    """Compare two stored eval runs; refused (InputError) when they were not made on the same eval set."""
    from lib.evaluation.scoring import paired_bootstrap

    baseline, candidate = load_eval_run(store, baseline_id), load_eval_run(store, candidate_id)
    if baseline.dataset_sha256 != candidate.dataset_sha256:
        raise InputError(
            f"Runs #{baseline_id} ({baseline.dataset}) and #{candidate_id} ({candidate.dataset}) were made on "
            "different eval sets, so their scores cannot be compared; compare runs on the same file."
        )
    base_ids = [sample.item_id for sample in baseline.samples]
    if base_ids != [sample.item_id for sample in candidate.samples]:
        raise InputError(
            f"Runs #{baseline_id} and #{candidate_id} answered different items of the eval set, so their "
            "scores cannot be compared; rerun one of them on the whole set."
        )
    metrics = [name for name in baseline.metrics if name in candidate.metrics]
    if not metrics:
        raise InputError(
            f"Runs #{baseline_id} and #{candidate_id} share no metric; rerun one with the other's metrics."
        )
    headline = HEADLINE_PREFERENCE if HEADLINE_PREFERENCE in metrics else metrics[0]
    references = [list(sample.references) for sample in baseline.samples]
    base_outputs = [sample.output for sample in baseline.samples]
    cand_outputs = [sample.output for sample in candidate.samples]
    deltas = {
        name: paired_bootstrap(name, base_outputs, cand_outputs, references, resamples=resamples).to_dict()
        for name in metrics
    }
    rows, changes = [], {"improved": 0, "regressed": 0, "same": 0}  # rows: what the report calls `samples`
    for base, cand in zip(baseline.samples, candidate.samples, strict=True):
        difference = cand.scores.get(headline, 0.0) - base.scores.get(headline, 0.0)
        change = "improved" if difference > SAME_TOLERANCE else "regressed" if difference < -SAME_TOLERANCE else "same"
        changes[change] += 1
        rows.append(
            {
                "idx": base.idx,
                "item_id": base.item_id,
                "prompt": base.prompt,
                "references": base.references,
                "baseline_output": base.output,
                "candidate_output": cand.output,
                "baseline_scores": {name: base.scores.get(name) for name in metrics},
                "candidate_scores": {name: cand.scores.get(name) for name in metrics},
                "change": change,
            }
        )
    return Comparison(
        baseline=_run_summary(baseline),
        candidate=_run_summary(candidate),
        dataset=baseline.dataset,
        dataset_sha256=baseline.dataset_sha256,
        headline=headline,
        deltas=deltas,
        samples=rows,
        changes=changes,
        human={"baseline": human_summary(store, baseline_id), "candidate": human_summary(store, candidate_id)},
        same_weights=bool(baseline.model_fingerprint) and baseline.model_fingerprint == candidate.model_fingerprint,
    )


def _run_summary(result: EvalRunResult) -> dict:
    return {
        "run_id": result.run_id,
        "model": result.model,
        "model_fingerprint": result.model_fingerprint,
        "created_at": result.created_at,
        "metrics": result.metrics,
    }


def trend(store: Store, dataset_sha256: str) -> list[dict]:
    """Every eval run on one eval set, oldest first: id, created_at, model and each metric's score and ci95."""
    points = []
    for run in runs_on_dataset(store, EVAL, dataset_sha256):
        metrics = run.summary.get("metrics", {})
        points.append(
            {
                "id": run.id,
                "created_at": run.created_at,
                "model": run.model,
                "model_fingerprint": run.summary.get("model_fingerprint"),
                "metrics": {
                    name: {"score": entry.get("score"), "ci95": entry.get("ci95")} for name, entry in metrics.items()
                },
            }
        )
    return points
