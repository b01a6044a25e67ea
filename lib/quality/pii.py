"""PII by pattern plus checksum: email, phone, credit card (Luhn), IBAN (mod 97), IPv4/IPv6, US SSN and secrets.

The recognisers follow Microsoft Presidio's pattern recognisers
(presidio-analyzer/presidio_analyzer/predefined_recognizers/generic/{email,credit_card,iban,ip}_recognizer.py,
country_specific/us/us_ssn_recognizer.py) and, for secrets, gitleaks' rules (config/gitleaks.toml). Presidio's
phone recogniser needs the `phonenumbers` package; phones here are patterns (see `_PHONE`).

Speed: a row is looked at in Python only when a cheap pyarrow (RE2, C++) prefilter says it may hold PII; on
typical text that is a few percent of the rows. Every Python pattern below is matched only on rows its RE2
prefilter accepts, so each prefilter must accept a superset of what its pattern matches.
"""

from __future__ import annotations

import ipaddress
import os
import re
from collections.abc import Callable, Iterable, Mapping, Sequence
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from typing import Any

import numpy as np
import pandas as pd
import pyarrow as pa
import pyarrow.compute as pc

PII_TYPES = ("email", "phone", "credit_card", "iban", "ip", "ssn", "secret")
PLACEHOLDERS = {kind: f"[{kind.upper()}]" for kind in PII_TYPES}
MAX_EXAMPLES = 5
# When two matches overlap, the earlier type here keeps the text: a JWT is not an email, a card is not a phone.
PRIORITY = ("secret", "email", "iban", "credit_card", "ssn", "ip", "phone")


@dataclass
class PiiFindings:
    """Rows containing each PII type (validated matches only) and a few masked examples per type."""

    rows: dict[str, list[int]] = field(default_factory=lambda: {kind: [] for kind in PII_TYPES})
    examples: dict[str, list[tuple[int, str]]] = field(default_factory=lambda: {kind: [] for kind in PII_TYPES})

    def counts(self) -> dict[str, int]:
        """Rows containing each type; every type present, 0 when none."""
        return {kind: len(self.rows.get(kind, [])) for kind in PII_TYPES}

    def to_dict(self) -> dict:
        """Counts, row indices and masked examples, JSON-ready."""
        return {
            "counts": self.counts(),
            "rows": {kind: list(self.rows.get(kind, [])) for kind in PII_TYPES},
            "examples": {kind: [list(pair) for pair in self.examples.get(kind, [])] for kind in PII_TYPES},
        }


@dataclass(frozen=True)
class PiiMatch:
    """One validated match: where it is, its type and the text."""

    start: int
    end: int
    kind: str
    text: str


# ---------------------------------------------------------------------------------------------------------------
# Arrow input
# ---------------------------------------------------------------------------------------------------------------


def as_string_array(texts: Sequence[str | None] | pa.Array | pa.ChunkedArray | Any) -> pa.Array:
    """The texts as one pyarrow large_string array (no copy when they already are one; nulls for None)."""
    if isinstance(texts, pa.ChunkedArray):
        arr: pa.Array = texts.combine_chunks() if texts.num_chunks != 1 else texts.chunk(0)
    elif isinstance(texts, pa.Array):
        arr = texts
    elif isinstance(texts, pd.Series | pd.Index):  # arrow-backed strings convert without copying the text
        converted = pa.array(texts, from_pandas=True)
        arr = converted.combine_chunks() if isinstance(converted, pa.ChunkedArray) else converted
    else:
        arr = pa.array(texts if isinstance(texts, list) else list(texts), type=pa.large_string())
    if arr.type != pa.large_string():
        # string -> large_string rewrites the offsets only; string_view and dictionary arrays are decoded.
        arr = arr.cast(pa.large_string())
    return arr


THREADS = max(1, min(4, os.cpu_count() or 1))
# Below this many rows a check runs in the calling thread: the profiler already runs blocks of rows on every core,
# and a thread pool per small call would only add threads fighting for them.
PARALLEL_ROWS = 50_000


def _matches(arr: pa.Array, pattern: str) -> np.ndarray:
    """Rows where the RE2 pattern matches somewhere (False for nulls), as a numpy bool array."""
    if len(arr) == 0:
        return np.zeros(0, dtype=bool)
    hit = pc.match_substring_regex(arr, pattern)
    return hit.fill_null(False).to_numpy(zero_copy_only=False)


def regex_rows(arr: pa.Array, patterns: Mapping[str, str]) -> dict[str, np.ndarray]:
    """For each named RE2 pattern, the rows where it matches (bool array). pyarrow's kernels release the GIL, so
    the column is cut in slices scanned by THREADS threads (a scan costs ~0.05 s per million short rows for a
    literal, ~0.8 s for a character class or an alternation, on one core)."""
    if len(arr) < PARALLEL_ROWS or THREADS == 1:
        return {name: _matches(arr, pattern) for name, pattern in patterns.items()}
    step = -(-len(arr) // THREADS)
    slices = [arr.slice(start, step) for start in range(0, len(arr), step)]
    with ThreadPoolExecutor(max_workers=THREADS) as executor:
        parts = {
            name: [executor.submit(_matches, part, pattern) for part in slices] for name, pattern in patterns.items()
        }
        return {name: np.concatenate([future.result() for future in futures]) for name, futures in parts.items()}


def string_buffers(arr: pa.Array) -> tuple[np.ndarray, np.ndarray]:
    """The UTF-8 bytes and the row offsets (len + 1, int64) of a large_string array, without copying."""
    offsets = np.frombuffer(arr.buffers()[1], dtype=np.int64)[arr.offset : arr.offset + len(arr) + 1]
    data_buffer = arr.buffers()[2]
    data = np.frombuffer(data_buffer, dtype=np.uint8) if data_buffer is not None else np.zeros(0, dtype=np.uint8)
    return data, offsets


# ---------------------------------------------------------------------------------------------------------------
# Recognisers: a Python pattern, a validator, a mask for display, and an RE2 prefilter accepting a superset
# ---------------------------------------------------------------------------------------------------------------

# Email: Presidio's EmailRecognizer pattern, simplified to RFC 5322's atext local part and dot-separated labels
# with an alphabetic top-level domain. Presidio validates with tldextract (a suffix list we do not ship); we
# refuse only the file extensions that make `logo@2x.png` look like an address.
_EMAIL = re.compile(
    r"(?<![\w.!#$%&'*+/=?^`{|}~-])"
    r"[\w!#$%&'*+/=?^`{|}~-]+(?:\.[\w!#$%&'*+/=?^`{|}~-]+)*"
    r"@(?:[^\W_](?:[\w-]*[^\W_])?\.)+[^\W\d_]{2,63}(?![\w-])"
)
_NOT_TLDS = frozenset(["png", "jpg", "jpeg", "gif", "svg", "webp", "bmp", "ico", "css", "js", "tif", "tiff"])

# Phone (no Presidio pattern: it uses `phonenumbers`). Three shapes, each with 7-15 digits (E.164's maximum):
#   international  +CC then groups:        +44 20 7946 0958, +1 (555) 234-5678, +33 1 23 45 67 89
#   NANP                                   (555) 234-5678, 555-234-5678, 555.234.5678 (one separator throughout)
#   trunk-prefixed national, 9+ digits     020 7946 0958, 030-1234 5678, 01 23 45 67 89
# Bare digit runs (order, payment and tracking numbers) are never phones, nor is anything glued to a word or
# a number: NW-514002, 2026-10-06T08:35, $1,234.56, 10:30, 192.168.0.1 and card numbers do not match.
_PHONE = re.compile(
    r"(?<![\w+/.,-])(?:"
    r"\+[1-9]\d{0,2}[ .-]?(?:\(\d{1,4}\)[ .-]?)?\d{1,4}(?:[ .-]?\d{1,4}){1,5}"
    r"|\(\d{3}\)[ .-]?\d{3}[ .-]\d{4}"
    r"|\d{3}([.-])\d{3}\1\d{4}"
    r"|0\d{1,4}[ -]\d{2,4}(?:[ -]\d{2,4}){1,3}"
    r")(?![\w-]|[.,:/]\d)"
)
_NANP = re.compile(r"\(?(\d{3})\)?[ .-]?(\d{3})[ .-](\d{4})")
_SSN_SHAPE = re.compile(r"\d{3}-\d{2}-\d{4}")

# Credit card: 13-19 digits, alone or in groups of 3-6 split by one kind of separator, starting like a card
# network's number (Presidio's "All Credit Cards (weak)" pattern allows 1, 3, 4, 5, 6; we add 2 for Mastercard's
# 2-series), valid by Luhn (Presidio's validate_result). A card-shaped number that fails Luhn is not reported
# at all: not a card, and not a phone either (no phone shape has 13+ digits in these groups).
_CARD = re.compile(r"(?<![\w+.,/-])[1-6](?:\d{12,18}|\d{2,5}([ -])\d{2,6}(?:\1\d{2,6}){0,4})(?!\w|[.,/-]\d)")

# IBAN: Presidio's IbanRecognizer pattern (country, check digits, groups of four, a short tail), then the
# country's length (the SWIFT IBAN registry, as Presidio's iban_patterns.py) and ISO 7064 mod 97 == 1.
_IBAN = re.compile(r"(?<![A-Za-z0-9])[A-Z]{2}\d{2}(?:[ -]?[A-Z0-9]{4}){2,7}(?:[ -]?[A-Z0-9]{1,3})?(?![A-Za-z0-9])")
IBAN_LENGTHS = {
    "AD": 24, "AE": 23, "AL": 28, "AT": 20, "AZ": 28, "BA": 20, "BE": 16, "BG": 22, "BH": 22, "BI": 27, "BR": 29,
    "BY": 28, "CH": 21, "CR": 22, "CY": 28, "CZ": 24, "DE": 22, "DJ": 27, "DK": 18, "DO": 28, "EE": 20, "EG": 29,
    "ES": 24, "FI": 18, "FK": 18, "FO": 18, "FR": 27, "GB": 22, "GE": 22, "GI": 23, "GL": 18, "GR": 27, "GT": 28,
    "HN": 28, "HR": 21, "HU": 28, "IE": 22, "IL": 23, "IQ": 23, "IS": 26, "IT": 27, "JO": 30, "KW": 30, "KZ": 20,
    "LB": 28, "LC": 32, "LI": 21, "LT": 20, "LU": 20, "LV": 21, "LY": 25, "MC": 27, "MD": 24, "ME": 22, "MK": 19,
    "MN": 20, "MR": 27, "MT": 31, "MU": 30, "NI": 28, "NL": 18, "NO": 15, "OM": 23, "PK": 24, "PL": 28, "PS": 29,
    "PT": 25, "QA": 29, "RO": 24, "RS": 22, "RU": 33, "SA": 24, "SC": 31, "SD": 18, "SE": 24, "SI": 19, "SK": 24,
    "SM": 27, "SO": 23, "ST": 25, "SV": 28, "TL": 23, "TN": 24, "TR": 26, "UA": 29, "VA": 22, "VG": 24, "XK": 20,
    "YE": 30,
}  # fmt: skip

# IP: Presidio's IpRecognizer octets and IPv6 forms, validated with `ipaddress` (as its invalidate_result).
# Not after a letter or dot ("v1.2.3.4", "1.2.3.4.5" are versions), not before another ".digit".
_OCTET = r"(?:25[0-5]|2[0-4][0-9]|[01]?[0-9][0-9]?)"
_IPV4 = rf"(?<![\w.]){_OCTET}(?:\.{_OCTET}){{3}}(?!\w|\.\d)"
_H = r"[0-9A-Fa-f]{1,4}"
_IPV6 = (
    r"(?<![\w:.])(?:"
    rf"(?:{_H}:){{7}}{_H}|(?:{_H}:){{1,7}}:|(?:{_H}:){{1,6}}:{_H}|(?:{_H}:){{1,5}}(?::{_H}){{1,2}}"
    rf"|(?:{_H}:){{1,4}}(?::{_H}){{1,3}}|(?:{_H}:){{1,3}}(?::{_H}){{1,4}}|(?:{_H}:){{1,2}}(?::{_H}){{1,5}}"
    rf"|{_H}:(?::{_H}){{1,6}}|:(?::{_H}){{1,7}}"
    rf"|(?:{_H}:){{6}}\d{{1,3}}(?:\.\d{{1,3}}){{3}}|(?:{_H}:){{0,5}}:(?:{_H}:){{0,4}}\d{{1,3}}(?:\.\d{{1,3}}){{3}}"
    r")(?![\w:]|\.\d)"
)
# IPv6 first: its embedded-IPv4 forms contain an IPv4 address.
_IP = re.compile(f"{_IPV6}|{_IPV4}")

# US SSN: Presidio's UsSsnRecognizer "SSN3" shape AAA-GG-SSSS (dashes only; its space and dot variants match
# too many ordinary numbers), with its invalidate_result: no 000/666/9xx area, no 00 group, no 0000 serial,
# not one digit repeated, not the published sample numbers.
_SSN = re.compile(r"(?<![\w-])(\d{3})-(\d{2})-(\d{4})(?![\w-]|[.,]\d)")
_SSN_SAMPLES = ("123456789", "98765432", "078051120")

# Secrets: gitleaks rules (config/gitleaks.toml) for keys with a known prefix.
_SECRET_PATTERNS = {
    "private key": r"-----BEGIN[ A-Z0-9_-]{0,100}PRIVATE KEY(?: BLOCK)?-----"
    r"(?:[\s\S]{0,20000}?-----END[ A-Z0-9_-]{0,100}PRIVATE KEY(?: BLOCK)?-----)?",  # gitleaks: private-key
    "AWS access key": r"\b(?:A3T[A-Z0-9]|AKIA|ASIA|ABIA|ACCA)[A-Z2-7]{16}\b",  # aws-access-token
    "GitHub token": r"\bgh[pousr]_[0-9A-Za-z]{36}\b|\bgithub_pat_\w{82}\b",  # github-pat, -fine-grained-pat, ...
    "Slack token": r"\bxox[abposre]-[0-9A-Za-z]+(?:-[0-9A-Za-z]+)+",  # slack-bot/user/legacy-token
    "OpenAI/Anthropic key": r"\bsk-(?:proj-|svcacct-|admin-|ant-api03-)?[A-Za-z0-9_-]{20,}",  # openai-api-key
    "Stripe key": r"\b[sr]k_(?:live|test|prod)_[A-Za-z0-9]{10,99}\b",  # stripe-access-token
    "Google API key": r"\bAIza[\w-]{35}(?![\w-])",  # gcp-api-key
    "Hugging Face token": r"\bhf_[A-Za-z]{34}\b",  # huggingface-access-token
    "JWT": r"\bey[a-zA-Z0-9]{17,}\.ey[a-zA-Z0-9/\\_-]{17,}\.(?:[a-zA-Z0-9/\\_-]{10,}={0,2})?",  # jwt
}
_SECRET = re.compile("|".join(f"(?:{p})" for p in _SECRET_PATTERNS.values()))

# RE2 prefilters (pyarrow). Each accepts at least every row its Python pattern can match *and validate*. RE2 has
# no lookbehind: "(?:^|[^...])" stands in for it (it consumes a character, which a yes/no filter may).
_PRE_EMAIL = "@"
_PRE_SECRET = (
    r"A3T|AKIA|ASIA|ABIA|ACCA|gh[pousr]_|github_pat_|xox[abposre]-|sk-|[sr]k_|AIza|hf_|PRIVATE KEY|ey[a-zA-Z0-9]{17}"
)
# Every digit-bearing type, in one pass; the type prefilters below then run on the rows it accepts only.
_PRE_NUMERIC = r"\d[\d \-.()/]{5,}\d|\+\d|[A-Z]{2}\d\d|::|:[0-9A-Fa-f]{1,4}:[0-9A-Fa-f]{1,4}:"
_PRE_TYPES = {
    # A valid card has 13+ digits: unseparated, or in 3+ groups whose later groups have 3+ digits.
    "credit_card": r"(?:^|[^\w+.,/-])[1-6](?:\d{12}|\d{2,5}[ -]\d{3,6}[ -]\d{3})",
    "ssn": r"(?:^|[^\w-])\d{3}-\d{2}-\d{4}",
    "phone": r"(?:^|[^\w+/.,-])(?:\+[1-9]|\([2-9]\d\d\)[ .-]?[2-9]\d\d[ .-]\d{4}|[2-9]\d\d[.-][2-9]\d\d[.-]\d{4}"
    r"|0\d{1,4}[ -]\d{2,4}[ -]\d{2})",
    # A valid IPv6 address holds "::" or, written out, six or seven colons between hex groups.
    "ip": r"(?:^|[^\w.])\d{1,3}\.\d{1,3}\.\d{1,3}\.\d{1,3}|::|:[0-9A-Fa-f]{1,4}:[0-9A-Fa-f]{1,4}:",
    "iban": "(?:" + "|".join(sorted(IBAN_LENGTHS)) + r")\d\d",
}


def luhn_valid(digits: str) -> bool:
    """The Luhn checksum of a digit string (Presidio's CreditCardRecognizer.__luhn_checksum)."""
    total = 0
    for position, char in enumerate(reversed(digits)):
        value = ord(char) - 48
        if position % 2:
            value *= 2
            if value > 9:
                value -= 9
        total += value
    return total % 10 == 0


def iban_valid(candidate: str) -> bool:
    """True for a compact IBAN (no separators) of its country's length whose mod-97 remainder is 1."""
    if IBAN_LENGTHS.get(candidate[:2]) != len(candidate) or not candidate[2:4].isdigit():
        return False
    rearranged = candidate[4:] + candidate[:4]
    number = "".join(str(int(char, 36)) for char in rearranged)  # A=10 ... Z=35 (ISO 13616)
    return int(number) % 97 == 1


def _digits(text: str) -> str:
    return "".join(char for char in text if char.isdigit())


def _valid_email(match: re.Match) -> str | None:
    text = match.group()
    return text if text.rsplit(".", 1)[-1].lower() not in _NOT_TLDS else None


def _valid_phone(match: re.Match) -> str | None:
    text = match.group()
    digits = _digits(text)
    if not 7 <= len(digits) <= 15 or len(set(digits)) == 1 or _SSN_SHAPE.fullmatch(text):
        return None  # an SSN-shaped number (valid or not) is never a phone
    if text.startswith("+"):
        return text if len(digits) >= 8 else None
    if text.startswith("0"):
        return text if len(digits) >= 9 else None
    nanp = _NANP.fullmatch(text)
    # North American numbers: area code and exchange start with 2-9 (123-456-7890 is not a number).
    if nanp is None or nanp.group(1)[0] in "01" or nanp.group(2)[0] in "01":
        return None
    return text


def _valid_card(match: re.Match) -> str | None:
    text = match.group()
    separators = {char for char in text if not char.isdigit()}
    if len(separators) > 1:
        return None
    digits = _digits(text)
    if not 13 <= len(digits) <= 19 or len(set(digits)) == 1:
        return None
    if separators and any(len(group) < 3 for group in re.split(r"[ -]", text)[1:]):
        return None
    return text if luhn_valid(digits) else None


def _iban_spans(text: str) -> Iterable[tuple[int, int]]:
    """Presidio's fallback: the match, then shorter prefixes ending at a group boundary, until one validates."""
    for match in _IBAN.finditer(text):
        start, found = match.start(), match.group()
        length = IBAN_LENGTHS.get(found[:2])
        if length is None:
            continue
        kept = 0
        for end, char in enumerate(found, 1):
            if char not in " -":
                kept += 1
            if kept == length:
                if (end == len(found) or found[end] in " -") and iban_valid(re.sub(r"[ -]", "", found[:end])):
                    yield start, start + end
                break


def _valid_ip(match: re.Match) -> str | None:
    text = match.group()
    try:
        address = ipaddress.ip_address(text)
    except ValueError:
        return None
    # "::", "::1" and "a::b" are valid IPv6 but mostly code (C++ scopes, Rust paths), not addresses.
    if address.version == 6 and sum(char in "0123456789abcdefABCDEF" for char in text) < 4:
        return None
    return text


def _valid_ssn(match: re.Match) -> str | None:
    area, group, serial = match.groups()
    digits = area + group + serial
    if area in ("000", "666") or area[0] == "9" or group == "00" or serial == "0000" or len(set(digits)) == 1:
        return None
    return None if digits.startswith(_SSN_SAMPLES) else match.group()


def _valid_secret(match: re.Match) -> str | None:
    text = match.group()
    if text.startswith("sk-"):
        # Keys are random base62: letters and digits. "sk-learn-compatible-estimators" is not a key.
        body = text.split("-", 2)[-1] if text.count("-") > 1 else text[3:]
        if not (re.search(r"\d", body) and re.search(r"[A-Za-z]", body)):
            return None
    return text


def _pattern_spans(pattern: re.Pattern, validate: Callable[[re.Match], str | None]) -> Callable[[str], list]:
    def spans(text: str) -> list[tuple[int, int]]:
        return [match.span() for match in pattern.finditer(text) if validate(match) is not None]

    return spans


_FINDERS: dict[str, Callable[[str], Iterable[tuple[int, int]]]] = {
    "secret": _pattern_spans(_SECRET, _valid_secret),
    "email": _pattern_spans(_EMAIL, _valid_email),
    "iban": _iban_spans,
    "credit_card": _pattern_spans(_CARD, _valid_card),
    "ssn": _pattern_spans(_SSN, _valid_ssn),
    "ip": _pattern_spans(_IP, _valid_ip),
    "phone": _pattern_spans(_PHONE, _valid_phone),
}


_LONG_TEXT = 1 << 16  # characters: a longer text is searched line by line, its lines prefiltered by RE2
_PRIVATE_KEY = re.compile(_SECRET_PATTERNS["private key"])


def find_matches(text: str, kinds: Iterable[str] = PII_TYPES) -> list[PiiMatch]:
    """Every validated PII match in one text, overlaps resolved by PRIORITY, in text order."""
    if len(text) > _LONG_TEXT and "\n" in text:
        return _find_by_line(text, set(kinds))
    wanted = set(kinds)
    taken: list[tuple[int, int]] = []
    found: list[PiiMatch] = []
    for kind in PRIORITY:
        if kind not in wanted:
            continue
        for start, end in _FINDERS[kind](text):
            if any(start < other_end and other_start < end for other_start, other_end in taken):
                continue
            taken.append((start, end))
            found.append(PiiMatch(start, end, kind, text[start:end]))
    return sorted(found, key=lambda match: match.start)


def _find_by_line(text: str, kinds: set[str]) -> list[PiiMatch]:
    """find_matches for a long text: only a private key spans lines, so the lines RE2 accepts are searched one by
    one (Python's `re` tries its alternations at every position: minutes on a 50 MB row, a second this way)."""
    found: list[PiiMatch] = []
    if "secret" in kinds and "PRIVATE KEY" in text:
        found = [PiiMatch(*m.span(), "secret", m.group()) for m in _PRIVATE_KEY.finditer(text)]
    lines = text.split("\n")
    starts = np.zeros(len(lines), dtype=np.int64)
    np.cumsum([len(line) + 1 for line in lines[:-1]], out=starts[1:])
    for row, line_kinds in sorted(_row_kinds(_candidates(pa.array(lines, type=pa.large_string()))).items()):
        offset = int(starts[row])
        for match in find_matches(lines[row], [kind for kind in line_kinds if kind in kinds]):
            start, end = match.start + offset, match.end + offset
            if not any(start < block.end and block.start < end for block in found if block.kind == "secret"):
                found.append(PiiMatch(start, end, match.kind, match.text))
    return sorted(found, key=lambda match: match.start)


# ---------------------------------------------------------------------------------------------------------------
# Masking for display
# ---------------------------------------------------------------------------------------------------------------


def _mask_alnum(text: str, head: int, tail: int) -> str:
    """Letters and digits replaced by '*' except the first `head` and last `tail` of them."""
    total = sum(char.isalnum() for char in text)
    seen, out = 0, []
    for char in text:
        if char.isalnum():
            seen += 1
            out.append(char if seen <= head or seen > total - tail else "*")
        else:
            out.append(char)
    return "".join(out)


def mask(kind: str, text: str) -> str:
    """A display form that shows the shape but not the value: 'j***@example.com', '**** **** **** 4242'."""
    if kind == "email":
        local, _, domain = text.partition("@")
        return f"{local[:1]}***@{domain}"
    if kind in ("credit_card", "ssn"):
        return _mask_alnum(text, 0, 4)  # separators kept, so the shape stays readable
    if kind == "phone":
        return _mask_alnum(text, 0, 2)
    if kind == "iban":
        return _mask_alnum(text, 2, 4)
    if kind == "ip":
        if ":" in text:
            return text.split(":", 1)[0] + ":" + re.sub(r"[0-9A-Fa-f]", "*", text.split(":", 1)[1])
        first, *rest = text.split(".")
        return ".".join([first, *("*" * len(part) for part in rest)])
    if text.startswith("-----BEGIN"):
        return text.split("-----", 2)[1].join(["-----", "----- [...]"])
    return text[:4] + "*" * min(len(text) - 4, 16)


# ---------------------------------------------------------------------------------------------------------------
# Finding and redacting across rows
# ---------------------------------------------------------------------------------------------------------------


def _candidates(arr: pa.Array) -> dict[str, np.ndarray]:
    """Per type, the rows (ascending) its RE2 prefilter accepts; only these are matched in Python."""
    everything = np.arange(len(arr))
    # One full scan (a DFA scan costs the same for one alternative or twenty), then each type on its rows only.
    full = regex_rows(arr, {"email": _PRE_EMAIL, "other": f"{_PRE_NUMERIC}|{_PRE_SECRET}"})
    maybe = everything[full["other"]]
    subset = arr.take(pa.array(maybe)) if maybe.size < len(arr) else arr
    found = {kind: maybe[hit] for kind, hit in regex_rows(subset, {"secret": _PRE_SECRET, **_PRE_TYPES}).items()}
    found["email"] = everything[full["email"]]
    return found


def _row_kinds(candidates: dict[str, np.ndarray]) -> dict[int, list[str]]:
    per_row: dict[int, list[str]] = {}
    for kind in PII_TYPES:
        for row in candidates[kind].tolist():
            per_row.setdefault(row, []).append(kind)
    return per_row


def _texts_at(arr: pa.Array, rows: list[int]) -> list[str]:
    return arr.take(pa.array(rows, type=pa.int64())).to_pylist() if rows else []


def find_pii(texts: Sequence[str | None] | pa.Array | pa.ChunkedArray) -> PiiFindings:
    """Rows containing each PII type (validated), with up to five masked examples per type."""
    arr = as_string_array(texts)
    per_row = _row_kinds(_candidates(arr))
    rows = sorted(per_row)
    findings = PiiFindings()
    for row, text in zip(rows, _texts_at(arr, rows), strict=True):
        kinds_seen: dict[str, str] = {}
        for match in find_matches(text, per_row[row]):
            kinds_seen.setdefault(match.kind, match.text)
        for kind, first in kinds_seen.items():
            findings.rows[kind].append(row)
            if len(findings.examples[kind]) < MAX_EXAMPLES:
                findings.examples[kind].append((row, mask(kind, first)))
    return findings


def _replace(text: str, matches: list[PiiMatch]) -> str:
    parts, position = [], 0
    for match in matches:
        parts.append(text[position : match.start])
        parts.append(PLACEHOLDERS[match.kind])
        position = match.end
    parts.append(text[position:])
    return "".join(parts)


def redact(text: str) -> str:
    """The text with each validated match replaced by its typed placeholder ("[EMAIL]", "[PHONE]", ...)."""
    return _replace(text, find_matches(text))


def redact_all(texts: Sequence[str | None] | pa.Array | pa.ChunkedArray) -> list[str | None]:
    """`redact` on every row (None stays None); rows no prefilter accepts are returned unchanged."""
    arr = as_string_array(texts)
    out: list[str | None] = arr.to_pylist()
    per_row = _row_kinds(_candidates(arr))
    for row, kinds in per_row.items():
        text = out[row]
        if text is not None:
            out[row] = _replace(text, find_matches(text, kinds))
    return out
