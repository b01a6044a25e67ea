"""Row lengths and robust outliers: what the length histogram and the outlier list show."""

from __future__ import annotations

import numpy as np
import pyarrow as pa
import pytest

from lib.quality.lengths import TokenCounter, char_and_word_lengths, robust_outliers, summarize, token_lengths


def test_characters_and_words_are_counted_per_row_and_missing_rows_are_zero():
    chars, words = char_and_word_lengths(["hello world", "  two\tspaced  words ", None, "", " \n ", "café au lait"])
    assert chars.tolist() == [11, 20, 0, 0, 3, 12]  # characters, not UTF-8 bytes
    assert words.tolist() == [2, 3, 0, 0, 0, 3]


def test_a_slice_of_an_arrow_array_counts_its_own_rows():
    array = pa.array(["one", "two words", "three more words", "four"], type=pa.large_string())
    assert char_and_word_lengths(array.slice(1, 2))[1].tolist() == [2, 3]


def test_a_row_ten_times_the_typical_length_is_an_outlier_and_the_ordinary_spread_is_not():
    rng = np.random.default_rng(0)
    lengths = rng.integers(200, 400, size=500).astype(float)
    lengths[[17, 230]] = [6_000, 9_000]
    assert robust_outliers(lengths).tolist() == [17, 230]


def test_negative_or_huge_values_of_a_numeric_column_are_outliers_on_the_raw_scale():
    rng = np.random.default_rng(1)
    seconds = rng.normal(60, 15, size=300)
    seconds[[5, 99]] = [86_400, -5]
    found = robust_outliers(seconds, log_scale=False).tolist()
    assert 5 in found and 99 in found and len(found) <= 4


def test_summary_gives_percentiles_and_extremes():
    stats = summarize(np.arange(1, 101), "words")
    assert (stats.minimum, stats.maximum, stats.median) == (1, 100, 50.5)
    assert stats.to_dict()["unit"] == "words" and stats.p95 > stats.p5


TRICKY = [
    "",
    " ",
    "  leading and trailing  ",
    "don't I'LL we've they'd x's 's",
    "tabs\tand\nnew\n\nlines\r\n end",
    "digits 12345678901234567890 1.5e-3 $1,234",
    "punctuation!!! ??? ... --- (brackets) [x] {y}",
    "special <|endoftext|> inside",
    "café naïve 東京 🙂",  # not ASCII: counted by the tokenizer itself
    "\x00\x01\x1c\x1f control bytes",
    "it''s '' ' s",
    "   \t\t\n",
]


@pytest.fixture(scope="module")
def byte_level_tokenizer():
    """A small byte-level BPE tokenizer (GPT-2's pre-tokenizer, as the embedded model's) behind transformers."""
    from tokenizers import Tokenizer, models, pre_tokenizers, trainers
    from transformers import PreTrainedTokenizerFast

    backend = Tokenizer(models.BPE())
    backend.pre_tokenizer = pre_tokenizers.ByteLevel(add_prefix_space=False)
    trainer = trainers.BpeTrainer(
        vocab_size=400, special_tokens=["<|endoftext|>"], initial_alphabet=pre_tokenizers.ByteLevel.alphabet()
    )
    corpus = ["the quick brown fox jumps over the lazy dog", "don't stop, it's 2026!"] * 50 + TRICKY
    backend.train_from_iterator(corpus, trainer)
    return PreTrainedTokenizerFast(tokenizer_object=backend, eos_token="<|endoftext|>")


def reference_counts(tokenizer, texts):
    return [len(ids) for ids in tokenizer(list(texts), add_special_tokens=False)["input_ids"]]


def test_token_counts_by_piece_equal_the_tokenizers_own(byte_level_tokenizer, demo):
    texts, _manifest = demo
    sample = TRICKY + texts[::5]
    counter = TokenCounter(byte_level_tokenizer)
    assert counter.pieces is not None  # the fast path is taken for this tokenizer
    assert counter.counts(sample).tolist() == reference_counts(byte_level_tokenizer, sample)
    assert token_lengths(sample, byte_level_tokenizer, batch_size=7).tolist() == reference_counts(
        byte_level_tokenizer, sample
    )


def test_other_tokenizers_are_counted_by_the_tokenizer_itself():
    from tokenizers import Tokenizer, models, pre_tokenizers, trainers
    from transformers import PreTrainedTokenizerFast

    backend = Tokenizer(models.WordPiece(unk_token="[UNK]"))
    backend.pre_tokenizer = pre_tokenizers.Whitespace()
    backend.train_from_iterator(["some words to learn from"] * 10, trainers.WordPieceTrainer(special_tokens=["[UNK]"]))
    tokenizer = PreTrainedTokenizerFast(tokenizer_object=backend, unk_token="[UNK]")
    assert TokenCounter(tokenizer).pieces is None
    calls: list[tuple[int, int]] = []
    counts = token_lengths(TRICKY, tokenizer, batch_size=5, progress=lambda done, total: calls.append((done, total)))
    assert counts.tolist() == reference_counts(tokenizer, TRICKY)
    assert calls == [(5, 12), (10, 12), (12, 12)]


def test_a_tokenizer_the_piece_path_misreads_is_caught_on_the_first_texts(byte_level_tokenizer, monkeypatch):
    from lib.quality import lengths

    counter = TokenCounter(byte_level_tokenizer)
    monkeypatch.setattr(lengths, "_BYTE_LEVEL_ASCII", lengths.re.compile(r"\S+|\s+"))  # a wrong split
    assert counter.counts(TRICKY * 3).tolist() == reference_counts(byte_level_tokenizer, TRICKY * 3)
    assert counter.pieces is None


def test_word_counts_in_small_chunks_equal_splitting(monkeypatch):
    from lib.quality import lengths

    rng = np.random.default_rng(3)
    alphabet = np.array(list("ab \t\n\r\x0b\x0c\x1cé"))
    texts = ["".join(rng.choice(alphabet, size=rng.integers(0, 40))) for _ in range(2_000)] + [None]
    expected = [len(text.encode().split()) if text is not None else 0 for text in texts]
    monkeypatch.setattr(lengths, "CHUNK_BYTES", 64)
    assert char_and_word_lengths(texts)[1].tolist() == expected
