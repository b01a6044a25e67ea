"""Eval sets: the demo set, CSV and SQuAD-style files read into prompts with every answer that counts."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from lib.errors import InputError
from lib.evaluation.evalset import read_eval_set
from lib.samples.evalset import qa_eval_rows


def write_jsonl(path: Path, rows: list[dict]) -> Path:
    path.write_text("".join(json.dumps(row) + "\n" for row in rows), encoding="utf-8")
    return path


def test_the_demo_set_reads_with_aliases_as_extra_references(tmp_path: Path) -> None:
    from lib.samples.writer import write_samples

    manifest = write_samples(tmp_path / "samples")
    eval_set = read_eval_set(manifest.to_dict()["files"]["qa_eval"])
    rows = qa_eval_rows()
    assert len(eval_set.items) == len(rows) == 30
    first = eval_set.items[0]
    assert (first.item_id, first.prompt) == ("qa-000", "What is the capital of France?")
    assert first.references == ["Paris", "Paris, France"]  # the reference first, then its alias
    assert eval_set.items[4].references == ["Seven", "7"]
    assert eval_set.prompt_column == "question" and len(eval_set.sha256) == 64


def test_a_csv_with_numbers_and_a_json_list_of_aliases(tmp_path: Path) -> None:
    path = tmp_path / "set.csv"
    path.write_text('input,target,aliases\nHow many continents?,7,"[""seven"", ""7""]"\nWho?,Bob,\n', encoding="utf-8")
    eval_set = read_eval_set(path)
    assert [item.references for item in eval_set.items] == [["7", "seven"], ["Bob"]]  # 7 stays "7", not "7.0"
    assert [item.item_id for item in eval_set.items] == ["row-1", "row-2"]  # no id column: the record number


def test_squad_answers_context_and_a_references_list(tmp_path: Path) -> None:
    path = write_jsonl(
        tmp_path / "squad.jsonl",
        [
            {"id": "a", "context": "Paris is in France.", "question": "Where is Paris?",
             "answers": {"text": ["France", "in France"], "answer_start": [12, 9]}},
            {"id": "b", "question": "Q2", "references": ["x", "y"], "answers": {"text": ["z"]}},
        ],
    )  # fmt: skip
    first, second = read_eval_set(path).items
    assert first.context == "Paris is in France." and first.references == ["France", "in France"]
    assert first.prompt == "Where is Paris?" and second.context is None
    assert second.references == ["x", "y"]  # `references` comes before `answers`


def test_the_first_prompt_column_present_wins(tmp_path: Path) -> None:
    path = write_jsonl(tmp_path / "p.jsonl", [{"instruction": "i", "prompt": "p", "question": "q", "output": "o"}])
    (item,) = read_eval_set(path).items
    assert (item.prompt, item.references) == ("p", ["o"])


def test_repeated_ids_are_told_apart(tmp_path: Path) -> None:
    path = write_jsonl(tmp_path / "dup.jsonl", [{"id": "q", "question": "a", "answer": "1"}] * 2)
    ids = [item.item_id for item in read_eval_set(path).items]
    assert len(set(ids)) == 2 and ids[0] == "q"


def test_a_file_without_a_prompt_column_lists_its_columns(tmp_path: Path) -> None:
    path = write_jsonl(tmp_path / "x.jsonl", [{"text": "hello there", "label": "greeting"}])
    with pytest.raises(InputError, match=r"no prompt column \(columns found: text, label\)") as caught:
        read_eval_set(path)
    assert "\n" not in str(caught.value)


def test_an_item_without_a_reference_names_its_line(tmp_path: Path) -> None:
    path = write_jsonl(tmp_path / "x.jsonl", [{"question": "a", "answer": "b"}, {"question": "c", "answer": ""}])
    with pytest.raises(InputError, match="no reference answer at line 2"):
        read_eval_set(path)
    no_column = write_jsonl(tmp_path / "y.jsonl", [{"question": "a", "label": "b"}])
    with pytest.raises(InputError, match="no reference column"):
        read_eval_set(no_column)


@pytest.mark.parametrize("content", [b"", b"  \n"])
def test_an_empty_file_is_refused(tmp_path: Path, content: bytes) -> None:
    path = tmp_path / "empty.jsonl"
    path.write_bytes(content)
    with pytest.raises(InputError, match="empty"):
        read_eval_set(path)


def test_a_missing_or_binary_file_is_refused_in_one_sentence(tmp_path: Path) -> None:
    with pytest.raises(InputError, match=r"nope\.jsonl"):
        read_eval_set(tmp_path / "nope.jsonl")
    binary = tmp_path / "set.jsonl"
    binary.write_bytes(b"\x89PNG\r\n\x1a\n" + bytes(range(256)))
    with pytest.raises(InputError, match="PNG image"):
        read_eval_set(binary)
