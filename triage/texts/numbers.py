"""Numbers as the reader writes them, through Babel's CLDR rules (``nb_NO``, ``en_GB``).

Bokmål writes a decimal comma and a no-break space (U+00A0) before units and per cent:
"2,6 mmol/L", "93 %"; English "2.6 mmol/L", "93%"; a rate straight after its number,
"90/min". The same rules as the dashboard's ``dashboard/numbers.py`` (which may not import this
package).
"""

from __future__ import annotations

from functools import lru_cache

from babel import Locale
from babel.numbers import parse_pattern

from triage.texts.catalogue import Language

LOCALES: dict[Language, str] = {"nb": "nb_NO", "en": "en_GB"}
UNIT_SPACE = "\u00a0"
_TIGHT_IN_ENGLISH = frozenset({"%"})
#: up to two decimals, trailing zeros dropped, thousands grouped (parsed once: Babel's
#: ``format_decimal`` parses the pattern and the locale on every call)
_PATTERN = parse_pattern("#,##0.##")
_LOCALE: dict[Language, Locale] = {lang: Locale.parse(code) for lang, code in LOCALES.items()}


@lru_cache(maxsize=8192)
def format_number(value: float, language: Language) -> str:
    """``value`` with up to two decimals, trailing zeros dropped: "2,6" / "2.6", "93"."""
    text: str = _PATTERN.apply(value, _LOCALE[language])
    return text


def format_quantity(value: float, unit: str, language: Language) -> str:
    """``value`` with its unit: "2,6 mmol/L", "93 %" (bokmål); "93%" in English."""
    number = format_number(value, language)
    if not unit:
        return number
    if unit.startswith("/") or (language == "en" and unit in _TIGHT_IN_ENGLISH):
        return f"{number}{unit}"  # "90/min", as a rate is written; "93%" in English
    return f"{number}{UNIT_SPACE}{unit}"
