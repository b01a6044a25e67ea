"""Rules: the run's pass/fail table, and the named rule sets (YAML) kept in the store."""

from __future__ import annotations

import pandas as pd
import streamlit as st

from lib.jobs import submit
from lib.quality.jobs import ProfileJob, profile_params
from lib.quality.rules import DEFAULT_RULE_SET
from lib.store import open_store
from lib.store.quality_runs import QualityRun, delete_rule_set, get_rule_set, list_rule_sets, save_rule_set

NEW = "(new rule set)"
HELP = """Each rule is an expectation in the style of Great Expectations; `mostly` is the share of rows that must
pass. Checks by name for `at_most`: `exact_duplicates`, `near_duplicates`, `empty`, `length_outliers`,
`pii_email` (and the other PII types), `markup_html`, `heuristic_<rule>`."""


def rule_sets_editor(run: QualityRun) -> None:
    """The run's outcomes, then the editor: pick, edit, validate, save or delete a rule set, and re-check."""
    outcomes = run.summary.get("rules") or []
    if outcomes:
        st.markdown(f"**Rule set `{run.rule_set}`** on this run")
        table = pd.DataFrame(outcomes)
        table.insert(0, "result", table["passed"].map({True: "✅ pass", False: "❌ fail"}))
        shown = [c for c in ("result", "description", "observed", "expected", "failing_rows") if c in table.columns]
        st.dataframe(table[shown], hide_index=True, width="stretch")
    else:
        st.info("This run was not checked against a rule set. Choose one below and re-check the dataset.")
    st.divider()
    store = open_store()
    names = [rule_set.name for rule_set in list_rule_sets(store)]
    saved = st.session_state.pop("dq_rules_saved", None)
    if saved in names:  # just saved: show it selected, with a word that it worked
        st.session_state["dq_rules_choice"] = saved
        st.success(f"Saved rule set '{saved}'.", icon=":material/check:")
    choice = st.selectbox("Rule set", [NEW, *names], key="dq_rules_choice")
    stored = get_rule_set(store, choice) if choice != NEW else None
    name = st.text_input("Name", value="" if stored is None else stored.name, key=f"dq_rules_name_{choice}")
    text = st.text_area(
        "Rules (YAML)", value=DEFAULT_RULE_SET if stored is None else stored.yaml, height=320,
        key=f"dq_rules_yaml_{choice}", help=HELP,
    )  # fmt: skip
    save, recheck, delete = st.columns(3)
    if save.button("Save rule set", icon=":material/save:", key="dq_rules_save", disabled=not name.strip()):
        save_rule_set(store, name.strip(), text)  # checks the YAML first: a sentence naming the rule, nothing stored
        st.session_state["dq_rules_saved"] = name.strip()
        st.rerun()
    if recheck.button(
        "Re-profile this dataset with it", icon=":material/rule:", key="dq_rules_recheck",
        disabled=stored is None or not run.stored_path, help="Profiles the stored copy again as a job and checks "
        "this saved rule set; the result is a new run.",
    ):  # fmt: skip
        settings = run.settings
        job = ProfileJob(
            run.stored_path, run.dataset, None if run.summary.get("chat") else run.text_column,
            run.summary.get("chat") or "conversation", settings["near_duplicate_threshold"],
            list(settings["heuristic_families"]), settings["sample_rows"], settings["tokenizer"], stored.name,
            settings.get("perplexity_rows", 0), settings.get("perplexity_model"),
        )  # fmt: skip
        submit("quality-profile", profile_params(job), f"Profile {run.dataset} with rules '{stored.name}'")
        st.rerun()
    if delete.button("Delete", icon=":material/delete:", key="dq_rules_delete", disabled=stored is None):
        delete_rule_set(store, choice)
        st.rerun()
