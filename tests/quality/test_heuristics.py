"""Heuristic rules: a clean paragraph passes every rule; each crafted document fails its rule (and only the rules
datatrove's definitions make fail with it); the vectorised column path agrees with the per-row reference."""

from __future__ import annotations

import json
import random

import pyarrow as pa
import pytest

from lib.quality.heuristics import (
    DATATROVE_REASONS,
    FAMILIES,
    RULE_NAMES,
    RULES,
    apply_heuristics,
    rule_failures,
)
from lib.samples import write_samples

SENTENCES = [
    "The mountain trail climbs gently through old pine forest before it reaches the ridge.",
    "Hikers should carry enough water, because the springs near the summit often run dry in late summer.",
    "Rangers recommend starting early in the morning to avoid the afternoon storms that build over the peaks.",
    "The views from the top reward the effort with a wide panorama of lakes and valleys.",
    "Most visitors return to the parking area before sunset and share stories about their day.",
    "Dogs are welcome on a leash, and campers need a permit from the visitor centre.",
]
CLEAN = " ".join(SENTENCES)  # one line, 94 words, 6 sentences
CLEAN_LINES = "\n".join(SENTENCES)


def failures(text: str) -> list[str]:
    """The rules a row fails, from the column path, checked against the per-row reference."""
    column = apply_heuristics([text])
    found = [name for name in RULE_NAMES if column.failed[name] == [0]]
    assert found == rule_failures(text)
    return found


def test_clean_english_paragraph_passes_every_rule():
    # datatrove passes it too: 94 words (spaCy: ~105 tokens), mean word length ~4.7, stop words the/to/of/and/that,
    # no repeated lines or n-grams, 6 sentences on C4's kept line, a line ending in ".", 0 line breaks.
    assert failures(CLEAN) == []
    assert failures(CLEAN_LINES) == []


def test_rules_are_named_per_family_with_their_thresholds():
    assert {rule.family for rule in RULES} == set(FAMILIES)
    assert len(RULE_NAMES) == len(set(RULE_NAMES)) == 29
    by_name = {rule.name: rule for rule in RULES}
    assert "50" in by_name["gopher_word_count"].description and "100,000" in by_name["gopher_word_count"].description
    assert "20%" in by_name["gopher_top_2gram"].description and "10%" in by_name["gopher_dup_10gram"].description
    assert set(DATATROVE_REASONS.values()) == set(RULE_NAMES)


# --- Gopher quality ---------------------------------------------------------------------------------------------


def test_too_few_words():
    short = "The trail is steep. Bring water and snacks. Start early in the day. Storms come in the afternoon. " + (
        "Wear good boots for the rocks. Enjoy the view from the top."
    )
    assert len(short.split()) == 30
    assert failures(short) == ["gopher_word_count"]


def test_too_many_words():
    words = [f"item{i}" for i in range(100_010)]
    for i in range(0, len(words), 10):
        words[i + 9] += "."
    words[1], words[2] = "the", "and"
    assert failures(" ".join(words)) == ["gopher_word_count"]


def test_mean_word_length_too_long():
    text = (
        "The internationalization of telecommunications infrastructure accelerated unprecedented entrepreneurial "
        "opportunities everywhere. Administrative representatives acknowledged considerable organizational "
        "responsibilities notwithstanding bureaucratic disagreements. Environmental sustainability considerations "
        "fundamentally transformed manufacturing methodologies internationally. Interdisciplinary collaborations "
        "strengthened pharmaceutical investigations characterizing neurological abnormalities. Computational "
        "approximations demonstrated remarkable improvements throughout experimental simulations. Constitutional "
        "interpretations necessitated extraordinary deliberations regarding jurisdictional complications. "
        "Technological advancements revolutionized transportation logistics worldwide and communication networks."
    )
    assert failures(text) == ["gopher_mean_word_length"]


def test_too_many_hashes():
    # 14 hashtags in 109 words: 0.13 per word here; spaCy splits '#' off (123 tokens, 0.11), so datatrove agrees.
    tags = " ".join(f"#{word}" for word in str.split("hiking trails peaks summer outdoors nature camping ridge forest"))
    text = CLEAN + f" Tags: {tags} #views #adventure #lakes #valleys #sunset."
    assert failures(text) == ["gopher_hash_ratio"]


def test_too_many_ellipses():
    words = CLEAN.split()
    for i in range(2, 90, 8):  # 11 words trail off ("climbs…"): 11 / 94 > 0.1
        words[i] += "…"
    assert failures(" ".join(words)) == ["gopher_ellipsis_ratio"]


def test_bullet_lines():
    text = "\n".join(
        f"- {line}"
        for line in [
            "Pack enough water for the whole hike.",
            "Start early to avoid the afternoon storms.",
            "Wear sturdy boots with good grip on rocks.",
            "Keep your dog on a leash near the lake.",
            "Carry a map and a compass in your pack.",
            "Tell a friend where you plan to walk today.",
            "Check the weather forecast before you leave home.",
            "Leave no trace and take all litter with you.",
        ]
    )
    assert failures(text) == ["gopher_bullet_lines"]
    # A single line is one line: starting it with a bullet makes 100% bullet lines.
    assert failures("- " + CLEAN) == ["gopher_bullet_lines"]


def test_lines_ending_with_an_ellipsis():
    endings = [
        "And then the storm rolled in over the ridge...",
        "We waited under the overhang for an hour...",
        "Nobody expected what happened next on the trail...",
    ]
    assert failures("\n".join([CLEAN, *endings])) == ["gopher_ellipsis_lines"]


def test_too_few_words_with_a_letter():
    numbers = " ".join(str(101 + 37 * i) for i in range(30))
    assert failures(CLEAN + f" Trail markers {numbers}.") == ["gopher_alpha_words"]


def test_too_few_stop_words():
    # None of the, be, to, of, and, that, have, with (and "The" would not count: datatrove is case-sensitive).
    text = (
        "Mountain trails climb gently through old pine forest before reaching a rocky ridge. Hikers should carry "
        "enough water, because springs near each summit often run dry in late summer. Rangers recommend starting "
        "early in our mornings, avoiding afternoon storms which build over distant peaks. Views from every top "
        "reward any effort, offering a wide panorama across lakes or valleys. Most visitors return before sunset, "
        "sharing stories about their day. Dogs are welcome on a leash, but campers need a permit from a visitor centre."
    )
    assert failures(text) == ["gopher_stop_words"]
    assert failures(text.replace("across lakes", "across the lakes")) == ["gopher_stop_words"]  # one is not enough
    assert failures(text.replace("across lakes", "across the lakes and")) == []


# --- Gopher repetition ------------------------------------------------------------------------------------------


def test_duplicate_paragraphs_by_count():
    # Paragraphs: the six lines, "Thanks.", "Thanks." -> 1 of 3 repeats (33% > 30%) but holds 1% of the characters.
    # The repeated line is also 1.3% of the characters: FineWeb's threshold is 1%.
    text = CLEAN_LINES + "\n\nThanks.\n\nThanks."
    assert failures(text) == ["gopher_dup_para_fraction", "fineweb_dup_line_chars"]


def test_duplicate_lines_by_count():
    # 11 lines, 4 repeat "Ok." (36% > 30%); their characters are 2% (Gopher's limit is 20%, FineWeb's 1%).
    text = CLEAN_LINES + "\nOk." * 5
    assert failures(text) == ["gopher_dup_line_fraction", "fineweb_dup_line_chars"]


def test_document_pasted_twice():
    # Half the text repeats: every duplicate-paragraph, -line and -n-gram rule fires; no single n-gram dominates.
    assert failures(CLEAN + "\n\n" + CLEAN) == [
        "gopher_dup_para_fraction",
        "gopher_dup_para_chars",
        "gopher_dup_line_fraction",
        "gopher_dup_line_chars",
        *[f"gopher_dup_{n}gram" for n in range(5, 11)],
        "fineweb_dup_line_chars",
    ]


FILLERS = str.split("apples pears plums figs dates grapes cherries melons lemons limes kiwis berries")


def test_most_frequent_bigram():
    # "chocolate biscuits" x 12 covers 24% of the characters (> 20%); every trigram around it is different.
    text = CLEAN + " We packed " + " ".join(f"chocolate biscuits {fruit}" for fruit in FILLERS) + "."
    assert failures(text) == ["gopher_top_2gram"]


def test_most_frequent_trigram():
    # "dark chocolate biscuits" x 8: the trigram covers more than 18%, its bigrams at most 20%.
    text = CLEAN + " We packed " + " ".join(f"dark chocolate biscuits {fruit}" for fruit in FILLERS[:8]) + "."
    assert failures(text) == ["gopher_top_3gram"]


def test_most_frequent_4gram():
    phrase = "some dark chocolate biscuits"
    text = CLEAN + " We packed " + " ".join(f"{phrase} {fruit}" for fruit in FILLERS[:7]) + "."
    assert failures(text) == ["gopher_top_4gram"]


def test_repeated_10gram():
    # One 10-word phrase said twice: its 82 letters are 10.6% of the text (> 10%); the repeated 5..9-grams stay
    # under their higher thresholds (15%..11%) and no n-gram is frequent.
    phrase = "remember bringing waterproof trousers alongside comfortable thermal underwear during winter"
    text = CLEAN + f" Please {phrase} on cold nights. Guides say: {phrase} when camping."
    assert failures(text) == ["gopher_dup_10gram"]


# --- C4 -----------------------------------------------------------------------------------------------------------


def test_lorem_ipsum():
    assert failures(CLEAN + " Lorem ipsum dolor sit amet.") == ["c4_lorem_ipsum"]


def test_curly_bracket():
    assert failures(CLEAN + " Use the {name} placeholder in the greeting.") == ["c4_curly_bracket"]
    # C4 looks for "{" on the lines it keeps only: a line without terminal punctuation is dropped before that.
    assert failures(CLEAN_LINES + "\nconfig = {debug: true}") == []


def test_javascript_line():
    assert failures(CLEAN_LINES + "\nPlease enable JavaScript to view the trail map.") == ["c4_javascript"]
    # On a one-line document the javascript line is the whole text: C4 drops it and no sentence is left.
    assert failures(CLEAN + " Please enable JavaScript to view the map.") == ["c4_javascript", "c4_too_few_sentences"]


def test_too_few_sentences():
    text = CLEAN.replace("ridge. Hikers", "ridge; hikers").replace("summer. Rangers", "summer, and rangers")
    assert failures(text) == ["c4_too_few_sentences"]
    # Lines C4 drops hold no sentences: here one without terminal punctuation and one with a terms-of-use notice.
    lines = [*SENTENCES[:4], SENTENCES[4].rstrip("."), SENTENCES[5].replace("a permit", "to accept our terms of use")]
    assert failures("\n".join(lines)) == ["c4_too_few_sentences"]


# --- FineWeb ------------------------------------------------------------------------------------------------------


def test_few_lines_end_in_punctuation():
    notes = [
        "Trail conditions updated every Monday morning",
        "Parking fees apply from April until October",
        "Shuttle buses leave the village every half hour",
        "Mobile coverage is patchy above the tree line",
        "Water taps at the car park work in summer only",
        "Campfires are banned during the dry season here",
        "Mountain huts open when the snow has melted away",
        "Rescue teams can be reached through the park office",
    ]
    assert failures("\n".join([CLEAN, *notes])) == ["fineweb_line_punct"]  # 1 line of 9 ends in punctuation


def test_mostly_short_lines():
    text = "\n".join([CLEAN, "Thanks for reading.", "See you on the trail.", "Happy hiking to all."])
    assert failures(text) == ["fineweb_short_lines"]  # 3 of 4 lines have 30 characters or fewer


def test_duplicate_line_characters():
    text = CLEAN_LINES + "\nThanks for reading." * 2  # 3.4% of the characters repeat; 1 line in 8
    assert failures(text) == ["fineweb_dup_line_chars"]


def test_list_like_document():
    short = [
        "Pack warm socks.", "Bring the map.", "Close the gate.", "Check the weather.", "Fill your bottles.",
        "Carry a whistle.", "Wear bright colours.", "Watch your footing.", "Respect the wildlife.", "Stay on paths.",
        "Share the trail.", "Rest when tired.", "Eat regular snacks.", "Pack out litter.", "Talk to rangers.",
        "Charge your phone.", "Learn basic knots.", "Study the route.", "Mind the cliffs.", "Enjoy the silence.",
    ]  # fmt: skip
    long = [
        "Unforgettable panoramic viewpoints.", "Spectacular alpine wildflowers.", "Knowledgeable volunteer rangers.",
        "Comfortable waterproof footwear.", "Breathtaking glacier reflections.", "Remarkable geological formations.",
        "Challenging switchback sections.", "Peaceful lakeshore campgrounds.", "Historic shepherding cottages nearby.",
        "Unexpected afternoon thunderstorms.", "Dramatic limestone escarpments.",
    ]  # fmt: skip
    assert all(len(line) <= 30 for line in short) and all(len(line) > 30 for line in long)
    # 30 line breaks for 94 words (> 0.3); 20 of 31 lines are short (65%, under FineWeb's 67%).
    assert failures("\n".join(short + long)) == ["fineweb_list_ratio"]


# --- The column path ----------------------------------------------------------------------------------------------


def test_empty_rows_are_skipped():
    texts = ["", "   ", None, "\n\t", "\u00a0\u2003", CLEAN, "ok"]
    found = apply_heuristics(texts)
    failing_rows = {row for rows in found.failed.values() for row in rows}
    assert failing_rows == {6}  # "ok" fails; the empty rows are in no rule's list
    assert rule_failures("  \n") == [] and rule_failures(None) == []


def test_families_progress_and_inputs():
    calls = []
    found = apply_heuristics(pa.array([CLEAN, "ok"]), families=["c4"], progress=lambda done, total: calls.append(done))
    assert set(found.failed) == {rule.name for rule in RULES if rule.family == "c4"}
    assert found.counts() == {"c4_lorem_ipsum": 0, "c4_curly_bracket": 0, "c4_javascript": 0, "c4_too_few_sentences": 1}
    assert calls and calls[-1] == 2
    with pytest.raises(ValueError, match="Unknown heuristic families"):
        apply_heuristics(["x"], families=["gopher", "c4"])
    assert apply_heuristics([]).counts() == dict.fromkeys(RULE_NAMES, 0)


_TOKENS = str.split(
    "the be to of and that have with The a in is it cat dog sat mat. end. Yes! Why? \"quoted.\" (paren.) 'single.' — "
    "– … ... # #tag - • lorem ipsum javascript { {x} terms of use cookie [1] [edit] café naïve Größe 中文 € 3.5 "
    "2026 e.g. ” ’ » ”. .” 。 ！ ? ! . , x y z aa bb",
    " ",
)
_SEPARATORS = [" "] * 30 + ["  ", "\t", "\n", "\n\n", " \n", "\r\n", "\u00a0", "\x0b", "\x1f", "\x00", "\u2028"]


def _random_document(rng: random.Random) -> str | None:
    words = [rng.choice(_TOKENS) for _ in range(rng.choice([0, 1, 3, 10, 49, 50, 60, 120]))]
    if rng.random() < 0.25 and words:
        words = words[: rng.randint(1, 12)] * rng.randint(2, 5) + words  # repetition
    if rng.random() < 0.05:
        words.insert(0, "x" * 1001)
    separators = _SEPARATORS if rng.random() < 0.3 else [" "]
    text = "".join(word + rng.choice(separators) for word in words)
    text = text.rstrip() if rng.random() < 0.5 else text
    return rng.choice(["", " ", None, "…", "-"]) if rng.random() < 0.03 else text


def test_column_path_agrees_with_the_row_reference():
    rng = random.Random(11)
    texts = [_random_document(rng) for _ in range(2500)]
    found = apply_heuristics(texts)
    expected = {name: [] for name in RULE_NAMES}
    for row, text in enumerate(texts):
        for name in rule_failures(text):
            expected[name].append(row)
    assert found.failed == expected
    assert sum(found.counts().values()) > 5000  # the random documents fail plenty of rules: the check has teeth


def test_demo_log_dumps_are_flagged_and_the_column_path_agrees(tmp_path):
    write_samples(tmp_path)
    with (tmp_path / "support_conversations.jsonl").open(encoding="utf-8") as handle:
        rows = [json.loads(line) for line in handle]
    texts = ["\n".join(f"{m['role']}: {m['content']}" for m in row["messages"]) for row in rows]
    planted = json.loads((tmp_path / "manifest.json").read_text(encoding="utf-8"))["planted"]
    found = apply_heuristics(texts)
    # The ten rows with a pasted checkout log: long machine tokens, lines without terminal punctuation.
    assert found.failed["gopher_mean_word_length"] == sorted(planted["very_long"])
    assert found.failed["fineweb_line_punct"] == sorted(planted["very_long"])
    expected = {name: [] for name in RULE_NAMES}
    for row, text in enumerate(texts):
        for name in rule_failures(text):
            expected[name].append(row)
    assert found.failed == expected
