"""Emulated Bluetooth LE health devices and a bleak backend to reach them, all in-process.

Real radios are not available on development machines or CI, so devices are emulated with the
``bumble`` Bluetooth stack: each device is a GATT peripheral with its own emulated controller on
an :class:`EmulatedRadio` (a bumble ``LocalLink``), and :class:`BumbleClientBackend` /
:class:`BumbleScannerBackend` let the unmodified ``bleak`` API reach them::

    async with EmulatedRadio() as radio:
        cuff = await radio.add(BloodPressureCuff(reserved_flags=0xE0))
        await cuff.measure(reading)  # nobody listens yet: the cuff stores it
        async with BleakClient(cuff.address, backend=BumbleClientBackend, radio=radio) as hub:
            await hub.start_notify("2a35", on_value)  # the cuff pushes it, then hangs up

Devices: :class:`BloodPressureCuff` (0x1810), :class:`PulseOximeter` (0x1822),
:class:`GlucoseMeter` (0x1808, with a working RACP), :class:`Thermometer` (0x1809),
:class:`WeightScale` (0x181D), :class:`HeartRateStrap` (0x180D); each with Device Information
and, when it keeps time, a writable Current Time. :class:`Faults` injects refused connections,
links lost mid-transfer and truncated values.

The backends find the radio in a scanned ``BLEDevice``'s ``details``, else the ``radio=``
keyword, else :func:`set_default_radio` / ``with default_radio(radio):`` (for code that builds
its own ``BleakClient`` and only lets you pick the backend class). Tests, the demo and load
tests use this package; the decoders never import it.
"""

from devices.emulated.bleak_backend import (
    BumbleClientBackend,
    BumbleScannerBackend,
    EmulatedDeviceDetails,
    scan,
)
from devices.emulated.peripherals import (
    BloodPressureCuff,
    DeviceOptions,
    EmulatedDevice,
    Faults,
    GlucoseMeter,
    GlucoseRecord,
    HeartRateStrap,
    PulseOximeter,
    StoringDevice,
    Thermometer,
    WeightScale,
)
from devices.emulated.radio import (
    EmulatedRadio,
    default_radio,
    get_default_radio,
    set_default_radio,
)

__all__ = [
    "BloodPressureCuff",
    "BumbleClientBackend",
    "BumbleScannerBackend",
    "DeviceOptions",
    "EmulatedDevice",
    "EmulatedDeviceDetails",
    "EmulatedRadio",
    "Faults",
    "GlucoseMeter",
    "GlucoseRecord",
    "HeartRateStrap",
    "PulseOximeter",
    "StoringDevice",
    "Thermometer",
    "WeightScale",
    "default_radio",
    "get_default_radio",
    "scan",
    "set_default_radio",
]
