"""ROUGE-L through Google's rouge-score as an `evaluate` metric, loaded from this folder by path."""

from __future__ import annotations

import evaluate
from rouge_score import rouge_scorer

from lib.evaluation.metrics.inputs import text_pair_features

_CITATION = """\
@inproceedings{lin-2004-rouge,
    title = "{ROUGE}: A Package for Automatic Evaluation of Summaries",
    author = "Lin, Chin-Yew",
    booktitle = "Text Summarization Branches Out",
    year = "2004",
    pages = "74--81",
    url = "https://aclanthology.org/W04-1013",
}
"""

_DESCRIPTION = """\
ROUGE-L F-measure (longest common subsequence of tokens) as Google's rouge-score package computes it with
its defaults (lowercased, non-alphanumeric characters dropped, no stemming). Each prediction takes its best
F-measure over its references; the corpus score is the mean x 100.
"""

_KWARGS_DESCRIPTION = """
Args:
    predictions: list of predicted texts.
    references: for each prediction, a list of one or more reference texts.
Returns:
    rouge_l: mean best ROUGE-L F-measure, 0-100.
"""


def rouge_l_scores(predictions: list[str], references: list[list[str]]) -> list[float]:
    """Each prediction's best ROUGE-L F-measure over its references, 0-1."""
    scorer = rouge_scorer.RougeScorer(["rougeL"])
    return [
        max(scorer.score(reference, prediction)["rougeL"].fmeasure for reference in refs)
        for prediction, refs in zip(predictions, references, strict=True)
    ]


class RougeL(evaluate.Metric):
    """rouge-score ROUGE-L F-measure, max over references, mean x 100."""

    def _info(self) -> evaluate.MetricInfo:
        return evaluate.MetricInfo(
            description=_DESCRIPTION,
            citation=_CITATION,
            inputs_description=_KWARGS_DESCRIPTION,
            features=text_pair_features(),
            codebase_urls=["https://github.com/google-research/google-research/tree/master/rouge"],
            reference_urls=["https://aclanthology.org/W04-1013"],
        )

    def _compute(self, predictions: list[str], references: list[list[str]]) -> dict[str, float]:
        scores = rouge_l_scores(predictions, references)
        return {"rouge_l": 100.0 * sum(scores) / len(scores)}
