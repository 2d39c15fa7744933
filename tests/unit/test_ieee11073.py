"""IEEE 11073-20601 SFLOAT/FLOAT and the GATT Date Time: special values, signs, exactness."""

from __future__ import annotations

from datetime import datetime

import pytest
from hypothesis import given
from hypothesis import strategies as st

from devices import DecodeError
from devices.ieee11073 import (
    FLOAT_SPECIAL,
    SFLOAT_SPECIAL,
    date_time,
    encode_date_time,
    encode_float32,
    encode_sfloat,
    float32,
    sfloat,
)


@pytest.mark.parametrize(
    ("word", "value"),
    [
        # Special values are whole words with exponent 0 (IEEE 11073-20601 §F.8, Table F.7).
        (0x07FF, None),  # NaN
        (0x0800, None),  # NRes
        (0x07FE, None),  # +INF
        (0x0802, None),  # -INF
        (0x0801, None),  # reserved
        # The same mantissas with another exponent are real numbers (research notes:
        # "0xF7FF is a real 204.7").
        (0xF7FF, 204.7),
        (0x17FF, 20470.0),
        # Ordinary values: exponent in the high nibble (signed), mantissa in 12 bits (signed).
        (0x0072, 114.0),  # 114 mmHg, exponent 0 (BLS test value 0x72 0x00)
        (0x0000, 0.0),
        (0x0FFF, -1.0),  # mantissa -1
        (0xF16C, 36.4),  # 364 × 10^-1
        (0xFF8F, -11.3),  # exponent -1, mantissa 0xF8F = -113
        (0xE100, 2.56),  # exponent -2, mantissa 256
        (0x8001, 1e-8),  # exponent -8, mantissa 1
        (0x7001, 1e7),  # exponent +7
        (0x0801 ^ 0x1000, -20470.0),  # exponent 1, mantissa 0x801 = -2047
    ],
)
def test_sfloat_words(word: int, value: float | None) -> None:
    """A meter's SFLOAT is read with both signs, and its error words never become numbers."""
    assert sfloat(word) == value


@pytest.mark.parametrize(
    ("word", "value"),
    [
        (0x007FFFFF, None),  # NaN
        (0x00800000, None),  # NRes
        (0x007FFFFE, None),  # +INF
        (0x00800002, None),  # -INF
        (0x00800001, None),  # reserved
        (0xFF00016C, 36.4),  # thermometer: 364 × 10^-1 °C
        (0xFE000E42, 36.5),  # 3650 × 10^-2
        (0x00000062, 98.0),
        (0xFFFFFF9C, -10.0),  # exponent -1, mantissa -100
        (0x017FFFFF, 83886070.0),  # the NaN mantissa with exponent 1 is a number
    ],
)
def test_float_words(word: int, value: float | None) -> None:
    """A thermometer's 32-bit FLOAT is exact, and NaN/INF words decode to None."""
    assert float32(word) == value


def test_special_value_tables_have_exponent_zero() -> None:
    """Every special value is checked on the whole word, with exponent 0."""
    assert all(w >> 12 == 0 for w in SFLOAT_SPECIAL)
    assert all(w >> 24 == 0 for w in FLOAT_SPECIAL)


@given(st.integers(0, 0xFFFF))
def test_any_sfloat_word_is_a_number_or_none(word: int) -> None:
    """No 16-bit word can make the SFLOAT reader fail or return a non-finite value."""
    value = sfloat(word)
    assert value is None or abs(value) < 1e11


@given(st.integers(0, 0xFFFFFFFF))
def test_any_float_word_is_a_number_or_none(word: int) -> None:
    """No 32-bit word can make the FLOAT reader fail."""
    value = float32(word)
    assert value is None or isinstance(value, float)


@given(mantissa=st.integers(-2045, 2045), exponent=st.integers(-8, 7))
def test_sfloat_encode_decode_round_trip(mantissa: int, exponent: int) -> None:
    """An emulated device's SFLOAT reads back as the value it meant to send."""
    value = mantissa * 10.0**exponent if exponent >= 0 else mantissa / 10 ** (-exponent)
    word = encode_sfloat(value, exponent)
    assert sfloat(word) == pytest.approx(value, rel=1e-12, abs=1e-15)


@given(mantissa=st.integers(-(2**23 - 3), 2**23 - 3), exponent=st.integers(-6, 6))
def test_float_encode_decode_round_trip(mantissa: int, exponent: int) -> None:
    """An emulated thermometer's FLOAT reads back as the value it meant to send."""
    value = mantissa * 10.0**exponent if exponent >= 0 else mantissa / 10 ** (-exponent)
    assert float32(encode_float32(value, exponent)) == pytest.approx(value, rel=1e-12, abs=1e-15)


def test_encoders_refuse_values_that_do_not_fit() -> None:
    """An emulated device cannot accidentally send a special value for a real number."""
    with pytest.raises(ValueError, match="does not fit"):
        encode_sfloat(2047)
    assert encode_sfloat(None) == 0x07FF
    assert encode_float32(None) == 0x007FFFFF


@pytest.mark.parametrize(
    ("raw", "expected"),
    [
        ("ea070b17080e05", datetime(2026, 11, 23, 8, 14, 5)),  # 0x07EA = 2026  # noqa: DTZ001 - device time has no zone
        ("e5070101000000", datetime(2021, 1, 1, 0, 0, 0)),  # noqa: DTZ001 - device time has no zone
        ("00000000000000", None),  # all zero: unknown
        ("0000010c000000", None),  # year 0: unknown
        ("ea07000c000000", None),  # month 0: unknown
        ("ea070100000000", None),  # day 0: unknown
    ],
)
def test_date_time(raw: str, expected: datetime | None) -> None:
    """A device clock that does not know the date gives no timestamp, not year 0."""
    assert date_time(bytes.fromhex(raw)) == expected


@pytest.mark.parametrize(
    ("raw", "message"),
    [
        ("ea070d01000000", "month must be in 1..12"),
        ("ea07021e000000", "day is out of range for month"),
        ("ea070101180000", "hour must be in 0..23"),
        ("2c010101000000", "year 300 outside 1582–9999"),
        ("ea0701", "Date Time needs 7 bytes, got 3"),
    ],
)
def test_impossible_date_time_is_a_decode_error(raw: str, message: str) -> None:
    """An impossible device date is refused with the reason, never turned into a time."""
    with pytest.raises(DecodeError, match=message):
        date_time(bytes.fromhex(raw))


@given(
    st.datetimes(min_value=datetime(1582, 1, 1), max_value=datetime(9999, 12, 31)).map(  # noqa: DTZ001 - device time has no zone
        lambda d: d.replace(microsecond=0)
    )
)
def test_date_time_round_trip(value: datetime) -> None:
    """What an emulated device's clock says is what the gateway reads."""
    assert date_time(encode_date_time(value)) == value
