"""Current Time (0x2A2B): reading a device's clock and writing the hub's time to set it."""

from __future__ import annotations

from datetime import datetime, timedelta, timezone

import pytest
from hypothesis import given
from hypothesis import strategies as st

import devices
from devices import DecodeError
from devices.characteristics import current_time
from devices.characteristics.current_time import AdjustReason, CurrentTime, DayOfWeek


def _at(
    year: int,
    month: int,
    day: int,
    hour: int = 0,
    minute: int = 0,
    second: int = 0,
    microsecond: int = 0,
) -> datetime:
    """A device's local wall-clock time (the characteristic carries no zone)."""
    return datetime(year, month, day, hour, minute, second, microsecond)  # noqa: DTZ001


# RonanB96/bluetooth-sig-python tests/gatt/characteristics/test_current_time.py: 2025-01-15
# 14:30:45, day of week 3 (Wednesday), fractions256 0x21 = 33/256 s, adjust reason 1 (manual).
SIG_PYTHON = bytes.fromhex("e907 01 0f 0e 1e 2d 03 21 01")
SIG_PYTHON_VALUE = CurrentTime(
    date_time=_at(2025, 1, 15, 14, 30, 45),
    day_of_week=DayOfWeek.WEDNESDAY,
    fractions256=33,
    adjust_reason=AdjustReason.MANUAL_TIME_UPDATE,
)


@pytest.mark.parametrize(
    ("hex_value", "expected"),
    [
        pytest.param(SIG_PYTHON.hex(), SIG_PYTHON_VALUE, id="sig-python"),
        # Same file, "midnight on Monday": 2025-01-01 00:00:00 with day of week 1. (That date
        # was a Wednesday: the decoder reports what the device says and does not judge.)
        pytest.param(
            "e907 01 01 00 00 00 01 00 00",
            CurrentTime(
                date_time=_at(2025, 1, 1),
                day_of_week=DayOfWeek.MONDAY,
                fractions256=0,
                adjust_reason=0,
            ),
            id="sig-python-midnight",
        ),
        # Same file, end of day: 2025-12-31 23:59:59, Sunday (7), 255/256 s, adjust reason
        # 0x06 (external reference update and change of time zone).
        pytest.param(
            "e907 0c 1f 17 3b 3b 07 ff 06",
            CurrentTime(
                date_time=_at(2025, 12, 31, 23, 59, 59),
                day_of_week=DayOfWeek.SUNDAY,
                fractions256=255,
                adjust_reason=AdjustReason.EXTERNAL_REFERENCE_TIME_UPDATE
                | AdjustReason.CHANGE_OF_TIME_ZONE,
            ),
            id="sig-python-end-of-day",
        ),
        # Same file: an unset clock (year, month, day 0) that still counts 12:30:00.
        pytest.param(
            "0000 00 00 0c 1e 00 01 00 00",
            CurrentTime(
                date_time=None, day_of_week=DayOfWeek.MONDAY, fractions256=0, adjust_reason=0
            ),
            id="sig-python-unknown-date",
        ),
        # Same file, boundary years 1582 and 9999 (adjust reason 0x0F: every defined bit).
        pytest.param(
            "2e06 01 01 00 00 00 01 00 00",
            CurrentTime(date_time=_at(1582, 1, 1), day_of_week=1, fractions256=0, adjust_reason=0),
            id="sig-python-1582",
        ),
        pytest.param(
            "0f27 0c 1f 17 3b 3b 07 ff 0f",
            CurrentTime(
                date_time=_at(9999, 12, 31, 23, 59, 59),
                day_of_week=7,
                fractions256=255,
                adjust_reason=0x0F,
            ),
            id="sig-python-9999",
        ),
        # StanfordSpezi/SpeziBluetooth Tests/SpeziBluetoothServicesTests/CurrentTimeTests.swift
        # (nowTestTime): 2024-06-06 12:04:44, Thursday, fractions256 128, laid out per CTS §3.1.
        pytest.param(
            "e807 06 06 0c 04 2c 04 80 00",
            CurrentTime(
                date_time=_at(2024, 6, 6, 12, 4, 44),
                day_of_week=DayOfWeek.THURSDAY,
                fractions256=128,
                adjust_reason=0,
            ),
            id="spezi-now",
        ),
        # Hand-built: reserved day of week 8 and reserved adjust reason bits 0xF0 are kept as
        # sent, not rejected.
        pytest.param(
            "e907 01 0f 0e 1e 2d 08 00 f1",
            CurrentTime(
                date_time=_at(2025, 1, 15, 14, 30, 45),
                day_of_week=8,
                fractions256=0,
                adjust_reason=0xF1,
            ),
            id="reserved-codes",
        ),
    ],
)
def test_known_vectors(hex_value: str, expected: CurrentTime) -> None:
    """The gateway reads a device's clock as the device shows it."""
    data = bytes.fromhex(hex_value)
    assert devices.decode("2a2b", data) == expected
    assert current_time.decode(data) == expected


def test_exact_time_adds_the_fraction() -> None:
    """The hub compares clocks to 1/256 s: 33/256 s after 14:30:45 is 14:30:45.128906."""
    assert SIG_PYTHON_VALUE.exact_time == _at(2025, 1, 15, 14, 30, 45, 128906)
    unset = current_time.decode(bytes.fromhex("0000 00 00 0c 1e 00 01 00 00"))
    assert unset.exact_time is None


@pytest.mark.parametrize(
    "hex_value",
    [
        # bluetooth-sig-python test_current_time.py's invalid cases: year 10000, month 13,
        # day 32, hours 24, minutes 60, seconds 60.
        pytest.param("1027 01 01 00 00 00 01 00 00", id="year-10000"),
        pytest.param("e907 0d 01 00 00 00 01 00 00", id="month-13"),
        pytest.param("e907 01 20 00 00 00 01 00 00", id="day-32"),
        pytest.param("e907 01 01 18 00 00 01 00 00", id="hour-24"),
        pytest.param("e907 01 01 00 3c 00 01 00 00", id="minute-60"),
        pytest.param("e907 01 01 00 00 3c 01 00 00", id="second-60"),
    ],
)
def test_impossible_time_is_a_decode_error(hex_value: str) -> None:
    """A clock showing an impossible time is reported, never turned into a made-up time."""
    with pytest.raises(DecodeError, match="date time"):
        devices.decode("2a2b", bytes.fromhex(hex_value))


LAYOUT = [("date time", 7), ("day of week", 1), ("fractions256", 1), ("adjust reason", 1)]


def _cuts(layout: list[tuple[str, int]]) -> list[tuple[int, str]]:
    """Every length short of the whole value, with the field a reader is in at that point."""
    cuts, start = [], 0
    for name, size in layout:
        cuts += [(length, name) for length in range(start, start + size)]
        start += size
    return cuts


@pytest.mark.parametrize(("length", "field"), _cuts(LAYOUT))
def test_truncation_names_the_missing_field(length: int, field: str) -> None:
    """A clock value cut short is rejected with the field that is missing."""
    assert sum(size for _, size in LAYOUT) == len(SIG_PYTHON) == current_time.SIZE
    with pytest.raises(DecodeError, match=rf"truncated before '{field}'.* has {length} bytes"):
        devices.decode("2a2b", SIG_PYTHON[:length])


def test_trailing_bytes_are_tolerated() -> None:
    """A longer value from a newer specification still gives the device's time."""
    assert devices.decode("2a2b", SIG_PYTHON + b"\x00") == SIG_PYTHON_VALUE


# --- setting a device's clock --------------------------------------------------------------
def test_encode_sets_the_clock_to_the_hubs_time() -> None:
    """The hub writes its local time, with the right weekday and fraction, to set a clock."""
    # SpeziBluetooth CurrentTimeTests.swift (testDateConversions): 2024-05-17 16:11:26 and
    # 255/256 s + 1.231234 ms (997324 µs) is a Friday with fractions256 255.
    assert current_time.encode(_at(2024, 5, 17, 16, 11, 26, 997324)) == bytes.fromhex(
        "e807 05 11 10 0b 1a 05 ff 00"
    )
    # Spezi's nowTestTime, written as a manual update.
    assert current_time.encode(
        _at(2024, 6, 6, 12, 4, 44, 500000), AdjustReason.MANUAL_TIME_UPDATE
    ) == bytes.fromhex("e807 06 06 0c 04 2c 04 80 01")


def test_encode_writes_the_wall_clock_of_an_aware_time() -> None:
    """An aware local time is written as the wall-clock time it shows, not converted to UTC."""
    oslo_summer = timezone(timedelta(hours=2))
    aware = datetime(2026, 6, 1, 9, 30, 0, tzinfo=oslo_summer)
    assert current_time.encode(aware) == current_time.encode(_at(2026, 6, 1, 9, 30))


@pytest.mark.parametrize(
    ("moment", "reason", "message"),
    [
        (_at(2026, 6, 1), 256, "adjust reason"),
        (_at(2026, 6, 1), -1, "adjust reason"),
        (_at(1581, 12, 31), 0, "year 1581"),
    ],
)
def test_encode_refuses_what_the_characteristic_cannot_carry(
    moment: datetime, reason: int, message: str
) -> None:
    """Asking to set an impossible time fails loudly before anything is written."""
    with pytest.raises(ValueError, match=message):
        current_time.encode(moment, reason)


def test_encode_current_time_reproduces_an_unset_clock() -> None:
    """An emulated device with an unset clock reports year 0 as a real one does."""
    unset = CurrentTime(date_time=None, day_of_week=0, fractions256=0, adjust_reason=0)
    assert current_time.encode_current_time(unset) == bytes(10)
    assert current_time.encode_current_time(SIG_PYTHON_VALUE) == SIG_PYTHON


# --- properties ----------------------------------------------------------------------------
MOMENTS = st.datetimes(min_value=_at(1582, 1, 1), max_value=_at(9999, 12, 31, 23, 59, 59, 999999))


@given(MOMENTS, st.integers(0, 0xFF))
def test_written_time_reads_back(moment: datetime, reason: int) -> None:
    """A clock the hub sets reads back as that time, to within 1/256 s and never later."""
    result = devices.decode("2a2b", current_time.encode(moment, reason))
    assert result == CurrentTime(
        date_time=moment.replace(microsecond=0),
        day_of_week=moment.isoweekday(),
        fractions256=moment.microsecond * 256 // 1_000_000,
        adjust_reason=reason,
    )
    assert isinstance(result, CurrentTime)
    assert result.exact_time is not None
    # 1/256 s is 3906.25 µs; both the fraction and exact_time are floored, so up to 3906 µs.
    assert timedelta(0) <= moment - result.exact_time <= timedelta(microseconds=3906)


CURRENT_TIMES = st.builds(
    CurrentTime,
    date_time=st.none() | MOMENTS.map(lambda moment: moment.replace(microsecond=0)),
    day_of_week=st.integers(0, 0xFF),
    fractions256=st.integers(0, 0xFF),
    adjust_reason=st.integers(0, 0xFF),
)


@given(CURRENT_TIMES)
def test_round_trip(m: CurrentTime) -> None:
    """What an emulated device reports as its clock is what the gateway reads."""
    assert devices.decode("2a2b", current_time.encode_current_time(m)) == m


@given(st.binary(max_size=40))
def test_random_bytes_give_a_time_or_decode_error(data: bytes) -> None:
    """Garbage from a misbehaving clock is a clear error, never a crash."""
    try:
        result = devices.decode("2a2b", data)
    except DecodeError:
        return
    assert isinstance(result, CurrentTime)
