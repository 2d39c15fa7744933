"""``dho ingest`` SIGKILLed mid-commit, at both sides of the commit and at random under load.

The two moments that matter are held open from outside the process, in a private PostgreSQL
cluster, so the kill lands in them every time:

* **before the commit** — the test holds a row lock on the gateway's row, so the worker's batch
  waits inside its transaction (readings written, not committed) until it is killed;
* **after the commit, before the acknowledgement** — the cluster is given a synchronous standby
  that never answers, so the worker's COMMIT is written but not yet confirmed to it when it is
  killed; the standby requirement is then lifted and the commit completes (as a commit whose
  answer was lost).

Then the worker is killed three more times while readings stream in. The publishers are bare
MQTT clients with no outbox: only the broker's redelivery of what was not acknowledged can save
a reading, so this checks ack-after-commit and idempotent storage on their own.
"""

from __future__ import annotations

import contextlib
import threading
from datetime import UTC, datetime, timedelta

import pytest
from sqlalchemy import Engine, text
from sqlalchemy.exc import OperationalError
from sqlalchemy.orm import Session, sessionmaker

from tests.faults.conftest import Parts, PrivateDatabase
from tests.faults.harness import (
    HEAL_S,
    Broker,
    GatewayClient,
    IngestProcess,
    PostgresCluster,
    assert_exactly_once,
    new_ids,
    poll_until,
    reading,
    stored_count,
)
from triage.domain.plan import Condition
from triage.storage.database import make_engine

pytestmark = [pytest.mark.faults, pytest.mark.postgres, pytest.mark.mosquitto]

HELD = 40  # readings in the batch held at each side of the commit
PER_GATEWAY = 400  # then streamed per gateway…
RATE = 100  # …at this many per second each, while the worker is killed RANDOM_KILLS times
RANDOM_KILLS = 3


def waiting_backends(admin: Engine, database: str, wait_event: str) -> int:
    """Server processes of ``database`` waiting on ``wait_event`` (e.g. ``SyncRep``, or the
    ``Lock`` type)."""
    with admin.connect() as connection:
        return int(
            connection.execute(
                text(
                    "SELECT count(*) FROM pg_stat_activity WHERE datname = :db "
                    "AND (wait_event = :event OR wait_event_type = :event)"
                ),
                {"db": database, "event": wait_event},
            ).scalar_one()
        )


def set_synchronous_standby(admin: Engine, names: str) -> None:
    with admin.connect() as connection:
        connection.execute(text(f"ALTER SYSTEM SET synchronous_standby_names = '{names}'"))
        connection.execute(text("SELECT pg_reload_conf()"))


def stored(sessions: sessionmaker[Session], ids: list[str]) -> int:
    with sessions() as session:
        return int(
            session.execute(
                text("SELECT count(*) FROM readings WHERE id = ANY(:ids)"), {"ids": ids}
            ).scalar_one()
        )


def test_an_ingest_worker_killed_mid_commit_loses_and_doubles_nothing(
    cluster: PostgresCluster, private_database: PrivateDatabase, parts: Parts
) -> None:
    """Killed with a batch written but not committed, with a batch committed but not
    acknowledged, and three times at random under load: each restart gets back what was not
    acknowledged, and every reading is stored exactly once (the committed batch answers
    "duplicate")."""
    sessions, world = private_database.sessions, private_database.world
    database = private_database.url.rsplit("/", 1)[1]
    admin = make_engine(cluster.url(), isolation_level="AUTOCOMMIT")
    locker = make_engine(private_database.url)
    broker = Broker(parts.folder / "broker", sessions)
    parts.brokers.append(broker)
    broker.start()
    ingest = IngestProcess(parts.folder, private_database.url, broker, "dho-ingest-1")
    parts.ingests.append(ingest)
    ingest.start()
    first, second = (world.patients[c] for c in (Condition.COPD, Condition.HEART_FAILURE))
    clients = [GatewayClient(p.gateway_id, p.gateway_secret, broker) for p in (first, second)]
    parts.clients += clients
    published: list[str] = []

    def context() -> str:
        return (
            f"--- ingest\n{ingest.output()}\n--- postgres\n{cluster.output()}\n"
            f"--- mosquitto\n{broker.output()}"
        )

    def batch(client: GatewayClient, count: int, tag: str, per_second: float = 0) -> list[str]:
        now = datetime.now(UTC)
        ids = new_ids(count, f"{client.gateway_id}-{tag}")
        published.extend(ids)
        client.publish([(i, reading(i, now - timedelta(seconds=20), now)) for i in ids], per_second)
        return ids

    try:
        # 1. before the commit: the batch waits for the gateway row the test holds locked
        with locker.connect() as holder:
            holder.execute(
                text("SELECT id FROM gateways WHERE id = :id FOR UPDATE"), {"id": first.gateway_id}
            )
            held = batch(clients[0], HELD, "uncommitted")
            assert poll_until(lambda: waiting_backends(admin, database, "Lock") >= 1, HEAL_S)
            ingest.kill()
            holder.rollback()
        assert stored(sessions, held) == 0, context()
        ingest.start()
        assert poll_until(lambda: stored(sessions, held) == HELD, HEAL_S), context()
        assert poll_until(lambda: len(clients[0].receipted()) == HELD, HEAL_S), context()
        assert {s for i in held for s in clients[0].receipted()[i]} == {"stored"}

        # 2. after the commit, before the acknowledgement: COMMIT waits for a standby
        set_synchronous_standby(admin, "faults_never_answers")
        sent = batch(clients[1], HELD, "in-doubt")
        assert poll_until(lambda: waiting_backends(admin, database, "SyncRep") >= 1, HEAL_S)
        ingest.kill()
        set_synchronous_standby(admin, "")
        assert poll_until(lambda: waiting_backends(admin, database, "SyncRep") == 0, HEAL_S)
        with sessions() as session:
            query = text("SELECT id FROM readings WHERE id = ANY(:ids)")
            in_doubt = set(session.scalars(query, {"ids": sent}))
        assert in_doubt, "the batch held in its COMMIT was not committed"
        assert clients[1].receipted() == {}  # the worker died before any receipt
        ingest.start()
        assert poll_until(lambda: len(clients[1].receipted()) == HELD, HEAL_S), context()
        assert {i: clients[1].receipted()[i] for i in sent} == {
            i: ["duplicate" if i in in_doubt else "stored"] for i in sent
        }

        # 3. killed at random while readings stream in, restarted at once each time
        streams = [
            threading.Thread(target=batch, args=(client, PER_GATEWAY, "stream", RATE))
            for client in clients
        ]
        for stream in streams:
            stream.start()
        base = 2 * HELD
        for kill in range(1, RANDOM_KILLS + 1):
            at = base + kill * 2 * PER_GATEWAY // (RANDOM_KILLS + 2)
            assert poll_until(lambda: stored_count(sessions) >= at, HEAL_S, 0.05), context()  # noqa: B023
            ingest.kill()
            ingest.start()
        for stream in streams:
            stream.join(HEAL_S)
        total = base + 2 * PER_GATEWAY
        assert poll_until(lambda: stored_count(sessions) >= total, HEAL_S), context()
        assert_exactly_once(published, sessions, context())
        assert ingest.stop() == 0, context()
    finally:
        with contextlib.suppress(OperationalError):
            set_synchronous_standby(admin, "")
        admin.dispose()
        locker.dispose()
