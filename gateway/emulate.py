"""Simulated patients' homes: their Bluetooth devices, emulated, measuring what the simulator says.

For ``dho gateway run --emulate``, the demo and tests. The devices are the bumble-emulated ones of
``devices.emulated`` (named like the catalogue's emulated models, so their quirks apply: the
glucose meter's clock is unset until the hub writes Current Time); the patient is a
``devices.simulate`` patient. The gateway reaches them through the stock bleak API, exactly as
it reaches real devices. One process can run many homes (``--homes FILE``): each has its own
radio (its own air, device addresses of its own), hub, outbox, known devices and MQTT identity.

Time: the simulation of a home starts ``history_days`` before ``now`` (its day 0 is that date;
the patient's episodes count from it). Readings from before ``now`` are in the devices' memories
when the home starts — cuffs and scales push them when the hub connects, the meter reports them
over RACP — with the times they were taken; questionnaire answers from before ``now`` are in the
tablet's outbox with theirs. Later events come as the simulation reaches them,
``seconds_per_day`` real seconds per simulated day: readings stamped by the device's own clock,
which runs in real time (so a deterioration that takes the simulated patient days appears within
minutes in a fast demo, and no reading is ever stamped ahead of the real clock).
"""

from __future__ import annotations

import asyncio
import json
import logging
import uuid
from collections.abc import Callable, Sequence
from datetime import datetime, timedelta
from pathlib import Path
from typing import Literal

from pydantic import BaseModel, ConfigDict, Field, SecretStr, ValidationError

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
from devices.simulate import (
    Condition,
    Episode,
    EpisodeKind,
    Event,
    Severity,
    SimulatedPatient,
    SimulatedReading,
    make_patient,
    simulate,
    to_device_measurement,
)
from devices.simulate.schedules import DEVICE_PROFILE, SCHEDULES
from gateway.ble.radio import BleRadio
from gateway.config import GatewaySettings
from gateway.hub import Hub
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

#: Device addresses per home: home ``address_block`` b gets C0:DE:00:00 numbers b·16+1 … b·16+16.
ADDRESSES_PER_HOME = 16
#: Namespace of the ids of simulated questionnaire answers (uuid5), fixed.
REPORT_ID_NAMESPACE = uuid.UUID("3d0c6f3e-8a41-5b7e-9c0d-2f6a1e4b7c55")
#: Live simulation is computed this many days ahead at a time (then twice as far, and so on).
LIVE_SPAN_DAYS = 30
#: …up to this far; a home that gets there stays quiet until it is stopped.
LIVE_MAX_DAYS = 3650


def emulated_radio(radio: EmulatedRadio) -> BleRadio:
    """The gateway's bleak backends for devices on ``radio``."""
    return BleRadio(BumbleClientBackend, BumbleScannerBackend, {"radio": radio})


def profiles_measured(patient: SimulatedPatient) -> list[str]:
    """The catalogue profiles of the devices ``patient``'s condition measures with."""
    kinds = [kind for session in SCHEDULES[patient.condition] for kind in session.kinds]
    return list(dict.fromkeys(DEVICE_PROFILE[kind] for kind in kinds))


class EmulatedHome:
    """``patient``'s devices on ``radio``: :meth:`backfill` fills their memories with the
    readings before now, :meth:`live` plays the rest of the simulation into them."""

    def __init__(
        self,
        patient: SimulatedPatient,
        radio: EmulatedRadio,
        *,
        clock: Callable[[], datetime],
        seconds_per_day: float = 86_400.0,
        history_days: int = 0,
    ) -> None:
        if seconds_per_day <= 0:
            raise ValueError(f"seconds_per_day must be above 0, not {seconds_per_day}")
        if history_days < 0:
            raise ValueError(f"history_days must be 0 or more, not {history_days}")
        self.patient = patient
        self.radio = radio
        self.clock = clock
        self.seconds_per_day = seconds_per_day
        self.history_days = history_days
        self.now = clock()
        #: the simulation's start: its day 0 is this date, the patient's episodes count from it
        self.start = self.now - timedelta(days=history_days)
        self.devices: dict[str, EmulatedDevice] = {}

    async def power_on(self) -> None:
        """Put the patient's devices on the air, clocks (where set) at local time now."""
        local_now = self.clock().astimezone(self.patient.zone).replace(tzinfo=None)
        for profile in profiles_measured(self.patient):
            self.devices[profile] = await self.radio.add(DEVICE_FOR_PROFILE[profile](local_now))

    def pair_all(self, known: KnownDevices) -> None:
        """Pair the hub with every device of the home (what ``dho gateway pair`` would do)."""
        for profile, device in self.devices.items():
            known.pair(device.address, profile, device.name, self.clock())

    def _events(self, days_after_now: int) -> list[Event]:
        return simulate(self.patient, self.start, self.history_days + days_after_now)

    async def backfill(self, recorder: Recorder) -> int:
        """Put the readings from before now in the devices' memories (with their times) and the
        questionnaire answers in the outbox; how many readings."""
        taken = 0
        for event in self._events(1):
            if event.at >= self.now:
                break
            if isinstance(event, SimulatedReading):
                taken += await self._take(event, keep_time=True)
            else:
                recorder.report(
                    self._report_id(event.id),
                    event.questionnaire,
                    dict(event.answers),
                    answered_at=event.at,
                )
        return taken

    async def live(self, recorder: Recorder, stop: asyncio.Event) -> None:
        """Take readings (and give questionnaire answers on the tablet) as the simulation
        reaches them, ``seconds_per_day`` real seconds per simulated day, until ``stop``."""
        loop = asyncio.get_running_loop()
        began = loop.time()
        played = 0  # events from now on already played: the simulation is the same each time
        span = LIVE_SPAN_DAYS
        while True:
            upcoming = [e for e in self._events(span) if e.at >= self.now][played:]
            for event in upcoming:
                offset_days = (event.at - self.now).total_seconds() / 86_400
                due = began + offset_days * self.seconds_per_day
                if await stopped_within(stop, due - loop.time()):
                    return
                if isinstance(event, SimulatedReading):
                    await self._take(event, keep_time=False)
                else:
                    recorder.report(
                        self._report_id(event.id), event.questionnaire, dict(event.answers)
                    )
                played += 1
            monitoring = self.patient.monitoring_days
            if span >= LIVE_MAX_DAYS or (
                monitoring is not None and self.history_days + span >= monitoring
            ):
                await stop.wait()  # nothing more to measure: the follow-up is over
                return
            span = min(span * 2, LIVE_MAX_DAYS)

    def _report_id(self, event_id: str) -> str:
        """A simulated event's id is the same in every simulation of the patient; the answers
        of this home's run get their own, so a later run's are never taken for duplicates."""
        return str(uuid.uuid5(REPORT_ID_NAMESPACE, f"{event_id}|{self.start.isoformat()}"))

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
        return True


# ----------------------------------------------------------------------------- many homes


class HomesFileError(Exception):
    """A homes file that cannot be used; the message says which file and what is wrong."""


class EpisodeSpec(BaseModel):
    """A scripted deterioration, in days from the home's simulation start (day 0)."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    kind: EpisodeKind
    start_day: int = Field(ge=0)
    duration_days: int = Field(ge=1)
    severity: Severity = Severity.MODERATE

    def episode(self) -> Episode:
        return Episode(self.kind, self.start_day, self.duration_days, self.severity)


class HomeSpec(BaseModel):
    """One emulated home: the gateway's identity and files, and the simulated patient."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    gateway_id: str = Field(min_length=1, max_length=64)
    secret: SecretStr | None = None
    data_dir: Path = Field(description="the home's outbox and paired devices")
    patient_id: str = Field(min_length=1, description="the simulated patient's id (and seed)")
    condition: Condition
    seed: int
    episodes: tuple[EpisodeSpec, ...] | None = Field(
        default=None, description="scripted episodes; null: drawn from the seed"
    )
    history_days: int = Field(default=0, ge=0, le=366)
    address_block: int = Field(default=0, ge=0, le=0xFFFF // ADDRESSES_PER_HOME - 1)

    def patient(self) -> SimulatedPatient:
        drawn = make_patient(self.patient_id, self.condition, self.seed)
        if self.episodes is None:
            return drawn
        return drawn.with_episodes(*(e.episode() for e in self.episodes))

    def settings(self, base: GatewaySettings) -> GatewaySettings:
        """``base`` (the process's DHO_GATEWAY_ settings) with this home's identity and files."""
        return base.model_copy(
            update={"gateway_id": self.gateway_id, "secret": self.secret, "data_dir": self.data_dir}
        )


class HomesFile(BaseModel):
    """``dho gateway run --emulate --homes FILE``: the homes one gateway process runs."""

    model_config = ConfigDict(extra="forbid")

    format: Literal["dho.emulated-homes/1"] = "dho.emulated-homes/1"
    homes: list[HomeSpec] = Field(min_length=1)

    @classmethod
    def load(cls, path: Path) -> HomesFile:
        try:
            return cls.model_validate(json.loads(path.read_bytes()))
        except OSError as err:
            raise HomesFileError(f"cannot read homes file {path}: {err.strerror}") from err
        except ValueError as err:  # JSON or validation
            if isinstance(err, ValidationError):
                problems = "; ".join(
                    f"{'.'.join(str(p) for p in e['loc']) or '(file)'}: {e['msg']}"
                    for e in err.errors()
                )
            else:
                problems = str(err)
            raise HomesFileError(f"{path} is not a valid homes file: {problems}") from err

    def dump(self) -> str:
        """The file's JSON, secrets in clear (the file is the gateways' configuration)."""
        data = self.model_dump(mode="json")
        for home, spec in zip(data["homes"], self.homes, strict=True):
            home["secret"] = spec.secret.get_secret_value() if spec.secret else None
        return json.dumps(data, indent=2, ensure_ascii=False)


async def run_home(
    settings: GatewaySettings,
    patient: SimulatedPatient,
    stop: asyncio.Event,
    *,
    seconds_per_day: float,
    history_days: int,
    address_block: int = 0,
) -> None:
    """Run one emulated home and its hub until ``stop`` is set (set by this too when the hub
    fails, so the other homes of the process stop with it)."""
    try:
        async with EmulatedRadio(address_block * ADDRESSES_PER_HOME + 1) as radio:
            hub = Hub(settings, emulated_radio(radio))
            home = EmulatedHome(
                patient,
                radio,
                clock=hub.clock,
                seconds_per_day=seconds_per_day,
                history_days=history_days,
            )
            await home.power_on()
            for device in hub.known.all():  # addresses of an earlier run's emulated devices
                hub.known.forget(device.address)
            home.pair_all(hub.known)
            taken = await home.backfill(hub.recorder)
            log.info(
                "gateway %s: emulated home of %s (%s): %s; %d readings in the devices' memories",
                settings.gateway_id,
                patient.id,
                patient.condition,
                ", ".join(d.name for d in home.devices.values()),
                taken,
            )
            live = asyncio.create_task(home.live(hub.recorder, stop))
            try:
                await hub.run(stop)
            finally:
                stop.set()
                await live
    finally:
        stop.set()


def with_tablet_port(settings: GatewaySettings, base_port: int, number: int) -> GatewaySettings:
    """Home number ``number`` (from 0) of a ``--homes`` run serves its tablet pages on
    ``base_port + number`` (none when ``base_port`` is 0)."""
    if not base_port:
        return settings
    return settings.model_copy(update={"tablet_port": base_port + number})


async def run_homes(
    homes: Sequence[HomeSpec],
    base: GatewaySettings,
    stop: asyncio.Event,
    *,
    seconds_per_day: float,
) -> None:
    """Run every home of ``homes`` in this event loop until ``stop`` is set; the first failure
    (after every home has stopped) is raised."""
    results = await asyncio.gather(
        *(
            run_home(
                with_tablet_port(spec.settings(base), base.tablet_port, number),
                spec.patient(),
                stop,
                seconds_per_day=seconds_per_day,
                history_days=spec.history_days,
                address_block=spec.address_block,
            )
            for number, spec in enumerate(homes)
        ),
        return_exceptions=True,
    )
    for result in results:
        if isinstance(result, BaseException):
            raise result
