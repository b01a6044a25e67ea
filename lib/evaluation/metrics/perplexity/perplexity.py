"""Perplexity as an `evaluate` metric, backed by Pitwall's documents-mode engine.

Unlike `evaluate`'s own perplexity (unweighted mean of per-text values, no sliding window), the headline
here is the corpus figure: token-weighted over all predictions, each text scored on its own with the
sliding window. Load offline with `evaluate.load(str(Path("lib/evaluation/metrics/perplexity").resolve()))`.
"""

from __future__ import annotations

import datasets
import evaluate

_DESCRIPTION = "Token-weighted corpus perplexity, per-text perplexities, bits per byte and word perplexity."
_KWARGS_DESCRIPTION = """
Args:
    predictions (list of str): the texts to score, each on its own.
    model_id (str): a Pitwall model spec (default "smollm2-135m", the embedded model).
    max_length (int, optional): window length in tokens (default min(context, 1024)).
    stride (int, optional): tokens between window starts (default half the window).
    dtype (str): "auto", "float32", "bfloat16" or "float16".
Returns:
    perplexity: corpus perplexity (token-weighted); perplexities: one per prediction (None for a text under
    2 tokens); bits_per_byte and word_perplexity as lm-evaluation-harness defines them.
"""


class Perplexity(evaluate.Metric):
    """`evaluate` metric: corpus and per-text perplexity of `predictions` under a Pitwall model."""

    def _info(self) -> evaluate.MetricInfo:
        return evaluate.MetricInfo(
            description=_DESCRIPTION,
            citation="",
            inputs_description=_KWARGS_DESCRIPTION,
            features=datasets.Features({"predictions": datasets.Value("string")}),
        )

    def _compute(
        self,
        predictions: list[str],
        model_id: str = "smollm2-135m",
        max_length: int | None = None,
        stride: int | None = None,
        dtype: str = "auto",
    ) -> dict:
        from lib.evaluation.perplexity import score_documents
        from lib.models.loader import load_model

        loaded = load_model(model_id, dtype=dtype)
        result = score_documents(loaded, list(predictions), max_length, stride)
        by_index = {d.index: d.perplexity for d in result.documents}
        return {
            "perplexity": result.perplexity,
            "perplexities": [by_index.get(i) for i in range(len(predictions))],
            "bits_per_byte": result.bits_per_byte,
            "word_perplexity": result.word_perplexity,
        }
