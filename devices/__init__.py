"""What home devices say: Bluetooth GATT decoders, unit conversion and the device catalogue.

``devices.decode(characteristic, data)`` turns a characteristic's raw bytes into a measurement
(contract: docs/devices.md). Pure: no I/O, no clock reads. Emulated devices
(``devices.emulated``) and simulated patients (``devices.simulate``) live beside it for tests,
the demo and load tests.
"""

from devices.decode import decode
from devices.errors import DecodeError
from devices.measurement import Measurement

__all__ = ["DecodeError", "Measurement", "decode"]
