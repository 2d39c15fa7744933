"""Blood Pressure Measurement (0x2A35), indicated by BP cuffs.

Layout (Bluetooth SIG, Blood Pressure Service 1.1, §3.2; GATT Specification Supplement):
flags (uint8) · systolic, diastolic, mean arterial pressure (3 × SFLOAT, mmHg or kPa per flag
bit 0) · [time stamp (Date Time) if bit 1] · [pulse rate (SFLOAT, /min) if bit 2] · [user id
(uint8) if bit 3] · [measurement status (uint16) if bit 4]. Bits 5–7 are reserved: real cuffs
set them, so they are ignored.
"""

from __future__ import annotations

from datetime import datetime
from typing import Literal

from devices import ieee11073
from devices.measurement import Measurement
from devices.reader import ByteReader

UUID = 0x2A35

UNITS_KPA = 0x01
TIMESTAMP_PRESENT = 0x02
PULSE_RATE_PRESENT = 0x04
USER_ID_PRESENT = 0x08
MEASUREMENT_STATUS_PRESENT = 0x10


class BloodPressureMeasurement(Measurement):
    systolic: float | None
    diastolic: float | None
    mean_arterial_pressure: float | None
    unit: Literal["mmHg", "kPa"]
    timestamp: datetime | None = None
    pulse_rate: float | None = None
    user_id: int | None = None
    measurement_status: int | None = None


def decode(data: bytes) -> BloodPressureMeasurement:
    """Decode a Blood Pressure Measurement value."""
    reader = ByteReader(data, "Blood Pressure Measurement (0x2A35)")
    flags = reader.u8("flags")
    systolic = reader.sfloat("systolic")
    diastolic = reader.sfloat("diastolic")
    mean = reader.sfloat("mean arterial pressure")
    timestamp = reader.date_time("time stamp") if flags & TIMESTAMP_PRESENT else None
    pulse = reader.sfloat("pulse rate") if flags & PULSE_RATE_PRESENT else None
    user_id = reader.u8("user id") if flags & USER_ID_PRESENT else None
    status = reader.u16("measurement status") if flags & MEASUREMENT_STATUS_PRESENT else None
    return BloodPressureMeasurement(
        systolic=systolic,
        diastolic=diastolic,
        mean_arterial_pressure=mean,
        unit="kPa" if flags & UNITS_KPA else "mmHg",
        timestamp=timestamp,
        pulse_rate=pulse,
        user_id=user_id,
        measurement_status=status,
    )


def encode(m: BloodPressureMeasurement, *, exponent: int = 0, extra_flags: int = 0) -> bytes:
    """The bytes a cuff sends for ``m`` (for emulated devices); ``extra_flags`` sets reserved
    bits the way some real cuffs do."""
    flags = extra_flags & 0xE0
    if m.unit == "kPa":
        flags |= UNITS_KPA
    body = b"".join(
        ieee11073.encode_sfloat(v, exponent).to_bytes(2, "little")
        for v in (m.systolic, m.diastolic, m.mean_arterial_pressure)
    )
    if m.timestamp is not None:
        flags |= TIMESTAMP_PRESENT
        body += ieee11073.encode_date_time(m.timestamp)
    if m.pulse_rate is not None:
        flags |= PULSE_RATE_PRESENT
        body += ieee11073.encode_sfloat(m.pulse_rate).to_bytes(2, "little")
    if m.user_id is not None:
        flags |= USER_ID_PRESENT
        body += bytes((m.user_id,))
    if m.measurement_status is not None:
        flags |= MEASUREMENT_STATUS_PRESENT
        body += m.measurement_status.to_bytes(2, "little")
    return bytes((flags,)) + body
