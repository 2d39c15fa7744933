"""Numbers as the reader writes them: Babel's CLDR rules for bokmål (``nb_NO``) and English.

Bokmål writes a decimal comma and a space before units and per cent: "2,6 mmol/L", "93 %",
"38,1 °C"; thousands are grouped with a space ("1 234"). The space before a unit is a
no-break space (U+00A0), as Babel writes it before "%", so a value is never split from its unit
at the end of a line. Every number the dashboard shows goes through here.
"""

from __future__ import annotations

from babel.numbers import format_decimal

from dashboard.i18n import Language

#: Babel locale per dashboard language
LOCALES: dict[Language, str] = {"nb": "nb_NO", "en": "en_GB"}
#: between a number and its unit (no line break there)
UNIT_SPACE = "\u00a0"
#: units written straight after the number, without a space, in English only
_TIGHT_IN_ENGLISH = frozenset({"%"})


def format_number(value: float, language: Language, decimals: int | None = None) -> str:
    """``value`` with the language's decimal sign and grouping: "2,6" / "2.6".

    ``decimals`` fixes the number of decimals ("38,0"); without it, up to three are shown and
    trailing zeros dropped ("93", "2,6").
    """
    pattern = "#,##0" if decimals is None else "#,##0" + ("." + "0" * decimals if decimals else "")
    if decimals is None:
        pattern += ".###"
    text: str = format_decimal(value, format=pattern, locale=LOCALES[language])
    return text


def format_quantity(
    value: float, unit: str | None, language: Language, decimals: int | None = None
) -> str:
    """A value with its unit: "2,6 mmol/L", "93 %", "38,1 °C" (bokmål); "93%" in English;
    a rate per unit straight after its number: "18/min"."""
    number = format_number(value, language, decimals)
    if not unit:
        return number
    if unit.startswith("/") or (language == "en" and unit in _TIGHT_IN_ENGLISH):
        return f"{number}{unit}"  # "18/min", as a rate is written; "93%" in English
    return f"{number}{UNIT_SPACE}{unit}"


def d3_locale(language: Language) -> dict[str, object]:
    """The number locale for Vega-Lite/Altair charts (``alt.renderers`` / ``usermeta`` embed
    option ``formatLocale``), so axes and tooltips use the same decimal sign as the text."""
    if language == "en":
        return {"decimal": ".", "thousands": ",", "grouping": [3], "currency": ["£", ""]}
    return {"decimal": ",", "thousands": "\u00a0", "grouping": [3], "currency": ["", "\u00a0kr"]}
