"""Documents files for documents-mode perplexity (TXT, JSONL, CSV), and the `evaluate` perplexity metric."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from lib.errors import InputError
from lib.evaluation.documents import read_documents


def test_a_text_file_is_one_document_a_line_without_blank_lines(tmp_path: Path) -> None:
    path = tmp_path / "docs.txt"
    path.write_text("First document.\n\n   \nSecond one, with a comma.\n")
    assert read_documents(path) == ["First document.", "Second one, with a comma."]


def test_jsonl_takes_the_text_column_or_the_one_named(tmp_path: Path) -> None:
    path = tmp_path / "docs.jsonl"
    path.write_text('{"text": "one", "body": "uno"}\n{"text": "two", "body": "dos"}\n{"text": "", "body": "tres"}\n')
    assert read_documents(path) == ["one", "two"]  # a blank value is not a document
    assert read_documents(path, "body") == ["uno", "dos", "tres"]


def test_jsonl_whose_lines_are_strings_is_one_document_a_line(tmp_path: Path) -> None:
    path = tmp_path / "docs.jsonl"
    path.write_text("\n".join(json.dumps(s) for s in ["a first one", "line two\nhas a newline", "  "]))
    assert read_documents(path) == ["a first one", "line two\nhas a newline"]


def test_csv_takes_the_text_column_and_names_the_columns_when_it_is_missing(tmp_path: Path) -> None:
    path = tmp_path / "docs.csv"
    path.write_text('id,text,body\n1,"Hello, world",x\n2,Second,y\n')
    assert read_documents(path) == ["Hello, world", "Second"]
    with pytest.raises(InputError, match=r"^docs.csv has no column 'content'; choose one of: id, text, body\.$"):
        read_documents(path, "content")


@pytest.mark.parametrize(
    ("name", "content", "message"),
    [
        ("empty.txt", "\n  \n", "has no documents in it"),
        ("nothing.csv", "id,text\n1,\n", "has no documents in it"),
        ("missing.jsonl", None, "There is no file"),
        ("cols.txt", "a line\n", "has no columns to choose"),
    ],
)
def test_unusable_files_are_one_sentence(tmp_path: Path, name: str, content: str | None, message: str) -> None:
    path = tmp_path / name
    if content is not None:
        path.write_text(content)
    with pytest.raises(InputError, match=message):
        read_documents(path, "text" if name == "cols.txt" else None)


def test_the_evaluate_metric_returns_corpus_and_per_text_figures(tiny_model_dir: str) -> None:
    import evaluate

    from lib.evaluation.perplexity import score_documents
    from lib.models import load_model

    metric = evaluate.load(str(Path("lib/evaluation/metrics/perplexity").resolve()))
    texts = ["The printer is out of toner again.", "Hi", "Reset your password from the sign-in page."]
    out = metric.compute(predictions=texts, model_id=tiny_model_dir, max_length=64, dtype="float32")
    expected = score_documents(load_model(tiny_model_dir, dtype="float32"), texts, 64)
    assert out["perplexity"] == pytest.approx(expected.perplexity, rel=1e-6)
    assert out["perplexities"][1] is None  # one token: not scored
    assert out["perplexities"][0] == pytest.approx(expected.documents[0].perplexity, rel=1e-6)
    assert out["bits_per_byte"] == pytest.approx(expected.bits_per_byte, rel=1e-6)
    assert out["word_perplexity"] == pytest.approx(expected.word_perplexity, rel=1e-6)
