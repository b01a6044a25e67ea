"""Shared by the data quality tests: the demo conversations as the profiler sees them, and their manifest."""

from __future__ import annotations

import json

import pytest

from lib.samples import write_samples


@pytest.fixture(scope="module")
def demo(tmp_path_factory: pytest.TempPathFactory) -> tuple[list[str], dict]:
    """Each demo conversation's messages joined as "role: content" lines, and the manifest of planted rows."""
    folder = tmp_path_factory.mktemp("samples")
    write_samples(folder)
    with (folder / "support_conversations.jsonl").open(encoding="utf-8") as handle:
        rows = [json.loads(line) for line in handle]
    texts = ["\n".join(f"{m['role']}: {m['content']}" for m in row["messages"]) for row in rows]
    manifest = json.loads((folder / "manifest.json").read_text(encoding="utf-8"))
    return texts, manifest
