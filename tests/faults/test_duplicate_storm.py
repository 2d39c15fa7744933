"""A duplicate storm: the same 1,000 reading ids published 10 times over (gateways that resend
everything after every reconnect), into two ``dho ingest`` workers on a shared subscription, so
copies of one id race each other in two processes and inside one batch.

1,000 readings are stored; every id is answered "stored" exactly once and "duplicate" nine times,
and nothing is dead-lettered (docs/contracts/receipts.md; DESIGN.md: "the service stores each
id once; a duplicate is acknowledged and ignored").
"""

from __future__ import annotations

import threading
from collections import Counter
from datetime import UTC, datetime, timedelta

import pytest
from sqlalchemy.orm import Session, sessionmaker

from tests.faults.conftest import Parts
from tests.faults.harness import (
    HEAL_S,
    Broker,
    GatewayClient,
    IngestProcess,
    assert_exactly_once,
    new_ids,
    poll_until,
    reading,
)
from tests.integration.world import World
from triage.domain.plan import Condition

pytestmark = [pytest.mark.faults, pytest.mark.postgres, pytest.mark.mosquitto]

IDS = 1_000
COPIES = 10


def test_the_same_1000_ids_published_10_times_are_stored_once_and_answered_duplicate(
    world: World, database: tuple[str, sessionmaker[Session]], parts: Parts
) -> None:
    """10,000 messages, 1,000 ids: 1,000 stored, each id receipted "stored" once and
    "duplicate" nine times."""
    database_url, sessions = database
    broker = Broker(parts.folder / "broker", sessions)
    parts.brokers.append(broker)
    broker.start()
    workers = [
        IngestProcess(parts.folder, database_url, broker, f"dho-ingest-{n}", shared_group="triage")
        for n in (1, 2)
    ]
    parts.ingests += workers
    for worker in workers:
        worker.start()

    def context() -> str:
        return "\n".join(f"--- {w.client_id}\n{w.output()}" for w in workers)

    conditions = list(Condition)
    clients = [
        GatewayClient(world.patients[c].gateway_id, world.patients[c].gateway_secret, broker)
        for c in conditions
    ]
    parts.clients += clients
    now = datetime.now(UTC)
    per_client = IDS // len(clients)
    messages = {
        client: [
            (i, reading(i, now - timedelta(minutes=5), now))
            for i in new_ids(per_client, client.gateway_id)
        ]
        for client in clients
    }
    publishers = [
        threading.Thread(target=client.publish, args=(batch * COPIES,), daemon=True)
        for client, batch in messages.items()
    ]
    for publisher in publishers:
        publisher.start()
    for publisher in publishers:
        publisher.join(HEAL_S)

    def answered() -> int:
        return sum(len(s) for c in clients for s in c.receipted().values())

    assert poll_until(lambda: answered() >= IDS * COPIES, HEAL_S), context()
    published = [i for batch in messages.values() for i, _ in batch]
    assert_exactly_once(published, sessions, context())
    answers = {i: Counter(s) for c in clients for i, s in c.receipted().items()}
    assert set(answers) == set(published)
    wrong = {i: a for i, a in answers.items() if a != Counter(stored=1, duplicate=COPIES - 1)}
    assert wrong == {}, context()
    for worker in workers:
        assert worker.stop() == 0, context()
