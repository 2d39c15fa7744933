"""Which Bluetooth the gateway uses: the machine's adapter through bleak, or emulated devices.

Everything past this point is the stock ``bleak`` API (``BleakScanner``, ``BleakClient``) and
``bleak-retry-connector``; only the backend classes and their options differ. The emulated
radio (``devices.emulated``) is for tests and the demo: the gateway code that runs against it
is the code that runs against a real adapter.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

from bleak import BleakClient, BleakScanner
from bleak.backends.client import BaseBleakClient
from bleak.backends.device import BLEDevice
from bleak.backends.scanner import AdvertisementData, BaseBleakScanner
from bleak_retry_connector import establish_connection

#: Connection attempts per try (bleak-retry-connector backs off between them).
CONNECT_ATTEMPTS = 3


@dataclass(frozen=True)
class BleRadio:
    """bleak backends and their options; the defaults are the platform's own Bluetooth."""

    client_backend: type[BaseBleakClient] | None = None
    scanner_backend: type[BaseBleakScanner] | None = None
    options: dict[str, Any] = field(default_factory=dict)

    def _scanner_kwargs(self) -> dict[str, Any]:
        return {"backend": self.scanner_backend, **self.options} if self.scanner_backend else {}

    async def discover(
        self, timeout: float, service_uuids: list[str]
    ) -> list[tuple[BLEDevice, AdvertisementData]]:
        """Every device advertising one of ``service_uuids`` within ``timeout`` seconds."""
        found = await BleakScanner.discover(
            timeout=timeout, return_adv=True, service_uuids=service_uuids, **self._scanner_kwargs()
        )
        return list(found.values())

    async def find(self, address: str, timeout: float) -> BLEDevice | None:
        """The device with ``address`` if it advertises within ``timeout`` seconds."""
        return await BleakScanner.find_device_by_address(
            address, timeout=timeout, **self._scanner_kwargs()
        )

    async def connect(
        self, device: BLEDevice, name: str, on_disconnect: Callable[[BleakClient], None]
    ) -> BleakClient:
        """A connected client (bleak-retry-connector's retries and back-off); its errors say
        what to try (``BleakNotFoundError``, ``BleakConnectionError``, ``BleakAbortedError``)."""
        kwargs = {"backend": self.client_backend, **self.options} if self.client_backend else {}
        return await establish_connection(
            BleakClient,
            device,
            name,
            disconnected_callback=on_disconnect,
            max_attempts=CONNECT_ATTEMPTS,
            **kwargs,
        )
