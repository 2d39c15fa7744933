"""Emulated Bluetooth LE health devices: bumble GATT peripherals that behave like real ones.

Each device advertises its profile's service UUID and a local name, serves the profile's GATT
service plus Device Information (0x180A) and, when it has a clock, Current Time (0x2A2B, which
the hub may write to set the clock), and sends values encoded by
``devices.characteristics.<module>`` encoders, so ``devices.decode`` reads them back.

Behaviours seen in real devices (research notes, "Bluetooth health devices"):

* cuffs and scales keep readings taken while nobody listened in ``stored``, push them right
  after the hub enables indications and then end the link (thermometers and oximeters do the
  same but stay connected by default; ``disconnect_after_push``);
* a device whose clock was never set cannot time its readings (no time stamp, Date Time year
  0 for a glucose base time, the "clock not set" flag for an oximeter) until the hub writes
  Current Time;
* cuffs that set reserved flag bits (``reserved_flags=0xE0``).

Faults on demand (:class:`Faults`): refuse connections, drop the link after k records of a
transfer, cut values short.

A device is created free-standing and put on the air with ``await radio.add(device)``
(:class:`~devices.emulated.radio.EmulatedRadio`).
"""

from __future__ import annotations

import asyncio
import logging
import time
from collections.abc import Callable, Coroutine, Iterable
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import TYPE_CHECKING, Any, ClassVar, Generic, TypedDict, TypeVar, Unpack

from bumble import core as bumble_core
from bumble import gatt
from bumble.att import ATT_Error, AttributeValue
from bumble.core import AdvertisingData, BaseBumbleError
from bumble.device import Connection, Device
from bumble.hci import HCI_ErrorCode

from devices.characteristics import (
    blood_pressure,
    current_time,
    glucose,
    heart_rate,
    plx,
    racp,
    temperature,
    weight,
)
from devices.characteristics.blood_pressure import BloodPressureMeasurement
from devices.characteristics.glucose import GlucoseMeasurement, GlucoseMeasurementContext
from devices.characteristics.heart_rate import HeartRateMeasurement
from devices.characteristics.plx import PlxContinuousMeasurement, PlxSpotCheckMeasurement
from devices.characteristics.racp import (
    OpCode,
    Operator,
    RacpNumberOfRecords,
    RacpRequest,
    RacpResponseCode,
    ResponseCode,
)
from devices.characteristics.temperature import TemperatureMeasurement
from devices.characteristics.weight import (
    HeightResolution,
    WeightMeasurement,
    WeightResolution,
    WeightScaleFeature,
)
from devices.emulated.radio import power_off, power_on
from devices.errors import DecodeError
from devices.measurement import Measurement

if TYPE_CHECKING:
    from bumble.controller import Controller

    from devices.emulated.radio import EmulatedRadio

logger = logging.getLogger(__name__)

M = TypeVar("M", bound=Measurement)

#: Advertising interval (ms). Real devices use 20 ms–1 s; short keeps tests fast.
ADVERTISING_INTERVAL_MS = 20
#: Legacy advertising data holds 31 bytes: flags (3) + one 16-bit service UUID (4) + name.
MAX_NAME_BYTES = 31 - 3 - 4 - 2

# ATT error codes a profile may answer with (Core Vol 3 Part F §3.4.1.1; CSS Part B §1.2).
ATT_INVALID_ATTRIBUTE_VALUE_LENGTH = 0x0D
ATT_WRITE_NOT_PERMITTED = 0x03
CTS_DATA_FIELD_IGNORED = 0x80
CCCD_IMPROPERLY_CONFIGURED = 0xFD
PROCEDURE_ALREADY_IN_PROGRESS = 0xFE

CURRENT_TIME = 0x2A2B
CURRENT_TIME_SERVICE = 0x1805
DEVICE_INFORMATION_SERVICE = 0x180A
MANUFACTURER_NAME = 0x2A29
MODEL_NUMBER = 0x2A24
SERIAL_NUMBER = 0x2A25

_READ = gatt.Characteristic.Properties.READ
_WRITE = gatt.Characteristic.Properties.WRITE
_NOTIFY = gatt.Characteristic.Properties.NOTIFY
_INDICATE = gatt.Characteristic.Properties.INDICATE


@dataclass
class Faults:
    """Misbehaviour on demand; each setting holds until it is changed.

    ``refuse_connections``: the device accepts the link and ends it at once (reason 0x0D,
    limited resources), as a device busy with another hub or waiting for bonding does; the
    bleak client's ``connect`` raises ``BleakError``.
    ``drop_link_after_records``: in a transfer of stored records (a push after indications are
    enabled, or an RACP report) the link is lost (reason 0x08, supervision timeout) right after
    the k-th record, before the rest and before any RACP response.
    ``truncate_values_to``: measurement values are cut to this many bytes.
    """

    refuse_connections: bool = False
    drop_link_after_records: int | None = None
    truncate_values_to: int | None = None


class DeviceOptions(TypedDict, total=False):
    """Keyword options every emulated device takes (see :class:`EmulatedDevice`)."""

    manufacturer: str
    model: str
    serial_number: str
    clock: datetime | None
    clock_settable: bool
    faults: Faults
    monotonic: Callable[[], float]


def _uuid(short: int) -> bumble_core.UUID:
    return bumble_core.UUID.from_16_bits(short)


def _time_written(value: bytes) -> current_time.CurrentTime:
    """The Current Time the hub wrote; ATT errors for what a device refuses (CTS §3.1)."""
    if len(value) < current_time.SIZE:
        raise ATT_Error(ATT_INVALID_ATTRIBUTE_VALUE_LENGTH)
    try:
        written = current_time.decode(value)
    except DecodeError as err:
        raise ATT_Error(CTS_DATA_FIELD_IGNORED) from err
    if written.date_time is None:
        raise ATT_Error(CTS_DATA_FIELD_IGNORED)
    return written


class EmulatedDevice:
    """Base of the emulated devices: GATT server, advertising, clock, link and faults.

    ``clock`` is the device's time now (``None``: never set, the factory state); it runs on
    ``monotonic`` from there. ``clock_settable`` makes Current Time (0x2A2B) writable.
    """

    SERVICE_UUID: ClassVar[int]
    DEFAULT_NAME: ClassVar[str]
    DEFAULT_MODEL: ClassVar[str]
    #: Whether the device keeps time (serves Current Time 0x2A2B and stamps its readings).
    HAS_CLOCK: ClassVar[bool] = True

    def __init__(self, name: str | None = None, **options: Unpack[DeviceOptions]) -> None:
        self.name = name or self.DEFAULT_NAME
        if len(self.name.encode()) > MAX_NAME_BYTES:
            raise ValueError(f"local name {self.name!r} is over {MAX_NAME_BYTES} bytes")
        self.manufacturer = options.get("manufacturer", "DHO Emulated Devices")
        self.model = options.get("model", self.DEFAULT_MODEL)
        self.serial_number = options.get("serial_number", "0001")
        self.clock_settable = options.get("clock_settable", True)
        self.faults = options.get("faults") or Faults()
        self._monotonic = options.get("monotonic", time.monotonic)
        self._clock_base: datetime | None = None
        self._clock_set_at = 0.0
        self._adjust_reason = 0
        self.set_clock(options.get("clock"))

        self._radio: EmulatedRadio | None = None
        self._address: str | None = None
        self._bumble: Device | None = None
        self._controller: Controller | None = None
        self._connection: Connection | None = None
        self._in_range = True
        # CCCD state of the connected hub, by characteristic value handle: (notify, indicate).
        self._subscriptions: dict[int, tuple[bool, bool]] = {}
        self._tasks: set[asyncio.Task[None]] = set()
        self._disconnected = asyncio.Event()
        self._advertising_lock = asyncio.Lock()

    def __repr__(self) -> str:
        return f"<{type(self).__name__} {self.name!r} at {self._address or 'no radio'}>"

    # ------------------------------------------------------------------ identity and state

    @property
    def address(self) -> str:
        """The Bluetooth address the radio gave this device ("C0:DE:00:00:00:01")."""
        if self._address is None:
            raise RuntimeError(f"{self!r} is not on a radio: await radio.add(device) first")
        return self._address

    @property
    def is_connected(self) -> bool:
        """Whether a hub is connected now."""
        return self._connection is not None

    @property
    def is_advertising(self) -> bool:
        """Whether a scan would find the device now (on a radio, in range, not connected)."""
        return self._bumble is not None and self._in_range and self._connection is None

    async def wait_until_disconnected(self, timeout: float = 5.0) -> None:
        """Return once no hub is connected (at once if none is); ``TimeoutError`` after
        ``timeout`` seconds."""
        if self._connection is None:
            return
        await asyncio.wait_for(self._disconnected.wait(), timeout)

    # ------------------------------------------------------------------ clock

    def now(self) -> datetime | None:
        """The device's own time (whole seconds), ``None`` while its clock was never set."""
        if self._clock_base is None or not self.HAS_CLOCK:
            return None
        elapsed = int(self._monotonic() - self._clock_set_at)
        return self._clock_base + timedelta(seconds=elapsed)

    def set_clock(self, value: datetime | None) -> None:
        """Set the device's clock (``None``: unset, as out of the box or after a battery swap)."""
        self._clock_base = None if value is None else value.replace(microsecond=0, tzinfo=None)
        self._clock_set_at = self._monotonic()

    def _stamped(self, m: M) -> M:
        """``m`` with the device's time when it came without one and the clock is set."""
        if "timestamp" in type(m).model_fields and getattr(m, "timestamp", None) is None:
            now = self.now()
            if now is not None:
                return m.model_copy(update={"timestamp": now})
        return m

    # ------------------------------------------------------------------ radio life cycle

    async def attach(self, radio: EmulatedRadio, address: str) -> None:
        """Power on at ``address`` on ``radio``'s link and advertise (called by ``radio.add``)."""
        if self._bumble is not None:
            raise RuntimeError(f"{self!r} is already on a radio")
        self._radio, self._address = radio, address
        self._bumble, self._controller = await power_on(radio.link, self.name, address)
        self._bumble.add_services([*self._profile_services(), *self._common_services()])
        self._bumble.on(Device.EVENT_CONNECTION, self._on_connection)
        await self._advertise()

    async def detach(self) -> None:
        """Power off (the hub sees the link lost); the radio does this when it stops."""
        self._in_range = False
        await self.disconnect(HCI_ErrorCode.CONNECTION_TIMEOUT_ERROR)
        # With the link gone every task ends by itself; cancel only what hangs.
        _done, pending = await asyncio.wait(self._tasks, timeout=1.0) if self._tasks else ((), ())
        for task in pending:
            task.cancel()
        if self._bumble is not None and self._controller is not None and self._radio:
            await power_off(self._radio.link, self._bumble, self._controller)
        self._bumble = self._controller = None

    async def disconnect(
        self, reason: int = HCI_ErrorCode.REMOTE_USER_TERMINATED_CONNECTION_ERROR
    ) -> None:
        """End the link from the device's side (as a cuff does after sending its readings)."""
        connection = self._connection
        if connection is None:
            return
        try:
            await connection.disconnect(reason)
        except BaseBumbleError as err:  # already gone: nothing left to end
            logger.debug("%r: disconnect: %r", self, err)

    async def move_out_of_range(self) -> None:
        """Stop advertising and lose any link (supervision timeout), like a device carried
        away or switched off: a hub's connect then times out."""
        self._in_range = False
        async with self._advertising_lock:
            if self._bumble is not None:
                await self._bumble.stop_advertising()
        await self.disconnect(HCI_ErrorCode.CONNECTION_TIMEOUT_ERROR)

    async def move_into_range(self) -> None:
        """Advertise again after :meth:`move_out_of_range`."""
        self._in_range = True
        if self._connection is None:
            await self._advertise()

    def _advertising_data(self) -> bytes:
        return bytes(
            AdvertisingData(
                [
                    (AdvertisingData.Type.FLAGS, bytes((0x06,))),  # LE general, no BR/EDR
                    (
                        AdvertisingData.Type.COMPLETE_LIST_OF_16_BIT_SERVICE_CLASS_UUIDS,
                        self.SERVICE_UUID.to_bytes(2, "little"),
                    ),
                    (AdvertisingData.Type.COMPLETE_LOCAL_NAME, self.name.encode()),
                ]
            )
        )

    async def _advertise(self) -> None:
        async with self._advertising_lock:  # one HCI advertising sequence at a time
            if self._bumble is None or not self._in_range or self._connection is not None:
                return
            await self._bumble.start_advertising(
                advertising_data=self._advertising_data(),
                advertising_interval_min=ADVERTISING_INTERVAL_MS,
                advertising_interval_max=ADVERTISING_INTERVAL_MS,
            )

    # ------------------------------------------------------------------ links

    def _on_connection(self, connection: Connection) -> None:
        if self.faults.refuse_connections:
            logger.debug("%r refuses the connection from %s", self, connection.peer_address)
            connection.on(Connection.EVENT_DISCONNECTION, lambda _reason: self._readvertise())
            self._spawn(
                connection.disconnect(
                    HCI_ErrorCode.CONNECTION_REJECTED_DUE_TO_LIMITED_RESOURCES_ERROR
                ),
                "refuse connection",
            )
            return
        self._connection = connection
        self._subscriptions = {}
        self._disconnected.clear()
        connection.on(
            Connection.EVENT_DISCONNECTION,
            lambda reason: self._on_disconnection(connection, reason),
        )

    def _on_disconnection(self, connection: Connection, reason: int) -> None:
        logger.debug("%r: link to %s ended, reason %#04x", self, connection.peer_address, reason)
        if self._connection is connection:
            self._connection = None
            self._subscriptions = {}
            # Tasks still sending see the link gone (``_send`` returns False) and end; they
            # are not cancelled, as cancelling one inside a bumble HCI command breaks the host.
            self._disconnected.set()
        self._readvertise()

    def _readvertise(self) -> None:
        if self._bumble is not None and self._in_range:
            self._spawn(self._advertise(), "advertise")

    def _spawn(self, coroutine: Coroutine[Any, Any, None], what: str) -> None:
        """Run ``coroutine`` as a task of this device (awaited when it leaves the radio)."""
        task = asyncio.get_running_loop().create_task(coroutine, name=f"{self.name}: {what}")
        self._tasks.add(task)
        task.add_done_callback(self._task_done)

    def _task_done(self, task: asyncio.Task[None]) -> None:
        self._tasks.discard(task)
        if not task.cancelled() and (error := task.exception()) is not None:
            logger.error("%r: %s failed", self, task.get_name(), exc_info=error)

    # ------------------------------------------------------------------ GATT

    def _profile_services(self) -> list[gatt.Service]:
        """The profile's own GATT service(s)."""
        raise NotImplementedError

    def _common_services(self) -> list[gatt.Service]:
        """Device Information, and Current Time when the device keeps time."""
        services = [
            gatt.Service(
                _uuid(DEVICE_INFORMATION_SERVICE),
                [
                    self._characteristic(MANUFACTURER_NAME, _READ, self.manufacturer.encode()),
                    self._characteristic(MODEL_NUMBER, _READ, self.model.encode()),
                    self._characteristic(SERIAL_NUMBER, _READ, self.serial_number.encode()),
                ],
            )
        ]
        if self.HAS_CLOCK:
            properties = _READ | _NOTIFY | (_WRITE if self.clock_settable else 0)
            current_time = gatt.Characteristic[bytes](
                _uuid(CURRENT_TIME),
                gatt.Characteristic.Properties(properties),
                gatt.Characteristic.READABLE | gatt.Characteristic.WRITEABLE,
                AttributeValue[bytes](read=self._read_current_time, write=self._write_current_time),
            )
            services.append(gatt.Service(_uuid(CURRENT_TIME_SERVICE), [current_time]))
        return services

    def _characteristic(
        self, short: int, properties: int, value: bytes = b""
    ) -> gatt.Characteristic[bytes]:
        characteristic = gatt.Characteristic[bytes](
            _uuid(short),
            gatt.Characteristic.Properties(properties),
            gatt.Characteristic.READABLE,
            value,
        )
        if properties & (_NOTIFY | _INDICATE):
            characteristic.on(
                gatt.Characteristic.EVENT_SUBSCRIPTION,
                lambda bearer, notify, indicate: self._on_cccd(
                    characteristic, bearer, notify, indicate
                ),
            )
        return characteristic

    def _read_current_time(self, _connection: Connection | None) -> bytes:
        now = self.now()
        if now is None:  # never set: the date is unknown (all zero)
            return current_time.encode_current_time(
                current_time.CurrentTime(
                    date_time=None, day_of_week=0, fractions256=0, adjust_reason=0
                )
            )
        return current_time.encode(now, self._adjust_reason)

    def _write_current_time(self, _connection: Connection | None, value: bytes) -> None:
        if not self.clock_settable:
            raise ATT_Error(ATT_WRITE_NOT_PERMITTED)
        written = _time_written(value)
        self.set_clock(written.date_time)
        self._adjust_reason = written.adjust_reason

    def _on_cccd(
        self, characteristic: gatt.Characteristic[bytes], bearer: object, notify: bool, ind: bool
    ) -> None:
        if bearer is not self._connection:
            return
        self._subscriptions[characteristic.handle] = (notify, ind)
        self._on_subscription(characteristic, notify, ind)

    def _on_subscription(
        self, characteristic: gatt.Characteristic[bytes], notify: bool, indicate: bool
    ) -> None:
        """Hook: the hub changed its notifications/indications for ``characteristic``."""

    def _faulty(self, value: bytes) -> bytes:
        cut = self.faults.truncate_values_to
        return value if cut is None else value[:cut]

    async def _send(
        self, characteristic: gatt.Characteristic[bytes], value: bytes, *, faulty: bool = True
    ) -> bool:
        """Indicate (and wait for the hub's confirmation) or notify ``value``, whichever the hub
        enabled; ``False`` when nobody listens or the link ended first."""
        connection = self._connection
        if connection is None or self._bumble is None:
            return False
        notify, indicate = self._subscriptions.get(characteristic.handle, (False, False))
        if not (notify or indicate):
            return False
        if faulty:
            value = self._faulty(value)
        try:
            if indicate and characteristic.properties & _INDICATE:
                await connection.cancel_on_disconnection(
                    self._bumble.indicate_subscriber(connection, characteristic, value)
                )
            else:
                await self._bumble.notify_subscriber(connection, characteristic, value)
                await connection.cancel_on_disconnection(connection.drain())
        except asyncio.CancelledError:
            task = asyncio.current_task()
            if task is not None and task.cancelling():
                raise  # this task itself is being cancelled
            return False  # the link ended under the send
        return self._connection is connection

    async def _end_transfer_early(self, sent: int) -> bool:
        """Apply ``faults.drop_link_after_records`` after ``sent`` records: lose the link and
        say so."""
        limit = self.faults.drop_link_after_records
        if limit is None or sent < limit:
            return False
        logger.debug("%r drops the link after %d records (fault)", self, sent)
        await self.disconnect(HCI_ErrorCode.CONNECTION_TIMEOUT_ERROR)
        return True


class StoringDevice(EmulatedDevice, Generic[M]):
    """A device that indicates each reading and keeps the ones nobody received.

    ``await device.measure(m)`` takes a reading: sent at once when a hub listens, otherwise
    kept in :attr:`stored`. When a hub enables indications the stored readings are pushed
    (``push_stored``), each removed once confirmed, then the device ends the link
    (``disconnect_after_push``) if it pushed any. ``reserved_flags`` sets reserved flag bits
    in every value, as some vendors' devices do.
    """

    PUSH_STORED: ClassVar[bool] = True
    DISCONNECT_AFTER_PUSH: ClassVar[bool] = True

    def __init__(
        self,
        name: str | None = None,
        *,
        stored: Iterable[M] = (),
        push_stored: bool | None = None,
        disconnect_after_push: bool | None = None,
        reserved_flags: int = 0,
        **options: Unpack[DeviceOptions],
    ) -> None:
        super().__init__(name, **options)
        self.stored: list[M] = list(stored)
        self.push_stored = self.PUSH_STORED if push_stored is None else push_stored
        self.disconnect_after_push = (
            self.DISCONNECT_AFTER_PUSH if disconnect_after_push is None else disconnect_after_push
        )
        self.reserved_flags = reserved_flags
        self._pushing = False
        self._measurement_characteristic: gatt.Characteristic[bytes] | None = None

    def encode(self, m: M) -> bytes:
        """The bytes this device sends for ``m``."""
        raise NotImplementedError

    def _prepared(self, m: M) -> M:
        """The reading as the device records it (stamped with its clock when untimed)."""
        return self._stamped(m)

    def _measurement(self) -> gatt.Characteristic[bytes]:
        if self._measurement_characteristic is None:
            raise RuntimeError(f"{self!r} is not on a radio")
        return self._measurement_characteristic

    async def measure(self, m: M) -> M:
        """Take reading ``m`` (stamped with the device clock if it has no time): indicate it
        to a listening hub, or store it. Returns the reading as the device holds it."""
        m = self._prepared(m)
        value = self.encode(m)  # a reading the device cannot encode fails here, not later
        if self._measurement_characteristic is not None and await self._send(
            self._measurement_characteristic, value
        ):
            return m
        self.stored.append(m)
        return m

    def _on_subscription(
        self, characteristic: gatt.Characteristic[bytes], notify: bool, indicate: bool
    ) -> None:
        if (
            characteristic is self._measurement_characteristic
            and (notify or indicate)
            and self.push_stored
            and self.stored
            and not self._pushing
        ):
            self._spawn(self._push_stored(), "push stored readings")

    async def _push_stored(self) -> None:
        self._pushing = True
        try:
            sent = 0
            while self.stored:
                reading = self.stored[0]
                if not await self._send(self._measurement(), self.encode(reading)):
                    return  # link gone: the rest stay stored
                self.stored.remove(reading)
                sent += 1
                if await self._end_transfer_early(sent):
                    return
            if sent and self.disconnect_after_push:
                await self.disconnect()
        finally:
            self._pushing = False


class BloodPressureCuff(StoringDevice[BloodPressureMeasurement]):
    """Blood Pressure service 0x1810: Measurement 0x2A35 (indicate), Feature 0x2A49 (read)."""

    SERVICE_UUID = 0x1810
    DEFAULT_NAME = "BP Cuff"
    DEFAULT_MODEL = "EMU-BP1"

    def encode(self, m: BloodPressureMeasurement) -> bytes:
        return blood_pressure.encode(m, extra_flags=self.reserved_flags)

    def _profile_services(self) -> list[gatt.Service]:
        self._measurement_characteristic = self._characteristic(blood_pressure.UUID, _INDICATE)
        feature = self._characteristic(0x2A49, _READ, bytes(2))  # no optional features
        return [gatt.Service(_uuid(self.SERVICE_UUID), [self._measurement_characteristic, feature])]


class Thermometer(StoringDevice[TemperatureMeasurement]):
    """Health Thermometer service 0x1809: Temperature Measurement 0x2A1C (indicate)."""

    SERVICE_UUID = 0x1809
    DEFAULT_NAME = "Thermometer"
    DEFAULT_MODEL = "EMU-TH1"
    DISCONNECT_AFTER_PUSH = False

    def encode(self, m: TemperatureMeasurement) -> bytes:
        return temperature.encode(m, extra_flags=self.reserved_flags)

    def _profile_services(self) -> list[gatt.Service]:
        self._measurement_characteristic = self._characteristic(temperature.UUID, _INDICATE)
        return [gatt.Service(_uuid(self.SERVICE_UUID), [self._measurement_characteristic])]


class PulseOximeter(StoringDevice[PlxSpotCheckMeasurement]):
    """Pulse Oximeter service 0x1822: Spot-Check 0x2A5E (indicate; :meth:`measure`),
    Continuous 0x2A5F (notify; :meth:`stream`), PLX Features 0x2A60 (read)."""

    SERVICE_UUID = 0x1822
    DEFAULT_NAME = "Oximeter"
    DEFAULT_MODEL = "EMU-OX1"
    DISCONNECT_AFTER_PUSH = False

    def encode(self, m: PlxSpotCheckMeasurement) -> bytes:
        return plx.encode_spot_check(m, extra_flags=self.reserved_flags)

    def _prepared(self, m: PlxSpotCheckMeasurement) -> PlxSpotCheckMeasurement:
        """Stamped as by any device, and an oximeter whose clock is unset says so (bit 4)."""
        if m.timestamp is None and self.now() is None:
            return m.model_copy(update={"device_clock_not_set": True})
        return self._stamped(m)

    async def stream(self, m: PlxContinuousMeasurement) -> bool:
        """Notify one continuous sample; ``False`` when no hub listens (the sample is gone)."""
        return await self._send(self._continuous, plx.encode_continuous(m))

    def _profile_services(self) -> list[gatt.Service]:
        self._measurement_characteristic = self._characteristic(plx.SPOT_CHECK_UUID, _INDICATE)
        self._continuous = self._characteristic(plx.CONTINUOUS_UUID, _NOTIFY)
        # PLX Features: supported features (uint16) = spot-check and continuous, nothing optional.
        features = self._characteristic(0x2A60, _READ, bytes(2))
        return [
            gatt.Service(
                _uuid(self.SERVICE_UUID),
                [self._measurement_characteristic, self._continuous, features],
            )
        ]


class WeightScale(StoringDevice[WeightMeasurement]):
    """Weight Scale service 0x181D: Weight Measurement 0x2A9D (indicate), Weight Scale Feature
    0x2A9E (read; ``feature``)."""

    SERVICE_UUID = 0x181D
    DEFAULT_NAME = "Scale"
    DEFAULT_MODEL = "EMU-WS1"

    def __init__(
        self,
        name: str | None = None,
        *,
        feature: WeightScaleFeature | None = None,
        stored: Iterable[WeightMeasurement] = (),
        push_stored: bool | None = None,
        disconnect_after_push: bool | None = None,
        reserved_flags: int = 0,
        **options: Unpack[DeviceOptions],
    ) -> None:
        super().__init__(
            name,
            stored=stored,
            push_stored=push_stored,
            disconnect_after_push=disconnect_after_push,
            reserved_flags=reserved_flags,
            **options,
        )
        self.feature = feature or WeightScaleFeature(
            timestamp_supported=True,
            multiple_users_supported=False,
            bmi_supported=False,
            weight_resolution=WeightResolution.KG_0_05_OR_LB_0_1,
            height_resolution=HeightResolution.NOT_SPECIFIED,
        )

    def encode(self, m: WeightMeasurement) -> bytes:
        return weight.encode_measurement(m, extra_flags=self.reserved_flags)

    def _profile_services(self) -> list[gatt.Service]:
        self._measurement_characteristic = self._characteristic(weight.MEASUREMENT_UUID, _INDICATE)
        feature = self._characteristic(
            weight.FEATURE_UUID, _READ, weight.encode_feature(self.feature)
        )
        return [gatt.Service(_uuid(self.SERVICE_UUID), [self._measurement_characteristic, feature])]


class HeartRateStrap(EmulatedDevice):
    """Heart Rate service 0x180D: Heart Rate Measurement 0x2A37 (notify), Body Sensor Location
    0x2A38 (read: chest). No clock; samples nobody listens to are gone."""

    SERVICE_UUID = 0x180D
    DEFAULT_NAME = "HR Strap"
    DEFAULT_MODEL = "EMU-HR1"
    HAS_CLOCK = False

    async def measure(self, m: HeartRateMeasurement) -> bool:
        """Notify one sample; ``False`` when no hub listens."""
        return await self._send(self._measurement, heart_rate.encode(m))

    def _profile_services(self) -> list[gatt.Service]:
        self._measurement = self._characteristic(heart_rate.UUID, _NOTIFY)
        location = self._characteristic(0x2A38, _READ, bytes((1,)))  # 1 = chest
        return [gatt.Service(_uuid(self.SERVICE_UUID), [self._measurement, location])]


@dataclass(frozen=True)
class GlucoseRecord:
    """One stored record of a meter: the measurement and, if taken, its context."""

    measurement: GlucoseMeasurement
    context: GlucoseMeasurementContext | None = None

    @property
    def sequence_number(self) -> int:
        return self.measurement.sequence_number


class GlucoseMeter(EmulatedDevice):
    """Glucose service 0x1808: Measurement 0x2A18 and Context 0x2A34 (notify), Feature 0x2A51
    (read), Record Access Control Point 0x2A52 (write, indicate).

    Records stay in :attr:`records` (the meter's memory) and are sent only when the hub asks
    through the RACP: report stored records, report number of stored records, delete stored
    records, abort; operators all, first, last, and ≤ / ≥ / within range of a sequence number
    (user facing time answers "operand not supported"). Each report ends with a response-code
    indication; a request while one runs gets ATT error 0xFE, a request before the hub enabled
    RACP indications ATT error 0xFD, as the Glucose Profile specifies.
    """

    SERVICE_UUID = 0x1808
    DEFAULT_NAME = "Glucose Meter"
    DEFAULT_MODEL = "EMU-GL1"

    def __init__(
        self,
        name: str | None = None,
        *,
        records: Iterable[GlucoseRecord] = (),
        first_sequence_number: int = 1,
        **options: Unpack[DeviceOptions],
    ) -> None:
        super().__init__(name, **options)
        self.records: list[GlucoseRecord] = sorted(records, key=lambda r: r.sequence_number)
        self._next_sequence_number = max(
            [first_sequence_number, *(r.sequence_number + 1 for r in self.records)]
        )
        self._procedure: asyncio.Task[None] | None = None

    async def measure(
        self, m: GlucoseMeasurement, context: GlucoseMeasurementContext | None = None
    ) -> GlucoseRecord:
        """Store a reading as the meter does: it gets the next sequence number (``m``'s is
        replaced) and, when it has no base time, the meter's clock (unknown while unset)."""
        number = self._next_sequence_number
        self._next_sequence_number = (number + 1) & 0xFFFF
        base_time = m.base_time if m.base_time is not None else self.now()
        fields = m.model_dump(exclude={"timestamp"})
        fields.update(
            sequence_number=number, base_time=base_time, context_follows=context is not None
        )
        record = GlucoseRecord(
            GlucoseMeasurement.model_validate(fields),
            None if context is None else context.model_copy(update={"sequence_number": number}),
        )
        self.records.append(record)
        return record

    def _profile_services(self) -> list[gatt.Service]:
        self._measurement = self._characteristic(glucose.UUID_MEASUREMENT, _NOTIFY)
        self._context = self._characteristic(glucose.UUID_CONTEXT, _NOTIFY)
        feature = self._characteristic(0x2A51, _READ, bytes(2))  # no optional features
        self._racp = gatt.Characteristic[bytes](
            _uuid(racp.UUID),
            gatt.Characteristic.Properties(_WRITE | _INDICATE),
            gatt.Characteristic.WRITEABLE,
            AttributeValue[bytes](write=self._racp_written),
        )
        self._racp.on(
            gatt.Characteristic.EVENT_SUBSCRIPTION,
            lambda bearer, notify, indicate: self._on_cccd(self._racp, bearer, notify, indicate),
        )
        return [
            gatt.Service(
                _uuid(self.SERVICE_UUID), [self._measurement, self._context, feature, self._racp]
            )
        ]

    # ------------------------------------------------------------------ RACP

    def _racp_written(self, _connection: Connection | None, value: bytes) -> None:
        if not self._subscriptions.get(self._racp.handle, (False, False))[1]:
            raise ATT_Error(CCCD_IMPROPERLY_CONFIGURED)
        try:
            request: RacpRequest | None = racp.decode_request(value)
        except DecodeError:
            if not value:
                raise ATT_Error(ATT_INVALID_ATTRIBUTE_VALUE_LENGTH) from None
            request = None
        running = self._procedure is not None and not self._procedure.done()
        if request is not None and request.opcode == OpCode.ABORT_OPERATION:
            if running and self._procedure is not None:
                self._procedure.cancel()
        elif running:
            raise ATT_Error(PROCEDURE_ALREADY_IN_PROGRESS)
        procedure = (
            self._respond(value[0], ResponseCode.INVALID_OPERAND)
            if request is None
            else self._run(request)
        )
        self._procedure = asyncio.get_running_loop().create_task(
            procedure, name=f"{self.name}: RACP"
        )
        self._tasks.add(self._procedure)
        self._procedure.add_done_callback(self._task_done)

    async def _respond(self, request_opcode: int, code: ResponseCode) -> None:
        response = RacpResponseCode(request_opcode=request_opcode, response_code=code)
        await self._send(self._racp, racp.encode_response(response), faulty=False)

    def _select(self, request: RacpRequest) -> list[GlucoseRecord] | ResponseCode:
        records, operator = self.records, request.operator
        if operator == Operator.NULL:
            return ResponseCode.INVALID_OPERATOR
        if operator == Operator.ALL_RECORDS:
            return list(records)
        if operator == Operator.FIRST_RECORD:
            return records[:1]
        if operator == Operator.LAST_RECORD:
            return records[-1:]
        if operator not in racp.FILTER_OPERATORS:
            return ResponseCode.OPERATOR_NOT_SUPPORTED
        if request.filter_type != racp.FilterType.SEQUENCE_NUMBER:
            return ResponseCode.OPERAND_NOT_SUPPORTED
        low = 0 if request.minimum is None else request.minimum
        high = 0xFFFF if request.maximum is None else request.maximum
        if low > high:
            return ResponseCode.INVALID_OPERAND
        return [r for r in records if low <= r.sequence_number <= high]

    async def _run(self, request: RacpRequest) -> None:
        opcode = request.opcode
        if opcode == OpCode.ABORT_OPERATION:
            code = (
                ResponseCode.SUCCESS
                if request.operator == Operator.NULL
                else (ResponseCode.INVALID_OPERATOR)
            )
            await self._respond(opcode, code)
            return
        if opcode not in racp.RECORD_OP_CODES:
            await self._respond(opcode, ResponseCode.OP_CODE_NOT_SUPPORTED)
            return
        selected = self._select(request)
        if isinstance(selected, ResponseCode):
            await self._respond(opcode, selected)
        elif opcode == OpCode.REPORT_NUMBER_OF_STORED_RECORDS:
            count = RacpNumberOfRecords(number_of_records=len(selected))
            await self._send(self._racp, racp.encode_response(count), faulty=False)
        elif not selected:
            await self._respond(opcode, ResponseCode.NO_RECORDS_FOUND)
        elif opcode == OpCode.DELETE_STORED_RECORDS:
            self.records = [r for r in self.records if r not in selected]
            await self._respond(opcode, ResponseCode.SUCCESS)
        else:
            await self._report(selected)

    async def _report(self, selected: list[GlucoseRecord]) -> None:
        for sent, record in enumerate(selected, start=1):
            if not await self._send(
                self._measurement, glucose.encode_measurement(record.measurement)
            ):
                return
            if record.context is not None and not await self._send(
                self._context, glucose.encode_context(record.context)
            ):
                return
            if await self._end_transfer_early(sent):
                return
        await self._respond(OpCode.REPORT_STORED_RECORDS, ResponseCode.SUCCESS)
