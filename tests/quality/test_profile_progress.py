"""The profile as a job sees it: progress that only grows, often enough to stop it, and a clean stop."""

from __future__ import annotations

import itertools
import json
import threading

import numpy as np
import pyarrow as pa
import pytest

from lib.jobs.model import JobCancelled
from lib.quality import dedup
from lib.quality import profile as profile_module
from lib.quality.dedup import duplicates
from lib.quality.heuristics import apply_heuristics
from lib.quality.language import detect_languages
from lib.quality.markup import find_markup
from lib.quality.pii import find_pii
from lib.quality.profile import ProfileOptions, TextColumn, profile
from lib.quality.readers import read_dataset


@pytest.fixture(scope="module")
def dataset(demo):
    """The demo conversations as a JSONL upload, plus a few empty rows (about 3,200 rows)."""
    texts, _manifest = demo
    lines = [json.dumps({"text": text}) for text in texts] + [json.dumps({"text": value}) for value in ("", "  ")]
    return read_dataset(("\n".join(lines) + "\n").encode(), "demo.jsonl")


@pytest.fixture
def small_blocks(monkeypatch):
    """Blocks and sample chunks of a few hundred rows, so a small dataset makes many tasks."""
    monkeypatch.setattr(profile_module, "BLOCK_ROWS", 200)
    monkeypatch.setattr(profile_module, "LANGUAGE_ROWS", 300)
    monkeypatch.setattr(profile_module, "TOKEN_ROWS", 300)


def comparable(result) -> dict:
    data = result.to_dict()
    data.pop("seconds")
    data["row_languages"] = result.row_languages
    data["pii_rows"] = result.pii.to_dict()
    data["heuristic_rows"] = result.heuristics.to_dict()
    data["clusters"] = result.near.to_dict()
    return data


def test_progress_only_grows_reaches_the_total_and_comes_per_block(dataset, small_blocks):
    calls: list[tuple[int, int, str]] = []
    result = profile(dataset, ProfileOptions(sample_rows=1_000), lambda *call: calls.append(call))
    done = [call[0] for call in calls]
    totals = {call[1] for call in calls}
    assert len(totals) == 1 and calls[0][0] == 0 and calls[-1] == (calls[-1][1], calls[-1][1], "done")
    assert all(later >= earlier for earlier, later in itertools.pairwise(done))
    blocks = -(-len(result.texts) // 200)
    steps = [call[2] for call in calls]
    assert steps.count("lengths") >= blocks and steps.count("duplicates, PII, markup and heuristics") == blocks
    assert steps.count("languages (sample)") == -(-1_000 // 300)
    assert "near-duplicate clusters" in steps
    # Every block moves the count forward: no stretch of work without a visible step.
    assert len(set(done)) >= 2 * blocks


def test_blocks_and_threads_change_nothing_in_the_result(dataset, small_blocks, monkeypatch):
    small = comparable(profile(dataset, ProfileOptions(sample_rows=1_000)))
    monkeypatch.setattr(profile_module, "BLOCK_ROWS", 1_000_000)
    monkeypatch.setattr(profile_module, "WORKERS", 1)
    whole = comparable(profile(dataset, ProfileOptions(sample_rows=1_000)))
    assert small == whole


def test_the_blockwise_checks_equal_the_checks_on_the_whole_column(dataset, small_blocks):
    result = profile(dataset, ProfileOptions(sample_rows=10_000))
    texts = list(result.texts)
    exact, near = duplicates(texts, 0.7)
    assert result.exact.first_of.tolist() == exact.first_of.tolist() and result.near.clusters == near.clusters
    assert result.pii.to_dict() == find_pii(texts).to_dict()
    assert result.markup.to_dict() == find_markup(texts).to_dict()
    assert result.heuristics.to_dict() == apply_heuristics(texts).to_dict()
    filled = [row for row, text in enumerate(texts) if text and text.strip()]
    assert list(result.row_languages) == filled
    assert list(result.row_languages.values()) == detect_languages([texts[row] for row in filled])


@pytest.mark.parametrize(
    "stop_at",
    ["lengths", "duplicates, PII, markup and heuristics", "languages (sample)", "near-duplicate clusters", "done"],
)
def test_a_callback_that_raises_stops_the_profile_and_leaves_nothing_running(
    dataset, small_blocks, monkeypatch, stop_at
):
    monkeypatch.setattr(dedup, "PARALLEL_ROWS", 1)  # clustering on its own threads too, even for a small dataset
    before = set(threading.enumerate())
    seen: list[str] = []

    def progress(done: int, total: int, step: str) -> None:
        seen.append(step)
        if step == stop_at and seen.count(step) == 2 - (step == "done"):
            raise JobCancelled(7)

    with pytest.raises(JobCancelled):
        profile(dataset, ProfileOptions(sample_rows=1_000), progress)
    assert set(threading.enumerate()) <= before  # every worker thread joined before the exception left
    if stop_at != "done":
        assert "done" not in seen


def test_an_error_in_a_check_leaves_the_profile_at_once_and_stops_the_other_blocks(dataset, small_blocks, monkeypatch):
    calls = {"n": 0}
    real = profile_module.find_pii

    def failing(texts):
        calls["n"] += 1
        if calls["n"] == 3:
            raise RuntimeError("broken check")
        return real(texts)

    monkeypatch.setattr(profile_module, "find_pii", failing)
    before = set(threading.enumerate())
    with pytest.raises(RuntimeError, match="broken check"):
        profile(dataset, ProfileOptions(sample_rows=1_000))
    assert set(threading.enumerate()) <= before
    assert calls["n"] < -(-len(dataset.frame) // 200)  # the blocks not started were dropped


def test_the_text_column_reads_like_a_list():
    column = TextColumn(pa.chunked_array([["a", None], ["c", "déjà vu"]], type=pa.large_string()))
    assert len(column) == 4 and column[0] == "a" and column[1] is None and column[-1] == "déjà vu"
    assert column[1:3] == [None, "c"] and list(column) == ["a", None, "c", "déjà vu"]
    assert column == ["a", None, "c", "déjà vu"] and column.take([3, 0]) == ["déjà vu", "a"]
    with pytest.raises(IndexError):
        column[4]


def test_the_cpu_time_of_each_kind_of_work_is_kept(dataset):
    result = profile(dataset, ProfileOptions(sample_rows=1_000))
    assert {"lengths", "checks", "languages", "clusters"} <= set(result.step_seconds)
    assert all(np.isfinite(seconds) and seconds >= 0 for seconds in result.step_seconds.values())
