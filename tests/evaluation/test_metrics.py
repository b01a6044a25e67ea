"""The local `evaluate` metric modules give the reference implementations' numbers, offline."""

from __future__ import annotations

import os
import socket
from pathlib import Path

import pytest
import sacrebleu
from rouge_score import rouge_scorer

from lib.errors import InputError
from lib.evaluation import metrics
from lib.evaluation.metrics import METRICS, load_metric, metric_folder
from tests.evaluation import squad_v1_official as official

HYPOTHESES = [
    "The cat sat on the mat.",
    "A quick brown fox jumps over the lazy dog",
    "It is raining heavily in Paris today.",
    "short",
    "Das Haus ist wunderbar groß, nicht wahr?",
]
SINGLE = [
    ["The cat is sitting on the mat."],
    ["The quick brown fox jumped over the lazy dog."],
    ["Heavy rain falls on Paris today."],
    ["a short one"],
    ["Das Haus ist sehr groß."],
]
SEVERAL = [[refs[0], refs[0].upper()] for refs in SINGLE]  # two references for every item
VARYING = [
    ["The cat is sitting on the mat.", "A cat sat on a mat.", "There is a cat on the mat."],
    ["The quick brown fox jumped over the lazy dog."],
    ["Heavy rain falls on Paris today.", "It rains in Paris."],
    ["a short one"],
    ["Das Haus ist sehr groß.", "Das Haus ist groß, oder?"],
]


def _streams(references: list[list[str]]) -> list[list[str | None]]:
    width = max(len(refs) for refs in references)
    return [[refs[i] if i < len(refs) else None for refs in references] for i in range(width)]


@pytest.mark.parametrize(
    ("references", "nrefs"), [(SINGLE, "1"), (SEVERAL, "2"), (VARYING, "var")], ids=["one", "two", "varying"]
)
def test_bleu_and_chrf_equal_sacrebleu_with_its_signature(references: list[list[str]], nrefs: str) -> None:
    bleu = load_metric("bleu").compute(predictions=HYPOTHESES, references=references)
    chrf = load_metric("chrf").compute(predictions=HYPOTHESES, references=references)
    expected_bleu = sacrebleu.BLEU()
    expected_chrf = sacrebleu.CHRF()
    streams = _streams(references)
    assert bleu["bleu"] == pytest.approx(expected_bleu.corpus_score(HYPOTHESES, streams).score, abs=1e-9)
    assert chrf["chrf"] == pytest.approx(expected_chrf.corpus_score(HYPOTHESES, streams).score, abs=1e-9)
    assert bleu["signature"] == str(expected_bleu.get_signature())
    assert bleu["signature"] == f"nrefs:{nrefs}|case:mixed|eff:no|tok:13a|smooth:exp|version:{sacrebleu.__version__}"
    assert chrf["signature"] == str(expected_chrf.get_signature())
    assert chrf["signature"].startswith(f"nrefs:{nrefs}|")


def test_more_references_can_only_raise_bleu() -> None:
    """The padding with None really adds references: extra ones give sacrebleu more n-grams to match."""
    one = load_metric("bleu").compute(predictions=HYPOTHESES, references=SINGLE)["bleu"]
    varying = load_metric("bleu").compute(predictions=HYPOTHESES, references=VARYING)["bleu"]
    assert varying > one


TRICKY = [
    ("The Eiffel Tower!", ["eiffel tower"]),  # article, case, punctuation: an exact match
    ("an apple a day", ["the apple, the day"]),
    ("Paris, France.", ["Paris", "paris france"]),  # best of several references
    ("", ["something"]),  # empty prediction
    ("the", ["a"]),  # both normalise to nothing
    ("Zürich ist schön", ["zürich ist SCHÖN"]),  # non-ASCII case folding
    ("naïve café—bar", ["naive cafe bar"]),  # accents and a non-ASCII dash are kept
    ("1,000 km", ["1000 km", "one thousand kilometres"]),
    ("dog dog dog cat", ["dog cat cat"]),  # bag of tokens: counts are clipped
    ("theater another", ["theater", "other"]),  # 'the'/'an' inside words stay
    ("  spaced\tout \n answer ", ["spaced out answer"]),
]


def test_f1_and_exact_match_equal_the_official_squad_script() -> None:
    predictions = [p for p, _ in TRICKY]
    references = [refs for _, refs in TRICKY]
    f1 = load_metric("f1").compute(predictions=predictions, references=references)
    em = load_metric("exact_match").compute(predictions=predictions, references=references)
    expected_f1 = 100.0 * sum(official.metric_max_over_ground_truths(official.f1_score, p, r) for p, r in TRICKY)
    expected_em = sum(official.metric_max_over_ground_truths(official.exact_match_score, p, r) for p, r in TRICKY)
    assert f1 == {"f1": pytest.approx(expected_f1 / len(TRICKY), abs=1e-12)}
    assert em == {"exact_match": pytest.approx(100.0 * expected_em / len(TRICKY), abs=1e-12)}
    assert 0 < em["exact_match"] < 100  # the pairs mix matches and misses, so the check has teeth


def test_f1_and_exact_match_per_item_equal_the_official_script() -> None:
    from lib.evaluation.metrics.squad.squad import best_exact_match, best_f1, normalize_answer

    for prediction, references in TRICKY:
        assert normalize_answer(prediction) == official.normalize_answer(prediction)
        assert best_f1(prediction, references) == official.metric_max_over_ground_truths(
            official.f1_score, prediction, references
        )
        assert best_exact_match(prediction, references) == float(
            official.metric_max_over_ground_truths(official.exact_match_score, prediction, references)
        )


def test_rouge_l_equals_rouge_score_best_over_references() -> None:
    scorer = rouge_scorer.RougeScorer(["rougeL"])
    expected = [scorer.score_multi(refs, hyp)["rougeL"].fmeasure for hyp, refs in zip(HYPOTHESES, VARYING, strict=True)]
    result = load_metric("rouge_l").compute(predictions=HYPOTHESES, references=VARYING)
    assert result["rouge_l"] == pytest.approx(100 * sum(expected) / len(expected), abs=1e-9)


def test_modules_load_by_path_offline_with_the_network_blocked(monkeypatch: pytest.MonkeyPatch) -> None:
    def refuse(*args: object, **kwargs: object) -> None:
        raise OSError("network blocked by the test")

    monkeypatch.setattr(socket.socket, "connect", refuse)
    monkeypatch.setattr(metrics, "_loaded", {})  # load afresh, not from this process's cache
    for name in METRICS:
        module = load_metric(name)
        result = module.compute(predictions=["the cat sat on the mat"], references=[["the cat sat on the mat"]])
        assert result[name] == pytest.approx(100.0)
    import evaluate

    assert os.environ["HF_EVALUATE_OFFLINE"] == "1"
    assert evaluate.config.HF_EVALUATE_OFFLINE is True
    # evaluate copied our scripts into a module cache that is Pitwall's, not ~/.cache/huggingface
    cache = Path(evaluate.config.HF_MODULES_CACHE)
    assert cache.parent.name == "evaluate" and "pitwall-home" in cache.parts
    assert list(cache.glob("evaluate_modules/metrics/bleu/*/bleu.py"))


def test_each_metric_has_its_own_script_folder() -> None:
    for name in METRICS:
        folder = metric_folder(name)
        assert (folder / f"{folder.name}.py").is_file()
    assert metric_folder("f1") == metric_folder("exact_match")


def test_unknown_metric_is_one_sentence_listing_the_known_ones() -> None:
    with pytest.raises(InputError) as caught:
        load_metric("meteor")
    message = str(caught.value)
    assert "meteor" in message and all(name in message for name in METRICS)
    assert "\n" not in message
