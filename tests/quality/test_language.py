"""Language per row, offline, and the mix the page charts."""

from __future__ import annotations

from lib.quality.language import detect_languages, language_mix
from lib.quality.normalize import is_empty, normalize


def test_languages_are_told_apart_and_empty_rows_are_unknown():
    found = detect_languages([
        "My order has not arrived yet and I would like to know where it is.",
        "Ma commande n'est pas encore arrivée, pouvez-vous m'aider ?",
        "Mi pedido todavía no ha llegado, ¿me pueden ayudar?",
        "Meine Bestellung ist noch nicht angekommen, können Sie mir helfen?",
        "   ",
    ])  # fmt: skip
    assert found == ["en", "fr", "es", "de", "unknown"]
    assert language_mix(["en", "en", "fr"]) == {"en": 2, "fr": 1}


def test_normalisation_makes_case_width_and_spacing_variants_equal():
    assert normalize("  Refund\u00a0 REQUEST\n") == normalize("refund request") == "refund request"
    assert normalize("Ｆｕｌｌ width") == "full width"  # NFKC
    assert is_empty(" \n\t\u00a0") and is_empty(None) and not is_empty(".")
