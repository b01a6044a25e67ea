"""Corpus chrF through sacrebleu as an `evaluate` metric, loaded from this folder by path (never from the Hub)."""

from __future__ import annotations

import evaluate
import sacrebleu

from lib.evaluation.metrics.inputs import reference_streams, text_pair_features

_CITATION = """\
@inproceedings{popovic-2015-chrf,
    title = "chr{F}: character n-gram {F}-score for automatic {MT} evaluation",
    author = "Popovi{\\'c}, Maja",
    booktitle = "Proceedings of the Tenth Workshop on Statistical Machine Translation",
    year = "2015",
    pages = "392--395",
    url = "https://aclanthology.org/W15-3049",
}
@inproceedings{post-2018-call,
    title = "A Call for Clarity in Reporting {BLEU} Scores",
    author = "Post, Matt",
    booktitle = "Proceedings of the Third Conference on Machine Translation: Research Papers",
    year = "2018",
    pages = "186--191",
    url = "https://aclanthology.org/W18-6319",
}
"""

_DESCRIPTION = """\
Corpus-level chrF exactly as sacrebleu computes it with its defaults (character n-grams up to 6, beta 2,
no word n-grams): each prediction's n-gram statistics come from its best-matching reference and are summed
over the corpus before the F-score is formed. Returns sacrebleu's signature for reproducibility.
"""

_KWARGS_DESCRIPTION = """
Args:
    predictions: list of hypothesis strings.
    references: for each prediction, a list of one or more reference strings (the count may vary).
Returns:
    chrf: corpus chrF, 0-100.
    signature: sacrebleu's signature string, e.g. `nrefs:1|case:mixed|eff:yes|nc:6|nw:0|space:no|version:2.6.0`.
"""


class Chrf(evaluate.Metric):
    """sacrebleu corpus chrF, 0-100, with its signature."""

    def _info(self) -> evaluate.MetricInfo:
        return evaluate.MetricInfo(
            description=_DESCRIPTION,
            citation=_CITATION,
            inputs_description=_KWARGS_DESCRIPTION,
            features=text_pair_features(),
            codebase_urls=["https://github.com/mjpost/sacrebleu"],
            reference_urls=["https://aclanthology.org/W15-3049"],
        )

    def _compute(self, predictions: list[str], references: list[list[str]]) -> dict:
        metric = sacrebleu.CHRF()
        result = metric.corpus_score(predictions, reference_streams(references))
        return {"chrf": result.score, "signature": str(metric.get_signature())}
