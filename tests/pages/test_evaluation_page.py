"""The Evaluation page's tabs beyond perplexity, driven like a user through Streamlit's AppTest."""

from __future__ import annotations

from tests.pages.test_pages import frame_with, page_app


def test_pasted_predictions_are_scored_with_intervals_and_the_worst_item_first() -> None:
    at = page_app("pages.evaluation").run()
    at.radio(key="score_source").set_value("Paste").run()
    at.text_area(key="score_pred_text").set_value("Paris\nJupiter\nI do not know")
    at.text_area(key="score_ref_text").set_value('["Paris", "Paris, France"]\n"Jupiter"\n"Seven"')
    at.button(key="score_run").click().run(timeout=60)
    assert not at.exception, [e.value for e in at.exception]
    assert not at.error, [e.value for e in at.error]
    tiles = {m.label: m.value for m in at.tabs[1].metric}
    assert tiles["Exact match"] == "66.7" and tiles["F1"] == "66.7"
    items = frame_with(at, "prediction")
    assert items.iloc[0]["prediction"] == "I do not know"  # worst first, by F1


def test_mismatched_counts_are_one_sentence_and_no_scores() -> None:
    at = page_app("pages.evaluation").run()
    at.radio(key="score_source").set_value("Paste").run()
    at.text_area(key="score_pred_text").set_value("Paris\nJupiter")
    at.text_area(key="score_ref_text").set_value("Paris")
    at.button(key="score_run").click().run(timeout=60)
    assert not at.exception
    assert any("2" in e.value and "1" in e.value for e in at.tabs[1].error)
    assert not at.tabs[1].metric
