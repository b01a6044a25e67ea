"""Reference metrics for Pitwall: corpus scores through the local `evaluate` modules, intervals by bootstrap.

`score_corpus` gives each metric's headline score (computed by its `evaluate` module, so it is exactly
sacrebleu's, rouge-score's or the SQuAD script's number) with a percentile bootstrap 95% interval;
`score_samples` gives per-item scores; `paired_bootstrap` compares two systems on the same items;
`read_pairs` reads a predictions file and a references file (plain lines or JSONL).
"""

from __future__ import annotations

import json
import threading
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np

from lib.errors import InputError
from lib.evaluation.metrics import METRICS, check_metric, load_metric
from lib.textfile import read_text_file

MAX_RESAMPLES = 100_000
_CORPUS_METRICS = ("bleu", "chrf")  # scored from summed statistics; the rest are means of item scores
_JSON_SUFFIXES = (".jsonl", ".ndjson", ".json")
_PREDICTION_KEYS = ("prediction", "output", "text")
_REFERENCE_KEYS = ("references", "reference", "answers", "answer")
_compute_lock = threading.Lock()  # an evaluate module keeps state between add and compute: one caller at a time


@dataclass(frozen=True)
class MetricScore:
    """A metric's corpus score (0-100) with its bootstrap 95% interval and, for sacrebleu metrics, its signature."""

    name: str
    score: float
    ci95: tuple[float, float]
    signature: str | None = None

    def to_dict(self) -> dict:
        """`{"score", "ci95": [low, high]}`, plus `"signature"` when there is one."""
        payload: dict[str, Any] = {"score": self.score, "ci95": [self.ci95[0], self.ci95[1]]}
        if self.signature is not None:
            payload["signature"] = self.signature
        return payload


@dataclass(frozen=True)
class PairedDelta:
    """Candidate minus baseline on one metric, with the paired bootstrap 95% interval and p-value."""

    name: str
    baseline: float
    candidate: float
    delta: float
    ci95: tuple[float, float]
    p_value: float
    significant: bool

    def to_dict(self) -> dict:
        """Every field, the interval as a `[low, high]` list."""
        return {
            "name": self.name,
            "baseline": self.baseline,
            "candidate": self.candidate,
            "delta": self.delta,
            "ci95": [self.ci95[0], self.ci95[1]],
            "p_value": self.p_value,
            "significant": self.significant,
        }


def parse_metric_names(text: str | None) -> list[str]:
    """Comma-separated metric names ("bleu,chrf") as a checked list without repeats; None or blank gives all."""
    if text is None or not text.strip():
        return list(METRICS)
    names = [name.strip().lower() for name in text.split(",") if name.strip()]
    return _checked_metrics(names)


def score_corpus(
    predictions: list[str],
    references: list[list[str]],
    metrics: Sequence[str] = METRICS,
    resamples: int = 1000,
    seed: int = 0,
) -> dict[str, MetricScore]:
    """Each metric's corpus score through its `evaluate` module, with a seeded bootstrap 95% interval."""
    from lib.evaluation import bootstrap

    names = _checked_metrics(metrics)
    _check_pairs(predictions, references)
    _check_resamples(resamples)
    scores = {}
    for name in names:
        result = _compute(name, predictions, references)
        values = _item_values(name, predictions, references)
        low, high = bootstrap.bootstrap_interval(_bootstrap_kind(name), values, resamples, seed)
        scores[name] = MetricScore(name, float(result[name]), (low, high), result.get("signature"))
    return scores


def score_samples(
    predictions: list[str], references: list[list[str]], metrics: Sequence[str] = METRICS
) -> dict[str, list[float]]:
    """Per-item scores, 0-100: sentence BLEU (effective order) and chrF from sacrebleu, ROUGE-L F, F1, EM."""
    names = _checked_metrics(metrics)
    _check_pairs(predictions, references)
    scores = {}
    for name in names:
        if name == "bleu":
            import sacrebleu

            # sacrebleu.sentence_bleu's settings: per-item statistics are those of the corpus pass
            metric = sacrebleu.BLEU(effective_order=True)
            stats = _sacrebleu_stats(metric, predictions, references)
            scores[name] = [float(metric._compute_score_from_stats(row).score) for row in stats]
        elif name == "chrf":
            import sacrebleu

            metric = sacrebleu.CHRF()
            stats = _sacrebleu_stats(metric, predictions, references)
            scores[name] = [float(metric._compute_score_from_stats(row).score) for row in stats]
        else:
            scores[name] = [float(value) for value in _item_values(name, predictions, references)]
    return scores


def paired_bootstrap(
    metric: str,
    baseline: list[str],
    candidate: list[str],
    references: list[list[str]],
    resamples: int = 1000,
    seed: int = 0,
) -> PairedDelta:
    """Candidate minus baseline on `metric`, both scored on the same bootstrap resamples of the same items."""
    from lib.evaluation import bootstrap

    name = check_metric(metric)
    if len(baseline) != len(candidate):
        raise InputError(
            f"The baseline has {len(baseline)} outputs but the candidate has {len(candidate)}; "
            "compare two systems on the same items."
        )
    _check_pairs(baseline, references)
    _check_resamples(resamples)
    kind = _bootstrap_kind(name)
    base_values, cand_values = _paired_item_values(name, baseline, candidate, references)
    # The scores from the same per-item statistics the resamples use: on the identity resample they equal
    # the evaluate module's (and sacrebleu's) corpus score bit for bit (tested), at half the cost.
    identity = np.arange(len(baseline))[None, :]
    base_score = float(bootstrap.scores_for_indices(kind, base_values, identity)[0])
    cand_score = float(bootstrap.scores_for_indices(kind, cand_values, identity)[0])
    result = bootstrap.paired_bootstrap(kind, base_values, cand_values, resamples, seed)
    return PairedDelta(
        name, base_score, cand_score, cand_score - base_score, result.ci95, result.p_value, result.significant
    )


def read_pairs(predictions_path: str | Path, references_path: str | Path) -> tuple[list[str], list[list[str]]]:
    """Predictions and their references from two files, line n with line n: plain lines or JSONL."""
    predictions = [
        _prediction(value, line, predictions_path) for line, value in _read_items(predictions_path, _is_prediction)
    ]
    references = [
        _references(value, line, references_path) for line, value in _read_items(references_path, _is_reference)
    ]
    if len(predictions) != len(references):
        raise InputError(
            f"{predictions_path} has {_count(len(predictions), 'prediction')} but {references_path} has "
            f"{_count(len(references), 'reference line')}; give one reference line per prediction, in the same order."
        )
    return predictions, references


# --- scoring -------------------------------------------------------------------------------------------------


def _checked_metrics(metrics: Sequence[str]) -> list[str]:
    names = list(dict.fromkeys(check_metric(name) for name in metrics))
    if not names:
        raise InputError(f"Choose at least one metric: {', '.join(METRICS)}.")
    return names


def _check_pairs(predictions: list[str], references: list[list[str]]) -> None:
    if not predictions:
        raise InputError("There is nothing to score; give at least one prediction with its references.")
    if len(predictions) != len(references):
        raise InputError(
            f"There are {len(predictions)} predictions but {len(references)} reference lists; "
            "give one list of references per prediction."
        )
    for index, refs in enumerate(references, start=1):
        if isinstance(refs, str) or not refs:
            raise InputError(f"Item {index} has no list of references; give each item at least one reference.")


def _check_resamples(resamples: int) -> None:
    if not 1 <= resamples <= MAX_RESAMPLES:
        raise InputError(f"Resamples must be between 1 and {MAX_RESAMPLES:,} (1,000 is usual), not {resamples}.")


def _compute(name: str, predictions: list[str], references: list[list[str]]) -> dict:
    module = load_metric(name)
    with _compute_lock:
        return module.compute(predictions=predictions, references=references)


def _bootstrap_kind(name: str) -> str:
    return name if name in _CORPUS_METRICS else "mean"


def _item_values(name: str, predictions: list[str], references: list[list[str]]) -> Any:
    """What the bootstrap resamples: sacrebleu's per-sentence statistics, or per-item scores (0-100)."""
    import numpy as np

    if name in _CORPUS_METRICS:
        import sacrebleu

        metric = sacrebleu.BLEU() if name == "bleu" else sacrebleu.CHRF()
        return np.array(_sacrebleu_stats(metric, predictions, references), dtype=np.float64)
    if name == "rouge_l":
        from lib.evaluation.metrics.rouge_l.rouge_l import rouge_l_scores

        return 100.0 * np.array(rouge_l_scores(predictions, references), dtype=np.float64)
    from lib.evaluation.metrics.squad.squad import best_exact_match, best_f1

    best = best_f1 if name == "f1" else best_exact_match
    pairs = zip(predictions, references, strict=True)
    return 100.0 * np.array([best(p, refs) for p, refs in pairs], dtype=np.float64)


def _paired_item_values(
    name: str, baseline: list[str], candidate: list[str], references: list[list[str]]
) -> tuple[Any, Any]:
    """Both systems' item values; for BLEU and chrF the references are tokenised once, as sacrebleu's own
    paired test does (tokenising them is half the cost)."""
    if name not in _CORPUS_METRICS:
        return _item_values(name, baseline, references), _item_values(name, candidate, references)
    import numpy as np
    import sacrebleu

    from lib.evaluation.metrics.inputs import reference_streams

    streams = reference_streams(references)
    metric = sacrebleu.BLEU(references=streams) if name == "bleu" else sacrebleu.CHRF(references=streams)
    return tuple(
        np.array(metric._extract_corpus_statistics(system, None), dtype=np.float64) for system in (baseline, candidate)
    )


def _sacrebleu_stats(metric: Any, predictions: list[str], references: list[list[str]]) -> list[list[int]]:
    """sacrebleu's per-sentence sufficient statistics, references padded to equal streams as the modules do."""
    from lib.evaluation.metrics.inputs import reference_streams

    return metric._extract_corpus_statistics(predictions, reference_streams(references))


# --- reading files -------------------------------------------------------------------------------------------


def _read_items(path: str | Path, accepts: Any) -> list[tuple[int, Any]]:
    """(line number, value) per item: JSON values for JSONL files, else the lines themselves."""
    text = read_text_file(path)
    lines = text.replace("\r\n", "\n").replace("\r", "\n").split("\n")
    if lines and lines[-1] == "":  # the newline that ends the last line
        lines.pop()
    if Path(path).suffix.lower() in _JSON_SUFFIXES:
        return _json_items(path, text, lines)
    parsed = _sniff_jsonl(path, lines, accepts)
    if parsed is not None:
        return parsed
    return list(enumerate(lines, start=1))


def _sniff_jsonl(path: str | Path, lines: list[str], accepts: Any) -> list[tuple[int, Any]] | None:
    """The lines as JSON when every non-blank one is a JSON value of a usable shape, else None (plain text).

    Files arrive with any name (the dashboard stages uploads as .txt), so the content decides; plain text
    rarely parses as JSON strings, lists or objects on every line.
    """
    values = []
    for number, line in enumerate(lines, start=1):
        if not line.strip():
            continue
        try:
            value = json.loads(line)
        except ValueError:
            return None
        if not accepts(value):
            return None
        values.append((number, value))
    if not values:
        return None
    if len(values) != len(lines):  # blank lines between JSON ones: say where, rather than misalign items
        blank = next(n for n, line in enumerate(lines, start=1) if not line.strip())
        if blank < values[-1][0]:
            raise InputError(f"Line {blank} of {path} is blank; a JSONL file needs one JSON value on every line.")
    return values


def _json_items(path: str | Path, text: str, lines: list[str]) -> list[tuple[int, Any]]:
    """A .json/.jsonl file: one JSON value per line, or (for .json) one JSON array of items."""
    if Path(path).suffix.lower() == ".json":
        try:
            whole = json.loads(text)
        except ValueError:
            whole = None
        if isinstance(whole, list) and len(lines) > 1:  # a pretty-printed array, not one line per item
            return list(enumerate(whole, start=1))
    while lines and not lines[-1].strip():
        lines.pop()
    items = []
    for number, line in enumerate(lines, start=1):
        if not line.strip():
            raise InputError(f"Line {number} of {path} is blank; a JSONL file needs one JSON value on every line.")
        try:
            items.append((number, json.loads(line)))
        except ValueError as error:
            raise InputError(
                f"Line {number} of {path} is not valid JSON ({error.msg}); write one JSON value per line."
            ) from error
    if not items:
        raise InputError(f"{path} has no items; give one JSON value per line.")
    return items


def _count(number: int, noun: str) -> str:
    return f"{number:,} {noun}" + ("" if number == 1 else "s")


def _is_prediction(value: Any) -> bool:
    return isinstance(value, str) or (isinstance(value, dict) and any(k in value for k in _PREDICTION_KEYS))


def _is_reference(value: Any) -> bool:
    if isinstance(value, list):
        return all(isinstance(item, str | dict) for item in value)
    return isinstance(value, str) or (isinstance(value, dict) and any(k in value for k in _REFERENCE_KEYS))


def _prediction(value: Any, line: int, path: str | Path) -> str:
    if isinstance(value, dict):
        value = next((value[key] for key in _PREDICTION_KEYS if key in value), None)
    if not isinstance(value, str):
        raise InputError(
            f"Line {line} of {path} is not a prediction; give a JSON string or an object with a "
            '"prediction" (or "output", "text") string.'
        )
    return value


def _references(value: Any, line: int, path: str | Path) -> list[str]:
    original = value
    if isinstance(value, dict):
        value = next((value[key] for key in _REFERENCE_KEYS if key in value), None)
        if isinstance(value, dict):  # SQuAD: {"answers": {"text": [...], "answer_start": [...]}}
            value = value.get("text")
    if isinstance(value, str):
        value = [value]
    if isinstance(value, list):
        # SQuAD v1.1's own JSON: [{"text": ..., "answer_start": ...}, ...]
        value = [item.get("text") if isinstance(item, dict) else item for item in value]
    if not isinstance(value, list) or not all(isinstance(item, str) for item in value):
        raise InputError(
            f"Line {line} of {path} is not a reference; give a string, a JSON list of strings, or an object "
            'with "references" or "answers".'
        )
    if not any(item.strip() for item in value):
        shown = "a blank line" if original == "" else "no non-empty reference"
        raise InputError(f"Line {line} of {path} has {shown}; give every item at least one reference.")
    return value
