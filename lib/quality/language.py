"""Language per row, offline: py3langid (langid.py's model, 97 languages, shipped inside the package)."""

from __future__ import annotations

import threading
from collections import Counter
from collections.abc import Callable, Sequence
from typing import Any

_identifier: Any = None
_lock = threading.Lock()
UNKNOWN = "unknown"  # an empty row, or one too short to tell
MIN_CHARACTERS = 3
# py3langid's cost grows with the text; 500 characters tell the language as well as 30,000 (a long log would
# otherwise take milliseconds).
MAX_CHARACTERS = 500


def _model() -> Any:
    """py3langid's identifier, loaded once per process (about half a second)."""
    global _identifier
    with _lock:
        if _identifier is None:
            from py3langid.langid import MODEL_FILE, LanguageIdentifier

            _identifier = LanguageIdentifier.from_model_file(MODEL_FILE, norm_probs=False)
        return _identifier


def detect_languages(
    texts: Sequence[str | None], progress: Callable[[int, int], None] | None = None, every: int = 5_000
) -> list[str]:
    """An ISO 639-1 code per text (`unknown` for empty or very short texts)."""
    identifier = _model()
    found = []
    for done, text in enumerate(texts, 1):
        stripped = (text or "").strip()[:MAX_CHARACTERS]
        found.append(identifier.classify(stripped)[0] if len(stripped) >= MIN_CHARACTERS else UNKNOWN)
        if progress is not None and done % every == 0:
            progress(done, len(texts))
    return found


def language_mix(languages: Sequence[str]) -> dict[str, int]:
    """Rows per language, most common first."""
    return dict(Counter(languages).most_common())
