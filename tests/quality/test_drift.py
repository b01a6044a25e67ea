"""Drift between two profiled datasets: no change reads as none, longer text in another language as significant."""

from __future__ import annotations

import json
import random

import numpy as np
import pytest

from lib.quality import drift as drift_module
from lib.quality.drift import compare, compare_lengths, kolmogorov_sf, ks_2samp, psi, psi_level
from lib.quality.profile import ProfileResult, profile
from lib.quality.readers import read_dataset

ENGLISH = [
    "The order arrived two days late and the box was damaged.",
    "Please send me a new invoice for my last purchase.",
    "I would like to return the jacket because it is too small.",
    "Thank you for your help, the problem is solved now.",
    "Can you tell me when the store opens on Sunday morning?",
    "My password does not work and I cannot sign in to my account.",
    "The tent was easy to set up and kept us dry all night.",
    "Where can I find the warranty for these hiking boots?",
]
FRENCH = [
    "Bonjour, je voudrais retourner ma veste de pluie, elle est arrivée abîmée.",
    "Merci beaucoup pour votre aide, le problème est maintenant résolu.",
    "Pouvez-vous me dire quand le magasin ouvre le dimanche matin ?",
    "Mon mot de passe ne fonctionne pas et je ne peux pas me connecter.",
]


def rows_of(sentences: list[str], count: int, seed: int, repeat: int = 1) -> list[str]:
    """`count` rows of 2-6 random sentences each, every row's text repeated `repeat` times."""
    rng = random.Random(seed)
    return [" ".join(rng.choice(sentences) for _ in range(rng.randint(2, 6))) * repeat for _ in range(count)]


def profiled(texts: list[str], name: str) -> ProfileResult:
    data = "\n".join(json.dumps({"text": text}) for text in texts).encode()
    return profile(read_dataset(data, name))


@pytest.fixture(scope="module")
def datasets() -> dict[str, ProfileResult]:
    """A baseline, a fresh draw from the same generator, and one with doubled lengths and 40% French rows."""
    shifted = rows_of(ENGLISH, 600, seed=3, repeat=2) + rows_of(FRENCH, 400, seed=4, repeat=2)
    return {
        "baseline": profiled(rows_of(ENGLISH, 1000, seed=1), "january.jsonl"),
        "same": profiled(rows_of(ENGLISH, 1000, seed=5), "february.jsonl"),
        "shifted": profiled(shifted, "march.jsonl"),
    }


def test_a_dataset_against_itself_shows_no_change(datasets):
    report = compare(datasets["baseline"], datasets["baseline"]).to_dict()
    assert report["level"] == "none"
    assert report["verdict"].startswith("No significant change")
    for unit in ("characters", "words"):
        lengths = report["lengths"][unit]
        assert lengths["psi"] == pytest.approx(0.0, abs=1e-12)
        assert lengths["ks_statistic"] == 0.0 and lengths["ks_p_value"] == 1.0
        assert "no significant change" in lengths["meaning"]
        assert "no evidence that the distributions differ" in lengths["meaning"]
    assert report["languages"]["psi"] == pytest.approx(0.0, abs=1e-12)
    assert all(change["change"] == 0 for change in report["ngrams"]["unigrams"]["changes"])


def test_a_new_draw_of_the_same_data_is_not_flagged(datasets):
    report = compare(datasets["baseline"], datasets["same"]).to_dict()
    assert report["level"] == "none", report["verdict"]
    assert report["lengths"]["characters"]["psi"] < 0.1
    assert report["lengths"]["characters"]["ks_statistic"] < 0.1
    assert report["lengths"]["characters"]["ks_p_value"] > 0.05  # (for this seed: p < 0.05 by chance is 1 in 20)


def test_doubled_lengths_and_a_new_language_are_significant(datasets):
    report = compare(datasets["baseline"], datasets["shifted"]).to_dict()
    assert report["level"] == "significant"
    assert report["verdict"].startswith("Significant change from january.jsonl to march.jsonl")
    for unit in ("characters", "words"):
        lengths = report["lengths"][unit]
        assert lengths["psi"] > 0.25 and lengths["level"] == "significant change"
        assert lengths["ks_statistic"] > 0.5 and lengths["ks_p_value"] < 0.05
        assert lengths["b_median"] > 1.6 * lengths["a_median"]  # twice the text (plus the French rows' lengths)
        assert "the distributions differ (p < 0.05)" in lengths["meaning"]
    languages = report["languages"]
    assert languages["psi"] > 0.25
    french = next(entry for entry in languages["shares"] if entry["language"] == "fr")
    assert french["a_share"] == 0 and french["b_share"] == pytest.approx(0.4, abs=0.03)
    assert languages["shares"][0]["language"] in ("fr", "en")  # the largest movers come first
    assert "language mix PSI" in report["verdict"]
    moved = [entry["ngram"] for entry in report["ngrams"]["unigrams"]["changes"]]
    assert set(moved[:10]) & {"je", "de", "le", "pas", "ne", "me"}  # French words lead the n-gram changes
    bigrams = report["ngrams"]["bigrams"]
    assert all(len(entry["ngram"].split()) == 2 for entry in bigrams["a_top"] + bigrams["b_top"])
    assert len(bigrams["a_top"]) == 20 and len(bigrams["b_top"]) == 20


def test_the_report_states_its_conventions_and_its_samples(datasets, monkeypatch):
    monkeypatch.setattr(drift_module, "NGRAM_ROWS", 100)
    report = compare(datasets["baseline"], datasets["shifted"]).to_dict()
    assert "0.1" in report["conventions"]["psi"] and "0.25" in report["conventions"]["psi"]
    assert "Siddiqi" in report["conventions"]["psi"]
    assert "p < 0.05" in report["conventions"]["ks"]
    sample = report["ngrams"]["sample"]
    assert sample["a"] == {"rows": 100, "of": 1000, "method": "a uniform random sample (seed 0)"}
    assert report["languages"]["a_sample"]["method"] == "every row"
    json.dumps(report, allow_nan=False)  # JSON-ready as it stands


def test_shares_and_bins_are_consistent(datasets):
    lengths = compare(datasets["baseline"], datasets["shifted"]).to_dict()["lengths"]["characters"]
    bins = lengths["psi_bins"]
    assert len(bins["a_shares"]) == len(bins["cuts"]) + 1 == len(bins["b_shares"])
    assert sum(bins["a_shares"]) == pytest.approx(1, abs=1e-4) and sum(bins["b_shares"]) == pytest.approx(1, abs=1e-4)
    histogram = lengths["histogram"]
    assert sum(histogram["a_counts"]) == 1000 and sum(histogram["b_counts"]) == 1000


def test_a_dataset_of_empty_rows_is_reported_not_raised(datasets):
    empty = profiled(["", " ", ""], "blank.jsonl")
    report = compare(datasets["baseline"], empty).to_dict()
    assert report["lengths"]["characters"]["psi"] is None
    assert "no non-empty rows" in report["lengths"]["characters"]["meaning"]
    assert report["languages"]["psi"] is None
    assert "could not be compared" in report["verdict"]


def test_psi_matches_the_formula_and_its_reading():
    assert psi([0.5, 0.5], [0.9, 0.1]) == pytest.approx(0.4 * np.log(1.8) + 0.4 * np.log(5))
    assert psi([0.25] * 4, [0.25] * 4) == 0
    assert np.isfinite(psi([0.5, 0.5, 0.0], [0.4, 0.4, 0.2]))  # an empty bin counts as epsilon
    assert psi_level(0.05) == "no significant change"
    assert psi_level(0.1) == psi_level(0.25) == "moderate change"
    assert psi_level(0.26) == "significant change"


def test_kolmogorov_distribution_matches_known_values():
    assert kolmogorov_sf(1.3581) == pytest.approx(0.05, abs=2e-4)  # the classic 5% critical value
    assert kolmogorov_sf(1.6276) == pytest.approx(0.01, abs=2e-4)
    assert kolmogorov_sf(0.0) == 1.0 and kolmogorov_sf(10) < 1e-80


def test_ks_agrees_with_scipy_on_tied_integer_lengths():
    stats = pytest.importorskip("scipy.stats")
    rng = np.random.default_rng(0)
    for scale in (1.0, 1.05, 1.3):
        a = rng.lognormal(5, 1, 2000).astype(int)
        b = (rng.lognormal(5, 1, 3000) * scale).astype(int)
        d, p = ks_2samp(a, b)
        expected = stats.ks_2samp(a, b, method="asymp")
        assert d == pytest.approx(expected.statistic, abs=1e-12)
        assert p == pytest.approx(expected.pvalue, abs=5e-3)


def test_a_tiny_shift_on_many_rows_is_significant_by_ks_but_small_by_psi():
    rng = np.random.default_rng(1)
    a = rng.lognormal(5, 1, 50_000).astype(int)
    b = (rng.lognormal(5, 1, 50_000) * 1.04).astype(int)
    lengths = compare_lengths(a, b, "characters")
    assert lengths.ks_p_value < 0.05 and lengths.ks_statistic < 0.1
    assert lengths.psi < 0.1 and lengths.level == "no significant change"
    assert "though by little" in lengths.meaning and "50,000" in lengths.meaning
