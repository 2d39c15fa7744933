"""Numbers on the dashboard: decimal comma and a space before units in bokmål."""

from __future__ import annotations

import pytest

from dashboard.numbers import UNIT_SPACE, format_number, format_quantity


@pytest.mark.parametrize(
    ("value", "unit", "nb", "en"),
    [
        (2.6, "mmol/L", "2,6 mmol/L", "2.6 mmol/L"),
        (38.1, "°C", "38,1 °C", "38.1 °C"),
        (93, "%", "93 %", "93%"),
        (81.0, "/min", "81 /min", "81 /min"),
        (1234.5, "kg", "1 234,5 kg", "1,234.5 kg"),
        (-1.5, "kg", "-1,5 kg", "-1.5 kg"),
    ],
)
def test_a_value_reads_as_the_language_writes_it(value: float, unit: str, nb: str, en: str) -> None:
    assert format_quantity(value, unit, "nb").replace(UNIT_SPACE, " ") == nb
    assert format_quantity(value, unit, "en").replace(UNIT_SPACE, " ") == en


def test_a_unit_never_wraps_away_from_its_number() -> None:
    assert format_quantity(2.6, "mmol/L", "nb") == f"2,6{UNIT_SPACE}mmol/L"


def test_fixed_decimals_keep_their_zeros() -> None:
    assert format_number(38.0, "nb", decimals=1) == "38,0"
    assert format_number(38.04, "nb") == "38,04"
    assert format_number(7, "nb", decimals=0) == "7"
