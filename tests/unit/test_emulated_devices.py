"""Emulated Bluetooth devices reached through the real ``bleak`` API (bumble backend).

Every test runs its own event loop (``asyncio.run``) with a fresh :class:`EmulatedRadio`, talks
to the devices only through ``bleak.BleakClient`` / ``bleak.BleakScanner`` with the emulated
backends, and checks the bytes with ``devices.decode``. Nothing sleeps: waits are on events or
queues, each with a deadline.
"""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable
from datetime import datetime
from typing import Any

import pytest
from bleak import BleakClient, BleakScanner
from bleak.backends.characteristic import BleakGATTCharacteristic
from bleak.exc import BleakDeviceNotFoundError, BleakError, BleakGATTProtocolError

import devices
from devices import DecodeError
from devices.characteristics import current_time, racp
from devices.characteristics.blood_pressure import BloodPressureMeasurement
from devices.characteristics.glucose import (
    GlucoseMeasurement,
    GlucoseMeasurementContext,
    GlucoseType,
    Meal,
    SampleLocation,
)
from devices.characteristics.heart_rate import HeartRateMeasurement
from devices.characteristics.plx import PlxContinuousMeasurement, PlxSpotCheckMeasurement
from devices.characteristics.racp import (
    OpCode,
    RacpNumberOfRecords,
    RacpResponseCode,
    ResponseCode,
)
from devices.characteristics.temperature import TemperatureMeasurement, TemperatureType
from devices.characteristics.weight import WeightMeasurement
from devices.emulated import (
    BloodPressureCuff,
    BumbleClientBackend,
    BumbleScannerBackend,
    EmulatedDevice,
    EmulatedRadio,
    GlucoseMeter,
    GlucoseRecord,
    HeartRateStrap,
    PulseOximeter,
    StoringDevice,
    Thermometer,
    WeightScale,
    default_radio,
    scan,
)
from devices.measurement import Measurement
from devices.uuids import full_uuid

#: Deadline for a whole scenario; each runs in well under a second.
SCENARIO_TIMEOUT = 10.0
#: Deadline for one awaited value or event.
WAIT = 2.0


def _t(year: int, month: int, day: int, hour: int = 0, minute: int = 0) -> datetime:
    """A naive device time."""
    # GATT Date Time has no zone; the gateway attaches the hub's.
    return datetime(year, month, day, hour, minute)  # noqa: DTZ001


READING = BloodPressureMeasurement(
    systolic=142,
    diastolic=91,
    mean_arterial_pressure=108,
    unit="mmHg",
    timestamp=_t(2024, 5, 1, 8, 30),
    pulse_rate=72,
    user_id=1,
    measurement_status=0,
)


def run(scenario: Callable[[EmulatedRadio], Awaitable[None]]) -> None:
    """Run ``scenario`` with a fresh radio in its own event loop, under a deadline."""

    async def main() -> None:
        async with EmulatedRadio() as radio:
            await asyncio.wait_for(scenario(radio), SCENARIO_TIMEOUT)

    asyncio.run(main())


class Inbox:
    """A ``start_notify`` callback that queues the values it gets."""

    def __init__(self) -> None:
        self.queue: asyncio.Queue[bytes] = asyncio.Queue()

    def __call__(self, _characteristic: BleakGATTCharacteristic, data: bytearray) -> None:
        self.queue.put_nowait(bytes(data))

    async def next(self) -> bytes:
        return await asyncio.wait_for(self.queue.get(), WAIT)

    def drained(self) -> list[bytes]:
        values = []
        while not self.queue.empty():
            values.append(self.queue.get_nowait())
        return values


def connect(
    device: EmulatedDevice, radio: EmulatedRadio, disconnected: asyncio.Event | None = None
) -> BleakClient:
    """A ``BleakClient`` for ``device`` over the emulated backend (not yet connected)."""

    def on_disconnect(_client: BleakClient) -> None:
        if disconnected is not None:
            disconnected.set()

    return BleakClient(device.address, on_disconnect, backend=BumbleClientBackend, radio=radio)


def uuid(short: int) -> str:
    return full_uuid(short)


# ---------------------------------------------------------------- scanning


def test_scan_finds_every_device_by_service_uuid_and_name() -> None:
    """A hub scanning the room sees each device's advertised service and name."""

    async def scenario(radio: EmulatedRadio) -> None:
        added: list[EmulatedDevice] = [
            await radio.add(BloodPressureCuff("Omron-ish M7")),
            await radio.add(PulseOximeter()),
            await radio.add(GlucoseMeter()),
            await radio.add(Thermometer()),
            await radio.add(WeightScale()),
            await radio.add(HeartRateStrap()),
        ]
        found = {device.address: adv for device, adv in await scan(radio)}
        assert found.keys() == {device.address for device in added}
        for device in added:
            assert found[device.address].local_name == device.name
            assert found[device.address].service_uuids == [uuid(device.SERVICE_UUID)]

        # The stock BleakScanner API, filtering on a service as the gateway does.
        with default_radio(radio):
            cuff = await BleakScanner.find_device_by_filter(
                lambda _d, ad: uuid(0x1810) in ad.service_uuids,
                timeout=WAIT,
                backend=BumbleScannerBackend,
                service_uuids=[uuid(0x1810)],
            )
        assert cuff is not None
        assert (cuff.address, cuff.name) == (added[0].address, "Omron-ish M7")

    run(scenario)


def test_a_device_found_by_scanning_connects_without_naming_the_radio() -> None:
    """The BLEDevice a scan returns is all a hub needs to connect."""

    async def scenario(radio: EmulatedRadio) -> None:
        scale = await radio.add(WeightScale())
        ((found, _adv),) = await scan(radio)
        async with BleakClient(found, backend=BumbleClientBackend) as client:
            assert client.is_connected
            assert client.name == scale.name
            assert await client.read_gatt_char(uuid(0x2A29)) == b"DHO Emulated Devices"
            assert await client.read_gatt_char(uuid(0x2A24)) == scale.model.encode()

    run(scenario)


# ---------------------------------------------------------------- measurements


def test_cuff_reading_arrives_and_decodes_to_the_same_reading() -> None:
    """A blood pressure taken while the hub listens arrives intact and at once."""

    async def scenario(radio: EmulatedRadio) -> None:
        cuff = await radio.add(BloodPressureCuff())
        inbox = Inbox()
        async with connect(cuff, radio) as client:
            assert client.mtu_size == 517
            measurement = client.services.get_characteristic(uuid(0x2A35))
            assert measurement is not None
            assert measurement.properties == ["indicate"]
            await client.start_notify(measurement, inbox)
            sent = await cuff.measure(READING)
            value = await inbox.next()
            assert devices.decode("2a35", value) == sent == READING
            assert cuff.stored == []

            await client.stop_notify(measurement)
            await cuff.measure(READING)  # nobody listens now: the cuff keeps it
            assert cuff.stored == [READING]
            assert inbox.drained() == []

    run(scenario)


def test_cuff_that_sets_reserved_flag_bits_decodes_the_same() -> None:
    """Readings from cuffs that set reserved flag bits are read as if they did not."""

    async def scenario(radio: EmulatedRadio) -> None:
        cuff = await radio.add(BloodPressureCuff(reserved_flags=0xE0))
        inbox = Inbox()
        async with connect(cuff, radio) as client:
            await client.start_notify(uuid(0x2A35), inbox)
            await cuff.measure(READING)
            value = await inbox.next()
        assert value[0] & 0xE0 == 0xE0
        assert devices.decode("2a35", value) == READING

    run(scenario)


def test_cuff_without_a_time_stamps_readings_with_its_clock() -> None:
    """A reading taken without a time carries the cuff's own clock time."""

    async def scenario(radio: EmulatedRadio) -> None:
        cuff = await radio.add(BloodPressureCuff(clock=_t(2024, 5, 1, 7), monotonic=lambda: 0.0))
        inbox = Inbox()
        async with connect(cuff, radio) as client:
            await client.start_notify(uuid(0x2A35), inbox)
            await cuff.measure(READING.model_copy(update={"timestamp": None}))
            decoded = devices.decode("2a35", await inbox.next())
        assert decoded == READING.model_copy(update={"timestamp": _t(2024, 5, 1, 7)})

    run(scenario)


@pytest.mark.parametrize(
    ("make", "characteristic", "reading"),
    [
        pytest.param(
            Thermometer,
            0x2A1C,
            TemperatureMeasurement(
                temperature=38.4,
                unit="C",
                timestamp=_t(2024, 5, 1, 9),
                temperature_type=TemperatureType.EAR,
            ),
            id="thermometer",
        ),
        pytest.param(
            PulseOximeter,
            0x2A5E,
            PlxSpotCheckMeasurement(spo2=93, pulse_rate=88, timestamp=_t(2024, 5, 1, 9, 5)),
            id="oximeter-spot-check",
        ),
        pytest.param(
            WeightScale,
            0x2A9D,
            WeightMeasurement(weight=81.35, unit="kg", timestamp=_t(2024, 5, 1, 7, 2)),
            id="scale",
        ),
    ],
)
def test_indicated_reading_arrives_and_decodes_to_the_same_reading(
    make: Callable[[], StoringDevice[Any]], characteristic: int, reading: Measurement
) -> None:
    """Thermometer, oximeter and scale readings taken while the hub listens arrive intact."""

    async def scenario(radio: EmulatedRadio) -> None:
        device = await radio.add(make())
        inbox = Inbox()
        async with connect(device, radio) as client:
            await client.start_notify(uuid(characteristic), inbox)
            sent = await device.measure(reading)
            assert devices.decode(characteristic, await inbox.next()) == sent == reading

    run(scenario)


def test_notified_samples_arrive_from_oximeter_and_heart_rate_strap() -> None:
    """Continuous SpO2 and heart-rate samples stream to a listening hub."""

    async def scenario(radio: EmulatedRadio) -> None:
        oximeter = await radio.add(PulseOximeter())
        strap = await radio.add(HeartRateStrap())
        sample = PlxContinuousMeasurement(spo2=95, pulse_rate=70, spo2_fast=94, pulse_rate_fast=71)
        beat = HeartRateMeasurement(heart_rate=64, sensor_contact=True, rr_intervals=[0.9375])
        assert not await strap.measure(beat)  # nobody listens: the sample is gone
        spo2, hr = Inbox(), Inbox()
        async with connect(oximeter, radio) as ox_client, connect(strap, radio) as hr_client:
            continuous = ox_client.services.get_characteristic(uuid(0x2A5F))
            assert continuous is not None
            assert continuous.properties == ["notify"]
            await ox_client.start_notify(continuous, spo2)
            await hr_client.start_notify(uuid(0x2A37), hr)
            assert await oximeter.stream(sample)
            assert await strap.measure(beat)
            assert devices.decode("2a5f", await spo2.next()) == sample
            assert devices.decode("2a37", await hr.next()) == beat

    run(scenario)


# ---------------------------------------------------------------- stored readings


def test_scale_pushes_stored_readings_when_indications_start_then_disconnects() -> None:
    """Weighings taken away from the hub arrive, oldest first, as soon as it listens."""

    async def scenario(radio: EmulatedRadio) -> None:
        weighings = [
            WeightMeasurement(weight=80.1, unit="kg", timestamp=_t(2024, 5, 1, 7)),
            WeightMeasurement(weight=79.9, unit="kg", timestamp=_t(2024, 5, 2, 7)),
        ]
        scale = await radio.add(WeightScale(stored=weighings))
        disconnected, inbox = asyncio.Event(), Inbox()
        async with connect(scale, radio, disconnected) as client:
            await client.start_notify(uuid(0x2A9D), inbox)
            received = [await inbox.next(), await inbox.next()]
            await asyncio.wait_for(disconnected.wait(), WAIT)
            assert not client.is_connected
        assert [devices.decode("2a9d", value) for value in received] == weighings
        assert scale.stored == []

    run(scenario)


def test_scale_feature_is_readable() -> None:
    """The hub can read what the scale supports (Weight Scale Feature)."""

    async def scenario(radio: EmulatedRadio) -> None:
        scale = await radio.add(WeightScale())
        async with connect(scale, radio) as client:
            value = await client.read_gatt_char(uuid(0x2A9E))
        assert devices.decode("2a9e", value) == scale.feature

    run(scenario)


# ---------------------------------------------------------------- glucose meter and RACP


def _glucose(mmol_per_l: float, base_time: datetime | None = None) -> GlucoseMeasurement:
    return GlucoseMeasurement(
        sequence_number=0,  # the meter numbers its records
        base_time=base_time,
        concentration=round(mmol_per_l / 1000, 6),
        unit="mol/L",
        type=GlucoseType.CAPILLARY_WHOLE_BLOOD,
        sample_location=SampleLocation.FINGER,
    )


def _glucose_record(value: bytes) -> GlucoseMeasurement:
    record = devices.decode("2a18", value)
    assert isinstance(record, GlucoseMeasurement)
    return record


class MeterSession:
    """A connected hub that listens to a meter's records and RACP responses."""

    def __init__(self, client: BleakClient) -> None:
        self.client = client
        self.measurements, self.contexts, self.responses = Inbox(), Inbox(), Inbox()

    async def listen(self) -> None:
        await self.client.start_notify(uuid(0x2A18), self.measurements)
        await self.client.start_notify(uuid(0x2A34), self.contexts)
        await self.client.start_notify(uuid(0x2A52), self.responses)

    async def ask(self, request: bytes) -> racp.RacpResponse:
        await self.client.write_gatt_char(uuid(0x2A52), request, response=True)
        response = devices.decode("2a52", await self.responses.next())
        assert isinstance(response, RacpNumberOfRecords | RacpResponseCode)
        return response

    def records(self) -> list[GlucoseMeasurement]:
        return [_glucose_record(value) for value in self.measurements.drained()]


async def _meter_with_records(radio: EmulatedRadio, count: int) -> GlucoseMeter:
    meter = await radio.add(GlucoseMeter(clock=_t(2024, 5, 1, 6), monotonic=lambda: 0.0))
    for n in range(count):
        await meter.measure(_glucose(5.0 + n / 10, _t(2024, 5, 1, 7 + n)))
    return meter


def test_meter_reports_only_records_newer_than_the_last_one_seen() -> None:
    """Asking for records ≥ n gets only the new ones, then a success response."""

    async def scenario(radio: EmulatedRadio) -> None:
        meter = await _meter_with_records(radio, 5)
        async with connect(meter, radio) as client:
            session = MeterSession(client)
            await session.listen()
            response = await session.ask(racp.report_records_from(4))
            records = session.records()
        assert response == RacpResponseCode(
            request_opcode=OpCode.REPORT_STORED_RECORDS, response_code=ResponseCode.SUCCESS
        )
        assert records == [r.measurement for r in meter.records[3:]]
        assert [r.sequence_number for r in meter.records] == [1, 2, 3, 4, 5]

    run(scenario)


def test_meter_sends_context_after_its_measurement() -> None:
    """A reading with meal information arrives with its context, same sequence number."""

    async def scenario(radio: EmulatedRadio) -> None:
        meter = await radio.add(GlucoseMeter(clock=_t(2024, 5, 1, 6), monotonic=lambda: 0.0))
        context = GlucoseMeasurementContext(sequence_number=0, meal=Meal.PREPRANDIAL)
        record = await meter.measure(_glucose(6.2), context)
        async with connect(meter, radio) as client:
            session = MeterSession(client)
            await session.listen()
            response = await session.ask(racp.report_all_records())
            (measurement,) = session.records()
            contexts = [devices.decode("2a34", v) for v in session.contexts.drained()]
        assert isinstance(response, RacpResponseCode)
        assert response.succeeded
        assert measurement == record.measurement
        assert measurement.context_follows
        assert contexts == [record.context]
        assert record.context == context.model_copy(update={"sequence_number": 1})

    run(scenario)


def test_meter_answers_how_many_records_it_holds() -> None:
    """The hub can ask how many records there are without fetching them."""

    async def scenario(radio: EmulatedRadio) -> None:
        meter = await _meter_with_records(radio, 3)
        async with connect(meter, radio) as client:
            session = MeterSession(client)
            await session.listen()
            assert await session.ask(racp.number_of_all_records()) == RacpNumberOfRecords(
                number_of_records=3
            )
            assert await session.ask(racp.number_of_records_from(3)) == RacpNumberOfRecords(
                number_of_records=1
            )
            assert session.records() == []

    run(scenario)


def test_meter_without_matching_records_answers_no_records_found() -> None:
    """Asking an empty meter for records gets response code 6, not silence."""

    async def scenario(radio: EmulatedRadio) -> None:
        meter = await radio.add(GlucoseMeter())
        async with connect(meter, radio) as client:
            session = MeterSession(client)
            await session.listen()
            response = await session.ask(racp.report_all_records())
        assert response == RacpResponseCode(
            request_opcode=OpCode.REPORT_STORED_RECORDS,
            response_code=ResponseCode.NO_RECORDS_FOUND,
        )
        assert response.response_code == 6

    run(scenario)


def test_meter_refuses_racp_before_the_hub_enables_indications() -> None:
    """A hub that forgot to enable RACP indications gets the profile's error, not a hang."""

    async def scenario(radio: EmulatedRadio) -> None:
        meter = await _meter_with_records(radio, 1)
        async with connect(meter, radio) as client:
            with pytest.raises(BleakGATTProtocolError) as raised:
                await client.write_gatt_char(uuid(0x2A52), racp.report_all_records(), response=True)
        assert raised.value.code == 0xFD  # Client Characteristic Configuration improperly set

    run(scenario)


def test_meter_clock_is_unset_until_the_hub_writes_current_time() -> None:
    """Readings from a meter with an unset clock have no time until the hub sets it."""

    async def scenario(radio: EmulatedRadio) -> None:
        meter = await radio.add(GlucoseMeter(monotonic=lambda: 0.0))
        before = await meter.measure(_glucose(5.5))
        hub_time = _t(2024, 5, 1, 12, 30)
        async with connect(meter, radio) as client:
            clock = devices.decode("2a2b", await client.read_gatt_char(uuid(0x2A2B)))
            assert clock == current_time.CurrentTime(
                date_time=None, day_of_week=0, fractions256=0, adjust_reason=0
            )
            await client.write_gatt_char(
                uuid(0x2A2B),
                current_time.encode(hub_time, current_time.AdjustReason.MANUAL_TIME_UPDATE),
                response=True,
            )
            clock = devices.decode("2a2b", await client.read_gatt_char(uuid(0x2A2B)))
            assert isinstance(clock, current_time.CurrentTime)
            assert clock.date_time == hub_time
            after = await meter.measure(_glucose(6.5))

            session = MeterSession(client)
            await session.listen()
            await session.ask(racp.report_all_records())
            first, second = session.records()
        assert before.measurement.base_time is None
        assert first.timestamp is None
        assert second.timestamp == hub_time == after.measurement.timestamp

    run(scenario)


# ---------------------------------------------------------------- links and faults


def test_refused_connection_raises_a_bleak_error() -> None:
    """A device that will not take the hub's connection makes connect fail, not hang."""

    async def scenario(radio: EmulatedRadio) -> None:
        cuff = await radio.add(BloodPressureCuff())
        cuff.faults.refuse_connections = True
        client = connect(cuff, radio)
        with pytest.raises(BleakError, match="BP Cuff"):
            await client.connect()
        assert not client.is_connected

        cuff.faults.refuse_connections = False  # the device advertises again and accepts
        await client.connect()
        assert client.is_connected
        await client.disconnect()

    run(scenario)


def test_device_out_of_range_times_out_and_unknown_address_is_not_found() -> None:
    """Connecting to a device that is away times out; to an unknown one fails at once."""

    async def scenario(radio: EmulatedRadio) -> None:
        cuff = await radio.add(BloodPressureCuff())
        await cuff.move_out_of_range()
        with pytest.raises(TimeoutError):
            await BleakClient(
                cuff.address, backend=BumbleClientBackend, radio=radio, timeout=0.2
            ).connect()
        await cuff.move_into_range()
        async with connect(cuff, radio) as client:
            assert client.is_connected

        with pytest.raises(BleakDeviceNotFoundError):
            await BleakClient(
                "C0:DE:00:00:99:99", backend=BumbleClientBackend, radio=radio
            ).connect()

    run(scenario)


def test_link_lost_mid_transfer_delivers_only_the_first_records() -> None:
    """When the link drops after k of n records the hub has exactly k and sees the drop."""

    async def scenario(radio: EmulatedRadio) -> None:
        meter = await _meter_with_records(radio, 5)
        meter.faults.drop_link_after_records = 2
        disconnected = asyncio.Event()
        async with connect(meter, radio, disconnected) as client:
            session = MeterSession(client)
            await session.listen()
            await client.write_gatt_char(uuid(0x2A52), racp.report_all_records(), response=True)
            await asyncio.wait_for(disconnected.wait(), WAIT)
            assert not client.is_connected
        assert session.records() == [r.measurement for r in meter.records[:2]]
        assert session.responses.drained() == []  # no "success": the hub must ask again

    run(scenario)


def test_cuff_keeps_readings_the_hub_did_not_confirm() -> None:
    """Readings cut off by a lost link stay on the cuff and come on the next connection."""

    async def scenario(radio: EmulatedRadio) -> None:
        readings = [READING.model_copy(update={"systolic": 120 + n}) for n in range(4)]
        cuff = await radio.add(BloodPressureCuff(stored=readings))
        cuff.faults.drop_link_after_records = 1
        first, second = Inbox(), Inbox()
        lost = asyncio.Event()
        async with connect(cuff, radio, lost) as client:
            await client.start_notify(uuid(0x2A35), first)
            await asyncio.wait_for(lost.wait(), WAIT)
        assert [devices.decode("2a35", v) for v in first.drained()] == readings[:1]
        assert cuff.stored == readings[1:]

        cuff.faults.drop_link_after_records = None
        done = asyncio.Event()
        async with connect(cuff, radio, done) as client:
            await client.start_notify(uuid(0x2A35), second)
            await asyncio.wait_for(done.wait(), WAIT)  # the cuff hangs up after its push
        assert [devices.decode("2a35", v) for v in second.drained()] == readings[1:]
        assert cuff.stored == []

    run(scenario)


def test_truncated_value_is_a_decode_error() -> None:
    """A value cut short on the air is rejected with a reason, never read as garbage."""

    async def scenario(radio: EmulatedRadio) -> None:
        cuff = await radio.add(BloodPressureCuff())
        cuff.faults.truncate_values_to = 5
        inbox = Inbox()
        async with connect(cuff, radio) as client:
            await client.start_notify(uuid(0x2A35), inbox)
            await cuff.measure(READING)
            value = await inbox.next()
        assert len(value) == 5
        with pytest.raises(DecodeError, match="truncated"):
            devices.decode("2a35", value)

    run(scenario)


def test_device_side_disconnect_calls_the_disconnected_callback() -> None:
    """When a device hangs up, the hub is told and can connect again."""

    async def scenario(radio: EmulatedRadio) -> None:
        strap = await radio.add(HeartRateStrap())
        disconnected = asyncio.Event()
        client = connect(strap, radio, disconnected)
        await client.connect()
        assert strap.is_connected
        await strap.disconnect()
        await asyncio.wait_for(disconnected.wait(), WAIT)
        assert not client.is_connected
        with pytest.raises(BleakError):  # bleak: "Service Discovery has not been performed"
            await client.read_gatt_char(uuid(0x2A38))
        await client.connect()
        assert await client.read_gatt_char(uuid(0x2A38)) == b"\x01"  # chest
        await client.disconnect()
        await strap.wait_until_disconnected()

    run(scenario)


def test_glucose_record_keeps_its_sequence_number() -> None:
    """Records preloaded into a meter keep their numbers; new ones continue after them."""

    async def scenario(radio: EmulatedRadio) -> None:
        old = GlucoseRecord(
            _glucose(7.0, _t(2024, 4, 30)).model_copy(update={"sequence_number": 41})
        )
        meter = await radio.add(GlucoseMeter(records=[old]))
        new = await meter.measure(_glucose(7.1, _t(2024, 5, 1)))
        assert new.sequence_number == 42
        async with connect(meter, radio) as client:
            session = MeterSession(client)
            await session.listen()
            await session.ask(racp.report_records_from(42))
            assert session.records() == [new.measurement]

    run(scenario)


def test_second_hub_waits_until_the_first_lets_go() -> None:
    """A device busy with one hub makes another wait (or time out), as a real one does."""

    async def scenario(radio: EmulatedRadio) -> None:
        cuff = await radio.add(BloodPressureCuff())
        first = connect(cuff, radio)
        await first.connect()
        with pytest.raises(TimeoutError):
            await BleakClient(
                cuff.address, backend=BumbleClientBackend, radio=radio, timeout=0.2
            ).connect()
        second = connect(cuff, radio)
        waiting = asyncio.create_task(second.connect())
        await first.disconnect()
        await asyncio.wait_for(waiting, WAIT)
        assert second.is_connected
        assert not first.is_connected
        await second.disconnect()

    run(scenario)


def test_oximeter_with_an_unset_clock_says_so() -> None:
    """A spot check from an oximeter whose clock was never set is flagged, not misdated."""

    async def scenario(radio: EmulatedRadio) -> None:
        oximeter = await radio.add(PulseOximeter())
        inbox = Inbox()
        async with connect(oximeter, radio) as client:
            await client.start_notify(uuid(0x2A5E), inbox)
            await oximeter.measure(PlxSpotCheckMeasurement(spo2=97, pulse_rate=61))
            decoded = devices.decode("2a5e", await inbox.next())
        assert decoded == PlxSpotCheckMeasurement(
            spo2=97, pulse_rate=61, timestamp=None, device_clock_not_set=True
        )

    run(scenario)
