"""Documents mode over two torch.distributed ranks (gloo, CPU) gives the single-process corpus figure."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

from lib.evaluation.distributed import shard_by_tokens
from lib.samples.evalset import help_centre_text
from tests.helpers import ROOT


def test_shards_balance_tokens_and_cover_every_document_once() -> None:
    lengths = [500, 20, 300, 300, 10, 200, 5]
    shards = shard_by_tokens(lengths, 2)
    assert sorted(i for shard in shards for i in shard) == list(range(7))
    loads = [sum(lengths[i] for i in shard) for shard in shards]
    assert max(loads) - min(loads) <= max(lengths)


def test_two_ranks_equal_one_process(tiny_model_dir: str, tmp_path: Path) -> None:
    from lib.evaluation.perplexity import score_documents
    from lib.models import load_model

    texts = [help_centre_text(entries=2), "Hi", "The printer is out of toner.", help_centre_text(entries=1)[:400]]
    texts += [f"Ticket {i}: the VPN drops every {i} minutes on the office network." for i in range(5)]
    dataset = tmp_path / "docs.jsonl"
    dataset.write_text("\n".join(json.dumps({"text": t}) for t in texts))
    command = [
        sys.executable, "-m", "torch.distributed.run", "--standalone", "--nproc-per-node", "2",
        "-m", "lib.evaluation.distributed", "--model", tiny_model_dir, "--dataset", str(dataset),
        "--max-length", "128", "--stride", "64", "--dtype", "float32", "--json",
    ]  # fmt: skip
    env = {**os.environ, "OMP_NUM_THREADS": "1", "PYTHONPATH": str(ROOT)}
    done = subprocess.run(command, cwd=ROOT, capture_output=True, text=True, timeout=240, env=env)
    assert done.returncode == 0, done.stderr[-3000:]
    lines = [line for line in done.stdout.splitlines() if line.startswith("{")]
    assert len(lines) == 1  # rank 0 alone prints
    out = json.loads(lines[0])
    single = score_documents(load_model(tiny_model_dir, dtype="float32"), texts, 128, 64)
    assert out["world_size"] == 2
    assert (out["tokens"], out["bytes"], out["words"]) == (single.tokens, single.bytes, single.words)
    assert (out["documents_scored"], out["documents_skipped"]) == (len(texts) - 1, 1)
    for key in ("perplexity", "bits_per_byte", "word_perplexity"):
        assert out[key] == pytest.approx(getattr(single, key), rel=1e-6)
