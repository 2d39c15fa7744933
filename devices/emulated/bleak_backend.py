"""A bleak backend over bumble: the unmodified ``bleak`` API talking to emulated devices.

Client::

    client = BleakClient(address_or_ble_device, backend=BumbleClientBackend, radio=radio)

Scanner::

    async with BleakScanner(backend=BumbleScannerBackend, radio=radio) as scanner: ...
    found = await scan(radio)  # or: every advertising device, as (BLEDevice, AdvertisementData)

The radio comes from, first match wins: a ``BLEDevice`` the emulated scanner returned (its
``details``), the ``radio=`` keyword (bleak passes unknown keywords to the backend), the module
default (:func:`devices.emulated.radio.set_default_radio`). Each connection and each scan gets
its own emulated hub adapter on the radio's link, closed afterwards.

What the backend does as the BlueZ backend does: ``connect`` raises
``BleakDeviceNotFoundError`` for an address the radio does not know, ``TimeoutError`` when the
device does not answer in ``timeout`` seconds (out of range), ``BleakError`` when the device
ends the link while connecting; the ATT MTU is exchanged (517 asked) and every service,
characteristic and descriptor is discovered; ATT error responses raise
``BleakGATTProtocolError``; an operation cut by a lost link raises ``BleakError``;
``disconnected_callback`` runs when an established connection ends, from either side (not when
``connect`` itself fails). A device takes one hub at a time: a second ``connect`` waits for the
first to end, or times out. Pairing is not emulated: ``pair`` is accepted and does nothing.
``bleak_retry_connector.establish_connection(BleakClient, ble_device, name,
backend=BumbleClientBackend)`` works too (its retries included).
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Awaitable, Callable
from typing import Any, Literal, NamedTuple, TypeVar

from bleak.args import SizedBuffer
from bleak.assigned_numbers import CharacteristicPropertyName, gatt_char_props_to_strs
from bleak.backends.characteristic import BleakGATTCharacteristic
from bleak.backends.client import BaseBleakClient, NotifyCallback
from bleak.backends.descriptor import BleakGATTDescriptor
from bleak.backends.device import BLEDevice
from bleak.backends.scanner import AdvertisementData, AdvertisementDataCallback, BaseBleakScanner
from bleak.backends.service import BleakGATTService, BleakGATTServiceCollection
from bleak.exc import BleakDeviceNotFoundError, BleakError, BleakGATTProtocolError
from bleak.uuids import normalize_uuid_str
from bumble import core as bumble_core
from bumble.att import ATT_Error
from bumble.core import AdvertisingData
from bumble.device import Advertisement, Connection, Device, Peer
from bumble.gatt_client import CharacteristicProxy, DescriptorProxy, ServiceProxy
from bumble.hci import Address

from devices.emulated.radio import EmulatedRadio, get_default_radio

logger = logging.getLogger(__name__)

_T = TypeVar("_T")

#: The ATT MTU the hub asks for (what BlueZ asks for).
REQUESTED_MTU = 517


class EmulatedDeviceDetails(NamedTuple):
    """``BLEDevice.details`` of an emulated device: the radio it is on and its address."""

    radio: EmulatedRadio
    address: str


def _resolve_radio(
    address_or_ble_device: BLEDevice | str | None, radio: EmulatedRadio | None
) -> EmulatedRadio:
    if isinstance(address_or_ble_device, BLEDevice) and isinstance(
        address_or_ble_device.details, EmulatedDeviceDetails
    ):
        return address_or_ble_device.details.radio
    if radio is not None:
        return radio
    default = get_default_radio()
    if default is None:
        raise BleakError(
            "no emulated radio: pass radio=EmulatedRadio(...) to BleakClient/BleakScanner, or "
            "call devices.emulated.set_default_radio(radio) first"
        )
    return default


def bleak_uuid(uuid: bumble_core.UUID) -> str:
    """A bumble UUID as bleak spells it ("00002a35-0000-1000-8000-00805f9b34fb")."""
    return normalize_uuid_str(uuid.to_hex_str("-"))


def _is_cancelled() -> bool:
    task = asyncio.current_task()
    return task is not None and task.cancelling() > 0


class BumbleClientBackend(BaseBleakClient):
    """``BaseBleakClient`` over a bumble central on an :class:`EmulatedRadio`.

    Pass as ``BleakClient(..., backend=BumbleClientBackend, radio=radio)``; see the module
    docstring for how the radio is found and which errors are raised.
    """

    def __init__(
        self,
        address_or_ble_device: BLEDevice | str,
        *,
        disconnected_callback: Callable[[], None] | None,
        timeout: float,
        services: set[str] | None = None,
        radio: EmulatedRadio | None = None,
        **kwargs: Any,
    ) -> None:
        super().__init__(
            address_or_ble_device,
            disconnected_callback=disconnected_callback,
            timeout=timeout,
            **kwargs,
        )
        self.address = self.address.upper()
        self._device_or_address = address_or_ble_device
        self._radio_argument = radio
        self._requested_services = services
        self._name = (
            address_or_ble_device.name if isinstance(address_or_ble_device, BLEDevice) else None
        )
        self._radio: EmulatedRadio | None = None
        self._central: Device | None = None
        self._connection: Connection | None = None
        self._peer: Peer | None = None
        self._lost_reason: int | None = None
        self._closing: asyncio.Task[None] | None = None
        self._slot: asyncio.Lock | None = None
        self._subscribers: dict[int, Callable[[bytes], None]] = {}

    # ------------------------------------------------------------------ properties

    @property
    def name(self) -> str:
        """The advertised local name (the address with dashes when unknown, as bleak does)."""
        if self._name is None:
            device = self._radio.find(self.address) if self._radio else None
            return device.name if device else self.address.replace(":", "-")
        return self._name

    @property
    def mtu_size(self) -> int:
        """The negotiated ATT MTU (23 before the exchange)."""
        if self._peer is None:
            return 23
        return self._peer.gatt_client.mtu

    @property
    def is_connected(self) -> bool:
        return self._connection is not None

    # ------------------------------------------------------------------ connection

    async def connect(self, pair: bool, **kwargs: Any) -> None:
        """Connect, exchange the MTU and discover every service, characteristic, descriptor."""
        if self.is_connected:
            raise BleakError("Client is already connected")
        if pair:
            logger.debug("pairing is not emulated; connecting without it")
        radio = self._radio = _resolve_radio(self._device_or_address, self._radio_argument)
        target = radio.find(self.address)
        if target is None:
            raise BleakDeviceNotFoundError(
                self.address, f"Device with address {self.address} was not found."
            )
        self._name = self._name or target.name
        timeout: float = kwargs.get("timeout", self._timeout)
        central = self._central = await radio.open_central()
        try:
            try:
                async with asyncio.timeout(timeout):
                    # A device takes one hub at a time (it stops advertising once connected).
                    slot = radio.hub_slot(self.address)
                    await slot.acquire()
                    self._slot = slot
                    connection = await central.connect(Address(self.address), timeout=None)
            except TimeoutError as err:
                raise TimeoutError(
                    f"{target.name} ({self.address}) did not answer within {timeout} s: out "
                    "of range, switched off or connected to another hub"
                ) from err
            self._lost_reason = None
            connection.on(
                Connection.EVENT_DISCONNECTION,
                lambda reason: self._on_disconnection(connection, reason),
            )
            if central.lookup_connection(connection.handle) is not connection:
                raise BleakError(f"{target.name} ({self.address}) ended the link at once")
            self._connection = connection
            self._peer = Peer(connection)
            await self._gatt("exchanging the MTU", self._peer.request_mtu(REQUESTED_MTU))
            self.services = await self._discover(self._peer)
        except BaseException:
            await self._close_central()
            raise

    async def disconnect(self) -> None:
        """End the link (no-op when not connected) and close the hub adapter."""
        connection = self._connection
        if connection is not None:
            try:
                await connection.disconnect()
            except Exception as err:  # the link may already be gone: log why
                logger.debug("disconnect from %s: %r", self.address, err)
        await self._close_central()

    async def pair(self, *args: Any, **kwargs: Any) -> None:
        """Accepted and ignored: emulated devices need no bonding."""
        logger.debug("pairing is not emulated")

    async def unpair(self) -> None:
        """Accepted and ignored: emulated devices keep no bonds."""
        logger.debug("pairing is not emulated")

    def _on_disconnection(self, connection: Connection, reason: int) -> None:
        if self._connection is not None and self._connection is not connection:
            return
        was_connected = self.services is not None
        self._lost_reason = reason
        self._connection = None
        self._peer = None
        self.services = None
        self._subscribers.clear()
        self._release_slot()
        central, self._central = self._central, None
        if central is not None and self._radio is not None:
            # This runs inside bumble's event dispatch: close the adapter in a task.
            self._closing = asyncio.get_running_loop().create_task(
                self._radio.close_central(central)
            )
        if was_connected and self._disconnected_callback is not None:
            self._disconnected_callback()

    def _release_slot(self) -> None:
        slot, self._slot = self._slot, None
        if slot is not None:
            slot.release()

    async def _close_central(self) -> None:
        central, self._central = self._central, None
        self._connection = None
        self._peer = None
        self.services = None
        self._release_slot()
        if central is not None and self._radio is not None:
            await self._radio.close_central(central)
        closing, self._closing = self._closing, None
        if closing is not None:
            await closing

    async def _gatt(self, what: str, operation: Awaitable[_T]) -> _T:
        """Await a bumble GATT operation; map its failures to the errors bleak raises."""
        if self._connection is None:
            raise BleakError("Not connected")
        try:
            return await operation
        except asyncio.CancelledError:
            # bumble cancels a pending ATT request when the link ends under it.
            if _is_cancelled() or self._connection is not None:
                raise
            raise BleakError(
                f"{what}: {self.name} ({self.address}) disconnected "
                f"(reason {self._lost_reason:#04x})"
                if self._lost_reason is not None
                else f"{what}: {self.name} ({self.address}) disconnected"
            ) from None
        except ATT_Error as err:
            raise BleakGATTProtocolError(err.error_code) from err

    async def _discover(self, peer: Peer) -> BleakGATTServiceCollection:
        collection = BleakGATTServiceCollection()
        services: list[ServiceProxy] = await self._gatt(
            "discovering services", peer.discover_services()
        )
        mtu = self.mtu_size
        for service in services:
            uuid = bleak_uuid(service.uuid)
            if self._requested_services is not None and uuid not in self._requested_services:
                continue
            bleak_service = BleakGATTService(service, service.handle, uuid)
            collection.add_service(bleak_service)
            characteristics: list[CharacteristicProxy[bytes]] = await self._gatt(
                "discovering characteristics", service.discover_characteristics()
            )
            for characteristic in characteristics:
                properties: list[CharacteristicPropertyName] = sorted(
                    gatt_char_props_to_strs(int(characteristic.properties))
                )
                bleak_characteristic = BleakGATTCharacteristic(
                    characteristic,
                    characteristic.handle,
                    bleak_uuid(characteristic.uuid),
                    properties,
                    lambda: mtu - 3,
                    bleak_service,
                )
                collection.add_characteristic(bleak_characteristic)
                descriptors: list[DescriptorProxy] = await self._gatt(
                    "discovering descriptors", characteristic.discover_descriptors()
                )
                for descriptor in descriptors:
                    collection.add_descriptor(
                        BleakGATTDescriptor(
                            descriptor,
                            descriptor.handle,
                            bleak_uuid(descriptor.type),
                            bleak_characteristic,
                        )
                    )
        return collection

    # ------------------------------------------------------------------ I/O

    def _require_peer(self) -> Peer:
        if self._peer is None:
            raise BleakError("Not connected")
        return self._peer

    async def read_gatt_char(
        self,
        characteristic: BleakGATTCharacteristic,
        *,
        use_cached: bool = False,
        **kwargs: Any,
    ) -> bytearray:
        peer = self._require_peer()
        if use_cached and (cached := peer.gatt_client.cached_values.get(characteristic.handle)):
            return bytearray(cached[1])
        value = await self._gatt(
            f"reading {characteristic.uuid}", peer.read_value(characteristic.handle)
        )
        return bytearray(value)

    async def read_gatt_descriptor(
        self,
        descriptor: BleakGATTDescriptor,
        *,
        use_cached: bool = False,
        **kwargs: Any,
    ) -> bytearray:
        peer = self._require_peer()
        if use_cached and (cached := peer.gatt_client.cached_values.get(descriptor.handle)):
            return bytearray(cached[1])
        value = await self._gatt(
            f"reading descriptor {descriptor.uuid}", peer.read_value(descriptor.handle)
        )
        return bytearray(value)

    async def write_gatt_char(
        self, characteristic: BleakGATTCharacteristic, data: SizedBuffer, response: bool
    ) -> None:
        peer = self._require_peer()
        await self._gatt(
            f"writing {characteristic.uuid}",
            peer.write_value(characteristic.handle, bytes(data), with_response=response),
        )

    async def write_gatt_descriptor(
        self, descriptor: BleakGATTDescriptor, data: SizedBuffer
    ) -> None:
        peer = self._require_peer()
        await self._gatt(
            f"writing descriptor {descriptor.uuid}",
            peer.write_value(descriptor.handle, bytes(data), with_response=True),
        )

    async def start_notify(
        self,
        characteristic: BleakGATTCharacteristic,
        callback: NotifyCallback,
        **kwargs: Any,
    ) -> None:
        """Enable notifications (preferred when both are offered, as bleak does) or
        indications; ``callback`` gets each value as a ``bytearray``."""
        peer = self._require_peer()
        proxy: CharacteristicProxy[bytes] = characteristic.obj
        if not {"notify", "indicate"} & set(characteristic.properties):
            raise BleakError(f"characteristic {characteristic.uuid} cannot notify or indicate")

        def subscriber(value: bytes) -> None:
            callback(bytearray(value))

        self._subscribers[characteristic.handle] = subscriber
        await self._gatt(
            f"enabling notifications on {characteristic.uuid}",
            peer.subscribe(proxy, subscriber, prefer_notify=True),
        )

    async def stop_notify(self, characteristic: BleakGATTCharacteristic) -> None:
        peer = self._require_peer()
        proxy: CharacteristicProxy[bytes] = characteristic.obj
        subscriber = self._subscribers.pop(characteristic.handle, None)
        await self._gatt(
            f"disabling notifications on {characteristic.uuid}",
            peer.unsubscribe(proxy, subscriber),
        )


# ---------------------------------------------------------------------- scanner


def advertisement_data(advertisement: Advertisement) -> AdvertisementData:
    """bleak's ``AdvertisementData`` for a bumble advertisement."""
    data = advertisement.data
    uuids: list[str] = []
    for kind in (
        AdvertisingData.Type.COMPLETE_LIST_OF_16_BIT_SERVICE_CLASS_UUIDS,
        AdvertisingData.Type.INCOMPLETE_LIST_OF_16_BIT_SERVICE_CLASS_UUIDS,
        AdvertisingData.Type.COMPLETE_LIST_OF_128_BIT_SERVICE_CLASS_UUIDS,
        AdvertisingData.Type.INCOMPLETE_LIST_OF_128_BIT_SERVICE_CLASS_UUIDS,
    ):
        for group in data.get_all(kind):
            uuids.extend(bleak_uuid(uuid) for uuid in group)
    local_name = data.get(AdvertisingData.Type.COMPLETE_LOCAL_NAME) or data.get(
        AdvertisingData.Type.SHORTENED_LOCAL_NAME
    )
    manufacturer = dict(data.get_all(AdvertisingData.Type.MANUFACTURER_SPECIFIC_DATA))
    service_data = {
        bleak_uuid(uuid): value
        for uuid, value in data.get_all(AdvertisingData.Type.SERVICE_DATA_16_BIT_UUID)
    }
    tx_power = data.get(AdvertisingData.Type.TX_POWER_LEVEL)
    return AdvertisementData(
        local_name=local_name,
        manufacturer_data=manufacturer,
        service_data=service_data,
        service_uuids=list(dict.fromkeys(uuids)),  # the scan response repeats the data
        tx_power=tx_power,
        rssi=advertisement.rssi,
        platform_data=(advertisement,),
    )


class BumbleScannerBackend(BaseBleakScanner):
    """``BaseBleakScanner`` over a bumble central scanning an :class:`EmulatedRadio`.

    Pass as ``BleakScanner(..., backend=BumbleScannerBackend, radio=radio)``. Found devices are
    ``BLEDevice``s whose ``details`` is an :class:`EmulatedDeviceDetails`, so a ``BleakClient``
    given one finds the radio by itself.
    """

    def __init__(
        self,
        detection_callback: AdvertisementDataCallback | None,
        service_uuids: list[str] | None,
        scanning_mode: Literal["active", "passive"] = "active",
        *,
        radio: EmulatedRadio | None = None,
        **kwargs: Any,
    ) -> None:
        super().__init__(detection_callback, service_uuids)
        self._scanning_mode = scanning_mode
        self._radio_argument = radio
        self._radio: EmulatedRadio | None = None
        self._central: Device | None = None

    async def start(self) -> None:
        radio = self._radio = _resolve_radio(None, self._radio_argument)
        self.seen_devices = {}
        central = self._central = await radio.open_central()
        central.on(Device.EVENT_ADVERTISEMENT, self._on_advertisement)
        await central.start_scanning(active=self._scanning_mode == "active")

    async def stop(self) -> None:
        central, self._central = self._central, None
        if central is None or self._radio is None:
            return
        central.remove_listener(Device.EVENT_ADVERTISEMENT, self._on_advertisement)
        await central.stop_scanning()
        await self._radio.close_central(central)

    def _on_advertisement(self, advertisement: Advertisement) -> None:
        radio = self._radio
        if radio is None:
            return
        adv = advertisement_data(advertisement)
        if not self.is_allowed_uuid(adv.service_uuids):
            return
        address = advertisement.address.to_string(with_type_qualifier=False)
        device = self.create_or_update_device(
            address, address, adv.local_name, EmulatedDeviceDetails(radio, address), adv
        )
        self.call_detection_callbacks(device, adv)


async def scan(
    radio: EmulatedRadio,
    *,
    service_uuids: list[str] | None = None,
    timeout: float = 5.0,
) -> list[tuple[BLEDevice, AdvertisementData]]:
    """Scan until every advertising device on ``radio`` (matching ``service_uuids``) was seen,
    or ``timeout`` seconds passed; the ``(BLEDevice, AdvertisementData)`` pairs found.

    Devices out of range or connected to a hub do not advertise and are not waited for.
    """
    from bleak import BleakScanner

    expected = {
        device.address
        for device in radio.devices
        if device.is_advertising
        and (
            service_uuids is None
            or bleak_uuid(bumble_core.UUID.from_16_bits(device.SERVICE_UUID))
            in {normalize_uuid_str(u) for u in service_uuids}
        )
    }
    all_seen = asyncio.Event()
    found: dict[str, tuple[BLEDevice, AdvertisementData]] = {}

    def on_found(device: BLEDevice, adv: AdvertisementData) -> None:
        found[device.address] = (device, adv)
        if expected <= found.keys():
            all_seen.set()

    async with BleakScanner(on_found, service_uuids, backend=BumbleScannerBackend, radio=radio):
        if expected:
            try:
                await asyncio.wait_for(all_seen.wait(), timeout)
            except TimeoutError:
                logger.warning("scan: %d of %d devices seen", len(found), len(expected))
    return list(found.values())
