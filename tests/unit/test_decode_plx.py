"""PLX Spot-Check (0x2A5E) and Continuous (0x2A5F): real bytes, every flag, every truncation."""

from __future__ import annotations

import itertools
from datetime import datetime

import pytest
from hypothesis import given
from hypothesis import strategies as st

import devices
from devices import DecodeError, ieee11073
from devices.characteristics import plx
from devices.characteristics.plx import (
    DeviceAndSensorStatus,
    MeasurementStatus,
    PlxContinuousMeasurement,
    PlxSpotCheckMeasurement,
)

# --- vectors from public test suites -------------------------------------------------------
# StanfordSpezi/SpeziBluetooth, Tests/SpeziBluetoothServicesTests/PLXTests.swift
# (testSpotCheckMeasurementCoding): flags 0x0F (time stamp, status, sensor status, PAI),
# SpO2 0xF3AC = 940 × 10⁻¹ = 94.0 %, PR 0xF5BE = 1470 × 10⁻¹ = 147.0 /min, time stamp
# 2024-11-29 23:08:57, status 0x4020 (measurement ongoing, questionable measurement), sensor
# status 0x000022 (equipment malfunction, low perfusion), PAI 0xE366 = 870 × 10⁻² = 8.70 %.
SPEZI_SPOT_CHECK = bytes.fromhex("0f acf3 bef5 e8070b1d170839 2040 220000 66e3")
SPEZI_SPOT_CHECK_VALUE = PlxSpotCheckMeasurement(
    spo2=94.0,
    pulse_rate=147.0,
    timestamp=datetime(2024, 11, 29, 23, 8, 57),  # noqa: DTZ001 - device time has no zone
    measurement_status=MeasurementStatus.MEASUREMENT_ONGOING
    | MeasurementStatus.QUESTIONABLE_MEASUREMENT_DETECTED,
    device_and_sensor_status=DeviceAndSensorStatus.EQUIPMENT_MALFUNCTION_DETECTED
    | DeviceAndSensorStatus.LOW_PERFUSION_DETECTED,
    pulse_amplitude_index=8.7,
)

# Same file (testFullMeasurementCoding): flags 0x1F, normal 99.0 %/97.0, fast 97.0 %/137.0,
# slow 98.0 %/69.0 (all exponent −1), status 0x0120 (ongoing, fully qualified), sensor status
# 0, PAI 0xE37A = 890 × 10⁻² = 8.90.
SPEZI_CONTINUOUS_FULL = bytes.fromhex("1f def3 caf3 caf3 5af5 d4f3 b2f2 2001 000000 7ae3")
SPEZI_CONTINUOUS_FULL_VALUE = PlxContinuousMeasurement(
    spo2=99.0,
    pulse_rate=97.0,
    spo2_fast=97.0,
    pulse_rate_fast=137.0,
    spo2_slow=98.0,
    pulse_rate_slow=69.0,
    measurement_status=0x0120,
    device_and_sensor_status=0,
    pulse_amplitude_index=8.9,
)


@pytest.mark.parametrize(
    ("characteristic", "hex_value", "expected"),
    [
        pytest.param("2a5e", SPEZI_SPOT_CHECK.hex(), SPEZI_SPOT_CHECK_VALUE, id="spezi-spot"),
        pytest.param(
            "2a5f", SPEZI_CONTINUOUS_FULL.hex(), SPEZI_CONTINUOUS_FULL_VALUE, id="spezi-full"
        ),
        # SpeziBluetooth PLXTests.swift (testVerySimpleMeasurementCoding): the same 100 %/90
        # encoded at exponent 0 (0x0064, 0x005A) and at exponent −1 (0xF3E8, 0xF384).
        pytest.param(
            "2a5f",
            "00 6400 5a00",
            PlxContinuousMeasurement(spo2=100, pulse_rate=90),
            id="spezi-simple-exp0",
        ),
        pytest.param(
            "2a5f",
            "00 e8f3 84f3",
            PlxContinuousMeasurement(spo2=100, pulse_rate=90),
            id="spezi-simple-exp-1",
        ),
        # SpeziBluetooth PLXTests.swift (testSimpleMeasurementCoding): flags 0x1C (status,
        # sensor status, PAI), 95 %, 90, status 0x0020 (ongoing), sensor 0, PAI 0xF057 = 8.7.
        pytest.param(
            "2a5f",
            "1c 5f00 5a00 2000 000000 57f0",
            PlxContinuousMeasurement(
                spo2=95,
                pulse_rate=90,
                measurement_status=MeasurementStatus.MEASUREMENT_ONGOING,
                device_and_sensor_status=0,
                pulse_amplitude_index=8.7,
            ),
            id="spezi-status",
        ),
        # RonanB96/bluetooth-sig-python tests/gatt/characteristics/
        # test_plx_spot_check_measurement.py sends 0x8062 and 0x8048 and expects 98 and 72,
        # reading the exponent nibble as biased by 8. IEEE 11073-20601 §F.8 makes it a 4-bit
        # two's complement: 0x8 is −8, so these words are 98 × 10⁻⁸ and 72 × 10⁻⁸.
        pytest.param(
            "2a5e",
            "00 6280 4880",
            PlxSpotCheckMeasurement(spo2=98 / 10**8, pulse_rate=72 / 10**8),
            id="sig-python-biased-exponent",
        ),
        # Hand-built from PLXS §3.1: flags 0x1F (all fields and "device clock is not set"),
        # 97 % (0x0061), 64 /min (0x0040), the unset clock's default 2000-01-01 00:00:00,
        # status 0x0080 (validated data), sensor 0x000020 (low perfusion), PAI 0xF019 = 2.5.
        pytest.param(
            "2a5e",
            "1f 6100 4000 d0070101000000 8000 200000 19f0",
            PlxSpotCheckMeasurement(
                spo2=97,
                pulse_rate=64,
                timestamp=datetime(2000, 1, 1),  # noqa: DTZ001 - device time has no zone
                measurement_status=MeasurementStatus.VALIDATED_DATA,
                device_and_sensor_status=DeviceAndSensorStatus.LOW_PERFUSION_DETECTED,
                pulse_amplitude_index=2.5,
                device_clock_not_set=True,
            ),
            id="hand-clock-not-set",
        ),
        # Hand-built: an oximeter with no finger sends NaN (0x07FF) for both values with
        # status 0x2000 "measurement unavailable" (flags 0x02).
        pytest.param(
            "2a5e",
            "02 ff07 ff07 0020",
            PlxSpotCheckMeasurement(
                spo2=None,
                pulse_rate=None,
                measurement_status=MeasurementStatus.MEASUREMENT_UNAVAILABLE,
            ),
            id="hand-no-finger",
        ),
    ],
)
def test_known_vectors(
    characteristic: str,
    hex_value: str,
    expected: PlxSpotCheckMeasurement | PlxContinuousMeasurement,
) -> None:
    """Readings from real oximeter libraries decode to the SpO2 and pulse the device meant."""
    data = bytes.fromhex(hex_value)
    assert devices.decode(characteristic, data) == expected
    module_decoder = plx.decode_spot_check if characteristic == "2a5e" else plx.decode_continuous
    assert module_decoder(data) == expected


def test_contract_field_names() -> None:
    """The gateway finds SpO2 and pulse under the contract's names for both characteristics."""
    for value in (SPEZI_SPOT_CHECK_VALUE, SPEZI_CONTINUOUS_FULL_VALUE):
        dumped = value.model_dump()
        assert (dumped["spo2"], dumped["pulse_rate"]) == (value.spo2, value.pulse_rate)
    assert "timestamp" not in SPEZI_CONTINUOUS_FULL_VALUE.model_dump()


# --- every flag combination ----------------------------------------------------------------
# Optional fields as (flag, bytes, model fields), in layout order, taken from the vectors above.
SPOT_OPTIONAL: list[tuple[int, str, dict[str, object]]] = [
    (
        0x01,
        "e8070b1d170839",
        {"timestamp": datetime(2024, 11, 29, 23, 8, 57)},  # noqa: DTZ001 - device time
    ),
    (0x02, "2040", {"measurement_status": 0x4020}),
    (0x04, "220000", {"device_and_sensor_status": 0x22}),
    (0x08, "66e3", {"pulse_amplitude_index": 8.7}),
    (0x10, "", {"device_clock_not_set": True}),
]
CONTINUOUS_OPTIONAL: list[tuple[int, str, dict[str, object]]] = [
    (0x01, "caf35af5", {"spo2_fast": 97.0, "pulse_rate_fast": 137.0}),
    (0x02, "d4f3b2f2", {"spo2_slow": 98.0, "pulse_rate_slow": 69.0}),
    (0x04, "2001", {"measurement_status": 0x0120}),
    (0x08, "220000", {"device_and_sensor_status": 0x22}),
    (0x10, "7ae3", {"pulse_amplitude_index": 8.9}),
]


def _combination(
    optional: list[tuple[int, str, dict[str, object]]], chosen: tuple[bool, ...]
) -> tuple[int, str, dict[str, object]]:
    flags, body, fields = 0, "", {}
    for (flag, chunk, values), on in zip(optional, chosen, strict=True):
        if on:
            flags |= flag
            body += chunk
            fields.update(values)
    return flags, body, fields


@pytest.mark.parametrize("chosen", list(itertools.product((False, True), repeat=5)))
def test_every_spot_check_flag_combination(chosen: tuple[bool, ...]) -> None:
    """Whatever optional fields a spot-check oximeter includes, each lands in its own field."""
    flags, body, fields = _combination(SPOT_OPTIONAL, chosen)
    data = bytes((flags,)) + bytes.fromhex("acf3bef5" + body)
    expected = PlxSpotCheckMeasurement.model_validate({"spo2": 94.0, "pulse_rate": 147.0, **fields})
    assert devices.decode("2a5e", data) == expected


@pytest.mark.parametrize("chosen", list(itertools.product((False, True), repeat=5)))
def test_every_continuous_flag_combination(chosen: tuple[bool, ...]) -> None:
    """Whatever optional fields a continuous oximeter includes, each lands in its own field."""
    flags, body, fields = _combination(CONTINUOUS_OPTIONAL, chosen)
    data = bytes((flags,)) + bytes.fromhex("def3caf3" + body)
    expected = PlxContinuousMeasurement.model_validate({"spo2": 99.0, "pulse_rate": 97.0, **fields})
    assert devices.decode("2a5f", data) == expected


def test_same_flag_byte_means_different_fields() -> None:
    """Flags 0x01 is a time stamp on a spot-check but the fast SpO2/PR pair on a continuous
    oximeter, so a reading never gets a bogus time from the wrong table."""
    data = bytes.fromhex("01 6100 4000 e8070b1d170839")
    assert devices.decode("2a5e", data) == PlxSpotCheckMeasurement(
        spo2=97,
        pulse_rate=64,
        timestamp=datetime(2024, 11, 29, 23, 8, 57),  # noqa: DTZ001 - device time has no zone
    )
    # As continuous, bytes 5–8 are the fast pair: 0x07E8 = 2024 × 10⁰ and 0x1D0B = −757 × 10¹.
    assert devices.decode("2a5f", data) == PlxContinuousMeasurement(
        spo2=97, pulse_rate=64, spo2_fast=2024, pulse_rate_fast=-7570
    )


@pytest.mark.parametrize("reserved", [0x20, 0x40, 0x80, 0xE0])
def test_reserved_flag_bits_are_ignored(reserved: int) -> None:
    """An oximeter that sets reserved flag bits still gives its reading."""
    spot = bytes((SPEZI_SPOT_CHECK[0] | reserved,)) + SPEZI_SPOT_CHECK[1:]
    assert devices.decode("2a5e", spot) == SPEZI_SPOT_CHECK_VALUE
    cont = bytes((SPEZI_CONTINUOUS_FULL[0] | reserved,)) + SPEZI_CONTINUOUS_FULL[1:]
    assert devices.decode("2a5f", cont) == SPEZI_CONTINUOUS_FULL_VALUE


def test_trailing_bytes_are_tolerated() -> None:
    """Fields a newer specification appends do not make today's reading fail."""
    assert devices.decode("2a5e", SPEZI_SPOT_CHECK + b"\x00\x01\x02") == SPEZI_SPOT_CHECK_VALUE
    assert devices.decode("2a5f", SPEZI_CONTINUOUS_FULL + b"\xff") == SPEZI_CONTINUOUS_FULL_VALUE


# --- truncation ----------------------------------------------------------------------------
SPOT_LAYOUT = [
    ("flags", 1),
    ("SpO2", 2),
    ("pulse rate", 2),
    ("time stamp", 7),
    ("measurement status", 2),
    ("device and sensor status", 3),
    ("pulse amplitude index", 2),
]
CONTINUOUS_LAYOUT = [
    ("flags", 1),
    ("SpO2", 2),
    ("pulse rate", 2),
    ("SpO2 fast", 2),
    ("pulse rate fast", 2),
    ("SpO2 slow", 2),
    ("pulse rate slow", 2),
    ("measurement status", 2),
    ("device and sensor status", 3),
    ("pulse amplitude index", 2),
]


def _cuts(layout: list[tuple[str, int]]) -> list[tuple[int, str]]:
    """Every length short of the whole value, with the field a reader is in at that point."""
    cuts, start = [], 0
    for name, size in layout:
        cuts += [(length, name) for length in range(start, start + size)]
        start += size
    return cuts


@pytest.mark.parametrize(("length", "field"), _cuts(SPOT_LAYOUT))
def test_spot_check_truncation_names_the_missing_field(length: int, field: str) -> None:
    """A reading cut short in transit is rejected with the field that is missing."""
    assert sum(size for _, size in SPOT_LAYOUT) == len(SPEZI_SPOT_CHECK)
    with pytest.raises(DecodeError, match=rf"truncated before '{field}'.* has {length} bytes"):
        devices.decode("2a5e", SPEZI_SPOT_CHECK[:length])


@pytest.mark.parametrize(("length", "field"), _cuts(CONTINUOUS_LAYOUT))
def test_continuous_truncation_names_the_missing_field(length: int, field: str) -> None:
    """A continuous sample cut short in transit is rejected with the field that is missing."""
    assert sum(size for _, size in CONTINUOUS_LAYOUT) == len(SPEZI_CONTINUOUS_FULL)
    with pytest.raises(DecodeError, match=rf"truncated before '{field}'.* has {length} bytes"):
        devices.decode("2a5f", SPEZI_CONTINUOUS_FULL[:length])


# --- special values ------------------------------------------------------------------------
@pytest.mark.parametrize("word", sorted(ieee11073.SFLOAT_SPECIAL))
def test_sfloat_special_values_are_none(word: int) -> None:
    """NaN, NRes and ±INF from an oximeter show as "no value", never as 2047 % or -2046 /min."""
    raw = word.to_bytes(2, "little").hex()
    assert devices.decode("2a5e", bytes.fromhex("08" + raw + raw + raw)) == PlxSpotCheckMeasurement(
        spo2=None, pulse_rate=None
    )
    assert devices.decode("2a5f", bytes.fromhex("13" + raw * 7)) == PlxContinuousMeasurement(
        spo2=None, pulse_rate=None
    )


def test_unknown_timestamp_is_none() -> None:
    """A spot-check whose clock reports year/month/day 0 has no time stamp, not year 0."""
    data = bytes.fromhex("01 6100 4000 00000000000000")
    assert devices.decode("2a5e", data) == PlxSpotCheckMeasurement(spo2=97, pulse_rate=64)


def test_impossible_timestamp_is_a_decode_error() -> None:
    """A spot-check dated 2024-13-01 is refused rather than stored at a made-up time."""
    data = bytes.fromhex("01 6100 4000 e8070d01000000")
    with pytest.raises(DecodeError, match="time stamp"):
        devices.decode("2a5e", data)


# --- encoders ------------------------------------------------------------------------------
def test_encoder_sends_the_layout_byte_for_byte() -> None:
    """An emulated oximeter sends the bytes a real one would for the same reading."""
    # The SpeziBluetooth vector at its exponent −1 (testVerySimpleMeasurementCoding).
    simple = PlxContinuousMeasurement(spo2=100, pulse_rate=90)
    assert plx.encode_continuous(simple, exponent=-1) == bytes.fromhex("00 e8f3 84f3")
    # The full Spezi sample with exponents chosen per value (whole numbers at 10⁰, PAI 89 × 10⁻¹).
    assert plx.encode_continuous(SPEZI_CONTINUOUS_FULL_VALUE) == bytes.fromhex(
        "1f 6300 6100 6100 8900 6200 4500 2001 000000 59f0"
    )
    # The Spezi spot-check likewise: 94, 147, …, PAI 87 × 10⁻¹.
    assert plx.encode_spot_check(SPEZI_SPOT_CHECK_VALUE) == bytes.fromhex(
        "0f 5e00 9300 e8070b1d170839 2040 220000 57f0"
    )


@pytest.mark.parametrize(
    ("value", "exponent", "word"),
    [
        (98.5, None, 0xF3D9),  # 985 × 10⁻¹: the shortest exact form
        (98.0, None, 0x0062),  # whole numbers at exponent 0
        (0.05, None, 0xE005),  # 5 × 10⁻²
        (30000.0, None, 0x212C),  # 300 × 10²: 30000 does not fit a 12-bit mantissa
        (98.0, -1, 0xF3D4),  # caller's exponent: 980 × 10⁻¹
        (None, None, 0x07FF),  # unknown → NaN
    ],
)
def test_sfloat_encoder_keeps_the_value(
    value: float | None, exponent: int | None, word: int
) -> None:
    """An emulated oximeter sends 98.5 % as 985 × 10⁻¹, never silently rounded to 99 %."""
    assert plx.sfloat_bytes(value, exponent) == word.to_bytes(2, "little")


@pytest.mark.parametrize("value", [float("nan"), float("inf"), 1e12])
def test_sfloat_encoder_refuses_what_no_sfloat_holds(value: float) -> None:
    """An emulator asked for an impossible value fails loudly instead of sending garbage."""
    with pytest.raises(ValueError, match="SFLOAT"):
        plx.sfloat_bytes(value)


def test_encoder_refuses_oversized_status() -> None:
    """A status that does not fit its 16 bits is an emulator bug, reported as such."""
    with pytest.raises(ValueError, match="measurement status"):
        plx.encode_spot_check(
            PlxSpotCheckMeasurement(spo2=97, pulse_rate=60, measurement_status=1 << 16)
        )


# --- properties ----------------------------------------------------------------------------
def _sfloat(mantissa: int, exponent: int) -> float | None:
    return ieee11073.sfloat(((exponent & 0xF) << 12) | (mantissa & 0x0FFF))


SFLOATS = st.none() | st.builds(_sfloat, st.integers(-2045, 2045), st.integers(-8, 7))
TIMESTAMPS = st.none() | st.datetimes(
    min_value=datetime(1582, 1, 1),  # noqa: DTZ001 - Date Time range, no zone
    max_value=datetime(9999, 12, 31, 23, 59, 59),  # noqa: DTZ001
).map(lambda moment: moment.replace(microsecond=0))
STATUS = st.none() | st.integers(0, 0xFFFF)
SENSOR = st.none() | st.integers(0, 0xFFFFFF)

SPOT_CHECKS = st.builds(
    PlxSpotCheckMeasurement,
    spo2=SFLOATS,
    pulse_rate=SFLOATS,
    timestamp=TIMESTAMPS,
    measurement_status=STATUS,
    device_and_sensor_status=SENSOR,
    pulse_amplitude_index=SFLOATS,
    device_clock_not_set=st.booleans(),
)
CONTINUOUS = st.builds(
    PlxContinuousMeasurement,
    spo2=SFLOATS,
    pulse_rate=SFLOATS,
    spo2_fast=SFLOATS,
    pulse_rate_fast=SFLOATS,
    spo2_slow=SFLOATS,
    pulse_rate_slow=SFLOATS,
    measurement_status=STATUS,
    device_and_sensor_status=SENSOR,
    pulse_amplitude_index=SFLOATS,
)


@given(SPOT_CHECKS, st.integers(0, 0xFF))
def test_spot_check_round_trip(m: PlxSpotCheckMeasurement, extra: int) -> None:
    """What an emulated oximeter sends is what the gateway reads back, reserved bits or not."""
    assert devices.decode("2a5e", plx.encode_spot_check(m, extra_flags=extra)) == m


@given(CONTINUOUS, st.integers(0, 0xFF))
def test_continuous_round_trip(m: PlxContinuousMeasurement, extra: int) -> None:
    """What an emulated continuous oximeter sends is what the gateway reads back."""
    assert devices.decode("2a5f", plx.encode_continuous(m, extra_flags=extra)) == m


@given(st.binary(max_size=40))
def test_random_bytes_give_a_spot_check_or_decode_error(data: bytes) -> None:
    """Garbage from a misbehaving oximeter is a clear error, never a crash or a wrong type."""
    try:
        result = devices.decode("2a5e", data)
    except DecodeError:
        return
    assert isinstance(result, PlxSpotCheckMeasurement)


@given(st.binary(max_size=40))
def test_random_bytes_give_a_continuous_sample_or_decode_error(data: bytes) -> None:
    """Garbage on the continuous characteristic is a clear error, never a crash."""
    try:
        result = devices.decode("2a5f", data)
    except DecodeError:
        return
    assert isinstance(result, PlxContinuousMeasurement)
