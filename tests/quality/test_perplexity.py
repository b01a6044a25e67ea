"""Per-row perplexity (CCNet's signal) under the embedded model: batched equals one by one, garble scores high."""

from __future__ import annotations

import math

import pytest

from lib.quality.perplexity import row_perplexities

ROWS = [
    "Thanks for reaching out. Your order shipped yesterday and should arrive on Friday.",
    "qz xv jjk wprt zzq vbn mmq xxr tlk pqw zzv",
    "",
    "The",
    "Returns are free within 60 days for unused items; we will email you a prepaid label.",
]


def test_garbled_rows_are_more_surprising_than_plain_english(embedded_model) -> None:
    values = row_perplexities(embedded_model, ROWS, batch_size=2)
    assert values[1] > 3 * max(values[0], values[4])  # about 360 against 80 and below
    assert math.isnan(values[2]) and math.isnan(values[3])  # under 2 tokens: nothing to score


def test_batching_with_padding_gives_each_row_its_own_perplexity(embedded_model) -> None:
    one_by_one = [row_perplexities(embedded_model, [row], batch_size=1)[0] for row in ROWS]
    batched = row_perplexities(embedded_model, ROWS, batch_size=8)
    for alone, together in zip(one_by_one, batched, strict=True):
        assert (math.isnan(alone) and math.isnan(together)) or together == pytest.approx(alone, rel=1e-3)


def test_progress_reaches_the_total(embedded_model) -> None:
    seen: list[tuple[int, int]] = []
    row_perplexities(embedded_model, ROWS, batch_size=2, progress=lambda done, total: seen.append((done, total)))
    assert seen[-1] == (len(ROWS), len(ROWS)) and [done for done, _ in seen] == sorted(done for done, _ in seen)


def test_a_profile_with_perplexity_flags_the_garbled_rows_in_its_findings_chart_and_report(embedded_model) -> None:
    from lib.quality.figures import perplexity_figure
    from lib.quality.pipeline import add_perplexity
    from lib.quality.profile import ProfileOptions, profile
    from lib.quality.readers import read_dataset
    from lib.quality.report import render_report

    plain = [f"Thanks for your message about order {n}; it ships on Monday and arrives by Friday." for n in range(30)]
    garbled = "qz xv jjk wprt zzq vbn mmq xxr tlk pqw zzv kkq"
    dataset = read_dataset("\n".join([*plain[:10], garbled, *plain[10:]]).encode(), "mixed.txt")
    result = profile(dataset, ProfileOptions(sample_rows=1_000))
    add_perplexity(result, "smollm2-135m", rows=100)
    data = result.to_dict()
    assert data["perplexity"]["rows"] == 31 and data["perplexity"]["method"] == "every non-empty row"
    assert data["findings"]["perplexity_high"]["rows"] == [11]  # the garbled line, by file line, and no other
    assert perplexity_figure(data).data[0].y[:-1] == tuple(data["perplexity"]["histogram"]["counts"])
    assert "Per-row perplexity" in render_report(data)
