"""Duplicate groups kept with a run and the word diff the cluster browser marks."""

from __future__ import annotations

from lib.quality.clusters import duplicate_groups, word_diff
from lib.quality.profile import ProfileOptions, profile
from lib.quality.readers import read_dataset

BASE = "my order NW-123456 has not arrived yet and the tracking page has not changed since last Monday morning"


def test_groups_name_file_rows_and_mark_exact_copies() -> None:
    lines = [BASE, "something else entirely about a tent that leaks in the rain", BASE, BASE + " thanks"]
    dataset = read_dataset("\n".join(lines).encode(), "rows.txt")
    result = profile(dataset, ProfileOptions(sample_rows=100))
    groups = duplicate_groups(result)
    near = next(group for group in groups if group["kind"] == "near")
    assert near["file_rows"] == [1, 3, 4] and near["exact"] == [False, True, False]
    assert near["similarity"][0] == 1.0 and 0.7 <= near["similarity"][2] < 1.0
    exact = next(group for group in groups if group["kind"] == "exact")
    assert exact["file_rows"] == [1, 3] and exact["size"] == 2


def test_the_word_diff_marks_what_was_dropped_and_added() -> None:
    assert word_diff("we will ship it today", "we ship it today, thanks") == [
        ("same", "we"), ("removed", "will"), ("same", "ship it"), ("removed", "today"), ("added", "today, thanks"),
    ]  # fmt: skip
