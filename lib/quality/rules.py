"""Rule sets: the user's expectations of a dataset, in the spirit of Great Expectations, checked on a profile.

A rule set is YAML kept as the user wrote it (the store saves the text, so comments survive):

    name: fine-tuning
    rules:
      - expect: length_between   # unit: characters (default) | words | tokens
        min: 20
        max: 4000
        mostly: 0.95             # Great Expectations' `mostly`: the share of rows that must pass (default 1)
      - expect: no_pii           # optional: types: [email, phone, ...]
      - expect: at_most          # any check by name, as a share of rows or a number of rows
        check: exact_duplicates
        fraction: 0.01           # or count: N
      - expect: language_is      # one code or a list of codes
        language: en
        mostly: 0.98
      - expect: min_rows
        count: 1000

Five expectations, named for what they assert, like Great Expectations' `expect_column_value_lengths_to_be_between`
and `expect_table_row_count_to_be_between` without the prefixes. Decisions worth knowing:
- Every row counts, except where a measure cannot see a row, and then the outcome says so. Characters and words
  are measured on every row, an empty row counting as length 0 (unlike Great Expectations, which skips nulls: an
  empty training example is too short, and a length floor is how people say so). Languages and tokens are measured
  by the profile on the non-empty rows, or a uniform sample of them on large datasets: the outcome names how many
  rows were measured. A row too short to tell its language counts against `language_is`.
- A rule that cannot be measured fails (no tokenizer for a token rule, a heuristic family switched off, no row with
  text): a CI gate must not pass on what it never looked at.
- Parameters are checked when the YAML is read, not when it is applied; an unknown parameter is refused, so a typo
  (`fration`) never silently turns a rule off.
"""

from __future__ import annotations

import math
import re
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field, replace
from typing import Any

import numpy as np
import yaml

from lib.errors import InputError
from lib.quality.heuristics import RULES as HEURISTIC_RULES
from lib.quality.language import UNKNOWN
from lib.quality.pii import PII_TYPES
from lib.quality.profile import ProfileResult

EXAMPLE_ROWS = 10  # file row numbers listed per failed rule
UNITS = ("characters", "words", "tokens")
MARKUP_KINDS = ("html", "control_characters", "mojibake")
DEFAULT_NAME = "rules"
_LANGUAGE_CODE = re.compile(r"[a-z]{2,3}")

DEFAULT_RULE_SET = """\
# Pitwall's starting rule set for fine-tuning data: edit it and save it under a name of your own.
name: default
rules:
  # Long enough to teach something, short enough to fit a context window (an empty row counts as 0).
  - expect: length_between
    min: 20
    max: 4000
    mostly: 0.95
  # No email addresses, phone numbers, card numbers, IBANs, IP addresses, SSNs or secrets.
  - expect: no_pii
  # Exact duplicates (after normalising case and spaces) at most 1% of rows.
  - expect: at_most
    check: exact_duplicates
    fraction: 0.01
  # English in at least 98% of the rows with text.
  - expect: language_is
    language: en
    mostly: 0.98
"""

_FIXED_CHECKS = ("empty", "empty_parts", "exact_duplicates", "near_duplicates", "length_outliers", "pii")
_HEURISTIC_FAMILY = {rule.name: rule.family for rule in HEURISTIC_RULES}
KNOWN_CHECKS: tuple[str, ...] = (
    *_FIXED_CHECKS,
    *(f"pii_{kind}" for kind in PII_TYPES),
    *(f"markup_{kind}" for kind in MARKUP_KINDS),
    *(f"heuristic_{name}" for name in _HEURISTIC_FAMILY),
)
_CHECK_NAMES = {  # how a check reads in a sentence; the rest read as their name with spaces
    "empty": "empty rows",
    "empty_parts": "conversations with an empty message",
    "near_duplicates": "near-duplicates",
    "pii": "rows with PII",
    "markup_html": "rows with HTML",
    "markup_control_characters": "rows with control characters",
    "markup_mojibake": "rows with mojibake",
}


@dataclass(frozen=True)
class Rule:
    """One expectation as written: its place in the set (from 1), its name and its checked parameters."""

    number: int
    expect: str
    params: dict[str, Any]

    @property
    def description(self) -> str:
        """The rule as a phrase, e.g. `length between 20 and 4,000 characters for at least 95% of rows`."""
        return _EXPECTATIONS[self.expect].describe(self.params)


@dataclass(frozen=True)
class RuleSet:
    """A named list of rules and the YAML it was read from."""

    name: str
    rules: list[Rule]
    yaml: str

    def to_dict(self) -> dict:
        return {
            "name": self.name,
            "rules": [{"expect": rule.expect, **rule.params, "description": rule.description} for rule in self.rules],
        }


@dataclass(frozen=True)
class RuleOutcome:
    """Whether one rule held on a dataset, with what was seen and, when it failed, which rows."""

    rule: str
    description: str
    observed: str
    expected: str
    passed: bool
    failing_rows: int = 0
    examples: list[int] = field(default_factory=list)  # file row numbers (lines or records), the first few

    def to_dict(self) -> dict:
        return {
            "rule": self.rule,
            "description": self.description,
            "observed": self.observed,
            "expected": self.expected,
            "passed": self.passed,
            "failing_rows": self.failing_rows,
            "examples": list(self.examples),
        }


# ---------------------------------------------------------------------------------------------- reading YAML


def parse_rule_set(text: str, name: str | None = None) -> RuleSet:
    """Read a rule set's YAML; `name` wins over the YAML's own. A mistake raises InputError naming the rule."""
    try:
        document = yaml.safe_load(text)
    except yaml.YAMLError as error:
        raise InputError(f"The rule set is not valid YAML ({_yaml_problem(error)}); fix that line.") from None
    if document is None:
        raise InputError("The rule set is empty; write a `rules:` list (see the default rule set).")
    if isinstance(document, list):  # a bare list of rules is a rule set without a name
        document = {"rules": document}
    if not isinstance(document, dict):
        raise InputError("A rule set must be a mapping with `name` and `rules`; start from the default rule set.")
    unknown = sorted(str(key) for key in document if key not in ("name", "description", "rules"))
    if unknown:
        raise InputError(f"The rule set has an unknown key {unknown[0]!r}; use `name`, `description` and `rules` only.")
    written = document.get("name")
    if written is not None and (not isinstance(written, str | int | float) or not str(written).strip()):
        raise InputError("The rule set's `name` must be a short text; write e.g. `name: fine-tuning`.")
    chosen = (name or "").strip() or (str(written).strip() if written is not None else "") or DEFAULT_NAME
    entries = document.get("rules")
    if not isinstance(entries, list) or not entries:
        raise InputError("The rule set has no `rules` list; add at least one rule, e.g. `- expect: no_pii`.")
    rules = [_parse_rule(number, entry) for number, entry in enumerate(entries, 1)]
    return RuleSet(chosen, rules, text)


def _yaml_problem(error: yaml.YAMLError) -> str:
    """`mapping values are not allowed here at line 3, column 9`: the problem and where, 1-based."""
    problem = getattr(error, "problem", None) or str(error).splitlines()[0]
    mark = getattr(error, "problem_mark", None)
    where = f" at line {mark.line + 1}, column {mark.column + 1}" if mark is not None else ""
    return f"{problem}{where}"


def _parse_rule(number: int, entry: Any) -> Rule:
    if not isinstance(entry, dict):
        raise InputError(f"Rule {number} is not a mapping; write it as `- expect: NAME` with its parameters below.")
    expect = entry.get("expect")
    known = ", ".join(_EXPECTATIONS)
    if expect is None:
        raise InputError(f"Rule {number} has no `expect`; name one of {known}.")
    if not isinstance(expect, str) or expect not in _EXPECTATIONS:
        raise InputError(f"Rule {number} expects {expect!r}, which is not an expectation; use one of {known}.")
    spec = _EXPECTATIONS[expect]
    given = {str(key): value for key, value in entry.items() if key != "expect"}
    unknown = [key for key in given if key not in spec.parameters]
    if unknown:
        allowed = ", ".join(spec.parameters) or "none"
        raise InputError(
            f"Rule {number} ({expect}) has an unknown parameter {unknown[0]!r}; its parameters are: {allowed}."
        )
    try:
        params = spec.check(given)
    except _Bad as problem:
        raise InputError(f"Rule {number} ({expect}): {problem}.") from None
    return Rule(number, expect, params)


class _Bad(Exception):
    """A parameter problem, worded to follow `Rule N (name): `."""


def _number(params: dict, key: str, minimum: float = 0.0, integer: bool = False) -> float | int | None:
    value = params.get(key)
    if value is None:
        return None
    kind = "a whole number" if integer else "a number"
    if isinstance(value, bool) or not isinstance(value, int | float) or not math.isfinite(value):
        raise _Bad(f"`{key}` must be {kind}, not {value!r}; write e.g. `{key}: {int(minimum) or 1}`")
    if integer and value != int(value):
        raise _Bad(f"`{key}` must be a whole number, not {value!r}; write e.g. `{key}: {int(value)}`")
    if value < minimum:
        raise _Bad(f"`{key}` must be at least {minimum:g}, not {value!r}; raise it")
    return int(value) if integer or value == int(value) else float(value)


def _mostly(params: dict) -> float:
    value = params.get("mostly", 1.0)
    if isinstance(value, bool) or not isinstance(value, int | float) or not 0 <= value <= 1:
        raise _Bad(
            f"`mostly` must be a share between 0 and 1, not {value!r}; write e.g. `mostly: 0.95` for 95% of rows"
        )
    return float(value)


def _check_length(params: dict) -> dict:
    unit = params.get("unit", "characters")
    if unit not in UNITS:
        raise _Bad(f"`unit` must be one of {', '.join(UNITS)}, not {unit!r}; pick one")
    low, high = _number(params, "min"), _number(params, "max")
    if low is None and high is None:
        raise _Bad("it needs `min`, `max` or both; add e.g. `min: 20`")
    if low is not None and high is not None and low > high:
        raise _Bad(f"`min` ({low:g}) is above `max` ({high:g}); swap them")
    return {"min": low, "max": high, "unit": unit, "mostly": _mostly(params)}


def _check_no_pii(params: dict) -> dict:
    types = params.get("types")
    if types is None:
        return {"types": list(PII_TYPES)}
    if isinstance(types, str):
        types = [types]
    if not isinstance(types, list) or not types:
        raise _Bad(f"`types` must be a list of PII types ({', '.join(PII_TYPES)}); leave it out to mean all of them")
    unknown = [kind for kind in types if kind not in PII_TYPES]
    if unknown:
        raise _Bad(f"{unknown[0]!r} is not a PII type; use {', '.join(PII_TYPES)}")
    return {"types": [kind for kind in PII_TYPES if kind in types]}  # in the profile's order, each once


def _check_at_most(params: dict) -> dict:
    check = params.get("check")
    if not isinstance(check, str) or not (check in KNOWN_CHECKS or _is_outlier_check(check)):
        listed = ", ".join((*_FIXED_CHECKS, "pii_<type>", "markup_<kind>", "heuristic_<rule>", "outlier_<column>"))
        raise _Bad(f"`check` must name a check ({listed}), not {check!r}; pick one of them")
    has_fraction, has_count = params.get("fraction") is not None, params.get("count") is not None
    if has_fraction == has_count:
        raise _Bad("give exactly one of `fraction` (a share of rows, e.g. 0.01) and `count` (a number of rows)")
    if has_fraction:
        fraction = params["fraction"]
        if isinstance(fraction, bool) or not isinstance(fraction, int | float) or not 0 <= fraction <= 1:
            raise _Bad(f"`fraction` must be a share between 0 and 1, not {fraction!r}; write e.g. 0.01 for 1%")
        return {"check": check, "fraction": float(fraction)}
    return {"check": check, "count": _number(params, "count", integer=True)}


def _is_outlier_check(check: str) -> bool:
    return check.startswith("outlier_") and len(check) > len("outlier_")


def _check_language(params: dict) -> dict:
    language = params.get("language")
    codes = [language] if isinstance(language, str) else language
    valid = isinstance(codes, list) and bool(codes) and all(isinstance(code, str) for code in codes)
    codes = [code.strip().lower() for code in codes] if valid else []
    if not codes or not all(_LANGUAGE_CODE.fullmatch(code) for code in codes):
        raise _Bad(f"`language` must be an ISO 639-1 code such as `en` (or a list of them), not {language!r}")
    return {"language": codes[0] if len(codes) == 1 else codes, "mostly": _mostly(params)}


def _check_min_rows(params: dict) -> dict:
    count = _number(params, "count", integer=True)
    if count is None:
        raise _Bad("it needs `count`, the fewest rows the dataset may have; add e.g. `count: 1000`")
    return {"count": count}


# ---------------------------------------------------------------------------------------------- phrasing


def _percent(share: float, decimals: int = 4) -> str:
    """95%, 97.2%, 99.95%: as many decimals as the value needs, up to `decimals`; never a rounded 0% or 100%."""
    text = f"{share * 100:.{decimals}f}".rstrip("0").rstrip(".")
    if text == "100" and share < 1:  # 99.996% of rows is not every row
        return f">{100 - 10**-decimals:.{decimals}f}%" if decimals else ">99%"
    if text == "0" and share > 0:
        return f"<{10**-decimals:.{decimals}f}%" if decimals else "<1%"
    return f"{text}%"


def _decimals(threshold: float) -> int:
    """Decimals for an observed share: one, or as many as its threshold shows (99.95% needs two)."""
    return max(1, len(_percent(threshold).rstrip("%").partition(".")[2]))


def _rows(count: int) -> str:
    return f"{count:,} row{'' if count == 1 else 's'}"


def _for_rows(mostly: float, non_empty: bool = False) -> str:
    which = "non-empty row" if non_empty else "row"
    return f"for every {which}" if mostly >= 1 else f"for at least {_percent(mostly)} of {which}s"


def _describe_length(params: dict) -> str:
    low, high, unit = params["min"], params["max"], params["unit"]
    if low is not None and high is not None:
        bounds = f"between {low:,} and {high:,}"
    elif low is not None:
        bounds = f"at least {low:,}"
    else:
        bounds = f"at most {high:,}"
    return f"length {bounds} {unit} {_for_rows(params['mostly'], non_empty=unit == 'tokens')}"


def _describe_no_pii(params: dict) -> str:
    types = params["types"]
    return "no PII" if len(types) == len(PII_TYPES) else f"no PII ({', '.join(types)})"


def _check_phrase(check: str) -> str:
    if check in _CHECK_NAMES:
        return _CHECK_NAMES[check]
    if check.startswith("pii_"):
        return f"rows with PII ({check[4:]})"
    if check.startswith("heuristic_"):
        return f"rows failing {check[len('heuristic_') :]}"
    if _is_outlier_check(check):
        return f"outliers in column {check[len('outlier_') :]!r}"
    return check.replace("_", " ")


def _describe_at_most(params: dict) -> str:
    if not params.get("fraction", params.get("count")):
        return f"no {_check_phrase(params['check'])}"
    limit = f"{_percent(params['fraction'])} of rows" if "fraction" in params else _rows(params["count"])
    return f"{_check_phrase(params['check'])} at most {limit}"


def _languages(params: dict) -> list[str]:
    language = params["language"]
    return [language] if isinstance(language, str) else list(language)


def _describe_language(params: dict) -> str:
    return f"language {' or '.join(_languages(params))} {_for_rows(params['mostly'], non_empty=True)}"


def _describe_min_rows(params: dict) -> str:
    return f"at least {_rows(params['count'])}"


# ---------------------------------------------------------------------------------------------- checking


def check_rules(rule_set: RuleSet, result: ProfileResult) -> list[RuleOutcome]:
    """Apply every rule of the set to a profile, in the set's order."""
    findings: dict[str, dict] | None = None

    def lazy_findings() -> dict[str, dict]:  # computed once, and only when an `at_most` rule asks
        nonlocal findings
        if findings is None:
            findings = result.findings()
        return findings

    outcomes = []
    for rule in rule_set.rules:
        spec = _EXPECTATIONS[rule.expect]
        outcomes.append(spec.apply(rule, result, lazy_findings))
    return outcomes


def rules_passed(outcomes: Sequence[RuleOutcome | dict]) -> bool | None:
    """True when every rule held, False when one failed, None when there were no rules (outcomes or their dicts)."""
    if not outcomes:
        return None
    return all(item["passed"] if isinstance(item, dict) else item.passed for item in outcomes)


def _outcome(
    rule: Rule,
    observed: str,
    expected: str,
    passed: bool,
    failing: Sequence[int] = (),
    result: ProfileResult | None = None,
) -> RuleOutcome:
    """An outcome; `failing` are the row indices that did not meet the rule, the first few listed by file row."""
    examples = [result.row_number(int(row)) for row in failing[:EXAMPLE_ROWS]] if result is not None else []
    return RuleOutcome(rule.expect, rule.description, observed, expected, passed, len(failing), examples)


def _share_outcome(rule: Rule, result: ProfileResult, failing: Sequence[int], measured: int, note: str) -> RuleOutcome:
    """A `mostly` rule: passed when the rows that passed reach `mostly` of the rows measured."""
    mostly = rule.params["mostly"]
    expected = "every row" if mostly >= 1 else f">= {_percent(mostly)}"
    if measured == 0:
        return _outcome(rule, f"not measured: {note}", expected, False)
    passing = measured - len(failing)
    # An integer threshold, so 0.95 of 100 rows needs 95 whatever the float rounding of 0.95 * 100.
    passed = passing >= math.ceil(mostly * measured - 1e-9)
    observed = f"{_percent(passing / measured, _decimals(mostly))} of {note}"
    return _outcome(rule, observed, expected, passed, failing, result)


def _apply_length(rule: Rule, result: ProfileResult, _findings: Callable[[], dict]) -> RuleOutcome:
    low, high, unit = rule.params["min"], rule.params["max"], rule.params["unit"]
    low = -math.inf if low is None else low
    high = math.inf if high is None else high
    if unit == "tokens":
        if not result.token_lengths:
            expected = "every row" if rule.params["mostly"] >= 1 else f">= {_percent(rule.params['mostly'])}"
            return _outcome(rule, "not measured: token counts were not computed (no tokenizer)", expected, False)
        rows = np.fromiter(result.token_lengths.keys(), dtype=np.int64)
        values = np.fromiter(result.token_lengths.values(), dtype=np.int64)
        failing = rows[(values < low) | (values > high)].tolist()
        return _share_outcome(rule, result, failing, len(rows), _sampled(result, len(rows)))
    values = result.char_lengths if unit == "characters" else result.word_lengths
    failing = np.flatnonzero((values < low) | (values > high)).tolist()
    total, empty = len(result.texts), len(result.empty)
    note = _rows(total) + (f" ({_rows(empty)} empty, counted as length 0)" if empty else "")
    return _share_outcome(rule, result, failing, total, note)


def _sampled(result: ProfileResult, measured: int) -> str:
    """What a sampled measure covered: `100,000 sampled rows (of 1,200,000 non-empty)` or `980 non-empty rows`."""
    if measured == 0:
        return "no row has text"
    if measured < result.sample.of:
        return f"{measured:,} sampled rows (of {result.sample.of:,} non-empty)"
    return f"{measured:,} non-empty row{'' if measured == 1 else 's'}"


def _apply_no_pii(rule: Rule, result: ProfileResult, _findings: Callable[[], dict]) -> RuleOutcome:
    found = sorted({row for kind in rule.params["types"] for row in result.pii.rows.get(kind, [])})
    if not found:
        return _outcome(rule, f"no PII in {_rows(len(result.texts))}", "0 rows", True)
    per_type = ", ".join(
        f"{kind} {len(result.pii.rows[kind]):,}" for kind in rule.params["types"] if result.pii.rows.get(kind)
    )
    observed = f"{_rows(len(found))} with PII ({per_type})"
    return _outcome(rule, observed, "0 rows", False, found, result)


def _apply_at_most(rule: Rule, result: ProfileResult, findings: Callable[[], dict]) -> RuleOutcome:
    check, total = rule.params["check"], len(result.texts)
    fraction = rule.params.get("fraction")
    expected = f"<= {_percent(fraction)}" if fraction is not None else f"<= {_rows(rule.params['count'])}"
    if check == "pii":
        rows = sorted({row for found in result.pii.rows.values() for row in found})
        count, examples = len(rows), [result.row_number(row) for row in rows[:EXAMPLE_ROWS]]
    elif check in findings():
        count, examples = findings()[check]["count"], findings()[check]["rows"][:EXAMPLE_ROWS]
    elif _is_outlier_check(check) and check[len("outlier_") :] in result.dataset.frame.columns:
        count, examples = 0, []  # the profile lists only numeric columns that had outliers
    else:
        return RuleOutcome(rule.expect, rule.description, f"not measured: {_unmeasured(check)}", expected, False)
    share = count / total if total else 0.0
    passed = share <= fraction + 1e-12 if fraction is not None else count <= rule.params["count"]
    observed = f"{_percent(share, _decimals(fraction or 0.0))} of rows ({count:,} of {total:,})"
    return RuleOutcome(rule.expect, rule.description, observed, expected, passed, count, examples)


def _unmeasured(check: str) -> str:
    """Why a check has no figure in this profile."""
    name = check[len("heuristic_") :]
    if name in _HEURISTIC_FAMILY:
        return f"the {_HEURISTIC_FAMILY[name]} heuristics were switched off for this profile"
    if _is_outlier_check(check):
        return f"the dataset has no column {check[len('outlier_') :]!r}"
    return f"this profile has no {check} check"


def _apply_language(rule: Rule, result: ProfileResult, _findings: Callable[[], dict]) -> RuleOutcome:
    wanted = set(_languages(rule.params))
    # `unknown` (a row too short to tell) fails: nobody can say it is in the language asked for.
    failing = sorted(row for row, language in result.row_languages.items() if language not in wanted)
    measured = len(result.row_languages)
    outcome = _share_outcome(rule, result, failing, measured, _sampled(result, measured))
    unknown = sum(1 for language in result.row_languages.values() if language == UNKNOWN)
    if unknown and measured:
        return replace(outcome, observed=f"{outcome.observed}; {unknown:,} too short to tell")
    return outcome


def _apply_min_rows(rule: Rule, result: ProfileResult, _findings: Callable[[], dict]) -> RuleOutcome:
    count = len(result.texts)
    return _outcome(rule, _rows(count), f">= {_rows(rule.params['count'])}", count >= rule.params["count"])


@dataclass(frozen=True)
class _Expectation:
    parameters: tuple[str, ...]
    check: Callable[[dict], dict]
    describe: Callable[[dict], str]
    apply: Callable[[Rule, ProfileResult, Callable[[], dict]], RuleOutcome]


_EXPECTATIONS: dict[str, _Expectation] = {
    "length_between": _Expectation(("min", "max", "unit", "mostly"), _check_length, _describe_length, _apply_length),
    "no_pii": _Expectation(("types",), _check_no_pii, _describe_no_pii, _apply_no_pii),
    "at_most": _Expectation(("check", "fraction", "count"), _check_at_most, _describe_at_most, _apply_at_most),
    "language_is": _Expectation(("language", "mostly"), _check_language, _describe_language, _apply_language),
    "min_rows": _Expectation(("count",), _check_min_rows, _describe_min_rows, _apply_min_rows),
}
EXPECTATIONS = tuple(_EXPECTATIONS)
