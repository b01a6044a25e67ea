"""The demo data: seeded, well-formed, and each planted problem really is where the manifest says."""

from __future__ import annotations

import difflib
import json
import re
import subprocess
import sys
from pathlib import Path

import pandas as pd
import pytest

from lib.samples import write_samples
from tests.helpers import ROOT, run_cli

EMAIL = re.compile(r"[\w.+-]+@[\w-]+\.[\w.]+")
HTML = re.compile(r"<(p|div|a|br|html|b|script)\b", re.I)
DIGIT_RUN = re.compile(r"\d[\d ]{11,22}\d")


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
    result = run_cli("samples", "write", str(tmp_path / "demo"), "--json")
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
    result = run_cli("samples", "write")
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
