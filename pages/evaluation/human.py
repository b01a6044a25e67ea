"""The Human rating tab: people score a run's answers 1-5 and/or thumbs up/down, one answer at a time."""

from __future__ import annotations

import streamlit as st

from lib.evaluation.evalrun import eval_runs, load_eval_run
from lib.evaluation.figures import metric_label
from lib.evaluation.human import MAX_RATER_CHARACTERS, THUMBS, HumanSummary, human_summary, rate, rating_queue
from lib.store import Store, open_store
from lib.store.eval_ratings import ratings_of_run
from lib.store.eval_samples import EvalSample
from pages.evaluation.eval_runs import NO_RUN_YET
from pages.widgets.feedback import shows_errors
from pages.widgets.run_picker import run_picker

SCORE_LABELS = {1: "1 · wrong", 2: "2 · poor", 3: "3 · partly right", 4: "4 · good", 5: "5 · excellent"}
THUMB_LABELS = {"up": ":material/thumb_up: up", "down": ":material/thumb_down: down"}
SKIPPED_KEY = "hum_skipped"  # {(run, rater): [idx, ...]}: skipped answers come back at the end of the queue
REVISIT_KEY = "hum_revisit"  # (run, rater, idx): an answer the rater chose to rate again


def human_tab() -> None:
    """Pick a run and say who you are; rate the answers in your queue; see what all raters made of the run."""
    st.markdown(
        "Metrics only compare words. Here people judge the answers: a **score from 1 to 5**, a **thumb**, or both, "
        "with an optional comment. Each rater has their own queue; rating an answer again replaces your rating."
    )
    store, run_id, rater = None, None, ""
    with shows_errors("Reading the stored runs"):
        store = open_store()
        runs = eval_runs(store)
        if not runs:
            st.info(NO_RUN_YET, icon=":material/info:")
            return
        left, right = st.columns([3, 2])
        with left:
            run_id = run_picker("Run to rate", runs, "hum_run", runs[0].id)
        with right:
            rater = st.text_input(
                "Your name", key="hum_rater", max_chars=MAX_RATER_CHARACTERS, placeholder="e.g. Ana Lima"
            ).strip()
        st.caption(
            ":material/badge: Until sign-in exists, ratings are kept under the name typed here; "
            "issue 10 will make the rater the signed-in user."
        )
    if store is None or run_id is None:
        return
    with shows_errors("Reading your rating queue"):
        if rater:
            _rate_next(store, run_id, rater)
        else:
            st.info(
                "Type your name above to start rating: each rater has their own queue, so several people can "
                "rate the same answers and their agreement can be measured.",
                icon=":material/edit:",
            )
    with shows_errors("Reading the ratings"):
        st.subheader(f"What people made of run #{run_id}", divider="gray")
        show_summary(human_summary(store, run_id), len(load_eval_run(store, run_id).samples))


def _rate_next(store: Store, run_id: int, rater: str) -> None:
    samples = {sample.idx: sample for sample in load_eval_run(store, run_id).samples}
    queue = rating_queue(store, run_id, rater)
    total, done = len(samples), len(samples) - len(queue)
    st.progress(done / total if total else 1.0, text=f"{done} of {total} rated by you")
    skipped = [idx for idx in st.session_state.setdefault(SKIPPED_KEY, {}).get((run_id, rater), []) if idx in queue]
    pending = [idx for idx in queue if idx not in skipped] + skipped
    revisit = st.session_state.get(REVISIT_KEY)
    current = revisit[2] if revisit and revisit[:2] == (run_id, rater) and revisit[2] in samples else None
    if current is None and pending:
        current = pending[0]
    if current is None:
        st.success(
            f"You have rated every answer of run #{run_id}: thank you. Pick another run, or change a rating below.",
            icon=":material/task_alt:",
        )
    else:
        _rate_one(store, run_id, rater, samples[current], total, revisiting=current not in queue)
    rated = [idx for idx in samples if idx not in queue]
    if rated:
        with st.expander(f"Change a rating you gave ({len(rated)})"):
            again = st.selectbox(
                "Answer", rated, key="hum_again", format_func=lambda i: _short(samples[i]),
                label_visibility="collapsed",
            )  # fmt: skip
            if st.button("Rate it again", key="hum_again_go", icon=":material/edit:"):
                st.session_state[REVISIT_KEY] = (run_id, rater, again)
                st.rerun()


def _rate_one(store: Store, run_id: int, rater: str, sample: EvalSample, total: int, revisiting: bool) -> None:
    """The question, its context and references, the model's answer, and the rating widgets for it."""
    earlier = next(
        (r for r in ratings_of_run(store, run_id) if r.idx == sample.idx and r.rater == rater), None
    )  # shown when re-rating, so a change starts from what was given
    key = f"{run_id}_{sample.idx}_{rater}"
    with st.container(border=True):
        head = f"**Answer {sample.idx + 1} of {total}** · item `{sample.item_id}`"
        st.markdown(head + (" · :orange-badge[rating again]" if revisiting else ""))
        _labelled("Question", sample.prompt)
        if sample.context:
            with st.expander("Context given with the question"):
                st.text(sample.context)
        _labelled("Reference" + ("s" if len(sample.references) > 1 else ""), " | ".join(sample.references))
        _labelled("The model's answer", sample.output or "(an empty answer)")
        if sample.scores:
            st.caption(
                "Metrics for this answer: "
                + " · ".join(f"{metric_label(n)} {v:.0f}" for n, v in sample.scores.items() if v is not None)
            )
        left, right = st.columns([3, 2])
        score = left.radio(
            "Score", list(SCORE_LABELS), format_func=SCORE_LABELS.get, horizontal=True, key=f"hum_score_{key}",
            index=(earlier.score - 1) if earlier and earlier.score else None,
            help="How good is the answer, given the question and the references?",
        )  # fmt: skip
        thumb = right.radio(
            "Thumb", list(THUMB_LABELS), format_func=THUMB_LABELS.get, horizontal=True, key=f"hum_thumb_{key}",
            index=(0 if earlier.thumb == 1 else 1) if earlier and earlier.thumb else None,
            help="Would you accept this answer as it is?",
        )  # fmt: skip
        comment = st.text_input(
            "Comment (optional)", key=f"hum_comment_{key}", value=earlier.comment if earlier else "",
            placeholder="What is wrong or right about it?",
        )  # fmt: skip
        save, skip, _ = st.columns([1, 1, 4])
        if save.button("Save and next", type="primary", icon=":material/check:", key="hum_save", width="stretch"):
            with shows_errors("Saving the rating"):
                rate(store, run_id, sample.idx, rater, score, THUMBS[thumb] if thumb else None, comment)
                st.session_state.pop(REVISIT_KEY, None)
                st.toast(f"Saved your rating of {sample.item_id}.", icon=":material/check:")
                st.rerun()
        if skip.button("Skip", icon=":material/skip_next:", key="hum_skip", width="stretch"):
            if revisiting:
                st.session_state.pop(REVISIT_KEY, None)
            else:
                skipped = st.session_state.setdefault(SKIPPED_KEY, {}).setdefault((run_id, rater), [])
                if sample.idx in skipped:
                    skipped.remove(sample.idx)
                skipped.append(sample.idx)
            st.rerun()


def show_summary(summary: HumanSummary, total: int) -> None:
    """Tiles for how many answers are rated, the mean score, thumbs up, raters and agreement, with what kappa means."""
    if not summary.rated:
        st.caption("No answer of this run is rated yet.")
        return
    tiles = st.columns(5)
    tiles[0].metric("Answers rated", f"{summary.rated} of {total}", border=True)
    tiles[1].metric("Mean score", "-" if summary.mean_score is None else f"{summary.mean_score:.2f} / 5", border=True)
    share = summary.thumbs_up_share
    tiles[2].metric("Thumbs up", "-" if share is None else f"{share:.0%}", border=True)
    tiles[3].metric("Raters", len(summary.raters), border=True)
    tiles[4].metric("Agreement (Cohen's κ)", "n/a" if summary.kappa is None else f"{summary.kappa:.2f}", border=True)
    st.caption(f"Raters: {', '.join(summary.raters)}. " + kappa_caption(summary))


def kappa_caption(summary: HumanSummary) -> str:
    """What the kappa shown means, and on which scale it was computed."""
    if summary.kappa is None:
        return (
            "Cohen's kappa (agreement between raters beyond chance) needs two raters who rated at least two of "
            "the same answers."
        )
    scale = (
        "the 1-5 scores, unweighted (a 4 against a 5 counts as a disagreement)"
        if summary.kappa_on == "score"
        else "the thumbs"
    )
    text = (
        f"Cohen's kappa is agreement between raters beyond chance, on {scale}, over {summary.kappa_pairs} shared "
        "ratings: 1 is perfect agreement, 0 no better than chance, below 0 worse than chance; above 0.6 is usually "
        "read as substantial."
    )
    if summary.kappa_quadratic is not None:
        text += f" Quadratic-weighted, counting near misses as partial agreement: {summary.kappa_quadratic:.2f}."
    return text


def _labelled(label: str, text: str) -> None:
    """A small label over plain text (answers are shown as written, never as Markdown)."""
    st.caption(label)
    st.text(text)


def _short(sample: EvalSample) -> str:
    prompt = sample.prompt if len(sample.prompt) <= 70 else sample.prompt[:67] + "..."
    return f"{sample.item_id}: {prompt}"
