"""Documents-mode perplexity sharded over `torch.distributed` ranks; rank 0 prints the one corpus result.

    python -m torch.distributed.run --nproc-per-node 2 -m lib.evaluation.distributed \\
        --model SPEC --dataset docs.jsonl [--text-column C] [--max-length L] [--stride S] [--json]

gloo on CPUs, nccl on CUDA (one GPU per rank, by LOCAL_RANK). Every rank reads and tokenises the whole
file (cheap next to scoring) so all ranks agree on the shards without talking; documents go, longest
first, to the rank with the fewest tokens so far. Each rank scores its shard; rank 0 gathers the
per-document (nll_sum, tokens, bytes, words) with `all_gather_object` and sums them in document order
with `math.fsum`, so the corpus figure is the single-process one (only the batching of windows differs).
"""

from __future__ import annotations

import argparse
import json
import math
import os
import sys
import time

import torch
import torch.distributed as dist

from lib.errors import PitwallError, first_line


def shard_by_tokens(lengths: list[int], world_size: int) -> list[list[int]]:
    """Document indices per rank, balanced by token count (longest first to the least-loaded rank)."""
    shards: list[list[int]] = [[] for _ in range(world_size)]
    load = [0] * world_size
    for index in sorted(range(len(lengths)), key=lambda i: (-lengths[i], i)):
        rank = min(range(world_size), key=lambda r: (load[r], r))
        shards[rank].append(index)
        load[rank] += lengths[index]
    return [sorted(shard) for shard in shards]


def main(argv: list[str] | None = None) -> int:
    """Entry point for each rank; returns the exit status."""
    parser = argparse.ArgumentParser(prog="python -m lib.evaluation.distributed", description=__doc__.splitlines()[0])
    parser.add_argument("--model", default=None)
    parser.add_argument("--dataset", required=True)
    parser.add_argument("--text-column", default=None)
    parser.add_argument("--max-length", type=int, default=None)
    parser.add_argument("--stride", type=int, default=None)
    parser.add_argument("--dtype", default="auto")
    parser.add_argument("--batch-size", type=int, default=None)
    parser.add_argument("--json", action="store_true")
    args = parser.parse_args(argv)
    cuda = torch.cuda.is_available()
    local_rank = int(os.environ.get("LOCAL_RANK", 0))
    if cuda:
        torch.cuda.set_device(local_rank)
    dist.init_process_group("nccl" if cuda else "gloo")
    try:
        payload = _score_shard(args, f"cuda:{local_rank}" if cuda else "cpu")
        gathered: list = [None] * dist.get_world_size()
        dist.all_gather_object(gathered, payload)
        if dist.get_rank() == 0:
            failures = [p["error"] for p in gathered if "error" in p]
            if failures:
                print(f"pitwall: {failures[0]}", file=sys.stderr)
                return 1
            print(_report(gathered, args.json))
        return 0
    finally:
        dist.destroy_process_group()


def _score_shard(args: argparse.Namespace, device: str) -> dict:
    """This rank's part: per-document scores and its timing, or the error that stopped it (so no rank hangs)."""
    from lib import config
    from lib.evaluation.documents import read_documents
    from lib.evaluation.perplexity import resolve_window, score_document_ids, tokenize_documents
    from lib.models.loader import load_model

    try:
        texts = read_documents(args.dataset, args.text_column)
        loaded = load_model(args.model or config.default_model_spec(), dtype=args.dtype, device=device)
        max_length, stride = resolve_window(loaded.info.context_length, args.max_length, args.stride)
        token_lists = tokenize_documents(loaded, texts)
        usable = [i for i, ids in enumerate(token_lists) if len(ids) >= 2]
        if not usable:
            raise PitwallError(f"None of the {len(texts):,} documents is at least 2 tokens long; nothing to score.")
        lengths = [len(token_lists[i]) for i in usable]
        mine = [usable[k] for k in shard_by_tokens(lengths, dist.get_world_size())[dist.get_rank()]]
        started = time.perf_counter()
        result = score_document_ids(
            loaded, [token_lists[i] for i in mine], [texts[i] for i in mine], max_length, stride,
            args.batch_size, indices=mine, allow_empty=True,
        )  # fmt: skip
        return {
            "documents": [(d.index, d.nll_sum, d.tokens, d.bytes, d.words) for d in result.documents],
            "skipped": [i for i, ids in enumerate(token_lists) if len(ids) < 2],
            "seconds": time.perf_counter() - started,
            "tokens_processed": result.tokens_processed,
            "meta": {"model": loaded.info.model, "dtype": result.dtype, "max_length": max_length, "stride": stride},
        }
    except PitwallError as error:
        return {"error": str(error)}
    except Exception as error:  # any failure must still reach the gather, or the other ranks wait forever
        return {"error": f"rank {dist.get_rank()} failed: {type(error).__name__}: {first_line(error)}"}


def _report(gathered: list[dict], as_json: bool) -> str:
    from lib.evaluation.perplexity import corpus_figures

    rows = sorted(row for part in gathered for row in part["documents"])
    nll = math.fsum(row[1] for row in rows)
    tokens, n_bytes, words = (sum(row[k] for row in rows) for k in (2, 3, 4))
    seconds = max(part["seconds"] for part in gathered)  # the ranks run at once: the slowest is the wall time
    summary = {
        **corpus_figures(nll, tokens, n_bytes, words),
        "nll_sum": nll,
        "tokens": tokens,
        "bytes": n_bytes,
        "words": words,
        "documents_scored": len(rows),
        "documents_skipped": len(gathered[0]["skipped"]),
        "seconds": round(seconds, 4),
        "tokens_per_second": round(tokens / seconds, 1) if seconds > 0 else None,
        "tokens_processed": sum(part["tokens_processed"] for part in gathered),
        "world_size": len(gathered),
        **gathered[0]["meta"],
    }
    if as_json:
        return json.dumps(summary)
    return (
        f"perplexity {summary['perplexity']:.4f} over {tokens:,} tokens of {len(rows):,} documents on "
        f"{len(gathered)} ranks; {summary['bits_per_byte']:.4f} bits per byte; {seconds:.2f} s"
    )


if __name__ == "__main__":
    sys.exit(main())
