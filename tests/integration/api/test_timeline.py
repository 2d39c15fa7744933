"""A patient's readings, reports and timeline, and the dead letters, over real HTTP (SQLite and
PostgreSQL)."""

from __future__ import annotations

import json
from datetime import datetime, timedelta
from typing import Any

import httpx
from sqlalchemy import select
from sqlalchemy.orm import Session, sessionmaker

from tests.integration.api.conftest import NOW, SETTINGS, ApiWorld, Login
from tests.integration.api.test_worklist import REASON, audit_rows, ingest, reading
from tests.integration.test_ingest_pipeline import COPD_CALM, report
from triage.ingest.pipeline import Incoming, OutcomeStatus, store
from triage.storage.models import AlertActionRow, AlertEventRow, AlertRow, ReadingRow
from triage.storage.repositories import add_dead_letter

MINUTE = timedelta(minutes=1)


def at(value: str) -> datetime:
    return datetime.fromisoformat(value)


def get(http: httpx.Client, url: str, headers: dict[str, str], **params: Any) -> dict[str, Any]:
    response = http.get(url, headers=headers, params=params)
    assert response.status_code == 200, response.text
    body: dict[str, Any] = response.json()
    return body


def every_page(
    http: httpx.Client, url: str, headers: dict[str, str], **params: Any
) -> list[list[dict[str, Any]]]:
    pages: list[list[dict[str, Any]]] = []
    cursor: str | None = None
    while True:
        page = get(http, url, headers, **params, **({"cursor": cursor} if cursor else {}))
        pages.append(page["items"])
        cursor = page["next_cursor"]
        if cursor is None:
            return pages


def send_report(
    sessions: sessionmaker[Session], world: ApiWorld, patient: str, payload: bytes
) -> None:
    gateway = world.patients[patient].gateway_id
    [outcome] = store(
        sessions, [Incoming(topic=f"dho/v1/{gateway}/reports", payload=payload)], SETTINGS, NOW
    )
    assert outcome.status is OutcomeStatus.STORED, outcome


# ----------------------------------------------------------------------------- reasons in words

#: a finding as stored before reasons were kept as data: its words written at classification
#: time, no message key (JSON in readings.findings, alerts.reason, patient_state)
OLD_STORED_FINDING = {
    "rule_id": "threshold:glucose",
    "rule_type": "threshold",
    "colour": "red",
    "at": "2026-11-20T08:00:00+00:00",
    "plan_id": "plan-a",
    "plan_version": 1,
    "parameter": "glucose",
    "value": 2.6,
    "bound": "< 3 mmol/L",
    "text": {
        "nb": "Blodsukker 2.6 mmol/L — rød: < 3 mmol/L (plan v1)",
        "en": "Blood glucose 2.6 mmol/L — red: < 3 mmol/L (plan v1)",
    },
}


def test_reasons_in_the_language_the_reader_asks_for(
    http: httpx.Client, sessions: sessionmaker[Session], api_world: ApiWorld, login: Login
) -> None:
    """Accept-Language picks the language of every reason (bokmål by default, English on
    request), with the decimal comma and no English word in bokmål; a finding stored in the old
    form (words, no message key) is still shown, in the language asked for."""
    ingest(
        sessions,
        api_world,
        "a-copd",
        reading("low", "spo2", {"spo2": 86.5}, NOW - timedelta(hours=1)),
        reading("old", "spo2", {"spo2": 97}, NOW - timedelta(hours=2)),
    )
    with sessions.begin() as session:
        row = session.get(ReadingRow, "old")
        assert row is not None
        row.findings = [OLD_STORED_FINDING]
    url = f"/api/v1/patients/{api_world.patients['a-copd'].id}/readings"
    headers = login(http, "nurse-a")

    def reasons(**extra: str) -> dict[str, list[str]]:
        response = http.get(url, headers={**headers, **extra})
        assert response.status_code == 200, response.text
        return {r["id"]: [f["reason"] for f in r["findings"]] for r in response.json()["items"]}

    default = reasons()
    bokmål = reasons(**{"Accept-Language": "nb-NO,nb;q=0.9,en;q=0.5"})
    english = reasons(**{"Accept-Language": "en-GB,en;q=0.9"})
    assert default == bokmål
    assert bokmål["low"][0] == (
        "Oksygenmetning 86,5\u00a0% – rød: 87\u00a0% eller lavere (egenbehandlingsplan versjon 1)"
    )
    assert english["low"][0] == (
        "Oxygen saturation 86.5% – red: 87% or lower (self-management plan version 1)"
    )
    # a plain threshold finding is read back into data and written like a new one
    assert bokmål["old"] == [
        "Blodsukker 2,6\u00a0mmol/L – rød: under 3\u00a0mmol/L (egenbehandlingsplan versjon 1)"
    ]
    assert english["old"] == [
        "Blood glucose 2.6\u00a0mmol/L – red: below 3\u00a0mmol/L (self-management plan version 1)"
    ]
    response = http.get(url, headers={**headers, "Accept-Language": "en"})
    assert response.headers["content-language"] == "en"
    assert "accept-language" in response.headers["vary"].lower()


# ----------------------------------------------------------------------------- readings


def test_readings_by_time_range_kind_and_page(
    http: httpx.Client, sessions: sessionmaker[Session], api_world: ApiWorld, login: Login
) -> None:
    """The last 30 days by default, newest first, with colour, reasons, flags and plan
    version; a wider range reaches older (backfilled) readings; kind narrows; pages chain."""
    ingest(
        sessions,
        api_world,
        "a-copd",
        reading("old", "spo2", {"spo2": 94}, NOW - timedelta(days=40)),
        reading("temp", "body_temperature", {"temperature": 38.4}, NOW - timedelta(days=2)),
        reading("new", "spo2", {"spo2": 86}, NOW - timedelta(hours=1)),
    )
    url = f"/api/v1/patients/{api_world.patients['a-copd'].id}/readings"
    headers = login(http, "nurse-a")
    recent = get(http, url, headers)["items"]
    assert [r["id"] for r in recent] == ["new", "temp"]
    new = recent[0]
    assert (new["kind"], new["colour"], new["values"]["spo2"]) == ("spo2", "red", 86)
    assert at(new["measured_at"]) == NOW - timedelta(hours=1)
    assert new["plan_version"] == 1
    assert new["plan_id"] == api_world.patients["a-copd"].plan.plan_id
    red = [f for f in new["findings"] if f["colour"] == "red"]
    assert red[0]["rule_id"] == "threshold:spo2"
    assert red[0]["text"]["en"].startswith("Oxygen saturation 86%")
    assert recent[1]["colour"] == "yellow"
    since = (NOW - timedelta(days=50)).isoformat()
    everything = get(http, url, headers, since=since)["items"]
    assert [r["id"] for r in everything] == ["new", "temp", "old"]
    assert "backfill" in everything[2]["flags"]
    spo2 = get(http, url, headers, since=since, kind="spo2")["items"]
    assert [r["id"] for r in spo2] == ["new", "old"]
    pages = every_page(http, url, headers, since=since, limit=1)
    assert [[r["id"] for r in page] for page in pages] == [["new"], ["temp"], ["old"]]
    until = (NOW - timedelta(days=1)).isoformat()
    assert [r["id"] for r in get(http, url, headers, since=since, until=until)["items"]] == [
        "temp",
        "old",
    ]
    backwards = http.get(url, headers=headers, params={"since": NOW.isoformat(), "until": until})
    assert backwards.status_code == 400
    naive = http.get(url, headers=headers, params={"since": "2026-11-01T00:00:00"})
    assert naive.status_code == 422


def test_readings_of_someone_elses_patient_are_refused_and_audited(
    http: httpx.Client, sessions: sessionmaker[Session], api_world: ApiWorld, login: Login
) -> None:
    """gp-2 may not read gp-1's patient's readings, nor nurse-b centre A's; an admin needs a
    reason; each refusal is audited, and the allowed read too."""
    copd = api_world.patients["a-copd"].id
    url = f"/api/v1/patients/{copd}/readings"
    for user in ("gp-2", "nurse-b", "admin"):
        assert http.get(url, headers=login(http, user)).status_code == 403, user
    refused = audit_rows(sessions, object_type="readings", outcome="refused")
    assert [(r.actor, r.patient_id) for r in refused] == [
        ("gp-2", copd),
        ("nurse-b", copd),
        ("admin", copd),
    ]
    assert http.get(url, headers=login(http, "admin", REASON)).status_code == 200
    [allowed] = audit_rows(sessions, object_type="readings", outcome="allowed")
    assert (allowed.actor, allowed.reason, allowed.patient_id) == ("admin", REASON, copd)


def test_reports_are_listed_with_score_and_colour(
    http: httpx.Client, sessions: sessionmaker[Session], api_world: ApiWorld, login: Login
) -> None:
    """A COPD patient's more-breathless answers are listed with score 2, yellow, and why."""
    answers = {**COPD_CALM, "breathlessness": "more", "cough": "more"}
    send_report(sessions, api_world, "a-copd", report("rep-1", answers, NOW - 30 * MINUTE))
    url = f"/api/v1/patients/{api_world.patients['a-copd'].id}/reports"
    [item] = get(http, url, login(http, "gp-1"))["items"]
    assert (item["id"], item["questionnaire"], item["score"], item["colour"]) == (
        "rep-1",
        "copd-daily",
        2,
        "yellow",
    )
    assert item["answers"] == answers
    assert [f["rule_id"] for f in item["findings"] if f["colour"] == "yellow"] == ["copd-symptoms"]
    assert get(http, url, login(http, "gp-1"), questionnaire="hf-daily")["items"] == []


# ----------------------------------------------------------------------------- timeline


def test_the_timeline_merges_everything_newest_first(
    http: httpx.Client, sessions: sessionmaker[Session], api_world: ApiWorld, login: Login
) -> None:
    """Readings, reports, alert events and nurses' actions come in one list, newest first (a
    reading before the alert it opened at the same moment), and pages chain without gaps."""
    patient = api_world.patients["a-copd"]
    ingest(sessions, api_world, "a-copd", reading("old", "spo2", {"spo2": 95}, NOW - 2 * DAY))
    send_report(sessions, api_world, "a-copd", report("rep-1", COPD_CALM, NOW - 20 * MINUTE))
    ingest(sessions, api_world, "a-copd", reading("red", "spo2", {"spo2": 86}, NOW - 10 * MINUTE))
    nurse = api_world.users["nurse-a"]
    with sessions.begin() as session:
        alert = session.scalars(select(AlertRow).where(AlertRow.patient_id == patient.id)).one()
        session.add(
            AlertEventRow(
                alert_id=alert.id,
                event="acknowledged",
                at=NOW - 8 * MINUTE,
                by="nurse-a",
                from_state="open",
                to_state="acknowledged",
                colour="red",
                note="",
            )
        )
        session.add(
            AlertActionRow(
                alert_id=alert.id,
                patient_id=patient.id,
                at=NOW - 5 * MINUTE,
                by=nurse,
                outcome="phoned_patient",
                note="Ringt, legevakt kontaktet.",
            )
        )
    url = f"/api/v1/patients/{patient.id}/timeline"
    headers = login(http, "nurse-a")
    items = get(http, url, headers)["items"]
    assert [(i["type"], at(i["at"])) for i in items] == [
        ("alert_action", NOW - 5 * MINUTE),
        ("alert_event", NOW - 8 * MINUTE),
        ("reading", NOW - 10 * MINUTE),
        ("alert_event", NOW - 10 * MINUTE),
        ("report", NOW - 20 * MINUTE),
        ("reading", NOW - 2 * DAY),
    ]
    action, acknowledged, red, opened, rep, old = items
    assert (action["outcome"], action["by"], action["alert_id"]) == (
        "phoned_patient",
        nurse,
        alert.id,
    )
    assert (acknowledged["event"], acknowledged["to_state"]) == ("acknowledged", "acknowledged")
    assert (opened["event"], opened["colour"], opened["rule_id"]) == (
        "opened",
        "red",
        "threshold:spo2",
    )
    assert (red["id"], red["colour"]) == ("red", "red")
    assert (rep["id"], rep["score"]) == ("rep-1", 0)
    assert old["id"] == "old"
    pages = every_page(http, url, headers, limit=2)
    assert [len(p) for p in pages] == [2, 2, 2]
    assert [i for page in pages for i in page] == items
    recent = get(http, url, headers, since=(NOW - timedelta(hours=1)).isoformat())["items"]
    assert len(recent) == 5


def test_a_reading_with_data_quality_flags_carries_them_in_the_timeline(
    http: httpx.Client, sessions: sessionmaker[Session], api_world: ApiWorld, login: Login
) -> None:
    """A reading the gateway timed (the device's clock was unset) and one from a gateway whose
    clock runs behind come back in the timeline and the readings with their flags, so the
    dashboard can say that their time is uncertain; an ordinary reading has none."""
    patient = api_world.patients["a-copd"]
    timed = json.loads(reading("timed", "spo2", {"spo2": 95}, NOW - 30 * MINUTE))
    timed["device"] |= {"time_source": "gateway", "clock": "unset"}
    behind = json.loads(reading("behind", "spo2", {"spo2": 94}, NOW - 20 * MINUTE))
    behind["received_at"] = (NOW - 60 * MINUTE).isoformat()
    ingest(
        sessions,
        api_world,
        "a-copd",
        json.dumps(timed).encode(),
        json.dumps(behind).encode(),
        reading("plain", "spo2", {"spo2": 96}, NOW - 10 * MINUTE),
    )
    headers = login(http, "nurse-a")
    for url in (
        f"/api/v1/patients/{patient.id}/timeline",
        f"/api/v1/patients/{patient.id}/readings",
    ):
        items = get(http, url, headers)["items"]
        flags = {i["id"]: i["flags"] for i in items if i.get("type", "reading") == "reading"}
        assert flags == {
            "plain": [],
            "behind": ["gateway_clock_behind"],
            "timed": ["timed_by_gateway"],
        }, url


def test_the_timeline_of_another_gps_patient_is_refused_and_audited(
    http: httpx.Client, sessions: sessionmaker[Session], api_world: ApiWorld, login: Login
) -> None:
    """gp-2 asking for gp-1's patient's timeline gets 403, in the audit log as refused; a
    cursor from another list is refused."""
    copd = api_world.patients["a-copd"].id
    url = f"/api/v1/patients/{copd}/timeline"
    assert http.get(url, headers=login(http, "gp-2")).status_code == 403
    [row] = audit_rows(sessions, object_type="timeline")
    assert (row.actor, row.outcome, row.patient_id) == ("gp-2", "refused", copd)
    headers = login(http, "gp-1")
    ingest(
        sessions,
        api_world,
        "a-copd",
        reading("r1", "spo2", {"spo2": 95}, NOW - 2 * MINUTE),
        reading("r2", "spo2", {"spo2": 96}, NOW - MINUTE),
    )
    cursor = get(http, f"/api/v1/patients/{copd}/readings", headers, limit=1)["next_cursor"]
    assert cursor is not None
    assert http.get(url, headers=headers, params={"cursor": cursor}).status_code == 200
    reports = f"/api/v1/patients/{copd}/reports"
    assert http.get(reports, headers=headers, params={"cursor": cursor}).status_code == 400


DAY = timedelta(days=1)


# ----------------------------------------------------------------------------- dead letters


def test_dead_letters_are_for_admins_with_the_payload_as_text(
    http: httpx.Client, sessions: sessionmaker[Session], api_world: ApiWorld, login: Login
) -> None:
    """An admin sees rejected messages newest first, the payload as text (invalid bytes
    replaced, cut at 2 KiB), filtered by reason; a nurse is refused and that is audited."""
    big = b'{"broken": "' + b"\xff" * 10 + b"x" * 3000
    with sessions.begin() as session:
        add_dead_letter(
            session,
            received_at=NOW - 2 * MINUTE,
            source="mqtt",
            topic="dho/v1/gw-unknown/readings",
            gateway_id="gw-unknown",
            message_id="m-1",
            reason_code="unknown_gateway",
            reason="no gateway gw-unknown is registered",
            payload=b'{"id": "m-1"}',
        )
        add_dead_letter(
            session,
            received_at=NOW - MINUTE,
            source="http",
            topic=None,
            gateway_id="gw-a-copd",
            message_id=None,
            reason_code="malformed_json",
            reason="not JSON",
            payload=big,
        )
    headers = login(http, "admin")
    items = get(http, "/api/v1/dead-letters", headers)["items"]
    assert [i["reason_code"] for i in items] == ["malformed_json", "unknown_gateway"]
    broken, unknown = items
    assert broken["payload_truncated"] is True
    assert broken["payload_bytes"] == len(big)
    assert broken["payload"].startswith('{"broken": "\ufffd')
    assert len(broken["payload"].encode("utf-8")) <= 2048 + 10 * 2
    assert (unknown["payload"], unknown["payload_truncated"]) == ('{"id": "m-1"}', False)
    only = get(http, "/api/v1/dead-letters", headers, reason_code="unknown_gateway")["items"]
    assert [i["message_id"] for i in only] == ["m-1"]
    since = get(
        http, "/api/v1/dead-letters", headers, since=(NOW - timedelta(seconds=90)).isoformat()
    )
    assert [i["reason_code"] for i in since["items"]] == ["malformed_json"]
    pages = every_page(http, "/api/v1/dead-letters", headers, limit=1)
    assert [[i["id"] for i in page] for page in pages] == [[broken["id"]], [unknown["id"]]]

    assert http.get("/api/v1/dead-letters", headers=login(http, "nurse-a")).status_code == 403
    refused = audit_rows(sessions, object_type="dead_letters", outcome="refused")
    assert [r.actor for r in refused] == ["nurse-a"]
    allowed = audit_rows(sessions, object_type="dead_letters", outcome="allowed")
    assert {r.actor for r in allowed} == {"admin"}
