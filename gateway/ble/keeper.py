"""Keeps reaching one paired device, for as long as the gateway runs.

The loop: wait until the device advertises, connect (bleak-retry-connector), run a
:class:`~gateway.ble.session.DeviceSession`, and when the link ends start over. A device that is
away, refuses, or fails mid-transfer is retried after a back-off that doubles from
``retry_min_s`` to ``retry_max_s``; a record-storing device (glucose meter) is asked again after
``poll_every_s``. Every failure is logged with bleak-retry-connector's advice to the operator and
kept as the device's last error (``dho gateway status``); nothing here ever ends the gateway.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime
from zoneinfo import ZoneInfo

from bleak import BleakClient
from bleak.exc import BleakError

from devices.catalogue import Catalogue
from gateway.ble.radio import BleRadio
from gateway.ble.session import DeviceSession, DownloadError
from gateway.known_devices import KnownDevice, KnownDevices
from gateway.payloads import DeviceRef
from gateway.recorder import Recorder
from gateway.stop import stopped_within

log = logging.getLogger(__name__)


@dataclass(frozen=True)
class KeeperTiming:
    """How patiently a device is reached (seconds)."""

    scan_s: float = 10.0
    retry_min_s: float = 2.0
    retry_max_s: float = 120.0
    poll_every_s: float = 300.0
    download_idle_s: float = 10.0


class DeviceKeeper:
    """Reaches paired ``device`` again and again until ``stop`` is set."""

    def __init__(
        self,
        device: KnownDevice,
        radio: BleRadio,
        catalogue: Catalogue,
        recorder: Recorder,
        known: KnownDevices,
        *,
        zone: ZoneInfo,
        clock: Callable[[], datetime],
        timing: KeeperTiming | None = None,
    ) -> None:
        self.device = device
        self.radio = radio
        self.profile = catalogue.profile(device.profile)
        self.quirks = catalogue.quirks_for(device.name)
        model = catalogue.model_for(device.name)
        self.ref = DeviceRef(
            address=device.address,
            profile=device.profile,
            model=device.name if model is None else f"{model.manufacturer} {device.name}",
        )
        self.recorder = recorder
        self.known = known
        self.zone = zone
        self.clock = clock
        self.timing = timing or KeeperTiming()
        self.sessions = 0

    @property
    def label(self) -> str:
        return f"{self.device.name or self.device.profile} ({self.device.address})"

    async def run(self, stop: asyncio.Event) -> None:
        delay = self.timing.retry_min_s
        while not stop.is_set():
            ok = await self._once(stop)
            if ok:
                delay = self.timing.retry_min_s
                wait = self.timing.poll_every_s if self.profile.stores_records else delay
            else:
                wait, delay = delay, min(delay * 2, self.timing.retry_max_s)
            if await stopped_within(stop, wait):
                return

    async def _once(self, stop: asyncio.Event) -> bool:
        """One try: find, connect, run a session. True when the device was reached."""
        try:
            found = await self.radio.find(self.device.address, self.timing.scan_s)
        except BleakError as err:
            self._failed(f"scanning failed: {err}. Is Bluetooth switched on?")
            return False
        if found is None:
            log.debug("%s not advertising", self.label)
            return False
        disconnected = asyncio.Event()
        try:
            client = await self.radio.connect(found, self.label, lambda _client: disconnected.set())
        except (BleakError, TimeoutError) as err:
            # bleak-retry-connector's messages end with what to try
            self._failed(f"could not connect: {err}")
            return False
        self.sessions += 1
        session = DeviceSession(
            client,
            self.ref,
            self.profile,
            self.quirks,
            self.recorder,
            self.known,
            zone=self.zone,
            clock=self.clock,
            download_idle_s=self.timing.download_idle_s,
        )
        try:
            summary = await session.run(stop, disconnected)
        except (BleakError, DownloadError, TimeoutError) as err:
            self._failed(f"the connection failed: {err}")
            return False
        finally:
            await _disconnect(client)
        self.known.seen(self.device.address, self.clock())
        log.info("%s: session done %s", self.label, summary.outcomes)
        return True

    def _failed(self, why: str) -> None:
        log.warning("%s: %s", self.label, why)
        self.known.seen(self.device.address, self.clock(), error=why)


async def _disconnect(client: BleakClient) -> None:
    try:
        await client.disconnect()
    except (BleakError, TimeoutError) as err:
        log.debug("disconnect: %s", err)
