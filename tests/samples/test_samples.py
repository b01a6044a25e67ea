"""The demo data: seeded, well-formed, and each planted problem really is where the manifest says."""

from __future__ import annotations

import difflib
import json
import re
import subprocess
import sys
from collections import Counter
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from lib.quality.dedup import duplicates
from lib.quality.normalize import normalize
from lib.samples import write_samples
from lib.samples.support import (
    CONVERSATION_CHARS,
    COPY_COUNTS,
    NEAR_COPY_FLOOR,
    PLANTED_COUNTS,
    SEPARATION,
    USER_CHARS,
    _Separation,
    close_pairs,
    conversation_text,
    generate_support_dataset,
    jaccard,
    shingles,
)
from tests.helpers import ROOT, cli_in_process

EMAIL = re.compile(r"[\w.+-]+@[\w-]+\.[\w.]+")
HTML = re.compile(r"<(p|div|a|br|html|b|script)\b", re.I)
DIGIT_RUN = re.compile(r"\d[\d ]{11,22}\d")
PLANTED_PII = {"email": 45, "phone": 40, "credit_card": 20, "iban": 0, "ip": 0, "ssn": 0, "secret": 0}


def luhn_valid(number: str) -> bool:
    digits = [int(c) for c in number if c.isdigit()]
    checksum = sum(digits[-1::-2]) + sum(sum(divmod(2 * d, 10)) for d in digits[-2::-2])
    return 13 <= len(digits) <= 19 and checksum % 10 == 0


@pytest.fixture(scope="module")
def samples(tmp_path_factory: pytest.TempPathFactory):
    folder = tmp_path_factory.mktemp("samples")
    manifest = write_samples(folder)
    planted = json.loads((folder / "manifest.json").read_text())
    frame = pd.read_csv(folder / "support_conversations.csv", keep_default_na=False)
    return folder, manifest, planted, frame


def test_the_same_seed_writes_the_same_bytes_and_another_seed_does_not(tmp_path: Path, samples) -> None:
    folder, *_ = samples
    write_samples(tmp_path / "again")
    write_samples(tmp_path / "other", seed=8)
    name = "support_conversations.jsonl"
    assert (tmp_path / "again" / name).read_bytes() == (folder / name).read_bytes()
    assert (tmp_path / "other" / name).read_bytes() != (folder / name).read_bytes()


def test_jsonl_is_openai_chat_format_and_matches_the_csv(samples) -> None:
    folder, manifest, _, frame = samples
    lines = (folder / "support_conversations.jsonl").read_text(encoding="utf-8").splitlines()
    assert len(lines) == len(frame) == manifest.conversations >= 3000
    for line, (_, row) in zip(lines, frame.iterrows(), strict=True):
        messages = json.loads(line)["messages"]
        assert [m["role"] for m in messages] == ["system", "user", "assistant"]
        assert messages[1]["content"] == row.user_message
        assert messages[2]["content"] == row.assistant_reply


def test_duplicates_are_copies_of_their_originals(samples) -> None:
    _, _, planted, frame = samples
    text = (frame.user_message + "\n" + frame.assistant_reply).tolist()
    for index in planted["planted"]["exact_duplicate"]:
        assert text[index] == text[planted["duplicate_of"][str(index)]]
    for index in planted["planted"]["near_duplicate"]:
        original = text[planted["duplicate_of"][str(index)]]
        assert text[index] != original
        assert difflib.SequenceMatcher(None, text[index], original).ratio() > 0.9


def test_pii_html_empty_long_and_outlier_rows_are_where_the_manifest_says(samples) -> None:
    _, _, planted, frame = samples
    rows = planted["planted"]
    users, replies = frame.user_message.tolist(), frame.assistant_reply.tolist()
    assert all(EMAIL.search(users[i]) for i in rows["email"])
    assert all(any(luhn_valid(m) for m in DIGIT_RUN.findall(users[i])) for i in rows["card_number"])
    assert all(HTML.search(replies[i]) for i in rows["html"])
    assert all(len(users[i]) > 10_000 for i in rows["very_long"])
    assert all(not users[i].strip() or not replies[i].strip() for i in rows["empty"])
    seconds = frame.response_seconds.astype(float)
    typical = seconds.drop(rows["response_time_outlier"])
    assert all(not typical.min() <= seconds[i] <= typical.max() for i in rows["response_time_outlier"])


def test_rows_without_planted_problems_are_clean(samples) -> None:
    _, _, planted, frame = samples
    dirty = {i for rows in planted["planted"].values() for i in rows}
    dirty |= {v for v in planted["duplicate_of"].values()}
    for i, row in frame.iterrows():
        if i in dirty:
            continue
        assert row.user_message.strip() and row.assistant_reply.strip()
        assert not EMAIL.search(row.user_message) and not HTML.search(row.assistant_reply)
        assert len(row.user_message) < 1000


def test_the_qa_set_has_questions_with_references(samples) -> None:
    folder, manifest, _, _ = samples
    items = [json.loads(line) for line in (folder / "qa_eval.jsonl").read_text().splitlines()]
    assert len(items) == manifest.qa_items >= 25
    assert len({item["id"] for item in items}) == len(items)
    assert all(item["question"].endswith("?") and item["reference"] for item in items)


def test_the_cli_writes_the_samples(tmp_path: Path) -> None:
    result = cli_in_process("samples", "write", str(tmp_path / "demo"), "--json")
    assert result.returncode == 0, result.stderr
    manifest = json.loads(result.stdout)
    assert Path(manifest["files"]["conversations_jsonl"]).is_file()
    assert manifest["planted"]["exact_duplicate"] > 0


def test_an_unwritable_target_is_one_sentence_and_keeps_the_old_files(tmp_path: Path) -> None:
    from lib.errors import InputError

    write_samples(tmp_path)
    old_manifest = (tmp_path / "manifest.json").read_bytes()
    (tmp_path / "qa_eval.jsonl").unlink()
    (tmp_path / "qa_eval.jsonl").mkdir()  # something in the way
    with pytest.raises(InputError, match="Could not write the demo data"):
        write_samples(tmp_path, seed=8)
    assert (tmp_path / "manifest.json").read_bytes() == old_manifest
    assert not list(tmp_path.glob(".*.tmp"))


def test_the_cli_writes_to_pitwall_home_by_default(pitwall_home: Path) -> None:
    result = cli_in_process("samples", "write")
    assert result.returncode == 0, result.stderr
    assert (pitwall_home / "samples" / "manifest.json").is_file()


CONCURRENT_WRITER = """
import sys
from lib.samples import write_samples
for _ in range(6):
    write_samples(sys.argv[1], seed=int(sys.argv[2]))
"""


def test_two_writers_at_once_both_succeed_and_leave_one_seeds_files(tmp_path: Path) -> None:
    # Two users pressing "Load demo data" together: with one fixed temporary name per file the
    # writers renamed each other's files away and failed, or left files of two seeds side by side.
    folder = tmp_path / "shared"
    writers = [
        subprocess.Popen(
            [sys.executable, "-c", CONCURRENT_WRITER, str(folder), seed], cwd=ROOT, stderr=subprocess.PIPE, text=True
        )
        for seed in ("7", "8")
    ]
    for writer in writers:
        _, stderr = writer.communicate(timeout=180)
        assert writer.returncode == 0, stderr
    seed = json.loads((folder / "manifest.json").read_text())["seed"]
    reference = write_samples(tmp_path / "reference", seed=seed)
    for name in ("support_conversations.jsonl", "support_conversations.csv", "help_centre.txt"):
        assert (folder / name).read_bytes() == (Path(reference.folder) / name).read_bytes(), name
    assert not [p.name for p in folder.iterdir() if p.name.endswith(".tmp")]


# ---------------------------------------------------------------------------------- no accidental duplicates


@pytest.fixture(scope="module")
def dataset():
    return generate_support_dataset()


def base_rows(dataset) -> list:
    """The rows that are not planted copies: every one must be unlike every other."""
    copies = set(dataset.planted["exact_duplicate"]) | set(dataset.planted["near_duplicate"])
    return [row for index, row in enumerate(dataset.rows) if index not in copies]


def brute_force_pairs(sets: list[frozenset], limit: float) -> list[tuple[int, int]]:
    return [(i, j) for i in range(len(sets)) for j in range(i + 1, len(sets)) if jaccard(sets[i], sets[j]) > limit]


def test_no_two_rows_but_the_planted_copies_are_alike(dataset) -> None:
    rows = base_rows(dataset)
    for view in (conversation_text, lambda row: row.user):
        texts = [view(row) for row in rows]
        assert close_pairs(word_ids(texts), SEPARATION) == []
        # The profiler's own MinHash, at a threshold between the separation and its default 0.7, agrees.
        exact, near = duplicates(texts, threshold=0.6)
        assert exact.count == 0 and near.clusters == []


@pytest.mark.parametrize("limit", [0.2, 0.35, 0.5])
def test_close_pairs_finds_what_comparing_every_pair_finds(dataset, limit: float) -> None:
    rows = base_rows(dataset)[:300]
    texts = [conversation_text(row) for row in rows] + [rows[k].user for k in range(0, 300, 3)]
    texts += [texts[5], texts[7] + " Thanks!", "", "a b c", "a b c"]  # a copy, an edit, empty and short rows
    expected = brute_force_pairs([shingles(text) for text in texts], limit)
    assert close_pairs(word_ids(texts), limit) == expected
    among = {5, 17, len(texts) - 4, len(texts) - 1}
    assert close_pairs(word_ids(texts), limit, among) == [pair for pair in expected if set(pair) & among]
    assert (5, len(texts) - 5) in expected and (len(texts) - 2, len(texts) - 1) in expected


def test_a_recheck_after_rows_change_finds_what_a_full_check_finds(dataset) -> None:
    rows = base_rows(dataset)[:400]
    texts = [conversation_text(row) for row in rows]
    words = word_ids([*texts, texts[3] + " Cheers!", texts[9], texts[200]])
    check = _Separation(words[:400], 0.3)
    assert check.pairs == brute_force_pairs([shingles(text) for text in texts], 0.3)
    # Rows 10 and 11 become copies of rows 3 (with a word added) and 9; then row 12 becomes row 200.
    texts[10], texts[11] = texts[3] + " Cheers!", texts[9]
    found = check.recheck({10: words[400], 11: words[401]})
    assert found == [pair for pair in brute_force_pairs([shingles(t) for t in texts], 0.3) if set(pair) & {10, 11}]
    assert (3, 10) in found and (9, 11) in found
    texts[12] = texts[200]
    found = check.recheck({12: words[402]})
    assert found == [pair for pair in brute_force_pairs([shingles(t) for t in texts], 0.3) if 12 in pair]
    assert (12, 200) in found


def test_near_copies_differ_from_their_source_but_stay_above_the_profilers_threshold(dataset) -> None:
    for index in dataset.planted["near_duplicate"]:
        copy, source = dataset.rows[index], dataset.rows[dataset.duplicate_of[index]]
        assert normalize(copy.assistant) != normalize(source.assistant)
        assert jaccard(shingles(conversation_text(copy)), shingles(conversation_text(source))) >= NEAR_COPY_FLOOR
    sources = list(dataset.duplicate_of.values())
    assert len(set(sources)) == len(sources)  # each copy has its own source


def test_each_problem_is_planted_on_its_own_rows_in_the_documented_numbers(dataset) -> None:
    assert {name: len(rows) for name, rows in dataset.planted.items()} == PLANTED_COUNTS | COPY_COUNTS
    rows = [row for found in dataset.planted.values() for row in found]
    assert len(rows) == len(set(rows))
    sources = set(dataset.duplicate_of.values())
    assert not sources & set(rows)  # copies are made of clean rows
    assert sorted(Counter(dataset.languages.values()).values()) == [6] * 5
    assert set(dataset.languages) == set(dataset.planted["non_english"])


def test_every_row_but_the_pasted_logs_keeps_to_the_length_band(dataset) -> None:
    long_rows = set(dataset.planted["very_long"])
    for index, row in enumerate(dataset.rows):
        if index not in long_rows:
            assert CONVERSATION_CHARS[0] <= len(conversation_text(row)) <= CONVERSATION_CHARS[1], index
            assert not row.user.strip() or USER_CHARS[0] <= len(row.user) <= USER_CHARS[1], index
    assert all(len(dataset.rows[index].user) > 10 * USER_CHARS[1] for index in long_rows)


def test_the_manifest_expects_what_was_planted(samples) -> None:
    _, _, manifest, frame = samples
    planted = {name: len(rows) for name, rows in manifest["planted"].items()}
    conversations = manifest["expected"]["support_conversations.jsonl"]
    users = manifest["expected"]["support_conversations.csv"]
    assert conversations["exact_duplicates"] == planted["exact_duplicate"] == 60
    assert conversations["near_duplicates"] == planted["near_duplicate"] == 90
    assert conversations["empty_parts"] == planted["empty"] and conversations["empty"] == 0
    assert conversations["markup"]["html"] == planted["html"] and conversations["length_outliers"] == 10
    assert conversations["non_english"] == users["non_english"] == planted["non_english"] == 30
    assert users["exact_duplicates"] == 150 and users["near_duplicates"] == 0
    assert users["empty"] == sum(1 for text in frame.user_message if not text.strip())
    assert users["numeric_outliers"] == {"response_seconds": planted["response_time_outlier"]}
    for expected in (conversations, users):
        assert expected["rows"] == manifest["rows"] == 3150
        assert expected["pii"] == PLANTED_PII
        assert sum(expected["languages"].values()) == 3150 - expected["empty"]
        assert all(name in manifest["planted"] for names in expected["findings"].values() for name in names)


def word_ids(texts: list[str]) -> list[np.ndarray]:
    vocabulary: dict[str, int] = {}
    return [
        np.array([vocabulary.setdefault(w, len(vocabulary)) for w in normalize(t).split()], dtype=np.int64)
        for t in texts
    ]
