"""Mosquitto SIGKILLed while readings stream through it, with persistence on and off.

docs/operator-broker.md promises: a broker crash loses what it queued since its last save (with
persistence off: everything it held), and the gateways' outboxes resend it because no receipt
came, so the end-to-end path loses nothing and stores nothing twice. Here real gateway
processes drain real outboxes through a Mosquitto running the configuration ``dho broker
config`` writes, into a real ``dho ingest`` on PostgreSQL, and the broker is killed twice: once
mid-stream with everything running, once with the service away and part of its queue saved.
"""

from __future__ import annotations

import threading
from datetime import UTC, datetime, timedelta

import pytest
from sqlalchemy.orm import Session, sessionmaker

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
    stored_count,
)
from tests.integration.world import World
from triage.domain.plan import Condition

pytestmark = [pytest.mark.faults, pytest.mark.postgres, pytest.mark.mosquitto]

GATEWAYS = (Condition.COPD, Condition.HEART_FAILURE, Condition.HYPERTENSION)
PREFILLED = 150  # per gateway, in its outbox before it starts
STREAM_EVERY_S = 0.2  # then each gateway measures 5 more readings every STREAM_EVERY_S
STREAM_CHUNK = 5


class Stream:
    """Keeps adding readings to each gateway's outbox (its devices measuring) until stopped."""

    def __init__(self, gateways: list[GatewayProcess]) -> None:
        self.gateways = gateways
        self.published: list[str] = []
        self._stop = threading.Event()
        self._lock = threading.Lock()
        self._thread = threading.Thread(target=self._run, daemon=True)

    def add(self, gateway: GatewayProcess, count: int) -> None:
        now = datetime.now(UTC)
        ids = new_ids(count, gateway.gateway_id)
        gateway.keep([(i, reading(i, now - timedelta(seconds=30), now)) for i in ids], now)
        with self._lock:
            self.published += ids

    def _run(self) -> None:
        while not self._stop.wait(STREAM_EVERY_S):
            for gateway in self.gateways:
                self.add(gateway, STREAM_CHUNK)

    def start(self) -> None:
        self._thread.start()

    def stop(self) -> list[str]:
        self._stop.set()
        self._thread.join(30)
        with self._lock:
            return list(self.published)


@pytest.mark.parametrize("persistence", [True, False], ids=["persistence-on", "persistence-off"])
def test_a_broker_killed_mid_stream_loses_and_doubles_nothing(
    persistence: bool, world: World, database: tuple[str, sessionmaker[Session]], parts: Parts
) -> None:
    """The broker dies twice (mid-stream; with the service away and part of its queue saved):
    every reading the gateways kept is stored exactly once and every outbox empties."""
    database_url, sessions = database
    broker = Broker(parts.folder / "broker", sessions, persistence=persistence)
    parts.brokers.append(broker)
    broker.start()
    ingest = IngestProcess(parts.folder, database_url, broker, "dho-ingest-1")
    parts.ingests.append(ingest)
    ingest.start()
    gateways = [
        GatewayProcess(
            parts.folder, world.patients[c].gateway_id, world.patients[c].gateway_secret, broker
        )
        for c in GATEWAYS
    ]
    parts.gateways += gateways
    stream = Stream(gateways)
    for gateway in gateways:
        stream.add(gateway, PREFILLED)
        gateway.start()
    stream.start()

    def context() -> str:
        return "\n".join(
            [f"--- mosquitto\n{broker.output()}", f"--- ingest\n{ingest.output()}"]
            + [f"--- {g.gateway_id}\n{g.output()}" for g in gateways]
        )

    # 1. mid-stream, everything running: some stored, much in flight or queued
    first_kill_at = len(GATEWAYS) * PREFILLED // 3
    assert poll_until(lambda: stored_count(sessions) >= first_kill_at, HEAL_S), context()
    broker.kill()
    broker.start()
    # the service saw the crash (and reconnects by itself) before step 2 stops it: with fast
    # classification the next third can be stored before paho notices the closed socket
    assert poll_until(lambda: ingest.logged("disconnected from the broker") >= 1, HEAL_S), context()

    # 2. the service away (a clean stop): the gateways' readings queue in its session on the
    #    broker; the broker saves (as its autosave does), queues more, and dies
    assert poll_until(lambda: stored_count(sessions) >= 2 * first_kill_at, HEAL_S), context()
    assert ingest.stop() == 0, context()
    marks = [g.last_kept() for g in gateways]
    assert poll_until(
        lambda: all(g.published_up_to(m) for g, m in zip(gateways, marks, strict=True)), HEAL_S
    ), context()
    broker.save()
    marks = [g.last_kept() for g in gateways]
    assert poll_until(
        lambda: all(g.published_up_to(m) for g, m in zip(gateways, marks, strict=True)), HEAL_S
    ), context()
    broker.kill()
    broker.start()
    ingest.start()

    # 3. the devices stop measuring; everything drains
    published = stream.stop()
    assert poll_until(lambda: all(g.drained() for g in gateways), HEAL_S), context()
    assert_exactly_once(published, sessions, context())
    assert ingest.logged("disconnected from the broker") >= 1, context()  # the first crash
    for gateway in gateways:
        assert gateway.stop() == 0, context()
    assert ingest.stop() == 0, context()
