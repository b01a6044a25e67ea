"""SQuAD v1.1 token F1 and exact match as an `evaluate` metric, loaded from this folder by path.

The config name picks the score: `f1`, `exact_match`, or `default` for both. The functions below follow
the official v1.1 evaluation script (Rajpurkar et al.) step for step; Pitwall's per-item scores and its
bootstrap use them too, so the headline and the interval come from the same code.
"""

from __future__ import annotations

import re
import string
from collections import Counter

import evaluate

from lib.evaluation.metrics.inputs import text_pair_features

_CITATION = """\
@inproceedings{rajpurkar-etal-2016-squad,
    title = "{SQ}u{AD}: 100,000+ Questions for Machine Comprehension of Text",
    author = "Rajpurkar, Pranav and Zhang, Jian and Lopyrev, Konstantin and Liang, Percy",
    booktitle = "Proceedings of the 2016 Conference on Empirical Methods in Natural Language Processing",
    year = "2016",
    pages = "2383--2392",
    url = "https://aclanthology.org/D16-1264",
}
"""

_DESCRIPTION = """\
Token-level F1 and exact match as in the official SQuAD v1.1 evaluation script: both texts are lowercased,
stripped of ASCII punctuation and of the articles a/an/the, and whitespace-collapsed; F1 compares the bags of
tokens. Each prediction takes its best score over its references; the corpus score is the mean x 100.
"""

_KWARGS_DESCRIPTION = """
Args:
    predictions: list of predicted answers (strings).
    references: for each prediction, a list of one or more reference answers (strings).
Returns:
    f1 (config `f1` or `default`): mean best token F1, 0-100.
    exact_match (config `exact_match` or `default`): percentage of predictions equal to a reference, 0-100.
"""

_PUNCTUATION = frozenset(string.punctuation)
_ARTICLES = re.compile(r"\b(a|an|the)\b")


def normalize_answer(text: str) -> str:
    """Lowercase, drop punctuation and articles, collapse whitespace (the official order of steps)."""
    text = "".join(ch for ch in text.lower() if ch not in _PUNCTUATION)
    return " ".join(_ARTICLES.sub(" ", text).split())


def token_f1(prediction: str, reference: str) -> float:
    """Bag-of-tokens F1 of two answers after normalisation, 0-1."""
    predicted = normalize_answer(prediction).split()
    expected = normalize_answer(reference).split()
    same = sum((Counter(predicted) & Counter(expected)).values())
    if same == 0:  # also covers an empty prediction or reference: the official script scores it 0
        return 0.0
    precision = same / len(predicted)
    recall = same / len(expected)
    return 2 * precision * recall / (precision + recall)


def exact_match(prediction: str, reference: str) -> float:
    """1.0 when the two answers are equal after normalisation, else 0.0."""
    return float(normalize_answer(prediction) == normalize_answer(reference))


def best_f1(prediction: str, references: list[str]) -> float:
    """The prediction's F1 against its closest reference, 0-1."""
    return max(token_f1(prediction, reference) for reference in references)


def best_exact_match(prediction: str, references: list[str]) -> float:
    """1.0 when the prediction matches any reference, else 0.0."""
    return max(exact_match(prediction, reference) for reference in references)


class Squad(evaluate.Metric):
    """Official SQuAD v1.1 F1 and exact match, max over references, mean x 100."""

    def _info(self) -> evaluate.MetricInfo:
        return evaluate.MetricInfo(
            description=_DESCRIPTION,
            citation=_CITATION,
            inputs_description=_KWARGS_DESCRIPTION,
            features=text_pair_features(),
            reference_urls=["https://rajpurkar.github.io/SQuAD-explorer/"],
        )

    def _compute(self, predictions: list[str], references: list[list[str]]) -> dict[str, float]:
        results = {}
        if self.config_name in ("f1", "default"):
            scores = [best_f1(p, refs) for p, refs in zip(predictions, references, strict=True)]
            results["f1"] = 100.0 * sum(scores) / len(scores)
        if self.config_name in ("exact_match", "default"):
            scores = [best_exact_match(p, refs) for p, refs in zip(predictions, references, strict=True)]
            results["exact_match"] = 100.0 * sum(scores) / len(scores)
        if not results:
            raise ValueError(f"Unknown config {self.config_name!r}; use 'f1', 'exact_match' or 'default'.")
        return results
