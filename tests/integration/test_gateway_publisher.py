"""The gateway's outbox drained through the real Mosquitto into the real triage service: each
reading stored once, the outbox pruned only by receipts, a rejected one kept with its reason,
and everything pending republished at once when the connection comes back."""

from __future__ import annotations

import json
import os
import queue
import threading
from datetime import UTC, datetime, timedelta
from pathlib import Path

import paho.mqtt.client as mqtt
import pytest
from paho.mqtt.enums import CallbackAPIVersion, MQTTProtocolVersion
from paho.mqtt.packettypes import PacketTypes
from paho.mqtt.properties import Properties
from sqlalchemy.orm import Session, sessionmaker

from gateway.outbox import Channel, Outbox
from gateway.publisher import Publisher
from tests import services
from tests.integration.conftest import start_ingest
from tests.integration.test_ingest_mqtt import poll_until, stored_count
from tests.integration.world import World
from tests.services import ServiceAddress
from triage.broker import find_mosquitto, start_broker
from triage.broker.credentials import gateway_credentials
from triage.broker.embedded import free_port
from triage.config import Settings
from triage.domain.plan import Condition
from triage.ingest import BrokerAddress, IngestConsumer

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
        assert stored_count(sessions) == 2
        [rejected] = outbox.rejected()
        assert (rejected.id, rejected.reason_code) == ("g-bad", "implausible")

        # the same reading measured again (a cuff resending its memory) is answered
        # "duplicate" and pruned, and stored once
        outbox.add(Channel.READINGS, "g-1", spo2("g-1", 95), datetime.now(UTC))
        assert publisher.drain_once() == 1
        assert poll_until(lambda: outbox.depth() == 0)
        assert stored_count(sessions) == 2
    finally:
        publisher.stop()
        outbox.close()


@SQLITE
def test_a_message_too_large_for_the_service_is_never_published_and_shows_as_rejected(
    tmp_path: Path,
    world: World,
    sessions: sessionmaker[Session],
    mosquitto_address: ServiceAddress,
    prefix: str,
    service: IngestConsumer,
) -> None:
    """A 300 KB reading in the outbox (kept by an older gateway: above the broker's
    max_packet_size, which drops it with no receipt and no dead letter) is not published and
    not retried: it is marked rejected (too_large) in the outbox for the status page, and the
    reading behind it is stored."""
    gateway_id = world.patients[Condition.COPD].gateway_id
    outbox = Outbox(tmp_path / "outbox.sqlite3")
    now = datetime.now(UTC)
    huge = json.loads(spo2("huge-1", 95))
    huge["device"]["model"] = "M" * 300_000
    outbox.add(Channel.READINGS, "huge-1", json.dumps(huge).encode(), now)
    outbox.add(Channel.READINGS, "fine-1", spo2("fine-1", 96), now)
    publisher = Publisher(
        outbox, gateway_id, mosquitto_address.host, mosquitto_address.port, topic_prefix=prefix
    )
    publisher.start()
    try:
        assert publisher.wait_until_ready(DEADLINE_S)
        assert publisher.drain_once() == 1
        assert poll_until(lambda: outbox.depth() == 0), "no receipt for the reading behind it"
        assert stored_count(sessions, "fine-1") == 1
        [rejected] = outbox.rejected()
        assert (rejected.id, rejected.reason_code) == ("huge-1", "too_large")
        assert rejected.reason is not None
        assert rejected.reason.startswith("the message is 300")
        assert publisher.drain_once() == 0  # never again
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
            assert stored_count(sessions) == 5
        finally:
            back.stop(timeout=5)
    finally:
        publisher.stop()
        outbox.close()


@SQLITE
def test_after_a_reconnect_every_pending_message_is_republished_at_once_in_order(
    tmp_path: Path, world: World, sessions: sessionmaker[Session]
) -> None:
    """A long outage: the gateway published five readings again and again while no service
    session existed at the broker, which dropped them, so each waits in the outbox with a
    back-off at its 15-minute cap. When the broker comes back (restarted, the service subscribed
    by then), the gateway republishes all five at once, oldest first, in batches of two, and
    each is stored once. The gateway's clock stands still: no back-off runs out in this test."""
    mosquitto = find_mosquitto("mosquitto")
    if mosquitto is None:
        services.service_unavailable("Mosquitto is not installed", os.environ.get("CI"))
    broker_settings = Settings(
        data_dir=tmp_path / "broker",
        demo=True,
        broker_port=free_port(),
        mosquitto_path=str(mosquitto),
        broker_worker_logins=["dho-observer"],  # the broker binds client ids to logins
    )
    with sessions() as session:
        logins = gateway_credentials(session)
    url, broker = start_broker(broker_settings, logins)  # this test's own: no topic prefix
    assert broker is not None
    assert broker.kind == "mosquitto"
    address = BrokerAddress.from_url(url)
    gateway_id = world.patients[Condition.COPD].gateway_id
    prefix = ""
    clock = [datetime.now(UTC)]
    outbox = Outbox(tmp_path / "outbox.sqlite3")
    ids = [f"lost-{i}" for i in range(5)]
    for i, id_ in enumerate(ids):
        outbox.add(Channel.READINGS, id_, spo2(id_, 93 + i), clock[0] + timedelta(seconds=i))
    publisher = Publisher(
        outbox,
        gateway_id,
        address.host,
        address.port,
        username=gateway_id,
        password=world.patients[Condition.COPD].gateway_secret,
        topic_prefix=prefix,
        clock=lambda: clock[0],
        batch=2,
    )
    service: IngestConsumer | None = None
    observer: ObservingClient | None = None
    try:
        publisher.start()
        assert publisher.wait_until_ready(DEADLINE_S)
        for _ in range(10):  # published ten times over hours; nobody subscribed: all dropped
            while publisher.drain_once():
                pass
            clock[0] += timedelta(minutes=20)
        clock[0] -= timedelta(minutes=20)  # the gateway's clock stays at the last publish
        pending = outbox.pending_after(0)
        assert [m.id for m in pending] == ids
        assert min(m.attempts for m in pending) >= 9  # back-off at its cap: 15 min or more
        assert outbox.due(clock[0]) == []

        service = start_ingest(sessions, address, prefix)
        observer_url = url.replace("dho-service:", "dho-observer:", 1)
        observer = ObservingClient(observer_url, "dho-observer", "dho/v1/+/readings")
        assert publisher.drain_once() == 0  # nothing is due: without a reconnect, nothing goes
        assert stored_count(sessions) == 0

        broker.stop()
        url_again, broker = start_broker(broker_settings, logins)  # same port, sessions on disk
        assert url_again == url

        assert poll_until(lambda: drained(publisher, outbox), timeout=60), (
            f"still pending after the reconnect: {[m.id for m in outbox.pending_after(0)]}"
        )
        assert observer.ids(len(ids)) == ids  # each once, in measurement order
        assert stored_count(sessions) == len(ids)
    finally:
        publisher.stop()
        if observer is not None:
            observer.close()
        if service is not None:
            service.stop(timeout=5)
        outbox.close()
        if broker is not None:
            broker.stop()


def drained(publisher: Publisher, outbox: Outbox) -> bool:
    """Drive the gateway's drain loop one step; whether its outbox is empty."""
    publisher.drain_once()
    return outbox.depth() == 0


class ObservingClient:
    """A subscriber with a persistent session (kept across a broker restart) that records the
    ids of the readings it receives, in arrival order."""

    def __init__(self, url: str, client_id: str, topic: str) -> None:
        endpoint = BrokerAddress.from_url(url)
        self.received: queue.Queue[str] = queue.Queue()
        subscribed = threading.Event()
        self.client = mqtt.Client(
            CallbackAPIVersion.VERSION2, client_id=client_id, protocol=MQTTProtocolVersion.MQTTv5
        )
        if endpoint.username:
            self.client.username_pw_set(endpoint.username, endpoint.password)
        self.client.on_connect = lambda c, *_: c.subscribe(topic, qos=1)
        self.client.on_subscribe = lambda *_: subscribed.set()
        self.client.on_message = lambda _c, _u, m: self.received.put(json.loads(m.payload)["id"])
        properties = Properties(PacketTypes.CONNECT)  # type: ignore[no-untyped-call]
        properties.SessionExpiryInterval = 600
        self.client.connect(endpoint.host, endpoint.port, clean_start=False, properties=properties)
        self.client.loop_start()
        assert subscribed.wait(DEADLINE_S), "the observer did not subscribe"

    def ids(self, count: int) -> list[str]:
        """The first ``count`` ids received (waiting for each up to the deadline), then any
        more that already arrived."""
        ids = [self.received.get(timeout=DEADLINE_S) for _ in range(count)]
        while not self.received.empty():
            ids.append(self.received.get_nowait())
        return ids

    def close(self) -> None:
        self.client.disconnect()
        self.client.loop_stop()
