"""Row lengths and robust outliers: what the length histogram and the outlier list show."""

from __future__ import annotations

import numpy as np
import pyarrow as pa

from lib.quality.lengths import char_and_word_lengths, robust_outliers, summarize


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
