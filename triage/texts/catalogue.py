"""The message catalogue: ``locale/<language>/LC_MESSAGES/findings.po``, read once at import.

The .po files are the source (no compiled .mo to keep up to date); they ship inside the
package. Each message id is a key ("threshold", "parameter.glucose"); its text is a
``str.format`` pattern with named fields. Bokmål ("nb") is the default language; a key missing
from a catalogue is a programming error (:class:`KeyError`), caught by the tests that render
every key in both languages.
"""

from __future__ import annotations

from pathlib import Path
from typing import Literal

from babel.messages.pofile import read_po

Language = Literal["nb", "en"]
LANGUAGES: tuple[Language, ...] = ("nb", "en")
DOMAIN = "findings"
LOCALE_DIR = Path(__file__).parent / "locale"


def po_path(language: Language) -> Path:
    return LOCALE_DIR / language / "LC_MESSAGES" / f"{DOMAIN}.po"


def _load(language: Language) -> dict[str, str]:
    with po_path(language).open("rb") as file:
        catalog = read_po(file, locale=language, domain=DOMAIN)
    return {str(m.id): str(m.string) for m in catalog if m.id and m.string}


_MESSAGES: dict[Language, dict[str, str]] = {lang: _load(lang) for lang in LANGUAGES}


def language_of(code: str | None) -> Language:
    """``"en"`` for English ("en", "en-GB"); bokmål for anything else."""
    return "en" if code is not None and code.lower().startswith("en") else "nb"


def keys(language: Language) -> frozenset[str]:
    return frozenset(_MESSAGES[language])


def text(language: Language, key: str) -> str:
    """The pattern of ``key`` in ``language``."""
    return _MESSAGES[language][key]


def has(language: Language, key: str) -> bool:
    return key in _MESSAGES[language]
