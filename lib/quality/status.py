"""The Data quality tile of the pit wall: the last profiled dataset against its rule set, and its worst finding.

One store read (the newest run, without its findings' detail). The state:
- no data: no dataset profiled yet;
- critical: its rule set failed (the rules are the user's own gate, as `--rules` is in CI);
- ok: its rule set passed; the worst finding is still named, but the user's rules decide what is acceptable, so the
  tile does not second-guess them;
- without a rule set, warning when a finding crosses the limits below (any PII, exact duplicates or empty rows
  over 1%, near-duplicates over 5%: the default rule set's spirit, on the counts a run keeps), else ok.
"""

from __future__ import annotations

from datetime import datetime

from lib.settings import Settings
from lib.status import CRITICAL, NO_DATA, OK, WARNING, AreaStatus
from lib.store import Store
from lib.store.quality_runs import QualityRun, latest_quality_run

AREA = "data-quality"
TITLE = "Data quality"
# Share of rows above which a finding warns when no rule set was checked; PII warns from its first row.
LIMITS = {"exact_duplicates": 0.01, "empty": 0.01, "near_duplicates": 0.05}
_NAMES = {"exact_duplicates": "exact duplicates", "empty": "empty rows", "near_duplicates": "near-duplicates"}


def status(store: Store, settings: Settings) -> AreaStatus:
    """critical when the last dataset failed its rules; warning without rules but with findings; else ok."""
    run = latest_quality_run(store)
    if run is None:
        return AreaStatus(
            AREA, TITLE, NO_DATA, "no dataset profiled",
            "Upload a dataset on the Data quality page (or run `python -m lib quality profile FILE --save`).",
        )  # fmt: skip
    when = datetime.fromisoformat(run.created_at).timestamp()
    findings = _findings(run)
    flagged = [finding for finding in findings if finding[0] > 1]
    worst = max(findings, key=lambda finding: finding[0])[1] if findings else None
    rules = [rule for rule in run.summary.get("rules") or [] if isinstance(rule, dict)]
    rule_set = f"rule set {run.rule_set!r}" if run.rule_set else "its rule set"
    if run.rules_passed is False:
        failed = [rule for rule in rules if not rule.get("passed")]
        headline = f"{len(failed)} of {len(rules)} rules failed" if rules else "rules failed"
        parts = [f"worst finding: {worst}"] if worst else []
        if failed:
            first = failed[0]
            parts.append(f"{first.get('description', first.get('rule'))}, observed {first.get('observed', '?')}")
        return AreaStatus(AREA, TITLE, CRITICAL, headline, _sentence(f"{run.dataset} failed {rule_set}", parts), when)
    if run.rules_passed is True:
        count = f"all {len(rules)} rules" if len(rules) != 1 else "1 rule"
        parts = [f"worst finding: {worst}"] if worst else ["nothing found"]
        return AreaStatus(
            AREA, TITLE, OK, f"{count} passed", _sentence(f"{run.dataset} passed {rule_set}", parts), when
        )
    if flagged:
        others = [text for _score, text in sorted(flagged, key=lambda finding: -finding[0]) if text != worst][:2]
        also = f"; also {' and '.join(others)}" if others else ""
        pii = _pii_types(run)
        detail = (
            f"{run.dataset}{f' ({pii})' if pii and worst.startswith('PII') else ''}{also}; no rule set was "
            "checked (choose one on the Data quality page)."
        )
        return AreaStatus(AREA, TITLE, WARNING, str(worst), detail, when)
    detail = f"{run.dataset}: " + (f"largest finding {worst}." if worst else "no duplicates, empty rows or PII found.")
    return AreaStatus(AREA, TITLE, OK, f"{run.rows:,} rows profiled", detail, when)


def _findings(run: QualityRun) -> list[tuple[float, str]]:
    """(how far past its limit, phrase) for each finding of the run: above 1 means over the limit."""
    summary, rows = run.summary, max(1, run.rows)
    found: list[tuple[float, str]] = []
    pii = {kind: count for kind, count in (summary.get("pii") or {}).items() if count}
    if pii:
        with_pii = summary.get("pii_rows") or sum(pii.values())  # older runs: the sum over types
        found.append((float("inf"), f"PII in {with_pii:,} rows"))  # personal data outranks every share
    for key, limit in LIMITS.items():
        count = summary.get(key) or 0
        if count:
            found.append((count / rows / limit, f"{_share(count / rows)} {_NAMES[key]}"))
    return found


def _pii_types(run: QualityRun) -> str:
    """ "email 45, phone 40", largest first."""
    pii = {kind: count for kind, count in (run.summary.get("pii") or {}).items() if count}
    return ", ".join(f"{kind} {count:,}" for kind, count in sorted(pii.items(), key=lambda item: -item[1]))


def _share(fraction: float) -> str:
    """4.8%, or <0.1% for a handful of rows in a large dataset."""
    return "<0.1%" if 0 < fraction < 0.001 else f"{fraction * 100:.1f}%"


def _sentence(lead: str, parts: list[str]) -> str:
    return f"{lead}: {'; '.join(parts)}." if parts else f"{lead}."
