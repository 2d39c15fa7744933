"""The demo on a machine without Mosquitto: the service falls back to the embedded amqtt broker,
which speaks MQTT 3.1.1 only, and ingest and the gateway speak 3.1.1 to it.

Real processes and real brokers: ``dho serve`` with ``DHO_MOSQUITTO_PATH=`` (empty: amqtt) on
free ports, and amqtt started in-process with the real ingest consumer and gateway publisher.
What amqtt does and does not do (docs/operator-broker.md) is tested here as it is: it keeps the
service's session while ingest restarts, but does not send again a message whose delivery was
never acknowledged — the gateway's outbox republishes it.
"""

from __future__ import annotations

import json
import signal
import subprocess
import threading
from collections.abc import Callable, Iterator, Sequence
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
from sqlalchemy import select
from sqlalchemy.orm import Session, sessionmaker

from gateway.outbox import Channel, Outbox
from gateway.publisher import MqttVersion, Publisher
from tests.integration.test_gateway_publisher import drained, spo2
from tests.integration.test_ingest_mqtt import Crash, poll_until, stored_count
from tests.integration.test_service_cli import (
    START_S,
    dho_env,
    reading,
    register_patient,
    start,
    stop,
    wait_for_health,
)
from tests.integration.world import World
from triage.broker import EmbeddedBroker, MqttProtocol, start_broker
from triage.broker.credentials import gateway_credentials
from triage.broker.embedded import free_port
from triage.config import Settings
from triage.domain.plan import Condition
from triage.ingest import BrokerAddress, Incoming, IngestConsumer
from triage.storage.database import make_engine, session_factory
from triage.storage.models import GatewayRow, ReadingRow

SQLITE = pytest.mark.parametrize("engine", ["sqlite"], indirect=True)
DEADLINE_S = 15.0


def demo_env(data_dir: Path, broker_port: int, **more: str) -> dict[str, str]:
    """Demo mode on a machine without Mosquitto (an empty DHO_MOSQUITTO_PATH)."""
    return dho_env(
        DHO_DATA_DIR=str(data_dir),
        DHO_DEMO="true",
        DHO_MOSQUITTO_PATH="",
        DHO_BROKER_PORT=str(broker_port),
        **more,
    )


def stored_ids(data_dir: Path) -> list[str]:
    engine = make_engine(f"sqlite:///{(data_dir / 'dho.sqlite3').resolve()}")
    try:
        with session_factory(engine)() as session:
            return sorted(session.scalars(select(ReadingRow.id)))
    finally:
        engine.dispose()


def test_the_demo_without_mosquitto_stores_a_3_1_1_gateways_readings_across_a_restart(
    tmp_path: Path, processes: list[subprocess.Popen[str]]
) -> None:
    """`dho serve` in demo mode without Mosquitto runs MQTT ingest on amqtt. A gateway speaking
    MQTT 3.1.1 publishes readings: each is stored once and the receipts empty its outbox. A
    reading measured while the service is stopped (and its in-memory broker with it) is stored
    once the service is back."""
    now = datetime.now(UTC)
    _, gateway_id, secret = register_patient(tmp_path, now)
    api_port, broker_port = free_port(), free_port()
    env = demo_env(tmp_path, broker_port)
    base_url = f"http://127.0.0.1:{api_port}"
    service = start(processes, ["serve", "--port", str(api_port)], env)
    health = wait_for_health(service, base_url)
    assert health["broker"] == {"ok": True, "detail": "ingest connected"}

    outbox = Outbox(tmp_path / "gateway" / "outbox.sqlite3")
    publisher = Publisher(
        outbox,
        gateway_id,
        "127.0.0.1",
        broker_port,
        username=gateway_id,
        password=secret,
        protocol=MqttVersion.V311,
    )
    first = [reading(97, now), reading(91, now)]
    later = reading(95, now)
    publisher.start()
    try:
        assert publisher.wait_until_ready(DEADLINE_S)
        for item in first:
            outbox.add(Channel.READINGS, str(item["id"]), json.dumps(item).encode(), now)
        assert poll_until(lambda: drained(publisher, outbox), timeout=30), "no receipts came"
        assert publisher.receipts >= 1
        assert stored_ids(tmp_path) == sorted(str(item["id"]) for item in first)

        code, _, stderr = stop(service, signal.SIGINT)
        assert code == 0, stderr
        assert "Traceback" not in stderr
        assert "embedded MQTT broker (amqtt) stopped" in stderr

        outbox.add(Channel.READINGS, str(later["id"]), json.dumps(later).encode(), now)
        service = start(processes, ["serve", "--port", str(api_port)], env)
        wait_for_health(service, base_url)
        assert poll_until(lambda: drained(publisher, outbox), timeout=START_S), (
            "the reading measured while the service was down did not arrive"
        )
    finally:
        publisher.stop()
        outbox.close()
    code, _, stderr = stop(service, signal.SIGTERM)
    assert code == 0, stderr
    assert "Traceback" not in stderr
    assert stored_ids(tmp_path) == sorted(str(item["id"]) for item in [*first, later])


def test_a_shared_subscription_is_refused_on_amqtt_with_the_reason(
    tmp_path: Path, processes: list[subprocess.Popen[str]]
) -> None:
    """Several ingest workers need MQTT 5 shared subscriptions: on amqtt `dho ingest` says so
    and what to do, and exits 1."""
    env = demo_env(tmp_path, free_port(), DHO_MQTT_SHARED_GROUP="triage")
    process = start(processes, ["ingest"], env)
    _, stderr = process.communicate(timeout=START_S)
    assert process.returncode == 1, stderr
    assert "Traceback" not in stderr
    assert stderr.endswith(
        "dho: DHO_MQTT_SHARED_GROUP='triage' needs MQTT 5 shared subscriptions, but the broker "
        "speaks MQTT 3.1.1 only (the amqtt demo broker): unset DHO_MQTT_SHARED_GROUP and run "
        "one ingest worker, or install Mosquitto (apt-get install mosquitto) or set "
        "DHO_MQTT_URL to an MQTT 5 broker\n"
    )


# ----------------------------------------------------------------------------- in-process


@pytest.fixture
def amqtt(
    tmp_path: Path, sessions: sessionmaker[Session], world: World
) -> Iterator[tuple[str, EmbeddedBroker]]:
    """The demo's fallback broker, started as the service starts it when Mosquitto is missing,
    with the world's gateways' logins."""
    with sessions() as session:
        logins = gateway_credentials(session)
    url, broker = start_broker(Settings(data_dir=tmp_path, demo=True, mosquitto_path=""), logins)
    assert broker is not None
    assert (broker.kind, broker.protocol) == ("amqtt", MqttProtocol.V311)
    yield url, broker
    broker.stop()


@pytest.fixture
def make_ingest(
    amqtt: tuple[str, EmbeddedBroker], sessions: sessionmaker[Session]
) -> Iterator[Callable[..., IngestConsumer]]:
    """Start the service's ingest on amqtt in MQTT 3.1.1, always with the same client id (its
    login, dho-service: a restart resumes its session). The broker is this test's own: no topic
    prefix (amqtt's ACL knows only dho/v1/…)."""
    started: list[IngestConsumer] = []

    def make(before_commit: Callable[[Sequence[Incoming]], None] | None = None) -> IngestConsumer:
        consumer = IngestConsumer(
            Settings(demo=True, ingest_batch_ms=20),
            sessions,
            BrokerAddress.from_url(amqtt[0]),
            before_commit=before_commit,
            protocol=MqttProtocol.V311,
        )
        consumer.start()
        started.append(consumer)
        assert consumer.wait_until_subscribed(DEADLINE_S), "ingest did not subscribe"
        return consumer

    yield make
    for consumer in started:
        if not consumer._aborted:
            consumer.stop(timeout=5)


def gateway_on(
    url: str, outbox: Outbox, gateway_id: str, secret: str, clock: list[datetime]
) -> Publisher:
    """A gateway speaking MQTT 3.1.1 whose clock moves only when the test moves it."""
    address = BrokerAddress.from_url(url)
    publisher = Publisher(
        outbox,
        gateway_id,
        address.host,
        address.port,
        username=gateway_id,
        password=secret,
        protocol=MqttVersion.V311,
        clock=lambda: clock[0],
    )
    publisher.start()
    assert publisher.wait_until_ready(DEADLINE_S)
    return publisher


def amqtt_session(broker: EmbeddedBroker, client_id: str) -> str | None:
    """The state of ``client_id``'s session in the running amqtt ("connected", "disconnected"),
    or None when amqtt keeps none: read from amqtt itself, so the test waits for the broker to
    have seen a disconnect rather than for a while."""
    core = broker._backend._core  # type: ignore[union-attr]  # amqtt's Broker object
    session = core.sessions.get(client_id, (None, None))[0]
    return None if session is None else str(session.transitions.state)


def gateway_row(sessions: sessionmaker[Session], gateway_id: str) -> GatewayRow:
    with sessions() as session:
        row = session.get(GatewayRow, gateway_id)
        assert row is not None
        return row


@SQLITE
def test_amqtt_keeps_the_service_session_while_ingest_restarts(
    tmp_path: Path,
    world: World,
    sessions: sessionmaker[Session],
    amqtt: tuple[str, EmbeddedBroker],
    make_ingest: Callable[..., IngestConsumer],
) -> None:
    """A reading published once while ingest is stopped is kept by amqtt in the service's
    persistent session (clean_session=False) and stored when ingest is back. The gateway's
    retained status marks it online, and its last will marks it offline when its link dies."""
    gateway_id = world.patients[Condition.COPD].gateway_id
    secret = world.patients[Condition.COPD].gateway_secret
    clock = [datetime.now(UTC)]
    outbox = Outbox(tmp_path / "outbox.sqlite3")
    first = make_ingest()
    publisher = gateway_on(amqtt[0], outbox, gateway_id, secret, clock)
    killed = False
    try:
        outbox.add(Channel.READINGS, "a-1", spo2("a-1", 95), clock[0])
        assert poll_until(lambda: drained(publisher, outbox)), "no receipt came"
        assert stored_count(sessions) == 1
        assert poll_until(lambda: gateway_row(sessions, gateway_id).online is True)

        first.stop(timeout=5)  # a clean stop: amqtt keeps the session and queues for it
        assert poll_until(lambda: amqtt_session(amqtt[1], first.client_id) == "disconnected"), (
            "amqtt did not keep the service's session"
        )
        outbox.add(Channel.READINGS, "a-2", spo2("a-2", 96), clock[0])
        assert publisher.drain_once() == 1  # published once; the clock stands still from here
        assert outbox.depth() == 1

        make_ingest()  # the same client id: amqtt delivers what it queued
        assert poll_until(lambda: outbox.depth() == 0), "the queued reading was not delivered"
        assert stored_count(sessions) == 2

        publisher.client.loop_stop()
        sock = publisher.client.socket()
        assert sock is not None
        sock.close()  # the hub loses power: no DISCONNECT, amqtt sends the last will
        killed = True
        assert poll_until(lambda: gateway_row(sessions, gateway_id).online is False), (
            "the last will did not mark the gateway offline"
        )
    finally:
        if not killed:
            publisher.stop()
        outbox.close()


@SQLITE
def test_amqtt_does_not_redeliver_an_unacknowledged_reading_the_gateway_republishes_it(
    tmp_path: Path,
    world: World,
    sessions: sessionmaker[Session],
    amqtt: tuple[str, EmbeddedBroker],
    make_ingest: Callable[..., IngestConsumer],
) -> None:
    """Ingest dies with a reading received but not committed or acknowledged. Mosquitto would
    deliver it again when ingest is back (tests/integration/test_ingest_mqtt.py); amqtt drops
    what it had in flight: a reading published after the restart is stored and the lost one is
    not. The gateway's outbox still holds it, republishes it after its back-off, and it is
    stored once."""
    gateway_id = world.patients[Condition.COPD].gateway_id
    secret = world.patients[Condition.COPD].gateway_secret
    clock = [datetime.now(UTC)]
    outbox = Outbox(tmp_path / "outbox.sqlite3")
    reached = threading.Event()
    release = threading.Event()

    def die_here(_messages: Sequence[Incoming]) -> None:
        reached.set()
        assert release.wait(DEADLINE_S)
        raise Crash  # never committed

    crashing = make_ingest(before_commit=die_here)
    publisher = gateway_on(amqtt[0], outbox, gateway_id, secret, clock)
    try:
        outbox.add(Channel.READINGS, "lost-1", spo2("lost-1", 94), clock[0])
        assert publisher.drain_once() == 1
        assert reached.wait(DEADLINE_S), "ingest never got the reading"
        crashing.abort()  # no acknowledgement, no DISCONNECT
        release.set()
        assert poll_until(lambda: amqtt_session(amqtt[1], crashing.client_id) == "disconnected"), (
            "amqtt did not notice the dead connection"
        )

        make_ingest()
        outbox.add(Channel.READINGS, "after-1", spo2("after-1", 95), clock[0])
        assert publisher.drain_once() == 1
        assert poll_until(lambda: [m.id for m in outbox.pending_after(0)] == ["lost-1"]), (
            "no receipt for the reading published after the restart"
        )
        assert stored_count(sessions, "after-1") == 1
        # anything amqtt sent again would have come before "after-1" (a reconnecting client
        # gets its session's messages before its subscriptions are served): nothing came
        assert stored_count(sessions, "lost-1") == 0

        clock[0] += timedelta(minutes=1)  # past the first back-off (5 s, up to 6.25 s)
        assert poll_until(lambda: drained(publisher, outbox)), "the outbox kept it"
        assert stored_count(sessions, "lost-1") == 1
        assert stored_count(sessions) == 2
    finally:
        publisher.stop()
        outbox.close()
