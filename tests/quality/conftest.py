"""Shared by the data quality tests: the demo files and manifest, and the conversations as the profiler sees them."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from lib.samples import write_samples


@pytest.fixture(scope="module")
def demo_folder(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, dict]:
    """The demo files, written once for the module, and their manifest."""
    folder = tmp_path_factory.mktemp("samples")
    write_samples(folder)
    return folder, json.loads((folder / "manifest.json").read_text(encoding="utf-8"))


@pytest.fixture(scope="module")
def demo(demo_folder: tuple[Path, dict]) -> tuple[list[str], dict]:
    """Each demo conversation's messages joined as "role: content" lines, and the manifest of planted rows."""
    folder, manifest = demo_folder
    with (folder / "support_conversations.jsonl").open(encoding="utf-8") as handle:
        rows = [json.loads(line) for line in handle]
    texts = ["\n".join(f"{m['role']}: {m['content']}" for m in row["messages"]) for row in rows]
    return texts, manifest
