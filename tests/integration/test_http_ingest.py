"""HTTP ingest (``POST /api/v1/readings``, ``/reports``) and health, through the real pipeline on
SQLite and PostgreSQL: gateway tokens, per-item outcomes, the patient taken from the token."""

from __future__ import annotations

import json
import uuid
from collections.abc import Iterator
from contextlib import contextmanager
from datetime import UTC, datetime, timedelta
from typing import Any

import httpx
import pytest
from fastapi import FastAPI
from sqlalchemy import func, select, update
from sqlalchemy.orm import Session, sessionmaker

from tests.integration.world import PatientFixture, World
from triage.api.app import create_app
from triage.api.routers.ingest import MAX_ITEMS
from triage.config import Settings
from triage.domain.plan import Condition
from triage.domain.questionnaires import COPD_DAILY
from triage.service import ApiServer
from triage.storage import seed
from triage.storage.database import make_engine, session_factory
from triage.storage.models import DeadLetterRow, GatewayRow, ReadingRow, ReportRow

NOW = datetime(2026, 11, 23, 9, 0, tzinfo=UTC)
SETTINGS = Settings(demo=True)


@pytest.fixture
def world(sessions: sessionmaker[Session]) -> World:
    """A centre with a COVID-19 and a COPD patient, each with an approved template plan and a
    registered gateway (a smaller world than the shared one: argon2 hashing is slow)."""
    with sessions.begin() as session:
        municipality = seed.add_municipality(session, "9901", "Testvik")
        centre = seed.add_centre(session, "Oppfølgingstjenesten Testvik", [municipality])
        gp = seed.add_user(session, username="gp-test", display_name="GP", role="gp", now=NOW)
        world = World(centre.id, [municipality.id], gp.id, nurse_id="")
        for condition in (Condition.COVID19, Condition.COPD):
            patient = seed.add_patient(
                session,
                display_name=f"Testpasient {condition.value}",
                municipality=municipality,
                centre=centre,
                now=NOW - timedelta(days=30),
                condition=condition,
                gp=gp,
            )
            plan = seed.add_approved_template_plan(
                session, patient, condition, gp.username, NOW - timedelta(days=30)
            )
            gateway, secret = seed.register_gateway(
                session, patient, NOW, gateway_id=f"gw-test-{condition.value}"
            )
            world.patients[condition] = PatientFixture(
                patient.id, condition, gateway.id, secret, plan
            )
        return world


@contextmanager
def serving(app: FastAPI) -> Iterator[httpx.Client]:
    """``app`` behind a real uvicorn on a free port, and an HTTP client for it."""
    server = ApiServer(app, "127.0.0.1", 0)
    server.start()
    try:
        with httpx.Client(base_url=server.url, timeout=30) as http:
            yield http
    finally:
        server.stop()


@pytest.fixture
def client(sessions: sessionmaker[Session]) -> Iterator[httpx.Client]:
    with serving(create_app(SETTINGS, sessions, clock=lambda: NOW)) as http:
        yield http


def token(world: World, condition: Condition = Condition.COVID19) -> dict[str, str]:
    patient = world.patients[condition]
    return {"Authorization": f"Bearer {patient.gateway_id}:{patient.gateway_secret}"}


def spo2(value: float, *, minutes_ago: int = 5, **extra: Any) -> dict[str, Any]:
    at = (NOW - timedelta(minutes=minutes_ago)).isoformat()
    return {
        "schema": "dho.reading/1",
        "id": str(uuid.uuid4()),
        "kind": "spo2",
        "measured_at": at,
        "received_at": at,
        "values": {"spo2": value, "pulse": 80},
        "device": {"profile": "plx", "model": "test"},
        **extra,
    }


def stored_readings(sessions: sessionmaker[Session]) -> list[ReadingRow]:
    with sessions() as session:
        return list(session.scalars(select(ReadingRow).order_by(ReadingRow.measured_at)))


def test_a_reading_with_a_good_token_is_stored_for_the_gateways_patient(
    client: httpx.Client, world: World, sessions: sessionmaker[Session]
) -> None:
    """A phone app posts one reading and gets back its colour and the plan's advice."""
    reading = spo2(93)
    response = client.post("/api/v1/readings", json=reading, headers=token(world))
    assert response.status_code == 200, response.text
    body = response.json()
    patient = world.patients[Condition.COVID19]
    assert (body["gateway_id"], body["stored"], body["duplicate"], body["rejected"]) == (
        patient.gateway_id,
        1,
        0,
        0,
    )
    [item] = body["items"]
    assert (item["id"], item["type"], item["status"], item["colour"]) == (
        reading["id"],
        "reading",
        "stored",
        "yellow",
    )
    assert item["advice"]["nb"]
    assert item["advice"]["en"]
    [row] = stored_readings(sessions)
    assert (row.id, row.patient_id, row.gateway_id, row.colour) == (
        reading["id"],
        patient.id,
        patient.gateway_id,
        "yellow",
    )


def test_resending_the_same_reading_is_a_harmless_duplicate(
    client: httpx.Client, world: World, sessions: sessionmaker[Session]
) -> None:
    """An app that retries after a lost response is told "duplicate" and nothing is doubled."""
    reading = spo2(97)
    first = client.post("/api/v1/readings", json=reading, headers=token(world)).json()
    second = client.post("/api/v1/readings", json=[reading], headers=token(world)).json()
    assert (first["items"][0]["status"], second["items"][0]["status"]) == ("stored", "duplicate")
    assert second["items"][0]["colour"] == "green"
    assert len(stored_readings(sessions)) == 1


def test_a_mixed_batch_keeps_the_valid_items(
    client: httpx.Client, world: World, sessions: sessionmaker[Session]
) -> None:
    """One bad item in an upload is rejected with its reason; the others are stored."""
    good_first, good_last = spo2(97, minutes_ago=20), spo2(91, minutes_ago=10)
    no_values = {**spo2(95), "values": {}}
    implausible = spo2(7)
    batch = [good_first, no_values, "not a payload", implausible, good_last]
    response = client.post("/api/v1/readings", json=batch, headers=token(world))
    assert response.status_code == 200, response.text
    body = response.json()
    assert [i["status"] for i in body["items"]] == [
        "stored",
        "rejected",
        "rejected",
        "rejected",
        "stored",
    ]
    assert [i["reason_code"] for i in body["items"]] == [
        None,
        "schema",
        "schema",
        "implausible",
        None,
    ]
    assert "missing spo2" in body["items"][1]["reason"]
    assert [i["colour"] for i in body["items"]] == ["green", None, None, None, "red"]
    assert (body["stored"], body["rejected"]) == (2, 3)
    assert [r.id for r in stored_readings(sessions)] == [good_first["id"], good_last["id"]]
    with sessions() as session:
        letters = session.scalars(select(DeadLetterRow).order_by(DeadLetterRow.id)).all()
    assert [(d.source, d.reason_code) for d in letters] == [
        ("http", "schema"),
        ("http", "schema"),
        ("http", "implausible"),
    ]


def test_a_patient_id_in_the_payload_is_never_used(
    client: httpx.Client, world: World, sessions: sessionmaker[Session]
) -> None:
    """A payload naming another patient is refused; readings go to the token's patient only."""
    other = world.patients[Condition.COPD]
    forged = spo2(80, patient_id=other.id)
    honest = spo2(96)
    response = client.post("/api/v1/readings", json=[forged, honest], headers=token(world))
    body = response.json()
    assert [i["status"] for i in body["items"]] == ["rejected", "stored"]
    assert "patient_id" in body["items"][0]["reason"]
    rows = stored_readings(sessions)
    assert [(r.id, r.patient_id) for r in rows] == [
        (honest["id"], world.patients[Condition.COVID19].id)
    ]


def test_bad_tokens_are_refused_with_what_to_send(
    client: httpx.Client, world: World, sessions: sessionmaker[Session]
) -> None:
    """Missing, malformed, unknown or wrong tokens get 401 and nothing is stored."""
    patient = world.patients[Condition.COVID19]
    cases = {
        "missing": {},
        "malformed": {"Authorization": f"Bearer {patient.gateway_secret}"},
        "basic": {"Authorization": "Basic Zm9vOmJhcg=="},
        "unknown": {"Authorization": f"Bearer gw-nobody:{patient.gateway_secret}"},
        "wrong secret": {"Authorization": f"Bearer {patient.gateway_id}:not-the-secret"},
        "someone else's secret": {
            "Authorization": f"Bearer {patient.gateway_id}:"
            f"{world.patients[Condition.COPD].gateway_secret}"
        },
    }
    details = {}
    for case, headers in cases.items():
        response = client.post("/api/v1/readings", json=spo2(95), headers=headers)
        assert response.status_code == 401, case
        assert response.headers["WWW-Authenticate"].startswith("Bearer"), case
        details[case] = response.json()["detail"]
    assert details["missing"].startswith("missing gateway token: send 'Authorization: Bearer")
    assert details["malformed"].startswith("malformed gateway token")
    assert details["unknown"] == details["wrong secret"] == details["someone else's secret"]
    assert details["unknown"].startswith("invalid gateway token")
    assert stored_readings(sessions) == []


def test_a_revoked_gateway_is_refused_at_once(
    client: httpx.Client, world: World, sessions: sessionmaker[Session]
) -> None:
    """Revoking a gateway stops its uploads on the next request, even right after a success."""
    patient = world.patients[Condition.COVID19]
    assert client.post("/api/v1/readings", json=spo2(96), headers=token(world)).status_code == 200
    with sessions.begin() as session:
        session.execute(
            update(GatewayRow).where(GatewayRow.id == patient.gateway_id).values(revoked_at=NOW)
        )
    response = client.post("/api/v1/readings", json=spo2(95), headers=token(world))
    assert response.status_code == 401
    assert response.json()["detail"] == (
        f"gateway {patient.gateway_id} was revoked at 2026-11-23 09:00 UTC; register the device "
        "again to get a new secret"
    )
    assert len(stored_readings(sessions)) == 1


def test_too_many_items_are_refused_whole(world: World, sessions: sessionmaker[Session]) -> None:
    """An upload over the item limit gets 413 (split it) and nothing is stored (with a body
    limit that lets 501 readings through: the default 64 KiB holds about 200)."""
    batch = [spo2(96) for _ in range(MAX_ITEMS + 1)]
    settings = Settings(demo=True, api_max_ingest_body_bytes=1024 * 1024)
    with serving(create_app(settings, sessions, clock=lambda: NOW)) as client:
        response = client.post("/api/v1/readings", json=batch, headers=token(world))
    assert response.status_code == 413
    assert response.json()["detail"] == (
        f"{MAX_ITEMS + 1} items in one request; send at most {MAX_ITEMS} per request"
    )
    assert stored_readings(sessions) == []


def test_questionnaire_answers_are_stored_as_reports(
    client: httpx.Client, world: World, sessions: sessionmaker[Session]
) -> None:
    """A daily COPD check posted to /reports is stored for the gateway's patient."""
    answers = {item.id: item.options[0].value for item in COPD_DAILY.items}
    report = {
        "schema": "dho.report/1",
        "id": str(uuid.uuid4()),
        "questionnaire": "copd-daily",
        "answered_at": (NOW - timedelta(minutes=3)).isoformat(),
        "answers": answers,
    }
    response = client.post("/api/v1/reports", json=report, headers=token(world, Condition.COPD))
    assert response.status_code == 200, response.text
    [item] = response.json()["items"]
    assert (item["type"], item["status"]) == ("report", "stored")
    as_reading = client.post("/api/v1/readings", json=report, headers=token(world, Condition.COPD))
    assert as_reading.json()["items"][0]["status"] == "rejected"
    with sessions() as session:
        rows = session.execute(select(ReportRow.id, ReportRow.patient_id)).all()
    assert rows == [(report["id"], world.patients[Condition.COPD].id)]


def test_health_reports_database_broker_and_version(
    sessions: sessionmaker[Session], world: World
) -> None:
    """/api/v1/health says ok, degraded when the broker is away, with the running version."""
    broker_up = [True]
    app = create_app(SETTINGS, sessions, broker_check=lambda: (broker_up[0], "ingest connected"))
    with serving(app) as client:
        ok = client.get("/api/v1/health")
        broker_up[0] = False
        degraded = client.get("/api/v1/health")
    assert ok.status_code == degraded.status_code == 200
    assert ok.json()["status"] == "ok"
    assert ok.json()["database"] == {"ok": True, "detail": None}
    assert ok.json()["version"] == app.version != "unknown"
    assert degraded.json()["status"] == "degraded"
    assert degraded.json()["broker"]["ok"] is False


def test_health_is_503_when_the_database_is_unreachable() -> None:
    """With the database down, health answers 503 and uploads get 503 (retry), not 500."""
    import socket

    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    engine = make_engine(f"postgresql+psycopg://dho@127.0.0.1:{port}/dho?connect_timeout=2")
    try:
        with serving(create_app(SETTINGS, session_factory(engine))) as client:
            health = client.get("/api/v1/health")
            upload = client.post(
                "/api/v1/readings", json=spo2(95), headers={"Authorization": "Bearer gw:x"}
            )
    finally:
        engine.dispose()
    assert health.status_code == 503
    assert health.json()["status"] == "unavailable"
    assert health.json()["database"]["ok"] is False
    assert health.json()["broker"] is None
    assert upload.status_code == 503
    assert upload.headers["Retry-After"] == "30"
    assert "try again" in upload.json()["detail"]


def test_openapi_documents_the_gateway_endpoints(sessions: sessionmaker[Session]) -> None:
    """The API description shows both upload endpoints, their payloads and the bearer token."""
    with serving(create_app(SETTINGS, sessions)) as client:
        document = client.get("/api/v1/openapi.json").json()
    readings = document["paths"]["/api/v1/readings"]["post"]
    schema = readings["requestBody"]["content"]["application/json"]["schema"]
    assert {"$ref": "#/components/schemas/ReadingPayload"} in schema["anyOf"]
    assert {
        "type": "array",
        "items": {"$ref": "#/components/schemas/ReadingPayload"},
    } in schema["anyOf"]
    assert readings["security"] == [{"GatewayToken": []}]
    assert {"200", "401", "413", "422", "503"} <= readings["responses"].keys()
    assert "/api/v1/reports" in document["paths"]
    assert "/api/v1/health" in document["paths"]
    components = document["components"]["schemas"]
    assert {"ReadingPayload", "ReportPayload", "Kind", "IngestResult"} <= components.keys()
    assert "schema" in components["ReadingPayload"]["properties"]


def test_rows_count_is_unchanged_by_refused_requests(
    client: httpx.Client, world: World, sessions: sessionmaker[Session]
) -> None:
    """A body that is not JSON gets 422 with the parse error and stores nothing."""
    response = client.post(
        "/api/v1/readings",
        content=b"{not json",
        headers={**token(world), "Content-Type": "application/json"},
    )
    assert response.status_code == 422
    with sessions() as session:
        assert session.scalar(select(func.count()).select_from(DeadLetterRow)) == 0


# ----------------------------------------------------------------------------- hostile bodies


def test_a_nul_in_an_id_is_answered_rejected_not_500(
    client: httpx.Client, world: World, sessions: sessionmaker[Session]
) -> None:
    """A phone app posts a reading whose id holds a NUL (PostgreSQL cannot store one in text):
    the answer names the item `rejected` with the reason under the id it sent, the good item
    beside it is stored, and the bad one is kept as a dead letter with its bytes."""
    bad, fine = {**spo2(95), "id": "x\x00y"}, spo2(96)
    response = client.post("/api/v1/readings", json=[bad, fine], headers=token(world))
    assert response.status_code == 200, response.text
    rejected, stored = response.json()["items"]
    assert (rejected["id"], rejected["status"], rejected["reason_code"]) == (
        "x\x00y",
        "rejected",
        "schema",
    )
    assert rejected["reason"] == "not a valid dho.reading/1: id: contains a NUL character (\\u0000)"
    assert (stored["id"], stored["status"]) == (fine["id"], "stored")
    with sessions() as session:
        letter = session.scalars(select(DeadLetterRow)).one()
    assert letter.message_id == "x\ufffdy"
    assert b'"x\\u0000y"' in letter.payload


def test_what_json_parsers_let_through_is_refused_per_item(
    client: httpx.Client, world: World, sessions: sessionmaker[Session]
) -> None:
    """Duplicate keys, 1e400, NaN, an epoch number for a time and year 1 are refused as
    `schema` — each item on its own, as sent, not as the web framework re-encoded it — and
    the good item among them is stored."""
    good = spo2(95)
    at = (NOW - timedelta(minutes=5)).isoformat()
    body = (
        "["
        + ", ".join(
            [
                json.dumps(good),
                '{"schema": "dho.reading/1", "id": "dup-1", "id": "dup-2", "kind": "spo2", '
                f'"measured_at": "{at}", "values": {{"spo2": 95}}}}',
                '{"schema": "dho.reading/1", "id": "big-1", "kind": "spo2", '
                f'"measured_at": "{at}", "values": {{"spo2": 95}}, "device": {{"x": 1e400}}}}',
                '{"schema": "dho.reading/1", "id": "nan-1", "kind": "spo2", '
                f'"measured_at": "{at}", "values": {{"spo2": 95}}, "device": {{"x": NaN}}}}',
                '{"schema": "dho.reading/1", "id": "epoch-1", "kind": "spo2", '
                '"measured_at": 1700000000, "values": {"spo2": 95}}',
                '{"schema": "dho.reading/1", "id": "year-1", "kind": "spo2", '
                '"measured_at": "0001-01-01T00:00:00+01:00", "values": {"spo2": 95}}',
            ]
        )
        + "]"
    )
    response = client.post(
        "/api/v1/readings",
        content=body.encode(),
        headers={**token(world), "Content-Type": "application/json"},
    )
    assert response.status_code == 200, response.text
    items = [(i["id"], i["status"], i["reason_code"]) for i in response.json()["items"]]
    assert items == [
        (good["id"], "stored", None),
        ("dup-1", "rejected", "schema"),
        ("big-1", "rejected", "schema"),
        ("nan-1", "rejected", "schema"),
        ("epoch-1", "rejected", "schema"),
        ("year-1", "rejected", "schema"),
    ]
    reasons = [i["reason"] for i in response.json()["items"][1:]]
    assert reasons[0] == 'not a valid dho.reading/1: duplicate key "id"'
    assert (
        reasons[1]
        == 'not a valid dho.reading/1: "1e400" is not a finite number (JSON has no NaN or infinity)'
    )
    assert "measured_at: Value error, must be an ISO 8601 date and time" in reasons[3]
    assert "measured_at: Value error, is outside the years 1900–2999" in reasons[4]
    assert [r.id for r in stored_readings(sessions)] == [good["id"]]


@pytest.mark.parametrize(
    ("body", "status"),
    [
        (b'{"schema": "dho.reading/1", "id": "\xff\xfe"}', 400),
        (b"[" * 10_000 + b"]" * 10_000, 400),
        (b'{"schema": "dho.reading/1", "id": ', 422),
    ],
    ids=["not-utf8", "deep-10000", "truncated"],
)
def test_a_body_that_is_not_json_gets_a_problem_not_500(
    client: httpx.Client, world: World, sessions: sessionmaker[Session], body: bytes, status: int
) -> None:
    """Bytes that are not UTF-8, 10,000-deep nesting or a cut-off body get a 4xx problem
    with a reason, and nothing is stored."""
    response = client.post(
        "/api/v1/readings",
        content=body,
        headers={**token(world), "Content-Type": "application/json"},
    )
    assert response.status_code == status, response.text
    assert response.headers["content-type"] == "application/problem+json"
    assert response.json()["detail"]
    with sessions() as session:
        assert session.scalar(select(func.count()).select_from(ReadingRow)) == 0
