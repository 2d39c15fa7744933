"""The home gateway, wired: paired devices → recorder → outbox → publisher → receipts.

One asyncio loop runs a :class:`~gateway.ble.keeper.DeviceKeeper` per paired device, a drain
loop that hands outbox messages to the MQTT publisher batch by batch (paho's own thread does the
network; after a full batch the next follows at once, as after a reconnect),
and a status loop that refreshes the retained status and starts keepers for devices paired
while the gateway runs. Stopping (Ctrl-C, SIGTERM) lets each keeper finish the radio operation in
hand, publishes the offline status and closes the files; a gateway killed without stopping loses
nothing either: the outbox is on disk and the broker's last will marks it offline.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Callable
from datetime import datetime
from typing import Any

from devices.catalogue import Catalogue, load_catalogue
from gateway.ble.keeper import DeviceKeeper, KeeperTiming
from gateway.ble.radio import BleRadio
from gateway.config import GatewaySettings
from gateway.known_devices import KnownDevices
from gateway.publisher import Publisher, utc_now
from gateway.recorder import Recorder
from gateway.stop import stopped_within
from gateway.tablet.state import TabletStore

log = logging.getLogger(__name__)

#: How often a filling outbox is logged again.
WARN_EVERY_S = 600.0
#: How long closing waits for the drain loop to finish the batch in hand.
DRAIN_FINISH_S = 10.0
#: How long closing waits for the device keepers to end by themselves: each sees the stop after
#: the radio operation in hand (a scan lasts up to ``scan_s``, 10 s by default; a download ends
#: with its records). One still busy after that is cancelled.
KEEPERS_FINISH_S = 15.0


class GatewayNotConfiguredError(Exception):
    """The gateway lacks what it needs to publish (its id); the message says what to set."""


class Hub:
    """A running home gateway with ``settings``, reaching devices over ``radio``."""

    def __init__(
        self,
        settings: GatewaySettings,
        radio: BleRadio,
        *,
        catalogue: Catalogue | None = None,
        clock: Callable[[], datetime] = utc_now,
    ) -> None:
        if not settings.gateway_id:
            raise GatewayNotConfiguredError(
                "no gateway id: set DHO_GATEWAY_GATEWAY_ID (and DHO_GATEWAY_SECRET) to the values "
                "shown when the gateway was registered at the follow-up centre"
            )
        self.settings = settings
        self.radio = radio
        self.catalogue = catalogue or load_catalogue()
        self.clock = clock
        self.zone = settings.zone
        self.outbox = settings.open_outbox()
        self.known = KnownDevices(settings.known_devices_path)
        self.recorder = Recorder(self.outbox, self.zone, clock)
        self.tablet = TabletStore(settings.tablet_state_path, settings.gateway_id)
        self.publisher = Publisher(
            self.outbox,
            settings.gateway_id,
            settings.mqtt_host,
            settings.mqtt_port,
            username=settings.gateway_id,
            password=settings.secret.get_secret_value() if settings.secret else None,
            tls=settings.mqtt_tls,
            protocol=settings.mqtt_protocol,
            topic_prefix=settings.topic_prefix,
            clock=clock,
            status_extra=self.status_details,
            on_tablet=self.tablet.receive,
        )
        self.keepers: dict[str, DeviceKeeper] = {}
        self.timing = KeeperTiming(
            scan_s=settings.scan_s,
            retry_min_s=settings.retry_min_s,
            retry_max_s=settings.retry_max_s,
            poll_every_s=settings.poll_every_s,
        )
        self._tasks: list[asyncio.Task[None]] = []
        self._warned_at: float | None = None

    def status_details(self) -> dict[str, Any]:
        """What the retained status adds to ``online``: the devices and any outbox warning."""
        details: dict[str, Any] = {
            "devices": [
                {
                    "address": d.address,
                    "profile": d.profile,
                    "name": d.name,
                    "last_seen": d.last_seen_at.isoformat() if d.last_seen_at else None,
                    "battery": d.battery,
                }
                for d in self.known.all()
            ]
        }
        warning = self.outbox.warning()
        if warning is not None:
            details["warning"] = {"nb": warning[0], "en": warning[1]}
        return details

    async def run(self, stop: asyncio.Event) -> None:
        """Run until ``stop`` is set, then shut down cleanly."""
        self.publisher.start()
        self._start_keepers(stop)
        self._tasks.append(asyncio.create_task(self._drain(stop), name="drain"))
        self._tasks.append(asyncio.create_task(self._status(stop), name="status"))
        if self.settings.tablet_port:
            self._tasks.append(asyncio.create_task(self._serve_tablet(stop), name="tablet"))
        try:
            await stop.wait()
        finally:
            await self.close()

    async def close(self) -> None:
        # The drain loop sees ``stop`` after its current batch: let that batch finish (no waiting
        # for acknowledgements now) rather than close the outbox under its thread.
        self.publisher.interrupt()
        drains = [task for task in self._tasks if task.get_name() == "drain"]
        if drains:
            await asyncio.wait(drains, timeout=DRAIN_FINISH_S)
        # The keepers see ``stop`` after the radio operation in hand: let them end by themselves
        # (disconnecting, closing their scanner) rather than cancel them in the middle of a radio
        # exchange. The emulated radio's Bluetooth stack (bumble) resolves a command's or
        # request's wait from its packet handler without checking that the wait was cancelled:
        # an answer already on its way then raises InvalidStateError, a traceback in the log.
        # Only a keeper still busy after KEEPERS_FINISH_S (a slow connect on a real radio,
        # which bleak lets us cancel) is cancelled.
        labels = {keeper.label for keeper in self.keepers.values()}
        keepers = [task for task in self._tasks if task.get_name() in labels]
        if keepers:
            _, busy = await asyncio.wait(keepers, timeout=KEEPERS_FINISH_S)
            for task in busy:
                log.warning(
                    "%s: still busy %.0f s after the stop; cancelled",
                    task.get_name(),
                    KEEPERS_FINISH_S,
                )
        for task in self._tasks:
            task.cancel()
        await asyncio.gather(*self._tasks, return_exceptions=True)
        self._tasks.clear()
        await asyncio.to_thread(self.publisher.stop)
        self.outbox.close()
        self.known.close()

    async def _serve_tablet(self, stop: asyncio.Event) -> None:
        """Serve the patient's tablet pages (gateway.tablet) until ``stop``."""
        from gateway.tablet.app import TabletContext, make_app
        from gateway.tablet.server import serve

        app = make_app(
            TabletContext(
                store=self.tablet,
                outbox=self.outbox,
                recorder=self.recorder,
                known=self.known,
                clock=self.clock,
                zone=self.zone,
                host=self.settings.tablet_host,
            )
        )
        await serve(app, self.settings.tablet_host, self.settings.tablet_port, stop)

    def _start_keepers(self, stop: asyncio.Event) -> None:
        for device in self.known.all():
            if device.address in self.keepers:
                continue
            try:
                keeper = DeviceKeeper(
                    device,
                    self.radio,
                    self.catalogue,
                    self.recorder,
                    self.known,
                    zone=self.zone,
                    clock=self.clock,
                    timing=self.timing,
                )
            except KeyError as err:
                log.error("paired device %s is not usable: %s", device.address, err)
                continue
            self.keepers[device.address] = keeper
            self._tasks.append(asyncio.create_task(keeper.run(stop), name=keeper.label))
            log.info("reaching %s", keeper.label)

    async def _drain(self, stop: asyncio.Event) -> None:
        while not stop.is_set():
            sent = await asyncio.to_thread(self.publisher.drain_once)
            if sent >= self.publisher.batch:
                continue  # a full batch (a republish after a reconnect, a backlog): more at once
            if await stopped_within(stop, self.settings.drain_every_s):
                return

    async def _status(self, stop: asyncio.Event) -> None:
        while not await stopped_within(stop, self.settings.status_every_s):
            self._start_keepers(stop)
            self._warn_if_filling()
            await asyncio.to_thread(self.publisher.publish_status)

    def _warn_if_filling(self) -> None:
        """Log the outbox warning, at most every :data:`WARN_EVERY_S` seconds."""
        warning = self.outbox.warning()
        if warning is None:
            self._warned_at = None
            return
        now = asyncio.get_running_loop().time()
        if self._warned_at is None or now - self._warned_at >= WARN_EVERY_S:
            log.warning("%s", warning[1])
            self._warned_at = now
