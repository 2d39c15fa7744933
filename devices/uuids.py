"""Bluetooth SIG UUIDs: characteristic ids in any spelling, and the 16-bit ones we know."""

from __future__ import annotations

import re

from devices.errors import DecodeError

#: The Bluetooth Base UUID: a 16-bit id ``xxxx`` stands for
#: ``0000xxxx-0000-1000-8000-00805f9b34fb``.
BASE_UUID_SUFFIX = "-0000-1000-8000-00805f9b34fb"

_SHORT = re.compile(r"^(?:0x)?([0-9a-f]{4})$")
_FULL = re.compile(r"^0000([0-9a-f]{4})" + re.escape(BASE_UUID_SUFFIX) + "$")

#: Characteristic and service names by 16-bit id (Bluetooth SIG Assigned Numbers).
NAMES: dict[int, str] = {
    0x1808: "Glucose",
    0x1809: "Health Thermometer",
    0x180D: "Heart Rate",
    0x1810: "Blood Pressure",
    0x181B: "Body Composition",
    0x181D: "Weight Scale",
    0x1822: "Pulse Oximeter",
    0x1805: "Current Time",
    0x180A: "Device Information",
    0x180F: "Battery",
    0x2A18: "Glucose Measurement",
    0x2A1C: "Temperature Measurement",
    0x2A1E: "Intermediate Temperature",
    0x2A2B: "Current Time",
    0x2A34: "Glucose Measurement Context",
    0x2A35: "Blood Pressure Measurement",
    0x2A37: "Heart Rate Measurement",
    0x2A49: "Blood Pressure Feature",
    0x2A51: "Glucose Feature",
    0x2A52: "Record Access Control Point",
    0x2A5E: "PLX Spot-Check Measurement",
    0x2A5F: "PLX Continuous Measurement",
    0x2A60: "PLX Features",
    0x2A9C: "Body Composition Measurement",
    0x2A9D: "Weight Measurement",
    0x2A9E: "Weight Scale Feature",
    0x2A19: "Battery Level",
}


def short_id(uuid: str | int) -> int:
    """The 16-bit id of ``uuid``: "2a35", "0x2A35", 0x2A35 or the full 128-bit form.

    Raises :class:`DecodeError` for anything else (including 128-bit ids outside the
    Bluetooth base, which no SIG profile uses).
    """
    if isinstance(uuid, int):
        if 0 <= uuid <= 0xFFFF:
            return uuid
        raise DecodeError(f"characteristic id {uuid:#x} is not a 16-bit Bluetooth SIG id")
    text = uuid.strip().lower()
    match = _SHORT.match(text) or _FULL.match(text)
    if match is None:
        raise DecodeError(
            f"characteristic id {uuid!r} is neither a 16-bit id ('2a35', '0x2A35') nor a "
            "Bluetooth base UUID ('00002a35-0000-1000-8000-00805f9b34fb')"
        )
    return int(match.group(1), 16)


def full_uuid(short: int) -> str:
    """The 128-bit form of a 16-bit SIG id, lower case, as bleak reports it."""
    return f"0000{short:04x}{BASE_UUID_SUFFIX}"


def name_of(uuid: str | int) -> str:
    """A human name for a characteristic or service id ("0x2A35 Blood Pressure Measurement")."""
    short = short_id(uuid)
    return f"0x{short:04X} {NAMES.get(short, 'unknown')}"
