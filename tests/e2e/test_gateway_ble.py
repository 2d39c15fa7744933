"""The home gateway end to end: emulated Bluetooth devices, reached through the real
``bleak.BleakClient`` API, → decode → outbox → real Mosquitto → real triage ingest → database →
receipt → outbox pruned. Faults included; in every case each reading is stored exactly once."""

from __future__ import annotations

import asyncio
import sqlite3
from collections import Counter
from datetime import UTC, datetime, timedelta
from pathlib import Path
from zoneinfo import ZoneInfo

import pytest
from sqlalchemy.orm import Session, sessionmaker

from devices.characteristics.blood_pressure import BloodPressureMeasurement
from devices.characteristics.glucose import GlucoseMeasurement, GlucoseType, SampleLocation
from devices.characteristics.temperature import TemperatureMeasurement
from devices.emulated import (
    BloodPressureCuff,
    EmulatedRadio,
    Faults,
    GlucoseMeter,
    GlucoseRecord,
    Thermometer,
)
from gateway.recorder import Outcome
from tests.e2e.gateway_harness import gateway_settings, readings, running_hub, until
from tests.integration.conftest import start_ingest
from tests.integration.world import World
from tests.services import ServiceAddress
from triage.broker.credentials import gateway_credentials
from triage.broker.embedded import free_port, start_broker
from triage.config import Settings
from triage.domain.plan import Condition
from triage.ingest import BrokerAddress, IngestConsumer

pytestmark = pytest.mark.mosquitto
SQLITE = pytest.mark.parametrize("engine", ["sqlite"], indirect=True)
OSLO = ZoneInfo("Europe/Oslo")


def local_now(minutes_ago: float = 0) -> datetime:
    """The hub's wall-clock time (naive, as a device shows it)."""
    return (datetime.now(OSLO) - timedelta(minutes=minutes_ago)).replace(tzinfo=None, microsecond=0)


def bp(
    systolic: float, diastolic: float, pulse: float, minutes_ago: float
) -> BloodPressureMeasurement:
    return BloodPressureMeasurement(
        systolic=systolic,
        diastolic=diastolic,
        mean_arterial_pressure=None,
        unit="mmHg",
        timestamp=local_now(minutes_ago),
        pulse_rate=pulse,
    )


def glucose_record(mmol: float, number: int) -> GlucoseRecord:
    """A record the meter took while its clock was unset (no base time)."""
    return GlucoseRecord(
        GlucoseMeasurement(
            sequence_number=number,
            concentration=mmol / 1000,
            unit="mol/L",
            type=GlucoseType.CAPILLARY_PLASMA,
            sample_location=SampleLocation.FINGER,
        )
    )


def values_of(rows: list, kind: str) -> list[dict[str, float]]:  # type: ignore[type-arg]
    return [row.values for row in rows if row.kind == kind]


def test_readings_from_each_kind_of_device_reach_the_database_once_and_leave_the_outbox(
    tmp_path: Path,
    world: World,
    sessions: sessionmaker[Session],
    mosquitto_address: ServiceAddress,
    prefix: str,
    service: IngestConsumer,
) -> None:
    """A cuff's memory, a meter's stored records (clock unset until the hub sets it) and a live
    temperature all arrive, in canonical units, each once, and the outbox empties."""
    gateway_id = world.patients[Condition.COPD].gateway_id

    async def scenario() -> None:
        async with EmulatedRadio() as radio:
            cuff = await radio.add(
                BloodPressureCuff(
                    "DHO-EMU-BP",
                    stored=[bp(141, 92, 77, 90), bp(128, 84, 70, 30)],
                    reserved_flags=0xE0,
                )
            )
            meter = await radio.add(
                GlucoseMeter(
                    "DHO-EMU-GLU",
                    records=[glucose_record(5.4, 1), glucose_record(7.9, 2)],
                    clock=None,
                )
            )
            thermometer = await radio.add(Thermometer("DHO-EMU-TH", clock=local_now()))
            settings = gateway_settings(tmp_path, gateway_id, mosquitto_address, prefix)
            async with running_hub(settings, radio, [cuff, meter, thermometer]) as running:
                assert await until(lambda: len(readings(sessions)) == 4), readings(sessions)
                assert meter.now() is not None, "the hub did not set the meter's clock"
                # a reading taken now, with the clock set, is timed by the meter itself
                await meter.measure(glucose_record(6.1, 0).measurement)
                assert await until(lambda: thermometer.is_connected)
                known = running.hub.known
                before = known.get(thermometer.address)
                await thermometer.measure(
                    TemperatureMeasurement(temperature=38.4, unit="C", timestamp=None)
                )
                assert await until(lambda: len(readings(sessions)) == 6)
                # seen at its measurement while it stays connected (the tablet shows this)
                assert thermometer.is_connected
                after = known.get(thermometer.address)
                assert before is not None
                assert after is not None
                assert after.last_seen_at is not None
                assert before.last_seen_at is None or after.last_seen_at > before.last_seen_at
                assert await until(lambda: running.hub.outbox.depth() == 0)

    asyncio.run(scenario())
    rows = readings(sessions)
    assert Counter(row.kind for row in rows) == {
        "blood_pressure": 2,
        "glucose": 3,
        "body_temperature": 1,
    }
    assert values_of(rows, "blood_pressure") == [
        {"systolic": 141.0, "diastolic": 92.0, "pulse": 77.0},
        {"systolic": 128.0, "diastolic": 84.0, "pulse": 70.0},
    ]
    assert values_of(rows, "body_temperature") == [{"temperature": 38.4}]
    glucose = [row for row in rows if row.kind == "glucose"]
    assert sorted(row.values["glucose"] for row in glucose) == [5.4, 6.1, 7.9]
    by_number = {row.device["sequence_number"]: row for row in glucose}
    # stored while the clock was unset: timed by the hub, and the reading says so
    assert by_number[1].device["time_source"] == "gateway"
    assert by_number[1].device["clock"] == "unset"
    assert "timed_by_gateway" in by_number[1].flags
    # measured after the hub set the clock: the meter's own time
    assert "time_source" not in by_number[3].device
    assert "timed_by_gateway" not in by_number[3].flags
    cuff_times = [row.measured_at for row in rows if row.kind == "blood_pressure"]
    assert cuff_times[1] - cuff_times[0] == timedelta(minutes=60)


def no_reading_twice(rows: list) -> None:  # type: ignore[type-arg]
    """No two rows are the same measurement (the same kind, time and values)."""
    keys = Counter((row.kind, row.measured_at, tuple(sorted(row.values.items()))) for row in rows)
    assert [key for key, n in keys.items() if n > 1] == []


@SQLITE
def test_a_link_lost_mid_download_resumes_after_the_last_record_kept(
    tmp_path: Path,
    world: World,
    sessions: sessionmaker[Session],
    mosquitto_address: ServiceAddress,
    prefix: str,
    service: IngestConsumer,
) -> None:
    """The meter and the cuff drop the link after every second record; the hub reconnects and
    each download continues where it stopped: every record once, none missing."""
    gateway_id = world.patients[Condition.DIABETES].gateway_id
    drop = Faults(drop_link_after_records=2)

    async def scenario() -> None:
        async with EmulatedRadio() as radio:
            meter = await radio.add(
                GlucoseMeter(
                    "DHO-EMU-GLU",
                    records=[glucose_record(5.0 + n / 10, n) for n in range(1, 8)],
                    clock=None,
                    faults=drop,
                )
            )
            cuff = await radio.add(
                BloodPressureCuff(
                    "DHO-EMU-BP",
                    stored=[bp(130 + n, 80 + n, 70, 100 - 10 * n) for n in range(5)],
                    faults=drop,
                )
            )
            settings = gateway_settings(tmp_path, gateway_id, mosquitto_address, prefix)
            async with running_hub(settings, radio, [meter, cuff]) as running:
                assert await until(lambda: len(readings(sessions)) == 12), len(readings(sessions))
                assert await until(lambda: running.hub.outbox.depth() == 0)
                meter_keeper = running.hub.keepers[meter.address]
                assert meter_keeper.sessions >= 4  # 7 records, 2 per link
                assert running.hub.known.get(meter.address).last_sequence_number == 7  # type: ignore[union-attr]
                assert cuff.stored == []

    asyncio.run(scenario())
    rows = readings(sessions)
    glucose = sorted(row.device["sequence_number"] for row in rows if row.kind == "glucose")
    assert glucose == [1, 2, 3, 4, 5, 6, 7]
    assert sorted(v["systolic"] for v in values_of(rows, "blood_pressure")) == [
        130.0,
        131.0,
        132.0,
        133.0,
        134.0,
    ]
    no_reading_twice(rows)


@SQLITE
def test_the_same_reading_sent_twice_is_stored_once(
    tmp_path: Path,
    world: World,
    sessions: sessionmaker[Session],
    mosquitto_address: ServiceAddress,
    prefix: str,
    service: IngestConsumer,
) -> None:
    """A cuff that re-sends a reading from its memory, and a meter asked again for records the
    hub already has (its download position lost), give one row per measurement."""
    gateway_id = world.patients[Condition.HYPERTENSION].gateway_id
    reading = bp(152, 96, 81, 20)

    async def scenario() -> None:
        async with EmulatedRadio() as radio:
            cuff = await radio.add(BloodPressureCuff("DHO-EMU-BP", stored=[reading, reading]))
            meter = await radio.add(
                GlucoseMeter("DHO-EMU-GLU", records=[glucose_record(6.6, 1)], clock=None)
            )
            settings = gateway_settings(tmp_path, gateway_id, mosquitto_address, prefix)
            async with running_hub(settings, radio, [cuff, meter]) as running:
                assert await until(lambda: len(readings(sessions)) == 2)
                assert await until(lambda: running.hub.outbox.depth() == 0)
                # the hub forgets how far it downloaded: the meter sends record 1 again
                running.hub.known.restart_download(meter.address)
                sessions_before = running.hub.keepers[meter.address].sessions
                assert await until(
                    lambda: running.hub.keepers[meter.address].sessions > sessions_before + 1
                )
                assert await until(lambda: running.hub.outbox.depth() == 0)
                counts = running.hub.recorder.counts
                assert counts[Outcome.KEPT] + counts[Outcome.ALREADY_KEPT] == 4  # 2 + 2 sent

    asyncio.run(scenario())
    rows = readings(sessions)
    assert len(rows) == 2
    no_reading_twice(rows)


@SQLITE
def test_readings_taken_while_the_broker_restarts_arrive_once(
    tmp_path: Path, world: World, sessions: sessionmaker[Session]
) -> None:
    """A real Mosquitto (with persistence) stops while the patient measures and starts again:
    the gateway and the service reconnect by themselves, nothing is lost or doubled."""
    gateway_id = world.patients[Condition.HEART_FAILURE].gateway_id
    secret = world.patients[Condition.HEART_FAILURE].gateway_secret
    prefix = ""  # the test's own broker, with the ACL of every DHO broker
    broker_settings = Settings(data_dir=tmp_path / "broker", demo=True, broker_port=free_port())
    with sessions() as session:
        logins = gateway_credentials(session)
    url, broker = start_broker(broker_settings, logins)
    assert broker is not None
    address = BrokerAddress.from_url(url)
    consumer = start_ingest(sessions, address, prefix)

    async def scenario() -> None:
        nonlocal broker
        async with EmulatedRadio() as radio:
            cuff = await radio.add(BloodPressureCuff("DHO-EMU-BP", clock=local_now()))
            settings = gateway_settings(
                tmp_path / "gw",
                gateway_id,
                ServiceAddress(address.host, address.port),
                prefix,
                secret=secret,
            )
            async with running_hub(settings, radio, [cuff]) as running:
                assert await until(lambda: cuff.is_connected)
                await cuff.measure(bp(120, 80, 60, 0))
                assert await until(lambda: len(readings(sessions)) == 1)
                assert broker is not None
                await asyncio.to_thread(broker.stop)
                for n in range(3):
                    await cuff.measure(bp(121 + n, 81, 61, 0))
                assert await until(lambda: running.hub.outbox.depth() == 3)
                url_again, broker = await asyncio.to_thread(start_broker, broker_settings, logins)
                assert url_again == url
                assert await until(lambda: len(readings(sessions)) == 4, timeout=60)
                assert await until(lambda: running.hub.outbox.depth() == 0)

    try:
        asyncio.run(scenario())
    finally:
        consumer.stop(timeout=5)
        if broker is not None:
            broker.stop()
    rows = readings(sessions)
    assert sorted(v["systolic"] for v in values_of(rows, "blood_pressure")) == [
        120.0,
        121.0,
        122.0,
        123.0,
    ]
    no_reading_twice(rows)


@SQLITE
def test_an_hour_without_the_service_costs_nothing(
    tmp_path: Path,
    world: World,
    sessions: sessionmaker[Session],
    mosquitto_address: ServiceAddress,
    prefix: str,
) -> None:
    """The service is down for an hour (by the gateway's clock) while the patient measures; the
    gateway republishes with back-off, and when the service returns each reading is stored once
    and every copy is answered, so the outbox empties."""
    gateway_id = world.patients[Condition.COPD].gateway_id
    broker = BrokerAddress(mosquitto_address.host, mosquitto_address.port)
    consumer = start_ingest(sessions, broker, prefix)
    consumer.stop(timeout=5)  # down, its persistent session keeps what arrives
    skew = [timedelta(0)]

    async def scenario() -> IngestConsumer:
        async with EmulatedRadio() as radio:
            cuff = await radio.add(BloodPressureCuff("DHO-EMU-BP", clock=local_now()))
            settings = gateway_settings(tmp_path, gateway_id, mosquitto_address, prefix)
            async with running_hub(settings, radio, [cuff]) as running:
                running.hub.publisher.clock = lambda: datetime.now(UTC) + skew[0]
                assert await until(lambda: cuff.is_connected)
                for n in range(3):
                    await cuff.measure(bp(140 + n, 90, 70, 0))
                assert await until(lambda: running.hub.outbox.depth() == 3)
                outbox = running.hub.outbox
                for _ in range(12):  # an hour in five-minute steps: republished with back-off
                    skew[0] += timedelta(minutes=5)
                    assert await until(lambda: outbox.due(running.hub.publisher.clock()) == [])
                assert min_attempts(outbox.path) >= 7  # 5 s, 10 s, 20 s … doubling
                assert readings(sessions) == []
                back = await asyncio.to_thread(start_ingest, sessions, broker, prefix)
                assert await until(lambda: running.hub.outbox.depth() == 0)
                return back

    back = asyncio.run(scenario())
    back.stop(timeout=5)
    rows = readings(sessions)
    assert sorted(v["systolic"] for v in values_of(rows, "blood_pressure")) == [140.0, 141.0, 142.0]
    no_reading_twice(rows)


def min_attempts(outbox: Path) -> int:
    """The fewest publishes of any message in the outbox file."""
    with sqlite3.connect(outbox) as db:
        return int(db.execute("SELECT coalesce(min(attempts), 0) FROM outbox").fetchone()[0])


@SQLITE
def test_a_device_that_refuses_is_retried_with_the_reason_kept_for_the_operator(
    tmp_path: Path,
    world: World,
    sessions: sessionmaker[Session],
    mosquitto_address: ServiceAddress,
    prefix: str,
    service: IngestConsumer,
) -> None:
    """A cuff that drops every connection does not stop the gateway: the error (with
    bleak-retry-connector's advice) is the device's last error, and once the cuff behaves its
    reading arrives and the error is cleared."""
    gateway_id = world.patients[Condition.HYPERTENSION].gateway_id
    faults = Faults(refuse_connections=True)

    async def scenario() -> None:
        async with EmulatedRadio() as radio:
            cuff = await radio.add(
                BloodPressureCuff("DHO-EMU-BP", stored=[bp(150, 95, 80, 10)], faults=faults)
            )
            settings = gateway_settings(tmp_path, gateway_id, mosquitto_address, prefix)
            async with running_hub(settings, radio, [cuff]) as running:

                def last_error() -> str | None:
                    known = running.hub.known.get(cuff.address)
                    return None if known is None else known.last_error

                assert await until(lambda: last_error() is not None)
                assert "could not connect" in (last_error() or "")
                assert "Failed to connect after" in (last_error() or "")
                assert not running.task.done()
                faults.refuse_connections = False
                assert await until(lambda: len(readings(sessions)) == 1)
                assert await until(lambda: last_error() is None)

    asyncio.run(scenario())
