"""The classic NLP steps: each does what it says, offline, and an unsupported language gets one clear sentence."""

from __future__ import annotations

import subprocess
import sys
import textwrap

import pytest

from lib.errors import InputError
from lib.quality import nlp
from tests.helpers import ROOT


def test_lowercase_lowers_everything():
    assert nlp.lowercase("The Café SERVES Crêpes") == "the café serves crêpes"


def test_tokenize_splits_punctuation_and_keeps_words_numbers_and_lines_whole():
    text = "Don't stop: the e-mail costs 3.5 EUR, ok?!\nCall [EMAIL] now."
    expected = ["Don't", "stop", ":", "it", "costs", "3.5", "EUR", ",", "ok", "?!"]
    assert nlp.tokens("Don't stop: it costs 3.5 EUR, ok?!") == expected
    assert nlp.tokenize(text) == "Don't stop : the e-mail costs 3.5 EUR , ok ?!\nCall [EMAIL] now ."


def test_english_stop_words_are_removed_without_leaving_double_spaces():
    out = nlp.remove_stopwords("The tent and the stove are in the box, with a rain jacket.")
    assert out == "tent stove box, rain jacket."
    assert "  " not in out
    assert nlp.remove_stopwords("THE tent") == "tent"  # case-insensitive


def test_stop_word_removal_keeps_placeholders_and_numbers():
    assert nlp.remove_stopwords("Write to [EMAIL] about the 2 tents") == "Write [EMAIL] 2 tents"


def test_other_languages_have_their_own_stop_words():
    assert nlp.remove_stopwords("Der Hund und die Katze", "de") == "Hund Katze"


def test_porter_stemming_reduces_words_to_stems():
    assert nlp.porter_stem("running shoes") == "run shoe"
    assert nlp.porter_stem("Running, they studied.") == "run, they studi."


def test_lemmatisation_uses_dictionary_forms():
    assert nlp.lemmatize("the mice were running") == "the mouse be run"
    assert nlp.lemmatize("mail [EMAIL] today") == "mail [EMAIL] today"


@pytest.mark.parametrize(
    ("call", "language", "needle"),
    [
        (nlp.remove_stopwords, "xx", "Stop-word removal has no list for language 'xx'"),
        (nlp.lemmatize, "zh", "Lemmatisation has no tables for language 'zh'"),
    ],
)
def test_an_unsupported_language_names_the_supported_ones(call, language, needle):
    with pytest.raises(InputError) as caught:
        call("some text", language)
    message = str(caught.value)
    assert message.startswith(needle)
    assert "choose one of: " in message and " en," in message
    assert message.count(". ") == 0 and message.endswith(".")  # one sentence


def test_every_step_runs_without_network_or_nltk_data():
    """A fresh interpreter where sockets, nltk.download and NLTK's data loader all fail: every step still works."""
    script = textwrap.dedent(
        """
        import socket

        def refuse(*args, **kwargs):
            raise AssertionError("network or NLTK data was used")

        socket.socket.connect = refuse
        socket.socket.connect_ex = refuse
        socket.create_connection = refuse
        socket.getaddrinfo = refuse
        import nltk
        import nltk.data

        nltk.download = refuse
        nltk.data.find = refuse
        nltk.data.load = refuse
        from lib.quality import nlp

        text = "The runners were running to the stations."
        print(nlp.tokenize(text))
        print(nlp.remove_stopwords(text))
        print(nlp.lemmatize(text))
        print(nlp.porter_stem(text))
        """
    )
    run = subprocess.run(
        [sys.executable, "-c", script],
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=120,
        env={"PATH": "/usr/bin:/bin", "NLTK_DATA": "/nonexistent", "HOME": "/nonexistent"},
    )
    assert run.returncode == 0, run.stderr
    assert run.stdout.splitlines() == [
        "The runners were running to the stations .",
        "runners running stations.",
        "the runner be run to the station.",
        "the runner were run to the station.",
    ]
