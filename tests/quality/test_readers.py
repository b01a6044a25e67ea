"""Reading datasets: every format, chat flattening, encodings, malformed records, and a sentence for every bad file."""

from __future__ import annotations

import hashlib
import io
import json
import re
import zipfile
from pathlib import Path

import pandas as pd
import pyarrow as pa
import pyarrow.parquet as pq
import pytest

from lib.errors import InputError
from lib.quality.readers import Dataset, candidate_text_columns, detect_format, read_dataset
from lib.samples import write_samples


@pytest.fixture(scope="module")
def demo(tmp_path_factory: pytest.TempPathFactory) -> dict:
    """The demo files, written once for this module, and their manifest."""
    folder = tmp_path_factory.mktemp("samples")
    write_samples(folder)
    return {
        "jsonl": folder / "support_conversations.jsonl",
        "csv": folder / "support_conversations.csv",
        "manifest": json.loads((folder / "manifest.json").read_text()),
    }


def write(path: Path, content: str | bytes) -> Path:
    path.write_bytes(content.encode() if isinstance(content, str) else content)
    return path


def refused(source: Path | bytes, *words: str, name: str | None = None, **options) -> str:
    """The InputError's message, checked to be one sentence naming the file and containing `words`."""
    with pytest.raises(InputError) as caught:
        read_dataset(source, name=name, **options)
    message = str(caught.value)
    shown = name or (source.name if isinstance(source, Path) else "the upload")
    assert shown in message, message
    assert "\n" not in message and message.endswith("."), message
    assert message.count("; ") == 1, message  # what happened; what to do
    for word in words:
        assert word in message, message
    return message


def texts(dataset: Dataset) -> list:
    return dataset.frame[dataset.text_column].tolist()


# ---------------------------------------------------------------------------------------------- demo data


def test_the_demo_jsonl_is_read_as_one_text_per_conversation(demo: dict) -> None:
    data = read_dataset(demo["jsonl"])
    assert (data.format, data.encoding, data.chat, data.text_column) == ("jsonl", "utf-8", "conversation", "text")
    assert len(data.frame) == 3150 and data.row_numbers == list(range(1, 3151))
    assert data.skipped == [] and data.warnings == []
    first = data.frame["text"][0].split("\n")
    assert first[0].startswith("system: You are a helpful support assistant")
    assert first[1].startswith("user: ") and first[2].startswith("assistant: ")
    assert "messages" in data.frame.columns  # the records as read are kept beside the flattened text
    emails = demo["manifest"]["planted"]["email"]
    assert all("@" in data.frame["text"][row] for row in emails)
    assert data.sha256 == hashlib.sha256(demo["jsonl"].read_bytes()).hexdigest()
    assert data.size_bytes == demo["jsonl"].stat().st_size


def test_the_demo_jsonl_per_message_has_one_row_per_message(demo: dict) -> None:
    data = read_dataset(demo["jsonl"], chat="message")
    assert data.chat == "message" and data.text_column == "text"
    assert list(data.frame.columns) == ["conversation", "role", "text"]
    assert len(data.frame) == 3 * 3150
    assert data.frame["conversation"][:6].tolist() == [0, 0, 0, 1, 1, 1]
    assert data.frame["role"][:3].tolist() == ["system", "user", "assistant"]
    assert data.row_numbers[:6] == [1, 1, 1, 2, 2, 2]  # each message points at its conversation's line


def test_the_demo_csv_profiles_the_assistant_replies(demo: dict) -> None:
    data = read_dataset(demo["csv"])
    assert (data.format, data.chat, len(data.frame)) == ("csv", None, 3150)
    # Both are prose; the replies are longer in the typical row (median 184 characters against 80), whatever
    # the ten 30,000-character logs pasted into user_message do to its mean.
    assert data.text_column == "assistant_reply"
    assert data.text_columns[:2] == ["assistant_reply", "user_message"]
    assert set(data.text_columns[2:]) == {"id", "created_at", "channel", "topic"}
    long_row = demo["manifest"]["planted"]["very_long"][0]
    assert "Here is the full log" in data.frame["user_message"][long_row]  # a quoted, multi-line cell intact
    assert data.row_numbers == list(range(1, 3151))  # records, not physical lines
    assert data.frame["id"][0] == "conv-00000"
    assert re.fullmatch(r"2026-\d\d-\d\dT\d\d:\d\d:\d\d", data.frame["created_at"][0])  # ISO text, not a parsed date
    assert pd.api.types.is_float_dtype(data.frame["response_seconds"])


# ---------------------------------------------------------------------------------------------- formats


def test_tsv_by_extension_and_by_its_tabs(tmp_path: Path) -> None:
    content = "id\ttext\n1\tfirst, with a comma\n2\tsecond one here\n"
    for name in ("data.tsv", "data.csv", "data"):
        data = read_dataset(write(tmp_path / name, content))
        assert data.format == "tsv", name
        assert texts(data) == ["first, with a comma", "second one here"]


def test_semicolon_csv_is_split_on_semicolons(tmp_path: Path) -> None:
    data = read_dataset(write(tmp_path / "excel.csv", "id;text\n1;hello there, friend\n2;goodbye for now\n"))
    assert list(data.frame.columns) == ["id", "text"] and texts(data)[0] == "hello there, friend"


def test_csv_words_like_none_stay_words_and_empty_cells_are_empty(tmp_path: Path) -> None:
    data = read_dataset(write(tmp_path / "a.csv", "id,text\n1,None\n2,\n3,NA is a word\n"))
    assert texts(data) == ["None", "", "NA is a word"]


def test_json_array_and_an_object_holding_one_list(tmp_path: Path) -> None:
    records = [{"id": 1, "text": "first document here"}, {"id": 2, "text": "second document here"}]
    data = read_dataset(write(tmp_path / "a.json", json.dumps(records)))
    assert (data.format, texts(data), data.row_numbers) == ("json", [r["text"] for r in records], [1, 2])
    data = read_dataset(write(tmp_path / "b.json", json.dumps({"version": 2, "data": records})))
    assert texts(data) == [r["text"] for r in records]
    assert any("under 'data'" in warning for warning in data.warnings)
    data = read_dataset(write(tmp_path / "c.json", json.dumps(["one doc", "two docs"])))
    assert (data.text_column, texts(data)) == ("text", ["one doc", "two docs"])


def test_a_json_file_holding_json_lines_is_read_as_jsonl(tmp_path: Path) -> None:
    data = read_dataset(write(tmp_path / "a.json", '{"text": "one two"}\n{"text": "three four"}\n'))
    assert data.format == "jsonl" and texts(data) == ["one two", "three four"]
    assert any("JSONL" in warning for warning in data.warnings)


def test_parquet_including_chat_messages(tmp_path: Path) -> None:
    table = pa.table(
        {
            "id": [1, 2],
            "messages": [
                [{"role": "user", "content": "hi there"}, {"role": "assistant", "content": "hello, how can I help"}],
                [{"role": "user", "content": "bye now"}],
            ],
        }
    )
    pq.write_table(table, tmp_path / "chat.parquet")
    data = read_dataset(tmp_path / "chat.parquet")
    assert (data.format, data.encoding, data.chat, data.row_numbers) == ("parquet", None, "conversation", [1, 2])
    assert texts(data) == ["user: hi there\nassistant: hello, how can I help", "user: bye now"]
    pq.write_table(pa.table({"n": [1, 2], "body": ["a long text here", "another text"]}), tmp_path / "p.parquet")
    assert texts(read_dataset(tmp_path / "p.parquet")) == ["a long text here", "another text"]


def test_plain_text_is_one_document_per_line_keeping_empty_lines(tmp_path: Path) -> None:
    data = read_dataset(write(tmp_path / "docs.txt", "first line\r\n\r\n  \r\nlast line\r\n"))
    assert (data.format, data.text_column) == ("text", "text")
    assert texts(data) == ["first line", "", "  ", "last line"]  # empty rows stay, for the profiler to count
    assert data.row_numbers == [1, 2, 3, 4]


def test_a_txt_file_of_json_objects_is_read_as_jsonl_with_a_warning(tmp_path: Path) -> None:
    data = read_dataset(write(tmp_path / "export.txt", '{"text": "a b c"}\n{"text": "d e f"}\n'))
    assert data.format == "jsonl" and texts(data) == ["a b c", "d e f"]
    assert any("read export.txt as JSONL" in warning for warning in data.warnings)


def test_uploaded_bytes_are_read_like_a_file() -> None:
    data = read_dataset(b'{"text": "from an upload"}\n', name="upload.jsonl")
    assert (data.name, data.format, texts(data)) == ("upload.jsonl", "jsonl", ["from an upload"])
    assert data.to_dict()["rows"] == 1 and "frame" not in data.to_dict()


def test_iso_dates_in_json_stay_as_written(tmp_path: Path) -> None:
    line = json.dumps({"created_at": "2026-09-01T08:01:00", "day": "2026-09-01", "text": "hello world again"})
    data = read_dataset(write(tmp_path / "a.jsonl", line + "\n"))
    assert data.frame["created_at"][0] == "2026-09-01T08:01:00" and data.frame["day"][0] == "2026-09-01"


# ---------------------------------------------------------------------------------------------- chat


def test_message_content_that_is_not_a_string(tmp_path: Path) -> None:
    parts = [{"type": "text", "text": "look at"}, {"type": "image_url", "image_url": {"url": "x"}}, {"text": "this"}]
    record = {"messages": [{"role": "user", "content": parts}, {"role": "assistant", "content": None}]}
    data = read_dataset(write(tmp_path / "c.jsonl", json.dumps(record) + "\n"))
    assert texts(data) == ["user: look at\nthis\nassistant: "]
    data = read_dataset(write(tmp_path / "c.jsonl", json.dumps(record) + "\n"), chat="message")
    assert texts(data) == ["look at\nthis", ""] and data.frame["role"].tolist() == ["user", "assistant"]


def test_naming_another_column_of_a_chat_file_skips_flattening(tmp_path: Path) -> None:
    lines = [{"topic": "billing question", "messages": [{"role": "user", "content": "hi"}]}] * 2
    path = write(tmp_path / "c.jsonl", "".join(json.dumps(line) + "\n" for line in lines))
    data = read_dataset(path, text_column="topic")
    assert (data.chat, data.text_column, texts(data)) == (None, "topic", ["billing question"] * 2)
    assert "messages" in data.text_columns  # choosing it again flattens
    assert read_dataset(path, text_column="messages").chat == "conversation"


# ---------------------------------------------------------------------------------------------- encodings


def test_utf8_with_a_bom_leaves_no_mark_in_the_first_column_name(tmp_path: Path) -> None:
    data = read_dataset(write(tmp_path / "bom.csv", "\ufefftext,id\ncafé au lait,1\n".encode()))
    assert data.encoding == "utf-8-sig" and list(data.frame.columns) == ["text", "id"]
    assert texts(data) == ["café au lait"] and data.warnings == []


@pytest.mark.parametrize("encoding", ["utf-16", "utf-16-le"])
def test_utf16_with_or_without_a_bom(tmp_path: Path, encoding: str) -> None:
    data = read_dataset(write(tmp_path / "wide.csv", "id,text\n1,crème brûlée\n2,naïve café\n".encode(encoding)))
    assert data.encoding == encoding and texts(data) == ["crème brûlée", "naïve café"]


def test_latin1_is_read_with_a_warning_naming_the_first_bad_line(tmp_path: Path) -> None:
    data = read_dataset(write(tmp_path / "old.txt", "plain line\nun café très chaud\n".encode("latin-1")))
    assert data.encoding == "latin-1" and texts(data) == ["plain line", "un café très chaud"]
    assert len(data.warnings) == 1 and "latin-1" in data.warnings[0] and "line 2" in data.warnings[0]


def test_windows_1252_curly_quotes_are_decoded(tmp_path: Path) -> None:
    data = read_dataset(write(tmp_path / "win.txt", "it’s “quoted” – café\n".encode("cp1252")))
    assert data.encoding == "cp1252" and texts(data) == ["it’s “quoted” – café"]


# ---------------------------------------------------------------------------------------------- malformed


def test_a_malformed_jsonl_line_is_skipped_and_reported_with_its_number(tmp_path: Path) -> None:
    lines = ['{"text": "one"}', '{"text": "two"}', '{"text": "thr', '{"text": "four"}', "[1, 2]", '{"text": "six"}']
    data = read_dataset(write(tmp_path / "bad.jsonl", "\n".join(lines) + "\n"))
    assert texts(data) == ["one", "two", "four", "six"]
    assert [entry["line"] for entry in data.skipped] == [3, 5]
    assert "not valid JSON" in data.skipped[0]["reason"] and "not a JSON object" in data.skipped[1]["reason"]
    assert data.row_numbers == [1, 2, 4, 6]


def test_row_numbers_point_at_the_file_lines_the_rows_came_from(tmp_path: Path) -> None:
    lines = ["", '{"text": "a"}', "", "", '{"text": "b", "n": 1}', "not json", '{"text": "c"}', "  "]
    path = write(tmp_path / "gaps.jsonl", "\n".join(lines))
    data = read_dataset(path)
    file_lines = path.read_text().split("\n")
    for row, number in enumerate(data.row_numbers):
        assert json.loads(file_lines[number - 1])["text"] == data.frame["text"][row]
    assert data.row_numbers == [2, 5, 7] and data.skipped[0]["line"] == 6
    clean = write(tmp_path / "gaps-ok.jsonl", "\n".join(line for line in lines if line != "not json"))
    assert read_dataset(clean).row_numbers == [2, 5, 6]  # the fast path keeps the real line numbers too


def test_a_line_with_a_lone_surrogate_escape_is_skipped(tmp_path: Path) -> None:
    path = write(tmp_path / "s.jsonl", '{"text": "fine \\ud83d\\ude00"}\n{"text": "bad \\ud800"}\n')
    data = read_dataset(path)
    assert texts(data) == ["fine 😀"] and data.skipped[0]["line"] == 2 and "surrogate" in data.skipped[0]["reason"]


def test_a_csv_row_with_too_many_fields_is_skipped_at_its_line(tmp_path: Path) -> None:
    content = 'id,text\n1,"two\nlines"\n2,ok,extra\n3,fine\n4\n'
    data = read_dataset(write(tmp_path / "bad.csv", content))
    assert data.skipped == [{"line": 4, "reason": "3 fields where the header has 2"}]  # the line an editor shows
    assert texts(data) == ["two\nlines", "fine", ""] and data.row_numbers == [1, 3, 4]  # record numbers
    assert data.frame["id"].tolist() == [1, 3, 4]  # the same types as a clean file


def test_a_csv_quote_that_never_closes_is_reported(tmp_path: Path) -> None:
    data = read_dataset(write(tmp_path / "q.csv", 'id,text\n1,fine\n2,"never closed\n3,lost\n'))
    assert texts(data) == ["fine"] and data.skipped[0]["line"] == 3 and "never closed" in data.skipped[0]["reason"]


def test_mixed_values_in_the_text_column_are_profiled_as_text(tmp_path: Path) -> None:
    data = read_dataset(write(tmp_path / "m.jsonl", '{"text": "words here"}\n{"text": 42}\n{"text": null}\n'))
    assert texts(data)[:2] == ["words here", "42"] and pd.isna(texts(data)[2])
    assert any("not text" in warning for warning in data.warnings)


# ---------------------------------------------------------------------------------------------- bad input


def test_binary_files_are_named_for_what_they_are(tmp_path: Path) -> None:
    png = b"\x89PNG\r\n\x1a\n\x00\x00\x00\rIHDR" + bytes(100)
    refused(write(tmp_path / "photo.csv", png), "PNG image")
    archive = io.BytesIO()
    with zipfile.ZipFile(archive, "w") as zipped:
        zipped.writestr("data.csv", "id,text\n1,hello\n")
    refused(write(tmp_path / "data.csv", archive.getvalue()), "ZIP archive", "decompress")
    refused(write(tmp_path / "book.xlsx", archive.getvalue()), "save it as CSV")
    refused(write(tmp_path / "data.jsonl.gz", b"\x1f\x8b\x08\x00" + bytes(50)), "gzip")
    refused(write(tmp_path / "blob.txt", b"ab\x00\x01\x02\x03" * 100), "binary")


def test_bytes_that_are_no_text_in_any_encoding_are_refused(tmp_path: Path) -> None:
    noise = bytes(range(1, 32)) * 20 + bytes(range(128, 160)) * 20  # no NUL, but control bytes throughout
    refused(write(tmp_path / "noise.txt", noise), "not text in UTF-8, UTF-16 or latin-1")
    refused(write(tmp_path / "broken.txt", b"\xff\xfe" + "abc".encode("utf-16-le") + b"\x00\xd8"), "damaged")


def test_empty_files_are_refused(tmp_path: Path) -> None:
    refused(write(tmp_path / "zero.jsonl", b""), "is empty", "0 bytes")
    refused(write(tmp_path / "blank.txt", " \n\t\n"), "is empty", "whitespace")
    refused(write(tmp_path / "header.csv", "id,text\n"), "is empty", "no records")
    refused(write(tmp_path / "list.json", "[]"), "is empty")


def test_a_table_without_text_names_the_columns_it_found(tmp_path: Path) -> None:
    refused(write(tmp_path / "numbers.csv", "id,score\n1,0.5\n2,0.7\n"), "no text column", "id, score")


def test_a_text_column_that_does_not_exist_names_the_columns(tmp_path: Path) -> None:
    path = write(tmp_path / "a.csv", "id,body\n1,some text here\n")
    refused(path, "no column 'text'", "id, body", text_column="text")
    refused(path, "holds no text", text_column="id")


def test_broken_parquet_and_json_are_refused(tmp_path: Path) -> None:
    refused(write(tmp_path / "cut.parquet", b"PAR1" + bytes(range(200)) + b"PAR1"), "not a readable Parquet file")
    refused(write(tmp_path / "renamed.parquet", "id,text\n1,hello\n"), "not a readable Parquet file")
    refused(write(tmp_path / "a.json", '{"text": "unterminated'), "not valid JSON", "line 1")
    refused(write(tmp_path / "one.json", '{"text": "a single record"}'), "single JSON object")


def test_files_where_every_record_is_malformed_are_refused(tmp_path: Path) -> None:
    refused(write(tmp_path / "a.jsonl", "id,text\n1,hello\n2,bye\n"), "None of the 3 lines", "JSON Lines")
    refused(write(tmp_path / "b.csv", "a,b\n1,2,3\n4,5,6\n"), "Every record", "3 fields")


def test_paths_that_are_not_files_are_explained(tmp_path: Path) -> None:
    with pytest.raises(InputError, match="There is no file"):
        read_dataset(tmp_path / "missing.csv")
    with pytest.raises(InputError, match="is a folder"):
        read_dataset(tmp_path)
    with pytest.raises(InputError, match="per 'conversation' or per 'message'"):
        read_dataset(b"x", name="a.txt", chat="turn")


def test_a_file_over_the_limit_is_refused_before_it_is_read(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    path = write(tmp_path / "big.txt", "word " * 200)
    monkeypatch.setattr(Path, "read_bytes", lambda self: pytest.fail("the file was read"))
    message = refused(path, "1,000 bytes", "over the 100 bytes limit", "quality.max_file_mb", max_bytes=100)
    assert message.endswith("raise the limit or split the file.")
    refused(b"x" * 1000, max_bytes=999)


def test_the_limit_comes_from_the_settings(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("PITWALL_QUALITY_MAX_FILE_MB", "1")
    path = write(tmp_path / "big.txt", "word " * 420_000)
    refused(path, "2.0 MB, over the 1.0 MB limit (quality.max_file_mb)")


@pytest.mark.parametrize("suffix", ["jsonl", "csv", "txt"])
def test_a_single_50_mb_row_is_refused_with_the_per_row_limit(tmp_path: Path, suffix: str) -> None:
    text = "word " * 10_000_000
    content = {"jsonl": json.dumps({"text": text}) + "\n", "csv": f'id,text\n1,"{text}"\n', "txt": text + "\n"}
    path = write(tmp_path / f"huge.{suffix}", content[suffix])
    refused(path, "its only row is over the 10 MB per-row limit (quality.max_row_mb)")


def test_a_huge_row_among_documents_is_skipped_and_reported(tmp_path: Path) -> None:
    rows = [{"text": f"an ordinary document number {n} about tents"} for n in range(4)]
    rows.insert(2, {"text": "word " * 2_400_000})  # 12 MB
    path = write(tmp_path / "mixed.jsonl", "".join(json.dumps(row) + "\n" for row in rows))
    data = read_dataset(path)
    assert len(data.frame) == 4 and data.row_numbers == [1, 2, 4, 5]
    assert data.skipped == [{"line": 3, "reason": "a row of 11 MB, over the 10 MB per-row limit (quality.max_row_mb)"}]


# ---------------------------------------------------------------------------------------------- detection


@pytest.mark.parametrize(
    ("name", "head", "expected"),
    [
        ("a.jsonl", b'{"a": 1}\n', "jsonl"),
        ("a.ndjson", b'{"a": 1}\n', "jsonl"),
        ("notes.txt", b'{"a": 1}\n{"a": 2}\n', "jsonl"),
        ("notes.txt", b"just words\nmore words\n", "text"),
        ("a.csv", b"a\tb\n1\t2\n", "tsv"),
        ("a.csv", b"a,b\n1,2\n", "csv"),
        ("export", b'[{"a": 1}]', "json"),
        ("export", b"a\tb\n1\t2\n", "tsv"),
        ("export", b"words and words\n", "text"),
        ("export", b"id,text\n1,hello\n2,bye\n", "csv"),
        ("export", b"Hello, world.\nA line without one\nAnd, again, commas\n", "text"),
        ("a.csv", b"PAR1\x15\x04", "parquet"),
    ],
)
def test_detect_format(name: str, head: bytes, expected: str) -> None:
    assert detect_format(name, head) == expected


def test_candidate_text_columns_rank_prose_before_ids_dates_and_labels() -> None:
    rows = 40
    frame = pd.DataFrame(
        {
            "id": [f"row-{i:04d}" for i in range(rows)],
            "when": ["2026-09-01 08:00:00"] * rows,
            "label": ["good", "bad"] * (rows // 2),
            "title": [f"A short title {i}" for i in range(rows)],
            "score": range(rows),
            "body": [f"A much longer body of text, number {i}, with several words in it." for i in range(rows)],
            "tags": [["a", "b"]] * rows,
            # short rows with two pasted logs: a long mean, a short median
            "reply": [f"ok thanks {i}" for i in range(rows - 2)] + ["a pasted log line " * 1000] * 2,
        }
    )
    ranked = candidate_text_columns(frame)
    assert ranked[:3] == ["body", "title", "reply"]
    assert set(ranked[3:]) == {"id", "when", "label"} and "score" not in ranked and "tags" not in ranked
