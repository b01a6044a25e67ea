"""Prompts for load tests: read from text, JSONL, JSON and CSV files, or made up at a length."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from lib.errors import InputError
from lib.latency.prompts import load_prompts, synthetic_prompts


def write(tmp_path: Path, name: str, content: str | bytes) -> Path:
    path = tmp_path / name
    if isinstance(content, bytes):
        path.write_bytes(content)
    else:
        path.write_text(content, encoding="utf-8")
    return path


def test_a_text_file_is_one_prompt_a_line_skipping_blanks(tmp_path: Path) -> None:
    path = write(tmp_path, "prompts.txt", "What is 2+2?\n\n  Name a colour.  \n\n")
    assert load_prompts(path) == ["What is 2+2?", "Name a colour."]


def test_jsonl_takes_the_prompt_column_or_the_last_user_message(tmp_path: Path) -> None:
    rows = [
        {"id": 1, "prompt": "first"},
        {"Question": "second", "answer": "x"},
        {"messages": [{"role": "system", "content": "be brief"}, {"role": "user", "content": "third"},
                      {"role": "assistant", "content": "ok"}, {"role": "user", "content": "fourth"}]},
        "fifth",
    ]  # fmt: skip
    path = write(tmp_path, "chat.jsonl", "\n".join(json.dumps(row) for row in rows) + "\n\n")
    assert load_prompts(path) == ["first", "second", "fourth", "fifth"]


def test_a_json_array_and_a_csv_with_a_text_column_are_read(tmp_path: Path) -> None:
    array = write(tmp_path, "set.json", json.dumps([{"input": "a"}, {"input": "b"}]))
    assert load_prompts(array) == ["a", "b"]
    table = write(tmp_path, "set.csv", 'id,text\n1,"Hello, world"\n2,"line one\nline two"\n')
    assert load_prompts(table) == ["Hello, world", "line one\nline two"]


@pytest.mark.parametrize(
    ("name", "content", "says"),
    [
        ("empty.txt", "", "is empty"),
        ("blank.txt", "\n  \n\n", "no prompts"),
        ("data.txt", b"\x00\x01\x02binary\x00", "binary"),
        ("odd.jsonl", '{"body": "x", "id": 3}\n', "found: body, id"),
        ("odd.csv", "a,b\n1,2\n", "found: a, b"),
        ("broken.jsonl", '{"prompt": "ok"}\n{"prompt": \n', "Line 2"),
    ],
)
def test_an_unusable_file_is_refused_with_one_sentence(tmp_path: Path, name: str, content, says: str) -> None:
    with pytest.raises(InputError) as raised:
        load_prompts(write(tmp_path, name, content))
    message = str(raised.value)
    assert says in message and message.endswith(".") and "\n" not in message


def test_synthetic_prompts_have_the_asked_length_and_all_differ() -> None:
    prompts = synthetic_prompts(50, 40, seed=3)
    assert len(prompts) == 50 and len(set(prompts)) == 50
    assert all(len(prompt.split()) == 40 for prompt in prompts)
    # no shared opening: a server's prefix cache must not make the prompts trivial
    assert len({" ".join(prompt.split()[:3]) for prompt in prompts}) > 45
    assert synthetic_prompts(50, 40, seed=3) == prompts
    assert synthetic_prompts(50, 40, seed=4) != prompts


class TwoTokensAWord:
    """A stand-in tokenizer: every word is two tokens (its halves)."""

    def encode(self, text: str, add_special_tokens: bool = True) -> list[str]:
        return [half for word in text.split() for half in (word[: len(word) // 2], word[len(word) // 2 :] + " ")]

    def decode(self, ids: list[str]) -> str:
        return "".join(ids)


def test_with_a_tokenizer_the_prompts_are_trimmed_to_the_token_count() -> None:
    tokenizer = TwoTokensAWord()
    prompts = synthetic_prompts(10, 31, tokenizer=tokenizer)
    assert all(len(tokenizer.encode(prompt)) in (31, 32) for prompt in prompts)  # a cut word re-encodes as 2
    assert len(set(prompts)) == 10
