"""Near-duplicate detection on 100,000 documents of ~80 words: our vectorised MinHash LSH vs datasketch.

Documents: seeded English-like text, 70-90 words each drawn (Zipf-weighted) from a vocabulary of 4,000 words.
Planted: 2% are near-copies of another document with a run of 1-3 adjacent words replaced (word 5-gram Jaccard
0.81-0.98, median 0.86; the distribution is printed), 1% are exact copies that differ only in case, spacing
or Unicode form (equal after `normalize`).
Ours: `lib.quality.dedup.near_duplicates` as the profiler calls it, end to end (normalising, shingling, 112-hash
signatures, 14 x 8 LSH, verification of every candidate pair at 0.8, union-find).
Baseline: datasketch as most projects use it, on the same word 5-gram shingles of the same normalised text:
`MinHash(num_perm=128)` with `update` per shingle, then `MinHashLSH(threshold=0.8, num_perm=128)` insert and query of
every document. Building its shingle sets is not timed (ours includes the equivalent work).
Recall: planted near-copies with true Jaccard >= 0.8 (and the exact copies) found with their source: for ours, in the
same cluster; for datasketch, returned by the query. False positives: found pairs whose true Jaccard is below 0.7
(for ours the pairs the page shows side by side, first member and other; for datasketch every query hit).

    python bench/quality_dedup.py                 # 100,000 documents, both (about 1-2 minutes here)
    python bench/quality_dedup.py --docs 1000000  # ours only: datasketch would take over 12 minutes at 1M
"""

from __future__ import annotations

import argparse
import time

import numpy as np
from _common import report, vocabulary

from lib.quality.dedup import duplicates, exact_duplicates, lsh_params, minhash_signatures, near_duplicates
from lib.quality.normalize import normalize

THRESHOLD = 0.8
NGRAM = 5
COMMON_WORDS = (
    "the of and to a in is it that was for on are with as be at by this have from or had not but what all were "
    "when we there can an your which their said if do will each about how up out them then she many some so these "
    "would other into has more her two like him see time could no make than first been its who now people my made "
    "over did down only way find use may water long little very after words called just where most know"
)


def corpus(docs: int, seed: int = 7) -> tuple[list[str], list[tuple[int, int]], list[tuple[int, int]]]:
    """Documents plus the planted (source, near copy) and (source, exact copy) pairs."""
    rng = np.random.default_rng(seed)
    vocab = vocabulary(COMMON_WORDS, rng, syllables=(1, 4))
    weights = 1.0 / np.arange(1, vocab.size + 1)
    lengths = rng.integers(70, 91, size=docs)
    words = vocab[rng.choice(vocab.size, size=int(lengths.sum()), p=weights / weights.sum())]
    bounds = np.r_[0, np.cumsum(lengths)]
    texts = [" ".join(words[bounds[i] : bounds[i + 1]]).capitalize() + "." for i in range(docs)]
    order = rng.permutation(docs)
    near_count, exact_count = docs // 50, docs // 100
    near_dst, exact_dst = order[:near_count], order[near_count : near_count + exact_count]
    sources = rng.choice(order[near_count + exact_count :], size=near_count + exact_count)
    near = []
    for src, dst in zip(sources[:near_count], near_dst, strict=True):
        tokens = texts[src].split(" ")
        run = int(rng.integers(1, 4))
        at = int(rng.integers(0, len(tokens) - run))
        for j in range(at, at + run):
            tokens[j] = vocab[rng.integers(0, vocab.size)] + "x"  # no vocabulary word ends in x
        texts[dst] = " ".join(tokens)
        near.append((int(src), int(dst)))
    exact = []
    for k, (src, dst) in enumerate(zip(sources[near_count:], exact_dst, strict=True)):
        variants = (texts[src].upper(), "  " + texts[src].replace(" ", "\u00a0", 3) + "\n", texts[src].lower())
        texts[dst] = variants[k % 3]
        exact.append((int(src), int(dst)))
    return texts, near, exact


def shingles(text: str) -> set[str]:
    """Word 5-grams of the normalised text, as ours hashes them (a short text is one shingle)."""
    words = normalize(text).split(" ")
    if len(words) < NGRAM:
        return {" ".join(words)}
    return {" ".join(words[i : i + NGRAM]) for i in range(len(words) - NGRAM + 1)}


def jaccard(a: set[str], b: set[str]) -> float:
    return len(a & b) / len(a | b) if a or b else 1.0


def chain(texts: list[str], members: list[int], a: int, b: int) -> bool:
    """Whether a and b are each similar to some other member of their cluster (joined transitively)."""
    floor = THRESHOLD - 0.1
    sets = {m: shingles(texts[m]) for m in members}
    others = [m for m in members if m not in (a, b)]
    return any(jaccard(sets[a], sets[m]) >= floor and jaccard(sets[m], sets[b]) >= floor for m in others)


def datasketch_pairs(sets: list[set[str]]) -> tuple[float, set[tuple[int, int]]]:
    """datasketch MinHash (update per shingle) + MinHashLSH insert and query: seconds and the pairs found."""
    from datasketch import MinHash, MinHashLSH

    started = time.perf_counter()
    lsh = MinHashLSH(threshold=THRESHOLD, num_perm=128)
    hashes = []
    for i, grams in enumerate(sets):
        sketch = MinHash(num_perm=128)
        for gram in grams:
            sketch.update(gram.encode("utf-8"))
        lsh.insert(i, sketch)
        hashes.append(sketch)
    pairs = {(min(i, j), max(i, j)) for i, sketch in enumerate(hashes) for j in lsh.query(sketch) if j != i}
    return time.perf_counter() - started, pairs


def quantiles(values: list[float]) -> str:
    q = np.quantile(values, [0, 0.25, 0.5, 0.75, 1])
    return " / ".join(f"{v:.3f}" for v in q)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--docs", type=int, default=100_000)
    parser.add_argument("--no-baseline", action="store_true", help="skip datasketch (always skipped above 200,000)")
    args = parser.parse_args()

    started = time.perf_counter()
    texts, near, exact = corpus(args.docs)
    print(f"generated {len(texts):,} documents in {time.perf_counter() - started:.1f} s: {len(near):,} planted near "
          f"copies (1-3 adjacent words replaced), {len(exact):,} exact copies (case, spacing, NFKC)")  # fmt: skip
    true_near = [jaccard(shingles(texts[a]), shingles(texts[b])) for a, b in near]
    above = [pair for pair, value in zip(near, true_near, strict=True) if value >= THRESHOLD]
    print(f"true word-5-gram Jaccard of the planted near copies (min / q1 / median / q3 / max): {quantiles(true_near)};"
          f" {len(above):,} of {len(near):,} at or above {THRESHOLD}")  # fmt: skip
    bands, rows = lsh_params(THRESHOLD, 112)
    print(f"ours: 112 hashes, LSH {bands} bands x {rows} rows, verified at {THRESHOLD}")

    started = time.perf_counter()
    ours = near_duplicates(texts, threshold=THRESHOLD)
    ours_s = time.perf_counter() - started
    cluster_of = np.full(len(texts), -1, dtype=np.int64)
    for k, members in enumerate(ours.clusters):
        cluster_of[members] = k

    def found(a: int, b: int) -> bool:
        return bool(cluster_of[a] >= 0 and cluster_of[a] == cluster_of[b])

    ours_recall = np.mean([found(a, b) for a, b in above])
    ours_exact = np.mean([found(a, b) for a, b in exact])
    shown = list(ours.similarity)
    low = [(a, b) for a, b in shown if jaccard(shingles(texts[a]), shingles(texts[b])) < THRESHOLD - 0.1]
    chained = sum(chain(texts, ours.clusters[cluster_of[a]], a, b) for a, b in low)
    ours_fp = f"{len(low)} ({chained} of them joined through a third member of their cluster)"
    print(f"ours: {ours_s:.2f} s ({len(texts) / ours_s:,.0f} docs/s), {len(ours.clusters):,} clusters, "
          f"near_duplicates count {ours.count:,}; recall {ours_recall:.3f} (planted >= {THRESHOLD}), "
          f"{ours_exact:.3f} (exact copies); false-positive pairs (true J < {THRESHOLD - 0.1:.1f}) "
          f"{ours_fp} of {len(shown):,} shown")  # fmt: skip

    started = time.perf_counter()
    signatures = minhash_signatures(texts)
    print(f"ours, signatures alone ({signatures.shape[1]} hashes): {time.perf_counter() - started:.2f} s")
    del signatures
    started = time.perf_counter()
    exact_result = exact_duplicates(texts)
    print(f"ours, exact_duplicates: {time.perf_counter() - started:.2f} s, {exact_result.count:,} rows repeat an "
          f"earlier one ({len(exact):,} planted)")  # fmt: skip
    started = time.perf_counter()
    both = duplicates(texts)
    print(f"ours, duplicates() (exact and near from one normalising pass, what a profile calls): "
          f"{time.perf_counter() - started:.2f} s, {both[0].count:,} exact, {both[1].count:,} near")  # fmt: skip

    if args.no_baseline or args.docs > 200_000:
        print("datasketch not run above 200,000 documents (about 1,300 docs/s here: 1M would take over 12 minutes)")
        return
    sets = [shingles(text) for text in texts]
    base_s, base_pairs = datasketch_pairs(sets)
    base_recall = np.mean([(min(a, b), max(a, b)) in base_pairs for a, b in above])
    base_exact = np.mean([(min(a, b), max(a, b)) in base_pairs for a, b in exact])
    base_fp = sum(jaccard(sets[a], sets[b]) < THRESHOLD - 0.1 for a, b in base_pairs)
    print(f"datasketch: {base_s:.2f} s ({len(texts) / base_s:,.0f} docs/s), {len(base_pairs):,} pairs; recall "
          f"{base_recall:.3f} (planted >= {THRESHOLD}), {base_exact:.3f} (exact copies); false-positive pairs "
          f"{base_fp} of {len(base_pairs):,}")  # fmt: skip
    report(f"near duplicates of {len(texts):,} docs", len(texts) / ours_s, len(texts) / base_s, "docs/s", True)


if __name__ == "__main__":
    main()
