"""Classic NLP cleaning steps (lowercase, tokenise, stop words, lemmas, Porter stems), offline and pure.

These are for classic pipelines (bag-of-words, TF-IDF, topic models), not for LLM training data, and the
cleaning pipeline leaves them off by default. Nothing here downloads anything: `nltk.download` cannot reach
its data from this machine, so only NLTK's data-free parts are used (a regular-expression tokeniser and the
Porter stemmer; no punkt, no wordnet, no stopwords corpus). Lemmas come from simplemma's bundled tables and
stop words from stopwordsiso's bundled lists; its English list is broad (1,298 words, "order", "help" and
"new" among them), so stop-word removal takes more than function words.

Every function takes and returns a string, so the steps compose and a cleaned column stays a column of text:
- `tokenize` returns each line's tokens joined by single spaces ("Don't stop." -> "Don't stop ."), lines kept.
- `remove_stopwords`, `lemmatize` and `porter_stem` work on the words in place, keeping punctuation and line
  breaks, so they do what they say whether or not the text was tokenised first.
- The PII placeholders ("[EMAIL]", "[PHONE]"...) are single tokens that no step changes, except lowercasing.
"""

from __future__ import annotations

import re
from collections.abc import Callable
from functools import lru_cache

from lib.errors import InputError
from lib.quality.pii import PLACEHOLDERS

# A redaction placeholder, in either case (lowercasing may have run first): kept whole by every step.
_PLACEHOLDER = r"\[(?:" + "|".join(re.escape(p[1:-1]) for p in PLACEHOLDERS.values()) + r")\]"
# Words for stop words, lemmas and stems: letters, with inner apostrophes and hyphens ("don't", "o’clock",
# "e-mail", so the "e" of "e-mail" is not taken for a stop word); digits and underscores are not words here,
# so order numbers and codes are left alone.
_WORD = re.compile(rf"(?i:{_PLACEHOLDER})|[^\W\d_]+(?:['’\-][^\W\d_]+)*")
_IS_PLACEHOLDER = re.compile(rf"(?i:{_PLACEHOLDER})")
# Tokens: a placeholder; a word or number with inner apostrophes, hyphens or decimal points ("e-mail", "3.5",
# "it's"); or a run of punctuation. Each line is tokenised in turn by NLTK's RegexpTokenizer (no data needed).
_TOKEN = rf"(?i:{_PLACEHOLDER})|\w+(?:['’.\-]\w+)*|[^\w\s]+"
_HORIZONTAL_SPACE = " \t"


def lowercase(text: str) -> str:
    """The text in lower case (str.lower, so "Straße" stays "straße")."""
    return text.lower()


@lru_cache(maxsize=1)
def _tokenizer():  # type: ignore[no-untyped-def]
    from nltk.tokenize import RegexpTokenizer  # imported on first use: NLTK takes a moment to import

    return RegexpTokenizer(_TOKEN)


def tokens(text: str) -> list[str]:
    """The text's tokens: words (with inner apostrophes and hyphens), numbers and runs of punctuation."""
    return _tokenizer().tokenize(text)


def tokenize(text: str) -> str:
    """Each line's tokens joined by single spaces, line breaks kept: "Don't stop, ok?" -> "Don't stop , ok ?"."""
    return "\n".join(" ".join(tokens(line)) for line in text.split("\n"))


def stopword_languages() -> list[str]:
    """The language codes stop-word removal has a list for (stopwordsiso's), sorted."""
    import stopwordsiso

    return sorted(stopwordsiso.langs())


def lemma_languages() -> list[str]:
    """The language codes lemmatisation has tables for (simplemma's), sorted."""
    from simplemma.strategies.dictionaries.dictionary_factory import SUPPORTED_LANGUAGES

    return sorted(SUPPORTED_LANGUAGES)


def check_stopword_language(language: str) -> None:
    """Raise InputError when stop-word removal has no list for `language`."""
    if language not in stopword_languages():
        raise InputError(
            f"Stop-word removal has no list for language '{language}'; "
            f"choose one of: {', '.join(stopword_languages())}."
        )


@lru_cache(maxsize=64)
def check_lemma_language(language: str) -> None:
    """Raise InputError when lemmatisation has no tables for `language`."""
    if language not in lemma_languages():
        raise InputError(
            f"Lemmatisation has no tables for language '{language}'; choose one of: {', '.join(lemma_languages())}."
        )


@lru_cache(maxsize=8)
def _stopwords(language: str) -> frozenset[str]:
    import stopwordsiso

    check_stopword_language(language)
    return frozenset(word.lower() for word in stopwordsiso.stopwords(language))


def _remove_words(text: str, drop: Callable[[str], bool]) -> str:
    """The text without the words `drop` accepts, each taking one neighbouring space or tab with it."""
    out, position = [], 0
    for match in _WORD.finditer(text):
        if not drop(match.group()):
            continue
        start, end = match.span()
        # Take the space before the word (or, at the start of a line, the one after), so "a, the cat" becomes
        # "a, cat" and "The cat" becomes "cat": no double spaces and no leading space left behind.
        if start > position and text[start - 1] in _HORIZONTAL_SPACE:
            start -= 1
        elif end < len(text) and text[end] in _HORIZONTAL_SPACE:
            end += 1
        out.append(text[position:start])
        position = end
    if not out:
        return text
    out.append(text[position:])
    return "".join(out)


def remove_stopwords(text: str, language: str = "en") -> str:
    """The text without the stop words of `language` (stopwordsiso's list; case-insensitive, whole words)."""
    stop = _stopwords(language)
    return _remove_words(
        text, lambda word: word.lower().replace("’", "'") in stop and not _IS_PLACEHOLDER.fullmatch(word)
    )


def _replace_words(text: str, change: Callable[[str], str]) -> str:
    return _WORD.sub(
        lambda match: match.group() if _IS_PLACEHOLDER.fullmatch(match.group()) else change(match.group()), text
    )


def lemmatize(text: str, language: str = "en") -> str:
    """Each word replaced by its lemma from simplemma's tables for `language` ("mice were" -> "mouse be")."""
    check_lemma_language(language)
    return _replace_words(text, lambda word: _lemma(word, language))


@lru_cache(maxsize=200_000)  # words repeat across rows, and simplemma's lookup costs microseconds each
def _lemma(word: str, language: str) -> str:
    import simplemma

    return simplemma.lemmatize(word, lang=language)


@lru_cache(maxsize=1)
def _porter():  # type: ignore[no-untyped-def]
    from nltk.stem import PorterStemmer  # pure Python rules: no NLTK data needed

    return PorterStemmer()


@lru_cache(maxsize=65_536)
def _stem(word: str) -> str:
    return _porter().stem(word)  # lowercases, NLTK's default: "Running" -> "run"


def porter_stem(text: str) -> str:
    """Each word replaced by its Porter stem, in lower case ("running shoes" -> "run shoe"); English only."""
    return _replace_words(text, _stem)
