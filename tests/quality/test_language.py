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


def test_batched_detection_gives_py3langids_answer_for_each_text(demo):
    from lib.quality.language import detect_language

    texts, _manifest = demo
    tricky = [
        "SHOUTING IN CAPITALS IS LOWERED FIRST",
        "Zürich straße naïve façade",
        "Привет, как дела? Всё хорошо.",
        "東京タワーは高いです。",
        "مرحبا بكم في موقعنا",
        "🙂🙂🙂 ok",
        "\x00\x01 control \x1f",
        "e\u0301te\u0301",  # decomposed accents: NFC first
        "ab",  # too short
        "x" * 10_000,  # cut to 500 characters
        "",
        None,
    ]
    sample = texts[::7] + tricky
    assert detect_languages(sample) == [detect_language(text) for text in sample]


def test_detection_reports_progress_per_batch_and_batches_do_not_change_the_answer(demo):
    texts, _manifest = demo
    calls: list[tuple[int, int]] = []
    whole = detect_languages(texts[:900])
    assert detect_languages(texts[:900], progress=lambda done, total: calls.append((done, total)), every=400) == whole
    assert calls == [(400, 900), (800, 900), (900, 900)]
