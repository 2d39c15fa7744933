"""``devices.decode``: characteristic ids in any spelling, clear errors, never garbage."""

from __future__ import annotations

import math
from datetime import datetime

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

import devices
from devices import DecodeError, Measurement
from devices.characteristics.blood_pressure import BloodPressureMeasurement
from devices.decode import DECODERS

# Blood Pressure Measurement built by hand from the BLS 1.1 layout: flags 0x1E (time stamp,
# pulse rate, user id, status present; mmHg), 142/91/108 mmHg, 2026-11-23 08:14:05, pulse 77,
# user 1, status 0x0004 (irregular pulse).
BP = bytes.fromhex("1e8e005b006c00ea070b17080e054d00010400")
BP_VALUE = BloodPressureMeasurement(
    systolic=142,
    diastolic=91,
    mean_arterial_pressure=108,
    unit="mmHg",
    timestamp=datetime(2026, 11, 23, 8, 14, 5),  # noqa: DTZ001 - device time has no zone
    pulse_rate=77,
    user_id=1,
    measurement_status=4,
)


@pytest.mark.parametrize(
    "characteristic",
    [
        "2a35",
        "2A35",
        "0x2A35",
        "0x2a35",
        " 2a35 ",
        0x2A35,
        "00002a35-0000-1000-8000-00805f9b34fb",
        "00002A35-0000-1000-8000-00805F9B34FB",
    ],
)
def test_characteristic_id_in_any_spelling(characteristic: str | int) -> None:
    """The gateway can pass the id as bleak reports it or as the spec writes it."""
    assert devices.decode(characteristic, BP) == BP_VALUE


def test_bytearray_and_memoryview_are_accepted() -> None:
    """bleak hands notifications over as bytearray; that decodes the same."""
    assert devices.decode("2a35", bytearray(BP)) == BP_VALUE
    assert devices.decode("2a35", memoryview(BP)) == BP_VALUE


def test_result_dumps_the_contract_field_names() -> None:
    """Consumers read the decoded fields by the names in the contract."""
    assert BP_VALUE.model_dump() == {
        "systolic": 142,
        "diastolic": 91,
        "mean_arterial_pressure": 108,
        "unit": "mmHg",
        "timestamp": datetime(2026, 11, 23, 8, 14, 5),  # noqa: DTZ001
        "pulse_rate": 77,
        "user_id": 1,
        "measurement_status": 4,
    }


@pytest.mark.parametrize(
    ("characteristic", "message"),
    [
        ("2a19", "no decoder for characteristic 0x2A19 Battery Level"),
        ("beef", "no decoder for characteristic 0xBEEF unknown"),
        ("12345678-1234-1234-1234-123456789abc", "neither a 16-bit id"),
        ("blood pressure", "neither a 16-bit id"),
        (0x12345, "is not a 16-bit Bluetooth SIG id"),
    ],
)
def test_unknown_characteristic_is_a_decode_error(characteristic: str | int, message: str) -> None:
    """An id we cannot decode is refused with the reason, as a DecodeError (a ValueError)."""
    with pytest.raises(DecodeError, match=message) as caught:
        devices.decode(characteristic, BP)
    assert isinstance(caught.value, ValueError)


def test_non_bytes_data_is_a_decode_error() -> None:
    """A caller passing text instead of bytes gets a DecodeError, not a TypeError."""
    with pytest.raises(DecodeError, match="must be bytes, not str"):
        devices.decode("2a35", "1e8e00")  # type: ignore[arg-type]


@pytest.mark.parametrize("length", range(len(BP)))
def test_every_truncation_names_the_missing_field(length: int) -> None:
    """A value cut short says which field is missing and how many bytes there were."""
    with pytest.raises(DecodeError) as caught:
        devices.decode("2a35", BP[:length])
    message = str(caught.value)
    assert message.startswith("Blood Pressure Measurement (0x2A35): truncated before '")
    assert f"the value has {length} bytes" in message


def test_reserved_flag_bits_and_trailing_bytes_are_tolerated() -> None:
    """A cuff that sets reserved bits or appends bytes still gives its reading."""
    assert devices.decode("2a35", bytes([BP[0] | 0xE0]) + BP[1:] + b"\x00\x99") == BP_VALUE


def test_cuff_error_reading_decodes_to_none_not_2047() -> None:
    """A cuff reporting an error as NaN fields gives no values (never "2047 mmHg")."""
    value = devices.decode("2a35", bytes.fromhex("00ff07ff07ff07"))
    assert (value.model_dump()["systolic"], value.model_dump()["diastolic"]) == (None, None)


@settings(max_examples=400)
@given(uuid=st.sampled_from(sorted(DECODERS)), data=st.binary(max_size=48))
def test_random_bytes_give_a_value_or_a_decode_error(uuid: int, data: bytes) -> None:
    """Whatever bytes a broken device sends, decoding never crashes with another error."""
    try:
        result = devices.decode(uuid, data)
    except DecodeError:
        return
    assert isinstance(result, Measurement)
    # never garbage: every number is finite, every timestamp a real datetime or None
    for value in result.model_dump().values():
        if isinstance(value, float):
            assert math.isfinite(value)
