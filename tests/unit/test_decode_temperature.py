"""Temperature Measurement (0x2A1C): real bytes, every flag, FLOAT specials, every truncation."""

from __future__ import annotations

import itertools
from datetime import datetime

import pytest
from hypothesis import given
from hypothesis import strategies as st

import devices
from devices import DecodeError, ieee11073
from devices.characteristics import temperature
from devices.characteristics.temperature import TemperatureMeasurement, TemperatureType

# NordicSemiconductor/Android-BLE-Common-Library, ble-common/src/test/java/no/nordicsemi/
# android/ble/common/callback/ht/TemperatureMeasurementDataCallbackTest.java: flags 0x06 (time
# stamp, type; Celsius), FLOAT 0xFE000EB0 = 3760 × 10⁻² = 37.60 °C, 2012-12-05 11:50:27, type 4
# (finger).
NORDIC = bytes.fromhex("06 b00e00fe dc070c050b321b 04")
NORDIC_VALUE = TemperatureMeasurement(
    temperature=37.6,
    unit="C",
    timestamp=datetime(2012, 12, 5, 11, 50, 27),  # noqa: DTZ001 - device time has no zone
    temperature_type=TemperatureType.FINGER,
)


@pytest.mark.parametrize(
    ("hex_value", "expected"),
    [
        pytest.param(NORDIC.hex(), NORDIC_VALUE, id="nordic"),
        # StanfordSpezi/SpeziBluetooth Tests/SpeziBluetoothServicesTests/HealthThermometerTests
        # .swift (testTemperatureMeasurement) sends FLOAT bit pattern 0xAFAFAFAF with a time of
        # day only (13:12:12, date unknown) and type ear; laid out per HTS §3.1: flags 0x06,
        # exponent 0xAF = −81, mantissa 0xAFAFAF = −5263441; year/month/day 0 → no time stamp.
        pytest.param(
            "06 afafafaf 0000 00 00 0d0c0c 03",
            TemperatureMeasurement(
                temperature=-5263441 / 10**81,
                unit="C",
                temperature_type=TemperatureType.EAR,
            ),
            id="spezi-bit-pattern",
        ),
        # Hand-built from HTS §3.1: flags 0x01 (Fahrenheit), 0xFF0003DA = 986 × 10⁻¹ = 98.6 °F.
        pytest.param(
            "01 da0300ff", TemperatureMeasurement(temperature=98.6, unit="F"), id="fahrenheit"
        ),
        # Hand-built: 0x00000025 = 37 × 10⁰ (an integer-resolution thermometer), type 6 (mouth).
        pytest.param(
            "04 25000000 06",
            TemperatureMeasurement(
                temperature=37, unit="C", temperature_type=TemperatureType.MOUTH
            ),
            id="integer-mouth",
        ),
        # Hand-built: a negative mantissa (0xFFFFFFFE·… = −2 × 10⁻¹ = −0.2 °C, a cold probe).
        pytest.param(
            "00 feffffff", TemperatureMeasurement(temperature=-0.2, unit="C"), id="negative"
        ),
        # Hand-built: the thermometer failed and sent FLOAT NaN 0x007FFFFF (research notes).
        pytest.param("00 ffff7f00", TemperatureMeasurement(temperature=None, unit="C"), id="nan"),
    ],
)
def test_known_vectors(hex_value: str, expected: TemperatureMeasurement) -> None:
    """A thermometer's reading arrives as the temperature it displayed."""
    data = bytes.fromhex(hex_value)
    assert devices.decode("2a1c", data) == expected
    assert temperature.decode(data) == expected


def test_fahrenheit_keeps_its_unit() -> None:
    """A thermometer reporting in Fahrenheit keeps its unit so the gateway can convert it."""
    result = devices.decode("2a1c", bytes.fromhex("01 da0300ff"))
    assert result.model_dump() == {
        "temperature": 98.6,
        "unit": "F",
        "timestamp": None,
        "temperature_type": None,
    }


@pytest.mark.parametrize("code", list(TemperatureType))
def test_every_temperature_type_code(code: TemperatureType) -> None:
    """Where the temperature was taken (armpit … tympanum) is kept as the spec's code."""
    result = devices.decode("2a1c", bytes.fromhex("04 25000000") + bytes((code,)))
    assert result == TemperatureMeasurement(temperature=37, unit="C", temperature_type=code)
    assert isinstance(result.model_dump()["temperature_type"], TemperatureType)


@pytest.mark.parametrize("code", [0, 10, 255])
def test_reserved_temperature_type_is_kept_as_sent(code: int) -> None:
    """A body site code the spec reserves still gives the temperature, with the raw code."""
    result = devices.decode("2a1c", bytes.fromhex("04 25000000") + bytes((code,)))
    assert result == TemperatureMeasurement(temperature=37, unit="C", temperature_type=code)


@pytest.mark.parametrize("chosen", list(itertools.product((False, True), repeat=3)))
def test_every_flag_combination(chosen: tuple[bool, bool, bool]) -> None:
    """Unit, time stamp and body site each appear exactly when the thermometer sends them."""
    fahrenheit, stamped, typed = chosen
    flags = (0x01 if fahrenheit else 0) | (0x02 if stamped else 0) | (0x04 if typed else 0)
    body = "b00e00fe" + ("dc070c050b321b" if stamped else "") + ("04" if typed else "")
    expected = TemperatureMeasurement(
        temperature=37.6,
        unit="F" if fahrenheit else "C",
        timestamp=datetime(2012, 12, 5, 11, 50, 27) if stamped else None,  # noqa: DTZ001
        temperature_type=TemperatureType.FINGER if typed else None,
    )
    assert devices.decode("2a1c", bytes((flags,)) + bytes.fromhex(body)) == expected


@pytest.mark.parametrize("reserved", [0x08, 0x10, 0x20, 0x40, 0x80, 0xF8])
def test_reserved_flag_bits_are_ignored(reserved: int) -> None:
    """A thermometer that sets reserved flag bits (as some Beurer ones do) still reads."""
    data = bytes((NORDIC[0] | reserved,)) + NORDIC[1:]
    assert devices.decode("2a1c", data) == NORDIC_VALUE


def test_trailing_bytes_are_tolerated() -> None:
    """Fields a newer specification appends do not make today's reading fail."""
    assert devices.decode("2a1c", NORDIC + b"\x00\x00") == NORDIC_VALUE


LAYOUT = [("flags", 1), ("temperature", 4), ("time stamp", 7), ("temperature type", 1)]


def _cuts(layout: list[tuple[str, int]]) -> list[tuple[int, str]]:
    """Every length short of the whole value, with the field a reader is in at that point."""
    cuts, start = [], 0
    for name, size in layout:
        cuts += [(length, name) for length in range(start, start + size)]
        start += size
    return cuts


@pytest.mark.parametrize(("length", "field"), _cuts(LAYOUT))
def test_truncation_names_the_missing_field(length: int, field: str) -> None:
    """A reading cut short in transit is rejected with the field that is missing."""
    # Nordic's onInvalidDataReceived is the length-12 case: the type byte is missing.
    assert sum(size for _, size in LAYOUT) == len(NORDIC)
    with pytest.raises(DecodeError, match=rf"truncated before '{field}'.* has {length} bytes"):
        devices.decode("2a1c", NORDIC[:length])


@pytest.mark.parametrize("word", sorted(ieee11073.FLOAT_SPECIAL))
def test_float_special_values_are_none(word: int) -> None:
    """NaN, NRes and ±INF show as "no temperature", never as 8388607 °C."""
    data = b"\x00" + word.to_bytes(4, "little")
    assert devices.decode("2a1c", data) == TemperatureMeasurement(temperature=None, unit="C")


def test_special_mantissa_with_an_exponent_is_a_real_number() -> None:
    """0xFF7FFFFF is 8388607 × 10⁻¹, a number: only the exact NaN word means "no value"."""
    data = bytes.fromhex("00 ffff7fff")
    assert devices.decode("2a1c", data) == TemperatureMeasurement(temperature=838860.7, unit="C")


def test_impossible_timestamp_is_a_decode_error() -> None:
    """A reading dated 2012-12-05 25:00 is refused rather than stored at a made-up time."""
    with pytest.raises(DecodeError, match="time stamp"):
        devices.decode("2a1c", bytes.fromhex("02 b00e00fe dc070c0519001b"))


# --- encoders ------------------------------------------------------------------------------
def test_encoder_reproduces_nordic_bytes() -> None:
    """An emulated thermometer can send exactly what the Nordic reference vector holds."""
    assert temperature.encode(NORDIC_VALUE, exponent=-2) == NORDIC


@pytest.mark.parametrize(
    ("value", "word"),
    [
        (37.6, 0xFF000178),  # 376 × 10⁻¹, not rounded to 38
        (37.0, 0x00000025),
        (98.65, 0xFE002689),  # 9865 × 10⁻²
        (None, 0x007FFFFF),  # unknown → NaN
    ],
)
def test_float_encoder_keeps_the_value(value: float | None, word: int) -> None:
    """An emulated thermometer sends 37.6 °C as 376 × 10⁻¹, never silently as 38 °C."""
    assert temperature.float_bytes(value) == word.to_bytes(4, "little")


@pytest.mark.parametrize("value", [float("nan"), float("-inf"), 1e300])
def test_float_encoder_refuses_what_no_float_holds(value: float) -> None:
    """An emulator asked for an impossible value fails loudly instead of sending garbage."""
    with pytest.raises(ValueError, match="FLOAT"):
        temperature.float_bytes(value)


def test_encoder_refuses_a_type_code_beyond_a_byte() -> None:
    """A body site code that does not fit its byte is an emulator bug, reported as such."""
    with pytest.raises(ValueError, match="temperature type"):
        temperature.encode(TemperatureMeasurement(temperature=37, unit="C", temperature_type=300))


# --- properties ----------------------------------------------------------------------------
def _float(mantissa: int, exponent: int) -> float | None:
    return ieee11073.float32(((exponent & 0xFF) << 24) | (mantissa & 0x00FFFFFF))


FLOATS = st.none() | st.builds(_float, st.integers(-(2**23 - 3), 2**23 - 3), st.integers(-128, 127))
TIMESTAMPS = st.none() | st.datetimes(
    min_value=datetime(1582, 1, 1),  # noqa: DTZ001 - Date Time range, no zone
    max_value=datetime(9999, 12, 31, 23, 59, 59),  # noqa: DTZ001
).map(lambda moment: moment.replace(microsecond=0))
MEASUREMENTS = st.builds(
    TemperatureMeasurement,
    temperature=FLOATS,
    unit=st.sampled_from(["C", "F"]),
    timestamp=TIMESTAMPS,
    temperature_type=st.none() | st.integers(0, 255),
)


@given(MEASUREMENTS, st.integers(0, 0xFF))
def test_round_trip(m: TemperatureMeasurement, extra: int) -> None:
    """What an emulated thermometer sends is what the gateway reads back, reserved bits or not."""
    assert devices.decode("2a1c", temperature.encode(m, extra_flags=extra)) == m


@given(st.binary(max_size=40))
def test_random_bytes_give_a_measurement_or_decode_error(data: bytes) -> None:
    """Garbage from a misbehaving thermometer is a clear error, never a crash."""
    try:
        result = devices.decode("2a1c", data)
    except DecodeError:
        return
    assert isinstance(result, TemperatureMeasurement)
