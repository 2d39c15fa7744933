"""Body Composition Measurement (0x2A9C), indicated by body composition scales.

Layout (Bluetooth SIG, Body Composition Service 1.0, §3.2; GATT Specification Supplement):
flags (uint16) · body fat percentage (uint16, 0.1 %) · then, each if its flag bit is set and in
this order: time stamp (Date Time, bit 1) · user id (uint8, bit 2; 0xFF "unknown user") · basal
metabolism (uint16, kJ, bit 3) · muscle percentage (uint16, 0.1 %, bit 4) · muscle mass (bit 5)
· fat free mass (bit 6) · soft lean mass (bit 7) · body water mass (bit 8) · impedance (uint16,
0.1 Ω, bit 9) · weight (bit 10) · height (uint16, bit 11). Bit 0 chooses the units: masses ×
0.005 kg and height × 0.001 m (SI) or masses × 0.01 lb and height × 0.1 in (imperial). Bit 12
"multiple packet measurement": the scale split one measurement over two indications (each with
its own flags and body fat percentage); each packet decodes on its own and says so. Bits 13–15
are reserved and ignored.

A body fat percentage of 0xFFFF means "Measurement Unsuccessful" and decodes to ``None``.
Masses are not rescaled by the Body Composition Feature's advertised resolution.
"""

from __future__ import annotations

from datetime import datetime
from typing import Literal

from devices import ieee11073
from devices.measurement import Measurement
from devices.reader import ByteReader

UUID = 0x2A9C

UNITS_IMPERIAL = 0x0001
TIMESTAMP_PRESENT = 0x0002
USER_ID_PRESENT = 0x0004
BASAL_METABOLISM_PRESENT = 0x0008
MUSCLE_PERCENTAGE_PRESENT = 0x0010
MUSCLE_MASS_PRESENT = 0x0020
FAT_FREE_MASS_PRESENT = 0x0040
SOFT_LEAN_MASS_PRESENT = 0x0080
BODY_WATER_MASS_PRESENT = 0x0100
IMPEDANCE_PRESENT = 0x0200
WEIGHT_PRESENT = 0x0400
HEIGHT_PRESENT = 0x0800
MULTIPLE_PACKET_MEASUREMENT = 0x1000
RESERVED = 0xE000

#: Body fat percentage meaning "Measurement Unsuccessful" (BCS §3.2.1.2, Body Fat Percentage).
BODY_FAT_UNSUCCESSFUL = 0xFFFF

# Field units as divisors, so a raw value decodes to the float nearest the exact decimal.
_PERCENT = 10  # 0.1 %
_OHM = 10  # 0.1 Ω
_MASS_PER_KG = 200  # 0.005 kg
_MASS_PER_LB = 100  # 0.01 lb
_HEIGHT_PER_M = 1000  # 0.001 m
_HEIGHT_PER_IN = 10  # 0.1 in


class BodyCompositionMeasurement(Measurement):
    """A body composition reading as the scale sent it: masses in kg or lb (``unit``), height
    in m (kg) or in (lb), percentages in %, basal metabolism in kJ, impedance in ohm."""

    body_fat_percentage: float | None
    unit: Literal["kg", "lb"]
    timestamp: datetime | None = None
    user_id: int | None = None
    basal_metabolism: int | None = None
    muscle_percentage: float | None = None
    muscle_mass: float | None = None
    fat_free_mass: float | None = None
    soft_lean_mass: float | None = None
    body_water_mass: float | None = None
    impedance: float | None = None
    weight: float | None = None
    height: float | None = None
    multiple_packet_measurement: bool = False

    @property
    def height_unit(self) -> Literal["m", "in"]:
        """The unit of ``height``: it follows the mass unit system."""
        return "m" if self.unit == "kg" else "in"


def decode(data: bytes) -> BodyCompositionMeasurement:
    """Decode a Body Composition Measurement value."""
    reader = ByteReader(data, "Body Composition Measurement (0x2A9C)")
    flags = reader.u16("flags")
    imperial = bool(flags & UNITS_IMPERIAL)
    per_mass = _MASS_PER_LB if imperial else _MASS_PER_KG

    def scaled(flag: int, field: str, per_unit: int) -> float | None:
        return reader.u16(field) / per_unit if flags & flag else None

    raw_fat = reader.u16("body fat percentage")
    timestamp = reader.date_time("time stamp") if flags & TIMESTAMP_PRESENT else None
    user_id = reader.u8("user id") if flags & USER_ID_PRESENT else None
    basal = reader.u16("basal metabolism") if flags & BASAL_METABOLISM_PRESENT else None
    # The remaining fields follow in this order; each call reads only when its flag is set.
    muscle_percentage = scaled(MUSCLE_PERCENTAGE_PRESENT, "muscle percentage", _PERCENT)
    muscle_mass = scaled(MUSCLE_MASS_PRESENT, "muscle mass", per_mass)
    fat_free_mass = scaled(FAT_FREE_MASS_PRESENT, "fat free mass", per_mass)
    soft_lean_mass = scaled(SOFT_LEAN_MASS_PRESENT, "soft lean mass", per_mass)
    body_water_mass = scaled(BODY_WATER_MASS_PRESENT, "body water mass", per_mass)
    impedance = scaled(IMPEDANCE_PRESENT, "impedance", _OHM)
    weight = scaled(WEIGHT_PRESENT, "weight", per_mass)
    height = scaled(HEIGHT_PRESENT, "height", _HEIGHT_PER_IN if imperial else _HEIGHT_PER_M)
    return BodyCompositionMeasurement(
        body_fat_percentage=None if raw_fat == BODY_FAT_UNSUCCESSFUL else raw_fat / _PERCENT,
        unit="lb" if imperial else "kg",
        timestamp=timestamp,
        user_id=user_id,
        basal_metabolism=basal,
        muscle_percentage=muscle_percentage,
        muscle_mass=muscle_mass,
        fat_free_mass=fat_free_mass,
        soft_lean_mass=soft_lean_mass,
        body_water_mass=body_water_mass,
        impedance=impedance,
        weight=weight,
        height=height,
        multiple_packet_measurement=bool(flags & MULTIPLE_PACKET_MEASUREMENT),
    )


def _scaled(value: float, per_unit: int, field: str) -> bytes:
    raw = round(value * per_unit)
    if not 0 <= raw <= 0xFFFF:
        raise ValueError(f"{field} {value} does not fit the field (0..{0xFFFF / per_unit})")
    return raw.to_bytes(2, "little")


def encode(m: BodyCompositionMeasurement, *, extra_flags: int = 0) -> bytes:
    """The bytes a scale sends for ``m`` (for emulated devices); body fat ``None`` is sent as
    "Measurement Unsuccessful". ``extra_flags`` sets reserved bits."""
    flags = extra_flags & RESERVED
    imperial = m.unit == "lb"
    per_mass = _MASS_PER_LB if imperial else _MASS_PER_KG
    if imperial:
        flags |= UNITS_IMPERIAL
    if m.multiple_packet_measurement:
        flags |= MULTIPLE_PACKET_MEASUREMENT
    if m.body_fat_percentage is None:
        body = BODY_FAT_UNSUCCESSFUL.to_bytes(2, "little")
    else:
        body = _scaled(m.body_fat_percentage, _PERCENT, "body fat percentage")
        if body == BODY_FAT_UNSUCCESSFUL.to_bytes(2, "little"):
            raise ValueError("body fat 6553.5 % is the 'unsuccessful' special value")
    if m.timestamp is not None:
        flags |= TIMESTAMP_PRESENT
        body += ieee11073.encode_date_time(m.timestamp)
    if m.user_id is not None:
        if not 0 <= m.user_id <= 0xFF:
            raise ValueError(f"user id {m.user_id} does not fit in a byte")
        flags |= USER_ID_PRESENT
        body += bytes((m.user_id,))
    if m.basal_metabolism is not None:
        flags |= BASAL_METABOLISM_PRESENT
        body += _scaled(m.basal_metabolism, 1, "basal metabolism")
    if m.muscle_percentage is not None:
        flags |= MUSCLE_PERCENTAGE_PRESENT
        body += _scaled(m.muscle_percentage, _PERCENT, "muscle percentage")
    for value, flag, label in (
        (m.muscle_mass, MUSCLE_MASS_PRESENT, "muscle mass"),
        (m.fat_free_mass, FAT_FREE_MASS_PRESENT, "fat free mass"),
        (m.soft_lean_mass, SOFT_LEAN_MASS_PRESENT, "soft lean mass"),
        (m.body_water_mass, BODY_WATER_MASS_PRESENT, "body water mass"),
    ):
        if value is not None:
            flags |= flag
            body += _scaled(value, per_mass, label)
    if m.impedance is not None:
        flags |= IMPEDANCE_PRESENT
        body += _scaled(m.impedance, _OHM, "impedance")
    if m.weight is not None:
        flags |= WEIGHT_PRESENT
        body += _scaled(m.weight, per_mass, "weight")
    if m.height is not None:
        flags |= HEIGHT_PRESENT
        body += _scaled(m.height, _HEIGHT_PER_IN if imperial else _HEIGHT_PER_M, "height")
    return flags.to_bytes(2, "little") + body
