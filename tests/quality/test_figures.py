"""Data quality figures carry the profile's numbers, and say so instead of failing when there is nothing to draw."""

from __future__ import annotations

import json
import random

import plotly.graph_objects as go
import pytest

from lib.quality import figures
from lib.quality.drift import compare
from lib.quality.profile import profile
from lib.quality.readers import read_dataset

SENTENCES = [
    "The order arrived two days late and the box was damaged.",
    "Please send me a new invoice for my last purchase.",
    "I would like to return the jacket because it is too small.",
    "Thank you for your help, the problem is solved now.",
    "Can you tell me when the store opens on Sunday morning?",
    "Where can I find the warranty for these hiking boots?",
]


def planted_rows() -> list[str]:
    """120 rows: 10 exact duplicates, 4 empty, 6 with an email (2 also with a phone), 3 with HTML, 1 very long."""
    rng = random.Random(0)
    rows = [f"Ticket {i}: " + " ".join(rng.choice(SENTENCES) for _ in range(4)) for i in range(96)]
    rows += rows[:10]  # exact duplicates
    rows += ["", "", "   ", ""]
    rows += [f"Ticket {200 + i}: please write to me at user{i}@example.com about the refund." for i in range(6)]
    rows[-1] += " Or call +1 415 555 0100."
    rows[-2] += " Or call +1 415 555 0199."
    rows += [f"Ticket {300 + i}: <div><b>bold</b> text in html</div> with the order details." for i in range(3)]
    rows += ["Ticket 400: " + " ".join(SENTENCES) * 60]  # a length outlier
    return rows


@pytest.fixture(scope="module")
def data() -> dict:
    lines = "\n".join(json.dumps({"text": text}) for text in planted_rows()).encode()
    return profile(read_dataset(lines, "tickets.jsonl")).to_dict()


def bars(figure: go.Figure) -> dict[str, float]:
    """Label -> value over every horizontal or vertical bar trace."""
    found = {}
    for trace in figure.data:
        if trace.type != "bar":
            continue
        labels, values = (trace.y, trace.x) if trace.orientation == "h" else (trace.x, trace.y)
        found.update(zip(labels, values, strict=True))
    return found


def test_issues_bars_equal_the_profile_counts(data):
    found = bars(figures.issues_figure(data))
    assert found["exact duplicates"] == data["exact_duplicates"] == 10
    assert found["empty rows"] == data["empty"] == 4
    assert found["near-duplicates"] == data["near_duplicates"]
    assert found["length outliers"] == data["length_outliers"] >= 1
    assert found["HTML markup"] == data["markup"]["html"] == 3
    assert found["PII (any type)"] == 6  # 6 rows with an email, 2 of them also with a phone: 6 rows, not 8
    for rule, count in data["heuristics"].items():
        if count:
            assert found[f"heuristic: {rule}"] == count


def test_issues_are_sorted_and_hover_gives_the_share_of_rows(data):
    figure = figures.issues_figure(data)
    order = list(figure.layout.yaxis.categoryarray)[::-1]  # top of the chart first
    values = bars(figure)
    assert [values[label] for label in order] == sorted(values.values(), reverse=True)
    duplicates = next(trace for trace in figure.data if "exact duplicates" in trace.y)
    share = duplicates.customdata[list(duplicates.y).index("exact duplicates")]
    assert share == pytest.approx(10 / data["rows"])
    assert "of rows" in duplicates.hovertemplate
    assert f"{data['rows']:,} rows" in figure.layout.title.text


def test_length_histogram_counts_every_non_empty_row(data):
    figure = figures.length_histogram_figure(data, "characters")
    steps = figure.data[0]
    assert sum(steps.y[:-1]) == data["rows"] - data["empty"]  # the last point only closes the step line
    assert list(steps.x) == data["histograms"]["characters"]["edges"]
    assert figure.layout.xaxis.type == "log" and "characters" in figure.layout.xaxis.title.text
    assert figure.layout.yaxis.title.text == "rows"
    median = figure.data[1]
    assert median.x[0] == data["length"]["characters"]["median"]


def test_missing_token_counts_give_an_explained_empty_figure(data):
    figure = figures.length_histogram_figure(data, "tokens")
    assert not figure.data
    assert "token counts were not taken" in figure.layout.annotations[0].text


def test_language_figure_shows_the_top_ten_plus_other_and_states_the_sample():
    codes = ["en", "fr", "de", "es", "it", "pt", "nl", "sv", "da", "fi", "pl", "cs", "hu"]
    languages = {code: 100 - index for index, code in enumerate(codes)}
    data = {"languages": languages, "sample": {"rows": 2_000, "of": 50_000, "method": "a uniform random sample"}}
    figure = figures.language_figure(data)
    trace = figure.data[0]
    assert list(trace.x[:10]) == list(languages)[:10] and trace.x[10] == "other (3)"
    assert list(trace.customdata) == [*list(languages.values())[:10], 90 + 89 + 88]
    assert sum(trace.y) == pytest.approx(100)
    assert "uniform random sample of 2,000 of 50,000" in figure.layout.title.text
    assert figure.layout.yaxis.title.text == "share of rows (%)"


def test_language_figure_of_every_row(data):
    figure = figures.language_figure(data)
    assert "every non-empty row" in figure.layout.title.text
    assert dict(zip(figure.data[0].x, figure.data[0].customdata, strict=True)) == data["languages"]


def test_pii_figure_has_a_bar_per_type_with_its_rows(data):
    figure = figures.pii_figure(data)
    assert bars(figure) == {kind.replace("_", " "): count for kind, count in data["pii"].items()}
    assert "6 rows with any type" in figure.layout.title.text


def test_heuristics_figure_groups_rules_by_family(data):
    figure = figures.heuristics_figure(data)
    assert bars(figure) == data["heuristics"]
    names = [trace.name for trace in figure.data]
    assert names == ["Gopher quality", "Gopher repetition", "C4", "FineWeb"]
    quality = figure.data[0]
    assert "gopher_word_count" in quality.y and "gopher_dup_5gram" not in quality.y
    assert "fails when" in quality.hovertemplate


def test_rules_figure_shows_each_outcome():
    rules = [
        {"rule": "max_duplicates", "description": "few duplicates", "observed": "8.3% of rows",
         "expected": "<= 5%", "passed": False, "failing_rows": 10},
        {"rule": "no_pii", "description": "no emails", "observed": "0 rows", "expected": "0 rows", "passed": True},
        {"rule": "<b>bold</b>", "description": "a name with markup", "observed": 0.5, "expected": None,
         "passed": None},
    ]  # fmt: skip
    figure = figures.rules_figure({"rules": rules})
    cells = figure.data[0].cells.values
    assert list(cells[0]) == ["max_duplicates", "no_pii", "&lt;b&gt;bold&lt;/b&gt;"]  # shown as typed, not bold
    assert list(cells[-1]) == ["FAILED", "PASSED", "NOT CHECKED"]
    assert list(cells[2]) == ["8.3% of rows", "0 rows", "0.5"] and cells[4][0] == "10"
    assert "1 passed, 1 failed of 3" in figure.layout.title.text


@pytest.mark.parametrize(
    "build",
    [
        figures.issues_figure,
        figures.language_figure,
        figures.pii_figure,
        figures.heuristics_figure,
        figures.rules_figure,
        lambda data: figures.length_histogram_figure(data, "characters"),
        lambda data: figures.length_histogram_figure(data, "words"),
        figures.drift_lengths_figure,
        figures.drift_languages_figure,
        figures.drift_ngrams_figure,
    ],
)
@pytest.mark.parametrize(
    "data",
    [
        {},
        {"rows": 0, "histograms": {}, "languages": {}, "pii": {}, "heuristics": {}, "rules": []},
        {"rows": 3, "histograms": {"characters": {"edges": [1], "counts": []}}, "lengths": None, "languages": None},
    ],
)
def test_nothing_to_draw_gives_an_annotated_figure(build, data):
    figure = build(data)
    assert isinstance(figure, go.Figure)
    assert not figure.data
    assert figure.layout.annotations and figure.layout.annotations[0].text.startswith(("Nothing to draw", "No rules"))


def test_an_empty_dataset_profile_draws_without_errors():
    result = profile(read_dataset(b'{"text": ""}\n{"text": " "}\n', "blank.jsonl")).to_dict()
    for build in (figures.issues_figure, figures.language_figure, figures.length_histogram_figure):
        assert isinstance(build(result), go.Figure)
    assert bars(figures.issues_figure(result))["empty rows"] == 2


def test_drift_figures_carry_both_sides():
    def profiled(texts: list[str], name: str) -> object:
        return profile(read_dataset("\n".join(json.dumps({"text": t}) for t in texts).encode(), name))

    rng = random.Random(1)
    before = [" ".join(rng.choice(SENTENCES) for _ in range(3)) for _ in range(200)]
    after = [text + " " + text + " Bonjour, je voudrais retourner ma veste, elle est abîmée." for text in before[:150]]
    drift = compare(profiled(before, "before.jsonl"), profiled(after, "after.jsonl")).to_dict()

    lengths = figures.drift_lengths_figure(drift, "words")
    assert [trace.name for trace in lengths.data] == ["before.jsonl", "after.jsonl"]
    for trace, side in zip(lengths.data, ("a_counts", "b_counts"), strict=True):
        assert sum(trace.y[:-1]) == pytest.approx(100)  # shares of rows, so unequal sizes compare
        assert [row[2] for row in trace.customdata[:-1]] == drift["lengths"]["words"]["histogram"][side]
    assert f"PSI {drift['lengths']['words']['psi']:.3f}" in lengths.layout.title.text

    languages = figures.drift_languages_figure(drift)
    assert languages.layout.barmode == "group" and len(languages.data) == 2
    english = {entry["language"]: entry for entry in drift["languages"]["shares"]}["en"]
    assert languages.data[0].y[list(languages.data[0].x).index("en")] == pytest.approx(english["a_share"] * 100)

    ngrams = figures.drift_ngrams_figure(drift, "unigrams")
    changes = {entry["ngram"]: entry["change"] * 100 for entry in drift["ngrams"]["unigrams"]["changes"]}
    assert dict(zip(ngrams.data[0].y, ngrams.data[0].x, strict=True)) == pytest.approx(changes)
    assert "percentage points" in ngrams.layout.xaxis.title.text


def test_check_labels_read_as_words():
    assert figures.check_label("pii_credit_card") == "PII: credit card"
    assert figures.check_label("markup_html") == "HTML markup"
    assert figures.check_label("heuristic_c4_curly_bracket") == "heuristic: c4_curly_bracket"
    assert figures.check_label("exact_duplicates") == "exact duplicates"
    assert "'{'" in (figures.check_description("heuristic_c4_curly_bracket") or "")
