"""A home gateway offline for 24 simulated hours, 5,000 readings in its outbox, then back.

The outbox is filled as the gateway's recorder fills it while it cannot reach the broker: a
reading every ~17 s for 24 hours, each kept with the (simulated) time it was measured, the
first 200 published just before the link went down and never receipted. The real gateway
process then runs with no broker to reach, the broker comes back (with the service's
persistent session and subscriptions, saved at its clean stop), and everything drains: each
reading stored once, the outbox empty (docs/operator.md, "A gateway is silent").
"""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest
from sqlalchemy.orm import Session, sessionmaker

from gateway.outbox import Channel, Outbox
from tests.faults.conftest import Parts
from tests.faults.harness import (
    HEAL_S,
    Broker,
    GatewayProcess,
    IngestProcess,
    assert_exactly_once,
    new_ids,
    poll_until,
    reading,
)
from tests.integration.world import World
from triage.domain.plan import Condition

pytestmark = [pytest.mark.faults, pytest.mark.postgres, pytest.mark.mosquitto]

OFFLINE = timedelta(hours=24)
READINGS = 5_000
PUBLISHED_BEFORE_THE_LINK_WENT = 200


def fill_outbox(outbox: Outbox, ids: list[str], now: datetime) -> None:
    """Each reading kept at its simulated measuring time; the first ones published once.

    The day's adds are written without an fsync each (``synchronous=OFF`` while filling, FULL
    again after): a day of separate fsyncs compressed into seconds would only measure this
    machine's disk. Each add is still its own transaction, as the gateway makes it."""
    step = OFFLINE / len(ids)
    start = now - OFFLINE
    outbox._db.execute("PRAGMA synchronous=OFF")
    for n, message_id in enumerate(ids):
        measured = start + n * step
        payload = reading(message_id, measured, measured + timedelta(seconds=2), 93 + n % 5)
        assert outbox.add(Channel.READINGS, message_id, payload, measured + timedelta(seconds=2))
    outbox._db.execute("PRAGMA synchronous=FULL")
    outbox.published(ids[:PUBLISHED_BEFORE_THE_LINK_WENT], start + timedelta(minutes=1))


def test_a_gateway_back_after_24_hours_offline_delivers_its_5000_readings_once(
    world: World, database: tuple[str, sessionmaker[Session]], parts: Parts
) -> None:
    """Back online after a day away, the hub's 5,000 kept readings are all stored once and its
    outbox is empty."""
    database_url, sessions = database
    patient = world.patients[Condition.COPD]
    broker = Broker(parts.folder / "broker", sessions)
    parts.brokers.append(broker)

    gateway = GatewayProcess(parts.folder, patient.gateway_id, patient.gateway_secret, broker)
    parts.gateways.append(gateway)
    ids = new_ids(READINGS, patient.gateway_id)
    outbox = Outbox(gateway.outbox_path)
    try:
        fill_outbox(outbox, ids, datetime.now(UTC))
        assert outbox.depth() == READINGS
    finally:
        outbox.close()
    broker.start()
    ingest = IngestProcess(parts.folder, database_url, broker, "dho-ingest-1")
    parts.ingests.append(ingest)
    ingest.start()  # its persistent session and subscriptions exist on the broker…
    broker.stop()  # …which saves them at its clean stop; nothing answers for the hub now

    def context() -> str:
        return (
            f"--- gateway\n{gateway.output()}\n--- ingest\n{ingest.output()}\n"
            f"--- mosquitto\n{broker.output()}"
        )

    gateway.start()
    # up (it has no paired devices: its outbox is all it has) and offline, trying the broker
    assert poll_until(lambda: "no paired devices" in gateway.output(), HEAL_S), context()
    broker.start()
    assert poll_until(gateway.drained, HEAL_S), context()
    assert_exactly_once(ids, sessions, context())
    assert gateway.stop() == 0, context()
    assert ingest.stop() == 0, context()
