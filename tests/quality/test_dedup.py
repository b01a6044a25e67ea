"""Exact and near-duplicate detection: what the Data quality page and `quality profile` report."""

from __future__ import annotations

import hashlib
import json
import os
import subprocess
import sys

import numpy as np
import pytest

from lib.quality import dedup
from lib.quality.dedup import (
    duplicates,
    exact_duplicates,
    lsh_params,
    minhash_signatures,
    near_duplicates,
)
from lib.quality.normalize import normalize

ROOT = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))


def words(rng: np.random.Generator, count: int) -> list[str]:
    """Random lowercase words of 3-8 letters: unrelated documents share no 5-gram."""
    letters = np.array(list("abcdefghijklmnopqrstuvwxyz"))
    return ["".join(rng.choice(letters, size=rng.integers(3, 9))) for _ in range(count)]


def changed(text: str, *positions: int) -> str:
    """The text with the words at these positions replaced by ones it does not contain."""
    tokens = text.split(" ")
    for position in positions:
        tokens[position] = f"changed{position}word"
    return " ".join(tokens)


@pytest.fixture
def rng() -> np.random.Generator:
    return np.random.default_rng(42)


def doc(rng: np.random.Generator, count: int = 80) -> str:
    return " ".join(words(rng, count))


# ----------------------------------------------------------------------------------------------- exact duplicates


def test_exact_duplicates_counts_every_row_that_repeats_an_earlier_one_after_normalising():
    texts = [
        "Hello  World",  # 0
        "hello world",  # 1: case and spacing
        "HELLO\u00a0WORLD \n",  # 2: no-break space (NFKC), trailing whitespace
        "Ｆｕｌｌ ﬁne",  # 3: fullwidth letters and a ligature
        "full fine",  # 4: equal to 3 after NFKC
        None,  # 5: missing
        "   ",  # 6: whitespace only
        "",  # 7
        "\u00a0\t",  # 8: whitespace only after NFKC
        "something else",  # 9
        "hello world",  # 10
    ]
    result = exact_duplicates(texts)
    assert result.first_of.tolist() == [-1, 0, 0, -1, 3, -1, -1, -1, -1, -1, 0]
    assert result.first_of.dtype == np.int64
    assert result.count == 4  # rows 1, 2, 4 and 10; the four empty rows never count, though they are "equal"
    assert result.groups == [[0, 1, 2, 10], [3, 4]]


def test_exact_duplicates_of_nothing_but_empty_rows():
    result = exact_duplicates([None, "", "  ", float("nan")])
    assert result.count == 0 and result.groups == []
    assert result.first_of.tolist() == [-1, -1, -1, -1]


def test_exact_groups_are_largest_first():
    texts = ["b", "a", "a", "b", "c", "b", "c", "c", "c"]
    assert exact_duplicates(texts).groups == [[4, 6, 7, 8], [0, 3, 5], [1, 2]]


# ------------------------------------------------------------------------------------------------ near duplicates


def test_a_copy_with_one_word_changed_is_found_and_unrelated_documents_are_not(rng):
    docs = [doc(rng) for _ in range(30)]
    docs.append(changed(docs[4], 40))  # row 30: true 5-gram Jaccard 71/81 = 0.877
    docs.append(changed(docs[9], 0).upper())  # row 31: a word changed at the start, and shouting
    result = near_duplicates(docs)
    assert result.clusters == [[4, 30], [9, 31]]
    assert result.count == 2
    assert set(result.similarity) == {(4, 30), (9, 31)}
    assert 0.8 <= result.similarity[(4, 30)] <= 1.0
    assert result.threshold == 0.8


def pair(rng: np.random.Generator, shared: int) -> list[str]:
    """Two 80-word texts whose first `shared` words are the same: 5-gram Jaccard (shared-4) / (152-(shared-4))."""
    common = words(rng, shared)
    return [" ".join(common + words(rng, 80 - shared)) for _ in range(2)]


def test_a_pair_at_half_the_threshold_is_not_clustered_but_is_at_a_lower_threshold(rng):
    docs = [*pair(rng, 55), doc(rng)]  # 51 shared 5-grams of 76 each: Jaccard 51 / 101 = 0.505
    assert near_duplicates(docs).clusters == []
    assert near_duplicates(docs, threshold=0.4).clusters == [[0, 1]]


def test_pairs_just_below_the_threshold_are_verified_away(rng):
    # Jaccard 61 / 91 = 0.67: LSH proposes such a pair about 44% of the time; the estimate keeps it out.
    docs = [text for _ in range(6) for text in pair(rng, 65)]
    assert near_duplicates(docs).clusters == []
    assert len(near_duplicates(docs, threshold=0.6).clusters) >= 5


def test_exact_duplicates_can_be_in_a_cluster_but_are_not_counted_as_near_duplicates(rng):
    base = doc(rng)
    docs = [base, "  " + base.upper(), changed(base, 30), doc(rng), changed(base, 30)]
    exact = exact_duplicates(docs)
    assert exact.count == 2  # row 1 repeats row 0, row 4 repeats row 2
    for result in (near_duplicates(docs, exact=exact), near_duplicates(docs)):
        assert result.clusters == [[0, 1, 2, 4]]
        assert result.count == 1  # only row 2 is a near duplicate; rows 1 and 4 are exact ones
        assert result.similarity[(0, 1)] == 1.0


def test_clusters_are_transitive(rng):
    # Each link changes one more word far from the others: neighbours are at 0.877, the ends at 0.67.
    a = doc(rng)
    b = changed(a, 10)
    c = changed(b, 40)
    d = changed(c, 70)
    docs = [doc(rng), d, doc(rng), b, a, c]
    result = near_duplicates(docs)
    assert result.clusters == [[1, 3, 4, 5]]
    assert result.count == 3
    assert set(result.similarity) == {(1, 3), (1, 4), (1, 5)}  # one entry per member beyond the first
    assert result.similarity[(1, 4)] < 0.8  # the chain's two ends, joined through the middle


def test_largest_cluster_first_and_members_in_row_order(rng):
    small, large = doc(rng), doc(rng)
    docs = [small, large, changed(small, 5), changed(large, 5), changed(large, 50), changed(large, 70)]
    assert near_duplicates(docs).clusters == [[1, 3, 4, 5], [0, 2]]


def test_many_variants_of_one_template_join_one_cluster(rng):
    # 60 rows share one bucket in every band: more than the bucket window, so they join through chains.
    template = doc(rng)
    docs = [changed(template, 40).replace("changed40word", f"unique{i}") for i in range(60)]
    result = near_duplicates(docs)
    assert result.clusters == [list(range(60))]
    assert result.count == 59


def test_empty_rows_are_never_near_duplicates(rng):
    docs = [None, "", "   ", doc(rng), None, ""]
    result = near_duplicates(docs)
    assert result.clusters == [] and result.count == 0


def test_short_documents_are_one_shingle(rng):
    docs = ["Quick brown fox", "quick  BROWN fox", "quick brown dog", "fox", "fox"]
    result = near_duplicates(docs)
    assert result.clusters == [[0, 1], [3, 4]]  # equal short texts match, "dog" does not
    assert result.count == 0  # both pairs are exact duplicates
    signatures = minhash_signatures(docs)
    assert (signatures[0] == signatures[1]).all()
    assert (signatures[0] != signatures[2]).mean() > 0.9


def test_duplicates_gives_both_results_from_one_pass(rng):
    base = doc(rng)
    docs = [base, base, changed(base, 20), None, doc(rng)]
    exact, near = duplicates(docs)
    assert exact.count == 1 and exact.groups == [[0, 1]]
    assert near.clusters == [[0, 1, 2]] and near.count == 1
    assert json.dumps(near.to_dict()) and json.dumps(exact.to_dict())


def test_progress_is_reported_per_batch_and_batches_do_not_change_the_result(rng, monkeypatch):
    docs = [doc(rng, 12) for _ in range(24)] + ["", None]
    whole = minhash_signatures(docs)
    calls: list[tuple[int, int]] = []
    monkeypatch.setattr(dedup, "BATCH_ROWS", 10)
    result = near_duplicates(docs, progress=lambda done, total: calls.append((done, total)))
    assert calls == [(10, 26), (20, 26), (26, 26)]
    assert result.clusters == []
    assert np.array_equal(minhash_signatures(docs), whole)
    monkeypatch.setattr(dedup, "BATCH_CHARS", 200)  # long texts: a batch ends after 200 characters
    calls.clear()
    near_duplicates(docs, progress=lambda done, total: calls.append((done, total)))
    assert len(calls) > 3 and calls[-1] == (26, 26)
    assert np.array_equal(minhash_signatures(docs), whole)


def test_bad_threshold_is_refused():
    with pytest.raises(ValueError, match="threshold"):
        near_duplicates(["a b c"], threshold=0)
    with pytest.raises(ValueError, match="threshold"):
        near_duplicates(["a b c"], threshold=1.5)


def test_lsh_bands_at_the_default_threshold_are_datatroves():
    assert lsh_params(0.8, 112) == (14, 8)
    bands, rows = lsh_params(0.5, 112)
    assert bands * rows <= 112 and rows < 8  # a lower threshold needs shorter bands


# ------------------------------------------------------------------------------------------------ signatures


MASK = 2**64 - 1


def fmix64(h: int) -> int:
    h ^= h >> 33
    h = h * 0xFF51AFD7ED558CCD & MASK
    h ^= h >> 33
    h = h * 0xC4CEB9FE1A85EC53 & MASK
    return h ^ (h >> 33)


def word_hash(word: bytes) -> int:
    if len(word) > 256:
        return int.from_bytes(hashlib.blake2b(word, digest_size=8).digest(), "little")
    h = len(word) * 0x9E3779B97F4A7C15 & MASK
    for offset in range(0, len(word), 16):
        chunk = word[offset : offset + 16].ljust(16, b"\0")
        h = (h ^ int.from_bytes(chunk[:8], "little")) * 0xBF58476D1CE4E5B9 & MASK
        h = (h ^ int.from_bytes(chunk[8:], "little")) * 0x94D049BB133111EB & MASK
        h ^= h >> 31
    return h


def reference_signature(text: str, num_perm: int, ngram: int, seed: int) -> list[int]:
    """MinHash as the module documents it, one shingle and one hash at a time, in plain integers."""
    hashes = [word_hash(w.encode("utf-8")) for w in normalize(text).split(" ")]
    weights = [fmix64((j + 1) * 0x9E3779B97F4A7C15 & MASK) | 1 for j in range(ngram)]
    span = min(ngram, len(hashes))
    shingles = [
        fmix64(sum(weights[j] * hashes[p + j] for j in range(span)) & MASK) >> 32
        for p in range(max(len(hashes) - ngram + 1, 1))
    ]
    state = np.random.RandomState(seed)
    a = [int(v) | 1 for v in state.randint(0, 2**32, size=num_perm, dtype=np.uint64)]
    b = [int(v) for v in state.randint(0, 2**32, size=num_perm, dtype=np.uint64)]
    return [min((a[k] * x + b[k]) % 2**32 for x in shingles) for k in range(num_perm)]


SAMPLES = [
    "The quick brown fox jumps over the lazy dog near the riverbank today",
    "Two words",  # shorter than a shingle: the whole text is one
    "Ünïcödé  ÇAFÉ naïve 東京 タワー façade — “quotes” and emoji 🙂 in a row of words here",
    "a-very-long-hyphenated-token-of-more-than-sixteen-bytes and x " + "y" * 300 + " tail words to end",
]


def test_signatures_match_the_documented_algorithm():
    expected = [reference_signature(text, 16, 5, 3) for text in SAMPLES]
    assert minhash_signatures(SAMPLES, num_perm=16, ngram=5, seed=3).tolist() == expected
    assert minhash_signatures(SAMPLES[:1], num_perm=8, ngram=3, seed=1).tolist() == [
        reference_signature(SAMPLES[0], 8, 3, 1)
    ]


def test_signatures_are_the_same_in_another_process():
    code = (
        "import json, sys; from lib.quality.dedup import minhash_signatures; "
        "print(json.dumps(minhash_signatures(json.loads(sys.stdin.read())).tolist()))"
    )
    env = {**os.environ, "PYTHONHASHSEED": "12345"}
    out = subprocess.run(
        [sys.executable, "-c", code], input=json.dumps(SAMPLES), capture_output=True, text=True, cwd=ROOT, env=env
    )
    assert out.returncode == 0, out.stderr
    assert json.loads(out.stdout) == minhash_signatures(SAMPLES).tolist()


def test_empty_rows_have_the_all_max_signature():
    signatures = minhash_signatures(["", None, "word"], num_perm=4)
    assert signatures.dtype == np.uint32 and signatures.shape == (3, 4)
    assert (signatures[:2] == 0xFFFFFFFF).all()
    assert (signatures[2] != 0xFFFFFFFF).all()


# ------------------------------------------------------------------------------------------- normalising in batches


ODD_PIECES = [
    "a", "B", "Zz", " ", "  ", "\t", "\n", "\r\n", "\x0b", "\x0c", "\x1c", "\x1f", "\x85", "\u00a0", "é", "Ｆ", "ﬁ",
    "\u2028", "\x00", "İ", "ß", "Σ", "𝔘", "\u3000", ".", "'", "1",
]  # fmt: skip


def test_batches_hold_exactly_the_normalised_text_of_every_non_empty_row():
    rng = np.random.default_rng(5)
    texts = ["".join(rng.choice(ODD_PIECES, size=rng.integers(0, 25))) for _ in range(3_000)]
    texts += [None, float("nan"), 7, "", "   ", "lone \ud800 surrogate", "ASCII Only  Row "]
    seen = {}
    for batch in dedup._batches(texts):
        begins = np.r_[0, batch.ends[:-1] + 1][: batch.ends.size]
        for row, begin, end in zip(batch.rows.tolist(), begins.tolist(), batch.ends.tolist(), strict=True):
            seen[batch.start + row] = bytes(batch.buf[begin:end])
        assert (batch.buf[batch.ends] == 10).all()
    expected = {
        row: normalize(text).encode("utf-8", "surrogatepass")
        for row, text in enumerate(texts)
        if isinstance(text, str) and normalize(text)
    }
    assert seen == expected


def test_an_arrow_column_and_a_list_give_the_same_batches():
    import pyarrow as pa

    rng = np.random.default_rng(6)
    texts = ["".join(rng.choice(ODD_PIECES, size=rng.integers(0, 25))) for _ in range(500)] + [None]
    as_list = [(b.start, b.rows.tolist(), bytes(b.buf)) for b in dedup._batches(texts)]
    as_arrow = [(b.start, b.rows.tolist(), bytes(b.buf)) for b in dedup._batches(pa.array(texts, pa.large_string()))]
    assert as_list == as_arrow


def test_a_scan_fed_in_blocks_from_threads_equals_one_pass(rng):
    from concurrent.futures import ThreadPoolExecutor

    import pyarrow as pa

    base = [doc(rng) for _ in range(40)]
    docs = base + [changed(text, 7) for text in base[:10]] + [base[3].upper(), None, ""]
    exact, near = duplicates(docs)
    column = pa.array(docs, pa.large_string())
    scan = dedup.DuplicateScan(len(docs))
    starts = list(range(0, len(docs), 9))[::-1]  # out of order
    with ThreadPoolExecutor(2) as pool:
        list(pool.map(lambda start: scan.add(start, column.slice(start, 9)), starts))
    bands: list[tuple[int, int]] = []
    scan_exact = scan.exact()
    scan_near = scan.near(scan_exact, 0.8, progress=lambda done, total: bands.append((done, total)))
    assert scan_exact.to_dict() == exact.to_dict() and scan_near.to_dict() == near.to_dict()
    assert bands[-1] == (28, 28) and len(bands) == 28  # 14 bands: keys made, then each band joined


def test_clustering_on_threads_gives_the_same_clusters(rng, monkeypatch):
    template = doc(rng)
    variants = [changed(template, 40).replace("changed40word", f"unique{i}") for i in range(30)]
    docs = variants + [doc(rng) for _ in range(30)]
    alone = near_duplicates(docs)
    monkeypatch.setattr(dedup, "PARALLEL_ROWS", 1)
    assert near_duplicates(docs).to_dict() == alone.to_dict()
