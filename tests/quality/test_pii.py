"""PII: each type found when real and validated, look-alikes left alone, redaction, masking, the demo's planted rows."""

from __future__ import annotations

import json

import pandas as pd
import pyarrow as pa
import pytest

from lib.quality.pii import PII_TYPES, find_matches, find_pii, iban_valid, luhn_valid, mask, redact, redact_all

FOUND = [
    # (type, text holding it, the exact match)
    ("email", "Write to jane.doe+orders@example.co.uk today.", "jane.doe+orders@example.co.uk"),
    ("phone", "Call +44 20 7946 0958 after nine.", "+44 20 7946 0958"),
    ("phone", "My number is +1 (555) 234-5678 if that's easier.", "+1 (555) 234-5678"),
    ("phone", "Reach me on (415) 555-0132.", "(415) 555-0132"),
    ("phone", "Reach me on 555-828-7445.", "555-828-7445"),
    ("phone", "Our office: 020 7946 0958.", "020 7946 0958"),
    ("credit_card", "The card I used was 4111 1111 1111 1111.", "4111 1111 1111 1111"),
    ("credit_card", "Card 4012888888881881 was declined.", "4012888888881881"),
    ("credit_card", "Amex 3782 822463 10005 on file.", "3782 822463 10005"),
    ("credit_card", "Mastercard 5555-5555-5555-4444 expired.", "5555-5555-5555-4444"),
    ("iban", "Pay to GB82 WEST 1234 5698 7654 32 by Friday.", "GB82 WEST 1234 5698 7654 32"),
    ("iban", "IBAN DE89370400440532013000, thanks.", "DE89370400440532013000"),
    # Presidio's own example: the trailing " 2" is not part of the IBAN.
    ("iban", "I want my deposit in DE89 3704 0044 0532 0130 00 2 days from today.", "DE89 3704 0044 0532 0130 00"),
    ("ip", "The server at 192.168.1.10 is down.", "192.168.1.10"),
    ("ip", "Ping 2001:db8:85a3::8a2e:370:7334 now.", "2001:db8:85a3::8a2e:370:7334"),
    ("ip", "Link-local fe80::1ff:fe23:4567:890a here.", "fe80::1ff:fe23:4567:890a"),
    ("ssn", "SSN 536-22-1234 on file.", "536-22-1234"),
    ("secret", "aws_access_key_id = AKIAIOSFODNN7EXAMPLE", "AKIAIOSFODNN7EXAMPLE"),
    ("secret", "token: ghp_" + "a1B2c3D4e5" * 3 + "F6g7H8", "ghp_" + "a1B2c3D4e5" * 3 + "F6g7H8"),
    (
        "secret",
        "SLACK=xoxb-1234567890-1234567890123-AbCdEfGhIjKlMnOp",
        "xoxb-1234567890-1234567890123-AbCdEfGhIjKlMnOp",
    ),
    ("secret", "key sk-proj-Ab3dEf6hIj9kLm2nOp5qRs8tUv1wXy4z end", "sk-proj-Ab3dEf6hIj9kLm2nOp5qRs8tUv1wXy4z"),
    ("secret", "stripe sk_live_4eC39HqLyjWDarjtT1zdp7dc", "sk_live_4eC39HqLyjWDarjtT1zdp7dc"),
    ("secret", "maps AIzaSyD-9tSrke72PouQMnMX-a7eZSW0jkFMBWY ok", "AIzaSyD-9tSrke72PouQMnMX-a7eZSW0jkFMBWY"),
    ("secret", "-----BEGIN RSA PRIVATE KEY-----\nMIIEow\n-----END RSA PRIVATE KEY-----", None),
    (
        "secret",
        "Bearer eyJhbGciOiJIUzI1NiJ9.eyJzdWIiOiIxMjM0NTY3ODkwIn0.dozjgNryP4J3jVmNHl0w5N_XgL0n3I9PlFUP0THsR8U",
        "eyJhbGciOiJIUzI1NiJ9.eyJzdWIiOiIxMjM0NTY3ODkwIn0.dozjgNryP4J3jVmNHl0w5N_XgL0n3I9PlFUP0THsR8U",
    ),
]

NOT_PII = [
    "Order NW-514002 shipped on 2026-10-06 at 10:30 and cost $1,234.56.",
    "2026-10-06T08:35:00Z ERROR checkout payment_intent=402581178 status=requires_action retry=3",
    "Call 123-456-7890 (no area code starts with 1), or 555-012-3456.",  # not North American numbers
    "Meet on 01.02.2026 or 01 02 2026; the score was 3-2-1.",
    "The card 4111 1111 1111 1112 fails Luhn, so it is neither a card nor a phone.",
    "GB82 WEST 1234 5698 7654 33 has a bad check digit.",
    "Tracking 1Z999AA10123456784 and invoice 20261006-0042.",
    "Version 1.2.3.4.5 and v1.2.3.4, 999.1.1.1, time 10:30:00, std::vector and a::b.",
    "SSNs 000-12-3456, 666-12-3456, 912-12-3456, 536-00-1234, 536-22-0000 and 123-45-6789 are not valid.",
    "Use sk-learn-compatible-estimators and skip the task-based skills.",
    "See logo@2x.png and user@localhost for details.",
    "Temperatures of -40 to +45 degrees, +5.5% growth, 20,000 mm rating.",
]


@pytest.mark.parametrize(("kind", "text", "expected"), FOUND)
def test_each_type_is_found(kind, text, expected):
    matches = find_matches(text)
    assert [match.kind for match in matches] == [kind], matches
    if expected is not None:
        assert matches[0].text == expected
    assert find_pii([text]).rows[kind] == [0]


@pytest.mark.parametrize("text", NOT_PII)
def test_look_alikes_are_not_pii(text):
    assert find_matches(text) == []
    assert find_pii([text]).counts() == dict.fromkeys(PII_TYPES, 0)


def test_checksums():
    assert luhn_valid("4111111111111111") and not luhn_valid("4111111111111112")
    assert iban_valid("GB82WEST12345698765432") and not iban_valid("GB82WEST12345698765433")
    assert not iban_valid("GB82WEST1234569876543")  # one character short for GB


def test_overlapping_matches_keep_the_stronger_type():
    # A JWT is not an email; a card number is not a phone; digits of an IBAN are not a card.
    text = "Card 4111-1111-1111-1111, IBAN GB82 WEST 1234 5698 7654 32, mail a@example.com"
    assert [(m.kind, m.text) for m in find_matches(text)] == [
        ("credit_card", "4111-1111-1111-1111"),
        ("iban", "GB82 WEST 1234 5698 7654 32"),
        ("email", "a@example.com"),
    ]


def test_rows_counts_and_masked_examples():
    texts = [
        "nothing here",
        "mail jane@example.com or call +44 20 7946 0958",
        None,
        "",
        "card 4242 4242 4242 4242 and again jane@example.com",
    ]
    found = find_pii(texts)
    assert found.counts() == {"email": 2, "phone": 1, "credit_card": 1, "iban": 0, "ip": 0, "ssn": 0, "secret": 0}
    assert found.rows["email"] == [1, 4]
    assert found.examples["email"] == [(1, "j***@example.com"), (4, "j***@example.com")]
    assert found.examples["credit_card"] == [(4, "**** **** **** 4242")]
    assert found.examples["phone"] == [(1, "+** ** **** **58")]
    assert json.loads(json.dumps(found.to_dict()))["counts"]["email"] == 2


def test_examples_are_capped_at_five_and_never_show_the_value():
    texts = [f"ssn 536-22-{1000 + i}" for i in range(8)]
    found = find_pii(texts)
    assert found.rows["ssn"] == list(range(8))
    assert len(found.examples["ssn"]) == 5
    assert all("536" not in shown and shown.endswith(str(1000 + row)) for row, shown in found.examples["ssn"])


def test_masks():
    assert mask("iban", "GB82 WEST 1234 5698 7654 32") == "GB** **** **** **** **54 32"
    assert mask("ip", "192.168.1.10") == "192.***.*.**"
    assert mask("secret", "AKIAIOSFODNN7EXAMPLE") == "AKIA****************"
    assert mask("secret", "-----BEGIN RSA PRIVATE KEY-----\nabc") == "-----BEGIN RSA PRIVATE KEY----- [...]"


def test_redact_replaces_each_match_with_its_placeholder():
    text = "Mail jane@example.com, call 555-234-5678, card 4111 1111 1111 1111, key AKIAIOSFODNN7EXAMPLE."
    assert redact(text) == "Mail [EMAIL], call [PHONE], card [CREDIT_CARD], key [SECRET]."
    assert redact("Order NW-514002 for $12.50") == "Order NW-514002 for $12.50"
    private = "before\n-----BEGIN PRIVATE KEY-----\nMIIEvQ\n-----END PRIVATE KEY-----\nafter"
    assert redact(private) == "before\n[SECRET]\nafter"


def test_redact_all_keeps_rows_without_pii_and_nulls():
    texts = ["plain text", None, "ip 10.0.0.1 and ssn 536-22-1234", "IBAN DE89370400440532013000"]
    assert redact_all(texts) == ["plain text", None, "ip [IP] and ssn [SSN]", "IBAN [IBAN]"]
    redacted = redact_all(texts)
    assert find_pii(redacted).counts() == dict.fromkeys(PII_TYPES, 0)


def test_inputs_as_list_arrow_or_pandas_agree():
    texts = ["mail a@example.com", None, "call +1 (555) 234-5678", "x" * 10]
    expected = find_pii(texts).rows
    assert find_pii(pa.array(texts)).rows == expected
    assert find_pii(pa.chunked_array([pa.array(texts[:2]), pa.array(texts[2:])])).rows == expected
    assert find_pii(pd.Series(texts, dtype="string[pyarrow]")).rows == expected
    assert find_pii([]).counts() == dict.fromkeys(PII_TYPES, 0)


def test_many_rows_take_the_parallel_path_and_agree():
    base = ["plain words here", "mail a@example.com", "call 555-234-5678", "card 4111 1111 1111 1111"]
    texts = base * 20_000  # above the size where the scan is split across threads
    found = find_pii(texts)
    assert found.rows["email"] == list(range(1, len(texts), 4))
    assert found.rows["phone"] == list(range(2, len(texts), 4))
    assert found.rows["credit_card"] == list(range(3, len(texts), 4))


def test_demo_planted_pii_rows_are_found_exactly(demo):
    texts, manifest = demo
    assert len(texts) == manifest["rows"]
    found = find_pii(texts)
    assert found.rows["email"] == sorted(manifest["planted"]["email"])
    assert found.rows["phone"] == sorted(manifest["planted"]["phone"])
    assert found.rows["credit_card"] == sorted(manifest["planted"]["card_number"])
    assert found.counts()["iban"] == found.counts()["ssn"] == found.counts()["secret"] == found.counts()["ip"] == 0
    cleaned = redact_all(texts)
    assert find_pii(cleaned).counts() == dict.fromkeys(PII_TYPES, 0)
