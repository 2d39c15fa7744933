"""Weight Measurement (0x2A9D) and Weight Scale Feature (0x2A9E): real scale bytes, every flag."""

from __future__ import annotations

import itertools
from datetime import datetime

import pytest
from hypothesis import given
from hypothesis import strategies as st

import devices
from devices import DecodeError
from devices.characteristics import weight
from devices.characteristics.weight import (
    HeightResolution,
    WeightMeasurement,
    WeightResolution,
    WeightScaleFeature,
)


def _at(
    year: int, month: int, day: int, hour: int = 0, minute: int = 0, second: int = 0
) -> datetime:
    """A scale's local time (GATT Date Time carries no zone)."""
    return datetime(year, month, day, hour, minute, second)  # noqa: DTZ001 - no zone on the wire


# Hand-built from WSS §3.2: flags 0x0E (time stamp, user id, BMI and height; SI), weight 0x3354
# = 13140 × 0.005 = 65.7 kg, 2026-08-22 08:42:36, user 1, BMI 0x00E0 = 224 × 0.1 = 22.4,
# height 0x06B0 = 1712 × 0.001 = 1.712 m.
FULL = bytes.fromhex("0e 5433 ea070816082a24 01 e000 b006")
FULL_VALUE = WeightMeasurement(
    weight=65.7,
    unit="kg",
    timestamp=_at(2026, 8, 22, 8, 42, 36),
    user_id=1,
    bmi=22.4,
    height=1.712,
)


@pytest.mark.parametrize(
    ("hex_value", "expected"),
    [
        # oliexdev/openScale android_app/app/src/test/java/com/health/openscale/core/bluetooth/
        # scales/AndUC352BLEHandlerTest.kt: indications captured from an A&D UC-352BLE, flags
        # 0x02 (time stamp, SI): 0x3354 = 65.7 kg, 0x3340 = 65.6 kg, 0x337C = 65.9 kg.
        pytest.param(
            "02 5433 ea070816082a24",
            WeightMeasurement(weight=65.7, unit="kg", timestamp=_at(2026, 8, 22, 8, 42, 36)),
            id="and-uc352-1",
        ),
        pytest.param(
            "02 4033 ea070816082b0b",
            WeightMeasurement(weight=65.6, unit="kg", timestamp=_at(2026, 8, 22, 8, 43, 11)),
            id="and-uc352-2",
        ),
        pytest.param(
            "02 7c33 ea070816082b28",
            WeightMeasurement(weight=65.9, unit="kg", timestamp=_at(2026, 8, 22, 8, 43, 40)),
            id="and-uc352-3",
        ),
        # openScale .../scales/StandardBeurerSanitasHandlerTest.kt (weightPacket): flags 0x00,
        # 72.5 kg / 0.005 = 14500 = 0x38A4.
        pytest.param("00 a438", WeightMeasurement(weight=72.5, unit="kg"), id="beurer-bf"),
        # RonanB96/bluetooth-sig-python tests/gatt/characteristics/test_weight_measurement.py:
        # 0x36B0 = 14000 × 0.005 = 70.0 kg; imperial 0x3D54 = 15700 × 0.01 = 157.0 lb.
        pytest.param("00 b036", WeightMeasurement(weight=70.0, unit="kg"), id="sig-python-kg"),
        pytest.param("01 543d", WeightMeasurement(weight=157.0, unit="lb"), id="sig-python-lb"),
        pytest.param(
            "02 b036 e7070c190e1e2d",
            WeightMeasurement(weight=70.0, unit="kg", timestamp=_at(2023, 12, 25, 14, 30, 45)),
            id="sig-python-stamped",
        ),
        # Same file, "full imperial": flags 0x1F. That library reads bit 4 as "height present";
        # in WSS 1.0 bit 3 announces BMI *and* height and bit 4 is reserved, so the bytes mean
        # the same: 157.0 lb, user 3, BMI 0x00F5 = 24.5, height 0x02A8 = 680 × 0.1 = 68.0 in.
        pytest.param(
            "1f 543d e7070c190e1e2d 03 f500 a802",
            WeightMeasurement(
                weight=157.0,
                unit="lb",
                timestamp=_at(2023, 12, 25, 14, 30, 45),
                user_id=3,
                bmi=24.5,
                height=68.0,
            ),
            id="sig-python-imperial-full",
        ),
        # Same file, "height present" 0x10: bit 4 is reserved in WSS 1.0, so this is a plain
        # 70.0 kg reading and the two height bytes are trailing bytes.
        pytest.param(
            "10 b036 d606", WeightMeasurement(weight=70.0, unit="kg"), id="sig-python-bit4"
        ),
        pytest.param(FULL.hex(), FULL_VALUE, id="hand-full"),
        # Hand-built: "Measurement Unsuccessful" (weight 0xFFFF, WSS §3.2), user 2.
        pytest.param(
            "04 ffff 02", WeightMeasurement(weight=None, unit="kg", user_id=2), id="unsuccessful"
        ),
        # Hand-built: user id 0xFF is "unknown user" and is kept as 255.
        pytest.param(
            "05 1027 ff", WeightMeasurement(weight=100.0, unit="lb", user_id=255), id="guest"
        ),
    ],
)
def test_known_vectors(hex_value: str, expected: WeightMeasurement) -> None:
    """A scale's weighing arrives as the weight it displayed, in its own unit."""
    data = bytes.fromhex(hex_value)
    assert devices.decode("2a9d", data) == expected
    assert weight.decode_measurement(data) == expected


def test_unsuccessful_is_none_not_327_kg() -> None:
    """A failed weighing shows as no weight, never as 327.675 kg (or 655.35 lb)."""
    assert devices.decode("2a9d", bytes.fromhex("00 ffff")) == WeightMeasurement(
        weight=None, unit="kg"
    )
    assert devices.decode("2a9d", bytes.fromhex("01 ffff")) == WeightMeasurement(
        weight=None, unit="lb"
    )
    # One step below is a real (if heavy) weight.
    assert weight.decode_measurement(bytes.fromhex("00 feff")).weight == 327.67


def test_pounds_keep_their_unit_and_height_is_in_inches() -> None:
    """A scale set to pounds keeps lb, and its height is in inches, so the gateway converts."""
    result = devices.decode("2a9d", bytes.fromhex("09 543d f500 a802"))
    assert isinstance(result, WeightMeasurement)
    assert result.model_dump() == {
        "weight": 157.0,
        "unit": "lb",
        "timestamp": None,
        "user_id": None,
        "bmi": 24.5,
        "height": 68.0,
    }
    assert result.height_unit == "in"
    assert FULL_VALUE.height_unit == "m"


def test_advertised_resolution_is_not_applied_again() -> None:
    """A scale that weighs to 0.1 kg still reads 70.1 kg, not 70.1 × 20 (a known pitfall)."""
    # StanfordSpezi/SpeziBluetooth WeightScaleTests.swift multiplies the raw weight by the
    # advertised resolution; WSS §3.2 fixes the unit at 0.005 kg whatever the resolution.
    feature = devices.decode("2a9e", bytes.fromhex("19000000"))  # weight resolution 0.1 kg
    assert isinstance(feature, WeightScaleFeature)
    assert feature.weight_resolution == WeightResolution.KG_0_1_OR_LB_0_2
    assert devices.decode("2a9d", bytes.fromhex("00 c436")) == WeightMeasurement(
        weight=70.1, unit="kg"
    )


def test_bmi_without_height_is_truncated() -> None:
    """bluetooth-sig-python's "user id + BMI" vector (flags 0x0C, no height) is short: bit 3
    announces BMI and height together, so the gateway reports it instead of guessing."""
    with pytest.raises(DecodeError, match="truncated before 'height'"):
        devices.decode("2a9d", bytes.fromhex("0c b036 05 f500"))


@pytest.mark.parametrize("chosen", list(itertools.product((False, True), repeat=4)))
def test_every_flag_combination(chosen: tuple[bool, bool, bool, bool]) -> None:
    """Unit, time stamp, user and BMI/height each appear exactly when the scale sends them."""
    imperial, stamped, user, bmi = chosen
    flags = (1 if imperial else 0) | (2 if stamped else 0) | (4 if user else 0) | (8 if bmi else 0)
    body = "5433" + ("ea070816082a24" if stamped else "") + ("01" if user else "")
    body += "e000b006" if bmi else ""
    expected = WeightMeasurement(
        weight=131.4 if imperial else 65.7,  # 13140 × 0.01 lb or × 0.005 kg
        unit="lb" if imperial else "kg",
        timestamp=_at(2026, 8, 22, 8, 42, 36) if stamped else None,
        user_id=1 if user else None,
        bmi=22.4 if bmi else None,
        height=(171.2 if imperial else 1.712) if bmi else None,  # 1712 × 0.1 in or × 0.001 m
    )
    assert devices.decode("2a9d", bytes((flags,)) + bytes.fromhex(body)) == expected


@pytest.mark.parametrize("reserved", [0x10, 0x20, 0x40, 0x80, 0xF0])
def test_reserved_flag_bits_are_ignored(reserved: int) -> None:
    """A scale that sets reserved flag bits still gives its weighing."""
    assert devices.decode("2a9d", bytes((FULL[0] | reserved,)) + FULL[1:]) == FULL_VALUE


def test_trailing_bytes_are_tolerated() -> None:
    """Fields a newer specification appends do not make today's weighing fail."""
    assert devices.decode("2a9d", FULL + b"\x01\x02\x03") == FULL_VALUE


LAYOUT = [("flags", 1), ("weight", 2), ("time stamp", 7), ("user id", 1), ("BMI", 2), ("height", 2)]


def _cuts(layout: list[tuple[str, int]]) -> list[tuple[int, str]]:
    """Every length short of the whole value, with the field a reader is in at that point."""
    cuts, start = [], 0
    for name, size in layout:
        cuts += [(length, name) for length in range(start, start + size)]
        start += size
    return cuts


@pytest.mark.parametrize(("length", "field"), _cuts(LAYOUT))
def test_truncation_names_the_missing_field(length: int, field: str) -> None:
    """A weighing cut short in transit is rejected with the field that is missing."""
    assert sum(size for _, size in LAYOUT) == len(FULL)
    with pytest.raises(DecodeError, match=rf"truncated before '{field}'.* has {length} bytes"):
        devices.decode("2a9d", FULL[:length])


def test_unknown_date_is_none_and_impossible_date_is_an_error() -> None:
    """A scale with an unset clock gives no time stamp; one dated 31 February is refused."""
    assert devices.decode("2a9d", bytes.fromhex("02 5433 00000000000000")) == WeightMeasurement(
        weight=65.7, unit="kg"
    )
    with pytest.raises(DecodeError, match="time stamp"):
        devices.decode("2a9d", bytes.fromhex("02 5433 ea07021f000000"))


# --- Weight Scale Feature ------------------------------------------------------------------
@pytest.mark.parametrize(
    ("hex_value", "expected"),
    [
        # Hand-built from WSS §3.1: 0x000001BF = bits 0–2 (time stamp, multiple users, BMI),
        # weight resolution 7 (0.005 kg / 0.01 lb) in bits 3–6, height resolution 3 (0.001 m
        # / 0.1 in) in bits 7–9.
        pytest.param(
            "bf010000",
            WeightScaleFeature(
                timestamp_supported=True,
                multiple_users_supported=True,
                bmi_supported=True,
                weight_resolution=WeightResolution.KG_0_005_OR_LB_0_01,
                height_resolution=HeightResolution.M_0_001_OR_IN_0_1,
            ),
            id="everything",
        ),
        # Hand-built: 0x00000021 = time stamp only, weight resolution 4 (0.05 kg / 0.1 lb).
        pytest.param(
            "21000000",
            WeightScaleFeature(
                timestamp_supported=True,
                multiple_users_supported=False,
                bmi_supported=False,
                weight_resolution=WeightResolution.KG_0_05_OR_LB_0_1,
                height_resolution=HeightResolution.NOT_SPECIFIED,
            ),
            id="stamp-50g",
        ),
        # Hand-built: 0x00000140 = weight resolution 8 (reserved), height resolution 2
        # (0.005 m / 0.5 in). A reserved code is kept as the raw integer.
        pytest.param(
            "40010000",
            WeightScaleFeature(
                timestamp_supported=False,
                multiple_users_supported=False,
                bmi_supported=False,
                weight_resolution=8,
                height_resolution=HeightResolution.M_0_005_OR_IN_0_5,
            ),
            id="reserved-weight-code",
        ),
        # Hand-built: 0xFFFFFC06 = reserved bits 10–31 all set, multiple users and BMI.
        pytest.param(
            "06fcffff",
            WeightScaleFeature(
                timestamp_supported=False,
                multiple_users_supported=True,
                bmi_supported=True,
                weight_resolution=WeightResolution.NOT_SPECIFIED,
                height_resolution=HeightResolution.NOT_SPECIFIED,
            ),
            id="reserved-bits",
        ),
    ],
)
def test_feature_vectors(hex_value: str, expected: WeightScaleFeature) -> None:
    """The gateway learns whether a scale keeps time, knows users and computes BMI."""
    data = bytes.fromhex(hex_value)
    assert devices.decode("2a9e", data) == expected
    assert weight.decode_feature(data) == expected


@pytest.mark.parametrize("length", [0, 1, 2, 3])
def test_feature_truncation_names_the_field(length: int) -> None:
    """A feature value cut short is rejected, naming what is missing."""
    with pytest.raises(DecodeError, match=rf"'weight scale features'.* has {length} bytes"):
        devices.decode("2a9e", bytes.fromhex("bf010000")[:length])


def test_feature_trailing_bytes_are_tolerated() -> None:
    """A longer feature value from a newer specification still reads."""
    assert devices.decode("2a9e", bytes.fromhex("bf010000 ff")) == devices.decode(
        "2a9e", bytes.fromhex("bf010000")
    )


# --- encoders ------------------------------------------------------------------------------
def test_encoder_reproduces_the_captured_bytes() -> None:
    """An emulated scale sends what the A&D UC-352BLE sent for the same weighing."""
    captured = bytes.fromhex("02 5433 ea070816082a24")
    assert weight.encode_measurement(weight.decode_measurement(captured)) == captured
    assert weight.encode_measurement(FULL_VALUE) == FULL
    assert weight.encode_measurement(WeightMeasurement(weight=None, unit="lb")) == bytes.fromhex(
        "01 ffff"
    )


@pytest.mark.parametrize(
    ("m", "message"),
    [
        (WeightMeasurement(weight=65.7, unit="kg", bmi=22.4), "BMI and height"),
        (WeightMeasurement(weight=400.0, unit="kg"), "weight"),
        (WeightMeasurement(weight=327.675, unit="kg"), "unsuccessful"),
        (WeightMeasurement(weight=-1.0, unit="kg"), "weight"),
        (WeightMeasurement(weight=70.0, unit="kg", user_id=256), "user id"),
    ],
)
def test_encoder_refuses_what_the_layout_cannot_carry(m: WeightMeasurement, message: str) -> None:
    """An emulator asked for an impossible weighing fails loudly instead of sending garbage."""
    with pytest.raises(ValueError, match=message):
        weight.encode_measurement(m)


# --- properties ----------------------------------------------------------------------------
TIMESTAMPS = st.none() | st.datetimes(
    min_value=_at(1582, 1, 1), max_value=_at(9999, 12, 31, 23, 59, 59)
).map(lambda moment: moment.replace(microsecond=0))


@st.composite
def measurements(draw: st.DrawFn) -> WeightMeasurement:
    """Any weighing a scale can send: raw field values scaled as the specification says."""
    imperial = draw(st.booleans())
    raw = draw(st.none() | st.integers(0, 0xFFFE))
    with_bmi = draw(st.booleans())
    return WeightMeasurement(
        weight=None if raw is None else raw / (100 if imperial else 200),
        unit="lb" if imperial else "kg",
        timestamp=draw(TIMESTAMPS),
        user_id=draw(st.none() | st.integers(0, 0xFF)),
        bmi=draw(st.integers(0, 0xFFFF)) / 10 if with_bmi else None,
        height=draw(st.integers(0, 0xFFFF)) / (10 if imperial else 1000) if with_bmi else None,
    )


FEATURES = st.builds(
    WeightScaleFeature,
    timestamp_supported=st.booleans(),
    multiple_users_supported=st.booleans(),
    bmi_supported=st.booleans(),
    weight_resolution=st.integers(0, 15),
    height_resolution=st.integers(0, 7),
)


@given(measurements(), st.integers(0, 0xFF))
def test_round_trip(m: WeightMeasurement, extra: int) -> None:
    """What an emulated scale sends is what the gateway reads back, reserved bits or not."""
    assert devices.decode("2a9d", weight.encode_measurement(m, extra_flags=extra)) == m


@given(FEATURES, st.integers(0, 0xFFFFFFFF))
def test_feature_round_trip(f: WeightScaleFeature, extra: int) -> None:
    """An emulated scale's feature value reads back as the features it was given."""
    assert devices.decode("2a9e", weight.encode_feature(f, extra_bits=extra)) == f


@given(st.binary(max_size=40))
def test_random_bytes_give_a_measurement_or_decode_error(data: bytes) -> None:
    """Garbage from a misbehaving scale is a clear error, never a crash."""
    try:
        result = devices.decode("2a9d", data)
    except DecodeError:
        return
    assert isinstance(result, WeightMeasurement)


@given(st.binary(max_size=40))
def test_random_bytes_give_a_feature_or_decode_error(data: bytes) -> None:
    """Garbage on the feature characteristic is a clear error, never a crash."""
    try:
        result = devices.decode("2a9e", data)
    except DecodeError:
        return
    assert isinstance(result, WeightScaleFeature)
