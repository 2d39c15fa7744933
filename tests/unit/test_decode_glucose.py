"""Glucose Measurement (0x2A18) and Glucose Measurement Context (0x2A34): vectors, every flag
combination, nibble order, signed time offset, truncation, special values, round trips.

Vector sources (read for their bytes, never copied as code):

* Nordic Semiconductor, Android-BLE-Common-Library, ``GlucoseMeasurementDataCallbackTest`` and
  ``GlucoseMeasurementContextDataCallbackTest`` (ble-common/src/test/.../callback/glucose/).
* Bluetooth SIG characteristic definitions (org.bluetooth.characteristic.glucose_measurement and
  .glucose_measurement_context, as mirrored in the public ``oesmith/gatt-xml`` repository): the
  field order, the flag bits, the code tables and the nibble note ("Least Significant Nibble
  first ... bits 0-3"), from which the hand-built vectors below are made, each byte explained.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from pydantic import ValidationError

import devices
from devices import DecodeError, ieee11073
from devices.characteristics import glucose
from devices.characteristics.glucose import (
    Carbohydrate,
    GlucoseMeasurement,
    GlucoseMeasurementContext,
    GlucoseType,
    Health,
    Meal,
    Medication,
    SampleLocation,
    SensorStatus,
    Tester,
    decode_context,
    decode_measurement,
    encode_context,
    encode_measurement,
)


def _t(
    year: int, month: int, day: int, hour: int = 0, minute: int = 0, second: int = 0
) -> datetime:
    """A naive device time."""
    # GATT Date Time has no zone; the gateway attaches the hub's.
    return datetime(year, month, day, hour, minute, second)  # noqa: DTZ001


# ---------------------------------------------------------------- Glucose Measurement vectors

# Nordic's GlucoseMeasurementDataCallbackTest.onGlucoseMeasurementReceived: flags 0x1B (time
# offset, concentration-type-location, kg/L, status, context follows) · seq 1 · 2019-02-27
# 11:10:30 · offset 0xFFFB = -5 min · concentration 0x001E = 30 (kg/L, a test value) · 0x12 ·
# status 0x0105.
NORDIC = bytes.fromhex("1b0100e307021b0b0a1efbff1e00120501")

# Hand-built, a typical meter reading in kg/L: flags 0x03 (time offset; concentration, type and
# location; kg/L) · seq 0x002A = 42 · base time 2026-11-23 23:50:00 (ea07 0b 17 17 32 00) ·
# offset 0x0014 = +20 min, past midnight · concentration 0xB05A = 90 × 10^-5 kg/L (90 mg/dL) ·
# 0x11 = capillary whole blood (low nibble 1), finger (high nibble 1).
TYPICAL = bytes.fromhex("032a00ea070b1717320014005ab011")


def test_nordic_vector_decodes_to_the_whole_value() -> None:
    """Nordic's reference reading: 11:05:30 (5 minutes before the base time), plasma, finger."""
    assert devices.decode("2a18", NORDIC) == GlucoseMeasurement(
        sequence_number=1,
        timestamp=_t(2019, 2, 27, 11, 5, 30),
        concentration=30.0,
        unit="kg/L",
        type=GlucoseType.CAPILLARY_PLASMA,
        sample_location=SampleLocation.FINGER,
        sensor_status=0x0105,
        base_time=_t(2019, 2, 27, 11, 10, 30),
        time_offset=-5,
        context_follows=True,
    )


def test_nordic_status_bits_mean_what_the_spec_says() -> None:
    """Status 0x0105 is battery low, sample too small and sensor too cold (bits 0, 2, 8).

    Nordic's comment calls bit 2 a "device fault", but its own asserts say general device fault
    is false: bit 2 is "sample size insufficient" in the SIG's table, bit 10 the device fault.
    """
    status = SensorStatus(decode_measurement(NORDIC).sensor_status or 0)
    assert status == (
        SensorStatus.DEVICE_BATTERY_LOW
        | SensorStatus.SAMPLE_SIZE_INSUFFICIENT
        | SensorStatus.TEMPERATURE_TOO_LOW
    )
    assert SensorStatus.GENERAL_DEVICE_FAULT not in status


def test_nordic_invalid_vector_is_refused() -> None:
    """Nordic's "time offset missing" value cannot be read to the end, so it is refused.

    Flags promise a time offset, a concentration block and a status (6 bytes after the base
    time) but only 5 bytes follow: the decoder runs out before the status.
    """
    data = bytes.fromhex("1b0000e207041a0b091e1e00120501")
    with pytest.raises(DecodeError, match="truncated before 'sensor status annunciation'"):
        decode_measurement(data)


def test_typical_meter_reading_whole_value_and_dump() -> None:
    """A kg/L reading gives sequence number, time past midnight, 0.0009 kg/L, blood, finger."""
    value = devices.decode("2a18", TYPICAL)
    assert value.model_dump() == {
        "sequence_number": 42,
        "timestamp": _t(2026, 11, 24, 0, 10, 0),
        "concentration": 0.0009,
        "unit": "kg/L",
        "type": GlucoseType.CAPILLARY_WHOLE_BLOOD,
        "sample_location": SampleLocation.FINGER,
        "sensor_status": None,
        "base_time": _t(2026, 11, 23, 23, 50, 0),
        "time_offset": 20,
        "context_follows": False,
    }


@pytest.mark.parametrize(
    ("base", "offset_hex", "offset", "expected"),
    [
        # -30 min from 00:10 on New Year's Day goes back into the previous day and year.
        ("ea07010100 0a00", "e2ff", -30, _t(2025, 12, 31, 23, 40, 0)),
        # -1 min from midnight.
        ("ea070b1700 0000", "ffff", -1, _t(2026, 11, 22, 23, 59, 0)),
        # The most negative offset, 0x8000 = -32768 min (22 days 18 h 08 min back).
        ("ea070b170c 0000", "0080", -32768, _t(2026, 10, 31, 17, 52, 0)),
        # The largest positive offset, 0x7FFF = 32767 min.
        ("ea070b170c 0000", "ff7f", 32767, _t(2026, 12, 16, 6, 7, 0)),
        # 0x0100 = +256 min, a little-endian check (not 1 min).
        ("ea070b170c 0000", "0001", 256, _t(2026, 11, 23, 16, 16, 0)),
        # Zero offset: the base time is the time.
        ("ea070b170c 0000", "0000", 0, _t(2026, 11, 23, 12, 0, 0)),
    ],
)
def test_signed_time_offset(base: str, offset_hex: str, offset: int, expected: datetime) -> None:
    """A negative offset moves the reading's time back (across midnight), never forward."""
    data = bytes.fromhex("01" + "0700" + base.replace(" ", "") + offset_hex)
    value = decode_measurement(data)
    assert (value.time_offset, value.timestamp) == (offset, expected)


@pytest.mark.parametrize(
    ("byte", "glucose_type", "location"),
    [
        # Type in the LOW nibble, sample location in the HIGH nibble (SIG nibble note).
        (0x12, GlucoseType.CAPILLARY_PLASMA, SampleLocation.FINGER),
        (0x21, GlucoseType.CAPILLARY_WHOLE_BLOOD, SampleLocation.ALTERNATE_SITE_TEST),
        (0xF2, GlucoseType.CAPILLARY_PLASMA, SampleLocation.NOT_AVAILABLE),
        (0x39, GlucoseType.INTERSTITIAL_FLUID, SampleLocation.EARLOBE),
        (0x4A, GlucoseType.CONTROL_SOLUTION, SampleLocation.CONTROL_SOLUTION),
        (0x18, GlucoseType.UNDETERMINED_PLASMA, SampleLocation.FINGER),
    ],
)
def test_type_is_the_low_nibble_and_location_the_high(
    byte: int, glucose_type: GlucoseType, location: SampleLocation
) -> None:
    """Capillary plasma from a finger is reported as such, not as "earlobe" or "reserved"."""
    data = bytes.fromhex("02" + "0100" + "ea070b170c0000" + "5ab0") + bytes((byte,))
    value = decode_measurement(data)
    assert value.type is glucose_type
    assert value.sample_location is location


def test_every_glucose_type_and_location_code() -> None:
    """Each of the specification's codes comes back as its named member."""
    assert [int(t) for t in GlucoseType] == list(range(1, 11))
    assert [int(s) for s in SampleLocation] == [1, 2, 3, 4, 15]


@pytest.mark.parametrize(("byte", "glucose_type", "location"), [(0x00, 0, 0), (0x5B, 11, 5)])
def test_reserved_codes_are_kept_as_numbers(byte: int, glucose_type: int, location: int) -> None:
    """A meter using a code the spec reserves still gives its reading; the code is kept."""
    data = bytes.fromhex("02" + "0100" + "ea070b170c0000" + "5ab0") + bytes((byte,))
    value = decode_measurement(data)
    assert (value.type, value.sample_location) == (glucose_type, location)
    assert type(value.type) is int
    assert type(value.sample_location) is int


def test_mol_per_l_reading() -> None:
    """A meter in mol/L: 0xC037 = 55 × 10^-4 mol/L (5.5 mmol/L), plasma, location unknown."""
    value = decode_measurement(bytes.fromhex("06" + "0300" + "ea070b170c0000" + "37c0" + "f2"))
    assert (value.concentration, value.unit) == (0.0055, "mol/L")
    assert (value.type, value.sample_location) == (
        GlucoseType.CAPILLARY_PLASMA,
        SampleLocation.NOT_AVAILABLE,
    )


@pytest.mark.parametrize("word", sorted(ieee11073.SFLOAT_SPECIAL))
def test_special_concentration_is_none(word: int) -> None:
    """A "HI" reading sent as NaN with "result too high" gives no number, never 2047."""
    data = (
        bytes.fromhex("0a" + "0500" + "ea070b170c0000")
        + word.to_bytes(2, "little")
        + bytes.fromhex("11" + "2000")
    )
    value = decode_measurement(data)
    assert value.concentration is None
    assert value.type is GlucoseType.CAPILLARY_WHOLE_BLOOD
    assert value.sensor_status == SensorStatus.RESULT_TOO_HIGH


def test_unknown_base_time_gives_no_timestamp() -> None:
    """A meter whose clock was never set (year 0) gives no time, but keeps the offset."""
    value = decode_measurement(bytes.fromhex("01" + "0900" + "00000000000000" + "0a00"))
    assert (value.base_time, value.timestamp, value.time_offset) == (None, None, 10)
    assert value.sequence_number == 9


def test_impossible_base_time_is_refused() -> None:
    """A base time of month 13 is an error that names the field."""
    with pytest.raises(DecodeError, match="base time"):
        decode_measurement(bytes.fromhex("00" + "0100" + "ea070d010c0000"))


def test_offset_past_year_9999_is_a_decode_error() -> None:
    """An offset that pushes the time past 9999-12-31 is a DecodeError, not an OverflowError."""
    data = bytes.fromhex("01" + "0100" + "0f270c1f173b00" + "0100")  # 9999-12-31 23:59 + 1 min
    with pytest.raises(DecodeError, match="outside the years 1-9999"):
        devices.decode("2a18", data)


# Every field present: flags 0x1B (time offset; concentration, type and location; kg/L;
# status; context follows) · seq 0x0102 · 2026-11-23 12:00:00 · offset -20 (0xFFEC) · 0xB05A
# (0.0009 kg/L) · 0x11 · status 0x0020.
FULL = bytes.fromhex("1b0201ea070b170c0000ecff5ab0112000")
FULL_FIELDS = (
    ["flags"]
    + ["sequence number"] * 2
    + ["base time"] * 7
    + ["time offset"] * 2
    + ["glucose concentration"] * 2
    + ["type-sample location"]
    + ["sensor status annunciation"] * 2
)


@pytest.mark.parametrize("length", range(len(FULL)))
def test_truncation_names_the_missing_field(length: int) -> None:
    """A value cut short at any byte says which field is missing."""
    assert len(FULL_FIELDS) == len(FULL)
    with pytest.raises(DecodeError) as caught:
        devices.decode("2a18", FULL[:length])
    message = str(caught.value)
    assert message.startswith("Glucose Measurement (0x2A18): truncated before ")
    assert f"'{FULL_FIELDS[length]}'" in message
    assert f"the value has {length} bytes" in message


def test_trailing_bytes_are_tolerated() -> None:
    """A meter that appends bytes a newer spec may define still gives its reading."""
    assert decode_measurement(FULL + b"\x00\x01\x02") == decode_measurement(FULL)


def _measurement_bytes(flags: int) -> bytes:
    """Hand-built value for ``flags``: only the fields the flags announce, in spec order."""
    body = "0201" + "ea070b170c0000"  # seq 258, 2026-11-23 12:00:00
    if flags & 0x01:
        body += "ecff"  # -20 min
    if flags & 0x02:
        body += "5ab0" + "21"  # 0.0009, capillary whole blood, AST
    if flags & 0x08:
        body += "4000"  # result too low
    return bytes((flags,)) + bytes.fromhex(body)


@pytest.mark.parametrize("flags", range(256))
def test_every_flag_combination(flags: int) -> None:
    """Each flag byte (reserved bits 5-7 included) gives exactly the fields it announces."""
    offset = -20 if flags & 0x01 else None
    has_concentration = bool(flags & 0x02)
    expected: dict[str, Any] = {
        "sequence_number": 258,
        "timestamp": _t(2026, 11, 23, 11, 40, 0) if offset else _t(2026, 11, 23, 12, 0, 0),
        "concentration": 0.0009 if has_concentration else None,
        "unit": "mol/L" if flags & 0x04 else "kg/L",
        "type": GlucoseType.CAPILLARY_WHOLE_BLOOD if has_concentration else None,
        "sample_location": SampleLocation.ALTERNATE_SITE_TEST if has_concentration else None,
        "sensor_status": 0x0040 if flags & 0x08 else None,
        "base_time": _t(2026, 11, 23, 12, 0, 0),
        "time_offset": offset,
        "context_follows": bool(flags & 0x10),
    }
    assert devices.decode("2a18", _measurement_bytes(flags)).model_dump() == expected


def test_reserved_flag_bits_change_nothing() -> None:
    """A meter that sets reserved flag bits gives the same reading as one that does not."""
    plain = decode_measurement(FULL)
    assert decode_measurement(bytes((FULL[0] | 0xE0,)) + FULL[1:]) == plain


def test_encode_reproduces_the_vectors() -> None:
    """An emulated meter sends the same bytes as the reference vectors."""
    assert encode_measurement(decode_measurement(NORDIC), exponent=0) == NORDIC
    assert encode_measurement(decode_measurement(TYPICAL)) == TYPICAL
    assert encode_measurement(decode_measurement(FULL)) == FULL
    assert encode_measurement(decode_measurement(FULL), extra_flags=0xE0)[0] == 0xFB


def test_model_round_trips_through_its_dump_and_json() -> None:
    """A stored reading (dump or JSON) loads back to the same value."""
    value = decode_measurement(FULL)
    assert GlucoseMeasurement.model_validate(value.model_dump()) == value
    assert GlucoseMeasurement.model_validate_json(value.model_dump_json()) == value
    assert value.model_dump(mode="json")["type"] == 1


def test_timestamp_is_derived_and_cannot_disagree() -> None:
    """Built without a timestamp it is computed; a contradicting one is refused."""
    built = GlucoseMeasurement(sequence_number=1, base_time=_t(2026, 1, 1, 0, 0), time_offset=-1)
    assert built.timestamp == _t(2025, 12, 31, 23, 59)
    with pytest.raises(ValidationError, match="timestamp must be base_time"):
        GlucoseMeasurement(
            sequence_number=1, base_time=_t(2026, 1, 1), time_offset=5, timestamp=_t(2026, 1, 1)
        )


def test_type_and_location_come_together() -> None:
    """An emulated reading with a type but no location is refused before it is sent."""
    with pytest.raises(ValidationError, match="come together"):
        GlucoseMeasurement(sequence_number=1, base_time=None, type=1)
    with pytest.raises(ValidationError, match="needs its type"):
        GlucoseMeasurement(sequence_number=1, base_time=None, concentration=5.0)


# ---------------------------------------------------------------- hypothesis: measurement

sequence_numbers = st.integers(0, 0xFFFF)
# Date Time years are 1582-9999; keep a margin so the ±22-day offset stays in range.
device_times = st.datetimes(min_value=_t(1583, 1, 1), max_value=_t(9998, 12, 1)).map(
    lambda d: d.replace(microsecond=0)
)
exponents = st.integers(-8, 7)
mantissas = st.integers(-2045, 2045)  # the mantissas encode_sfloat writes at any exponent


@st.composite
def measurements(draw: st.DrawFn) -> tuple[GlucoseMeasurement, int, int]:
    """A measurement an emulated meter could send, with its SFLOAT exponent and reserved bits."""
    exponent = draw(exponents)
    fields: dict[str, Any] = {
        "sequence_number": draw(sequence_numbers),
        "base_time": draw(st.none() | device_times),
        "time_offset": draw(st.none() | st.integers(-0x8000, 0x7FFF)),
        "unit": draw(st.sampled_from(["kg/L", "mol/L"])),
        "sensor_status": draw(st.none() | st.integers(0, 0xFFFF)),
        "context_follows": draw(st.booleans()),
    }
    if draw(st.booleans()):
        word = ((exponent & 0xF) << 12) | (draw(mantissas) & 0xFFF)
        fields["concentration"] = draw(st.none() | st.just(ieee11073.sfloat(word)))
        fields["type"] = draw(st.integers(0, 15))
        fields["sample_location"] = draw(st.integers(0, 15))
    return GlucoseMeasurement(**fields), exponent, draw(st.integers(0, 7)) << 5


@given(measurements())
def test_measurement_encode_decode_round_trip(case: tuple[GlucoseMeasurement, int, int]) -> None:
    """Whatever an emulated meter sends decodes back to the same reading."""
    value, exponent, reserved = case
    data = encode_measurement(value, exponent=exponent, extra_flags=reserved)
    assert decode_measurement(data) == value


@settings(max_examples=300)
@given(data=st.binary(max_size=40))
def test_random_bytes_give_a_measurement_or_a_decode_error(data: bytes) -> None:
    """Whatever bytes a broken meter sends, decoding never fails with another error."""
    try:
        value = devices.decode("2a18", data)
    except DecodeError:
        return
    assert isinstance(value, GlucoseMeasurement)


@settings(max_examples=300)
@given(head=st.binary(min_size=3, max_size=3), time=device_times, tail=st.binary(max_size=12))
def test_random_fields_after_a_valid_time_give_a_value_or_a_decode_error(
    head: bytes, time: datetime, tail: bytes
) -> None:
    """Random flags and fields behind a valid base time still never crash the decoder."""
    try:
        value = decode_measurement(head + ieee11073.encode_date_time(time) + tail)
    except DecodeError:
        return
    assert value.base_time == time


# ---------------------------------------------------------------- Glucose Measurement Context

# Nordic's GlucoseMeasurementContextDataCallbackTest._full: flags 0xFF (everything, medication
# in litres, extended flags) · seq 0 · extended flags 0xB3 (reserved, kept) · carbohydrate id 3
# (dinner) · carbohydrate 100 (0x0064) · meal 4 (casual) · tester-health 0x12 (tester 2, health
# care professional; health 1, minor issues) · exercise 60 s (0x003C), 50 % · medication id 4
# (long acting insulin) · medication 123.4 (0xF4D2; Nordic writes 123.45, which no SFLOAT
# holds — its mantissa would be 12345 > 2045) · HbA1c 34.5 % (0xF159).
NORDIC_CONTEXT = bytes.fromhex("ff0000b30364000412" + "3c0032" + "04d2f4" + "59f1")

# Hand-built, a realistic record: flags 0x7F (all but extended flags; medication in litres) ·
# seq 0x002A · carbohydrate id 1 (breakfast), 0xD02D = 45 × 10^-3 kg (45 g) · meal 1
# (preprandial) · tester-health 0x51 (tester 1 self, health 5 no issues) · exercise 0x0708 =
# 1800 s at 0x3C = 60 % · medication id 1 (rapid acting insulin), 0xB004 = 4 × 10^-5 L
# (4 units of U-100) · HbA1c 0xF041 = 6.5 %.
REALISTIC_CONTEXT = bytes.fromhex("7f2a00012dd0015108073c0104b041f0")


def test_nordic_full_context_whole_value() -> None:
    """Nordic's full context: dinner, casual, professional tester, minor issues, insulin."""
    assert devices.decode("2a34", NORDIC_CONTEXT) == GlucoseMeasurementContext(
        sequence_number=0,
        extended_flags=0xB3,
        carbohydrate_id=Carbohydrate.DINNER,
        carbohydrate=100.0,
        meal=Meal.CASUAL,
        tester=Tester.HEALTH_CARE_PROFESSIONAL,
        health=Health.MINOR_HEALTH_ISSUES,
        exercise_duration=60,
        exercise_intensity=50,
        medication_id=Medication.LONG_ACTING_INSULIN,
        medication=123.4,
        medication_unit="L",
        hba1c=34.5,
    )


def test_nordic_empty_context_with_trailing_zeros() -> None:
    """Nordic's empty context (flags 0, seq 1, zero padding to 17 bytes) gives only the seq."""
    value = devices.decode("2a34", bytes.fromhex("000100") + bytes(14))
    assert value.model_dump() == {
        "sequence_number": 1,
        "carbohydrate_id": None,
        "carbohydrate": None,
        "meal": None,
        "tester": None,
        "health": None,
        "exercise_duration": None,
        "exercise_intensity": None,
        "medication_id": None,
        "medication": None,
        "medication_unit": "kg",
        "hba1c": None,
        "extended_flags": None,
    }


def test_nordic_invalid_context_is_refused() -> None:
    """Nordic's 5-byte context with every flag set stops where the carbohydrate should be."""
    with pytest.raises(DecodeError, match="truncated before 'carbohydrate'"):
        decode_context(bytes.fromhex("ff0000b303"))


def test_realistic_context_whole_value() -> None:
    """45 g breakfast, before the meal, self-tested, well, 30 min exercise, 4 units insulin."""
    assert decode_context(REALISTIC_CONTEXT) == GlucoseMeasurementContext(
        sequence_number=42,
        carbohydrate_id=Carbohydrate.BREAKFAST,
        carbohydrate=0.045,
        meal=Meal.PREPRANDIAL,
        tester=Tester.SELF,
        health=Health.NO_HEALTH_ISSUES,
        exercise_duration=1800,
        exercise_intensity=60,
        medication_id=Medication.RAPID_ACTING_INSULIN,
        medication=0.00004,
        medication_unit="L",
        hba1c=6.5,
    )


@pytest.mark.parametrize(
    ("byte", "tester", "health"),
    [
        # Tester in the LOW nibble, health in the HIGH nibble (SIG nibble note; Nordic 0x12).
        (0x12, Tester.HEALTH_CARE_PROFESSIONAL, Health.MINOR_HEALTH_ISSUES),
        (0x51, Tester.SELF, Health.NO_HEALTH_ISSUES),
        (0xF3, Tester.LAB_TEST, Health.NOT_AVAILABLE),
        (0x4F, Tester.NOT_AVAILABLE, Health.UNDER_STRESS),
        (0x31, Tester.SELF, Health.DURING_MENSES),
        (0x21, Tester.SELF, Health.MAJOR_HEALTH_ISSUES),
    ],
)
def test_tester_is_the_low_nibble_and_health_the_high(
    byte: int, tester: Tester, health: Health
) -> None:
    """A patient who tested themselves is not recorded as "lab test" or "minor issues"."""
    value = decode_context(bytes.fromhex("04" + "0100") + bytes((byte,)))
    assert value.tester is tester
    assert value.health is health


def test_reserved_context_codes_are_kept_as_numbers() -> None:
    """Codes the spec reserves (carbohydrate 8, meal 0, tester 0, health 6, medication 200)."""
    value = decode_context(bytes.fromhex("17" + "0100" + "08" + "6400" + "00" + "60" + "c8c0ff"))
    assert (value.carbohydrate_id, value.meal, value.tester, value.health) == (8, 0, 0, 6)
    assert value.medication_id == 200
    assert all(
        type(code) is int
        for code in (value.carbohydrate_id, value.meal, value.tester, value.health)
    )


def test_medication_units_follow_bit_5() -> None:
    """Medication is in kilograms unless flag bit 5 says litres (0xA006 = 6 × 10^-6 = 6 mg)."""
    in_kg = decode_context(bytes.fromhex("10" + "0100" + "02" + "06a0"))
    in_litres = decode_context(bytes.fromhex("30" + "0100" + "02" + "06a0"))
    assert (in_kg.medication, in_kg.medication_unit) == (0.000006, "kg")
    assert (in_litres.medication, in_litres.medication_unit) == (0.000006, "L")
    assert in_kg.medication_id is Medication.SHORT_ACTING_INSULIN


def test_exercise_overrun_is_kept() -> None:
    """An exercise duration of 0xFFFF ("overrun", over 18 h) is kept as the number 65535."""
    value = decode_context(bytes.fromhex("08" + "0100" + "ffff" + "64"))
    assert (value.exercise_duration, value.exercise_intensity) == (
        glucose.EXERCISE_DURATION_OVERRUN,
        100,
    )


@pytest.mark.parametrize("word", sorted(ieee11073.SFLOAT_SPECIAL))
def test_special_context_values_are_none(word: int) -> None:
    """A NaN carbohydrate, medication or HbA1c is missing, while its id is kept."""
    w = word.to_bytes(2, "little").hex()
    value = decode_context(bytes.fromhex("51" + "0100" + "02" + w + "03" + w + w))
    assert (value.carbohydrate_id, value.carbohydrate) == (Carbohydrate.LUNCH, None)
    assert (value.medication_id, value.medication, value.hba1c) == (3, None, None)


# Every field present, extended flags first: flags 0xFF · seq 0x0007 · ext 0x00 · carbohydrate
# id 2, 0xD02D · meal 2 · 0x51 · 0x0708, 0x3C · medication 1, 0xB004 · HbA1c 0xF041.
FULL_CONTEXT = bytes.fromhex("ff070000022dd0025108073c0104b041f0")
FULL_CONTEXT_FIELDS = (
    ["flags"]
    + ["sequence number"] * 2
    + ["extended flags"]
    + ["carbohydrate id"]
    + ["carbohydrate"] * 2
    + ["meal"]
    + ["tester-health"]
    + ["exercise duration"] * 2
    + ["exercise intensity"]
    + ["medication id"]
    + ["medication"] * 2
    + ["HbA1c"] * 2
)


@pytest.mark.parametrize("length", range(len(FULL_CONTEXT)))
def test_context_truncation_names_the_missing_field(length: int) -> None:
    """A context cut short at any byte says which field is missing."""
    assert len(FULL_CONTEXT_FIELDS) == len(FULL_CONTEXT)
    with pytest.raises(DecodeError) as caught:
        devices.decode("2a34", FULL_CONTEXT[:length])
    message = str(caught.value)
    assert message.startswith("Glucose Measurement Context (0x2A34): truncated before ")
    assert f"'{FULL_CONTEXT_FIELDS[length]}'" in message


def test_extended_flags_come_right_after_the_sequence_number() -> None:
    """With bit 7 set, the byte after the sequence number is the extended flags, not a meal."""
    value = decode_context(bytes.fromhex("82" + "0100" + "05" + "03"))
    assert (value.extended_flags, value.meal) == (5, Meal.FASTING)


def _context_bytes(flags: int) -> bytes:
    """Hand-built context for ``flags``: only the fields the flags announce, in spec order."""
    body = "0700"
    if flags & 0x80:
        body += "00"
    if flags & 0x01:
        body += "02" + "2dd0"  # lunch, 0.045 kg
    if flags & 0x02:
        body += "02"  # postprandial
    if flags & 0x04:
        body += "51"  # self, no health issues
    if flags & 0x08:
        body += "0807" + "3c"  # 1800 s, 60 %
    if flags & 0x10:
        body += "01" + "04b0"  # rapid acting insulin, 4e-5
    if flags & 0x40:
        body += "41f0"  # 6.5 %
    return bytes((flags,)) + bytes.fromhex(body)


@pytest.mark.parametrize("flags", range(256))
def test_every_context_flag_combination(flags: int) -> None:
    """Each context flag byte gives exactly the fields it announces, in the spec's order."""
    expected: dict[str, Any] = {
        "sequence_number": 7,
        "carbohydrate_id": Carbohydrate.LUNCH if flags & 0x01 else None,
        "carbohydrate": 0.045 if flags & 0x01 else None,
        "meal": Meal.POSTPRANDIAL if flags & 0x02 else None,
        "tester": Tester.SELF if flags & 0x04 else None,
        "health": Health.NO_HEALTH_ISSUES if flags & 0x04 else None,
        "exercise_duration": 1800 if flags & 0x08 else None,
        "exercise_intensity": 60 if flags & 0x08 else None,
        "medication_id": Medication.RAPID_ACTING_INSULIN if flags & 0x10 else None,
        "medication": 0.00004 if flags & 0x10 else None,
        "medication_unit": "L" if flags & 0x20 else "kg",
        "hba1c": 6.5 if flags & 0x40 else None,
        "extended_flags": 0 if flags & 0x80 else None,
    }
    assert devices.decode("2a34", _context_bytes(flags)).model_dump() == expected


def test_context_encode_reproduces_the_vectors() -> None:
    """An emulated meter sends the same context bytes as the reference vectors."""
    nordic = decode_context(NORDIC_CONTEXT)
    assert encode_context(nordic, carbohydrate_exponent=0, medication_exponent=-1) == (
        NORDIC_CONTEXT
    )
    assert encode_context(decode_context(REALISTIC_CONTEXT), medication_exponent=-5) == (
        REALISTIC_CONTEXT
    )


def test_context_pairs_are_checked() -> None:
    """An emulated context with half of a shared field is refused before it is sent."""
    with pytest.raises(ValidationError, match="come together"):
        GlucoseMeasurementContext(sequence_number=1, tester=1)
    with pytest.raises(ValidationError, match="come together"):
        GlucoseMeasurementContext(sequence_number=1, exercise_duration=60)
    with pytest.raises(ValidationError, match="needs its carbohydrate_id"):
        GlucoseMeasurementContext(sequence_number=1, carbohydrate=0.01)
    with pytest.raises(ValidationError, match="needs its medication_id"):
        GlucoseMeasurementContext(sequence_number=1, medication=0.01)


# ---------------------------------------------------------------- hypothesis: context


@st.composite
def contexts(draw: st.DrawFn) -> tuple[GlucoseMeasurementContext, int, int, int]:
    """A context an emulated meter could send, with its three SFLOAT exponents."""
    carb_exp, med_exp, hba1c_exp = draw(exponents), draw(exponents), draw(exponents)

    def amount(exponent: int) -> float | None:
        word = ((exponent & 0xF) << 12) | (draw(mantissas) & 0xFFF)
        return draw(st.none() | st.just(ieee11073.sfloat(word)))

    fields: dict[str, Any] = {
        "sequence_number": draw(sequence_numbers),
        "medication_unit": draw(st.sampled_from(["kg", "L"])),
        "extended_flags": draw(st.none() | st.integers(0, 0xFF)),
    }
    if draw(st.booleans()):
        fields["carbohydrate_id"] = draw(st.integers(0, 0xFF))
        fields["carbohydrate"] = amount(carb_exp)
    fields["meal"] = draw(st.none() | st.integers(0, 0xFF))
    if draw(st.booleans()):
        fields["tester"], fields["health"] = draw(st.integers(0, 15)), draw(st.integers(0, 15))
    if draw(st.booleans()):
        fields["exercise_duration"] = draw(st.integers(0, 0xFFFF))
        fields["exercise_intensity"] = draw(st.integers(0, 0xFF))
    if draw(st.booleans()):
        fields["medication_id"] = draw(st.integers(0, 0xFF))
        fields["medication"] = amount(med_exp)
    if draw(st.booleans()):
        word = ((hba1c_exp & 0xF) << 12) | (draw(mantissas) & 0xFFF)
        fields["hba1c"] = ieee11073.sfloat(word)
    return GlucoseMeasurementContext(**fields), carb_exp, med_exp, hba1c_exp


@given(contexts())
def test_context_encode_decode_round_trip(
    case: tuple[GlucoseMeasurementContext, int, int, int],
) -> None:
    """Whatever context an emulated meter sends decodes back to the same record."""
    value, carb_exp, med_exp, hba1c_exp = case
    data = encode_context(
        value,
        carbohydrate_exponent=carb_exp,
        medication_exponent=med_exp,
        hba1c_exponent=hba1c_exp,
    )
    assert decode_context(data) == value


@settings(max_examples=300)
@given(data=st.binary(max_size=40))
def test_random_bytes_give_a_context_or_a_decode_error(data: bytes) -> None:
    """Whatever bytes a broken meter sends as context, decoding never fails otherwise."""
    try:
        value = devices.decode("2a34", data)
    except DecodeError:
        return
    assert isinstance(value, GlucoseMeasurementContext)
