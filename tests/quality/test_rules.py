"""Rule sets: YAML mistakes as one sentence naming the rule; each expectation passing and failing on profiles."""

from __future__ import annotations

import json
import re

import pytest

from lib.errors import InputError
from lib.quality.profile import ProfileOptions, ProfileResult, profile
from lib.quality.readers import read_dataset
from lib.quality.rules import (
    DEFAULT_RULE_SET,
    EXPECTATIONS,
    RuleOutcome,
    check_rules,
    parse_rule_set,
    rules_passed,
)

ENGLISH = [
    "The committee approved the budget after a long discussion about the new library.",
    "Our support team answers every question within two working days, including weekends.",
    "She planted tomatoes, beans and basil in the small garden behind the old house.",
    "The train to the coast leaves every hour from the second platform of the station.",
    "Please remember to save your work before you close the window of the editor.",
    "Children in the village learned to swim in the lake during the warm summer months.",
    "The museum opens a new exhibition about the history of printing next Thursday.",
    "He fixed the bicycle chain with a small tool that he always carries in his bag.",
    "Fresh bread from the bakery on the corner sells out before nine in the morning.",
    "The report explains how the city plans to reduce traffic near the primary schools.",
]
GERMAN = "Der schnelle braune Fuchs springt über den faulen Hund und läuft dann in den Wald."


class FakeTokenizer:
    """One token per word: enough to give the profile token counts without a model."""

    def __call__(self, texts: list[str], add_special_tokens: bool = False) -> dict:
        return {"input_ids": [text.split() for text in texts]}


def profiled(texts: list[str], **options: object) -> ProfileResult:
    """A JSONL file with one `text` per line, read and profiled as an upload is (no heuristics unless asked)."""
    data = "\n".join(json.dumps({"text": text}) for text in texts).encode()
    options.setdefault("heuristic_families", ())
    return profile(read_dataset(data, "rows.jsonl"), ProfileOptions(**options))  # type: ignore[arg-type]


def outcome(yaml_rules: str, result: ProfileResult) -> RuleOutcome:
    """The outcome of a one-rule set written as the body of a `rules:` list item."""
    (found,) = check_rules(parse_rule_set(f"rules:\n  - {yaml_rules}"), result)
    return found


def assert_one_sentence(message: str) -> None:
    assert "\n" not in message and message.endswith("."), message
    assert len(re.findall(r"(?<!e\.g)\.\s+[A-Z]", message)) == 0, message


@pytest.fixture(scope="module")
def english() -> ProfileResult:
    return profiled(ENGLISH * 2)  # 20 rows, each line repeated once further down


# ---------------------------------------------------------------------------------------------- parsing


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("name: x\nrules:\n  - expect: no_pii\n   bad: [", r"not valid YAML .*line \d+, column \d+"),
        ("", r"empty"),
        ("just words", r"mapping with `name` and `rules`"),
        ("name: x\nrules: []", r"no `rules` list"),
        ("name: x\ncolour: red\nrules:\n  - expect: no_pii", r"unknown key 'colour'"),
        ("rules:\n  - no_pii", r"Rule 1 is not a mapping"),
        ("rules:\n  - min: 3", r"Rule 1 has no `expect`.*length_between, no_pii, at_most, language_is, min_rows"),
        (
            "rules:\n  - expect: no_pii\n  - expect: be_nice",
            r"Rule 2 expects 'be_nice'.*length_between, no_pii, at_most, language_is, min_rows",
        ),
        ("rules:\n  - expect: [no_pii]", r"Rule 1 expects \['no_pii'\], which is not an expectation"),
        ("rules:\n  - expect: length_between\n    mostly: 0.9", r"Rule 1 \(length_between\): it needs `min`, `max`"),
        ("rules:\n  - expect: length_between\n    min: 50\n    max: 10", r"Rule 1 \(length_between\): `min` \(50\)"),
        ("rules:\n  - expect: length_between\n    min: -1", r"`min` must be at least 0"),
        ("rules:\n  - expect: length_between\n    min: ten", r"`min` must be a number, not 'ten'"),
        ("rules:\n  - expect: length_between\n    min: 1\n    unit: bytes", r"`unit` must be one of characters"),
        ("rules:\n  - expect: length_between\n    min: 1\n    mostly: 1.5", r"Rule 1 .*`mostly` must be a share"),
        ("rules:\n  - expect: language_is\n    language: en\n    mostly: -0.1", r"`mostly` must be a share"),
        ("rules:\n  - expect: length_between\n    min: 1\n    mostly: yes", r"`mostly` must be a share"),
        ("rules:\n  - expect: length_between\n    min: 1\n    fration: 0.1", r"unknown parameter 'fration'"),
        ("rules:\n  - expect: at_most\n    check: exact_duplicates", r"exactly one of `fraction`"),
        (
            "rules:\n  - expect: at_most\n    check: exact_duplicates\n    fraction: 0.1\n    count: 3",
            r"exactly one of `fraction`",
        ),
        ("rules:\n  - expect: at_most\n    check: typos\n    count: 1", r"`check` must name a check .*not 'typos'"),
        ("rules:\n  - expect: at_most\n    check: empty\n    fraction: 2", r"`fraction` must be a share"),
        ("rules:\n  - expect: at_most\n    check: empty\n    count: 1.5", r"`count` must be a whole number"),
        ("rules:\n  - expect: no_pii\n    types: [email, face]", r"'face' is not a PII type"),
        ("rules:\n  - expect: language_is", r"`language` must be an ISO 639-1 code"),
        ("rules:\n  - expect: language_is\n    language: english", r"`language` must be an ISO 639-1 code"),
        ("rules:\n  - expect: min_rows", r"Rule 1 \(min_rows\): it needs `count`"),
    ],
)
def test_a_mistake_is_one_sentence_naming_the_rule_and_the_problem(text: str, expected: str) -> None:
    with pytest.raises(InputError) as raised:
        parse_rule_set(text)
    message = str(raised.value)
    assert re.search(expected, message), message
    assert_one_sentence(message)


def test_the_yaml_error_names_the_line_people_count_from_one() -> None:
    with pytest.raises(InputError, match=r"line 3"):
        parse_rule_set("name: x\nrules:\n  - expect: no_pii: 3\n")


def test_the_name_given_wins_then_the_yaml_name_then_a_default() -> None:
    text = "name: from-yaml\nrules:\n  - expect: no_pii"
    assert parse_rule_set(text).name == "from-yaml"
    assert parse_rule_set(text, "given").name == "given"
    bare = parse_rule_set("- expect: no_pii\n- expect: min_rows\n  count: 3")  # a bare list is a rule set too
    assert bare.name == "rules" and [rule.expect for rule in bare.rules] == ["no_pii", "min_rows"]
    assert bare.yaml.startswith("- expect")


def test_parameters_are_normalised_and_described() -> None:
    rule_set = parse_rule_set(DEFAULT_RULE_SET)
    assert rule_set.name == "default"
    assert [rule.description for rule in rule_set.rules] == [
        "length between 20 and 4,000 characters for at least 95% of rows",
        "no PII",
        "exact duplicates at most 1% of rows",
        "language en for at least 98% of non-empty rows",
    ]
    assert [rule.number for rule in rule_set.rules] == [1, 2, 3, 4]
    assert rule_set.to_dict()["rules"][0]["unit"] == "characters"
    other = parse_rule_set(
        "rules:\n  - {expect: language_is, language: [EN, de]}\n  - {expect: at_most, check: empty, count: 0}\n"
        "  - {expect: no_pii, types: email}\n  - {expect: length_between, max: 10, unit: tokens}"
    )
    assert [rule.description for rule in other.rules] == [
        "language en or de for every non-empty row",
        "no empty rows",
        "no PII (email)",
        "length at most 10 tokens for every non-empty row",
    ]
    assert set(EXPECTATIONS) == {"length_between", "no_pii", "at_most", "language_is", "min_rows"}


# ---------------------------------------------------------------------------------------------- length_between


def test_length_in_characters_passes_when_mostly_of_the_rows_fit(english: ProfileResult) -> None:
    found = outcome("{expect: length_between, min: 20, max: 4000}", english)
    assert found.passed and found.failing_rows == 0 and found.examples == []
    assert found.observed == "100% of 20 rows" and found.expected == "every row"


def test_mostly_is_the_share_of_rows_that_must_pass_at_its_exact_boundary() -> None:
    rows = ENGLISH * 2  # 20 rows
    one_short = profiled([*rows[:19], "short"])  # 19 of 20 = 95%
    two_short = profiled([*rows[:18], "short", "tiny"])  # 18 of 20 = 90%
    rule = "{expect: length_between, min: 20, mostly: 0.95}"
    assert outcome(rule, one_short).passed
    failed = outcome(rule, two_short)
    assert not failed.passed
    assert (failed.observed, failed.expected, failed.failing_rows) == ("90% of 20 rows", ">= 95%", 2)
    assert failed.examples == [19, 20]  # JSONL line numbers, not frame rows


def test_an_empty_row_is_too_short_and_the_observed_figure_says_it_was_counted() -> None:
    result = profiled([*ENGLISH, ""])
    found = outcome("{expect: length_between, min: 20}", result)
    assert not found.passed and found.examples == [11]
    assert found.observed == "90.9% of 11 rows (1 row empty, counted as length 0)"


def test_length_in_words_and_an_upper_bound() -> None:
    result = profiled([*ENGLISH, "word " * 40])
    found = outcome("{expect: length_between, max: 20, unit: words}", result)
    assert not found.passed and found.failing_rows == 1 and found.examples == [11]
    assert found.description == "length at most 20 words for every row"
    assert outcome("{expect: length_between, max: 40, unit: words}", result).passed


def test_length_in_tokens_fails_when_no_tokenizer_counted_them(english: ProfileResult) -> None:
    found = outcome("{expect: length_between, max: 100, unit: tokens}", english)
    assert not found.passed and found.observed.startswith("not measured: token counts were not computed")


def test_length_in_tokens_is_measured_on_the_sample_and_says_how_many_rows() -> None:
    result = profiled([*ENGLISH * 2, "", "one two"], tokenizer=FakeTokenizer(), sample_rows=8)
    found = outcome("{expect: length_between, min: 5, unit: tokens, mostly: 0.5}", result)
    assert found.observed.endswith("of 8 sampled rows (of 21 non-empty)")
    assert found.description == "length at least 5 tokens for at least 50% of non-empty rows"
    full = profiled([*ENGLISH, "", "one two"], tokenizer=FakeTokenizer())
    found = outcome("{expect: length_between, min: 5, unit: tokens}", full)
    assert not found.passed and found.observed == "90.9% of 11 non-empty rows" and found.examples == [12]


# ---------------------------------------------------------------------------------------------- no_pii


def test_no_pii_passes_on_clean_rows_and_fails_naming_the_rows_and_types(english: ProfileResult) -> None:
    assert outcome("{expect: no_pii}", english).passed
    result = profiled([*ENGLISH, "Write to jane.doe@example.com for the forms, or ask at the desk."])
    found = outcome("{expect: no_pii}", result)
    assert not found.passed and found.examples == [11] and found.failing_rows == 1
    assert found.observed == "1 row with PII (email 1)" and found.expected == "0 rows"
    assert outcome("{expect: no_pii, types: [phone, iban]}", result).passed  # only the types asked for


# ---------------------------------------------------------------------------------------------- at_most


def test_at_most_a_fraction_of_exact_duplicates(english: ProfileResult) -> None:
    found = outcome("{expect: at_most, check: exact_duplicates, fraction: 0.01}", english)
    assert not found.passed and found.failing_rows == 10
    assert found.observed == "50% of rows (10 of 20)" and found.expected == "<= 1%"
    assert found.examples[:3] == [11, 12, 13]
    assert outcome("{expect: at_most, check: exact_duplicates, fraction: 0.5}", english).passed


def test_at_most_a_count_of_rows_and_any_pii() -> None:
    result = profiled([*ENGLISH, "", "Call 415-555-0132 or write to jane.doe@example.com today, thanks."])
    assert outcome("{expect: at_most, check: empty, count: 1}", result).passed
    found = outcome("{expect: at_most, check: empty, count: 0}", result)
    assert not found.passed and found.expected == "<= 0 rows" and found.examples == [11]
    assert not outcome("{expect: at_most, check: pii, count: 0}", result).passed
    assert outcome("{expect: at_most, check: pii, fraction: 0.1}", result).passed  # 1 of 12
    assert outcome("{expect: at_most, check: pii_ssn, count: 0}", result).passed


def test_a_check_the_profile_did_not_run_fails_as_not_measured(english: ProfileResult) -> None:
    found = outcome("{expect: at_most, check: heuristic_gopher_word_count, count: 0}", english)
    assert not found.passed
    assert found.observed == "not measured: the gopher_quality heuristics were switched off for this profile"
    measured = profiled(ENGLISH, heuristic_families=("gopher_quality",))
    assert outcome("{expect: at_most, check: heuristic_gopher_word_count, fraction: 1}", measured).passed
    assert not outcome("{expect: at_most, check: outlier_price, count: 0}", english).passed


# ---------------------------------------------------------------------------------------------- language_is


def test_language_passes_on_english_and_fails_on_a_mix_excluding_empty_rows() -> None:
    result = profiled([*ENGLISH, "", GERMAN])
    assert not outcome("{expect: language_is, language: en}", result).passed
    found = outcome("{expect: language_is, language: en, mostly: 0.9}", result)
    assert found.passed and found.observed == "90.9% of 11 non-empty rows"  # the empty row is not measured
    assert found.examples == [12]
    assert outcome("{expect: language_is, language: [en, de]}", result).passed


def test_language_on_a_large_dataset_says_it_was_measured_on_a_sample() -> None:
    result = profiled(ENGLISH * 3, sample_rows=7)
    found = outcome("{expect: language_is, language: en, mostly: 0.98}", result)
    assert found.passed and found.observed == "100% of 7 sampled rows (of 30 non-empty)"


def test_a_row_too_short_to_tell_its_language_counts_against_the_rule() -> None:
    found = outcome("{expect: language_is, language: en}", profiled([*ENGLISH, "ok"]))
    assert not found.passed and found.observed.endswith("; 1 too short to tell")


# ---------------------------------------------------------------------------------------------- min_rows


def test_min_rows(english: ProfileResult) -> None:
    assert outcome("{expect: min_rows, count: 20}", english).passed
    found = outcome("{expect: min_rows, count: 1000}", english)
    assert not found.passed and (found.observed, found.expected) == ("20 rows", ">= 1,000 rows")


# ---------------------------------------------------------------------------------------------- the set


def test_the_default_rule_set_passes_clean_english_and_fails_dirty_data() -> None:
    clean = check_rules(parse_rule_set(DEFAULT_RULE_SET), profiled(ENGLISH))
    assert [item.passed for item in clean] == [True, True, True, True] and rules_passed(clean) is True
    dirty_rows = [*ENGLISH * 2, GERMAN, "Mail me: bob@example.org, I will answer the same day."]
    dirty = check_rules(parse_rule_set(DEFAULT_RULE_SET), profiled(dirty_rows))
    assert [item.passed for item in dirty] == [True, False, False, False] and rules_passed(dirty) is False
    assert dirty[0].to_dict() == {
        "rule": "length_between",
        "description": "length between 20 and 4,000 characters for at least 95% of rows",
        "observed": "100% of 22 rows",
        "expected": ">= 95%",
        "passed": True,
        "failing_rows": 0,
        "examples": [],
    }


def test_rules_passed_is_none_without_rules_and_reads_stored_dicts() -> None:
    assert rules_passed([]) is None
    assert rules_passed([{"passed": True}, {"passed": True}]) is True
    assert rules_passed([{"passed": True}, {"passed": False}]) is False
