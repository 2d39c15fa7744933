"""Heart Rate Measurement (0x2A37): real strap bytes, contact states, RR in seconds, truncation."""

from __future__ import annotations

import itertools

import pytest
from hypothesis import given
from hypothesis import strategies as st

import devices
from devices import DecodeError
from devices.characteristics import heart_rate
from devices.characteristics.heart_rate import HeartRateMeasurement

# NordicSemiconductor/Android-BLE-Common-Library, ble-common/src/test/java/no/nordicsemi/
# android/ble/common/callback/hr/HeartRateMeasurementDataCallbackTest.java
# (onHeartRateMeasurementReceived_uint16): flags 0x1F (uint16, contact supported and detected,
# energy, RR), 0x0101 = 257 /min, 0x0132 = 306 kJ, RR 1, 258 and 65535 × 1/1024 s.
NORDIC_UINT16 = bytes.fromhex("1f 0101 3201 0100 0201 ffff")
NORDIC_UINT16_VALUE = HeartRateMeasurement(
    heart_rate=257,
    sensor_contact=True,
    energy_expended=306,
    rr_intervals=[1 / 1024, 258 / 1024, 65535 / 1024],
)


@pytest.mark.parametrize(
    ("hex_value", "expected"),
    [
        # Nordic HeartRateMeasurementDataCallbackTest.java, the other valid vectors:
        # _simple: flags 0, 85 /min, contact not supported.
        pytest.param("00 55", HeartRateMeasurement(heart_rate=85), id="nordic-simple"),
        # _noContact: flags 0x04 (contact supported, not detected), 255 /min.
        pytest.param(
            "04 ff",
            HeartRateMeasurement(heart_rate=255, sensor_contact=False),
            id="nordic-no-contact",
        ),
        # _uint8: flags 0x1E, 85 /min, contact, 50 kJ, one RR of 33/1024 s.
        pytest.param(
            "1e 55 3200 2100",
            HeartRateMeasurement(
                heart_rate=85, sensor_contact=True, energy_expended=50, rr_intervals=[33 / 1024]
            ),
            id="nordic-uint8",
        ),
        pytest.param(NORDIC_UINT16.hex(), NORDIC_UINT16_VALUE, id="nordic-uint16"),
        # Stack Overflow question 50477232 "Reading Heart Rate Measurement (x2A37) values":
        # gatttool notifications from a Polar H10, flags 0x10 (RR present, contact not
        # supported): 72 /min with RR 0x032C = 812/1024 s; 73 /min with RR 862 and 918/1024 s.
        pytest.param(
            "10 48 2c03",
            HeartRateMeasurement(heart_rate=72, rr_intervals=[812 / 1024]),
            id="polar-h10-one-rr",
        ),
        pytest.param(
            "10 49 5e03 9603",
            HeartRateMeasurement(heart_rate=73, rr_intervals=[862 / 1024, 918 / 1024]),
            id="polar-h10-two-rr",
        ),
        # Stack Overflow question 67024800 (Polar H10 on Android): [16, 59, 83, 4] = 59 /min,
        # RR 0x0453 = 1107/1024 s.
        pytest.param(
            "10 3b 5304",
            HeartRateMeasurement(heart_rate=59, rr_intervals=[1107 / 1024]),
            id="polar-h10-android",
        ),
        # Stack Overflow answer on a Polar H7 (mirrored at e-learn.cn/qa/answer/1013198):
        # [22, 77, 22, 3] = flags 0x16 (contact detected, RR), 77 /min, RR 790/1024 = 0.77 s.
        pytest.param(
            "16 4d 1603",
            HeartRateMeasurement(heart_rate=77, sensor_contact=True, rr_intervals=[790 / 1024]),
            id="polar-h7",
        ),
        # Hand-built from HRS §3.1: flags 0x02 sets "contact detected" without "supported";
        # the two bits together say "not supported", so contact is unknown.
        pytest.param("02 3c", HeartRateMeasurement(heart_rate=60), id="contact-bit-alone"),
        # Hand-built: uint16 heart rate 0x00B4 = 180 with energy 0xFFFF (saturated) only.
        pytest.param(
            "09 b400 ffff",
            HeartRateMeasurement(heart_rate=180, energy_expended=65535),
            id="uint16-saturated-energy",
        ),
    ],
)
def test_known_vectors(hex_value: str, expected: HeartRateMeasurement) -> None:
    """A strap's notification arrives as the heart rate it measured."""
    data = bytes.fromhex(hex_value)
    assert devices.decode("2a37", data) == expected
    assert heart_rate.decode(data) == expected


def test_rr_intervals_are_seconds() -> None:
    """RR intervals reach triage in seconds (790/1024 s is 0.771 s), not in 1/1024 units."""
    result = heart_rate.decode(bytes.fromhex("16 4d 1603"))
    assert result.rr_intervals == [0.771484375]
    assert result.model_dump() == {
        "heart_rate": 77,
        "sensor_contact": True,
        "energy_expended": None,
        "rr_intervals": [0.771484375],
    }


@pytest.mark.parametrize(
    ("contact_bits", "expected"), [(0b000, None), (0b010, None), (0b100, False), (0b110, True)]
)
@pytest.mark.parametrize(
    ("chosen"), list(itertools.product((False, True), repeat=3)), ids=lambda c: str(c)
)
def test_every_flag_combination(
    contact_bits: int, expected: bool | None, chosen: tuple[bool, bool, bool]
) -> None:
    """Value format, contact, energy and RR each appear exactly when the strap sends them."""
    wide, energy, rr = chosen
    flags = contact_bits | (0x01 if wide else 0) | (0x08 if energy else 0) | (0x10 if rr else 0)
    body = ("4800" if wide else "48") + ("3200" if energy else "") + ("2c035e03" if rr else "")
    assert devices.decode("2a37", bytes((flags,)) + bytes.fromhex(body)) == HeartRateMeasurement(
        heart_rate=72,
        sensor_contact=expected,
        energy_expended=50 if energy else None,
        rr_intervals=[812 / 1024, 862 / 1024] if rr else None,
    )


@pytest.mark.parametrize("reserved", [0x20, 0x40, 0x80, 0xE0])
def test_reserved_flag_bits_are_ignored(reserved: int) -> None:
    """A strap that sets reserved flag bits still gives its heart rate."""
    data = bytes((NORDIC_UINT16[0] | reserved,)) + NORDIC_UINT16[1:]
    assert devices.decode("2a37", data) == NORDIC_UINT16_VALUE


def test_trailing_bytes_are_tolerated_without_rr() -> None:
    """Without RR intervals, bytes after the last field do not make the reading fail."""
    assert devices.decode("2a37", bytes.fromhex("00 55 0102")) == HeartRateMeasurement(
        heart_rate=85
    )


def test_odd_byte_after_rr_intervals_is_tolerated() -> None:
    """A stray byte after the last whole RR interval is dropped, the intervals are kept."""
    assert devices.decode("2a37", NORDIC_UINT16 + b"\x07") == NORDIC_UINT16_VALUE
    assert devices.decode("2a37", NORDIC_UINT16[:8]) == HeartRateMeasurement(
        heart_rate=257, sensor_contact=True, energy_expended=306, rr_intervals=[1 / 1024]
    )


LAYOUT = [("flags", 1), ("heart rate", 2), ("energy expended", 2), ("RR interval", 2)]


def _cuts(layout: list[tuple[str, int]]) -> list[tuple[int, str]]:
    """Every length short of the first RR interval's end, with the field being read there."""
    cuts, start = [], 0
    for name, size in layout:
        cuts += [(length, name) for length in range(start, start + size)]
        start += size
    return cuts


@pytest.mark.parametrize(("length", "field"), _cuts(LAYOUT))
def test_truncation_names_the_missing_field(length: int, field: str) -> None:
    """A notification cut short is rejected with the field that is missing; an RR flag
    promises at least one interval (Nordic's onInvalidDataReceived is the length-3 case)."""
    with pytest.raises(DecodeError, match=rf"truncated before '{field}'.* has {length} bytes"):
        devices.decode("2a37", NORDIC_UINT16[:length])


def test_uint8_truncation_names_the_heart_rate() -> None:
    """A lone flags byte is rejected as missing the heart rate."""
    with pytest.raises(DecodeError, match="truncated before 'heart rate'"):
        devices.decode("2a37", b"\x00")


# --- encoders ------------------------------------------------------------------------------
def test_encoder_reproduces_nordic_bytes() -> None:
    """An emulated strap sends what the Nordic reference vectors hold."""
    assert heart_rate.encode(NORDIC_UINT16_VALUE) == NORDIC_UINT16
    assert heart_rate.encode(HeartRateMeasurement(heart_rate=85)) == bytes.fromhex("0055")
    assert heart_rate.encode(HeartRateMeasurement(heart_rate=85), uint16=True) == bytes.fromhex(
        "015500"
    )


@pytest.mark.parametrize(
    ("m", "message"),
    [
        (HeartRateMeasurement(heart_rate=70000), "heart rate"),
        (HeartRateMeasurement(heart_rate=60, energy_expended=-1), "energy expended"),
        (HeartRateMeasurement(heart_rate=60, rr_intervals=[64.0]), "RR interval"),
    ],
)
def test_encoder_refuses_what_the_layout_cannot_carry(
    m: HeartRateMeasurement, message: str
) -> None:
    """An emulator asked for an impossible sample fails loudly instead of sending garbage."""
    with pytest.raises(ValueError, match=message):
        heart_rate.encode(m)


# --- properties ----------------------------------------------------------------------------
MEASUREMENTS = st.builds(
    HeartRateMeasurement,
    heart_rate=st.integers(0, 0xFFFF),
    sensor_contact=st.none() | st.booleans(),
    energy_expended=st.none() | st.integers(0, 0xFFFF),
    rr_intervals=st.none()
    | st.lists(st.integers(0, 0xFFFF).map(lambda raw: raw / 1024), min_size=1, max_size=9),
)


@given(MEASUREMENTS, st.booleans(), st.integers(0, 0xFF))
def test_round_trip(m: HeartRateMeasurement, wide: bool, extra: int) -> None:
    """What an emulated strap sends is what the gateway reads back, in either value format."""
    assert devices.decode("2a37", heart_rate.encode(m, uint16=wide, extra_flags=extra)) == m


@given(st.binary(max_size=40))
def test_random_bytes_give_a_measurement_or_decode_error(data: bytes) -> None:
    """Garbage from a misbehaving strap is a clear error, never a crash."""
    try:
        result = devices.decode("2a37", data)
    except DecodeError:
        return
    assert isinstance(result, HeartRateMeasurement)
