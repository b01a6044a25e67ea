"""Duplicate groups as stored with a run, for the page's side-by-side cluster browser.

A near-duplicate cluster whose members are all exact copies of one text is shown once, as an exact
group; the rest show each member's similarity to the cluster's first row (MinHash estimate).
"""

from __future__ import annotations

import difflib

from lib.quality.profile import ProfileResult

CLUSTERS_KEPT = 200  # the largest groups of each kind; the counts in the summary cover all of them
MEMBERS_KEPT = 20


def duplicate_groups(result: ProfileResult, limit: int = CLUSTERS_KEPT) -> list[dict]:
    """The largest near-duplicate clusters and exact groups: frame rows, file rows and similarities."""
    groups = []
    for cluster in result.near_clusters()[:limit]:
        members = cluster[:MEMBERS_KEPT]
        first = members[0]
        groups.append(
            {
                "kind": "near",
                "size": len(cluster),
                "rows": members,
                "file_rows": [result.row_number(row) for row in members],
                "similarity": [
                    1.0 if row == first else round(float(result.near.similarity.get((first, row), float("nan"))), 3)
                    for row in members
                ],
                "exact": [bool(result.exact.first_of[row] >= 0) for row in members],
            }
        )
    for group in result.exact.groups[:limit]:
        members = group[:MEMBERS_KEPT]
        groups.append(
            {
                "kind": "exact",
                "size": len(group),
                "rows": members,
                "file_rows": [result.row_number(row) for row in members],
                "similarity": [1.0] * len(members),
                "exact": [index > 0 for index in range(len(members))],
            }
        )
    return groups


def word_diff(first: str, other: str) -> list[tuple[str, str]]:
    """What changed from `first` to `other`, word by word: ("same" | "removed" | "added", text) pieces."""
    a, b = first.split(" "), other.split(" ")
    pieces: list[tuple[str, str]] = []
    for op, a0, a1, b0, b1 in difflib.SequenceMatcher(None, a, b, autojunk=False).get_opcodes():
        if op == "equal":
            pieces.append(("same", " ".join(a[a0:a1])))
            continue
        if a1 > a0:
            pieces.append(("removed", " ".join(a[a0:a1])))
        if b1 > b0:
            pieces.append(("added", " ".join(b[b0:b1])))
    return pieces
