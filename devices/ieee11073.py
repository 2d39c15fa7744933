"""IEEE 11073-20601 numbers and the GATT Date Time: the one place for special values.

SFLOAT (16 bits): 4-bit signed exponent, 12-bit signed mantissa, value = mantissa × 10^exponent.
FLOAT (32 bits): 8-bit signed exponent, 24-bit signed mantissa.
These are not IEEE-754. The special values — NaN, NRes (not at this resolution), +INF, −INF and
reserved — are whole words with exponent 0, and are detected *on the whole word before any
scaling*: 0x07FF is NaN, but 0xF7FF is a real 204.7. A special value decodes to ``None``.

GATT Date Time (0x2A08, 7 bytes): year (uint16), month, day, hours, minutes, seconds. Year 0,
month 0 or day 0 mean "not known" → ``None``; any other impossible field is a
:class:`~devices.errors.DecodeError`.

Sources: IEEE 11073-20601 §F.8 (FLOAT-Type, SFLOAT-Type); Bluetooth SIG GATT Specification
Supplement, Date Time (org.bluetooth.characteristic.date_time). See docs/devices.md.
"""

from __future__ import annotations

from datetime import datetime

from devices.errors import DecodeError

#: SFLOAT special words (exponent 0) and what they mean.
SFLOAT_SPECIAL: dict[int, str] = {
    0x07FF: "NaN",
    0x0800: "NRes",
    0x07FE: "+INF",
    0x0802: "-INF",
    0x0801: "reserved",
}

#: FLOAT special words (exponent 0) and what they mean.
FLOAT_SPECIAL: dict[int, str] = {
    0x007FFFFF: "NaN",
    0x00800000: "NRes",
    0x007FFFFE: "+INF",
    0x00800002: "-INF",
    0x00800001: "reserved",
}

SFLOAT_NAN = 0x07FF
FLOAT_NAN = 0x007FFFFF


#: 10^0 … 10^128 as exact integers (a FLOAT exponent is at most ±128).
_POWERS_OF_TEN: tuple[int, ...] = tuple(10**n for n in range(129))


def _mantissa(value: float, exponent: int) -> int:
    try:
        if exponent <= 0:
            return round(value * _POWERS_OF_TEN[-exponent])
        return round(value / _POWERS_OF_TEN[exponent])
    except (OverflowError, ValueError) as err:  # inf, nan, or too large for a float
        raise ValueError(f"{value} cannot be encoded at exponent {exponent}") from err


def _signed(value: int, bits: int) -> int:
    return value - (1 << bits) if value & (1 << (bits - 1)) else value


def _scale(mantissa: int, exponent: int) -> float:
    # Division for negative exponents keeps 2047 × 10^-1 at exactly the float nearest 204.7.
    if exponent < 0:
        return mantissa / _POWERS_OF_TEN[-exponent]
    return float(mantissa * _POWERS_OF_TEN[exponent])


def sfloat(word: int) -> float | None:
    """The value of a 16-bit SFLOAT word; ``None`` for NaN, NRes, ±INF and reserved."""
    if not 0 <= word <= 0xFFFF:
        raise DecodeError(f"SFLOAT word {word:#x} does not fit in 16 bits")
    if word in SFLOAT_SPECIAL:
        return None
    return _scale(_signed(word & 0x0FFF, 12), _signed(word >> 12, 4))


def float32(word: int) -> float | None:
    """The value of a 32-bit FLOAT word; ``None`` for NaN, NRes, ±INF and reserved."""
    if not 0 <= word <= 0xFFFFFFFF:
        raise DecodeError(f"FLOAT word {word:#x} does not fit in 32 bits")
    if word in FLOAT_SPECIAL:
        return None
    return _scale(_signed(word & 0x00FFFFFF, 24), _signed(word >> 24, 8))


def encode_sfloat(value: float | None, exponent: int = 0) -> int:
    """The SFLOAT word for ``value`` at ``exponent`` (``None`` → NaN). For emulated devices.

    Raises ``ValueError`` when the mantissa does not fit in −2045..2045 (the mantissas beyond
    are the special values at exponent 0).
    """
    if value is None:
        return SFLOAT_NAN
    if not -8 <= exponent <= 7:
        raise ValueError(f"SFLOAT exponent {exponent} outside -8..7")
    mantissa = _mantissa(value, exponent)
    if not -2045 <= mantissa <= 2045:
        raise ValueError(f"{value} does not fit an SFLOAT at exponent {exponent}")
    return ((exponent & 0xF) << 12) | (mantissa & 0x0FFF)


def encode_float32(value: float | None, exponent: int = 0) -> int:
    """The FLOAT word for ``value`` at ``exponent`` (``None`` → NaN). For emulated devices."""
    if value is None:
        return FLOAT_NAN
    if not -128 <= exponent <= 127:
        raise ValueError(f"FLOAT exponent {exponent} outside -128..127")
    mantissa = _mantissa(value, exponent)
    if not -(2**23 - 3) <= mantissa <= 2**23 - 3:
        raise ValueError(f"{value} does not fit a FLOAT at exponent {exponent}")
    return ((exponent & 0xFF) << 24) | (mantissa & 0x00FFFFFF)


DATE_TIME_SIZE = 7


def date_time(data: bytes) -> datetime | None:
    """The naive datetime in a 7-byte GATT Date Time; ``None`` when the device does not know it."""
    if len(data) < DATE_TIME_SIZE:
        raise DecodeError(f"Date Time needs {DATE_TIME_SIZE} bytes, got {len(data)}")
    year = int.from_bytes(data[0:2], "little")
    month, day, hours, minutes, seconds = data[2], data[3], data[4], data[5], data[6]
    if year == 0 or month == 0 or day == 0:
        return None
    if not 1582 <= year <= 9999:
        raise DecodeError(f"Date Time year {year} outside 1582–9999")
    try:
        return datetime(year, month, day, hours, minutes, seconds)  # noqa: DTZ001 - GATT time has no zone
    except ValueError as err:
        raise DecodeError(
            f"Date Time {year:04d}-{month:02d}-{day:02d} {hours:02d}:{minutes:02d}:{seconds:02d} "
            f"is not a valid time: {err}"
        ) from err


def encode_date_time(value: datetime | None) -> bytes:
    """The 7-byte GATT Date Time for a naive ``value`` (``None`` → all zero, "unknown")."""
    if value is None:
        return bytes(DATE_TIME_SIZE)
    return value.year.to_bytes(2, "little") + bytes(
        (value.month, value.day, value.hour, value.minute, value.second)
    )
