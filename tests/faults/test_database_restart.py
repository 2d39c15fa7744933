"""PostgreSQL crashed and restarted while ``dho ingest`` commits batches.

A private cluster (never the machine's shared server) is stopped with ``pg_ctl stop -m
immediate`` — every server process quits at once, transactions in flight die, the next start
recovers from the write-ahead log — three times while readings stream in. The publishers are bare
MQTT clients with no outbox: a reading the service acknowledged without committing it would be
lost for good, so this checks ack-after-commit on its own (docs/operator.md, "The database is
down": nothing is acknowledged or receipted until it is committed).
"""

from __future__ import annotations

import pytest
from sqlalchemy.exc import OperationalError
from sqlalchemy.orm import Session, sessionmaker

from tests.faults.conftest import Parts, PrivateDatabase
from tests.faults.harness import (
    HEAL_S,
    Broker,
    IngestProcess,
    PostgresCluster,
    assert_exactly_once,
    poll_until,
    start_stream,
    stored_count,
)
from triage.domain.plan import Condition

pytestmark = [pytest.mark.faults, pytest.mark.postgres, pytest.mark.mosquitto]

GATEWAYS = (Condition.COPD, Condition.DIABETES)
PER_GATEWAY = 600
RATE = 100  # readings per second per gateway: a steady stream of batches
CRASHES = 3


def test_postgresql_crashing_mid_batch_loses_and_doubles_nothing(
    cluster: PostgresCluster, private_database: PrivateDatabase, parts: Parts
) -> None:
    """The database dies three times under a stream of readings and comes back: every
    published reading is stored exactly once and receipted, "stored" at most once."""
    sessions, world = private_database.sessions, private_database.world
    broker = Broker(parts.folder / "broker", sessions)
    parts.brokers.append(broker)
    broker.start()
    ingest = IngestProcess(parts.folder, private_database.url, broker, "dho-ingest-1")
    parts.ingests.append(ingest)
    ingest.start()

    def context() -> str:
        return (
            f"--- ingest\n{ingest.output()}\n--- postgres\n{cluster.output()}\n"
            f"--- mosquitto\n{broker.output()}"
        )

    stream = start_stream(world, broker, GATEWAYS, PER_GATEWAY, RATE)
    parts.clients += stream.clients
    clients, batches, publishers = stream.clients, stream.batches, stream.publishers

    total = len(GATEWAYS) * PER_GATEWAY
    for crash in range(1, CRASHES + 1):
        at = crash * total // (CRASHES + 2)
        assert poll_until(lambda: _count(sessions) >= at, HEAL_S, 0.05), context()  # noqa: B023
        cluster.crash()
        cluster.start()

    for publisher in publishers:
        publisher.join(HEAL_S)
    published = [i for messages in batches.values() for i, _ in messages]
    assert poll_until(lambda: _count(sessions) >= total, HEAL_S), context()
    assert poll_until(lambda: sum(len(c.receipted()) for c in clients) >= total, HEAL_S), context()
    assert_exactly_once(published, sessions, context())
    for client in clients:
        for message_id, statuses in client.receipted().items():
            # "stored" once at most (a commit whose answer was lost is retried: "duplicate")
            assert set(statuses) <= {"stored", "duplicate"}, (message_id, statuses)
            assert statuses.count("stored") <= 1, (message_id, statuses)
    # the worker felt each crash: it waited for the database with a batch in hand
    assert ingest.logged("database unavailable; will retry") >= CRASHES, context()
    assert ingest.stop() == 0, context()


def _count(sessions: sessionmaker[Session]) -> int:
    """Stored readings; 0 while the database is down."""
    try:
        return stored_count(sessions)
    except OperationalError:  # the server is restarting
        return 0
