"""The Overview's Evaluation tile: the latest run against its baseline, and whether the change is real."""

from __future__ import annotations

from lib.evaluation.status import status
from lib.settings import load_settings
from lib.status import CRITICAL, NO_DATA, OK, WARNING
from lib.store import open_store
from tests.evaluation.test_compare import ROWS, stored_run

STRONG = [row["reference"] for row in ROWS]  # every answer right
WEAK = ["I am not sure."] * len(ROWS)  # every answer wrong


def tile():
    return status(open_store(), load_settings())


def test_no_run_yet_says_what_to_do() -> None:
    assert tile().state == NO_DATA


def test_a_first_run_shows_its_headline_metric() -> None:
    stored_run(WEAK)
    area = tile()
    assert area.state == OK and area.headline.startswith("F1 ") and "no earlier run" in area.detail


def test_a_significant_drop_is_critical_and_a_rise_is_fine() -> None:
    better = stored_run(STRONG)
    worse = stored_run(WEAK)
    area = tile()
    assert area.state == CRITICAL, area  # F1 fell by tens of points, far past the 5-point setting
    assert "significant" in area.headline and f"against run #{better}" in area.detail
    assert area.headline.startswith("F1 ") and "(-" in area.headline
    stored_run(STRONG)
    assert tile().state == OK and "(+" in tile().headline
    assert worse  # the middle run is the baseline of the last


def test_a_smaller_significant_drop_only_warns() -> None:
    from lib.settings import set_setting

    set_setting("evaluation.regression_critical_points", "60")
    stored_run(STRONG)
    stored_run(STRONG[:4] + WEAK[4:])  # half the answers now wrong: -50 points, below the critical 60
    area = tile()
    assert area.state == WARNING and "(-50.0, significant)" in area.headline


def test_the_same_answers_again_are_within_noise() -> None:
    stored_run(STRONG)
    stored_run(STRONG)
    area = tile()
    assert area.state == OK and "within noise" in area.headline


def test_runs_on_another_eval_set_are_not_a_baseline() -> None:
    stored_run(STRONG, sha="cd" * 32)
    stored_run(WEAK)
    assert "no earlier run" in tile().detail


def test_eval_runs_speak_for_the_area_and_a_perplexity_rise_still_raises_it() -> None:
    from lib.evaluation.perplexity import PerplexityResult
    from lib.evaluation.runs import save_perplexity_run

    stored_run(STRONG)
    stored_run(STRONG)

    def perplexity_run(value: float) -> None:
        result = PerplexityResult(value, 100, 1.0, 100.0, "float32", "cpu", "m", 128, 64)
        save_perplexity_run(open_store(), result, "article.txt", "ef" * 32)

    perplexity_run(10.0)
    assert tile().headline.startswith("F1 ") and tile().state == OK  # the later perplexity run does not hide it
    perplexity_run(20.0)  # +100%: past the critical percentage
    area = tile()
    assert area.headline.startswith("F1 ") and area.state == CRITICAL and "Perplexity:" in area.detail


def test_a_baseline_without_the_headline_metric_is_no_baseline() -> None:
    stored_run(STRONG, metrics=("chrf",))
    stored_run(WEAK, metrics=("bleu",))  # the same eval set, but nothing in common to compare
    area = tile()
    assert area.headline.startswith("BLEU ") and "no earlier run" in area.detail
