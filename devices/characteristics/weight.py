"""Weight Measurement (0x2A9D) and Weight Scale Feature (0x2A9E), from bathroom scales.

Weight Measurement layout (Bluetooth SIG, Weight Scale Service 1.0, §3.2; GATT Specification
Supplement): flags (uint8) · weight (uint16) · [time stamp (Date Time) if bit 1] · [user id
(uint8) if bit 2] · [BMI (uint16), height (uint16) if bit 3 — the two travel together]. Bit 0
chooses the units: SI (weight × 0.005 kg, height × 0.001 m) or imperial (weight × 0.01 lb,
height × 0.1 in); BMI is × 0.1 in both. Bits 4–7 are reserved and ignored.

The resolution of these fields is fixed by the specification. The Weight Scale Feature's
"weight/height measurement resolution" only says how finely the scale measures; it is *not*
applied to the value again (a scale measuring to 0.1 kg still sends 70.1 kg as 14020 × 0.005).
A weight of 0xFFFF means "Measurement Unsuccessful" and decodes to ``None`` — never 327.675 kg.
User id 0xFF means "unknown user" and is kept as 255.

Weight Scale Feature layout (WSS 1.0 §3.1): uint32 — bit 0 time stamp supported, bit 1
multiple users supported, bit 2 BMI supported, bits 3–6 weight measurement resolution, bits
7–9 height measurement resolution, bits 10–31 reserved (ignored).
"""

from __future__ import annotations

from datetime import datetime
from enum import IntEnum
from typing import Annotated, Literal

from devices import ieee11073
from devices.measurement import Measurement, known_code
from devices.reader import ByteReader

MEASUREMENT_UUID = 0x2A9D
FEATURE_UUID = 0x2A9E

UNITS_IMPERIAL = 0x01
TIMESTAMP_PRESENT = 0x02
USER_ID_PRESENT = 0x04
BMI_AND_HEIGHT_PRESENT = 0x08
RESERVED = 0xF0

#: Weight field value meaning "Measurement Unsuccessful" (WSS §3.2, Weight field).
WEIGHT_UNSUCCESSFUL = 0xFFFF

# Field units as divisors, so a raw value decodes to the float nearest the exact decimal.
_WEIGHT_PER_KG = 200  # 0.005 kg
_WEIGHT_PER_LB = 100  # 0.01 lb
_HEIGHT_PER_M = 1000  # 0.001 m
_HEIGHT_PER_IN = 10  # 0.1 in
_BMI_PER_UNIT = 10  # 0.1 kg/m²

FEATURE_TIMESTAMP_SUPPORTED = 0x01
FEATURE_MULTIPLE_USERS_SUPPORTED = 0x02
FEATURE_BMI_SUPPORTED = 0x04
_FEATURE_WEIGHT_RESOLUTION_SHIFT = 3  # 4 bits
_FEATURE_HEIGHT_RESOLUTION_SHIFT = 7  # 3 bits
FEATURE_RESERVED = 0xFFFFFC00


class WeightResolution(IntEnum):
    """Weight Scale Feature bits 3–6: how finely the scale weighs (kg in SI, lb in imperial)."""

    NOT_SPECIFIED = 0
    KG_0_5_OR_LB_1 = 1
    KG_0_2_OR_LB_0_5 = 2
    KG_0_1_OR_LB_0_2 = 3
    KG_0_05_OR_LB_0_1 = 4
    KG_0_02_OR_LB_0_05 = 5
    KG_0_01_OR_LB_0_02 = 6
    KG_0_005_OR_LB_0_01 = 7


class HeightResolution(IntEnum):
    """Weight Scale Feature bits 7–9: how finely the scale measures height (m or in)."""

    NOT_SPECIFIED = 0
    M_0_01_OR_IN_1 = 1
    M_0_005_OR_IN_0_5 = 2
    M_0_001_OR_IN_0_1 = 3


class WeightMeasurement(Measurement):
    """A weighing as the scale sent it: weight in kg or lb, height in m (kg) or in (lb)."""

    weight: float | None
    unit: Literal["kg", "lb"]
    timestamp: datetime | None = None
    user_id: int | None = None
    bmi: float | None = None
    height: float | None = None

    @property
    def height_unit(self) -> Literal["m", "in"]:
        """The unit of ``height``: it follows the weight's unit system."""
        return "m" if self.unit == "kg" else "in"


class WeightScaleFeature(Measurement):
    """What a scale supports, read once at connection (Weight Scale Feature)."""

    timestamp_supported: bool
    multiple_users_supported: bool
    bmi_supported: bool
    weight_resolution: Annotated[int, known_code(WeightResolution)]
    height_resolution: Annotated[int, known_code(HeightResolution)]


def decode_measurement(data: bytes) -> WeightMeasurement:
    """Decode a Weight Measurement value."""
    reader = ByteReader(data, "Weight Measurement (0x2A9D)")
    flags = reader.u8("flags")
    imperial = bool(flags & UNITS_IMPERIAL)
    raw_weight = reader.u16("weight")
    weight = None
    if raw_weight != WEIGHT_UNSUCCESSFUL:
        weight = raw_weight / (_WEIGHT_PER_LB if imperial else _WEIGHT_PER_KG)
    timestamp = reader.date_time("time stamp") if flags & TIMESTAMP_PRESENT else None
    user_id = reader.u8("user id") if flags & USER_ID_PRESENT else None
    bmi = height = None
    if flags & BMI_AND_HEIGHT_PRESENT:
        bmi = reader.u16("BMI") / _BMI_PER_UNIT
        height = reader.u16("height") / (_HEIGHT_PER_IN if imperial else _HEIGHT_PER_M)
    return WeightMeasurement(
        weight=weight,
        unit="lb" if imperial else "kg",
        timestamp=timestamp,
        user_id=user_id,
        bmi=bmi,
        height=height,
    )


def decode_feature(data: bytes) -> WeightScaleFeature:
    """Decode a Weight Scale Feature value."""
    reader = ByteReader(data, "Weight Scale Feature (0x2A9E)")
    bits = reader.u32("weight scale features")
    return WeightScaleFeature(
        timestamp_supported=bool(bits & FEATURE_TIMESTAMP_SUPPORTED),
        multiple_users_supported=bool(bits & FEATURE_MULTIPLE_USERS_SUPPORTED),
        bmi_supported=bool(bits & FEATURE_BMI_SUPPORTED),
        weight_resolution=(bits >> _FEATURE_WEIGHT_RESOLUTION_SHIFT) & 0x0F,
        height_resolution=(bits >> _FEATURE_HEIGHT_RESOLUTION_SHIFT) & 0x07,
    )


def _scaled(value: float, per_unit: int, field: str) -> bytes:
    raw = round(value * per_unit)
    if not 0 <= raw <= 0xFFFF:
        raise ValueError(f"{field} {value} does not fit the field (0..{0xFFFF / per_unit})")
    return raw.to_bytes(2, "little")


def encode_measurement(m: WeightMeasurement, *, extra_flags: int = 0) -> bytes:
    """The bytes a scale sends for ``m`` (for emulated devices); weight ``None`` is sent as
    "Measurement Unsuccessful". ``extra_flags`` sets reserved bits the way some scales do."""
    flags = extra_flags & RESERVED
    imperial = m.unit == "lb"
    if imperial:
        flags |= UNITS_IMPERIAL
    if m.weight is None:
        body = WEIGHT_UNSUCCESSFUL.to_bytes(2, "little")
    else:
        body = _scaled(m.weight, _WEIGHT_PER_LB if imperial else _WEIGHT_PER_KG, "weight")
        if body == WEIGHT_UNSUCCESSFUL.to_bytes(2, "little"):
            raise ValueError(f"weight {m.weight} {m.unit} is the 'unsuccessful' special value")
    if m.timestamp is not None:
        flags |= TIMESTAMP_PRESENT
        body += ieee11073.encode_date_time(m.timestamp)
    if m.user_id is not None:
        if not 0 <= m.user_id <= 0xFF:
            raise ValueError(f"user id {m.user_id} does not fit in a byte")
        flags |= USER_ID_PRESENT
        body += bytes((m.user_id,))
    if (m.bmi is None) != (m.height is None):
        raise ValueError("BMI and height travel together: give both or neither")
    if m.bmi is not None and m.height is not None:
        flags |= BMI_AND_HEIGHT_PRESENT
        body += _scaled(m.bmi, _BMI_PER_UNIT, "BMI")
        body += _scaled(m.height, _HEIGHT_PER_IN if imperial else _HEIGHT_PER_M, "height")
    return bytes((flags,)) + body


def encode_feature(f: WeightScaleFeature, *, extra_bits: int = 0) -> bytes:
    """The Weight Scale Feature value for ``f`` (for emulated devices); ``extra_bits`` sets
    reserved bits."""
    if not 0 <= f.weight_resolution <= 0x0F or not 0 <= f.height_resolution <= 0x07:
        raise ValueError("weight resolution needs 0..15 and height resolution 0..7")
    bits = extra_bits & FEATURE_RESERVED
    bits |= FEATURE_TIMESTAMP_SUPPORTED if f.timestamp_supported else 0
    bits |= FEATURE_MULTIPLE_USERS_SUPPORTED if f.multiple_users_supported else 0
    bits |= FEATURE_BMI_SUPPORTED if f.bmi_supported else 0
    bits |= f.weight_resolution << _FEATURE_WEIGHT_RESOLUTION_SHIFT
    bits |= f.height_resolution << _FEATURE_HEIGHT_RESOLUTION_SHIFT
    return bits.to_bytes(4, "little")
