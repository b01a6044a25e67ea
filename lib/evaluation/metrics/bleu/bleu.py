"""Corpus BLEU through sacrebleu as an `evaluate` metric, loaded from this folder by path (never from the Hub)."""

from __future__ import annotations

import evaluate
import sacrebleu

from lib.evaluation.metrics.inputs import reference_streams, text_pair_features

_CITATION = """\
@inproceedings{papineni-etal-2002-bleu,
    title = "{B}leu: a Method for Automatic Evaluation of Machine Translation",
    author = "Papineni, Kishore and Roukos, Salim and Ward, Todd and Zhu, Wei-Jing",
    booktitle = "Proceedings of the 40th Annual Meeting of the Association for Computational Linguistics",
    year = "2002",
    pages = "311--318",
    url = "https://aclanthology.org/P02-1040",
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
Corpus-level BLEU exactly as sacrebleu computes it with its defaults (13a tokenisation, mixed case,
exponential smoothing): n-gram matches and lengths are summed over the whole corpus before the score is
formed, so it is not the mean of sentence scores. Returns sacrebleu's signature for reproducibility.
"""

_KWARGS_DESCRIPTION = """
Args:
    predictions: list of hypothesis strings.
    references: for each prediction, a list of one or more reference strings (the count may vary).
Returns:
    bleu: corpus BLEU, 0-100.
    signature: sacrebleu's signature string, e.g. `nrefs:1|case:mixed|eff:no|tok:13a|smooth:exp|version:2.6.0`.
    precisions, brevity_penalty, sys_len, ref_len: the score's parts.
"""


class Bleu(evaluate.Metric):
    """sacrebleu corpus BLEU, 0-100, with its signature."""

    def _info(self) -> evaluate.MetricInfo:
        return evaluate.MetricInfo(
            description=_DESCRIPTION,
            citation=_CITATION,
            inputs_description=_KWARGS_DESCRIPTION,
            features=text_pair_features(),
            codebase_urls=["https://github.com/mjpost/sacrebleu"],
            reference_urls=["https://aclanthology.org/W18-6319"],
        )

    def _compute(self, predictions: list[str], references: list[list[str]]) -> dict:
        metric = sacrebleu.BLEU()
        result = metric.corpus_score(predictions, reference_streams(references))
        return {
            "bleu": result.score,
            "signature": str(metric.get_signature()),
            "precisions": list(result.precisions),
            "brevity_penalty": result.bp,
            "sys_len": result.sys_len,
            "ref_len": result.ref_len,
        }
