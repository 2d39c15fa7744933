"""Heart Rate Measurement (0x2A37), notified by chest straps, watches and some oximeters.

Layout (Bluetooth SIG, Heart Rate Service 1.0, §3.1; GATT Specification Supplement): flags
(uint8) · heart rate (uint8, or uint16 if bit 0; beats per minute) · [energy expended (uint16,
kJ) if bit 3] · [RR intervals (one or more uint16, 1/1024 s each) if bit 4, filling the rest of
the value]. Bits 1–2 are the sensor contact status: 0 or 1 "not supported", 2 "supported, no
contact", 3 "supported, contact". Bits 5–7 are reserved and ignored.

RR intervals are returned in seconds (raw / 1024, exact in binary floating point). An odd byte
left after the last whole interval is tolerated like any trailing byte. Energy expended stays at
65535 kJ once it saturates (the collector may reset it through the control point).
"""

from __future__ import annotations

from devices.measurement import Measurement
from devices.reader import ByteReader

UUID = 0x2A37

VALUE_FORMAT_UINT16 = 0x01
SENSOR_CONTACT_DETECTED = 0x02
SENSOR_CONTACT_SUPPORTED = 0x04
ENERGY_EXPENDED_PRESENT = 0x08
RR_INTERVALS_PRESENT = 0x10
RESERVED = 0xE0

#: RR intervals are sent in units of 1/1024 second.
RR_UNITS_PER_SECOND = 1024


class HeartRateMeasurement(Measurement):
    """A heart rate sample: beats per minute, contact, energy (kJ) and RR intervals (seconds)."""

    heart_rate: int
    sensor_contact: bool | None = None
    energy_expended: int | None = None
    rr_intervals: list[float] | None = None


def decode(data: bytes) -> HeartRateMeasurement:
    """Decode a Heart Rate Measurement value."""
    reader = ByteReader(data, "Heart Rate Measurement (0x2A37)")
    flags = reader.u8("flags")
    heart_rate = (
        reader.u16("heart rate") if flags & VALUE_FORMAT_UINT16 else reader.u8("heart rate")
    )
    contact = bool(flags & SENSOR_CONTACT_DETECTED) if flags & SENSOR_CONTACT_SUPPORTED else None
    energy = reader.u16("energy expended") if flags & ENERGY_EXPENDED_PRESENT else None
    rr_intervals = None
    if flags & RR_INTERVALS_PRESENT:
        # The flag promises at least one interval; more follow while whole ones remain.
        rr_intervals = [reader.u16("RR interval") / RR_UNITS_PER_SECOND]
        while reader.remaining() >= 2:
            rr_intervals.append(reader.u16("RR interval") / RR_UNITS_PER_SECOND)
    return HeartRateMeasurement(
        heart_rate=heart_rate,
        sensor_contact=contact,
        energy_expended=energy,
        rr_intervals=rr_intervals,
    )


def encode(m: HeartRateMeasurement, *, uint16: bool = False, extra_flags: int = 0) -> bytes:
    """The bytes a heart rate sensor sends for ``m`` (for emulated devices). The heart rate
    goes in a uint16 when ``uint16`` is set or it does not fit a byte; RR intervals are
    rounded to 1/1024 s (an empty list sends none). ``extra_flags`` sets reserved bits."""
    flags = extra_flags & RESERVED
    if not 0 <= m.heart_rate <= 0xFFFF:
        raise ValueError(f"heart rate {m.heart_rate} does not fit in 16 bits")
    if uint16 or m.heart_rate > 0xFF:
        flags |= VALUE_FORMAT_UINT16
        body = m.heart_rate.to_bytes(2, "little")
    else:
        body = bytes((m.heart_rate,))
    if m.sensor_contact is not None:
        flags |= SENSOR_CONTACT_SUPPORTED
        if m.sensor_contact:
            flags |= SENSOR_CONTACT_DETECTED
    if m.energy_expended is not None:
        if not 0 <= m.energy_expended <= 0xFFFF:
            raise ValueError(f"energy expended {m.energy_expended} kJ does not fit in 16 bits")
        flags |= ENERGY_EXPENDED_PRESENT
        body += m.energy_expended.to_bytes(2, "little")
    if m.rr_intervals:
        flags |= RR_INTERVALS_PRESENT
        for seconds in m.rr_intervals:
            raw = round(seconds * RR_UNITS_PER_SECOND)
            if not 0 <= raw <= 0xFFFF:
                raise ValueError(f"RR interval {seconds} s does not fit (0..64 s)")
            body += raw.to_bytes(2, "little")
    return bytes((flags,)) + body
