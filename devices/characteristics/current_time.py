"""Current Time (0x2A2B): a device's clock, read to check it and written to set it.

Layout (Bluetooth SIG, Current Time Service 1.1, §3.1; GATT Specification Supplement, Current
Time / Exact Time 256 / Day Date Time): Date Time (7 bytes: year uint16, month, day, hours,
minutes, seconds) · day of week (uint8: 1 Monday … 7 Sunday, 0 unknown, 8–255 reserved) ·
fractions256 (uint8, 1/256 s) · adjust reason (uint8: bit 0 manual time update, bit 1 external
reference time update, bit 2 change of time zone, bit 3 change of DST; bits 4–7 reserved).

The time is the device's local wall-clock time and has no zone. Year, month or day 0 mean the
device does not know the date (a clock never set): ``date_time`` is then ``None``. The gateway
compares the device's time with the hub's at connection and writes :func:`encode` (the hub's
local time) to devices whose clock is unset or wrong.
"""

from __future__ import annotations

from datetime import datetime, timedelta
from enum import IntEnum, IntFlag
from typing import Annotated

from devices import ieee11073
from devices.measurement import Measurement, known_code
from devices.reader import ByteReader

UUID = 0x2A2B

SIZE = 10
_MICROSECONDS_PER_SECOND = 1_000_000


class DayOfWeek(IntEnum):
    """Day of Week codes; ISO weekday numbering (Monday 1 … Sunday 7), 0 when unknown."""

    UNKNOWN = 0
    MONDAY = 1
    TUESDAY = 2
    WEDNESDAY = 3
    THURSDAY = 4
    FRIDAY = 5
    SATURDAY = 6
    SUNDAY = 7


class AdjustReason(IntFlag):
    """Why the time last changed (bits 4–7 are reserved)."""

    MANUAL_TIME_UPDATE = 0x01
    EXTERNAL_REFERENCE_TIME_UPDATE = 0x02
    CHANGE_OF_TIME_ZONE = 0x04
    CHANGE_OF_DST = 0x08


class CurrentTime(Measurement):
    """A device's clock: its local date and time (whole seconds), day of week, the fraction of
    the second in 1/256 s, and why the time last changed (:class:`AdjustReason` bits)."""

    date_time: datetime | None
    day_of_week: Annotated[int, known_code(DayOfWeek)]
    fractions256: int
    adjust_reason: int

    @property
    def exact_time(self) -> datetime | None:
        """``date_time`` plus the fraction of a second (1/256 s, floored to microseconds)."""
        if self.date_time is None:
            return None
        micro = self.fractions256 * _MICROSECONDS_PER_SECOND // 256
        return self.date_time + timedelta(microseconds=micro)


def decode(data: bytes) -> CurrentTime:
    """Decode a Current Time value."""
    reader = ByteReader(data, "Current Time (0x2A2B)")
    date_time = reader.date_time("date time")
    day_of_week = reader.u8("day of week")
    fractions = reader.u8("fractions256")
    adjust_reason = reader.u8("adjust reason")
    return CurrentTime(
        date_time=date_time,
        day_of_week=day_of_week,
        fractions256=fractions,
        adjust_reason=adjust_reason,
    )


def encode(dt: datetime, adjust_reason: int = 0) -> bytes:
    """The Current Time value that sets a device's clock to ``dt``'s wall-clock time.

    ``dt`` is the time the device should show: a naive local time, or an aware one whose own
    zone is the device's (its wall-clock fields are written, the zone is not). The day of week
    follows from the date; the fraction of the second is floored to 1/256 s. ``adjust_reason``
    is a combination of :class:`AdjustReason` bits (``MANUAL_TIME_UPDATE`` for a hub setting
    the clock is usual; 0 by default).
    """
    if not 0 <= adjust_reason <= 0xFF:
        raise ValueError(f"adjust reason {adjust_reason} does not fit in a byte")
    if dt.year < 1582:
        raise ValueError(f"Date Time cannot carry year {dt.year} (1582–9999)")
    fractions = dt.microsecond * 256 // _MICROSECONDS_PER_SECOND
    return ieee11073.encode_date_time(dt) + bytes((dt.isoweekday(), fractions, adjust_reason))


def encode_current_time(m: CurrentTime) -> bytes:
    """The bytes of ``m`` as a device reports it, including an unknown date (for emulated
    devices whose clock has not been set)."""
    if not 0 <= m.day_of_week <= 0xFF:
        raise ValueError(f"day of week {m.day_of_week} does not fit in a byte")
    if not 0 <= m.fractions256 <= 0xFF:
        raise ValueError(f"fractions256 {m.fractions256} does not fit in a byte")
    if not 0 <= m.adjust_reason <= 0xFF:
        raise ValueError(f"adjust reason {m.adjust_reason} does not fit in a byte")
    return ieee11073.encode_date_time(m.date_time) + bytes(
        (m.day_of_week, m.fractions256, m.adjust_reason)
    )
