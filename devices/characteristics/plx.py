"""PLX Spot-Check (0x2A5E) and PLX Continuous (0x2A5F) Measurements, from pulse oximeters.

Layouts (Bluetooth SIG, Pulse Oximeter Service 1.0.1, §3.1 and §3.2; GATT Specification
Supplement). The two characteristics use *different* flag meanings.

Spot-Check (indicated, one reading per measurement): flags (uint8) · SpO2 (SFLOAT, %) · pulse
rate (SFLOAT, /min) · [time stamp (Date Time) if bit 0] · [measurement status (uint16) if bit 1]
· [device and sensor status (uint24) if bit 2] · [pulse amplitude index (SFLOAT, %) if bit 3].
Bit 4 says "device clock is not set": the time stamp is then the device's default, not a time
of day, and the gateway should not trust it. Bits 5–7 are reserved.

Continuous (notified, about once a second): flags (uint8) · SpO2, pulse rate (normal averaging,
2 × SFLOAT) · [SpO2, pulse rate fast (2 × SFLOAT) if bit 0] · [SpO2, pulse rate slow (2 × SFLOAT)
if bit 1] · [measurement status (uint16) if bit 2] · [device and sensor status (uint24) if bit 3]
· [pulse amplitude index (SFLOAT) if bit 4]. Bits 5–7 are reserved. It carries no time stamp.

Measurement status bits (both): 5 measurement ongoing, 6 early estimated data, 7 validated data,
8 fully qualified data, 9 data from measurement storage, 10 data for demonstration, 11 data for
testing, 12 calibration ongoing, 13 measurement unavailable, 14 questionable measurement
detected, 15 invalid measurement detected; 0–4 reserved. They are kept as the raw integer
(:class:`MeasurementStatus` names the bits): judging them is the triage domain's job.
"""

from __future__ import annotations

import math
from datetime import datetime
from enum import IntFlag

from devices import ieee11073
from devices.measurement import Measurement
from devices.reader import ByteReader

SPOT_CHECK_UUID = 0x2A5E
CONTINUOUS_UUID = 0x2A5F

# Spot-Check flags (PLXS §3.1).
SPOT_TIMESTAMP_PRESENT = 0x01
SPOT_MEASUREMENT_STATUS_PRESENT = 0x02
SPOT_DEVICE_AND_SENSOR_STATUS_PRESENT = 0x04
SPOT_PULSE_AMPLITUDE_INDEX_PRESENT = 0x08
SPOT_DEVICE_CLOCK_NOT_SET = 0x10
SPOT_RESERVED = 0xE0

# Continuous flags (PLXS §3.2).
CONTINUOUS_FAST_PRESENT = 0x01
CONTINUOUS_SLOW_PRESENT = 0x02
CONTINUOUS_MEASUREMENT_STATUS_PRESENT = 0x04
CONTINUOUS_DEVICE_AND_SENSOR_STATUS_PRESENT = 0x08
CONTINUOUS_PULSE_AMPLITUDE_INDEX_PRESENT = 0x10
CONTINUOUS_RESERVED = 0xE0


class MeasurementStatus(IntFlag):
    """The bits of the Measurement Status field (PLXS §3.1, §3.2); bits 0–4 are reserved."""

    MEASUREMENT_ONGOING = 1 << 5
    EARLY_ESTIMATED_DATA = 1 << 6
    VALIDATED_DATA = 1 << 7
    FULLY_QUALIFIED_DATA = 1 << 8
    DATA_FROM_MEASUREMENT_STORAGE = 1 << 9
    DATA_FOR_DEMONSTRATION = 1 << 10
    DATA_FOR_TESTING = 1 << 11
    CALIBRATION_ONGOING = 1 << 12
    MEASUREMENT_UNAVAILABLE = 1 << 13
    QUESTIONABLE_MEASUREMENT_DETECTED = 1 << 14
    INVALID_MEASUREMENT_DETECTED = 1 << 15


class DeviceAndSensorStatus(IntFlag):
    """The bits of the Device and Sensor Status field (PLXS §3.1, §3.2); bits 16–23 reserved."""

    EXTENDED_DISPLAY_UPDATE_ONGOING = 1 << 0
    EQUIPMENT_MALFUNCTION_DETECTED = 1 << 1
    SIGNAL_PROCESSING_IRREGULARITY_DETECTED = 1 << 2
    INADEQUATE_SIGNAL_DETECTED = 1 << 3
    POOR_SIGNAL_DETECTED = 1 << 4
    LOW_PERFUSION_DETECTED = 1 << 5
    ERRATIC_SIGNAL_DETECTED = 1 << 6
    NONPULSATILE_SIGNAL_DETECTED = 1 << 7
    QUESTIONABLE_PULSE_DETECTED = 1 << 8
    SIGNAL_ANALYSIS_ONGOING = 1 << 9
    SENSOR_INTERFERENCE_DETECTED = 1 << 10
    SENSOR_UNCONNECTED_TO_USER = 1 << 11
    UNKNOWN_SENSOR_CONNECTED = 1 << 12
    SENSOR_DISPLACED = 1 << 13
    SENSOR_MALFUNCTIONING = 1 << 14
    SENSOR_DISCONNECTED = 1 << 15


class PlxSpotCheckMeasurement(Measurement):
    """One spot-check reading: SpO2 in %, pulse rate per minute, as the oximeter sent them."""

    spo2: float | None
    pulse_rate: float | None
    timestamp: datetime | None = None
    measurement_status: int | None = None
    device_and_sensor_status: int | None = None
    pulse_amplitude_index: float | None = None
    device_clock_not_set: bool = False


class PlxContinuousMeasurement(Measurement):
    """One continuous sample: normal-averaged SpO2 (%) and pulse rate, plus fast/slow if sent."""

    spo2: float | None
    pulse_rate: float | None
    spo2_fast: float | None = None
    pulse_rate_fast: float | None = None
    spo2_slow: float | None = None
    pulse_rate_slow: float | None = None
    measurement_status: int | None = None
    device_and_sensor_status: int | None = None
    pulse_amplitude_index: float | None = None


def decode_spot_check(data: bytes) -> PlxSpotCheckMeasurement:
    """Decode a PLX Spot-Check Measurement value."""
    reader = ByteReader(data, "PLX Spot-Check Measurement (0x2A5E)")
    flags = reader.u8("flags")
    spo2 = reader.sfloat("SpO2")
    pulse = reader.sfloat("pulse rate")
    timestamp = reader.date_time("time stamp") if flags & SPOT_TIMESTAMP_PRESENT else None
    status = reader.u16("measurement status") if flags & SPOT_MEASUREMENT_STATUS_PRESENT else None
    sensor = (
        reader.u24("device and sensor status")
        if flags & SPOT_DEVICE_AND_SENSOR_STATUS_PRESENT
        else None
    )
    pai = (
        reader.sfloat("pulse amplitude index")
        if flags & SPOT_PULSE_AMPLITUDE_INDEX_PRESENT
        else None
    )
    return PlxSpotCheckMeasurement(
        spo2=spo2,
        pulse_rate=pulse,
        timestamp=timestamp,
        measurement_status=status,
        device_and_sensor_status=sensor,
        pulse_amplitude_index=pai,
        device_clock_not_set=bool(flags & SPOT_DEVICE_CLOCK_NOT_SET),
    )


def decode_continuous(data: bytes) -> PlxContinuousMeasurement:
    """Decode a PLX Continuous Measurement value."""
    reader = ByteReader(data, "PLX Continuous Measurement (0x2A5F)")
    flags = reader.u8("flags")
    spo2 = reader.sfloat("SpO2")
    pulse = reader.sfloat("pulse rate")
    spo2_fast = pulse_fast = spo2_slow = pulse_slow = None
    if flags & CONTINUOUS_FAST_PRESENT:
        spo2_fast = reader.sfloat("SpO2 fast")
        pulse_fast = reader.sfloat("pulse rate fast")
    if flags & CONTINUOUS_SLOW_PRESENT:
        spo2_slow = reader.sfloat("SpO2 slow")
        pulse_slow = reader.sfloat("pulse rate slow")
    status = (
        reader.u16("measurement status") if flags & CONTINUOUS_MEASUREMENT_STATUS_PRESENT else None
    )
    sensor = (
        reader.u24("device and sensor status")
        if flags & CONTINUOUS_DEVICE_AND_SENSOR_STATUS_PRESENT
        else None
    )
    pai = (
        reader.sfloat("pulse amplitude index")
        if flags & CONTINUOUS_PULSE_AMPLITUDE_INDEX_PRESENT
        else None
    )
    return PlxContinuousMeasurement(
        spo2=spo2,
        pulse_rate=pulse,
        spo2_fast=spo2_fast,
        pulse_rate_fast=pulse_fast,
        spo2_slow=spo2_slow,
        pulse_rate_slow=pulse_slow,
        measurement_status=status,
        device_and_sensor_status=sensor,
        pulse_amplitude_index=pai,
    )


# Exponents tried when the caller gives none: whole numbers first, then finer, then coarser.
_SFLOAT_EXPONENTS = (0, -1, -2, -3, -4, -5, -6, -7, -8, 1, 2, 3, 4, 5, 6, 7)


def sfloat_bytes(value: float | None, exponent: int | None = None) -> bytes:
    """The two bytes of the SFLOAT for ``value`` (``None`` → NaN). For emulated devices.

    With ``exponent=None`` the first exponent of 0, −1 … −8, 1 … 7 that holds ``value`` exactly
    is used (98.5 → 985 × 10⁻¹), so an emulated device never rounds silently; a value no
    exponent holds exactly gets the closest one. Raises ``ValueError`` when nothing fits.
    """
    if value is None:
        return ieee11073.SFLOAT_NAN.to_bytes(2, "little")
    if not math.isfinite(value):
        raise ValueError(f"{value} is not a number an SFLOAT can carry; use None for NaN")
    if exponent is not None:
        try:
            return ieee11073.encode_sfloat(value, exponent).to_bytes(2, "little")
        except OverflowError as err:
            raise ValueError(f"{value} does not fit an SFLOAT at exponent {exponent}") from err
    best: tuple[float, int] | None = None
    for candidate in _SFLOAT_EXPONENTS:
        try:
            word = ieee11073.encode_sfloat(value, candidate)
        except (ValueError, OverflowError):  # does not fit at this exponent
            continue
        decoded = ieee11073.sfloat(word)
        if decoded is None:
            continue
        if decoded == value:
            return word.to_bytes(2, "little")
        error = abs(decoded - value)
        if best is None or error < best[0]:
            best = (error, word)
    if best is None:
        raise ValueError(f"{value} does not fit an SFLOAT at any exponent")
    return best[1].to_bytes(2, "little")


def _uint_bytes(value: int, size: int, field: str) -> bytes:
    if not 0 <= value < 1 << (8 * size):
        raise ValueError(f"{field} {value} does not fit in {size} bytes")
    return value.to_bytes(size, "little")


def encode_spot_check(
    m: PlxSpotCheckMeasurement, *, exponent: int | None = None, extra_flags: int = 0
) -> bytes:
    """The bytes an oximeter sends for ``m`` (for emulated devices); ``exponent`` (None: the
    shortest exact one per value) applies to every SFLOAT; ``extra_flags`` sets reserved bits."""
    flags = extra_flags & SPOT_RESERVED
    if m.device_clock_not_set:
        flags |= SPOT_DEVICE_CLOCK_NOT_SET
    body = sfloat_bytes(m.spo2, exponent) + sfloat_bytes(m.pulse_rate, exponent)
    if m.timestamp is not None:
        flags |= SPOT_TIMESTAMP_PRESENT
        body += ieee11073.encode_date_time(m.timestamp)
    if m.measurement_status is not None:
        flags |= SPOT_MEASUREMENT_STATUS_PRESENT
        body += _uint_bytes(m.measurement_status, 2, "measurement status")
    if m.device_and_sensor_status is not None:
        flags |= SPOT_DEVICE_AND_SENSOR_STATUS_PRESENT
        body += _uint_bytes(m.device_and_sensor_status, 3, "device and sensor status")
    if m.pulse_amplitude_index is not None:
        flags |= SPOT_PULSE_AMPLITUDE_INDEX_PRESENT
        body += sfloat_bytes(m.pulse_amplitude_index, exponent)
    return bytes((flags,)) + body


def encode_continuous(
    m: PlxContinuousMeasurement, *, exponent: int | None = None, extra_flags: int = 0
) -> bytes:
    """The bytes an oximeter notifies for ``m`` (for emulated devices); a fast or slow pair is
    sent when either of its values is known. ``extra_flags`` sets reserved bits."""
    flags = extra_flags & CONTINUOUS_RESERVED
    body = sfloat_bytes(m.spo2, exponent) + sfloat_bytes(m.pulse_rate, exponent)
    if m.spo2_fast is not None or m.pulse_rate_fast is not None:
        flags |= CONTINUOUS_FAST_PRESENT
        body += sfloat_bytes(m.spo2_fast, exponent) + sfloat_bytes(m.pulse_rate_fast, exponent)
    if m.spo2_slow is not None or m.pulse_rate_slow is not None:
        flags |= CONTINUOUS_SLOW_PRESENT
        body += sfloat_bytes(m.spo2_slow, exponent) + sfloat_bytes(m.pulse_rate_slow, exponent)
    if m.measurement_status is not None:
        flags |= CONTINUOUS_MEASUREMENT_STATUS_PRESENT
        body += _uint_bytes(m.measurement_status, 2, "measurement status")
    if m.device_and_sensor_status is not None:
        flags |= CONTINUOUS_DEVICE_AND_SENSOR_STATUS_PRESENT
        body += _uint_bytes(m.device_and_sensor_status, 3, "device and sensor status")
    if m.pulse_amplitude_index is not None:
        flags |= CONTINUOUS_PULSE_AMPLITUDE_INDEX_PRESENT
        body += sfloat_bytes(m.pulse_amplitude_index, exponent)
    return bytes((flags,)) + body
