"""Temperature Measurement (0x2A1C), indicated by thermometers.

Layout (Bluetooth SIG, Health Thermometer Service 1.0, §3.1; GATT Specification Supplement):
flags (uint8) · temperature (FLOAT, °C or °F per flag bit 0) · [time stamp (Date Time) if bit
1] · [temperature type (uint8) if bit 2]. Bits 3–7 are reserved: some thermometers set them, so
they are ignored. The temperature is an IEEE 11073 FLOAT (32 bits), not an SFLOAT; its NaN
(0x007FFFFF, sent when the reading failed) decodes to ``None``.

Temperature type codes (GATT Specification Supplement, Temperature Type): 1 armpit, 2 body
(general), 3 ear (usually earlobe), 4 finger, 5 gastrointestinal tract, 6 mouth, 7 rectum, 8
toe, 9 tympanum (ear drum); 0 and 10–255 are reserved and kept as plain integers.
"""

from __future__ import annotations

import math
from datetime import datetime
from enum import IntEnum
from typing import Annotated, Literal

from devices import ieee11073
from devices.measurement import Measurement, known_code
from devices.reader import ByteReader

UUID = 0x2A1C

UNITS_FAHRENHEIT = 0x01
TIMESTAMP_PRESENT = 0x02
TEMPERATURE_TYPE_PRESENT = 0x04
RESERVED = 0xF8


class TemperatureType(IntEnum):
    """Where on the body the temperature was taken (the specification's codes)."""

    ARMPIT = 1
    BODY = 2
    EAR = 3
    FINGER = 4
    GASTROINTESTINAL_TRACT = 5
    MOUTH = 6
    RECTUM = 7
    TOE = 8
    TYMPANUM = 9


class TemperatureMeasurement(Measurement):
    """A body temperature as the thermometer sent it, in its own unit."""

    temperature: float | None
    unit: Literal["C", "F"]
    timestamp: datetime | None = None
    temperature_type: Annotated[int, known_code(TemperatureType)] | None = None


def decode(data: bytes) -> TemperatureMeasurement:
    """Decode a Temperature Measurement value."""
    reader = ByteReader(data, "Temperature Measurement (0x2A1C)")
    flags = reader.u8("flags")
    temperature = reader.float32("temperature")
    timestamp = reader.date_time("time stamp") if flags & TIMESTAMP_PRESENT else None
    kind = reader.u8("temperature type") if flags & TEMPERATURE_TYPE_PRESENT else None
    return TemperatureMeasurement(
        temperature=temperature,
        unit="F" if flags & UNITS_FAHRENHEIT else "C",
        timestamp=timestamp,
        temperature_type=kind,
    )


# Exponents tried when the caller gives none: whole numbers first, then finer, then coarser.
_FLOAT_EXPONENTS = (0, *range(-1, -129, -1), *range(1, 128))


def float_bytes(value: float | None, exponent: int | None = None) -> bytes:
    """The four bytes of the FLOAT for ``value`` (``None`` → NaN). For emulated devices.

    With ``exponent=None`` the first exponent of 0, −1 … −128, 1 … 127 that holds ``value``
    exactly is used (37.6 → 376 × 10⁻¹), so an emulated thermometer never rounds silently; a
    value no exponent holds exactly gets the closest one. Raises ``ValueError`` when nothing
    fits.
    """
    if value is None:
        return ieee11073.FLOAT_NAN.to_bytes(4, "little")
    if not math.isfinite(value):
        raise ValueError(f"{value} is not a number a FLOAT can carry; use None for NaN")
    if exponent is not None:
        try:
            return ieee11073.encode_float32(value, exponent).to_bytes(4, "little")
        except OverflowError as err:
            raise ValueError(f"{value} does not fit a FLOAT at exponent {exponent}") from err
    best: tuple[float, int] | None = None
    for candidate in _FLOAT_EXPONENTS:
        try:
            word = ieee11073.encode_float32(value, candidate)
        except (ValueError, OverflowError):  # does not fit at this exponent
            continue
        decoded = ieee11073.float32(word)
        if decoded is None:
            continue
        if decoded == value:
            return word.to_bytes(4, "little")
        error = abs(decoded - value)
        if best is None or error < best[0]:
            best = (error, word)
    if best is None:
        raise ValueError(f"{value} does not fit a FLOAT at any exponent")
    return best[1].to_bytes(4, "little")


def encode(
    m: TemperatureMeasurement, *, exponent: int | None = None, extra_flags: int = 0
) -> bytes:
    """The bytes a thermometer sends for ``m`` (for emulated devices); ``exponent`` None picks
    the shortest exact one; ``extra_flags`` sets reserved bits the way some thermometers do."""
    flags = extra_flags & RESERVED
    if m.unit == "F":
        flags |= UNITS_FAHRENHEIT
    body = float_bytes(m.temperature, exponent)
    if m.timestamp is not None:
        flags |= TIMESTAMP_PRESENT
        body += ieee11073.encode_date_time(m.timestamp)
    if m.temperature_type is not None:
        if not 0 <= m.temperature_type <= 0xFF:
            raise ValueError(f"temperature type {m.temperature_type} does not fit in a byte")
        flags |= TEMPERATURE_TYPE_PRESENT
        body += bytes((m.temperature_type,))
    return bytes((flags,)) + body
