"""Markup: HTML, control characters and mojibake found (and look-alikes not), strip_html, the demo's HTML rows."""

from __future__ import annotations

import pyarrow as pa
import pytest

from lib.quality.markup import find_markup, has_control_characters, has_html, has_mojibake, strip_html

HTML = [
    "<p>Hello</p>",
    "Line one<br>line two",
    'Read <a href="https://example.com/returns">our policy</a>.',
    "<div class='reply'>ok</div>",
    "<img src=x.png alt=''/>",
    "<input type=checkbox checked>",
    "Fish &amp; chips",
    "It&#39;s here",
    "Caf&eacute; &#x2014; open",
    "<!-- hidden note --> visible",
    "<!DOCTYPE html><title>x</title>",
    "<my-widget>custom element</my-widget>",
]
NOT_HTML = [
    "I <3 you",
    "if a < b and c > d then swap",
    "x <i and j> y",  # not an <i> tag: "and" is not an attribute
    "AT&T and Q&A and R&D",
    "fish &chips; and a lone & sign",  # "&chips;" is not an HTML entity
    "Autolink <https://example.com> and mail <bob@example.com>",
    "Generic List<String> in Java",
    "<<quoted>>",
]
CONTROL = ["null\x00byte", "bell\x07", "\x1b[31mred\x1b[0m", "delete\x7f", "C1 next line\x85here", "form\x0cfeed"]
NOT_CONTROL = ["tab\tseparated", "two\nlines", "windows\r\nline", "café naïve 中文 😀", "non\u00a0breaking space"]
MOJIBAKE = [
    "CafÃ© au lait",
    "Itâ€™s broken",
    "Ã¼ber alles",
    "ðŸ˜€ emoji",
    "Ð¿Ñ€Ð¸Ð²ÐµÑ‚",
    "Â£5 only",
    "â€œquotedâ€\x9d",
]
NOT_MOJIBAKE = ["Café au lait", "It’s fine", "über alles", "São Paulo", "naïve Größe", "CAFÉ’S MENU", "voilà…", "ÀÉÎÕÜ"]


@pytest.mark.parametrize("text", HTML)
def test_html_found(text):
    assert has_html(text)
    assert find_markup([text]).html == [0]


@pytest.mark.parametrize("text", NOT_HTML)
def test_not_html(text):
    assert not has_html(text)
    assert find_markup([text]).html == []
    assert strip_html(text) == text  # text without markup passes through the cleaner untouched


@pytest.mark.parametrize("text", CONTROL)
def test_control_characters_found(text):
    assert has_control_characters(text)
    assert find_markup([text]).control_characters == [0]


@pytest.mark.parametrize("text", NOT_CONTROL)
def test_tab_newline_and_printable_text_are_not_control_characters(text):
    assert not has_control_characters(text)
    assert find_markup([text]).control_characters == []


@pytest.mark.parametrize("text", MOJIBAKE)
def test_mojibake_found(text):
    assert has_mojibake(text)
    assert find_markup([text]).mojibake == [0]


@pytest.mark.parametrize("text", NOT_MOJIBAKE)
def test_accented_text_is_not_mojibake(text):
    assert not has_mojibake(text)
    assert find_markup([text]).mojibake == []


def test_column_scan_agrees_with_the_row_checks():
    texts = [*HTML, *NOT_HTML, *CONTROL, *NOT_CONTROL, *MOJIBAKE, *NOT_MOJIBAKE, None, ""] * 3
    found = find_markup(pa.array(texts))
    assert found.html == [i for i, t in enumerate(texts) if t and has_html(t)]
    assert found.control_characters == [i for i, t in enumerate(texts) if t and has_control_characters(t)]
    assert found.mojibake == [i for i, t in enumerate(texts) if t and has_mojibake(t)]
    # "â€œquotedâ€\x9d" is mojibake that also holds a C1 control (Latin-1 decoding leaves U+009D).
    assert found.counts() == {"html": 36, "control_characters": 21, "mojibake": 21}
    many = find_markup(texts * 1000)  # large enough for the threaded scans, rows numbered across slices
    assert many.counts() == {key: value * 1000 for key, value in found.counts().items()}
    assert many.mojibake[-1] == len(texts) * 1000 - len(texts) + found.mojibake[-1]


def test_strip_html():
    page = (
        "<html><head><style>p {color: red}</style></head><body><h1>Returns</h1>"
        "<p>Free within <b>60</b> days &amp; no questions.</p><!-- tracking -->"
        "<ul><li>Unused</li><li>With tags</li></ul><script>track('x')</script>"
        "<p>Caf&eacute; &lt;3</p></body></html>"
    )
    assert strip_html(page) == "Returns\nFree within 60 days & no questions.\nUnused\nWith tags\nCafé <3"
    assert strip_html("<p>One.</p>\n\n<p>Two.</p>") == "One.\n\nTwo."  # a blank line in the source stays
    assert strip_html("Best regards,<br><b>Northwind Support</b>") == "Best regards,\nNorthwind Support"
    assert strip_html("a < b <i and j> c") == "a < b <i and j> c"
    assert not has_html(strip_html('<div class="x">ok <a href="/y">link</a></div>'))


def test_demo_planted_html_rows_are_found_exactly(demo):
    texts, manifest = demo
    found = find_markup(texts)
    assert found.html == sorted(manifest["planted"]["html"])
    assert found.control_characters == [] and found.mojibake == []
    assert find_markup([strip_html(text) for text in texts]).html == []
