"""The ingest queue lag on /metrics: what an operator watches when the database is slow."""

from __future__ import annotations

import re

import httpx
import paho.mqtt.client as mqtt
from sqlalchemy.orm import Session, sessionmaker

from tests.integration.api.conftest import SETTINGS
from triage.ingest.mqtt_consumer import RUNNING, BrokerAddress, IngestConsumer


def test_waiting_messages_and_their_age_are_exposed(
    http: httpx.Client, sessions: sessionmaker[Session]
) -> None:
    """A consumer holding two received messages its worker has not taken yet (it was never
    started, as if the worker were stuck) shows a depth of 2 and a growing age."""
    consumer = IngestConsumer(
        SETTINGS, sessions, BrokerAddress("127.0.0.1"), client_id="dho-test-lag"
    )
    for mid in (1, 2):
        message = mqtt.MQTTMessage(mid=mid, topic=b"dho/v1/gw-x/readings")
        message.payload = b"{}"
        consumer._on_message(consumer.client, None, message)
    RUNNING.add(consumer)
    try:
        text = http.get("/api/v1/metrics").text
    finally:
        RUNNING.discard(consumer)
    assert 'dho_ingest_queue_depth{client_id="dho-test-lag"} 2' in text
    age = re.search(r'dho_ingest_queue_oldest_seconds\{client_id="dho-test-lag"\} (\S+)', text)
    assert age is not None
    assert float(age.group(1)) >= 0
    assert "dho_ingest_queue_depth" not in http.get("/api/v1/metrics").text  # gone when stopped
