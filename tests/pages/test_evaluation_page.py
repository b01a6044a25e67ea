"""The Evaluation page's tabs beyond perplexity, driven like a user through Streamlit's AppTest."""

from __future__ import annotations

import json

from lib.evaluation.evalrun import EvalRunResult, eval_runs, save_eval_run
from lib.evaluation.scoring import score_corpus, score_samples
from lib.jobs import wait_for
from lib.samples.evalset import qa_eval_rows
from lib.store import open_store
from lib.store.eval_ratings import ratings_of_run
from lib.store.eval_samples import EvalSample
from tests.pages.test_pages import SLOW, frame_with, job_ids, page_app


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


# ---------------------------------------------------------------------------------------------------------------
# Eval runs, Compare, Human rating, Reports

ROWS = qa_eval_rows()[:6]
REFERENCES = [[row["reference"], *row["aliases"]] for row in ROWS]
WEAK = ["Lyon", "Tokyo", "Saturn", "Au", "Six", "Shakespeare"]
STRONG = ["Paris", "Tokyo", "Jupiter", "Au", "Seven", "William Shakespeare"]
SET_SHA = "ab" * 32


def stored_run(outputs: list[str], model: str = "model-a", sha: str = SET_SHA, metrics=("f1", "exact_match")) -> int:
    """An eval run with known answers, stored through lib as a finished job stores one (no model needed)."""
    scores = score_samples(outputs, REFERENCES, metrics)
    corpus = score_corpus(outputs, REFERENCES, metrics, resamples=50)
    samples = [
        EvalSample(i, ROWS[i]["id"], ROWS[i]["question"], None, REFERENCES[i], outputs[i],
                   {name: scores[name][i] for name in metrics}, 10, 3, 0.1)
        for i in range(len(outputs))
    ]  # fmt: skip
    result = EvalRunResult(
        model, "f" * 16, "qa.jsonl", sha, {"max_new_tokens": 8, "batch_size": 8},
        {name: score.to_dict() for name, score in corpus.items()},
        {"generation_seconds": 1.5, "scoring_seconds": 0.1, "tokens_per_second": 12.0}, samples,
    )  # fmt: skip
    return save_eval_run(open_store(), result)


def eval_set_bytes(rows: int = 4) -> bytes:
    return "\n".join(json.dumps(row) for row in ROWS[:rows]).encode()


def test_an_eval_run_started_from_the_page_is_stored_and_shown_from_the_store(tiny_model_dir: str) -> None:
    at = page_app("pages.evaluation").run()
    at.radio(key="evr_source").set_value("Upload a file").run()
    at.file_uploader(key="evr_upload").set_value(("four.jsonl", eval_set_bytes(4), "application/json")).run()
    assert any("4 items" in c.value for c in at.tabs[2].caption), [c.value for c in at.tabs[2].caption]
    at.text_input(key="evr_model").set_value(tiny_model_dir)
    at.number_input(key="evr_max_new_tokens").set_value(4)
    at.selectbox(key="evr_dtype").set_value("float32")
    before = job_ids()
    at = at.button(key="evr_start").click().run()
    started = job_ids() - before
    assert len(started) == 1
    for job_id in started:
        wait_for(job_id, timeout=SLOW)
    at = at.run()
    assert not at.exception, [e.value for e in at.exception]
    assert not at.error, [e.value for e in at.error]
    runs = eval_runs(open_store())
    assert len(runs) == 1 and runs[0].source == "four.jsonl"
    tiles = {m.label for m in at.tabs[2].metric}
    assert {"BLEU", "chrF", "ROUGE-L", "F1", "Exact match"} <= tiles
    answers = frame_with(at, "output")
    assert len(answers) == 4 and set(answers["item"]) == {row["id"] for row in ROWS[:4]}
    assert at.selectbox(key="evr_run").value == runs[0].id


def test_an_upload_that_is_not_an_eval_set_is_one_sentence() -> None:
    at = page_app("pages.evaluation").run()
    at.radio(key="evr_source").set_value("Upload a file").run()
    upload = b'{"text": "hello there"}\n{"text": "general kenobi"}\n'
    at.file_uploader(key="evr_upload").set_value(("notes.jsonl", upload, "application/json")).run()
    assert not at.exception
    errors = [e.value for e in at.tabs[2].error]
    assert len(errors) == 1 and "no prompt column" in errors[0] and "\n" not in errors[0], errors
    assert at.button(key="evr_start").disabled


def test_compare_shows_a_significant_gain_and_a_change_within_noise() -> None:
    baseline, candidate = stored_run(WEAK), stored_run(STRONG, model="model-b")
    stored_run(STRONG, sha="cd" * 32)  # newest, but alone on its set: the default pair skips it
    at = page_app("pages.evaluation").run(timeout=60)
    assert not at.exception, [e.value for e in at.exception]
    assert (at.selectbox(key="cmp_baseline").value, at.selectbox(key="cmp_candidate").value) == (baseline, candidate)
    tiles = {m.label: m for m in at.tabs[3].metric}
    assert tiles["F1"].delta.startswith("+")
    captions = " ".join(c.value for c in at.tabs[3].caption)
    assert "significant" in captions and "p = " in captions
    changes = frame_with(at, "candidate answer")
    assert set(changes["change"]) == {"improved", "same"}
    at.radio(key="cmp_change").set_value("Improved").run()
    improved = frame_with(at, "candidate answer")
    assert list(improved["baseline answer"]) == ["Lyon", "Saturn", "Six"]

    same = stored_run(WEAK, model="model-c")  # the same answers again: every change within noise
    at = at.run()
    at.selectbox(key="cmp_baseline").set_value(baseline)
    at.selectbox(key="cmp_candidate").set_value(same).run()
    assert not at.error
    assert all(c.value.startswith("within noise") for c in at.tabs[3].caption if "p = " in c.value)

    at.selectbox(key="cmp_candidate").set_value(candidate + 1).run()  # the run on another eval set
    refusals = [e.value for e in at.tabs[3].error]
    assert len(refusals) == 1 and "different eval sets" in refusals[0]


def test_rating_from_the_page_is_stored_and_the_queue_advances() -> None:
    run_id = stored_run(STRONG)
    at = page_app("pages.evaluation").run()
    assert any("Type your name" in i.value for i in at.tabs[4].info)  # a name first
    assert not [button for button in at.button if button.key == "hum_save"]
    at.text_input(key="hum_rater").set_value("Ana").run()
    assert "0 of 6 rated by you" in at.tabs[4].get("progress")[0].proto.text
    at.radio(key=f"hum_score_{run_id}_0_Ana").set_value(4)
    at.radio(key=f"hum_thumb_{run_id}_0_Ana").set_value("up")
    at.text_input(key=f"hum_comment_{run_id}_0_Ana").set_value("right, and short")
    at = at.button(key="hum_save").click().run()
    assert not at.exception and not at.error, [e.value for e in at.error]
    (rating,) = ratings_of_run(open_store(), run_id)
    assert (rating.idx, rating.rater, rating.score, rating.thumb, rating.comment) == (
        0,
        "Ana",
        4,
        1,
        "right, and short",
    )
    assert "1 of 6 rated by you" in at.tabs[4].get("progress")[0].proto.text
    assert at.radio(key=f"hum_score_{run_id}_1_Ana")  # the next answer is up
    at = at.button(key="hum_skip").click().run()
    assert at.radio(key=f"hum_score_{run_id}_2_Ana")
    at = at.button(key="hum_save").click().run()  # neither score nor thumb: one sentence, nothing stored
    assert any("needs a score" in e.value for e in at.tabs[4].error)
    assert len(ratings_of_run(open_store(), run_id)) == 1
    assert {m.label: m.value for m in at.tabs[4].metric}["Mean score"] == "4.00 / 5"


def test_the_reports_tab_builds_an_html_report_with_the_scorecard() -> None:
    baseline = stored_run(WEAK)
    candidate = stored_run([*STRONG[:5], "Hamlet"], model="model-b")  # F1 83.3: below a threshold of 90
    at = page_app("pages.evaluation").run(timeout=60)
    assert (at.selectbox(key="rep_run").value, at.selectbox(key="rep_baseline").value) == (candidate, baseline)
    at.number_input(key="rep_thr_f1").set_value(90.0).run()
    assert any("FAIL" in m.value for m in at.tabs[5].markdown)
    card = frame_with(at, "outcome")
    assert list(card["metric"]) == ["F1", "Exact match"] and card["outcome"][0] == "failed"
    assert card["change"][0][0] in "▲▶" and card["change"][0].endswith("+33.3")
    at = at.button(key="rep_build").click().run(timeout=60)
    assert not at.exception and not at.error, [e.value for e in at.error]
    built = at.session_state["rep_built"]
    assert "Scorecard against run #" + str(baseline) in built["html"] and "FAIL" in built["html"]
    assert built["pdf"].startswith(b"%PDF")
    labels = {button.proto.label for button in at.tabs[5].get("download_button")}
    assert labels == {"Download HTML", "Download PDF"}


def test_documents_mode_scores_each_line_and_a_second_model_is_shown_side_by_side(
    tiny_model_dir: str, tmp_path
) -> None:
    import shutil

    from lib import config
    from lib.jobs import wait_for
    from lib.samples.writer import write_samples
    from tests.pages.test_pages import job_ids

    write_samples(config.samples_dir())
    second = tmp_path / "tiny-copy"
    shutil.copytree(tiny_model_dir, second)
    at = page_app("pages.evaluation").run()
    at.radio(key="ppl_mode").set_value("Documents (each scored on its own)").run()
    at.radio(key="ppl_doc_source").set_value("Demo help-centre article").run()
    at.text_input(key="ppl_model").set_value(tiny_model_dir)
    at.text_input(key="ppl_model_2").set_value(str(second))
    at.selectbox(key="ppl_dtype").set_value("float32")
    before = job_ids()
    at = at.button(key="ppl_run").click().run(timeout=60)
    started = job_ids() - before
    assert len(started) == 2  # one run per model, on the same staged input
    for job_id in started:
        wait_for(job_id, timeout=120)
    at = at.run(timeout=60)
    assert not at.exception, [e.value for e in at.exception]
    assert not at.error, [e.value for e in at.error]
    tiles = {m.label: m.value for m in at.tabs[0].metric}
    assert float(tiles["Bits per byte"]) > 0 and float(tiles["Perplexity"]) > 1
    lines = [line for line in (config.samples_dir() / "help_centre.txt").read_text().splitlines() if line.strip()]
    assert any(f"{len(lines):,} documents" in c.value for c in at.tabs[0].caption)
    surprising = frame_with(at, "text")  # each document's start, so a reader knows which one it was
    assert set(surprising["text"]) <= {" ".join(line.split())[:120] for line in lines}
    side_by_side = frame_with(at, "bits per byte")
    assert sorted(side_by_side["model"]) == sorted([tiny_model_dir, str(second)])
