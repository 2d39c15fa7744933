"""The gateway's publisher and the tablet through the real Mosquitto, the test in the service's
place: call requests and message reads published on their own topics and pruned by their
receipts; the receipt's colour, advice and flags kept for the tablet; the retained tablet state
kept, a bad one refused with the previous kept."""

from __future__ import annotations

import json
import queue
import uuid
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo

import paho.mqtt.client as mqtt
import pytest
from paho.mqtt.enums import CallbackAPIVersion

from gateway.outbox import Outbox
from gateway.publisher import Publisher
from gateway.recorder import Recorder
from gateway.tablet.state import TabletStore
from tests.integration.test_ingest_mqtt import poll_until
from tests.services import ServiceAddress
from tests.tablet_sample import ADVICE, tablet_state

pytestmark = pytest.mark.mosquitto
DEADLINE_S = 15.0
OSLO = ZoneInfo("Europe/Oslo")


class Service:
    def __init__(self, address: ServiceAddress, root: str) -> None:
        self.root = root
        self.got: queue.Queue[tuple[str, dict[str, Any]]] = queue.Queue()
        self.client = mqtt.Client(
            callback_api_version=CallbackAPIVersion.VERSION2, client_id=f"svc-{uuid.uuid4().hex}"
        )
        self.client.on_message = self._on_message
        self.client.connect(address.host, address.port)
        self.client.subscribe(f"{root}/+", qos=1)
        self.client.loop_start()

    def _on_message(self, _c: Any, _u: Any, message: mqtt.MQTTMessage) -> None:
        if message.payload:  # not the retained state cleared at the end
            self.got.put((message.topic.rsplit("/", 1)[1], json.loads(message.payload)))

    def publish(self, channel: str, payload: bytes, *, retain: bool = False) -> None:
        self.client.publish(
            f"{self.root}/{channel}", payload, qos=1, retain=retain
        ).wait_for_publish(10)

    def next(self, channel: str) -> dict[str, Any]:
        while True:
            got, payload = self.got.get(timeout=DEADLINE_S)
            if got == channel:
                return payload

    def close(self) -> None:
        self.publish("tablet", b"", retain=True)
        self.client.loop_stop()
        self.client.disconnect()


@pytest.fixture
def hub(
    tmp_path: Path, mosquitto_address: ServiceAddress
) -> Iterator[tuple[Outbox, Recorder, TabletStore, Publisher, Service]]:
    gateway_id = f"gw-{uuid.uuid4().hex[:10]}"
    prefix = f"t{uuid.uuid4().hex[:12]}/"
    outbox = Outbox(tmp_path / "outbox.sqlite3")
    store = TabletStore(tmp_path / "tablet.json", gateway_id)
    recorder = Recorder(outbox, OSLO, lambda: datetime.now(UTC))
    service = Service(mosquitto_address, f"{prefix}dho/v1/{gateway_id}")
    publisher = Publisher(
        outbox,
        gateway_id,
        mosquitto_address.host,
        mosquitto_address.port,
        topic_prefix=prefix,
        on_tablet=store.receive,
    )
    publisher.start()
    assert publisher.wait_until_ready(DEADLINE_S)
    try:
        yield outbox, recorder, store, publisher, service
    finally:
        publisher.stop()
        service.close()
        outbox.close()


def test_calls_and_message_reads_go_on_their_topics_and_leave_on_their_receipts(
    hub: tuple[Outbox, Recorder, TabletStore, Publisher, Service],
) -> None:
    outbox, recorder, _store, publisher, service = hub
    recorder.call_request("call-1")
    recorder.message_read("read-1", "msg-7")
    assert publisher.drain_once() == 2
    call = service.next("calls")
    read = service.next("message-reads")
    assert (call["schema"], call["id"]) == ("dho.call-request/1", "call-1")
    assert (read["schema"], read["message_id"]) == ("dho.message-read/1", "msg-7")
    receipt = {
        "schema": "dho.receipt/1",
        "gateway_id": publisher.gateway_id,
        "issued_at": datetime.now(UTC).isoformat(),
        "items": [
            {"id": "call-1", "type": "call_request", "status": "stored"},
            {"id": "read-1", "type": "message_read", "status": "stored"},
        ],
    }
    service.publish("receipts", json.dumps(receipt).encode())
    assert poll_until(lambda: outbox.depth() == 0, DEADLINE_S)


def test_a_receipts_colour_advice_and_flags_are_kept_for_the_tablet(
    hub: tuple[Outbox, Recorder, TabletStore, Publisher, Service],
) -> None:
    outbox, recorder, _store, publisher, service = hub
    recorder.typed_reading("typed-1", "spo2", {"spo2": 85.0})
    assert publisher.drain_once() == 1
    assert service.next("readings")["entry"] == "typed"
    receipt = {
        "schema": "dho.receipt/1",
        "gateway_id": publisher.gateway_id,
        "issued_at": datetime.now(UTC).isoformat(),
        "items": [
            {
                "id": "typed-1",
                "type": "reading",
                "status": "stored",
                "colour": "red",
                "advice": ADVICE["red"],
                "flags": ["patient_typed"],
            }
        ],
    }
    service.publish("receipts", json.dumps(receipt).encode())
    assert poll_until(lambda: outbox.depth() == 0, DEADLINE_S)
    [kept] = outbox.results(datetime.now(UTC) - timedelta(hours=1))
    assert (kept.status, kept.colour, kept.advice, kept.flags) == (
        "stored",
        "red",
        ADVICE["red"],
        ("patient_typed",),
    )


def test_the_retained_state_is_kept_and_a_bad_one_leaves_it(
    hub: tuple[Outbox, Recorder, TabletStore, Publisher, Service],
) -> None:
    _outbox, _recorder, store, publisher, service = hub
    now = datetime.now(UTC)
    good = tablet_state(publisher.gateway_id, now)
    service.publish("tablet", json.dumps(good).encode(), retain=True)
    assert poll_until(lambda: store.state is not None, DEADLINE_S)
    bad = tablet_state(publisher.gateway_id, now + timedelta(minutes=1))
    bad["plan"]["schedule"] = [{"kind": "spo2", "weekdays": [9], "at": "25:00"}]
    service.publish("tablet", json.dumps(bad).encode(), retain=True)
    newer = tablet_state(publisher.gateway_id, now + timedelta(minutes=2))
    newer["patient"]["first_name"] = "Ola"
    service.publish("tablet", json.dumps(newer).encode(), retain=True)
    assert poll_until(
        lambda: store.state is not None and store.state.patient.first_name == "Ola", DEADLINE_S
    )
    # the receipts still work beside it
    assert publisher.receipts == 0
