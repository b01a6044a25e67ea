"""What the Evaluation page's tables and lines say, from stored runs, without a browser."""

from __future__ import annotations

from lib.evaluation import tables
from lib.evaluation.evalrun import EvalRunResult
from lib.store.eval_runs import EvalRun
from lib.store.eval_samples import EvalSample


def perplexity_run(run_id: int, model: str, sha: str, perplexity: float, bpb: float) -> EvalRun:
    summary = {"perplexity": perplexity, "bits_per_byte": bpb, "tokens": 100, "max_length": 512, "stride": 256}
    return EvalRun(run_id, "perplexity", "2026-11-28T01:00:00+00:00", model, "article.txt", summary, {}, sha)


def test_side_by_side_keeps_each_models_latest_run_on_that_input_best_bits_per_byte_first() -> None:
    runs = [  # newest first, as the store lists them
        perplexity_run(4, "big", "aa", 9.0, 0.9),
        perplexity_run(3, "small", "aa", 12.0, 1.1),
        perplexity_run(2, "big", "aa", 30.0, 2.0),  # an older run of the same model: not shown
        perplexity_run(1, "other", "bb", 5.0, 0.5),  # another input: not shown
    ]
    table = tables.side_by_side_frame(runs, "aa")
    assert list(table["run"]) == [4, 3] and list(table["model"]) == ["big", "small"]
    assert tables.side_by_side_frame(runs, "bb").empty  # one model alone has nothing to sit beside


def eval_result(scores: list[dict]) -> EvalRunResult:
    samples = [
        EvalSample(i, f"q{i}", f"Question {i}?", None, ["yes"], f"answer {i}", score) for i, score in enumerate(scores)
    ]
    metrics = {name: {"score": 50.0, "ci95": [40.0, 60.0]} for name in scores[0]}
    return EvalRunResult("m", "", "set.jsonl", "ab" * 32, {}, metrics, {}, samples, run_id=7)


def test_answers_worst_first_by_f1_and_exact_match_failures_only() -> None:
    result = eval_result(
        [{"f1": 80.0, "exact_match": 100.0}, {"f1": 10.0, "exact_match": 0.0}, {"f1": 40.0, "exact_match": 0.0}]
    )
    table = tables.samples_frame(result)
    assert list(tables.filter_samples(table, "Worst first", result)["item"]) == ["q1", "q2", "q0"]
    assert list(tables.filter_samples(table, "Exact-match failures", result)["item"]) == ["q1", "q2"]
    without_em = eval_result([{"f1": 1.0}])
    assert "Exact-match failures" not in tables.sample_filters(without_em)


def test_the_human_line_says_who_rated_and_how_much_they_agree() -> None:
    assert tables.human_line(None) == "no answer rated yet"
    line = tables.human_line(
        {"rated": 8, "mean_score": 3.6, "thumbs_up_share": 0.75, "raters": ["ana", "ben"], "kappa": 0.61,
         "kappa_pairs": 6}
    )  # fmt: skip
    assert line == (
        "8 answers rated · mean score 3.60 / 5 · 75% thumbs up · 2 raters (ana, ben) · "
        "agreement (Cohen's kappa) 0.61 on 6 shared ratings"
    )


def test_a_local_model_folder_is_labelled_by_its_name() -> None:
    run = EvalRun(12, "eval", "2026-11-28T09:30:12+00:00", "/tmp/models/tiny-llama", "qa.jsonl", {}, {}, "x")
    assert tables.run_label(run) == "#12 tiny-llama on qa.jsonl · 2026-11-28 09:30 UTC"
