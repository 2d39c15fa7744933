"""The gateway's outbox drained through the real Mosquitto into the real triage service: each
reading stored once, the outbox pruned only by receipts, a rejected one kept with its reason."""

from __future__ import annotations

import json
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
from sqlalchemy import func, select
from sqlalchemy.orm import Session, sessionmaker

from gateway.outbox import Channel, Outbox
from gateway.publisher import Publisher
from tests.integration.test_ingest_mqtt import poll_until
from tests.integration.world import World
from tests.services import ServiceAddress
from triage.config import Settings
from triage.domain.plan import Condition
from triage.ingest import BrokerAddress, IngestConsumer
from triage.storage.models import ReadingRow

pytestmark = pytest.mark.mosquitto
SQLITE = pytest.mark.parametrize("engine", ["sqlite"], indirect=True)
DEADLINE_S = 15.0


def spo2(id_: str, value: float) -> bytes:
    at = datetime.now(UTC) - timedelta(minutes=1)
    return json.dumps(
        {
            "schema": "dho.reading/1",
            "id": id_,
            "kind": "spo2",
            "measured_at": at.isoformat(),
            "values": {"spo2": value, "pulse": 70},
            "device": {"profile": "plx", "model": "emulated oximeter"},
        }
    ).encode()


def stored(sessions: sessionmaker[Session]) -> int:
    with sessions() as session:
        return int(session.scalar(select(func.count()).select_from(ReadingRow)) or 0)


@SQLITE
def test_the_outbox_drains_into_the_database_and_is_pruned_by_receipts(
    tmp_path: Path,
    world: World,
    sessions: sessionmaker[Session],
    mosquitto_address: ServiceAddress,
    prefix: str,
    service: IngestConsumer,
) -> None:
    gateway_id = world.patients[Condition.COPD].gateway_id
    outbox = Outbox(tmp_path / "outbox.sqlite3")
    now = datetime.now(UTC)
    outbox.add(Channel.READINGS, "g-1", spo2("g-1", 95), now)
    outbox.add(Channel.READINGS, "g-2", spo2("g-2", 86), now)
    outbox.add(Channel.READINGS, "g-bad", spo2("g-bad", 30), now)  # implausible: rejected
    publisher = Publisher(
        outbox, gateway_id, mosquitto_address.host, mosquitto_address.port, topic_prefix=prefix
    )
    publisher.start()
    try:
        assert publisher.wait_until_ready(DEADLINE_S)
        assert publisher.drain_once() == 3
        assert poll_until(lambda: outbox.depth() == 0), "no receipts pruned the outbox"
        assert stored(sessions) == 2
        [rejected] = outbox.rejected()
        assert (rejected.id, rejected.reason_code) == ("g-bad", "implausible")

        # the same reading measured again (a cuff resending its memory) is answered
        # "duplicate" and pruned, and stored once
        outbox.add(Channel.READINGS, "g-1", spo2("g-1", 95), datetime.now(UTC))
        assert publisher.drain_once() == 1
        assert poll_until(lambda: outbox.depth() == 0)
        assert stored(sessions) == 2
    finally:
        publisher.stop()
        outbox.close()


@SQLITE
def test_readings_measured_while_the_service_is_down_arrive_once_it_is_back(
    tmp_path: Path,
    world: World,
    sessions: sessionmaker[Session],
    mosquitto_address: ServiceAddress,
    prefix: str,
    service: IngestConsumer,
) -> None:
    """The service stops (its session keeps the messages at the broker); the gateway keeps
    everything in its outbox until the receipts come after the service is back."""
    gateway_id = world.patients[Condition.COPD].gateway_id
    service.stop(timeout=5)
    outbox = Outbox(tmp_path / "outbox.sqlite3")
    publisher = Publisher(
        outbox, gateway_id, mosquitto_address.host, mosquitto_address.port, topic_prefix=prefix
    )
    publisher.start()
    try:
        assert publisher.wait_until_ready(DEADLINE_S)
        for i in range(5):
            outbox.add(Channel.READINGS, f"o-{i}", spo2(f"o-{i}", 95), datetime.now(UTC))
        assert publisher.drain_once() == 5
        assert outbox.depth() == 5  # published, not confirmed: still held
        back = IngestConsumer(
            Settings(demo=True, ingest_batch_ms=20, mqtt_session_expiry_s=120),
            sessions,
            BrokerAddress(mosquitto_address.host, mosquitto_address.port),
            client_id=f"{prefix}triage",
            topic_prefix=prefix,
        )
        back.start()
        try:
            assert poll_until(lambda: outbox.depth() == 0), "the outbox was not pruned"
            assert stored(sessions) == 5
        finally:
            back.stop(timeout=5)
    finally:
        publisher.stop()
        outbox.close()
