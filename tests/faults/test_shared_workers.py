"""Two ``dho ingest`` workers on one shared subscription (``$share/triage/…``), one SIGKILLed
under load: the other goes on storing while it is down, the killed one comes back on its own
client id and resumes its persistent session, and every reading is stored exactly once
(docs/operator.md, "Scaling out"). Bare MQTT publishers, no outbox: nothing but the broker's
redelivery of what was not acknowledged can save a reading.
"""

from __future__ import annotations

import pytest
from sqlalchemy.orm import Session, sessionmaker

from tests.faults.conftest import Parts
from tests.faults.harness import (
    HEAL_S,
    Broker,
    IngestProcess,
    assert_exactly_once,
    poll_until,
    start_stream,
    stored_count,
)
from tests.integration.world import World
from tests.prometheus import scrape
from triage.broker.embedded import free_port
from triage.domain.plan import Condition

pytestmark = [pytest.mark.faults, pytest.mark.postgres, pytest.mark.mosquitto]

GATEWAYS = (Condition.COPD, Condition.HEART_FAILURE, Condition.COVID19)
PER_GATEWAY = 400
RATE = 60  # readings per second per gateway: the stream lasts about 7 s


def handled(port: int) -> float:
    """Messages the worker whose metrics are on ``port`` has stored or answered duplicate."""
    samples = scrape(f"http://127.0.0.1:{port}/metrics")
    return sum(
        samples.get(f'dho_ingest_messages_total{{outcome="{outcome}"}}', 0.0)
        for outcome in ("stored", "duplicate")
    )


def test_one_of_two_shared_workers_killed_loses_and_doubles_nothing(
    world: World, database: tuple[str, sessionmaker[Session]], parts: Parts
) -> None:
    """Worker 1 dies mid-stream; worker 2 goes on storing; worker 1 restarts and takes its
    share again; every reading is stored exactly once."""
    database_url, sessions = database
    broker = Broker(parts.folder / "broker", sessions)
    parts.brokers.append(broker)
    broker.start()
    ports = {name: free_port() for name in ("dho-ingest-1", "dho-ingest-2")}
    workers = {
        name: IngestProcess(
            parts.folder,
            database_url,
            broker,
            name,
            shared_group="triage",
            extra_env={"DHO_INGEST_METRICS_PORT": str(port)},
        )
        for name, port in ports.items()
    }
    parts.ingests += workers.values()
    for worker in workers.values():
        worker.start()
    killed = workers["dho-ingest-1"]

    def context() -> str:
        return "\n".join(f"--- {n}\n{w.output()}" for n, w in workers.items())

    stream = start_stream(world, broker, GATEWAYS, PER_GATEWAY, RATE)
    parts.clients += stream.clients
    batches, publishers = stream.batches, stream.publishers
    total = len(GATEWAYS) * PER_GATEWAY

    assert poll_until(lambda: stored_count(sessions) >= total // 4, HEAL_S), context()
    assert handled(ports["dho-ingest-1"]) > 0, "worker 1 took no share before it was killed"
    killed.kill()
    # the survivor takes over: it goes on storing while worker 1 is down
    before = handled(ports["dho-ingest-2"])
    assert poll_until(lambda: handled(ports["dho-ingest-2"]) >= before + 100, HEAL_S), context()
    killed.start()
    assert poll_until(lambda: handled(ports["dho-ingest-1"]) > 0, HEAL_S), context()

    for publisher in publishers:
        publisher.join(HEAL_S)
    published = [i for messages in batches.values() for i, _ in messages]
    assert poll_until(lambda: stored_count(sessions) >= total, HEAL_S), context()
    assert_exactly_once(published, sessions, context())
    for worker in workers.values():
        assert worker.stop() == 0, context()
