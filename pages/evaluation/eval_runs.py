"""The Eval runs tab: the model answers an eval set as a job; every stored run shown with its scores and answers.

Also the helpers the Compare, Human rating and Reports tabs share: run labels, the run picker, the human line.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

import pandas as pd
import streamlit as st

from lib import config, jsonsafe
from lib.errors import InputError, PitwallError
from lib.evaluation.evalrun import EvalRunResult, eval_runs, load_eval_run
from lib.evaluation.evalset import EvalSet, read_eval_set
from lib.evaluation.figures import metric_label, metric_scores_figure, sample_scores_figure
from lib.evaluation.human import HumanSummary, human_summary
from lib.evaluation.jobs_eval import DEFAULT_METRICS, eval_run_params
from lib.jobs import submit
from lib.jobs.inputs import stage_bytes
from lib.models.spec import DTYPE_CHOICES, MODEL_HELP
from lib.quality.readers import read_dataset_bytes
from lib.samples import write_samples
from lib.store import Store, open_store
from lib.store.eval_runs import EvalRun
from pages.widgets.feedback import shows_errors
from pages.widgets.jobs import job_outcome, latest_finished, live_jobs

SOURCES = ("Demo QA set", "Upload a file")
DEMO_FILE = "qa_eval.jsonl"
UPLOAD_TYPES = ["jsonl", "ndjson", "json", "csv", "tsv", "parquet"]
FORMAT_HELP = (
    "JSONL or CSV, one question per row. Prompt column: `prompt`, `question`, `input` or `instruction`. "
    "Reference column: `references` (a list), `reference`, `answer`, `answers` (a list, or SQuAD's) or `target`; "
    "an `aliases` list adds other answers that count. Optional: `context` (placed before the question) and `id`."
)
ROW_FILTERS = ("Eval-set order", "Worst first", "Exact-match failures")
NO_RUN_YET = "No eval run yet: start one in the Eval runs tab."


@dataclass(frozen=True)
class Chosen:
    """The eval set file the user picked: bytes, name, and an id that changes only when the file does."""

    data: bytes
    name: str
    file_id: str


def eval_runs_tab() -> None:
    """Choose an eval set and a model, start the run as a job, then browse the stored runs."""
    st.markdown(
        "The model answers every question of an eval set (greedy decoding); each answer is scored against its "
        "references and the run is **stored** with all its answers, so it can be compared, rated and reported."
    )
    with st.container(border=True):
        st.markdown("##### Eval set")
        source = st.radio("Eval set", SOURCES, horizontal=True, key="evr_source", label_visibility="collapsed")
        chosen, eval_set = None, None
        with shows_errors("Reading the eval set"):
            chosen = _choose(source)
            if chosen is not None:
                eval_set = _parsed(chosen)
                _preview(eval_set)
        _settings_and_start(chosen, eval_set)
    live_jobs("eval-run", "evr")
    with shows_errors("Reading the last eval job"):
        finished = latest_finished("eval-run")
        if finished is not None and finished.state != "succeeded":  # a failure stays in view until the next run
            job_outcome(finished, lambda _job: None)
    st.subheader("Stored runs", divider="gray")
    with shows_errors("Reading the stored runs"):
        store = open_store()
        runs = eval_runs(store)
        if not runs:
            st.info("No eval run yet: choose an eval set above and press **Start eval run**.", icon=":material/info:")
            return
        run_id = run_picker("Run", runs, "evr_run", runs[0].id, help="Stored eval runs, newest first.")
        if run_id is not None:
            show_run(store, run_id)


def _choose(source: str) -> Chosen | None:
    if source == SOURCES[1]:
        upload = st.file_uploader("Eval set file", type=UPLOAD_TYPES, key="evr_upload", help=FORMAT_HELP)
        if upload is None:
            st.caption("Choose a JSONL or CSV file of questions with reference answers (hover the ? for columns).")
            return None
        return Chosen(upload.getvalue(), upload.name, f"upload:{upload.file_id}")
    path = config.samples_dir() / DEMO_FILE
    if not path.is_file():
        st.caption(f"The demo QA set ({DEMO_FILE}) has not been written yet.")
        if st.button("Write the demo data", icon=":material/download:", key="evr_write_demo"):
            write_samples(config.samples_dir())  # the same files the Overview's "Load demo data" writes
            st.rerun()
        return None
    data = read_dataset_bytes(path)  # a sentence for an unreadable or too large file
    return Chosen(data, path.name, f"path:{path}:{path.stat().st_mtime_ns}:{len(data)}")


def _parsed(chosen: Chosen) -> EvalSet:
    """The eval set as read, kept per file in the session, so a rerun never parses it again (nor its error)."""
    cached = st.session_state.get("evr_parsed")
    if cached is None or cached[0] != chosen.file_id:
        try:
            with st.spinner(f"Reading {chosen.name}..."):
                parsed: EvalSet | PitwallError = read_eval_set(chosen.data, name=chosen.name)
        except PitwallError as error:
            parsed = error
        cached = (chosen.file_id, parsed)
        st.session_state["evr_parsed"] = cached
    if isinstance(cached[1], PitwallError):
        raise cached[1]
    return cached[1]


def _preview(eval_set: EvalSet) -> None:
    st.caption(
        f"**{len(eval_set):,} items** · {eval_set.format.upper()} · prompts from `{eval_set.prompt_column}`, "
        f"references from `{', '.join(eval_set.reference_columns)}` · set {eval_set.sha256[:12]}"
    )
    for warning in eval_set.warnings:
        st.warning(f"{eval_set.name}: {warning}.", icon=":material/warning:")
    preview = pd.DataFrame(
        [
            {"id": item.item_id, "prompt": item.prompt, "references": " | ".join(item.references)}
            | ({"context": item.context or ""} if any(i.context for i in eval_set.items) else {})
            for item in eval_set.items[:5]
        ]
    )
    st.dataframe(preview, hide_index=True, width="stretch", height=min(36 * (len(preview) + 1) + 3, 220))


def _settings_and_start(chosen: Chosen | None, eval_set: EvalSet | None) -> None:
    model_col, tokens_col, batch_col, dtype_col = st.columns([3, 1, 1, 1])
    spec = model_col.text_input("Model", value=config.default_model_spec(), key="evr_model", help=MODEL_HELP)
    max_new_tokens = tokens_col.number_input(
        "Max new tokens", 1, 4096, 64, key="evr_max_new_tokens", help="The longest answer, in tokens."
    )
    batch_size = batch_col.number_input(
        "Batch size", 1, 512, 8, key="evr_batch_size", help="Questions answered together; lower it if memory runs out."
    )
    dtype = dtype_col.selectbox(
        "Precision", DTYPE_CHOICES, key="evr_dtype", help="auto: bfloat16 where it runs natively, else float32."
    )
    metrics = st.multiselect(
        "Metrics", DEFAULT_METRICS, default=DEFAULT_METRICS, format_func=metric_label, key="evr_metrics",
        help="BLEU and chrF as sacrebleu, ROUGE-L as rouge-score, F1 and exact match as the SQuAD v1.1 script.",
    )  # fmt: skip
    with st.expander("System prompt (optional)"):
        system_prompt = st.text_area(
            "System prompt", key="evr_system_prompt", height=80, label_visibility="collapsed",
            placeholder="e.g. Answer in a few words.",
            help="Sent before every question when the model has a chat template.",
        )  # fmt: skip
    if st.button(
        "Start eval run", type="primary", icon=":material/play_arrow:", key="evr_start", disabled=eval_set is None
    ):
        with shows_errors("Starting the eval run"):
            _start(chosen, eval_set, spec, dtype, int(max_new_tokens), int(batch_size), metrics, system_prompt)


def _start(
    chosen: Chosen | None,
    eval_set: EvalSet | None,
    spec: str,
    dtype: str,
    max_new_tokens: int,
    batch_size: int,
    metrics: list[str],
    system_prompt: str,
) -> None:
    """Check what can be checked now, stage the file, and queue the run as a job (it survives closed tabs)."""
    if chosen is None or eval_set is None:
        raise InputError("Choose an eval set first: the demo QA set or a file of your own.")
    if not spec.strip():
        raise InputError("Name a model: smollm2-135m, a Hugging Face id, or a local folder.")
    if not metrics:
        raise InputError("Choose at least one metric, e.g. F1.")
    open_store()  # a damaged database is reported now, not after the model has answered everything
    path, _ = stage_bytes(chosen.data, Path(chosen.name).suffix)
    params = eval_run_params(
        path, eval_set.sha256, chosen.name, spec.strip(), dtype, max_new_tokens, batch_size, metrics,
        system_prompt.strip() or None,
    )  # fmt: skip
    title = f"Eval run of {spec.strip()} on {chosen.name} ({len(eval_set):,} items)"
    job_id = submit("eval-run", params, title)
    st.toast(f"Started as job #{job_id}; it goes on if you leave this page.", icon=":material/play_arrow:")


# ---------------------------------------------------------------------------------------------------------------
# One stored run


def show_run(store: Store, run_id: int) -> None:
    """A stored run: metric tiles with intervals, what ran, charts, every answer, downloads, human ratings."""
    result = load_eval_run(store, run_id)
    metric_tiles(result.metrics)
    st.caption(run_facts(result))
    scored = {name: entry for name, entry in result.metrics.items() if entry.get("score") is not None}
    per_sample = {name: [s.scores.get(name, 0.0) for s in result.samples] for name in scored}
    charts = st.columns(2)
    if scored:
        charts[0].plotly_chart(metric_scores_figure(scored), key=f"evr_scores_{run_id}")
    if result.samples and per_sample:
        charts[1].plotly_chart(sample_scores_figure(per_sample), key=f"evr_spread_{run_id}")
    summary = human_summary(store, run_id)
    if summary.rated:
        st.markdown(f":material/reviews: **People:** {human_line(summary)}")
    table = samples_table(result)
    filters = [f for f in ROW_FILTERS if f != ROW_FILTERS[2] or "exact_match" in result.metrics]
    shown = st.radio("Answers", filters, horizontal=True, key="evr_filter", index=1)
    rows = _filtered(table, shown, result)
    st.dataframe(rows, hide_index=True, width="stretch", height=min(36 * (len(rows) + 1) + 3, 400))
    empty = sum(1 for sample in result.samples if not sample.output.strip())
    if empty:
        st.caption(
            f":material/warning: {empty} of {len(result.samples)} answers are empty: the model stopped at once "
            "(check its chat template, or raise max new tokens)."
        )
    downloads = st.container(horizontal=True)  # buttons as wide as their labels, side by side
    downloads.download_button(
        "Download run (JSON)", jsonsafe.dumps(result.to_dict(with_samples=True), indent=2),
        file_name=f"eval-run-{run_id}.json", mime="application/json", icon=":material/download:",
        key=f"evr_dl_json_{run_id}",
    )  # fmt: skip
    downloads.download_button(
        "Download answers (CSV)", table.to_csv(index=False), file_name=f"eval-run-{run_id}-samples.csv",
        mime="text/csv", icon=":material/download:", key=f"evr_dl_csv_{run_id}",
    )  # fmt: skip


def metric_tiles(metrics: dict[str, dict]) -> None:
    """One tile per metric: the corpus score (0-100) and its bootstrap 95% interval; BLEU's signature below."""
    if not metrics:
        st.caption("This run stored no metric scores.")
        return
    for tile, (name, entry) in zip(st.columns(len(metrics)), metrics.items(), strict=True):
        score, ci = entry.get("score"), entry.get("ci95") or (None, None)
        tile.metric(metric_label(name), "n/a" if score is None else f"{score:.1f}", border=True)
        if None not in ci:
            tile.caption(f"95% CI {ci[0]:.1f}-{ci[1]:.1f}")
    signatures = [f"{metric_label(n)} `{e['signature']}`" for n, e in metrics.items() if e.get("signature")]
    if signatures:
        st.caption("sacrebleu signatures (quote them with the scores): " + " · ".join(signatures))


def run_facts(result: EvalRunResult) -> str:
    """One caption line: what answered which set, with which settings, how fast."""
    settings, timings = result.settings, result.timings
    parts = [
        f"**{result.model}** on **{result.dataset}** ({len(result.samples):,} items, set {result.dataset_sha256[:12]})"
    ]
    if result.model_fingerprint:
        parts.append(f"weights {result.model_fingerprint[:12]}")
    if settings.get("dtype_used") or settings.get("device"):
        parts.append(f"{settings.get('dtype_used') or settings.get('dtype', '?')} on {settings.get('device', '?')}")
    if settings.get("max_new_tokens"):
        parts.append(f"≤{settings['max_new_tokens']} new tokens, batch {settings.get('batch_size', '?')}")
    if timings.get("generation_seconds") is not None:
        rate = timings.get("tokens_per_second")
        parts.append(f"answering {timings['generation_seconds']:.1f} s" + (f" at {rate:,.0f} tokens/s" if rate else ""))
    if timings.get("scoring_seconds") is not None:
        parts.append(f"scoring {timings['scoring_seconds']:.1f} s")
    parts.append(f"run #{result.run_id}, {when(result.created_at)}")
    return " · ".join(parts)


def samples_table(result: EvalRunResult) -> pd.DataFrame:
    """One row per answer: the question, the references, the model's answer, and its per-metric scores."""
    table = pd.DataFrame(
        {
            "item": [s.item_id for s in result.samples],
            "prompt": [s.prompt for s in result.samples],
            "reference": [" | ".join(s.references) for s in result.samples],
            "output": [s.output for s in result.samples],
        }
    )
    for name in result.metrics:
        table[metric_label(name)] = [_rounded(s.scores.get(name)) for s in result.samples]
    return table


def _filtered(table: pd.DataFrame, shown: str, result: EvalRunResult) -> pd.DataFrame:
    if shown == "Worst first" and result.metrics:
        headline = "f1" if "f1" in result.metrics else next(iter(result.metrics))
        return table.sort_values(metric_label(headline), kind="stable")
    if shown == "Exact-match failures" and "exact_match" in result.metrics:
        return table[table[metric_label("exact_match")] < 100]
    return table


def _rounded(value: float | None) -> float | None:
    return None if value is None else round(float(value), 1)


# ---------------------------------------------------------------------------------------------------------------
# Shared by the other eval tabs


def when(created_at: str | None) -> str:
    """`2025-05-01T09:30:12+00:00` -> `2025-05-01 09:30 UTC`."""
    if not created_at:
        return "unknown time"
    return created_at[:16].replace("T", " ") + (" UTC" if created_at.endswith(("+00:00", "Z")) else "")


def run_label(run: EvalRun) -> str:
    """`#12 smollm2-135m on qa_eval.jsonl · 2025-05-01 09:30 UTC` (a local model folder by its name)."""
    model = run.model
    if model.startswith(("/", "./", "~")):  # a local folder: its name is what tells runs apart in a list
        model = Path(model).name or model
    return f"#{run.id} {model} on {run.source} · {when(run.created_at)}"


def run_picker(
    label: str, runs: list[EvalRun], key: str, default: int | None, none_label: str | None = None, help: str = ""
) -> int | None:
    """A selectbox of runs (newest first); `none_label` adds a "no run" choice, returned as None."""
    # It moves to `default` whenever the default changes (a new run finished, or the run it depends on was
    # changed); a choice the user made stays until then.
    options: list[int | None] = ([None] if none_label else []) + [run.id for run in runs]
    marker = f"{key}_default"
    if key not in st.session_state or st.session_state.get(marker) != default or st.session_state[key] not in options:
        st.session_state[key] = default if default in options else options[0]
        st.session_state[marker] = default
    labels = {run.id: run_label(run) for run in runs}
    return st.selectbox(
        label,
        options,
        key=key,
        format_func=lambda i: none_label if i is None else labels.get(i, f"#{i}"),
        help=help or None,
    )


def same_set_before(runs: list[EvalRun], run_id: int) -> int | None:
    """The newest run older than `run_id` on the same eval set (runs newest first), or None."""
    run = next((r for r in runs if r.id == run_id), None)
    if run is None:
        return None
    return next((r.id for r in runs if r.id < run_id and r.text_sha256 == run.text_sha256), None)


def human_line(summary: HumanSummary) -> str:
    """`12 answers rated · mean 3.8 / 5 · 75% thumbs up · 2 raters · kappa 0.41`, or that none is rated yet."""
    if not summary.rated:
        return "no answer rated yet"
    parts = [f"{summary.rated:,} answer{'s' if summary.rated != 1 else ''} rated"]
    if summary.mean_score is not None:
        parts.append(f"mean score {summary.mean_score:.2f} / 5")
    if summary.thumbs_up_share is not None:
        parts.append(f"{summary.thumbs_up_share:.0%} thumbs up")
    parts.append(f"{len(summary.raters)} rater{'s' if len(summary.raters) != 1 else ''} ({', '.join(summary.raters)})")
    if summary.kappa is not None:
        parts.append(f"agreement (Cohen's kappa) {summary.kappa:.2f}")
    return " · ".join(parts)
