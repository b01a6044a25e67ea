"""Markup and encoding damage: HTML tags or entities, control characters, mojibake; and `strip_html` for cleaning.

Vectorised like the PII check: pyarrow (RE2) prefilters pick the rows that may be affected, and Python confirms
on those rows only.
"""

from __future__ import annotations

import html
import re
from collections.abc import Callable, Sequence
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from html.entities import html5

import numpy as np
import pyarrow as pa

from lib.quality.pii import PARALLEL_ROWS, THREADS, as_string_array, regex_rows, string_buffers


def _names(text: str) -> frozenset[str]:
    return frozenset(text.split())


# HTML elements (WHATWG living standard) plus common obsolete ones still found in scraped pages. A "tag" whose
# name is not here ("<3", "a <b and c> d" aside) is left alone; custom elements (a hyphen in the name) count.
HTML_TAGS = _names(
    """a abbr address area article aside audio b base bdi bdo blockquote body br button canvas caption cite code
    col colgroup data datalist dd del details dfn dialog div dl dt em embed fieldset figcaption figure footer
    form h1 h2 h3 h4 h5 h6 head header hgroup hr html i iframe img input ins kbd label legend li link main map
    mark menu meta meter nav noscript object ol optgroup option output p param picture pre progress q rp rt
    ruby s samp script search section select slot small source span strong style sub summary sup svg table
    tbody td template textarea tfoot th thead time title tr track u ul var video wbr acronym applet basefont
    big blink center dir font frame frameset marquee nobr noframes strike tt"""
)
# Attributes without a value must be known boolean ones, so "x <i and j> y" is not read as an <i> tag.
_BOOLEAN_ATTRIBUTES = _names(
    """allowfullscreen async autofocus autoplay checked controls default defer disabled formnovalidate hidden
    inert ismap itemscope loop multiple muted nomodule novalidate nowrap open playsinline readonly required
    reversed selected"""
)
_TAG = re.compile(
    r"<(/?)([A-Za-z][A-Za-z0-9]*(?:-[A-Za-z0-9]+)*)"
    r"((?:\s+[A-Za-z_:@][-\w:.@]*(?:\s*=\s*(?:\"[^\"]*\"|'[^']*'|[^\s\"'=<>`]+))?)*)\s*/?>"
)
_ATTRIBUTE = re.compile(r"([A-Za-z_:@][-\w:.@]*)(\s*=\s*(?:\"[^\"]*\"|'[^']*'|[^\s\"'=<>`]+))?")
_COMMENT = re.compile(r"<!--.*?-->|<!DOCTYPE[^<>]*>|<!\[CDATA\[.*?\]\]>", re.DOTALL | re.IGNORECASE)
# Character references: numeric, or a named one from the HTML5 list, with the semicolon (so "AT&T" is text).
_ENTITY = re.compile(r"&(?:#[0-9]{1,7}|#[xX][0-9a-fA-F]{1,6}|[A-Za-z][A-Za-z0-9]{1,31});")
_NAMED_ENTITIES = frozenset(name for name in html5 if name.endswith(";"))
_SCRIPT_STYLE = re.compile(r"<(script|style)\b[^<>]*>.*?</\1\s*>", re.DOTALL | re.IGNORECASE)
_BLOCK_TAGS = _names(
    """address article aside blockquote body br dd details dialog div dl dt fieldset figcaption figure footer
    form h1 h2 h3 h4 h5 h6 head header hgroup hr html li main nav ol p pre section summary table tbody tfoot
    thead title tr ul"""
)

# C0 controls other than tab, line feed and carriage return; DEL; the C1 block (U+0080-U+009F).
_CONTROL = re.compile(r"[\x00-\x08\x0b\x0c\x0e-\x1f\x7f-\x9f]")

# Mojibake: UTF-8 bytes decoded as Windows-1252 (or Latin-1). A UTF-8 lead byte shows as one of Â..ô and each
# continuation byte (0x80-0xBF) as a Latin-1 character U+0080-U+00BF or as the Windows-1252 character at 0x80-0x9F.
_CP1252_HIGH = "€‚ƒ„…†‡ˆ‰Š‹ŒŽ‘’“”•–—˜™š›œžŸ"
_TO_BYTE = {char: byte for byte in range(0x80, 0xA0) if (char := bytes([byte]).decode("cp1252", "ignore"))}
_CONT = "[\u0080-\u00bf" + _CP1252_HIGH + "]"
_MOJIBAKE = re.compile(f"[\u00c2-\u00df]{_CONT}|[\u00e0-\u00ef]{_CONT}{{2}}|[\u00f0-\u00f4]{_CONT}{{3}}")
# A decoded two-byte character must be one that real text contains (Latin-1 and Latin Extended-A letters and
# symbols, Greek, Cyrillic, Hebrew, Arabic): "CAFÉ’S" would otherwise decode "É’" to U+0252.
_PLAUSIBLE_2BYTE = ((0x00A0, 0x017F), (0x0370, 0x03FF), (0x0400, 0x052F), (0x0590, 0x05FF), (0x0600, 0x06FF))

# RE2 prefilters (each a literal first byte, so a fast scan): supersets of what the Python check confirms.
_PRE_HTML = {"tag": r"<[A-Za-z/!]", "entity": r"&[#A-Za-z]"}
_SCAN_BYTES = 1 << 22  # bytes per step of the byte scan


@dataclass
class MarkupFindings:
    """Rows with HTML, with control characters, and with mojibake (each list ascending)."""

    html: list[int] = field(default_factory=list)
    control_characters: list[int] = field(default_factory=list)
    mojibake: list[int] = field(default_factory=list)

    def counts(self) -> dict[str, int]:
        """Rows per finding."""
        return {
            "html": len(self.html),
            "control_characters": len(self.control_characters),
            "mojibake": len(self.mojibake),
        }

    def to_dict(self) -> dict:
        """Counts and row indices, JSON-ready."""
        return {
            "counts": self.counts(),
            "rows": {"html": self.html, "control_characters": self.control_characters, "mojibake": self.mojibake},
        }


def _is_tag(match: re.Match) -> bool:
    name = match.group(2).lower()
    if name not in HTML_TAGS and "-" not in name:
        return False
    return all(
        value or attribute.lower() in _BOOLEAN_ATTRIBUTES for attribute, value in _ATTRIBUTE.findall(match.group(3))
    )


def _is_entity(match: re.Match) -> bool:
    text = match.group()
    return text[1] == "#" or text[1:] in _NAMED_ENTITIES


def has_html(text: str) -> bool:
    """True when the text holds an HTML tag, comment, doctype or character reference."""
    return (
        any(_is_tag(m) for m in _TAG.finditer(text))
        or _COMMENT.search(text) is not None
        or any(_is_entity(m) for m in _ENTITY.finditer(text))
    )


def has_control_characters(text: str) -> bool:
    """True when the text holds a C0 control other than tab, line feed and carriage return, DEL, or a C1 control."""
    return _CONTROL.search(text) is not None


def _decodes(sequence: str) -> bool:
    try:
        decoded = bytes(_TO_BYTE.get(char, ord(char)) for char in sequence).decode("utf-8")
    except (UnicodeDecodeError, ValueError):
        return False
    if len(sequence) == 2:
        return any(low <= ord(decoded) <= high for low, high in _PLAUSIBLE_2BYTE)
    return True


def has_mojibake(text: str) -> bool:
    """True when the text holds UTF-8 read as Windows-1252/Latin-1: "Ã©" for "é", "â€™" for "’"."""
    return any(_decodes(match.group()) for match in _MOJIBAKE.finditer(text))


def _confirmed(arr: pa.Array, rows: np.ndarray, check: Callable[[str], bool]) -> list[int]:
    if rows.size == 0:
        return []
    texts = arr.take(pa.array(rows)).to_pylist()
    return [int(row) for row, text in zip(rows, texts, strict=True) if check(text)]


def _scan(data: np.ndarray, start: int, stop: int) -> tuple[np.ndarray, np.ndarray]:
    """Byte positions in data[start:stop] of control characters, and of possible mojibake (Â..ô then a byte
    that can start one of the characters a UTF-8 continuation byte becomes in Windows-1252)."""
    window = data[start : min(stop + 2, data.size)]
    body = window[: stop - start]
    # One pass for the rare bytes: C0 controls, DEL, and the lead bytes C2 (C1 controls) and C3 (Â..ô).
    hits = np.flatnonzero((body < 32) | (body == 0x7F) | ((body & 0xFE) == 0xC2))
    padded = np.concatenate([window, np.zeros(2, dtype=np.uint8)])
    value, second, third = padded[hits], padded[hits + 1], padded[hits + 2]
    control = ((value < 32) & (value != 9) & (value != 10) & (value != 13)) | (value == 0x7F)
    control |= (value == 0xC2) & (second >= 0x80) & (second <= 0x9F)
    lead = (value == 0xC3) & (second >= 0x82) & (second <= 0xB4)
    follower = (third == 0xC2) | (third == 0xC5) | (third == 0xC6) | (third == 0xCB) | (third == 0xE2)
    return start + hits[control], start + hits[lead & follower]


def _byte_scan(arr: pa.Array) -> tuple[np.ndarray, np.ndarray]:
    """Rows with a control character (exact) and rows that may hold mojibake (to confirm), from the raw bytes."""
    data, offsets = string_buffers(arr)
    low, high = int(offsets[0]), int(offsets[-1])
    steps = [(start, min(start + _SCAN_BYTES, high)) for start in range(low, high, _SCAN_BYTES)]
    if len(arr) < PARALLEL_ROWS or THREADS == 1 or len(steps) < 2:
        found = [_scan(data, *step) for step in steps]
    else:
        with ThreadPoolExecutor(max_workers=THREADS) as executor:
            found = list(executor.map(lambda step: _scan(data, *step), steps))
    valid = ~arr.is_null().to_numpy(zero_copy_only=False)

    def rows_of(positions: list[np.ndarray]) -> np.ndarray:
        if not positions:
            return np.zeros(0, dtype=np.int64)
        rows = np.unique(np.searchsorted(offsets, np.concatenate(positions), side="right") - 1)
        return rows[valid[rows]]

    return rows_of([pair[0] for pair in found]), rows_of([pair[1] for pair in found])


def find_markup(texts: Sequence[str | None] | pa.Array | pa.ChunkedArray) -> MarkupFindings:
    """Rows with HTML tags or entities, with C0/C1 control characters (not tab/newline/CR), with mojibake."""
    arr = as_string_array(texts)
    if len(arr) == 0:
        return MarkupFindings()
    html_hits = regex_rows(arr, _PRE_HTML)
    control, maybe_mojibake = _byte_scan(arr)
    return MarkupFindings(
        html=_confirmed(arr, np.flatnonzero(html_hits["tag"] | html_hits["entity"]), has_html),
        control_characters=control.tolist(),
        mojibake=_confirmed(arr, maybe_mojibake, has_mojibake),
    )


_BREAK = "\ue000"  # a private-use character marks where a block element started or ended
_BREAKS = re.compile(f"\\s*{_BREAK}[\\s{_BREAK}]*")
_SPACES_AROUND_NEWLINE = re.compile(r"[ \t]*\n[ \t]*")


def _tag_replacement(match: re.Match) -> str:
    if not _is_tag(match):
        return match.group()
    name = match.group(2).lower()
    if name == "br":
        return "\n"
    return _BREAK if name in _BLOCK_TAGS else ""


def _entity_replacement(match: re.Match) -> str:
    return html.unescape(match.group()) if _is_entity(match) else match.group()


def _breaks(match: re.Match) -> str:
    # Block boundaries in a row make one line break; a blank line already in the text is kept.
    return "\n\n" if match.group().count("\n") >= 2 else "\n"


def strip_html(text: str) -> str:
    """Text without HTML: scripts, styles and comments dropped, tags removed (block elements and <br> become line
    breaks), character references unescaped. Text without markup is returned unchanged."""
    if not has_html(text):
        return text
    out = _SCRIPT_STYLE.sub(_BREAK, text)  # code and CSS are not text a reader sees
    out = _COMMENT.sub("", out)
    out = _TAG.sub(_tag_replacement, out)
    out = _BREAKS.sub(_breaks, out)
    out = _SPACES_AROUND_NEWLINE.sub("\n", out)
    out = _ENTITY.sub(_entity_replacement, out)
    return out.strip()
