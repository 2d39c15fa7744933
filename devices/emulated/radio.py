"""The emulated air: one bumble ``LocalLink`` that emulated peripherals and hub adapters share.

Every emulated peripheral (:mod:`devices.emulated.peripherals`) and every hub-side adapter (one
per :class:`~devices.emulated.bleak_backend.BumbleClientBackend` connection or scanner) is a
bumble ``Device`` with its own emulated ``Controller`` on the radio's link, so bytes go through
real HCI, L2CAP, ATT and GATT code in this process. An :class:`EmulatedRadio` needs a running
event loop: create it inside ``asyncio.run`` (or a running loop) and stop it before the loop
ends.

How the bleak backend finds a radio, first match wins: the ``details`` of a ``BLEDevice`` that
the emulated scanner returned, the ``radio=`` keyword given to ``BleakClient`` /
``BleakScanner``, then the module default set with :func:`set_default_radio` (for code such as
the gateway that builds its own ``BleakClient`` and only lets you choose the backend class).
"""

from __future__ import annotations

import asyncio
import itertools
import logging
from collections.abc import Iterator
from contextlib import contextmanager
from types import TracebackType
from typing import TYPE_CHECKING, Self, TypeVar

from bumble.controller import Controller
from bumble.core import BaseBumbleError
from bumble.device import Device
from bumble.hci import Address, HCI_ErrorCode
from bumble.host import Host
from bumble.link import LocalLink
from bumble.transport.common import AsyncPipeSink

if TYPE_CHECKING:
    from devices.emulated.peripherals import EmulatedDevice

logger = logging.getLogger(__name__)

_D = TypeVar("_D", bound="EmulatedDevice")

#: Peripheral addresses are random static addresses C0:DE:00:00:xx:xx (top two bits set).
_PERIPHERAL_PREFIX = "C0:DE:00:00"
#: Hub adapters (centrals) get D0:AB:00:00:xx:xx.
_CENTRAL_PREFIX = "D0:AB:00:00"


#: How long to wait for the emulated controller to confirm a disconnection (it takes ms).
_DISCONNECT_TIMEOUT = 2.0


def _address(prefix: str, number: int) -> str:
    return f"{prefix}:{number >> 8 & 0xFF:02X}:{number & 0xFF:02X}"


class EmulatedRadio:
    """An in-process Bluetooth LE link with the emulated devices on it.

    Use it as an async context manager (or call :meth:`stop` yourself)::

        async with EmulatedRadio() as radio:
            cuff = await radio.add(BloodPressureCuff())
            async with BleakClient(cuff.address, backend=BumbleClientBackend, radio=radio) as c:
                ...
    """

    def __init__(self, first_number: int = 1) -> None:
        """``first_number``: the number in the first peripheral's address (C0:DE:00:00:00:01 by
        default); radios standing in for different homes take different ranges, so no two
        devices of a population share an address (reading ids are derived from it)."""
        if not 1 <= first_number <= 0xFFFF:
            raise ValueError(f"first_number must be 1…65535, not {first_number}")
        self.link = LocalLink()  # type: ignore[no-untyped-call]  # bumble: unannotated __init__
        self._devices: dict[str, EmulatedDevice] = {}
        self._centrals: dict[Device, Controller] = {}
        self._slots: dict[str, asyncio.Lock] = {}
        self._peripheral_numbers = itertools.count(first_number)
        self._central_numbers = itertools.count(1)
        self._stopped = False

    async def __aenter__(self) -> Self:
        return self

    async def __aexit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        await self.stop()

    # ------------------------------------------------------------------ peripherals

    async def add(self, device: _D) -> _D:
        """Put ``device`` on the air: it gets an address, powers on and starts advertising."""
        if self._stopped:
            raise RuntimeError("this EmulatedRadio was stopped; create a new one")
        address = _address(_PERIPHERAL_PREFIX, next(self._peripheral_numbers))
        await device.attach(self, address)
        self._devices[address] = device
        return device

    def find(self, address: str) -> EmulatedDevice | None:
        """The device at ``address`` (any case), or ``None``."""
        return self._devices.get(address.upper())

    @property
    def devices(self) -> list[EmulatedDevice]:
        """The emulated peripherals on this radio, in the order they were added."""
        return list(self._devices.values())

    @property
    def addresses(self) -> list[str]:
        """Their Bluetooth addresses ("C0:DE:00:00:00:01"), in the order they were added."""
        return list(self._devices)

    # ------------------------------------------------------------------ hub adapters

    def hub_slot(self, address: str) -> asyncio.Lock:
        """Held by the hub adapter connected (or connecting) to ``address``.

        A real device takes one hub at a time: it stops advertising once connected, so a
        second hub's connect waits until the first lets go, or times out.
        """
        return self._slots.setdefault(address.upper(), asyncio.Lock())

    async def open_central(self) -> Device:
        """A new powered-on hub adapter (bumble central ``Device``) on this link.

        The bleak backend opens one per connection and per scan, and closes it after, so a
        connection attempt that timed out never leaves a half-open adapter behind.
        """
        if self._stopped:
            raise RuntimeError("this EmulatedRadio was stopped; create a new one")
        address = _address(_CENTRAL_PREFIX, next(self._central_numbers))
        central, controller = await power_on(self.link, "DHO hub", address)
        self._centrals[central] = controller
        return central

    async def close_central(self, central: Device) -> None:
        """End ``central``'s links, power it off and take its controller off the link."""
        controller = self._centrals.pop(central, None)
        if controller is not None:
            await power_off(self.link, central, controller)

    # ------------------------------------------------------------------ life cycle

    async def stop(self) -> None:
        """Power every adapter and device off; the radio cannot be used after."""
        if self._stopped:
            return
        self._stopped = True
        for central in list(self._centrals):
            await self.close_central(central)
        for device in self._devices.values():
            await device.detach()


async def power_on(link: LocalLink, name: str, address: str) -> tuple[Device, Controller]:
    """A bumble ``Device`` named ``name`` at random static ``address`` with its own emulated
    controller on ``link``, powered on."""
    controller = Controller(f"{name} {address}", link=link)
    device = Device(
        name=name, address=Address(address), host=Host(controller, AsyncPipeSink(controller))
    )
    await device.power_on()
    return device, controller


async def power_off(
    link: LocalLink,
    device: Device,
    controller: Controller,
    reason: int = HCI_ErrorCode.REMOTE_USER_TERMINATED_CONNECTION_ERROR,
) -> None:
    """End ``device``'s links (the other side sees ``reason``), power it off and take its
    controller off ``link``."""
    for connection in list(device.connections.values()):
        try:
            await asyncio.wait_for(connection.disconnect(reason), _DISCONNECT_TIMEOUT)
        except (TimeoutError, BaseBumbleError) as err:
            logger.debug("could not end link %s cleanly: %r", connection, err)
    await device.power_off()
    if controller in link.controllers:
        link.remove_controller(controller)


_default_radio: EmulatedRadio | None = None


def set_default_radio(radio: EmulatedRadio | None) -> EmulatedRadio | None:
    """Make ``radio`` the one the bleak backend uses when given none; returns the previous."""
    global _default_radio  # the documented module default
    previous, _default_radio = _default_radio, radio
    return previous


def get_default_radio() -> EmulatedRadio | None:
    """The radio set with :func:`set_default_radio`, if any."""
    return _default_radio


@contextmanager
def default_radio(radio: EmulatedRadio) -> Iterator[EmulatedRadio]:
    """``with default_radio(radio):`` — :func:`set_default_radio` for a block, then restore."""
    previous = set_default_radio(radio)
    try:
        yield radio
    finally:
        set_default_radio(previous)
