"""Which MQTT version the gateway and ingest speak: MQTT 5 unless told the broker speaks only
3.1.1 (the amqtt broker of a demo without Mosquitto), and what 3.1.1 cannot do is refused."""

from __future__ import annotations

from pathlib import Path

import pytest
from paho.mqtt.enums import MQTTProtocolVersion
from pydantic import ValidationError
from sqlalchemy.orm import sessionmaker

from gateway.config import GatewaySettings
from gateway.outbox import Outbox
from gateway.publisher import MqttVersion, Publisher
from triage.broker import MqttProtocol
from triage.config import Settings
from triage.ingest import BrokerAddress, IngestConsumer

BROKER = BrokerAddress("127.0.0.1", 1883)


@pytest.fixture(autouse=True)
def no_protocol_setting(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("DHO_GATEWAY_MQTT_PROTOCOL", raising=False)


def test_the_gateway_speaks_mqtt_5_unless_told_otherwise(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    assert GatewaySettings().mqtt_protocol is MqttVersion.V5
    outbox = Outbox(tmp_path / "outbox.sqlite3")
    try:
        publisher = Publisher(outbox, "gw-1", "127.0.0.1")
        assert publisher.client.protocol == MQTTProtocolVersion.MQTTv5

        monkeypatch.setenv("DHO_GATEWAY_MQTT_PROTOCOL", "3.1.1")
        settings = GatewaySettings()
        assert settings.mqtt_protocol is MqttVersion.V311
        older = Publisher(outbox, "gw-1", "127.0.0.1", protocol=settings.mqtt_protocol)
        assert older.client.protocol == MQTTProtocolVersion.MQTTv311
    finally:
        outbox.close()


def test_an_unknown_mqtt_version_for_the_gateway_is_refused_naming_the_choices(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setenv("DHO_GATEWAY_MQTT_PROTOCOL", "3")
    with pytest.raises(ValidationError, match=r"mqtt_protocol\n  Input should be '5' or '3.1.1'"):
        GatewaySettings()


def test_ingest_speaks_mqtt_5_unless_the_broker_speaks_only_3_1_1() -> None:
    settings = Settings(demo=True)
    consumer = IngestConsumer(settings, sessionmaker(), BROKER)
    assert consumer.protocol is MqttProtocol.V5
    assert consumer.client.protocol == MQTTProtocolVersion.MQTTv5
    older = IngestConsumer(settings, sessionmaker(), BROKER, protocol=MqttProtocol.V311)
    assert older.client.protocol == MQTTProtocolVersion.MQTTv311
    assert older.subscriptions() == [
        "dho/v1/+/readings",
        "dho/v1/+/reports",
        "dho/v1/+/status",
        "dho/v1/+/calls",
        "dho/v1/+/message-reads",
    ]


def test_a_shared_subscription_needs_mqtt_5() -> None:
    """Several ingest workers share the load with MQTT 5 shared subscriptions; on a 3.1.1
    broker the setting is refused with what to do instead of being silently ignored."""
    settings = Settings(demo=True, mqtt_shared_group="triage")
    shared = IngestConsumer(settings, sessionmaker(), BROKER)
    assert shared.subscriptions()[0] == "$share/triage/dho/v1/+/readings"
    with pytest.raises(ValueError, match=r"DHO_MQTT_SHARED_GROUP='triage' needs MQTT 5 shared"):
        IngestConsumer(settings, sessionmaker(), BROKER, protocol=MqttProtocol.V311)
