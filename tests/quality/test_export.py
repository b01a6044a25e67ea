"""Exporting a cleaned dataset: every input format reads back as the kept rows; the dropped list and file names."""

from __future__ import annotations

import io
import json

import pandas as pd
import pytest

from lib.errors import InputError
from lib.quality.clean import CleanOptions, clean
from lib.quality.export import dropped_csv, export_bytes, export_name, mime_type
from lib.quality.readers import read_dataset

TEXTS = [
    "The tent arrived with a bent pole.\nThe rest was fine.",  # a line break inside a document
    "Mail me at ann@example.com, thanks.",
    "Mail me at bob@example.com, thanks.",  # a duplicate of the row above once both say [EMAIL]
    "   ",
    'She said "hello", then left; a tab\there.',
    "Ünïcödé, emoji 🏕️ and a comma, too.",
]
KEPT = [
    "The tent arrived with a bent pole.\nThe rest was fine.",
    "Mail me at [EMAIL], thanks.",
    'She said "hello", then left; a tab here.',
    "Ünïcödé, emoji 🏕️ and a comma, too.",
]
FRAME = pd.DataFrame(
    {
        "id": [f"r{i}" for i in range(1, 7)],
        "text": TEXTS,
        "score": [1, 2, 3, 4, 5, None],  # whole numbers with a gap: pandas makes them floats
        "ratio": [0.5, 1.25, 2.0, 0.0, 1.5, 3.75],
    }
)


def write(fmt: str) -> bytes:
    """FRAME as a file of the given format, as a user would have it."""
    if fmt == "csv":
        return FRAME.to_csv(index=False).encode()
    if fmt == "tsv":
        return FRAME.to_csv(index=False, sep="\t").encode()
    if fmt in ("jsonl", "json"):
        rows = FRAME.to_dict("records")
        records = [{key: value for key, value in row.items() if not pd.isna(value)} for row in rows]
        lines = [json.dumps(record, ensure_ascii=False) for record in records]
        return ("\n".join(lines) + "\n" if fmt == "jsonl" else "[" + ",".join(lines) + "]").encode()
    if fmt == "parquet":
        sink = io.BytesIO()
        FRAME.to_parquet(sink, index=False)
        return sink.getvalue()
    return "".join(text.replace("\n", " ") + "\n" for text in TEXTS).encode()  # plain text: one per line


EXTENSION = {"csv": "csv", "tsv": "tsv", "jsonl": "jsonl", "json": "json", "parquet": "parquet", "text": "txt"}


@pytest.mark.parametrize("fmt", ["csv", "tsv", "jsonl", "json", "parquet", "text"])
def test_each_format_reads_back_as_the_kept_rows(fmt):
    dataset = read_dataset(write(fmt), f"data.{EXTENSION[fmt]}", text_column="text")
    result = clean(dataset)
    data = export_bytes(dataset, result.frame)
    name = export_name(dataset.name, "clean")
    assert name == f"data.clean.{EXTENSION[fmt]}"
    again = read_dataset(data, name, text_column="text")
    assert again.format == fmt
    assert again.warnings == []
    expected = KEPT if fmt != "text" else [text.replace("\n", " ") for text in KEPT]
    assert again.frame["text"].tolist() == expected
    if fmt != "text":
        assert list(again.frame.columns) == ["id", "text", "score", "ratio"]
        assert again.frame["id"].tolist() == ["r1", "r2", "r5", "r6"]
        assert again.frame["ratio"].tolist() == [0.5, 1.25, 1.5, 3.75]
        pd.testing.assert_frame_equal(again.frame, result.frame, check_dtype=False)


@pytest.mark.parametrize("fmt", ["csv", "tsv", "jsonl", "json"])
def test_whole_numbers_with_gaps_are_written_as_whole_numbers(fmt):
    dataset = read_dataset(write(fmt), f"data.{EXTENSION[fmt]}", text_column="text")
    options = CleanOptions(drop_empty=False, drop_exact_duplicates=False, drop_near_duplicates=False)
    text = export_bytes(dataset, clean(dataset, options).frame).decode()
    assert "5.0" not in text and "1.25" in text  # "5", not "5.0"; real fractions untouched
    if fmt == "jsonl":
        assert json.loads(text.splitlines()[-1])["score"] is None  # the gap is null


def test_plain_text_keeps_one_document_per_line():
    dataset = read_dataset(b"First line\nSecond line\n", "notes.txt")
    frame = dataset.frame.assign(text=["one\ntwo\r\nthree", "four"])
    data = export_bytes(dataset, frame)
    assert data == b"one two three\nfour\n"
    assert len(read_dataset(data, "notes.clean.txt").frame) == 2


CHATS = [
    {
        "id": 7,
        "messages": [
            {"role": "system", "content": "You help hikers."},
            {"role": "user", "content": "I'm  at ann@example.com."},
            {"role": "assistant", "content": "<p>Noted!</p>"},
        ],
    },
    {
        "id": 8,
        "messages": [
            {"role": "user", "content": "Weather?"},
            {"role": "assistant", "content": None, "tool_calls": [{"id": "c1", "type": "function"}]},
            {"role": "tool", "content": "Sunny"},
            {"role": "assistant", "content": "It will be sunny."},
        ],
    },
]


@pytest.fixture(scope="module")
def chat_export():
    data = "".join(json.dumps(record) + "\n" for record in CHATS).encode()
    dataset = read_dataset(data, "chats.jsonl")
    result = clean(dataset, CleanOptions(strip_html=True))
    return dataset, result, export_bytes(dataset, result.frame)


def test_chat_jsonl_is_written_as_messages_with_cleaned_content(chat_export):
    _dataset, _result, data = chat_export
    records = [json.loads(line) for line in data.decode().splitlines()]
    assert [sorted(record) for record in records] == [["id", "messages"], ["id", "messages"]]  # no flattened text
    assert records[0]["messages"] == [
        {"role": "system", "content": "You help hikers."},
        {"role": "user", "content": "I'm at [EMAIL]."},
        {"role": "assistant", "content": "Noted!"},
    ]
    tool_turn = {"role": "assistant", "content": None, "tool_calls": [{"id": "c1", "type": "function"}]}
    assert records[1]["messages"][1] == tool_turn


def test_chat_jsonl_reads_back_as_the_same_conversations(chat_export):
    _dataset, result, data = chat_export
    again = read_dataset(data, "chats.clean.jsonl")
    assert again.chat == "conversation"
    assert again.frame["text"].tolist() == result.frame["text"].tolist()


@pytest.mark.parametrize("fmt", ["json", "parquet"])
def test_chat_reads_back_from_json_and_parquet(chat_export, fmt):
    dataset, result, _data = chat_export
    again = read_dataset(export_bytes(dataset, result.frame, fmt), export_name(dataset.name, "clean", fmt))
    assert again.chat == "conversation"
    assert again.frame["text"].tolist() == result.frame["text"].tolist()


def test_chat_as_csv_keeps_the_flattened_text_beside_the_messages(chat_export):
    dataset, result, _data = chat_export
    again = read_dataset(export_bytes(dataset, result.frame, "csv"), "chats.clean.csv", text_column="text")
    assert again.frame["text"].tolist() == result.frame["text"].tolist()
    assert json.loads(again.frame["messages"][0])[1]["content"] == "I'm at [EMAIL]."


def test_chat_per_message_is_written_one_row_per_message():
    data = "".join(json.dumps(record) + "\n" for record in CHATS).encode()
    dataset = read_dataset(data, "chats.jsonl", chat="message")
    result = clean(dataset, CleanOptions(drop_exact_duplicates=False, drop_near_duplicates=False))
    records = [json.loads(line) for line in export_bytes(dataset, result.frame).decode().splitlines()]
    assert records[1] == {"conversation": 0, "role": "user", "text": "I'm at [EMAIL]."}
    assert len(records) == result.kept


def test_export_is_utf8_whatever_the_input_encoding():
    data = "id,text\n1,Caf\u00e9 cr\u00e8me \u2013 fine\n".encode("cp1252")
    dataset = read_dataset(data, "menu.csv")
    assert dataset.encoding == "cp1252"
    exported = export_bytes(dataset, clean(dataset).frame)
    assert exported.decode("utf-8") == "id,text\n1,Café crème – fine\n"


def test_an_unchanged_frame_is_written_as_it_was_read():
    raw = "".join(json.dumps(record) + "\n" for record in CHATS).encode()
    dataset = read_dataset(raw, "chats.jsonl")
    assert export_bytes(dataset, dataset.frame) == raw


def test_the_dropped_list_is_a_csv_with_row_reason_and_defused_text():
    dataset = read_dataset(write("csv"), "data.csv", text_column="text")
    dropped = clean(dataset).dropped
    table = pd.read_csv(io.BytesIO(dropped_csv(dropped)), keep_default_na=False)
    assert table.columns.tolist() == ["row", "step", "reason", "text"]
    assert table["row"].tolist() == [3, 4]
    assert table["reason"].tolist() == ["exact_duplicate of row 2", "empty"]
    assert table["text"].tolist() == ["Mail me at [EMAIL], thanks.", ""]  # the redacted text, never the original
    formula = pd.DataFrame({"row": [1], "step": ["empty"], "reason": ["empty"], "text": ['=HYPERLINK("x")']})
    assert b"'=HYPERLINK" in dropped_csv(formula)


@pytest.mark.parametrize(
    ("name", "suffix", "fmt", "expected"),
    [
        ("data.jsonl", "clean", None, "data.clean.jsonl"),
        ("data.ndjson", "clean", "jsonl", "data.clean.ndjson"),
        ("data.json", "clean", "jsonl", "data.clean.jsonl"),
        ("data.jsonl", "dropped", "csv", "data.dropped.csv"),
        ("notes.txt", "clean", "text", "notes.clean.txt"),
        ("archive.2024.csv", "clean", None, "archive.2024.clean.csv"),
        ("folder/sub\\data.tsv", "clean", None, "data.clean.tsv"),
        ("the upload", "clean", "parquet", "the upload.clean.parquet"),
        (".hidden", "clean", None, ".hidden.clean"),
    ],
)
def test_export_names_sit_beside_the_input_name(name, suffix, fmt, expected):
    assert export_name(name, suffix, fmt) == expected


def test_an_unknown_format_is_refused_in_one_sentence():
    dataset = read_dataset(write("csv"), "data.csv", text_column="text")
    expected = r"^Cannot export as 'xlsx'; choose one of: csv, tsv, jsonl, json, parquet, text\.$"
    with pytest.raises(InputError, match=expected):
        export_bytes(dataset, dataset.frame, "xlsx")
    assert mime_type("csv") == "text/csv" and mime_type("parquet") == "application/vnd.apache.parquet"


def test_a_semicolon_csv_is_exported_with_semicolons() -> None:
    data = b"id;text\n1;first review, with a comma\n2;second review\n"
    dataset = read_dataset(data, "reviews.csv")
    exported = export_bytes(dataset, dataset.frame)
    assert exported.splitlines()[0] == b"id;text"
    assert read_dataset(exported, "reviews.csv").frame["text"].tolist() == [
        "first review, with a comma",
        "second review",
    ]
