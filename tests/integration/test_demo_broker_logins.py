"""The demo's broker is no weaker than production: the embedded Mosquitto and the amqtt fallback
both check each gateway's password, keep each gateway to its own topics and bind the client id
to the login (docs/operator-broker.md, "The ACL"). Real brokers started as ``dho serve --demo``
starts them, the real ingest consumer, a real database."""

from __future__ import annotations

import queue
from collections.abc import Iterator
from pathlib import Path

import paho.mqtt.client as mqtt
import pytest
from paho.mqtt.enums import CallbackAPIVersion
from paho.mqtt.reasoncodes import ReasonCode
from sqlalchemy import func, select
from sqlalchemy.orm import Session, sessionmaker

from tests.integration.test_gateway_publisher import spo2
from tests.integration.test_ingest_mqtt import poll_until
from tests.integration.world import World
from triage.broker import MqttEndpoint, MqttProtocol, find_mosquitto, probe_broker
from triage.config import Settings
from triage.domain.plan import Condition
from triage.service import BrokerConnection, open_broker, start_consumer
from triage.storage.models import ReadingRow

DEADLINE_S = 15.0
#: The demo's broker, both ways (indirect: the ``demo_broker`` fixture starts it).
BROKERS = pytest.mark.parametrize("demo_broker", ["mosquitto", "amqtt"], indirect=True)


@pytest.fixture
def demo_broker(
    request: pytest.FixtureRequest, tmp_path: Path, sessions: sessionmaker[Session], world: World
) -> Iterator[BrokerConnection]:
    """The embedded broker of `dho serve` in demo mode, with the world's gateways registered:
    Mosquitto, or amqtt when Mosquitto is "missing" (an empty DHO_MOSQUITTO_PATH)."""
    kind = request.param
    if kind == "mosquitto" and find_mosquitto("mosquitto") is None:
        pytest.skip("Mosquitto is not installed")
    settings = Settings(
        data_dir=tmp_path, demo=True, mosquitto_path="mosquitto" if kind == "mosquitto" else ""
    )
    broker = open_broker(settings, sessions)
    assert broker.embedded is not None
    assert broker.embedded.kind == kind
    yield broker
    broker.stop()


class Gateway:
    """A raw MQTT client logging in as a gateway (any client id, any topic)."""

    def __init__(self, broker: BrokerConnection, username: str, password: str, client_id: str):
        endpoint = MqttEndpoint.parse(broker.url)
        self.connected: queue.Queue[ReasonCode] = queue.Queue()
        self.client = mqtt.Client(
            CallbackAPIVersion.VERSION2, client_id=client_id, protocol=broker.protocol.paho
        )
        self.client.username_pw_set(username, password)
        self.client.on_connect = lambda _c, _u, _f, rc, _p: self.connected.put(rc)
        self.client.connect(endpoint.host, endpoint.port)
        self.client.loop_start()

    def publish(self, topic: str, payload: bytes) -> None:
        self.client.publish(topic, payload, qos=1).wait_for_publish(DEADLINE_S)

    def close(self) -> None:
        self.client.disconnect()
        self.client.loop_stop()


def readings_of(sessions: sessionmaker[Session], patient_id: str) -> int:
    with sessions() as session:
        query = select(func.count()).select_from(ReadingRow)
        return session.scalar(query.where(ReadingRow.patient_id == patient_id)) or 0


@BROKERS
@pytest.mark.parametrize("engine", ["sqlite"], indirect=True)
def test_in_the_demo_a_gateway_cannot_publish_for_another_gateways_patient(
    demo_broker: BrokerConnection, sessions: sessionmaker[Session], world: World
) -> None:
    """Gateway A's login publishes a reading on gateway B's topic: the demo broker drops it and
    nothing is stored for B's patient, while A's own reading is stored."""
    a = world.patients[Condition.COPD]
    b = world.patients[Condition.HEART_FAILURE]
    consumer = start_consumer(Settings(demo=True, ingest_batch_ms=20), sessions, demo_broker)
    gateway = Gateway(demo_broker, a.gateway_id, a.gateway_secret, a.gateway_id)
    try:
        assert consumer.wait_until_subscribed(DEADLINE_S), "ingest did not subscribe"
        assert not gateway.connected.get(timeout=DEADLINE_S).is_failure
        gateway.publish(f"dho/v1/{b.gateway_id}/readings", spo2("forged-1", 97))
        gateway.publish(f"dho/v1/{a.gateway_id}/readings", spo2("own-1", 95))
        assert poll_until(lambda: readings_of(sessions, a.id) == 1, DEADLINE_S), (
            "A's own reading was not stored"
        )
        assert readings_of(sessions, b.id) == 0
    finally:
        gateway.close()
        consumer.stop(timeout=5)


@BROKERS
@pytest.mark.parametrize("engine", ["sqlite"], indirect=True)
def test_the_demo_broker_refuses_anonymous_clients_and_wrong_passwords(
    demo_broker: BrokerConnection, world: World
) -> None:
    """No anonymous client and no wrong password gets in; the registered gateway does."""
    a = world.patients[Condition.COPD]
    port = MqttEndpoint.parse(demo_broker.url).port
    protocol = demo_broker.protocol

    def login(credentials: str) -> bool:
        answer = probe_broker(f"mqtt://{credentials}127.0.0.1:{port}", protocol, timeout_s=5)
        return isinstance(answer, ReasonCode) and not answer.is_failure

    assert login(f"{a.gateway_id}:{a.gateway_secret}@")
    assert not login("")
    assert not login(f"{a.gateway_id}:wrong-secret@")
    assert not login("anybody:anything@")


@pytest.mark.parametrize("engine", ["sqlite"], indirect=True)
def test_amqtt_refuses_a_client_id_that_is_not_the_login(
    tmp_path: Path, sessions: sessionmaker[Session], world: World
) -> None:
    """amqtt cannot replace a client id with the login as Mosquitto does: it refuses one that
    differs, so a gateway's login cannot connect under the service's client id."""
    broker = open_broker(Settings(data_dir=tmp_path, demo=True, mosquitto_path=""), sessions)
    a = world.patients[Condition.COPD]
    try:
        assert broker.protocol is MqttProtocol.V311
        taker = Gateway(broker, a.gateway_id, a.gateway_secret, "dho-service")
        try:
            assert taker.connected.get(timeout=DEADLINE_S).is_failure
        finally:
            taker.close()
        own = Gateway(broker, a.gateway_id, a.gateway_secret, a.gateway_id)
        try:
            assert not own.connected.get(timeout=DEADLINE_S).is_failure
        finally:
            own.close()
    finally:
        broker.stop()
