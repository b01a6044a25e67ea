"""Comparing two eval runs: paired deltas, per-sample changes, refusals across eval sets, the trend, and the
`eval compare`, `eval rate` and `eval run --baseline --report` commands."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from lib.cli import main
from lib.errors import InputError
from lib.evaluation.compare import compare_runs, trend
from lib.evaluation.evalrun import EvalRunResult, save_eval_run
from lib.evaluation.human import rate
from lib.evaluation.scoring import score_corpus, score_samples
from lib.samples.evalset import qa_eval_rows
from lib.store import open_store
from lib.store.eval_samples import EvalSample

ROWS = qa_eval_rows()[:8]
REFERENCES = [[row["reference"], *row["aliases"]] for row in ROWS]
WEAK = ["Lyon", "Tokyo", "Saturn", "Au", "Six", "Shakespeare", "90", "Oxygen"]
STRONG = ["Paris", "Kyoto", "Jupiter", "Au", "Seven", "William Shakespeare", "100 degrees Celsius", "Carbon dioxide"]


def stored_run(outputs: list[str], sha: str = "ab" * 32, metrics=("f1", "bleu"), fingerprint="f" * 16, ids=None):
    scores = score_samples(outputs, REFERENCES, metrics)
    corpus = score_corpus(outputs, REFERENCES, metrics, resamples=50)
    samples = [
        EvalSample(i, (ids or [r["id"] for r in ROWS])[i], ROWS[i]["question"], None, REFERENCES[i], outputs[i],
                   {name: scores[name][i] for name in metrics}, 10, 3, 0.1)
        for i in range(len(outputs))
    ]  # fmt: skip
    result = EvalRunResult(
        "model", fingerprint, "qa.jsonl", sha, {"max_new_tokens": 8},
        {name: score.to_dict() for name, score in corpus.items()}, {"generation_seconds": 1.0}, samples,
    )  # fmt: skip
    return save_eval_run(open_store(), result)


def test_a_better_candidate_shows_a_positive_delta_and_its_improved_samples() -> None:
    baseline, candidate = stored_run(WEAK), stored_run(STRONG, fingerprint="e" * 16)
    comparison = compare_runs(open_store(), baseline, candidate, resamples=200)
    f1 = comparison.deltas["f1"]
    assert comparison.headline == "f1" and f1["delta"] > 0 and f1["candidate"] == pytest.approx(87.5)
    assert f1["delta"] == pytest.approx(f1["candidate"] - f1["baseline"])
    assert comparison.changes == {"improved": 5, "regressed": 1, "same": 2}  # Shakespeare is an alias: same
    lyon = comparison.samples[0]
    assert (lyon["baseline_output"], lyon["candidate_output"], lyon["change"]) == ("Lyon", "Paris", "improved")
    assert lyon["baseline_scores"]["f1"] == 0 and lyon["candidate_scores"]["f1"] == 100
    assert comparison.samples[1]["change"] == "regressed"  # Tokyo -> Kyoto
    assert not comparison.same_weights
    json.dumps(comparison.to_dict())  # the page and `--json` get plain JSON


def test_the_same_outputs_are_the_same_and_human_ratings_come_along() -> None:
    first, second = stored_run(STRONG), stored_run(STRONG)
    store = open_store()
    rate(store, second, 0, "ana", score=5)
    comparison = compare_runs(store, first, second, resamples=50)
    assert comparison.changes["same"] == 8 and comparison.deltas["f1"]["delta"] == 0
    assert comparison.same_weights
    assert comparison.human["candidate"].rated == 1 and comparison.human["baseline"].rated == 0


def test_runs_on_different_eval_sets_or_items_are_refused() -> None:
    baseline = stored_run(WEAK)
    other_set = stored_run(STRONG, sha="cd" * 32)
    with pytest.raises(InputError, match="different eval sets") as caught:
        compare_runs(open_store(), baseline, other_set)
    assert "\n" not in str(caught.value)
    other_items = stored_run(STRONG, ids=[f"x{i}" for i in range(8)])
    with pytest.raises(InputError, match="different items"):
        compare_runs(open_store(), baseline, other_items)


def test_without_f1_the_first_metric_is_the_headline() -> None:
    baseline, candidate = stored_run(WEAK, metrics=("bleu", "chrf")), stored_run(STRONG, metrics=("chrf", "bleu"))
    comparison = compare_runs(open_store(), baseline, candidate, resamples=50)
    assert comparison.headline == "bleu" and list(comparison.deltas) == ["bleu", "chrf"]


def test_the_trend_lists_every_run_on_the_eval_set_oldest_first() -> None:
    first, _other, second = stored_run(WEAK), stored_run(STRONG, sha="cd" * 32), stored_run(STRONG)
    points = trend(open_store(), "ab" * 32)
    assert [p["id"] for p in points] == [first, second]
    assert points[0]["metrics"]["f1"]["score"] < points[1]["metrics"]["f1"]["score"] == pytest.approx(87.5)
    assert len(points[1]["metrics"]["f1"]["ci95"]) == 2 and points[0]["model"] == "model"


def test_compare_and_rate_from_the_terminal(capsys: pytest.CaptureFixture) -> None:
    baseline, candidate = stored_run(WEAK), stored_run(STRONG)
    assert main(["eval", "rate", str(candidate), "2", "--score", "4", "--rater", "ana", "--json"]) == 0
    assert json.loads(capsys.readouterr().out)["score"] == 4
    assert main(["eval", "rate", str(candidate), "2", "--thumb", "down", "--rater", "ana"]) == 0
    assert "thumb down" in capsys.readouterr().out
    assert main(["eval", "rate", str(candidate), "2", "--score", "9"]) == 1
    assert "from 1 to 5" in capsys.readouterr().err
    assert main(["eval", "compare", str(baseline), str(candidate), "--resamples", "50", "--json"]) == 0
    payload = json.loads(capsys.readouterr().out)
    assert payload["deltas"]["f1"]["delta"] > 0 and payload["human"]["candidate"]["rated"] == 1
    assert payload["human"]["candidate"]["thumbs_up_share"] == 0  # the re-rating replaced the score of 4
    assert main(["eval", "compare", str(baseline), str(candidate), "--resamples", "50"]) == 0
    assert "f1" in capsys.readouterr().out


def test_a_run_against_a_baseline_with_a_report(tiny_model_dir: str, tmp_path: Path, capsys) -> None:
    dataset = tmp_path / "qa3.jsonl"
    dataset.write_text("".join(json.dumps(row) + "\n" for row in ROWS[:3]), encoding="utf-8")
    common = ["eval", "run", "--model", tiny_model_dir, "--dataset", str(dataset), "--max-new-tokens", "2",
              "--dtype", "float32", "--resamples", "50", "--metrics", "f1,chrf", "--json"]  # fmt: skip
    assert main(common) == 0
    first = json.loads(capsys.readouterr().out)
    report = tmp_path / "run.html"
    assert main([*common, "--baseline", str(first["run_id"]), "--report", str(report)]) == 0
    second = json.loads(capsys.readouterr().out)
    assert second["comparison"]["baseline"] == first["run_id"]
    assert second["comparison"]["deltas"]["f1"]["delta"] == 0  # same weights, greedy: the same answers
    assert second["comparison"]["same_weights"] is True
    assert report.is_file() and "<html" in report.read_text().lower()
    unrelated = stored_run(WEAK)  # made on another eval set
    assert main([*common, "--baseline", str(unrelated)]) == 1
    assert "not on this qa3.jsonl" in capsys.readouterr().err
