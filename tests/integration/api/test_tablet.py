"""The patient's tablet, service side (issue 15), on SQLite and PostgreSQL with real Mosquitto
and the real API: the retained ``dho.tablet/1`` state, republished when a plan is approved, a
message is sent or read, a call request is made or handled; "Ring meg" on the worklist; call
requests and message reads ingested and receipted; a typed reading flagged."""

from __future__ import annotations

import json
import queue
import uuid
from collections.abc import Callable, Iterator
from datetime import UTC, datetime
from typing import Any

import httpx
import paho.mqtt.client as mqtt
import pytest
from paho.mqtt.enums import CallbackAPIVersion
from sqlalchemy import select
from sqlalchemy.orm import Session, sessionmaker

from tests.integration.api.conftest import SETTINGS, ApiWorld, Login
from tests.integration.test_http_ingest import serving
from tests.services import ServiceAddress
from triage.api.app import create_app
from triage.ingest import IngestConsumer
from triage.ingest.tablet_publisher import tablet_states
from triage.storage.models import AuditRow, ReadingRow, TabletOutboxRow

API = "/api/v1"
DEADLINE_S = 30.0


def _now() -> datetime:
    return datetime.now(UTC)


@pytest.fixture
def live(sessions: sessionmaker[Session], api_world: ApiWorld) -> Iterator[httpx.Client]:
    """The API on the real clock (the tablet shows what was handled in the last days)."""
    with serving(create_app(SETTINGS, sessions, clock=_now)) as client:
        yield client


class Watcher:
    """A gateway's view of the broker: its tablet state and receipts, collected in order."""

    def __init__(self, address: ServiceAddress, prefix: str, gateway_id: str) -> None:
        self.prefix = prefix
        self.gateway_id = gateway_id
        self.messages: queue.Queue[tuple[str, dict[str, Any], bool]] = queue.Queue()
        self.client = mqtt.Client(CallbackAPIVersion.VERSION2, client_id=f"{prefix}{gateway_id}")
        self.client.on_message = lambda _c, _u, m: self.messages.put(
            (m.topic.removeprefix(prefix), json.loads(m.payload), bool(m.retain))
        )
        self.client.connect(address.host, address.port)
        self.client.loop_start()
        base = f"{prefix}dho/v1/{gateway_id}"
        self.client.subscribe([(f"{base}/tablet", 1), (f"{base}/receipts", 1)])

    def publish(self, channel: str, payload: dict[str, Any]) -> None:
        topic = f"{self.prefix}dho/v1/{self.gateway_id}/{channel}"
        self.client.publish(topic, json.dumps(payload), qos=1).wait_for_publish(DEADLINE_S)

    def until(self, channel: str, check: Callable[[dict[str, Any]], bool]) -> dict[str, Any]:
        """The first message on ``channel`` that passes ``check`` (others are skipped)."""
        deadline = _now().timestamp() + DEADLINE_S
        while True:
            remaining = deadline - _now().timestamp()
            assert remaining > 0, f"no {channel} message passed the check in time"
            try:
                topic, payload, _retained = self.messages.get(timeout=remaining)
            except queue.Empty:
                continue
            if topic.endswith(f"/{channel}") and check(payload):
                return payload

    def close(self) -> None:
        self.client.disconnect()
        self.client.loop_stop()


@pytest.fixture
def watcher(
    mosquitto_address: ServiceAddress, prefix: str, api_world: ApiWorld
) -> Iterator[Watcher]:
    gateway = Watcher(mosquitto_address, prefix, api_world.patients["a-copd"].gateway_id)
    yield gateway
    gateway.close()


def _item(receipt: dict[str, Any], message_id: str) -> dict[str, Any] | None:
    return next((i for i in receipt["items"] if i["id"] == message_id), None)


def test_the_tablet_state_follows_messages_call_requests_and_plan_approval(
    service: IngestConsumer,
    watcher: Watcher,
    live: httpx.Client,
    api_world: ApiWorld,
    login: Login,
    sessions: sessionmaker[Session],
) -> None:
    """At start the gateway gets its retained tablet state (name, centre, plan, schedule,
    questionnaires); a nurse's message appears on it, the patient's read comes back as
    "read"; "ring meg" reaches the worklist and the tablet, the nurse marks it done and the
    tablet says who handled it; a newly approved plan version reaches the tablet."""
    copd = api_world.patients["a-copd"]
    first = watcher.until("tablet", lambda s: s["gateway_id"] == copd.gateway_id)
    assert first["schema"] == "dho.tablet/1"
    assert first["patient"] == {"first_name": "Testpasient"}
    assert first["timezone"] == "Europe/Oslo"
    assert first["plan"]["version"] == copd.plan.version
    assert {"kind": "questionnaire", "questionnaire": "copd-daily"}.items() <= next(
        i for i in first["plan"]["schedule"] if i["kind"] == "questionnaire"
    ).items()
    assert [q["id"] for q in first["plan"]["questionnaires"]] == ["copd-daily"]
    assert set(first["plan"]["advice"]) == {"green", "yellow", "red"}
    assert "116 117" in first["plan"]["safety_text"]["nb"]
    assert first["centre"]["staffed"], "the next 14 days have staffed hours"
    assert first["messages"] == []
    assert first["call_requests"] == []

    nurse = login(live, "nurse-a")
    sent = live.post(
        f"{API}/patients/{copd.id}/messages",
        json={"text": "Hei! Husk å måle i dag."},
        headers=nurse,
    )
    assert sent.status_code == 201, sent.text
    message = sent.json()
    assert message["read_at"] is None
    assert message["sent_by_name"] == "Sykepleier A"
    with_message = watcher.until("tablet", lambda s: bool(s["messages"]))
    assert with_message["messages"][0] | {"sent_at": None} == {
        "id": message["id"],
        "sent_at": None,
        "from": "Sykepleier A",
        "text": "Hei! Husk å måle i dag.",
        "read_at": None,
    }

    read_id = str(uuid.uuid4())
    read_at = _now().replace(microsecond=0).isoformat()
    watcher.publish(
        "message-reads",
        {
            "schema": "dho.message-read/1",
            "id": read_id,
            "message_id": message["id"],
            "read_at": read_at,
        },
    )
    receipt = watcher.until("receipts", lambda r: _item(r, read_id) is not None)
    assert _item(receipt, read_id) == {
        "id": read_id,
        "type": "message_read",
        "status": "stored",
        "colour": None,
        "advice": None,
        "flags": [],
        "reason_code": None,
        "reason": None,
    }
    read_state = watcher.until("tablet", lambda s: s["messages"][0]["read_at"] is not None)
    assert datetime.fromisoformat(read_state["messages"][0]["read_at"]) == datetime.fromisoformat(
        read_at
    )
    listed = live.get(f"{API}/patients/{copd.id}/messages", headers=nurse).json()
    assert datetime.fromisoformat(listed[0]["read_at"]) == datetime.fromisoformat(read_at)

    call_id = str(uuid.uuid4())
    asked_at = _now().replace(microsecond=0).isoformat()
    call = {"schema": "dho.call-request/1", "id": call_id, "asked_at": asked_at}
    watcher.publish("calls", call)
    receipt = watcher.until("receipts", lambda r: _item(r, call_id) is not None)
    assert _item(receipt, call_id)["type"] == "call_request"  # type: ignore[index]
    assert _item(receipt, call_id)["status"] == "stored"  # type: ignore[index]
    watcher.publish("calls", call)  # the outbox resends before the receipt came: stored once
    again = watcher.until("receipts", lambda r: _item(r, call_id) is not None)
    assert _item(again, call_id)["status"] == "duplicate"  # type: ignore[index]
    open_state = watcher.until("tablet", lambda s: bool(s["call_requests"]))
    assert [(c["id"], c["status"]) for c in open_state["call_requests"]] == [(call_id, "open")]

    worklist = live.get(f"{API}/worklist", headers=nurse).json()["items"]
    entry = next(i for i in worklist if i["patient_id"] == copd.id)
    assert [(c["id"], c["handled_at"]) for c in entry["call_requests"]] == [(call_id, None)]
    assert datetime.fromisoformat(entry["call_requests"][0]["asked_at"]) == datetime.fromisoformat(
        asked_at
    )

    other = login(live, "nurse-b")  # another centre's nurse may not
    refused = live.post(f"{API}/patients/{copd.id}/call-requests/{call_id}/done", headers=other)
    assert refused.status_code == 403
    done = live.post(f"{API}/patients/{copd.id}/call-requests/{call_id}/done", headers=nurse)
    assert done.status_code == 200, done.text
    assert done.json()["handled_by_name"] == "Sykepleier A"
    twice = live.post(f"{API}/patients/{copd.id}/call-requests/{call_id}/done", headers=nurse)
    assert twice.status_code == 409
    handled = watcher.until("tablet", lambda s: s["call_requests"][0]["status"] == "done")
    assert handled["call_requests"][0]["handled_by"] == "Sykepleier A"
    worklist = live.get(f"{API}/worklist", headers=nurse).json()["items"]
    assert next(i for i in worklist if i["patient_id"] == copd.id)["call_requests"] == []
    with sessions() as session:
        actions = set(
            session.execute(
                select(AuditRow.action, AuditRow.object_type).where(AuditRow.patient_id == copd.id)
            ).all()
        )
    assert {("send", "message"), ("list", "messages"), ("done", "call_request")} <= actions

    gp = login(live, "gp-1")
    drafted = live.post(
        f"{API}/patients/{copd.id}/plans", json={"condition": "copd"}, headers=nurse
    )
    assert drafted.status_code == 201, drafted.text
    version = drafted.json()["version"]
    approved = live.post(
        f"{API}/plans/{drafted.json()['plan_id']}/versions/{version}/approve", headers=gp
    )
    assert approved.status_code == 200, approved.text
    newer = watcher.until("tablet", lambda s: s["plan"]["version"] == version)
    assert newer["call_requests"][0]["status"] == "done"


def test_a_read_of_another_patients_message_and_a_typed_reading(
    service: IngestConsumer,
    watcher: Watcher,
    live: httpx.Client,
    api_world: ApiWorld,
    login: Login,
    sessions: sessionmaker[Session],
) -> None:
    """A message read naming another patient's message is rejected (unknown_message, a dead
    letter); a reading typed in by the patient is classified and flagged patient_typed."""
    copd, hf = api_world.patients["a-copd"], api_world.patients["a-hf"]
    nurse = login(live, "nurse-a")
    theirs = live.post(
        f"{API}/patients/{hf.id}/messages", json={"text": "Til en annen pasient"}, headers=nurse
    ).json()
    read_id = str(uuid.uuid4())
    now = _now().replace(microsecond=0).isoformat()
    watcher.publish(
        "message-reads",
        {"schema": "dho.message-read/1", "id": read_id, "message_id": theirs["id"], "read_at": now},
    )
    receipt = watcher.until("receipts", lambda r: _item(r, read_id) is not None)
    assert _item(receipt, read_id)["reason_code"] == "unknown_message"  # type: ignore[index]
    assert live.get(f"{API}/patients/{hf.id}/messages", headers=nurse).json()[0]["read_at"] is None

    typed_id = str(uuid.uuid4())
    watcher.publish(
        "readings",
        {
            "schema": "dho.reading/1",
            "id": typed_id,
            "kind": "spo2",
            "measured_at": now,
            "values": {"spo2": 86},
            "device": {"profile": "spo2", "model": "manual", "address": None},
            "entry": "typed",
        },
    )
    receipt = watcher.until("receipts", lambda r: _item(r, typed_id) is not None)
    item = _item(receipt, typed_id)
    assert item is not None
    assert (item["status"], item["colour"], item["flags"]) == ("stored", "red", ["patient_typed"])
    with sessions() as session:
        row = session.get(ReadingRow, typed_id)
        assert row is not None
        assert row.flags == ["patient_typed"]
    timeline = live.get(f"{API}/patients/{copd.id}/readings", headers=nurse)
    assert timeline.status_code == 200, timeline.text
    assert [r["flags"] for r in timeline.json()["items"] if r["id"] == typed_id] == [
        ["patient_typed"]
    ]


def test_a_message_is_checked_and_only_a_nurse_of_the_centre_may_send_it(
    http: httpx.Client, api_world: ApiWorld, login: Login
) -> None:
    """Over 500 characters, blank or holding a NUL is refused (422); a GP or another centre's
    nurse may not send (403); the GP may read the list."""
    copd = api_world.patients["a-copd"]
    nurse = login(http, "nurse-a")
    url = f"{API}/patients/{copd.id}/messages"
    assert http.post(url, json={"text": "x" * 501}, headers=nurse).status_code == 422
    assert http.post(url, json={"text": "   "}, headers=nurse).status_code == 422
    assert http.post(url, json={"text": "a\u0000b"}, headers=nurse).status_code == 422
    assert http.post(url, json={"text": "x" * 500}, headers=nurse).status_code == 201
    assert http.post(url, json={"text": "Hei"}, headers=login(http, "nurse-b")).status_code == 403
    gp = login(http, "gp-1")
    assert http.post(url, json={"text": "Hei"}, headers=gp).status_code == 403
    assert [len(m["text"]) for m in http.get(url, headers=gp).json()] == [500]


def test_an_admin_sets_the_centres_phone_and_every_patients_tablet_is_due(
    http: httpx.Client, api_world: ApiWorld, login: Login, sessions: sessionmaker[Session]
) -> None:
    """The centre's phone (shown to its patients) is set by an admin, audited, listed, and
    asks for each of the centre's patients' tablet state to be published again; a nurse may
    not set it and a malformed number is refused."""
    admin = login(http, "admin", reason="nytt sentralbordnummer")
    url = f"{API}/admin/centres/{api_world.centre_a}"
    assert (
        http.patch(url, json={"phone": "22 00"}, headers=login(http, "nurse-a")).status_code == 403
    )
    assert http.patch(url, json={"phone": "ring oss"}, headers=admin).status_code == 422
    changed = http.patch(url, json={"phone": "+47 22 00 00 00"}, headers=admin)
    assert changed.status_code == 200, changed.text
    assert changed.json()["phone"] == "+47 22 00 00 00"
    listed = http.get(f"{API}/admin/centres", headers=admin).json()["items"]
    assert {c["id"]: c["phone"] for c in listed}[api_world.centre_a] == "+47 22 00 00 00"
    with sessions() as session:
        due = set(session.scalars(select(TabletOutboxRow.patient_id)))
        audited = session.scalars(
            select(AuditRow.details)
            .where(AuditRow.object_type == "centre", AuditRow.action == "update")
            .order_by(AuditRow.id)
        ).all()
        states = tablet_states(session, None, _now())
    in_a = {p.id for p in api_world.patients.values() if p.centre_id == api_world.centre_a}
    assert due == in_a
    assert audited == [
        {"refused": "only admin may update centre"},
        {"phone": {"from": None, "to": "+47 22 00 00 00"}},
    ]
    phones = {s.gateway_id: s.centre.phone for s in states}
    assert phones["gw-a-copd"] == "+47 22 00 00 00"
    assert phones["gw-b-covid"] is None
