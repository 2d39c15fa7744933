"""Glucose Measurement (0x2A18) and Glucose Measurement Context (0x2A34), indicated by meters.

Glucose Measurement layout (Bluetooth SIG, Glucose Service 1.0 §3.1; GATT Specification
Supplement, org.bluetooth.characteristic.glucose_measurement): flags (uint8) · sequence number
(uint16) · base time (Date Time, 7 bytes) · [time offset (sint16, minutes) if bit 0] ·
[glucose concentration (SFLOAT, kg/L, or mol/L if bit 2) and type-sample location (uint8) if
bit 1] · [sensor status annunciation (uint16) if bit 3]. Bit 4 says a Glucose Measurement
Context with the same sequence number follows. Bits 5–7 are reserved and ignored.

* The time of the measurement ("user facing time") is the base time plus the *signed* time
  offset: a negative offset moves it back, across midnight if need be. The Time Offset has no
  special values in the adopted specification (the SIG's draft XML had 0x7FFF "overrun" and
  0x8000 "underrun" commented out), so every value is minutes.
* The type-sample location byte holds two nibbles, least significant first in the
  specification's table: **type is the low nibble, sample location the high nibble** (0x12 is
  capillary plasma from a finger). Some open-source parsers swap them; the SIG's nibble note
  and Nordic's reference parser agree with this order.

Glucose Measurement Context layout (Glucose Service 1.0 §3.3; GATT Specification Supplement,
org.bluetooth.characteristic.glucose_measurement_context): flags (uint8) · sequence number
(uint16) · [extended flags (uint8) if bit 7] · [carbohydrate id (uint8), carbohydrate (SFLOAT,
kg) if bit 0] · [meal (uint8) if bit 1] · [tester-health (uint8: tester low nibble, health high
nibble) if bit 2] · [exercise duration (uint16, s; 65535 = overrun) and exercise intensity
(uint8, %) if bit 3] · [medication id (uint8), medication (SFLOAT, kg, or litres if bit 5) if
bit 4] · [HbA1c (SFLOAT, %) if bit 6]. Note that the extended flags, announced by the *highest*
flag bit, come *first*, right after the sequence number. Every extended flag bit is reserved:
the byte is kept as it came and announces nothing we read.

Coded fields (type, sample location, carbohydrate id, meal, tester, health, medication id) are
the specification's integer codes: a known code becomes a member of its ``IntEnum`` below, a
reserved or unknown code stays a plain ``int`` — it never fails the decode.
"""

from __future__ import annotations

from datetime import datetime, timedelta
from enum import IntEnum, IntFlag
from typing import Annotated, Any, Literal, Self

from pydantic import model_validator

from devices import ieee11073
from devices.errors import DecodeError
from devices.measurement import Measurement, Nibble, SInt16, UInt8, UInt16, known_code
from devices.reader import ByteReader

UUID_MEASUREMENT = 0x2A18
UUID_CONTEXT = 0x2A34

# Glucose Measurement flags.
TIME_OFFSET_PRESENT = 0x01
CONCENTRATION_PRESENT = 0x02  # glucose concentration, type and sample location
UNITS_MOL_PER_L = 0x04
SENSOR_STATUS_PRESENT = 0x08
CONTEXT_FOLLOWS = 0x10
MEASUREMENT_RESERVED_FLAGS = 0xE0

# Glucose Measurement Context flags.
CARBOHYDRATE_PRESENT = 0x01
MEAL_PRESENT = 0x02
TESTER_HEALTH_PRESENT = 0x04
EXERCISE_PRESENT = 0x08
MEDICATION_PRESENT = 0x10
MEDICATION_UNITS_LITRES = 0x20
HBA1C_PRESENT = 0x40
EXTENDED_FLAGS_PRESENT = 0x80

#: Exercise Duration 65535 means "overrun" (longer than 65534 s); it is kept as the number.
EXERCISE_DURATION_OVERRUN = 0xFFFF


class GlucoseType(IntEnum):
    """Type of sample (low nibble of the type-sample location byte)."""

    CAPILLARY_WHOLE_BLOOD = 1
    CAPILLARY_PLASMA = 2
    VENOUS_WHOLE_BLOOD = 3
    VENOUS_PLASMA = 4
    ARTERIAL_WHOLE_BLOOD = 5
    ARTERIAL_PLASMA = 6
    UNDETERMINED_WHOLE_BLOOD = 7
    UNDETERMINED_PLASMA = 8
    INTERSTITIAL_FLUID = 9
    CONTROL_SOLUTION = 10


class SampleLocation(IntEnum):
    """Sample location (high nibble of the type-sample location byte)."""

    FINGER = 1
    ALTERNATE_SITE_TEST = 2
    EARLOBE = 3
    CONTROL_SOLUTION = 4
    NOT_AVAILABLE = 15


class SensorStatus(IntFlag):
    """Sensor Status Annunciation bits (bits 12–15 reserved): ``SensorStatus(m.sensor_status)``."""

    DEVICE_BATTERY_LOW = 1 << 0
    SENSOR_MALFUNCTION = 1 << 1
    SAMPLE_SIZE_INSUFFICIENT = 1 << 2
    STRIP_INSERTION_ERROR = 1 << 3
    STRIP_TYPE_INCORRECT = 1 << 4
    RESULT_TOO_HIGH = 1 << 5
    RESULT_TOO_LOW = 1 << 6
    TEMPERATURE_TOO_HIGH = 1 << 7
    TEMPERATURE_TOO_LOW = 1 << 8
    STRIP_PULLED_TOO_SOON = 1 << 9
    GENERAL_DEVICE_FAULT = 1 << 10
    TIME_FAULT = 1 << 11


class Carbohydrate(IntEnum):
    """Carbohydrate ID: which meal the carbohydrate was eaten with."""

    BREAKFAST = 1
    LUNCH = 2
    DINNER = 3
    SNACK = 4
    DRINK = 5
    SUPPER = 6
    BRUNCH = 7


class Meal(IntEnum):
    """When the sample was taken relative to a meal."""

    PREPRANDIAL = 1
    POSTPRANDIAL = 2
    FASTING = 3
    CASUAL = 4
    BEDTIME = 5


class Tester(IntEnum):
    """Who took the sample (low nibble of the tester-health byte)."""

    __test__ = False  # the name starts with "Test": keep pytest from collecting it (not a member)

    SELF = 1
    HEALTH_CARE_PROFESSIONAL = 2
    LAB_TEST = 3
    NOT_AVAILABLE = 15


class Health(IntEnum):
    """The patient's state of health (high nibble of the tester-health byte)."""

    MINOR_HEALTH_ISSUES = 1
    MAJOR_HEALTH_ISSUES = 2
    DURING_MENSES = 3
    UNDER_STRESS = 4
    NO_HEALTH_ISSUES = 5
    NOT_AVAILABLE = 15


class Medication(IntEnum):
    """Medication ID."""

    RAPID_ACTING_INSULIN = 1
    SHORT_ACTING_INSULIN = 2
    INTERMEDIATE_ACTING_INSULIN = 3
    LONG_ACTING_INSULIN = 4
    PRE_MIXED_INSULIN = 5


def user_facing_time(base_time: datetime | None, time_offset: int | None) -> datetime | None:
    """Base time plus the signed time offset in minutes; ``None`` when the base time is unknown.

    Raises ``ValueError`` when the sum leaves the years 1–9999.
    """
    if base_time is None:
        return None
    try:
        return base_time + timedelta(minutes=time_offset or 0)
    except OverflowError as err:
        raise ValueError(
            f"base time {base_time:%Y-%m-%d %H:%M:%S} plus a time offset of {time_offset} "
            "minutes is outside the years 1-9999"
        ) from err


class GlucoseMeasurement(Measurement):
    """A Glucose Measurement record; ``timestamp`` is derived (base time + time offset)."""

    sequence_number: UInt16
    timestamp: datetime | None = None
    concentration: float | None = None
    unit: Literal["kg/L", "mol/L"] = "kg/L"
    type: Annotated[Nibble, known_code(GlucoseType)] | None = None
    sample_location: Annotated[Nibble, known_code(SampleLocation)] | None = None
    sensor_status: UInt16 | None = None
    base_time: datetime | None = None
    time_offset: SInt16 | None = None
    context_follows: bool = False

    @model_validator(mode="before")
    @classmethod
    def _derive_timestamp(cls, data: Any) -> Any:
        """Construction without ``timestamp`` computes it from the base time and offset."""
        if isinstance(data, dict) and "timestamp" not in data:
            base, offset = data.get("base_time"), data.get("time_offset")
            if isinstance(base, datetime) and (offset is None or isinstance(offset, int)):
                return {**data, "timestamp": user_facing_time(base, offset)}
        return data

    @model_validator(mode="after")
    def _consistent(self) -> Self:
        if self.timestamp != user_facing_time(self.base_time, self.time_offset):
            raise ValueError("timestamp must be base_time + time_offset (minutes)")
        if (self.type is None) != (self.sample_location is None):
            raise ValueError("type and sample_location come together (one byte), or neither")
        if self.type is None and self.concentration is not None:
            raise ValueError("a concentration needs its type and sample_location")
        return self


class GlucoseMeasurementContext(Measurement):
    """A Glucose Measurement Context record (same sequence number as its measurement)."""

    sequence_number: UInt16
    carbohydrate_id: Annotated[UInt8, known_code(Carbohydrate)] | None = None
    carbohydrate: float | None = None  # kg
    meal: Annotated[UInt8, known_code(Meal)] | None = None
    tester: Annotated[Nibble, known_code(Tester)] | None = None
    health: Annotated[Nibble, known_code(Health)] | None = None
    exercise_duration: UInt16 | None = None  # seconds; 65535 = overrun
    exercise_intensity: UInt8 | None = None  # percent
    medication_id: Annotated[UInt8, known_code(Medication)] | None = None
    medication: float | None = None  # in medication_unit
    medication_unit: Literal["kg", "L"] = "kg"
    hba1c: float | None = None  # percent
    extended_flags: UInt8 | None = None

    @model_validator(mode="after")
    def _paired(self) -> Self:
        if self.carbohydrate is not None and self.carbohydrate_id is None:
            raise ValueError("a carbohydrate amount needs its carbohydrate_id")
        if (self.tester is None) != (self.health is None):
            raise ValueError("tester and health come together (one byte), or neither")
        if (self.exercise_duration is None) != (self.exercise_intensity is None):
            raise ValueError("exercise_duration and exercise_intensity come together, or neither")
        if self.medication is not None and self.medication_id is None:
            raise ValueError("a medication amount needs its medication_id")
        return self


def decode_measurement(data: bytes) -> GlucoseMeasurement:
    """Decode a Glucose Measurement value."""
    reader = ByteReader(data, "Glucose Measurement (0x2A18)")
    flags = reader.u8("flags")
    sequence_number = reader.u16("sequence number")
    base_time = reader.date_time("base time")
    time_offset = reader.s16("time offset") if flags & TIME_OFFSET_PRESENT else None
    concentration = glucose_type = location = None
    if flags & CONCENTRATION_PRESENT:
        concentration = reader.sfloat("glucose concentration")
        type_location = reader.u8("type-sample location")
        glucose_type, location = type_location & 0x0F, type_location >> 4
    status = reader.u16("sensor status annunciation") if flags & SENSOR_STATUS_PRESENT else None
    try:
        timestamp = user_facing_time(base_time, time_offset)
    except ValueError as err:
        raise DecodeError(f"Glucose Measurement (0x2A18): {err}") from err
    return GlucoseMeasurement(
        sequence_number=sequence_number,
        timestamp=timestamp,
        concentration=concentration,
        unit="mol/L" if flags & UNITS_MOL_PER_L else "kg/L",
        type=glucose_type,
        sample_location=location,
        sensor_status=status,
        base_time=base_time,
        time_offset=time_offset,
        context_follows=bool(flags & CONTEXT_FOLLOWS),
    )


def decode_context(data: bytes) -> GlucoseMeasurementContext:
    """Decode a Glucose Measurement Context value."""
    reader = ByteReader(data, "Glucose Measurement Context (0x2A34)")
    flags = reader.u8("flags")
    fields: dict[str, Any] = {"sequence_number": reader.u16("sequence number")}
    if flags & EXTENDED_FLAGS_PRESENT:
        fields["extended_flags"] = reader.u8("extended flags")
    if flags & CARBOHYDRATE_PRESENT:
        fields["carbohydrate_id"] = reader.u8("carbohydrate id")
        fields["carbohydrate"] = reader.sfloat("carbohydrate")
    if flags & MEAL_PRESENT:
        fields["meal"] = reader.u8("meal")
    if flags & TESTER_HEALTH_PRESENT:
        tester_health = reader.u8("tester-health")
        fields["tester"], fields["health"] = tester_health & 0x0F, tester_health >> 4
    if flags & EXERCISE_PRESENT:
        fields["exercise_duration"] = reader.u16("exercise duration")
        fields["exercise_intensity"] = reader.u8("exercise intensity")
    if flags & MEDICATION_PRESENT:
        fields["medication_id"] = reader.u8("medication id")
        fields["medication"] = reader.sfloat("medication")
    if flags & HBA1C_PRESENT:
        fields["hba1c"] = reader.sfloat("HbA1c")
    fields["medication_unit"] = "L" if flags & MEDICATION_UNITS_LITRES else "kg"
    return GlucoseMeasurementContext(**fields)


def _sfloat(value: float | None, exponent: int) -> bytes:
    return ieee11073.encode_sfloat(value, exponent).to_bytes(2, "little")


def encode_measurement(
    m: GlucoseMeasurement, *, exponent: int | None = None, extra_flags: int = 0
) -> bytes:
    """The bytes a meter sends for ``m`` (for emulated meters).

    ``exponent`` is the concentration's SFLOAT exponent; by default -5 for kg/L (1 mg/dL steps)
    and -4 for mol/L (0.1 mmol/L steps, so 33.3 mmol/L still fits the 12-bit mantissa).
    ``extra_flags`` sets reserved flag bits the way some real devices do. A base time of
    ``None`` is sent as the all-zero "unknown" Date Time.
    """
    flags = extra_flags & MEASUREMENT_RESERVED_FLAGS
    if m.unit == "mol/L":
        flags |= UNITS_MOL_PER_L
    if m.context_follows:
        flags |= CONTEXT_FOLLOWS
    body = m.sequence_number.to_bytes(2, "little") + ieee11073.encode_date_time(m.base_time)
    if m.time_offset is not None:
        flags |= TIME_OFFSET_PRESENT
        body += m.time_offset.to_bytes(2, "little", signed=True)
    if m.type is not None and m.sample_location is not None:
        flags |= CONCENTRATION_PRESENT
        if exponent is None:
            exponent = -4 if m.unit == "mol/L" else -5
        body += _sfloat(m.concentration, exponent) + bytes((m.type | m.sample_location << 4,))
    if m.sensor_status is not None:
        flags |= SENSOR_STATUS_PRESENT
        body += m.sensor_status.to_bytes(2, "little")
    return bytes((flags,)) + body


def encode_context(
    c: GlucoseMeasurementContext,
    *,
    carbohydrate_exponent: int = -3,
    medication_exponent: int | None = None,
    hba1c_exponent: int = -1,
) -> bytes:
    """The bytes a meter sends for ``c`` (for emulated meters).

    The default SFLOAT exponents follow the SIG's characteristic definition: carbohydrate in
    grams (-3), medication in milligrams (-6) or millilitres (-3), HbA1c in tenths of a percent.
    """
    flags = MEDICATION_UNITS_LITRES if c.medication_unit == "L" else 0
    body = b""
    if c.extended_flags is not None:
        flags |= EXTENDED_FLAGS_PRESENT
        body += bytes((c.extended_flags,))
    if c.carbohydrate_id is not None:
        flags |= CARBOHYDRATE_PRESENT
        body += bytes((c.carbohydrate_id,)) + _sfloat(c.carbohydrate, carbohydrate_exponent)
    if c.meal is not None:
        flags |= MEAL_PRESENT
        body += bytes((c.meal,))
    if c.tester is not None and c.health is not None:
        flags |= TESTER_HEALTH_PRESENT
        body += bytes((c.tester | c.health << 4,))
    if c.exercise_duration is not None and c.exercise_intensity is not None:
        flags |= EXERCISE_PRESENT
        body += c.exercise_duration.to_bytes(2, "little") + bytes((c.exercise_intensity,))
    if c.medication_id is not None:
        flags |= MEDICATION_PRESENT
        if medication_exponent is None:
            medication_exponent = -3 if c.medication_unit == "L" else -6
        body += bytes((c.medication_id,)) + _sfloat(c.medication, medication_exponent)
    if c.hba1c is not None:
        flags |= HBA1C_PRESENT
        body += _sfloat(c.hba1c, hba1c_exponent)
    return bytes((flags,)) + c.sequence_number.to_bytes(2, "little") + body
