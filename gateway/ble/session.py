"""One connection to one paired device: set its clock, subscribe, download stored records.

What happens on a connection, per the device catalogue (``devices/catalogue.toml``):

1. Battery Level (0x2A19) is read when the device has one.
2. Current Time (0x2A2B) is written when the model's quirks say its clock is unset until the hub
   sets it (``clock_unset_until_time_written``), in the hub's local time.
3. The profile's measurement characteristics are subscribed to (bleak chooses indications or
   notifications from the characteristic's properties). Cuffs and scales push their stored
   readings right after this; every value goes to the :class:`~gateway.recorder.Recorder`.
4. A device that stores records behind a Record Access Control Point (glucose meters) is asked
   for the records after the last sequence number this hub received, and the session ends when
   the meter answers (or goes quiet for ``download_idle_s``); a lost link mid-download loses
   nothing: the next download starts after the last record kept.
5. Otherwise the session listens until the link ends or the gateway stops.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import datetime
from zoneinfo import ZoneInfo

from bleak import BleakClient
from bleak.backends.characteristic import BleakGATTCharacteristic
from bleak.exc import BleakError

import devices
from devices.catalogue import Profile, Quirk
from devices.characteristics import current_time, racp
from devices.characteristics.glucose import GlucoseMeasurement
from devices.characteristics.racp import RacpResponseCode, ResponseCode
from devices.uuids import full_uuid
from gateway.known_devices import KnownDevices
from gateway.payloads import DeviceRef
from gateway.recorder import Outcome, Recorder

log = logging.getLogger(__name__)

BATTERY_LEVEL = 0x2A19
CURRENT_TIME = 0x2A2B
#: Untimed streams (a heart-rate strap notifies every second): keep one value per this many
#: seconds, not a reading per beat.
SAMPLE_EVERY_S = 60.0


class DownloadError(Exception):
    """A record download that did not finish (the meter's answer, or silence)."""


@dataclass
class SessionSummary:
    """What one connection brought: values per outcome, records downloaded, what went wrong."""

    outcomes: dict[Outcome, int] = field(default_factory=dict)
    records: int = 0
    battery: int | None = None

    def count(self, outcome: Outcome) -> None:
        self.outcomes[outcome] = self.outcomes.get(outcome, 0) + 1


class DeviceSession:
    """The work on one connected ``client`` for paired device ``device``."""

    def __init__(
        self,
        client: BleakClient,
        device: DeviceRef,
        profile: Profile,
        quirks: frozenset[Quirk],
        recorder: Recorder,
        known: KnownDevices,
        *,
        zone: ZoneInfo,
        clock: Callable[[], datetime],
        download_idle_s: float = 10.0,
    ) -> None:
        self.client = client
        self.device = device
        self.profile = profile
        self.quirks = quirks
        self.recorder = recorder
        self.known = known
        self.zone = zone
        self.clock = clock
        self.download_idle_s = download_idle_s
        self.summary = SessionSummary()
        self._racp_answers: asyncio.Queue[bytes] = asyncio.Queue()
        self._progress = 0
        self._last_sample: dict[int, float] = {}
        self._disconnected = asyncio.Event()

    async def run(self, stop: asyncio.Event, disconnected: asyncio.Event) -> SessionSummary:
        """Do the connection's work; returns when the link ends, ``stop`` is set, or (for a
        record-storing device) the download is done."""
        self._disconnected = disconnected
        await self._read_battery()
        if Quirk.CLOCK_UNSET_UNTIL_TIME_WRITTEN in self.quirks:
            await self._set_clock()
        await self._subscribe()
        if self.profile.stores_records:
            await self._download()
            return self.summary
        waiters = [asyncio.create_task(stop.wait()), asyncio.create_task(disconnected.wait())]
        try:
            await asyncio.wait(waiters, return_when=asyncio.FIRST_COMPLETED)
        finally:
            for waiter in waiters:
                waiter.cancel()
        return self.summary

    # ------------------------------------------------------------------ steps

    def _has(self, short: int) -> BleakGATTCharacteristic | None:
        return self.client.services.get_characteristic(full_uuid(short))

    async def _read_battery(self) -> None:
        if self._has(BATTERY_LEVEL) is None:
            return
        try:
            value = await self.client.read_gatt_char(full_uuid(BATTERY_LEVEL))
        except BleakError as err:
            log.warning("%s: battery level not read: %s", self.device.address, err)
            return
        if value:
            self.summary.battery = min(value[0], 100)
            self.known.set_battery(self.device.address, self.summary.battery)

    async def _set_clock(self) -> None:
        if self._has(CURRENT_TIME) is None:
            log.warning(
                "%s: the catalogue says its clock must be set, but it has no Current Time",
                self.device.address,
            )
            return
        local = self.clock().astimezone(self.zone).replace(tzinfo=None)
        try:
            await self.client.write_gatt_char(
                full_uuid(CURRENT_TIME), current_time.encode(local, adjust_reason=1), response=True
            )
        except BleakError as err:
            log.warning("%s: could not set its clock: %s", self.device.address, err)
            return

    async def _subscribe(self) -> None:
        for use in self.profile.subscriptions:
            if use.role == "continuous":
                continue  # streams of samples: the spot-check is the reading
            if self._has(use.uuid) is None:
                if not use.optional:
                    log.warning(
                        "%s: has no %s characteristic %#06x that its profile %s needs",
                        self.device.address,
                        use.role,
                        use.uuid,
                        self.profile.id,
                    )
                continue
            await self.client.start_notify(full_uuid(use.uuid), self._handler(use.uuid, use.role))

    def _handler(
        self, short: int, role: str
    ) -> Callable[[BleakGATTCharacteristic, bytearray], None]:
        def on_value(_characteristic: BleakGATTCharacteristic, data: bytearray) -> None:
            if role == "record_access":
                self._racp_answers.put_nowait(bytes(data))
            elif role == "measurement":
                self._on_measurement(short, bytes(data))
            # "context" values (meal, exercise) are not published; the meter sends them only
            # to subscribers, so the hub subscribes.

        return on_value

    def _on_measurement(self, short: int, raw: bytes) -> None:
        self._progress += 1
        if self._is_oversampled(short, raw):
            return
        recorded = self.recorder.record(self.device, short, raw)
        self.summary.count(recorded.outcome)
        if not self.profile.stores_records:
            # a device that stays connected and notifies: its session may last for days, so it
            # is "seen" at each measurement, not only when the link ends (the tablet's "Ikke
            # brukt ennå" / "not seen for 3 days" read this)
            self.known.seen(self.device.address, self.clock())
        m = recorded.measurement
        if isinstance(m, GlucoseMeasurement) and recorded.outcome in (
            Outcome.KEPT,
            Outcome.ALREADY_KEPT,
            Outcome.NOT_A_READING,
        ):
            self.known.advance_sequence(self.device.address, m.sequence_number)
            self.summary.records += 1

    def _is_oversampled(self, short: int, raw: bytes) -> bool:
        if self.profile.kind != "heart_rate":
            return False
        now = asyncio.get_running_loop().time()
        last = self._last_sample.get(short)
        if last is not None and now - last < SAMPLE_EVERY_S:
            return True
        self._last_sample[short] = now
        return False

    async def _download(self) -> None:
        if self._has(racp.UUID) is None:
            raise DownloadError(f"{self.device.address}: no Record Access Control Point")
        known = self.known.get(self.device.address)
        last = known.last_sequence_number if known is not None else None
        request = (
            racp.report_all_records()
            if last is None or last >= 0xFFFF
            else racp.report_records_from(last + 1)
        )
        await self.client.write_gatt_char(full_uuid(racp.UUID), request, response=True)
        answer = await self._racp_answer()
        if not isinstance(answer, RacpResponseCode):
            raise DownloadError(f"{self.device.address}: unexpected RACP answer {answer!r}")
        if answer.response_code not in (ResponseCode.SUCCESS, ResponseCode.NO_RECORDS_FOUND):
            raise DownloadError(
                f"{self.device.address}: the meter refused the download: "
                f"{ResponseCode(answer.response_code).name.lower()}"
            )
        log.info("%s: %d stored records downloaded", self.device.address, self.summary.records)

    async def _racp_answer(self) -> object:
        """The meter's RACP answer; records keep the wait alive, silence or a lost link end it."""
        while True:
            progress = self._progress
            answer = asyncio.create_task(self._racp_answers.get())
            gone = asyncio.create_task(self._disconnected.wait())
            done, _ = await asyncio.wait(
                {answer, gone}, timeout=self.download_idle_s, return_when=asyncio.FIRST_COMPLETED
            )
            answer.cancel()
            gone.cancel()
            if answer in done:
                try:
                    return devices.decode(racp.UUID, answer.result())
                except devices.DecodeError as err:
                    raise DownloadError(f"{self.device.address}: bad RACP answer: {err}") from err
            if gone in done:
                raise DownloadError(
                    f"{self.device.address}: the link was lost after {self.summary.records} "
                    "records of a download; the next download resumes after the last one kept"
                )
            if self._progress == progress:
                raise DownloadError(
                    f"{self.device.address}: the meter went quiet for {self.download_idle_s:g} s "
                    "in a download"
                )
