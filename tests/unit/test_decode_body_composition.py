"""Body Composition Measurement (0x2A9C): field order, units, split packets, every flag."""

from __future__ import annotations

import itertools
from datetime import datetime

import pytest
from hypothesis import given
from hypothesis import strategies as st

import devices
from devices import DecodeError
from devices.characteristics import body_composition
from devices.characteristics.body_composition import BodyCompositionMeasurement


def _at(
    year: int, month: int, day: int, hour: int = 0, minute: int = 0, second: int = 0
) -> datetime:
    """A scale's local time (GATT Date Time carries no zone)."""
    return datetime(year, month, day, hour, minute, second)  # noqa: DTZ001 - no zone on the wire


# Hand-built from BCS §3.2 with every field: flags 0x0FFE (all optional fields; SI), body fat
# 0x00DF = 22.3 %, 2026-03-14 07:05:09, user 1, basal metabolism 0x1964 = 6500 kJ, muscle
# 0x0160 = 35.2 %, muscle mass 0x17D4 = 6100 × 0.005 = 30.5 kg, fat free 0x2AF8 = 55.0 kg,
# soft lean 0x28A0 = 52.0 kg, body water 0x1FA4 = 40.5 kg, impedance 0x1403 = 512.3 Ω,
# weight 0x3750 = 70.8 kg, height 0x06D6 = 1.750 m.
FULL = bytes.fromhex("fe0f df00 ea07030e070509 01 6419 6001 d417 f82a a028 a41f 0314 5037 d606")
FULL_VALUE = BodyCompositionMeasurement(
    body_fat_percentage=22.3,
    unit="kg",
    timestamp=_at(2026, 3, 14, 7, 5, 9),
    user_id=1,
    basal_metabolism=6500,
    muscle_percentage=35.2,
    muscle_mass=30.5,
    fat_free_mass=55.0,
    soft_lean_mass=52.0,
    body_water_mass=40.5,
    impedance=512.3,
    weight=70.8,
    height=1.75,
)


@pytest.mark.parametrize(
    ("hex_value", "expected"),
    [
        # RonanB96/bluetooth-sig-python tests/gatt/characteristics/
        # test_body_composition_measurement.py, valid_test_data 1–3, 5, 6:
        pytest.param(
            "0000 3200", BodyCompositionMeasurement(body_fat_percentage=5.0, unit="kg"), id="sig-1"
        ),
        pytest.param(
            "0300 9600 e80706140a1e00",
            BodyCompositionMeasurement(
                body_fat_percentage=15.0, unit="lb", timestamp=_at(2024, 6, 20, 10, 30)
            ),
            id="sig-2-imperial-stamped",
        ),
        pytest.param(
            "0c00 7800 05 4006",
            BodyCompositionMeasurement(
                body_fat_percentage=12.0, unit="kg", user_id=5, basal_metabolism=1600
            ),
            id="sig-3-user-basal",
        ),
        pytest.param(
            "c001 5000 e02e 1027 401f",
            BodyCompositionMeasurement(
                body_fat_percentage=8.0,
                unit="kg",
                fat_free_mass=60.0,
                soft_lean_mass=50.0,
                body_water_mass=40.0,
            ),
            id="sig-5-masses",
        ),
        pytest.param(
            "000e 4600 401f b036 e803",
            BodyCompositionMeasurement(
                body_fat_percentage=7.0, unit="kg", impedance=800.0, weight=70.0, height=1.0
            ),
            id="sig-6-impedance-weight-height",
        ),
        # Same file, valid_test_data 4 (flags 0x0030) expects muscle mass 15.0 kg then muscle
        # percentage 20.0 %. BCS §3.2 puts Muscle Percentage (bit 4) *before* Muscle Mass
        # (bit 5), so 0x0BB8 is 300.0 % and 0x00C8 is 200 × 0.005 = 1.0 kg.
        pytest.param(
            "3000 6400 b80b c800",
            BodyCompositionMeasurement(
                body_fat_percentage=10.0, unit="kg", muscle_percentage=300.0, muscle_mass=1.0
            ),
            id="sig-4-field-order",
        ),
        # A Soehnle scale's indication quoted in a public Arduino Soehnle-to-MQTT bridge (the
        # search index did not name its repository): flags 0x051E (time stamp, user, basal
        # metabolism, muscle %, body water mass, weight), 2025-12-26 18:38:30, user 2, weight
        # 0x034B = 843. Per BCS that is 843 × 0.005 = 4.215 kg; the bridge's author found the
        # scale meant 84.3 kg (0.1 kg units) and patched it. The decoder follows the spec; a
        # device quirk belongs in the catalogue, not here.
        pytest.param(
            "1e05 0000 e9070c1a12261e 02 0000 0000 0000 4b03",
            BodyCompositionMeasurement(
                body_fat_percentage=0.0,
                unit="kg",
                timestamp=_at(2025, 12, 26, 18, 38, 30),
                user_id=2,
                basal_metabolism=0,
                muscle_percentage=0.0,
                body_water_mass=0.0,
                weight=4.215,
            ),
            id="soehnle-capture",
        ),
        pytest.param(FULL.hex(), FULL_VALUE, id="hand-full"),
        # Hand-built: imperial, weight 0x3750 = 14160 × 0.01 = 141.6 lb, height 0x02B2 = 690 ×
        # 0.1 = 69.0 in, muscle mass 0x17D4 = 61.0 lb.
        pytest.param(
            "2104 df00 d417 5037",
            BodyCompositionMeasurement(
                body_fat_percentage=22.3, unit="lb", muscle_mass=61.0, weight=141.6
            ),
            id="hand-imperial-masses",
        ),
        pytest.param(
            "0108 df00 b202",
            BodyCompositionMeasurement(body_fat_percentage=22.3, unit="lb", height=69.0),
            id="hand-imperial-height",
        ),
        # Hand-built: "Measurement Unsuccessful" — body fat 0xFFFF (BCS §3.2.1.2), with the
        # time stamp and user id the specification still allows.
        pytest.param(
            "0600 ffff ea07030e070509 01",
            BodyCompositionMeasurement(
                body_fat_percentage=None, unit="kg", timestamp=_at(2026, 3, 14, 7, 5, 9), user_id=1
            ),
            id="unsuccessful",
        ),
    ],
)
def test_known_vectors(hex_value: str, expected: BodyCompositionMeasurement) -> None:
    """A body composition scale's reading arrives field by field as the scale meant it."""
    data = bytes.fromhex(hex_value)
    assert devices.decode("2a9c", data) == expected
    assert body_composition.decode(data) == expected


def test_contract_field_names() -> None:
    """Consumers find every body composition value under its documented name."""
    assert FULL_VALUE.model_dump() == {
        "body_fat_percentage": 22.3,
        "unit": "kg",
        "timestamp": _at(2026, 3, 14, 7, 5, 9),
        "user_id": 1,
        "basal_metabolism": 6500,
        "muscle_percentage": 35.2,
        "muscle_mass": 30.5,
        "fat_free_mass": 55.0,
        "soft_lean_mass": 52.0,
        "body_water_mass": 40.5,
        "impedance": 512.3,
        "weight": 70.8,
        "height": 1.75,
        "multiple_packet_measurement": False,
    }
    assert FULL_VALUE.height_unit == "m"


def test_unsuccessful_body_fat_is_none() -> None:
    """A failed analysis shows no body fat, never 6553.5 %."""
    result = body_composition.decode(bytes.fromhex("0000 ffff"))
    assert result.body_fat_percentage is None
    assert body_composition.decode(bytes.fromhex("0000 feff")).body_fat_percentage == 6553.4


def test_split_measurement_packets_each_decode() -> None:
    """A scale that splits one reading over two indications gives both halves, each marked so
    the gateway can merge them."""
    # Hand-built from BCS §3.2 (flags bit 12, Multiple Packet Measurement): the first packet
    # carries time, user, basal metabolism and muscle %, the second the masses, impedance,
    # weight and height; both repeat the flags (with bit 12 set) and the body fat percentage.
    first = bytes.fromhex("1e10 df00 ea07030e070509 01 6419 6001")
    second = bytes.fromhex("e01f df00 d417 f82a a028 a41f 0314 5037 d606")
    assert devices.decode("2a9c", first) == BodyCompositionMeasurement(
        body_fat_percentage=22.3,
        unit="kg",
        timestamp=_at(2026, 3, 14, 7, 5, 9),
        user_id=1,
        basal_metabolism=6500,
        muscle_percentage=35.2,
        multiple_packet_measurement=True,
    )
    assert devices.decode("2a9c", second) == FULL_VALUE.model_copy(
        update={
            "timestamp": None,
            "user_id": None,
            "basal_metabolism": None,
            "muscle_percentage": None,
            "multiple_packet_measurement": True,
        }
    )


# Optional fields in layout order: (flag, bytes, SI value, imperial value), from FULL.
OPTIONAL: list[tuple[int, str, str, object, object]] = [
    (0x0002, "ea07030e070509", "timestamp", _at(2026, 3, 14, 7, 5, 9), _at(2026, 3, 14, 7, 5, 9)),
    (0x0004, "01", "user_id", 1, 1),
    (0x0008, "6419", "basal_metabolism", 6500, 6500),
    (0x0010, "6001", "muscle_percentage", 35.2, 35.2),
    (0x0020, "d417", "muscle_mass", 30.5, 61.0),
    (0x0040, "f82a", "fat_free_mass", 55.0, 110.0),
    (0x0080, "a028", "soft_lean_mass", 52.0, 104.0),
    (0x0100, "a41f", "body_water_mass", 40.5, 81.0),
    (0x0200, "0314", "impedance", 512.3, 512.3),
    (0x0400, "5037", "weight", 70.8, 141.6),
    (0x0800, "d606", "height", 1.75, 175.0),
]


def test_every_flag_combination() -> None:
    """Whichever of its twelve optional fields a scale sends, in either unit system and split
    or not, each value lands in its own field (all 8192 flag combinations)."""
    for imperial, split, *chosen in itertools.product((False, True), repeat=13):
        flags = (0x0001 if imperial else 0) | (0x1000 if split else 0)
        body = "df00"
        fields: dict[str, object] = {}
        for (flag, chunk, name, si, imp), on in zip(OPTIONAL, chosen, strict=True):
            if on:
                flags |= flag
                body += chunk
                fields[name] = imp if imperial else si
        data = flags.to_bytes(2, "little") + bytes.fromhex(body)
        expected = BodyCompositionMeasurement.model_validate(
            {
                "body_fat_percentage": 22.3,
                "unit": "lb" if imperial else "kg",
                "multiple_packet_measurement": split,
                **fields,
            }
        )
        assert devices.decode("2a9c", data) == expected, data.hex()


@pytest.mark.parametrize("reserved", [0x2000, 0x4000, 0x8000, 0xE000])
def test_reserved_flag_bits_are_ignored(reserved: int) -> None:
    """A scale that sets reserved flag bits still gives its reading."""
    flags = int.from_bytes(FULL[:2], "little") | reserved
    assert devices.decode("2a9c", flags.to_bytes(2, "little") + FULL[2:]) == FULL_VALUE


def test_trailing_bytes_are_tolerated() -> None:
    """Fields a newer specification appends do not make today's reading fail."""
    assert devices.decode("2a9c", FULL + b"\x00\x01") == FULL_VALUE


LAYOUT = [
    ("flags", 2),
    ("body fat percentage", 2),
    ("time stamp", 7),
    ("user id", 1),
    ("basal metabolism", 2),
    ("muscle percentage", 2),
    ("muscle mass", 2),
    ("fat free mass", 2),
    ("soft lean mass", 2),
    ("body water mass", 2),
    ("impedance", 2),
    ("weight", 2),
    ("height", 2),
]


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
    assert sum(size for _, size in LAYOUT) == len(FULL)
    with pytest.raises(DecodeError, match=rf"truncated before '{field}'.* has {length} bytes"):
        devices.decode("2a9c", FULL[:length])


def test_unknown_date_is_none_and_impossible_date_is_an_error() -> None:
    """A scale with an unset clock gives no time stamp; one dated 30 February is refused."""
    assert devices.decode("2a9c", bytes.fromhex("0200 df00 00000000000000")) == (
        BodyCompositionMeasurement(body_fat_percentage=22.3, unit="kg")
    )
    with pytest.raises(DecodeError, match="time stamp"):
        devices.decode("2a9c", bytes.fromhex("0200 df00 ea07021e000000"))


# --- encoders ------------------------------------------------------------------------------
def test_encoder_reproduces_the_layout() -> None:
    """An emulated scale sends the bytes a real one would for the same reading."""
    assert body_composition.encode(FULL_VALUE) == FULL
    unsuccessful = BodyCompositionMeasurement(body_fat_percentage=None, unit="lb")
    assert body_composition.encode(unsuccessful) == bytes.fromhex("0100 ffff")


@pytest.mark.parametrize(
    ("m", "message"),
    [
        (BodyCompositionMeasurement(body_fat_percentage=6553.5, unit="kg"), "unsuccessful"),
        (BodyCompositionMeasurement(body_fat_percentage=20, unit="kg", weight=400), "weight"),
        (BodyCompositionMeasurement(body_fat_percentage=20, unit="kg", user_id=-1), "user id"),
        (
            BodyCompositionMeasurement(body_fat_percentage=20, unit="kg", impedance=7000),
            "impedance",
        ),
    ],
)
def test_encoder_refuses_what_the_layout_cannot_carry(
    m: BodyCompositionMeasurement, message: str
) -> None:
    """An emulator asked for an impossible reading fails loudly instead of sending garbage."""
    with pytest.raises(ValueError, match=message):
        body_composition.encode(m)


# --- properties ----------------------------------------------------------------------------
TIMESTAMPS = st.none() | st.datetimes(
    min_value=_at(1582, 1, 1), max_value=_at(9999, 12, 31, 23, 59, 59)
).map(lambda moment: moment.replace(microsecond=0))
RAW = st.integers(0, 0xFFFF)


@st.composite
def measurements(draw: st.DrawFn) -> BodyCompositionMeasurement:
    """Any reading a scale can send: raw field values scaled as the specification says."""
    imperial = draw(st.booleans())
    per_mass, per_height = (100, 10) if imperial else (200, 1000)

    def scaled(per_unit: int) -> float | None:
        raw = draw(st.none() | RAW)
        return None if raw is None else raw / per_unit

    fat = draw(st.none() | st.integers(0, 0xFFFE))
    return BodyCompositionMeasurement(
        body_fat_percentage=None if fat is None else fat / 10,
        unit="lb" if imperial else "kg",
        timestamp=draw(TIMESTAMPS),
        user_id=draw(st.none() | st.integers(0, 0xFF)),
        basal_metabolism=draw(st.none() | RAW),
        muscle_percentage=scaled(10),
        muscle_mass=scaled(per_mass),
        fat_free_mass=scaled(per_mass),
        soft_lean_mass=scaled(per_mass),
        body_water_mass=scaled(per_mass),
        impedance=scaled(10),
        weight=scaled(per_mass),
        height=scaled(per_height),
        multiple_packet_measurement=draw(st.booleans()),
    )


@given(measurements(), st.integers(0, 0xFFFF))
def test_round_trip(m: BodyCompositionMeasurement, extra: int) -> None:
    """What an emulated scale sends is what the gateway reads back, reserved bits or not."""
    assert devices.decode("2a9c", body_composition.encode(m, extra_flags=extra)) == m


@given(st.binary(max_size=40))
def test_random_bytes_give_a_measurement_or_decode_error(data: bytes) -> None:
    """Garbage from a misbehaving scale is a clear error, never a crash."""
    try:
        result = devices.decode("2a9c", data)
    except DecodeError:
        return
    assert isinstance(result, BodyCompositionMeasurement)
