"""The cleaning pipeline as a user sees it: what is dropped and why, what changes, an export that re-profiles clean."""

from __future__ import annotations

import json

import pandas as pd
import pytest

from lib.errors import InputError
from lib.quality.clean import CLASSIC_WARNING, CleanOptions, clean
from lib.quality.export import export_bytes, export_name
from lib.quality.pii import PII_TYPES
from lib.quality.profile import ProfileOptions, profile
from lib.quality.readers import read_dataset
from lib.samples import write_samples

QUICK = ProfileOptions(heuristic_families=(), sample_rows=200)  # the checks that matter here, fast

LONG = (
    "The tent arrived on Tuesday with one pole bent and the rain fly torn along the seam, so I could not use it "
    "for the trip to the lake that I had planned with my family for the long weekend in the mountains. I would "
    "like a replacement pole and a new fly, or a refund for the whole tent if that is easier for your team."
)
NEAR = LONG.replace("easier for your team.", "simpler for your staff.")


def csv_dataset(texts: list[str]):
    """A CSV with an id column and the given texts, read as the pipeline gets it (record numbers 1..n)."""
    frame = pd.DataFrame({"id": [f"r{i}" for i in range(1, len(texts) + 1)], "text": texts})
    return read_dataset(frame.to_csv(index=False).encode(), "rows.csv", text_column="text")


def jsonl_dataset(records: list[dict], chat: str = "conversation"):
    data = "".join(json.dumps(record) + "\n" for record in records).encode()
    return read_dataset(data, "chats.jsonl", chat=chat)


def reasons(result) -> dict[int, str]:
    return dict(zip(result.dropped["row"].tolist(), result.dropped["reason"].tolist(), strict=True))


# --------------------------------------------------------------------------------------------- the demo dataset


@pytest.fixture(scope="module")
def demo(tmp_path_factory: pytest.TempPathFactory):
    folder = tmp_path_factory.mktemp("demo")
    write_samples(folder)
    return folder, json.loads((folder / "manifest.json").read_text(encoding="utf-8"))


@pytest.fixture(scope="module")
def demo_jsonl(demo):
    """The demo chat JSONL cleaned with the default steps plus HTML stripping, exported, re-read and re-profiled."""
    folder, _manifest = demo
    dataset = read_dataset(folder / "support_conversations.jsonl")
    result = clean(dataset, CleanOptions(strip_html=True))
    data = export_bytes(dataset, result.frame)
    again = read_dataset(data, export_name(dataset.name, "clean"))
    return dataset, result, again, profile(again, QUICK)


@pytest.fixture(scope="module")
def demo_csv(demo):
    folder, _manifest = demo
    dataset = read_dataset(folder / "support_conversations.csv")
    result = clean(dataset)
    return dataset, result, export_bytes(dataset, result.frame)


def test_cleaned_demo_chat_export_reprofiles_without_duplicates_empties_or_pii(demo_jsonl):
    _dataset, result, again, reprofiled = demo_jsonl
    data = reprofiled.to_dict()
    assert data["rows"] == result.kept > 0
    assert data["exact_duplicates"] == 0
    assert data["empty"] == 0
    assert data["empty_parts"] == 0
    assert data["pii"] == dict.fromkeys(PII_TYPES, 0)
    assert data["markup"]["html"] == 0
    assert again.chat == "conversation"  # still chat: the messages structure came back


def test_demo_chat_dropped_rows_name_their_reasons(demo, demo_jsonl):
    _folder, manifest = demo
    _dataset, result, _again, _reprofiled = demo_jsonl
    dropped = result.dropped
    by_step = dropped.groupby("step")["row"].apply(set).to_dict()
    # The planted empty messages (0-based rows; file lines are 1-based) are dropped as empty messages.
    assert {row + 1 for row in manifest["planted"]["empty"]} <= by_step["empty_message"]
    assert all(
        reason.startswith("empty_message (") for reason in dropped.loc[dropped["step"] == "empty_message", "reason"]
    )
    for step, prefix in (
        ("exact_duplicates", "exact_duplicate of row "),
        ("near_duplicates", "near_duplicate of row "),
    ):
        for reason in dropped.loc[dropped["step"] == step, "reason"]:
            assert reason.startswith(prefix) and reason.removeprefix(prefix).isdigit()
    counts = result.to_dict()["counts"]
    assert counts["empty_message"]["dropped"] == len(by_step["empty_message"])
    assert counts["redact_pii"]["changed"] >= 1 and counts["strip_html"]["changed"] >= 1


def test_demo_chat_kept_rows_carry_placeholders_where_pii_was(demo, demo_jsonl):
    _folder, manifest = demo
    _dataset, result, _again, _reprofiled = demo_jsonl
    kept = dict(zip(result.row_numbers, result.frame["text"].tolist(), strict=True))
    emails = [kept[row + 1] for row in manifest["planted"]["email"] if row + 1 in kept]
    assert emails and all("[EMAIL]" in text for text in emails)
    cards = [kept[row + 1] for row in manifest["planted"]["card_number"] if row + 1 in kept]
    assert cards and all("[CREDIT_CARD]" in text for text in cards)


def test_cleaned_demo_csv_has_no_pii_in_any_text_column(demo_csv):
    """The CSV profiles assistant_reply, but the PII is in user_message: the export must not carry it there."""
    dataset, result, data = demo_csv
    assert result.redacted_columns.get("user_message", 0) >= 1
    for column in ("assistant_reply", "user_message"):
        reprofiled = profile(read_dataset(data, "support_conversations.clean.csv", text_column=column), QUICK)
        assert reprofiled.to_dict()["pii"] == dict.fromkeys(PII_TYPES, 0), column
    main = profile(read_dataset(data, "support_conversations.clean.csv", text_column=dataset.text_column), QUICK)
    assert main.to_dict()["exact_duplicates"] == 0 and main.to_dict()["empty"] == 0
    assert list(result.frame.columns) == list(dataset.frame.columns)  # every input column kept


def test_cleaning_leaves_the_dataset_as_read(demo):
    folder, _manifest = demo
    dataset = read_dataset(folder / "support_conversations.jsonl")
    text, first = dataset.frame["text"].copy(), dataset.frame["messages"][0][1]["content"]
    clean(dataset, CleanOptions(strip_html=True, lowercase=True))
    assert dataset.frame["text"].equals(text)
    assert dataset.frame["messages"][0][1]["content"] == first


# --------------------------------------------------------------------------------------------- drops and reasons


def test_each_drop_reason_is_listed_with_the_file_row():
    dataset = csv_dataset(
        [
            LONG,  # 1: kept
            "   ",  # 2: empty
            "Write to ann@example.com about the refund.",  # 3: kept, redacted
            "Write to bob@example.org about the refund.",  # 4: a duplicate of 3 once both say [EMAIL]
            LONG.upper(),  # 5: the same text as 1 after case folding
            NEAR,  # 6: a near duplicate of 1
            "123 456 789 000 111 and more",  # 7: most words have no letter
        ]
    )
    result = clean(dataset, CleanOptions(heuristic_rules=("gopher_alpha_words",)))
    assert reasons(result) == {
        2: "empty",
        4: "exact_duplicate of row 3",
        5: "exact_duplicate of row 1",
        6: "near_duplicate of row 1",
        7: "heuristic: gopher_alpha_words",
    }
    steps = ["empty", "exact_duplicates", "exact_duplicates", "near_duplicates", "heuristics"]
    assert result.dropped["step"].tolist() == steps
    assert result.frame["id"].tolist() == ["r1", "r3"]
    assert result.frame["text"].tolist() == [LONG, "Write to [EMAIL] about the refund."]
    assert result.row_numbers == [1, 3]
    counts = result.to_dict()["counts"]
    assert counts["empty"] == {"dropped": 1}
    assert counts["exact_duplicates"] == {"dropped": 2}
    assert counts["near_duplicates"] == {"dropped": 1}
    assert counts["heuristics"] == {"dropped": 1}
    assert counts["redact_pii"] == {"changed": 2}


def test_redaction_happens_before_duplicates_are_decided():
    """Rows that differ only by an email are duplicates in the export, so they must be dropped as duplicates."""
    dataset = csv_dataset(["Mail me at ann@example.com, thanks.", "Mail me at bob@example.com, thanks."])
    assert reasons(clean(dataset)) == {2: "exact_duplicate of row 1"}
    kept_both = clean(dataset, CleanOptions(redact_pii=False))
    assert kept_both.kept == 2


def test_a_duplicate_group_keeps_a_row_that_passes_the_heuristics():
    lower = "the cat sat with the dog and that was fine."
    dataset = csv_dataset([lower.upper(), lower])  # equal after case folding; only the first fails the stop words
    result = clean(dataset, CleanOptions(heuristic_rules=("gopher_stop_words",)))
    assert reasons(result) == {1: "heuristic: gopher_stop_words"}
    assert result.frame["text"].tolist() == [lower]


def test_turning_a_drop_step_off_keeps_those_rows():
    dataset = csv_dataset([LONG, LONG, NEAR, ""])
    options = CleanOptions(drop_empty=False, drop_exact_duplicates=False, drop_near_duplicates=False)
    result = clean(dataset, options)
    assert result.kept == 4 and result.dropped.empty
    assert list(result.dropped.columns) == ["row", "step", "reason", "text"]
    near_only = clean(dataset, CleanOptions(drop_exact_duplicates=False))
    assert reasons(near_only) == {2: "near_duplicate of row 1", 3: "near_duplicate of row 1", 4: "empty"}


def test_html_stripping_can_leave_a_row_empty_and_it_is_then_dropped():
    dataset = csv_dataset(["<p><br></p>", "<p>Hello <b>there</b>, friend.</p>"])
    result = clean(dataset, CleanOptions(strip_html=True))
    assert reasons(result) == {1: "empty"}
    assert result.frame["text"].tolist() == ["Hello there, friend."]
    assert clean(dataset).frame["text"].tolist() == ["<p><br></p>", "<p>Hello <b>there</b>, friend.</p>"]  # off


def test_whitespace_and_unicode_are_tidied_but_line_breaks_and_indentation_stay():
    text = "Cafe\u0301\u00a0 menu\x07 \t here  \r\n\r\n\r\n\r\ndef f():\n    return 1   \n"
    result = clean(csv_dataset([text]))
    assert result.frame["text"].tolist() == ["Café menu here\n\ndef f():\n    return 1"]
    assert result.counts["normalize_unicode"] == {"changed": 1}
    assert result.counts["collapse_whitespace"] == {"changed": 1}


def test_only_the_chosen_pii_types_are_redacted():
    dataset = csv_dataset(["Mail ann@example.com or call +44 20 7946 0958 today."])
    result = clean(dataset, CleanOptions(pii_types=("phone",)))
    assert result.frame["text"].tolist() == ["Mail ann@example.com or call [PHONE] today."]


# --------------------------------------------------------------------------------------------- chat data


CHATS = [
    {
        "id": 1,
        "meta": {"contact": "ann@example.com"},
        "messages": [
            {"role": "system", "content": "You help hikers."},
            {"role": "user", "content": "My  email is ann@example.com."},
            {"role": "assistant", "content": "<b>Thanks</b>, noted."},
        ],
    },
    {
        "id": 2,
        "meta": {"contact": "none"},
        "messages": [{"role": "user", "content": "Hi"}, {"role": "assistant", "content": "  "}],
    },
    {
        "id": 3,
        "meta": {"contact": "none"},
        "messages": [
            {"role": "user", "content": "What is six times seven?"},
            {"role": "assistant", "content": None, "tool_calls": [{"id": "c1", "type": "function"}]},
            {"role": "tool", "content": "42"},
            {"role": "assistant", "content": "It is 42."},
        ],
    },
    {
        "id": 4,
        "meta": {"contact": "none"},
        "messages": [
            {"role": "system", "content": "You help hikers."},
            {"role": "user", "content": "My email is bob@example.org."},
            {"role": "assistant", "content": "Thanks, noted."},
        ],
    },
]


@pytest.fixture(scope="module")
def chats():
    dataset = jsonl_dataset(CHATS)
    return dataset, clean(dataset, CleanOptions(strip_html=True))


def test_chat_is_cleaned_message_by_message_and_keeps_its_structure(chats):
    _dataset, result = chats
    assert reasons(result) == {2: "empty_message (assistant)", 4: "exact_duplicate of row 1"}
    first = result.frame["messages"][0]
    assert [message["content"] for message in first] == ["You help hikers.", "My email is [EMAIL].", "Thanks, noted."]
    assert result.frame["text"][0] == "system: You help hikers.\nuser: My email is [EMAIL].\nassistant: Thanks, noted."


def test_a_tool_call_turn_without_text_is_not_an_empty_message(chats):
    _dataset, result = chats
    tool_chat = result.frame["messages"][1]
    assert tool_chat[1]["content"] is None and tool_chat[1]["tool_calls"][0]["id"] == "c1"
    assert result.row_numbers == [1, 3]


def test_pii_in_other_columns_of_chat_records_is_redacted(chats):
    _dataset, result = chats
    assert result.frame["meta"][0] == {"contact": "[EMAIL]"}
    assert result.redacted_columns == {"meta": 1}


def test_text_parts_of_a_multimodal_message_are_cleaned_and_other_parts_kept():
    image = {"type": "image_url", "image_url": {"url": "https://example.com/tent.png"}}
    record = {"messages": [{"role": "user", "content": [{"type": "text", "text": "Mail  ann@example.com"}, image]}]}
    result = clean(jsonl_dataset([record, {"messages": [{"role": "user", "content": "Plain text."}]}]))
    assert result.frame["messages"][0][0]["content"] == [{"type": "text", "text": "Mail [EMAIL]"}, image]
    assert result.frame["text"][0] == "user: Mail [EMAIL]"


def test_chat_per_message_is_cleaned_one_row_per_message_and_says_so():
    dataset = jsonl_dataset(CHATS, chat="message")
    result = clean(dataset)
    assert list(result.frame.columns) == ["conversation", "role", "text"]
    assert any("one row per message" in warning for warning in result.warnings)
    assert "My email is [EMAIL]." in result.frame["text"].tolist()


# --------------------------------------------------------------------------------------------- classic NLP steps


def test_classic_steps_are_off_by_default_and_the_text_keeps_its_form():
    options = CleanOptions()
    assert not options.classic
    assert (options.lowercase, options.tokenize, options.remove_stopwords, options.lemma_or_stem) == (
        False,
        False,
        False,
        None,
    )
    result = clean(csv_dataset(["The Runners were running to the stations."]))
    assert result.frame["text"].tolist() == ["The Runners were running to the stations."]
    assert result.warnings == []
    assert "sentence" not in CLASSIC_WARNING and "destroy" in CLASSIC_WARNING


def test_classic_steps_do_what_they_say_when_on():
    dataset = csv_dataset(["The Runners were running to the stations, and ann@example.com knew it."])
    options = CleanOptions(lowercase=True, tokenize=True, remove_stopwords=True, lemma_or_stem="porter")
    result = clean(dataset, options)
    assert result.frame["text"].tolist() == ["runner run station , [email] ."]  # redacted, then lowercased
    assert [step for step in result.steps if step in ("lowercase", "tokenize", "remove_stopwords", "porter_stem")] == [
        "lowercase",
        "tokenize",
        "remove_stopwords",
        "porter_stem",
    ]
    assert CLASSIC_WARNING.rstrip(".") in result.warnings
    lemmas = clean(csv_dataset(["The mice were running."]), CleanOptions(lemma_or_stem="lemma"))
    assert lemmas.frame["text"].tolist() == ["the mouse be run."]


# --------------------------------------------------------------------------------------------- results and options


def test_preview_shows_before_and_after_of_changed_rows():
    dataset = csv_dataset(["Unchanged text here.", "Mail ann@example.com now.", "  spaced   out  "])
    result = clean(dataset)
    preview = result.preview()
    assert [item["row"] for item in preview] == [2, 3]
    assert preview[0] == {
        "row": 2,
        "steps": ["redact_pii"],
        "before": "Mail ann@example.com now.",
        "after": "Mail [EMAIL] now.",
        "dropped": None,
    }
    assert preview[1]["after"] == "spaced out" and preview[1]["steps"] == ["collapse_whitespace"]
    assert len(result.preview(limit=1)) == 1


def test_a_long_change_is_previewed_around_where_it_happens():
    text = "word " * 200 + "ann@example.com and more words after it"
    result = clean(csv_dataset([text]))
    item = result.preview(width=80)[0]
    assert item["before"].startswith("…") and "ann@example.com" in item["before"]
    assert "[EMAIL]" in item["after"] and len(item["after"]) <= 82


def test_to_dict_is_json_with_counts_kept_dropped_and_steps():
    dataset = csv_dataset([LONG, LONG, ""])
    data = json.loads(json.dumps(clean(dataset).to_dict()))
    assert (data["rows"], data["kept"], data["dropped"]) == (3, 1, 2)
    assert data["dropped_by_step"] == {"empty": 1, "exact_duplicates": 1}
    assert data["steps"] == [
        "normalize_unicode",
        "collapse_whitespace",
        "redact_pii",
        "empty",
        "exact_duplicates",
        "near_duplicates",
    ]
    assert data["options"]["pii_types"] == list(PII_TYPES)
    assert data["near_duplicate_threshold"] == 0.7


def test_progress_is_reported_step_by_step_until_done():
    calls = []
    clean(csv_dataset([LONG, "x"]), progress=lambda done, total, step: calls.append((done, total, step)))
    assert calls[-1][0] == calls[-1][1] and calls[-1][2] == "done"
    assert [done for done, _total, _step in calls] == sorted(done for done, _total, _step in calls)
    assert {"normalize_unicode", "redact_pii", "duplicates"} <= {step for _done, _total, step in calls}


@pytest.mark.parametrize(
    ("options", "needle"),
    [
        ({"heuristic_rules": ("gopher_nonsense",)}, "Unknown heuristic rule 'gopher_nonsense'"),
        ({"pii_types": ("passport",)}, "Unknown PII type 'passport'"),
        ({"lemma_or_stem": "snowball"}, "not 'snowball'"),
        ({"lemma_or_stem": "porter", "language": "de"}, "The Porter stemmer is for English"),
        ({"remove_stopwords": True, "language": "xx"}, "Stop-word removal has no list for language 'xx'"),
        ({"unicode_form": "NFD"}, "NFC or NFKC"),
    ],
)
def test_bad_options_are_refused_in_one_sentence(options, needle):
    with pytest.raises(InputError) as caught:
        CleanOptions(**options)
    assert needle in str(caught.value) and str(caught.value).endswith(".")


def test_a_bad_threshold_is_refused():
    with pytest.raises(InputError, match="threshold"):
        clean(csv_dataset(["a"]), threshold=1.5)
