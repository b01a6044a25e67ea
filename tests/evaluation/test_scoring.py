"""Corpus scores with bootstrap intervals, per-item scores, the paired test, reading files, and `eval score`."""

from __future__ import annotations

import json
import os
import random
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest
import sacrebleu

from lib.errors import InputError
from lib.evaluation import bootstrap
from lib.evaluation.metrics import METRICS
from lib.evaluation.scoring import (
    MetricScore,
    PairedDelta,
    paired_bootstrap,
    parse_metric_names,
    read_pairs,
    score_corpus,
    score_samples,
)
from tests.helpers import ROOT, assert_one_sentence_error, cli_in_process

VOCABULARY = "the a cat dog sat ran on under mat house tree river quick brown fox lazy big small red"
WORDS = VOCABULARY.split()


def _corpus(n: int, seed: int = 1) -> tuple[list[str], list[list[str]]]:
    """Random pairs (some as short as two words, so some n-gram orders are empty), 1 to 3 references each."""
    rng = random.Random(seed)

    def sentence() -> str:
        return " ".join(rng.choice(WORDS) for _ in range(rng.randint(2, 14)))

    references = [[sentence() for _ in range(rng.randint(1, 3))] for _ in range(n)]
    # about half the predictions copy most of a reference, so scores are neither 0 nor 100
    predictions = [" ".join(refs[0].split()[:-1]) if rng.random() < 0.5 else sentence() for refs in references]
    return predictions, references


def _streams(references: list[list[str]]) -> list[list[str | None]]:
    width = max(len(refs) for refs in references)
    return [[refs[i] if i < len(refs) else None for refs in references] for i in range(width)]


@pytest.fixture(scope="module")
def cli_json_run(tmp_path_factory: pytest.TempPathFactory) -> subprocess.Popen:
    """`eval score --json` started early in its own process (evaluate takes seconds to import), read at the end."""
    folder = tmp_path_factory.mktemp("score-cli")
    (folder / "predictions.txt").write_text("The cat sat on the mat.\nParis, France\n", encoding="utf-8")
    (folder / "references.jsonl").write_text(
        '["The cat is on the mat.", "A cat sat on the mat."]\n{"answers": {"text": ["Paris"]}}\n', encoding="utf-8"
    )
    command = [sys.executable, "-m", "lib", "eval", "score", "--json", "--resamples", "200"]
    command += ["--predictions", str(folder / "predictions.txt"), "--references", str(folder / "references.jsonl")]
    env = {**os.environ, "PITWALL_HOME": str(folder / "home")}
    return subprocess.Popen(command, cwd=ROOT, env=env, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)


@pytest.fixture(autouse=True)
def _start_cli_early(cli_json_run: subprocess.Popen) -> None:
    """Every test in this file starts the CLI run (once), so it overlaps the in-process tests."""


# --- corpus scores and intervals ------------------------------------------------------------------------------


def test_score_corpus_headlines_equal_the_reference_implementations_with_intervals() -> None:
    predictions, references = _corpus(60)
    scores = score_corpus(predictions, references, resamples=300)
    assert list(scores) == list(METRICS)
    streams = _streams(references)
    assert scores["bleu"].score == pytest.approx(sacrebleu.corpus_bleu(predictions, streams).score, abs=1e-9)
    assert scores["chrf"].score == pytest.approx(sacrebleu.corpus_chrf(predictions, streams).score, abs=1e-9)
    assert scores["bleu"].signature.startswith("nrefs:var|case:mixed|eff:no|tok:13a|smooth:exp|")
    assert scores["rouge_l"].signature is None
    for score in scores.values():
        low, high = score.ci95
        assert 0 <= low <= score.score <= high <= 100, score
        assert high > low, score  # varied items give a real spread
    assert scores["bleu"].to_dict() == {
        "score": scores["bleu"].score,
        "ci95": list(scores["bleu"].ci95),
        "signature": scores["bleu"].signature,
    }
    assert set(scores["f1"].to_dict()) == {"score", "ci95"}


def test_intervals_narrow_with_more_items_and_repeat_with_the_seed() -> None:
    predictions, references = _corpus(40)
    small = score_corpus(predictions, references, ["bleu", "f1"], resamples=400)
    large = score_corpus(predictions * 10, references * 10, ["bleu", "f1"], resamples=400)
    for name in ("bleu", "f1"):
        assert large[name].score == pytest.approx(small[name].score, abs=1e-9)  # same items, ten times over
        small_width = small[name].ci95[1] - small[name].ci95[0]
        large_width = large[name].ci95[1] - large[name].ci95[0]
        assert large_width < 0.6 * small_width  # about 1/sqrt(10)
    again = score_corpus(predictions, references, ["bleu", "f1"], resamples=400)
    assert again == small
    other_seed = score_corpus(predictions, references, ["bleu"], resamples=400, seed=7)
    assert other_seed["bleu"].ci95 != small["bleu"].ci95


def test_bleu_identity_resample_is_exactly_sacrebleus_corpus_bleu() -> None:
    predictions, references = _corpus(50)
    metric = sacrebleu.BLEU()
    stats = np.array(metric._extract_corpus_statistics(predictions, _streams(references)), dtype=np.float64)
    identity = np.arange(len(predictions))[None, :]
    expected = sacrebleu.corpus_bleu(predictions, _streams(references)).score
    assert bootstrap.scores_for_indices("bleu", stats, identity)[0] == expected  # the same float, not just close
    chrf = sacrebleu.CHRF()
    chrf_stats = np.array(chrf._extract_corpus_statistics(predictions, _streams(references)), dtype=np.float64)
    expected_chrf = sacrebleu.corpus_chrf(predictions, _streams(references)).score
    assert bootstrap.scores_for_indices("chrf", chrf_stats, identity)[0] == expected_chrf


def test_vectorised_formulas_equal_sacrebleu_on_every_resample_including_degenerate_ones() -> None:
    predictions, references = _corpus(30)
    predictions[:3] = ["", "x", "the cat"]  # empty, no match, too short for 3- and 4-grams
    rng = np.random.default_rng(3)
    indices = rng.integers(0, len(predictions), size=(40, len(predictions)))
    indices[0] = 0  # only the empty prediction: BLEU and chrF 0
    indices[1] = 2  # only "the cat": no 3-grams at all, so sacrebleu stops at order 3
    for kind, metric in (("bleu", sacrebleu.BLEU()), ("chrf", sacrebleu.CHRF())):
        stats = metric._extract_corpus_statistics(predictions, _streams(references))
        ours = bootstrap.scores_for_indices(kind, np.array(stats, dtype=np.float64), indices)
        theirs = [metric._compute_score_from_stats(list(np.array(stats)[row].sum(0))).score for row in indices]
        np.testing.assert_allclose(ours, theirs, rtol=1e-12, atol=1e-12)
    assert ours[0] == 0.0


def test_paired_bootstrap_finds_a_clearly_better_system_and_not_an_identical_one() -> None:
    predictions, references = _corpus(80)
    better = [refs[0] for refs in references]  # the candidate answers with a reference
    for name in ("bleu", "chrf", "f1"):
        result = paired_bootstrap(name, predictions, better, references, resamples=500)
        assert result.delta == pytest.approx(result.candidate - result.baseline)
        assert result.delta > 0 and result.ci95[0] > 0 and result.significant
        assert result.p_value < 0.01
        assert result.to_dict()["significant"] is True and result.to_dict()["name"] == name
        worse = paired_bootstrap(name, better, predictions, references, resamples=500)
        assert worse.delta < 0 and worse.ci95[1] < 0 and worse.significant and worse.p_value < 0.01
    same = paired_bootstrap("bleu", predictions, list(predictions), references, resamples=500)
    assert same.delta == 0 and same.ci95 == (0.0, 0.0)
    assert not same.significant and same.p_value == 1.0
    assert same == PairedDelta("bleu", same.baseline, same.baseline, 0.0, (0.0, 0.0), 1.0, False)


def test_score_samples_are_sacrebleus_sentence_scores_and_the_squad_scores() -> None:
    predictions, references = _corpus(25)
    samples = score_samples(predictions, references)
    assert set(samples) == set(METRICS) and all(len(v) == 25 for v in samples.values())
    for i, (prediction, refs) in enumerate(zip(predictions, references, strict=True)):
        assert samples["bleu"][i] == pytest.approx(sacrebleu.sentence_bleu(prediction, refs).score, abs=1e-9)
        assert samples["chrf"][i] == pytest.approx(sacrebleu.sentence_chrf(prediction, refs).score, abs=1e-9)
    corpus = score_corpus(predictions, references, ["rouge_l", "f1", "exact_match"], resamples=10)
    for name in ("rouge_l", "f1", "exact_match"):
        assert np.mean(samples[name]) == pytest.approx(corpus[name].score, abs=1e-9)  # the mean metrics
    assert score_samples(["Paris"], [["the paris!"]], ["f1", "exact_match"]) == {"f1": [100.0], "exact_match": [100.0]}


def test_bad_arguments_are_input_errors() -> None:
    with pytest.raises(InputError, match="nothing to score"):
        score_corpus([], [])
    with pytest.raises(InputError, match="Item 2 has no list of references"):
        score_corpus(["a", "b"], [["a"], []])
    with pytest.raises(InputError, match="no metric 'bleurt'"):
        score_corpus(["a"], [["a"]], ["bleurt"])
    with pytest.raises(InputError, match="Resamples must be between"):
        score_corpus(["a"], [["a"]], ["f1"], resamples=0)
    with pytest.raises(InputError, match="baseline has 2 outputs but the candidate has 1"):
        paired_bootstrap("f1", ["a", "b"], ["a"], [["a"], ["b"]])


def test_parse_metric_names() -> None:
    assert parse_metric_names(None) == list(METRICS)
    assert parse_metric_names(" BLEU, chrf,bleu ") == ["bleu", "chrf"]
    with pytest.raises(InputError, match="choose from bleu, chrf, rouge_l, f1, exact_match"):
        parse_metric_names("bleu,rouge")


# --- reading files --------------------------------------------------------------------------------------------


def _write(folder: Path, name: str, text: str | bytes) -> Path:
    path = folder / name
    path.write_bytes(text if isinstance(text, bytes) else text.encode("utf-8"))
    return path


def test_read_pairs_plain_lines_keep_empty_predictions(tmp_path: Path) -> None:
    predictions = _write(tmp_path, "p.txt", "first answer\r\n\nthird\u2028still third\n")
    references = _write(tmp_path, "r.txt", "one\ntwo\nthree\n")
    assert read_pairs(predictions, references) == (
        ["first answer", "", "third\u2028still third"],
        [["one"], ["two"], ["three"]],
    )


def test_read_pairs_jsonl_in_every_supported_shape(tmp_path: Path) -> None:
    predictions = _write(
        tmp_path,
        "p.txt",  # the dashboard stages uploads as .txt: the content says it is JSONL
        '"plain string"\n{"prediction": "a"}\n{"output": "b"}\n{"text": "c"}\n{"id": 5, "prediction": "d"}\n"e"\n"f"\n',
    )
    references = _write(
        tmp_path,
        "r.jsonl",
        '"one"\n["two", "deux"]\n{"references": ["three"]}\n{"reference": "four"}\n'
        '{"answers": {"text": ["five", "5"], "answer_start": [0, 9]}}\n'
        '{"answers": [{"text": "six", "answer_start": 1}]}\n{"answer": "seven"}\n\n',
    )
    assert read_pairs(predictions, references) == (
        ["plain string", "a", "b", "c", "d", "e", "f"],
        [["one"], ["two", "deux"], ["three"], ["four"], ["five", "5"], ["six"], ["seven"]],
    )


@pytest.mark.parametrize(
    ("predictions", "references", "message"),
    [
        ("a\nb\nc\n", "x\ny\n", r"p\.txt has 3 predictions but .*r\.txt has 2 reference lines"),
        ("", "x\n", r"p\.txt is empty"),
        ("a\nb\n", "x\n\n", r"Line 2 of .*r\.txt has a blank line"),
        ("a\n", '{"answers": {"text": []}}\n', r"Line 1 of .*r\.jsonl has no non-empty reference"),
        ("a\n", "[1, 2]\n", r"Line 1 of .*r\.jsonl is not a reference"),
        ('{"label": 1}\n', "x\n", r"Line 1 of .*p\.jsonl is not a prediction"),
        ("a\n", '"x"\n{oops\n', r"Line 2 of .*r\.jsonl is not valid JSON"),
        (b"\x00\x01binary\x00", "x\n", r"p\.txt looks like a binary file"),
        (b"caf\xe9\n", "x\n", r"p\.txt is not UTF-8 text"),
    ],
    ids=["counts", "empty", "blank-reference", "no-answers", "numbers", "no-field", "bad-json", "binary", "latin1"],
)
def test_read_pairs_refuses_bad_files_in_one_sentence(
    tmp_path: Path, predictions: str | bytes, references: str, message: str
) -> None:
    p_name = "p.jsonl" if "label" in str(predictions) else "p.txt"
    r_name = "r.jsonl" if references.startswith(("{", "[", '"')) else "r.txt"
    with pytest.raises(InputError, match=message) as caught:
        read_pairs(_write(tmp_path, p_name, predictions), _write(tmp_path, r_name, references))
    assert "\n" not in str(caught.value)


def test_read_pairs_missing_file(tmp_path: Path) -> None:
    with pytest.raises(InputError, match="There is no file"):
        read_pairs(tmp_path / "nope.txt", _write(tmp_path, "r.txt", "x\n"))


# --- the command ----------------------------------------------------------------------------------------------


def test_cli_errors_are_one_line_with_exit_code_1(tmp_path: Path) -> None:
    predictions = _write(tmp_path, "predictions.txt", "a\nb\n")
    references = _write(tmp_path, "references.txt", "x\n")
    result = cli_in_process(
        "eval", "score", "--predictions", str(predictions), "--references", str(references), "--json"
    )
    assert result.returncode == 1 and result.stdout == ""
    assert_one_sentence_error(result.stderr)
    assert "2 predictions" in result.stderr and "1 reference line" in result.stderr
    assert "predictions.txt" in result.stderr and "references.txt" in result.stderr
    empty = _write(tmp_path, "empty.txt", "")
    result = cli_in_process("eval", "score", "--predictions", str(empty), "--references", str(references))
    assert result.returncode == 1
    assert_one_sentence_error(result.stderr)
    assert "empty.txt is empty" in result.stderr


def test_cli_json_shape(cli_json_run: subprocess.Popen) -> None:
    stdout, stderr = cli_json_run.communicate(timeout=120)
    assert cli_json_run.returncode == 0, stderr
    payload = json.loads(stdout)
    assert payload["samples"] == 2
    assert list(payload["metrics"]) == list(METRICS)
    for name, score in payload["metrics"].items():
        assert set(score) == ({"score", "ci95", "signature"} if name in ("bleu", "chrf") else {"score", "ci95"})
        low, high = score["ci95"]
        assert low <= score["score"] <= high
    assert payload["metrics"]["f1"]["score"] == pytest.approx(100 * (1.0 + 2 / 3) / 2)  # "Paris, France" vs "Paris"
    assert payload["metrics"]["bleu"]["signature"].startswith("nrefs:var|")
    assert MetricScore("x", 1.0, (0.5, 2.0)).to_dict() == {"score": 1.0, "ci95": [0.5, 2.0]}
