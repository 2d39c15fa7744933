"""A simulated patient's home: their Bluetooth devices, emulated, measuring what the simulator says.

For ``dho gateway run --emulate``, the demo and tests. The devices are the bumble-emulated ones of
``devices.emulated`` (named like the catalogue's emulated models, so their quirks apply: the
glucose meter's clock is unset until the hub writes Current Time); the patient is a
``devices.simulate`` patient. The gateway reaches them through the stock bleak API, exactly as
it reaches real devices.

Time: readings from before ``now`` (``backfill_days``) are in the devices' memories when the
home starts — cuffs and scales push them when the hub connects, the meter reports them over
RACP — with the times they were taken. Later readings are taken as the simulation reaches them,
``seconds_per_day`` real seconds per simulated day, stamped by the device's own clock (so a
deterioration that takes the simulated patient days appears within minutes in a fast demo).
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Callable
from datetime import datetime, timedelta

from devices.emulated import (
    BloodPressureCuff,
    BumbleClientBackend,
    BumbleScannerBackend,
    EmulatedDevice,
    EmulatedRadio,
    GlucoseMeter,
    PulseOximeter,
    StoringDevice,
    Thermometer,
    WeightScale,
)
from devices.measurement import Measurement
from devices.simulate import SimulatedPatient, SimulatedReading, simulate, to_device_measurement
from devices.simulate.schedules import DEVICE_PROFILE, SCHEDULES
from gateway.ble.radio import BleRadio
from gateway.known_devices import KnownDevices
from gateway.recorder import Recorder
from gateway.stop import stopped_within

log = logging.getLogger(__name__)

#: The emulated device for each catalogue profile (names match devices/catalogue.toml models).
DEVICE_FOR_PROFILE: dict[str, Callable[[datetime | None], EmulatedDevice]] = {
    "blood_pressure": lambda clock: BloodPressureCuff("DHO-EMU-BP", clock=clock),
    "pulse_oximeter": lambda clock: PulseOximeter("DHO-EMU-OX", clock=clock),
    "thermometer": lambda clock: Thermometer("DHO-EMU-TH", clock=clock),
    "weight_scale": lambda clock: WeightScale("DHO-EMU-SCALE", clock=clock),
    # the meter's clock is unset out of the box: the hub sets it (catalogue quirk)
    "glucose": lambda _clock: GlucoseMeter("DHO-EMU-GLU", clock=None),
}


def emulated_radio(radio: EmulatedRadio) -> BleRadio:
    """The gateway's bleak backends for devices on ``radio``."""
    return BleRadio(BumbleClientBackend, BumbleScannerBackend, {"radio": radio})


def profiles_measured(patient: SimulatedPatient) -> list[str]:
    """The catalogue profiles of the devices ``patient``'s condition measures with."""
    kinds = [kind for session in SCHEDULES[patient.condition] for kind in session.kinds]
    return list(dict.fromkeys(DEVICE_PROFILE[kind] for kind in kinds))


class EmulatedHome:
    """``patient``'s devices on ``radio``; :meth:`live` plays the simulation into them."""

    def __init__(
        self,
        patient: SimulatedPatient,
        radio: EmulatedRadio,
        *,
        clock: Callable[[], datetime],
        seconds_per_day: float = 86_400.0,
    ) -> None:
        self.patient = patient
        self.radio = radio
        self.clock = clock
        self.seconds_per_day = seconds_per_day
        self.devices: dict[str, EmulatedDevice] = {}
        self.readings_taken = 0

    async def power_on(self) -> None:
        """Put the patient's devices on the air, clocks (where set) at local time now."""
        local_now = self.clock().astimezone(self.patient.zone).replace(tzinfo=None)
        for profile in profiles_measured(self.patient):
            self.devices[profile] = await self.radio.add(DEVICE_FOR_PROFILE[profile](local_now))

    def pair_all(self, known: KnownDevices) -> None:
        """Pair the hub with every device of the home (what ``dho gateway pair`` would do)."""
        for profile, device in self.devices.items():
            known.pair(device.address, profile, device.name, self.clock())

    async def backfill(self, days: int) -> int:
        """Put the last ``days`` days' readings in the devices' memories; how many."""
        if days <= 0:
            return 0
        now = self.clock()
        start = now - timedelta(days=days)
        taken = 0
        for event in simulate(self.patient, start, days + 1):
            if event.at >= now:
                break
            if isinstance(event, SimulatedReading) and await self._take(event, keep_time=True):
                taken += 1
        return taken

    async def live(self, recorder: Recorder, stop: asyncio.Event, *, days: int = 365) -> None:
        """Take readings (and give questionnaire answers on the tablet) as the simulation
        reaches them, until ``stop`` is set."""
        start = self.clock()
        loop = asyncio.get_running_loop()
        began = loop.time()
        for event in simulate(self.patient, start, days):
            offset_days = (event.at - start).total_seconds() / 86_400
            due = began + offset_days * self.seconds_per_day
            if await stopped_within(stop, due - loop.time()):
                return
            if isinstance(event, SimulatedReading):
                await self._take(event, keep_time=False)
            else:
                recorder.report(event.id, event.questionnaire, dict(event.answers))

    async def _take(self, event: SimulatedReading, *, keep_time: bool) -> bool:
        device = self.devices.get(DEVICE_PROFILE.get(event.kind, ""))
        if device is None:
            return False
        m: Measurement = to_device_measurement(event)
        if not keep_time:  # the device's own clock stamps it
            untimed: dict[str, object] = {"timestamp": None}
            if event.kind == "glucose":
                untimed["base_time"] = None
            m = m.model_copy(update=untimed)
        if isinstance(device, GlucoseMeter):
            await device.measure(m)  # type: ignore[arg-type]
        elif isinstance(device, StoringDevice):
            await device.measure(m)
        else:
            return False
        self.readings_taken += 1
        return True
