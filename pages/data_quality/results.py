"""A stored profiling run: which one, its scorecard, its charts and its findings with examples."""

from __future__ import annotations

import pandas as pd
import streamlit as st

from lib.quality import figures
from lib.store import open_store
from lib.store.quality_runs import QualityRun, get_quality_run, list_quality_runs

RUN_KEY = "dq_run"


def run_data(run: QualityRun) -> dict:
    """The run as the `--json` dict (summary plus findings): what figures and the report are drawn from."""
    return {**run.summary, **run.detail}


def chosen_run() -> QualityRun | None:
    """The run the user picked (the newest by default, and a newly finished one as soon as it lands)."""
    runs = list_quality_runs(open_store(), limit=100)
    if not runs:
        return None
    newest = runs[0].id
    if st.session_state.get("dq_newest_seen") != newest:  # a profile just finished: show it
        st.session_state["dq_newest_seen"] = newest
        st.session_state[RUN_KEY] = newest
    labels = {run.id: _label(run) for run in runs}
    if st.session_state.get(RUN_KEY) not in labels:
        st.session_state[RUN_KEY] = newest
    run_id = st.selectbox("Profiled run", list(labels), format_func=labels.get, key=RUN_KEY)
    return get_quality_run(open_store(), run_id)


def _label(run: QualityRun) -> str:
    verdict = {True: " · rules passed", False: " · rules FAILED", None: ""}[run.rules_passed]
    return f"#{run.id} {run.dataset} · {run.rows:,} rows · {run.created_at.replace('T', ' ')[:16]}{verdict}"


def scorecard(run: QualityRun) -> None:
    """The headline numbers in one row: rows, empty, duplicates, near-duplicates, PII, outliers, rules."""
    data = run.summary
    rows = max(1, data["rows"])
    pii_rows = data.get("pii_rows", sum(data["pii"].values()))  # rows with any PII; older runs: the sum per type
    cards = [
        ("Rows", f"{data['rows']:,}", f"{data['format'].upper()} · column {data['text_column']}"),
        ("Empty", f"{data['empty']:,}", _empty_note(data, rows)),
        ("Exact duplicates", f"{data['exact_duplicates']:,}", _share(data["exact_duplicates"], rows)),
        ("Near-duplicates", f"{data['near_duplicates']:,}", f"in {data['near_duplicate_clusters']:,} clusters"),
        ("Rows with PII", f"{pii_rows:,}", ", ".join(f"{k} {v}" for k, v in data["pii"].items() if v) or "none"),
        ("Length outliers", f"{data['length_outliers']:,}", _share(data["length_outliers"], rows)),
    ]
    rules = data.get("rules") or []
    if rules:
        failed = sum(not rule["passed"] for rule in rules)
        cards.append(("Rules", f"{len(rules) - failed}/{len(rules)} passed", run.rule_set or ""))
    for column, (label, value, note) in zip(st.columns(len(cards)), cards, strict=True):
        column.metric(label, value, border=True)
        column.caption(note)
    sample = data.get("sample", {})
    st.caption(
        f"Profiled in {data['seconds']:.1f} s · language and tokens on {sample.get('method', 'every row')} "
        f"({sample.get('rows', 0):,} of {sample.get('of', 0):,} rows) · near-duplicate threshold "
        f"{data.get('near_duplicate_threshold', 0):.2f} · SHA-256 {run.sha256[:12]}…"
    )
    if data.get("skipped"):
        st.warning(
            f"{len(data['skipped']):,} malformed records were skipped (see Findings).", icon=":material/warning:"
        )
    for warning in data.get("warnings", []):
        st.warning(warning, icon=":material/warning:")
    st.download_button(
        "Download the HTML report", lambda: _report(run), file_name=f"{run.dataset}.quality.html",
        mime="text/html", icon=":material/download:", key=f"dq_report_{run.id}", on_click="ignore",
        help="One file with every chart and finding; opens offline, prints cleanly.",
    )  # fmt: skip


def _empty_note(data: dict, rows: int) -> str:
    parts = data.get("empty_parts", 0)
    if parts:
        return f"and {parts:,} conversations with an empty message"
    return _share(data["empty"], rows)


def _share(count: int, rows: int, suffix: str = "of rows") -> str:
    return f"{count / rows:.1%} {suffix}"


def _report(run: QualityRun) -> str:
    """The self-contained HTML report, written when the button is pressed (on Streamlit's download thread)."""
    from lib.quality.report import render_report

    return render_report({**run_data(run), "created_at": run.created_at})


def run_charts(run: QualityRun) -> None:
    """Issues by type, lengths, languages, PII, heuristics and rules: the page's pictures of the run."""
    data = run_data(run)
    st.plotly_chart(figures.issues_figure(data), key=f"dq_issues_{run.id}")
    left, right = st.columns(2)
    units = [unit for unit in ("characters", "words", "tokens") if unit in data.get("histograms", {})]
    unit = left.radio("Length in", units or ["characters"], horizontal=True, key=f"dq_unit_{run.id}")
    left.plotly_chart(figures.length_histogram_figure(data, unit), key=f"dq_lengths_{run.id}_{unit}")
    right.plotly_chart(figures.language_figure(data), key=f"dq_languages_{run.id}")
    left, right = st.columns(2)
    left.plotly_chart(figures.pii_figure(data), key=f"dq_pii_{run.id}")
    right.plotly_chart(figures.heuristics_figure(data), key=f"dq_heuristics_{run.id}")
    if data.get("perplexity"):
        st.plotly_chart(figures.perplexity_figure(data), key=f"dq_perplexity_{run.id}")
    if data.get("rules"):
        st.plotly_chart(figures.rules_figure(data), key=f"dq_rules_{run.id}")


def findings_table(run: QualityRun) -> None:
    """Every check: rows affected, share, first row numbers and examples; downloadable as CSV."""
    findings = run.detail.get("findings", {})
    table = pd.DataFrame(
        [
            {
                "check": name,
                "rows": finding["count"],
                "share": finding["fraction"],
                "file rows": ", ".join(str(row) for row in finding["rows"][:20]),
                "example": finding["examples"][0]["text"] if finding["examples"] else "",
            }
            for name, finding in findings.items()
        ]
    )
    if table.empty:
        st.info("This run stored no findings.")
        return
    only_found = st.toggle("Only checks that found something", value=True, key=f"dq_only_found_{run.id}")
    if only_found:
        table = table[table["rows"] > 0]
    st.dataframe(
        table.sort_values("rows", ascending=False), hide_index=True, width="stretch",
        column_config={
            "share": st.column_config.ProgressColumn("share of rows", format="percent", min_value=0.0, max_value=1.0),
            "file rows": st.column_config.TextColumn("file rows (first 20)", help="Line (JSONL) or record number."),
        },
    )  # fmt: skip
    st.download_button(
        "Download the findings (CSV)", table.to_csv(index=False).encode("utf-8"),
        file_name=f"{run.dataset}.findings.csv", mime="text/csv", icon=":material/download:",
        key=f"dq_findings_csv_{run.id}", on_click="ignore",
    )  # fmt: skip
    skipped = run.summary.get("skipped") or []
    if skipped:
        st.markdown(f"**Skipped records** ({len(skipped):,})")
        st.dataframe(pd.DataFrame(skipped), hide_index=True, width="stretch")
