"""Ingest through the real Mosquitto broker: ack after commit, receipts, redelivery after a crash.

Each test uses its own topic prefix and client ids, so parallel runs on one broker do not see
each other's messages. Waiting is event-driven (receipts and outcome counters notify), with a
deadline; nothing sleeps.
"""

from __future__ import annotations

import json
import logging
import socket
import threading
import time
from collections.abc import Callable, Iterator, Sequence
from datetime import UTC, datetime, timedelta
from typing import Any

import httpx
import paho.mqtt.client as mqtt
import pytest
from paho.mqtt.enums import CallbackAPIVersion, MQTTProtocolVersion
from sqlalchemy import func, select
from sqlalchemy.orm import Session, sessionmaker

from tests.integration import bad_inputs
from tests.integration.world import World
from tests.services import ServiceAddress
from triage.api.app import create_app
from triage.config import Settings
from triage.domain.colours import Colour
from triage.domain.plan import Condition
from triage.ingest import BrokerAddress, Counters, Incoming, IngestConsumer, Receipt
from triage.metrics_server import MetricsServer
from triage.service import ApiServer, consumer_health, consumer_progress
from triage.storage.database import make_engine, session_factory
from triage.storage.models import DeadLetterRow, GatewayRow, ReadingRow

pytestmark = pytest.mark.mosquitto

DEADLINE_S = 15.0
SQLITE = pytest.mark.parametrize("engine", ["sqlite"], indirect=True)


class Crash(BaseException):
    """Raised by a test hook to stop the worker as a killed process would."""


class WatchedCounters(Counters):
    """Counters that wake up a waiting test when outcomes are committed."""

    def __init__(self) -> None:
        super().__init__()
        self.changed = threading.Condition()

    def record(self, outcomes: Any) -> None:
        super().record(outcomes)
        with self.changed:
            self.changed.notify_all()

    def wait_for(self, name: str, at_least: int, timeout: float = DEADLINE_S) -> bool:
        with self.changed:
            return self.changed.wait_for(
                lambda: self.snapshot().get(name, 0) >= at_least, timeout=timeout
            )


class Gateways:
    """The test's side of the broker: publishes as gateways and collects their receipts."""

    def __init__(self, address: ServiceAddress, prefix: str) -> None:
        self.prefix = prefix
        self.receipts: list[Receipt] = []
        self._arrived = threading.Condition()
        self._subscribed = threading.Event()
        self.client = mqtt.Client(
            CallbackAPIVersion.VERSION2,
            client_id=f"{prefix}gateways",
            protocol=MQTTProtocolVersion.MQTTv5,
        )
        self.client.on_connect = lambda c, *_: c.subscribe(f"{prefix}dho/v1/+/receipts", qos=1)
        self.client.on_subscribe = lambda *_: self._subscribed.set()
        self.client.on_message = self._on_message
        self.client.connect(address.host, address.port)
        self.client.loop_start()
        assert self._subscribed.wait(DEADLINE_S), "the receipt subscription was not acknowledged"

    def _on_message(self, _client: mqtt.Client, _userdata: Any, message: mqtt.MQTTMessage) -> None:
        receipt = Receipt.model_validate_json(message.payload)
        assert message.topic == f"{self.prefix}dho/v1/{receipt.gateway_id}/receipts"
        with self._arrived:
            self.receipts.append(receipt)
            self._arrived.notify_all()

    def publish(self, gateway_id: str, payload: bytes, channel: str = "readings") -> None:
        info = self.client.publish(f"{self.prefix}dho/v1/{gateway_id}/{channel}", payload, qos=1)
        info.wait_for_publish(DEADLINE_S)
        assert info.is_published()

    def items(self) -> list[tuple[str | None, str]]:
        """(id, status) of every receipted item so far, in arrival order."""
        with self._arrived:
            return [(i.id, i.status.value) for r in self.receipts for i in r.items]

    def wait_for_items(self, count: int) -> list[tuple[str | None, str]]:
        with self._arrived:
            self._arrived.wait_for(
                lambda: sum(len(r.items) for r in self.receipts) >= count, timeout=DEADLINE_S
            )
        items = self.items()
        assert len(items) >= count, f"only these receipts arrived in {DEADLINE_S} s: {items}"
        return items

    def close(self) -> None:
        self.client.disconnect()
        self.client.loop_stop()


@pytest.fixture
def gateways(mosquitto_address: ServiceAddress, prefix: str) -> Iterator[Gateways]:
    side = Gateways(mosquitto_address, prefix)
    yield side
    side.close()


@pytest.fixture
def make_consumer(
    mosquitto_address: ServiceAddress, sessions: sessionmaker[Session], prefix: str
) -> Iterator[Callable[..., tuple[IngestConsumer, WatchedCounters]]]:
    """Start consumers (same client id by default: a restart resumes the persistent session)."""
    started: list[IngestConsumer] = []
    broker = BrokerAddress(mosquitto_address.host, mosquitto_address.port)

    def make(
        before_commit: Callable[[Sequence[Incoming]], None] | None = None,
        batch_ms: int = 20,
        stall_after_s: float = 60.0,
        on: sessionmaker[Session] = sessions,
    ) -> tuple[IngestConsumer, WatchedCounters]:
        settings = Settings(
            demo=True,
            ingest_batch_ms=batch_ms,
            mqtt_session_expiry_s=120,
            ingest_stall_after_s=stall_after_s,
        )
        counters = WatchedCounters()
        consumer = IngestConsumer(
            settings,
            on,
            broker,
            client_id=f"{prefix}triage",
            topic_prefix=prefix,
            counters=counters,
            before_commit=before_commit,
        )
        consumer.start()
        started.append(consumer)
        assert consumer.wait_until_subscribed(DEADLINE_S), "the consumer did not subscribe"
        return consumer, counters

    yield make
    for consumer in started:
        if not consumer._aborted:
            consumer.stop(timeout=5)


def poll_until(predicate: Callable[[], bool], timeout: float = DEADLINE_S) -> bool:
    """Check ``predicate`` every 10 ms until it holds or ``timeout`` passes."""
    deadline = time.monotonic() + timeout
    pause = threading.Event()
    while not predicate():
        if time.monotonic() >= deadline:
            return False
        pause.wait(0.01)
    return True


def reading(id_: str, spo2: float = 95) -> bytes:
    now = datetime.now(UTC)
    return json.dumps(
        {
            "schema": "dho.reading/1",
            "id": id_,
            "kind": "spo2",
            "measured_at": (now - timedelta(seconds=5)).isoformat(),
            "received_at": now.isoformat(),
            "values": {"spo2": spo2, "pulse": 70},
        }
    ).encode()


def stored_count(sessions: sessionmaker[Session], id_: str | None = None) -> int:
    with sessions() as session:
        query = select(func.count()).select_from(ReadingRow)
        if id_ is not None:
            query = query.where(ReadingRow.id == id_)
        return session.scalar(query) or 0


@pytest.mark.parametrize("engine", ["sqlite", "postgresql"], indirect=True)
def test_a_published_reading_is_stored_and_receipted(
    world: World,
    sessions: sessionmaker[Session],
    gateways: Gateways,
    make_consumer: Callable[..., tuple[IngestConsumer, WatchedCounters]],
) -> None:
    """The patient's tablet publishes an SpO2 of 86 % and gets back "stored, red" with the
    plan's advice; the reading is in the database and the gateway was seen."""
    patient = world.patients[Condition.COPD]
    consumer, _ = make_consumer()

    gateways.publish(patient.gateway_id, reading("mq-1", spo2=86))

    assert gateways.wait_for_items(1) == [("mq-1", "stored")]
    item = gateways.receipts[0].items[0]
    assert item.colour == "red"
    assert item.advice == patient.plan.actions[Colour.RED].patient
    assert stored_count(sessions, "mq-1") == 1
    with sessions() as session:
        row = session.get(GatewayRow, patient.gateway_id)
        assert row is not None
        assert row.last_seen_at is not None
    stats = consumer.stats()
    assert (stats["stored"], stats["mqtt.acked"], stats["mqtt.receipts"]) == (1, 1, 1)


@SQLITE
@pytest.mark.parametrize("crash", ["before_commit", "after_commit"])
def test_a_killed_consumer_gets_the_message_again_and_stores_it_once(
    world: World,
    sessions: sessionmaker[Session],
    gateways: Gateways,
    make_consumer: Callable[..., tuple[IngestConsumer, WatchedCounters]],
    crash: str,
) -> None:
    """The service dies with a reading received but not acknowledged (before or after its
    commit); after a restart the broker redelivers it and it is in the database exactly once."""
    gw = world.patients[Condition.COPD].gateway_id
    reached = threading.Event()
    release = threading.Event()

    def die_here(_messages: Sequence[Incoming]) -> None:
        reached.set()
        assert release.wait(DEADLINE_S)
        if crash == "before_commit":
            raise Crash  # the transaction is never committed

    first, _ = make_consumer(before_commit=die_here)
    gateways.publish(gw, reading("crash-1", spo2=89))
    assert reached.wait(DEADLINE_S), "the consumer never got the reading"
    first.abort()  # no ack, no DISCONNECT
    release.set()
    if crash == "after_commit":
        expected = "duplicate"
        assert first._worker is not None
        first._worker.join(DEADLINE_S)
        assert stored_count(sessions, "crash-1") == 1
    else:
        expected = "stored"
        assert stored_count(sessions, "crash-1") == 0
    assert gateways.items() == []  # a dead consumer sends no receipt

    _, counters = make_consumer()
    assert gateways.wait_for_items(1) == [("crash-1", expected)]
    assert counters.snapshot()["received"] == 1
    assert stored_count(sessions, "crash-1") == 1
    assert gateways.receipts[0].items[0].colour == "yellow"


@SQLITE
def test_a_repeated_id_is_answered_duplicate(
    world: World,
    sessions: sessionmaker[Session],
    gateways: Gateways,
    make_consumer: Callable[..., tuple[IngestConsumer, WatchedCounters]],
) -> None:
    """A gateway that did not see its receipt sends the reading again: it is told "duplicate"
    (with the same colour) and the reading is stored once."""
    gw = world.patients[Condition.COPD].gateway_id
    make_consumer()
    gateways.publish(gw, reading("again-1", spo2=90))
    gateways.wait_for_items(1)
    gateways.publish(gw, reading("again-1", spo2=90))
    assert gateways.wait_for_items(2) == [("again-1", "stored"), ("again-1", "duplicate")]
    assert [r.items[0].colour for r in gateways.receipts] == ["yellow", "yellow"]
    assert stored_count(sessions) == 1


@SQLITE
def test_malformed_json_is_dead_lettered_and_the_next_reading_is_stored(
    world: World,
    sessions: sessionmaker[Session],
    gateways: Gateways,
    make_consumer: Callable[..., tuple[IngestConsumer, WatchedCounters]],
) -> None:
    """Garbage on the wire does not stop ingest: it is kept as a dead letter with the topic and
    the raw bytes, the gateway is told, and the next good reading is stored."""
    gw = world.patients[Condition.COPD].gateway_id
    _, counters = make_consumer()
    garbage = b'{"schema": "dho.reading/1", "id": "half'
    gateways.publish(gw, garbage)
    gateways.publish(gw, reading("after-garbage"))
    items = gateways.wait_for_items(2)
    assert items == [(None, "rejected"), ("after-garbage", "stored")]
    assert counters.snapshot()["rejected.malformed_json"] == 1
    with sessions() as session:
        letter = session.scalars(select(DeadLetterRow)).one()
        assert (letter.reason_code, letter.payload, letter.gateway_id) == (
            "malformed_json",
            garbage,
            gw,
        )
        assert letter.topic == f"dho/v1/{gw}/readings"
    assert stored_count(sessions, "after-garbage") == 1


@SQLITE
def test_stop_drains_the_batch_in_flight(
    world: World,
    sessions: sessionmaker[Session],
    gateways: Gateways,
    make_consumer: Callable[..., tuple[IngestConsumer, WatchedCounters]],
) -> None:
    """A planned restart loses nothing and repeats nothing: what the service had received is
    committed, acknowledged and receipted before it disconnects."""
    gw = world.patients[Condition.COPD].gateway_id
    consumer, _ = make_consumer(batch_ms=60_000)  # would wait a minute for a full batch
    for i in range(5):
        gateways.publish(gw, reading(f"drain-{i}"))
    assert poll_until(lambda: consumer.stats()["mqtt.queued"] == 5), "the readings never arrived"
    assert stored_count(sessions) == 0

    consumer.stop(timeout=DEADLINE_S)

    assert stored_count(sessions) == 5
    assert sorted(gateways.wait_for_items(5)) == [(f"drain-{i}", "stored") for i in range(5)]
    # after the restart only the new reading arrives: the drained ones were acknowledged
    _, counters = make_consumer()
    gateways.publish(gw, reading("after-restart"))
    assert counters.wait_for("received", 1)
    assert gateways.wait_for_items(6)[-1] == ("after-restart", "stored")
    assert counters.snapshot()["received"] == 1


@SQLITE
def test_the_gateway_last_will_marks_it_offline(
    world: World,
    sessions: sessionmaker[Session],
    mosquitto_address: ServiceAddress,
    prefix: str,
    make_consumer: Callable[..., tuple[IngestConsumer, WatchedCounters]],
) -> None:
    """The centre sees a hub online while it is connected and offline once it drops off (its
    last will), without the hub saying goodbye."""
    gw = world.patients[Condition.COPD].gateway_id
    _, counters = make_consumer()
    status_topic = f"{prefix}dho/v1/{gw}/status"
    hub = mqtt.Client(
        CallbackAPIVersion.VERSION2, client_id=f"{prefix}hub", protocol=MQTTProtocolVersion.MQTTv5
    )
    hub.will_set(status_topic, b'{"online": false}', qos=1, retain=True)
    hub.connect(mosquitto_address.host, mosquitto_address.port)
    hub.loop_start()
    hub.publish(status_topic, b'{"online": true, "app": "1.2"}', qos=1, retain=True)
    assert counters.wait_for("applied", 1)
    with sessions() as session:
        row = session.get(GatewayRow, gw)
        assert row is not None
        assert (row.online, row.status) == (True, {"online": True, "app": "1.2"})

    hub.loop_stop()
    sock = hub.socket()
    assert sock is not None
    sock.close()  # the hub loses power
    assert counters.wait_for("applied", 2)
    with sessions() as session:
        row = session.get(GatewayRow, gw)
        assert row is not None
        assert row.online is False
    cleanup = mqtt.Client(CallbackAPIVersion.VERSION2, protocol=MQTTProtocolVersion.MQTTv5)
    cleanup.connect(mosquitto_address.host, mosquitto_address.port)
    cleanup.loop_start()
    cleanup.publish(status_topic, b"", qos=1, retain=True).wait_for_publish(DEADLINE_S)
    cleanup.disconnect()
    cleanup.loop_stop()


@pytest.mark.parametrize("engine", ["sqlite"], indirect=True)
def test_a_second_worker_with_the_same_client_id_is_reported(
    make_consumer: Callable[..., tuple[IngestConsumer, WatchedCounters]],
    caplog: pytest.LogCaptureFixture,
) -> None:
    """Two ingest workers started with one client id throw each other off the broker; the log
    says that each worker needs its own DHO_MQTT_CLIENT_ID."""
    first, _ = make_consumer()
    with caplog.at_level(logging.ERROR, logger="triage.ingest.mqtt_consumer"):
        make_consumer()
        assert poll_until(lambda: first.stats().get("mqtt.session_taken_over", 0) >= 1)
    warnings = [r.getMessage() for r in caplog.records if "keeps ending" in r.getMessage()]
    assert warnings, "no warning about the shared client id"
    assert warnings[0].startswith(
        f"the broker keeps ending this worker's connection (client id '{first.client_id}', last: "
    )
    assert warnings[0].endswith(
        "most often another client connected with the same client id and took the session "
        "over. Every ingest worker needs its own broker login (DHO_MQTT_URL's user; DHO's "
        "broker uses the login as the client id) and DHO_MQTT_CLIENT_ID."
    )


# ----------------------------------------------------------------------------- poison


@pytest.mark.parametrize("engine", ["sqlite", "postgresql"], indirect=True)
def test_a_reading_with_a_nul_in_its_id_stops_no_ones_readings(
    world: World,
    sessions: sessionmaker[Session],
    gateways: Gateways,
    make_consumer: Callable[..., tuple[IngestConsumer, WatchedCounters]],
) -> None:
    """A reading whose id holds a NUL character (PostgreSQL cannot store one in text) arrives
    between other gateways' readings: every good reading is stored, the bad one is kept as a
    dead letter with its bytes, and its gateway is told `rejected` under the id it sent."""
    copd, heart, diabetes = (
        world.patients[c].gateway_id
        for c in (Condition.COPD, Condition.HEART_FAILURE, Condition.DIABETES)
    )
    make_consumer()
    poison = reading("poison\x00id")
    for gateway_id, id_ in [(heart, "hf-1"), (diabetes, "db-1"), (copd, "copd-1")]:
        gateways.publish(gateway_id, reading(id_))
    gateways.publish(copd, poison)
    for gateway_id, id_ in [(heart, "hf-2"), (diabetes, "db-2"), (copd, "copd-2")]:
        gateways.publish(gateway_id, reading(id_))

    items = gateways.wait_for_items(7)

    assert sorted(items, key=str) == sorted(
        [(i, "stored") for i in ("hf-1", "db-1", "copd-1", "hf-2", "db-2", "copd-2")]
        + [("poison\x00id", "rejected")],
        key=str,
    )
    assert stored_count(sessions) == 6
    [rejected] = [i for r in gateways.receipts for i in r.items if i.status == "rejected"]
    assert rejected.reason_code == "schema"
    assert rejected.reason is not None
    assert rejected.reason == "not a valid dho.reading/1: id: contains a NUL character (\\u0000)"
    with sessions() as session:
        letter = session.scalars(select(DeadLetterRow)).one()
    assert (letter.payload, letter.reason_code, letter.gateway_id) == (poison, "schema", copd)
    assert letter.message_id == "poison\ufffdid"


@pytest.mark.parametrize("engine", ["sqlite", "postgresql"], indirect=True)
def test_every_hostile_payload_through_the_broker_stops_nothing(
    world: World,
    sessions: sessionmaker[Session],
    gateways: Gateways,
    make_consumer: Callable[..., tuple[IngestConsumer, WatchedCounters]],
) -> None:
    """The whole hostile corpus (NUL, lone surrogates, bytes that are not UTF-8, 10,000-deep
    nesting, 1e400, duplicate keys, and a bad value in every field of readings, reports and
    status), each followed by a good reading, through the real broker and consumer: every bad
    message is dead-lettered with its bytes and answered `rejected` (status messages get no
    receipt), every good one is stored."""
    gw = world.patients[Condition.COPD].gateway_id
    cases = bad_inputs.cases(datetime.now(UTC) - timedelta(minutes=1))
    _, counters = make_consumer()
    for n, name in enumerate(sorted(cases)):
        gateways.publish(gw, cases[name].payload, cases[name].channel)
        gateways.publish(gw, reading(f"good-{n}"))
    receipted = len(cases) + sum(1 for c in cases.values() if c.channel != "status")

    items = gateways.wait_for_items(receipted)

    assert len(items) == receipted
    assert sorted(str(i) for i, status in items if status == "stored") == sorted(
        f"good-{n}" for n in range(len(cases))
    )
    rejected = [i for r in gateways.receipts for i in r.items if i.status == "rejected"]
    assert all(i.reason_code in ("schema", "malformed_json", "questionnaire") for i in rejected)
    assert all(i.reason for i in rejected)
    assert counters.wait_for("rejected", len(cases))
    with sessions() as session:
        payloads = {letter.payload for letter in session.scalars(select(DeadLetterRow))}
    assert payloads == {case.payload for case in cases.values()}
    assert stored_count(sessions) == len(cases)


# ----------------------------------------------------------------------------- stalls


def _stalled_metric(text: str, client_id: str) -> str | None:
    for line in text.splitlines():
        if line.startswith(f'dho_ingest_stalled{{client_id="{client_id}"}} '):
            return line.rsplit(" ", 1)[1]
    return None


@SQLITE
def test_a_consumer_that_commits_nothing_while_messages_wait_shows_on_health_and_metrics(
    world: World,
    sessions: sessionmaker[Session],
    gateways: Gateways,
    make_consumer: Callable[..., tuple[IngestConsumer, WatchedCounters]],
) -> None:
    """While a commit hangs with readings waiting, the service's /health says `degraded` with
    why, /ready still serves but reports it, the API's and the lone worker's /metrics say
    dho_ingest_stalled 1 and the worker's /health answers 503; once the commit goes through,
    all say ok again."""
    hang = threading.Event()
    hanging = threading.Event()

    def hold(_batch: Sequence[Incoming]) -> None:
        if not hang.is_set():
            hanging.set()
            assert hang.wait(DEADLINE_S)

    consumer, _ = make_consumer(before_commit=hold, stall_after_s=0.5)
    app = create_app(
        Settings(demo=True),
        sessions,
        broker_check=consumer_health(consumer),
        ingest_check=consumer_progress(consumer),
    )
    server = ApiServer(app, "127.0.0.1", 0)
    server.start()
    worker = MetricsServer("127.0.0.1", 0, lambda: consumer.connected, consumer.stalled)
    worker.start()
    try:
        with (
            httpx.Client(base_url=server.url, timeout=30) as api,
            httpx.Client(base_url=f"http://127.0.0.1:{worker.port}", timeout=30) as lone,
        ):
            assert api.get("/api/v1/health").json()["status"] == "ok"
            gateways.publish(world.patients[Condition.COPD].gateway_id, reading("stuck-1"))
            assert hanging.wait(DEADLINE_S), "the consumer never got the reading"
            assert poll_until(lambda: consumer.stalled()[0]), "never reported stalled"

            health = api.get("/api/v1/health").json()
            ready = api.get("/api/v1/ready")
            metrics = api.get("/api/v1/metrics").text
            lone_health = lone.get("/health")
            lone_metrics = lone.get("/metrics").text

            assert health["status"] == "degraded"
            assert health["ingest"]["ok"] is False
            assert "ingest has committed nothing for" in health["ingest"]["detail"]
            assert "DHO_INGEST_STALL_AFTER_S=0.5" in health["ingest"]["detail"]
            assert ready.status_code == 200
            assert ready.json()["ingest"]["ok"] is False
            assert _stalled_metric(metrics, consumer.client_id) == "1"
            assert _stalled_metric(lone_metrics, consumer.client_id) == "1"
            assert "dho_ingest_seconds_since_progress" in lone_metrics
            assert (lone_health.status_code, lone_health.json()["status"]) == (503, "stalled")

            hang.set()
            assert poll_until(lambda: stored_count(sessions, "stuck-1") == 1)
            assert poll_until(lambda: not consumer.stalled()[0])
            assert api.get("/api/v1/health").json()["status"] == "ok"
            assert _stalled_metric(lone.get("/metrics").text, consumer.client_id) == "0"
            assert lone.get("/health").status_code == 200
    finally:
        hang.set()
        worker.stop()
        server.stop()


@SQLITE
def test_an_unreachable_database_stalls_ingest_but_acknowledges_nothing(
    world: World,
    sessions: sessionmaker[Session],
    gateways: Gateways,
    make_consumer: Callable[..., tuple[IngestConsumer, WatchedCounters]],
) -> None:
    """With the database unreachable, the worker reports itself stalled and acknowledges
    nothing (no dead letter, no receipt): a worker on a database that answers gets the reading
    from the broker and stores it."""
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    down = make_engine(f"postgresql+psycopg://dho@127.0.0.1:{port}/dho?connect_timeout=2")
    try:
        consumer, _ = make_consumer(stall_after_s=0.5, on=session_factory(down))
        gateways.publish(world.patients[Condition.COPD].gateway_id, reading("waits-1"))
        assert poll_until(lambda: consumer.stalled()[0]), "never reported stalled"
        assert consumer.stats().get("mqtt.acked", 0) == 0
        consumer.stop(timeout=1)
    finally:
        down.dispose()
    assert gateways.items() == []

    make_consumer()

    assert gateways.wait_for_items(1) == [("waits-1", "stored")]
    with sessions() as session:
        assert session.scalars(select(DeadLetterRow)).all() == []
