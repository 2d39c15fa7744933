"""The worklist over real HTTP (SQLite and PostgreSQL): triage order, who sees whom, filters,
pagination and the audit log.

Alerts are made the way production makes them: readings ingested through the pipeline from
the patients' own gateways (SpO2 86 % is red for COPD, 93 % yellow for heart failure).
"""

from __future__ import annotations

import base64
import json
import random
from datetime import datetime, timedelta
from typing import Any

import httpx
import pytest
from sqlalchemy import select
from sqlalchemy.orm import Session, sessionmaker

from tests.integration.api.conftest import NOW, SETTINGS, ApiWorld, Login
from triage.api.queries.worklist import worklist_entries
from triage.domain.alerts import AlertCategory, AlertState
from triage.domain.colours import Colour, Text
from triage.domain.findings import Finding, RuleType
from triage.domain.worklist import entry_for
from triage.ingest.pipeline import Incoming, OutcomeStatus, store
from triage.jobs.lost_contact import check_lost_contact
from triage.jobs.lost_contact import check_patient as check_lost_contact_of
from triage.storage import seed
from triage.storage.models import (
    AlertRow,
    AuditRow,
    CentreRow,
    GatewayRow,
    GreenAcknowledgementRow,
    MunicipalityRow,
    PatientRow,
)
from triage.storage.repositories import new_id, open_alerts

REASON = "support case 2026-114: wrong GP shown"

# ----------------------------------------------------------------------------- helpers


def reading(
    id_: str,
    kind: str,
    values: dict[str, float],
    measured_at: datetime = NOW - timedelta(minutes=10),
) -> bytes:
    return json.dumps(
        {
            "schema": "dho.reading/1",
            "id": id_,
            "kind": kind,
            "measured_at": measured_at.isoformat(),
            "received_at": (measured_at + timedelta(seconds=30)).isoformat(),
            "values": values,
            "device": {"profile": kind, "model": "test meter"},
        }
    ).encode()


def ingest(
    sessions: sessionmaker[Session], world: ApiWorld, patient: str, *payloads: bytes
) -> None:
    """Store ``payloads`` as readings from ``patient``'s own gateway."""
    gateway = world.patients[patient].gateway_id
    messages = [Incoming(topic=f"dho/v1/{gateway}/readings", payload=p) for p in payloads]
    outcomes = store(sessions, messages, SETTINGS, NOW)
    assert [o.status for o in outcomes] == [OutcomeStatus.STORED] * len(payloads), outcomes


def red_yellow_green(sessions: sessionmaker[Session], world: ApiWorld) -> None:
    """a-copd red (SpO2 86), a-hf yellow (SpO2 93), a-diabetes green (glucose 6.2), each an
    hour apart so that the oldest wait is clear."""
    ingest(sessions, world, "a-hf", reading("hf-1", "spo2", {"spo2": 93, "pulse": 80}, NOW - H))
    ingest(sessions, world, "a-copd", reading("copd-1", "spo2", {"spo2": 86, "pulse": 90}))
    ingest(sessions, world, "a-diabetes", reading("dia-1", "glucose", {"glucose": 6.2}))


H = timedelta(hours=1)


def worklist(http: httpx.Client, headers: dict[str, str], **params: Any) -> list[dict[str, Any]]:
    response = http.get("/api/v1/worklist", headers=headers, params=params)
    assert response.status_code == 200, response.text
    items: list[dict[str, Any]] = response.json()["items"]
    return items


def names(items: list[dict[str, Any]], world: ApiWorld) -> list[str]:
    by_id = {p.id: name for name, p in world.patients.items()}
    return [by_id[item["patient_id"]] for item in items]


def audit_rows(sessions: sessionmaker[Session], **where: Any) -> list[AuditRow]:
    with sessions() as session:
        statement = select(AuditRow).order_by(AuditRow.id)
        for column, value in where.items():
            statement = statement.where(getattr(AuditRow, column) == value)
        return list(session.scalars(statement))


# ----------------------------------------------------------------------------- order and content


def test_red_comes_before_yellow_before_green_with_the_reasons(
    http: httpx.Client, sessions: sessionmaker[Session], api_world: ApiWorld, login: Login
) -> None:
    """A nurse sees the red COPD patient first, then the yellow heart-failure patient, then the
    green one — each with the reason in bokmål and English and the latest reading."""
    red_yellow_green(sessions, api_world)
    items = worklist(http, login(http, "nurse-a"))
    assert names(items, api_world) == ["a-copd", "a-hf", "a-diabetes"]
    red, yellow, green = items
    assert [red["colour"], yellow["colour"], green["colour"]] == ["red", "yellow", "green"]
    assert red["display_name"] == "Testpasient a-copd"
    assert red["condition"] == "copd"
    assert red["centre_id"] == api_world.centre_a
    assert red["centre_name"] == "Oppfølgingstjenesten Testvik"
    assert red["municipality_name"] == "Testvik"
    assert red["gp_user_id"] == api_world.users["gp-1"]
    assert red["gp_name"] == "Fastlege En"
    assert red["state"] == "active"
    assert datetime.fromisoformat(red["waiting_since"]) == NOW - timedelta(minutes=10)
    [alert] = red["alerts"]
    assert alert["colour"] == "red"
    assert alert["state"] == "open"
    assert alert["acknowledged"] is False
    reason = alert["reason"]
    assert reason["colour"] == "red"
    assert reason["value"] == 86
    assert reason["plan_version"] == 1
    assert reason["rule_id"] == alert["rule_id"]
    assert reason["reason"].startswith("Oksygenmetning 86\u00a0% – rød")
    assert "86" in reason["text"]["nb"]
    assert "86" in reason["text"]["en"]
    assert reason["bound"]
    [last] = red["last_readings"]
    assert (last["kind"], last["colour"], last["values"]["spo2"]) == ("spo2", "red", 86)
    assert datetime.fromisoformat(last["measured_at"]) == NOW - timedelta(minutes=10)
    assert yellow["alerts"][0]["reason"]["colour"] == "yellow"
    assert green["alerts"] == []
    assert green["last_readings"][0]["kind"] == "glucose"
    assert green["greens_waiting"] == 1
    assert red["greens_waiting"] == 0


def test_among_equals_the_longest_waiting_unacknowledged_comes_first(
    http: httpx.Client, sessions: sessionmaker[Session], api_world: ApiWorld, login: Login
) -> None:
    """Two yellow patients: the one whose alert has waited longer is above the other."""
    ingest(sessions, api_world, "a-hf", reading("hf-1", "spo2", {"spo2": 93}, NOW - H))
    ingest(sessions, api_world, "a-copd", reading("copd-1", "spo2", {"spo2": 90}, NOW - 3 * H))
    items = worklist(http, login(http, "nurse-a"))
    assert names(items, api_world) == ["a-copd", "a-hf", "a-diabetes"]
    assert [i["colour"] for i in items] == ["yellow", "yellow", "green"]


def test_lost_contact_only_sorts_after_yellow_and_before_green(
    http: httpx.Client, sessions: sessionmaker[Session], api_world: ApiWorld, login: Login
) -> None:
    """A patient whose gateway has been silent for days, with nothing clinical, sits between
    the yellow patients and the green ones, marked as lost contact."""
    red_yellow_green(sessions, api_world)
    with sessions.begin() as session:
        check_lost_contact_of(session, api_world.patients["b-covid"].id, NOW, timedelta(hours=24))
    items = worklist(http, login(http, "nurse-ab"))
    assert names(items, api_world) == ["a-copd", "a-hf", "b-covid", "a-diabetes", "b-hypertension"]
    lost = items[2]
    assert (lost["colour"], lost["lost_contact"]) == ("green", True)
    assert lost["lost_contact_since"] is not None
    assert [a["category"] for a in lost["alerts"]] == ["technical"]


def test_acknowledged_greens_are_no_longer_waiting(
    http: httpx.Client, sessions: sessionmaker[Session], api_world: ApiWorld, login: Login
) -> None:
    """Greens measured after the last "acknowledge greens" still wait; earlier ones do not."""
    patient = api_world.patients["a-diabetes"]
    ingest(
        sessions,
        api_world,
        "a-diabetes",
        reading("dia-1", "glucose", {"glucose": 6.2}, NOW - 5 * H),
        reading("dia-2", "glucose", {"glucose": 6.4}, NOW - 3 * H),
        reading("dia-3", "glucose", {"glucose": 6.0}, NOW - H),
    )
    with sessions.begin() as session:
        session.add(
            GreenAcknowledgementRow(
                patient_id=patient.id,
                through=NOW - 2 * H,
                at=NOW - 2 * H,
                by=api_world.users["nurse-a"],
                readings=2,
            )
        )
    [entry] = worklist(http, login(http, "nurse-a"), condition="diabetes")
    assert entry["greens_waiting"] == 1
    assert entry["last_readings"][0]["id"] == "dia-3"


def test_paused_patients_are_shown_with_their_state_and_discharged_ones_are_not(
    http: httpx.Client, sessions: sessionmaker[Session], api_world: ApiWorld, login: Login
) -> None:
    """A paused patient stays on the list (with the state shown); a discharged one leaves it."""
    with sessions.begin() as session:
        hf = session.get(PatientRow, api_world.patients["a-hf"].id)
        diabetes = session.get(PatientRow, api_world.patients["a-diabetes"].id)
        assert hf is not None
        assert diabetes is not None
        hf.state = "paused"
        diabetes.state = "discharged"
    items = worklist(http, login(http, "nurse-a"))
    assert names(items, api_world) == ["a-copd", "a-hf"]
    assert items[1]["state"] == "paused"


# ----------------------------------------------------------------------------- who sees whom


def test_a_nurse_sees_only_her_centres_patients(
    http: httpx.Client, sessions: sessionmaker[Session], api_world: ApiWorld, login: Login
) -> None:
    """nurse-a sees centre A's three patients, nurse-b centre B's two, nurse-ab all five."""
    red_yellow_green(sessions, api_world)
    assert sorted(names(worklist(http, login(http, "nurse-a")), api_world)) == [
        "a-copd",
        "a-diabetes",
        "a-hf",
    ]
    assert sorted(names(worklist(http, login(http, "nurse-b")), api_world)) == [
        "b-covid",
        "b-hypertension",
    ]
    assert len(worklist(http, login(http, "nurse-ab"))) == 5


def test_a_gp_sees_only_his_own_patients(
    http: httpx.Client, sessions: sessionmaker[Session], api_world: ApiWorld, login: Login
) -> None:
    """gp-1 sees his three patients in both centres, red first; gp-2 sees her two."""
    red_yellow_green(sessions, api_world)
    assert names(worklist(http, login(http, "gp-1")), api_world) == ["a-copd", "a-hf", "b-covid"]
    assert sorted(names(worklist(http, login(http, "gp-2")), api_world)) == [
        "a-diabetes",
        "b-hypertension",
    ]


def test_an_admin_without_a_reason_is_refused_and_the_refusal_is_audited(
    http: httpx.Client, sessions: sessionmaker[Session], api_world: ApiWorld, login: Login
) -> None:
    """An admin must say why: without X-DHO-Reason the worklist is 403 and the attempt is in
    the audit log; with a reason every patient is listed and the reason is kept."""
    refused = http.get("/api/v1/worklist", headers=login(http, "admin"))
    assert refused.status_code == 403
    assert "reason" in refused.json()["detail"]
    [row] = audit_rows(sessions, action="list", object_type="worklist")
    assert (row.actor, row.outcome) == ("admin", "refused")

    items = worklist(http, login(http, "admin", reason=REASON))
    assert len(items) == 5
    allowed = audit_rows(sessions, action="list", object_type="worklist", outcome="allowed")
    assert [(r.actor, r.reason) for r in allowed] == [("admin", REASON)]


def test_each_request_is_audited_once_with_the_count(
    http: httpx.Client, sessions: sessionmaker[Session], api_world: ApiWorld, login: Login
) -> None:
    """One worklist request → one audit row naming the patients shown and how many."""
    headers = login(http, "nurse-b")
    worklist(http, headers)
    [row] = audit_rows(sessions, action="list", object_type="worklist")
    assert (row.actor, row.outcome, row.patient_id) == ("nurse-b", "allowed", None)
    assert row.details["count"] == 2
    assert sorted(row.details["patients"]) == sorted(
        [api_world.patients["b-covid"].id, api_world.patients["b-hypertension"].id]
    )


# ----------------------------------------------------------------------------- filters, pages


def test_filters_narrow_the_worklist(
    http: httpx.Client, sessions: sessionmaker[Session], api_world: ApiWorld, login: Login
) -> None:
    """Colour, municipality, centre, condition and assigned nurse each narrow the list."""
    red_yellow_green(sessions, api_world)
    headers = login(http, "nurse-ab")
    assert names(worklist(http, headers, colour="red"), api_world) == ["a-copd"]
    assert names(worklist(http, headers, colour="green"), api_world) == [
        *sorted(["a-diabetes", "b-covid", "b-hypertension"], key=lambda n: api_world.patients[n].id)
    ]
    oyvik = api_world.municipalities["oyvik"]
    assert names(worklist(http, headers, municipality=oyvik), api_world) == ["a-hf"]
    assert names(worklist(http, headers, centre=api_world.centre_b), api_world) == sorted(
        ["b-covid", "b-hypertension"], key=lambda n: api_world.patients[n].id
    )
    assert names(worklist(http, headers, condition="heart_failure"), api_world) == ["a-hf"]
    with sessions.begin() as session:
        row = session.get(PatientRow, api_world.patients["a-diabetes"].id)
        assert row is not None
        row.assigned_nurse_id = api_world.users["nurse-ab"]
    mine = worklist(http, headers, nurse=api_world.users["nurse-ab"])
    assert names(mine, api_world) == ["a-diabetes"]
    assert mine[0]["assigned_nurse_name"] == "Sykepleier AB"
    invalid = http.get("/api/v1/worklist", headers=headers, params={"colour": "purple"})
    assert invalid.status_code == 422


def test_pages_follow_each_other_in_worklist_order(
    http: httpx.Client, sessions: sessionmaker[Session], api_world: ApiWorld, login: Login
) -> None:
    """Two at a time, the pages together are the whole worklist, in order, without repeats."""
    red_yellow_green(sessions, api_world)
    headers = login(http, "nurse-ab")
    whole = names(worklist(http, headers), api_world)
    seen: list[str] = []
    cursor: str | None = None
    pages = 0
    while True:
        params: dict[str, Any] = {"limit": 2, **({"cursor": cursor} if cursor else {})}
        page = http.get("/api/v1/worklist", headers=headers, params=params).json()
        seen += names(page["items"], api_world)
        pages += 1
        cursor = page["next_cursor"]
        if cursor is None:
            break
    assert seen == whole
    assert pages == 3
    bad = http.get("/api/v1/worklist", headers=headers, params={"cursor": "not-a-cursor"})
    assert bad.status_code == 400


def _cursor(position: object) -> str:
    raw = json.dumps(position, separators=(",", ":")).encode()
    return base64.urlsafe_b64encode(raw).decode().rstrip("=")


INVALID_CURSORS = {
    "empty object": _cursor({}),
    "another list's cursor": _cursor({"at": "2026-11-23T08:00:00+00:00", "id": "a-1"}),
    "offset true": _cursor({"offset": True}),
    "negative offset": _cursor({"offset": -1}),
    "offset beyond any integer column": _cursor({"offset": 10**30}),
    "offset as text": _cursor({"offset": "2"}),
    "extra key": _cursor({"offset": 2, "more": 1}),
    "not base64url": "!!!!" + _cursor({"offset": 2}),
    "a list": _cursor([2]),
    "too long": "A" * 600,
}


@pytest.mark.parametrize("cursor", list(INVALID_CURSORS.values()), ids=list(INVALID_CURSORS))
def test_offset_paged_lists_refuse_a_cursor_they_did_not_give_out(
    http: httpx.Client, api_world: ApiWorld, login: Login, cursor: str
) -> None:
    """`/worklist` and `/patients/{id}/plans` answer an invalid cursor with 400 problem
    details like the other lists (before, most of these gave page one or a 500)."""
    headers = login(http, "nurse-a")
    copd = api_world.patients["a-copd"].id
    for path in ("/api/v1/worklist", f"/api/v1/patients/{copd}/plans"):
        response = http.get(path, headers=headers, params={"cursor": cursor})
        assert response.status_code == 400, (path, response.text)
        assert response.headers["content-type"] == "application/problem+json"
        assert response.json()["detail"] == (
            "invalid cursor: pass `next_cursor` from the previous page as is"
        )
    valid = http.get("/api/v1/worklist", headers=headers, params={"cursor": _cursor({"offset": 2})})
    assert valid.status_code == 200


def test_the_lost_contact_job_and_the_worklist_agree_on_everyone(
    http: httpx.Client, sessions: sessionmaker[Session], api_world: ApiWorld, login: Login
) -> None:
    """After the lost-contact job has run over silent gateways, clinical colour still decides
    the tier: the red and yellow patients stay above those only out of contact."""
    red_yellow_green(sessions, api_world)
    with sessions.begin() as session:
        for gateway in session.scalars(select(GatewayRow)):
            if gateway.patient_id != api_world.patients["a-diabetes"].id:
                gateway.last_seen_at = NOW - timedelta(days=3)
    check_lost_contact(sessions, SETTINGS, NOW)
    items = worklist(http, login(http, "nurse-ab"))
    assert names(items, api_world)[:2] == ["a-copd", "a-hf"]
    assert [i["lost_contact"] for i in items] == [True, True, True, True, False]
    assert names(items, api_world)[-1] == "a-diabetes"


# ----------------------------------------------------------------------------- the entries


def test_the_entries_summed_up_in_the_database_are_the_domains(
    sessions: sessionmaker[Session], api_world: ApiWorld
) -> None:
    """For 60 patients with random mixes of unresolved and resolved alerts (clinical and
    technical, red/yellow, open/acknowledged, missing data, back in contact), the worklist's
    database summary gives exactly the entries of ``triage.domain.worklist.entry_for``."""
    rng = random.Random(2026)
    with sessions.begin() as session:
        centre = session.get(CentreRow, api_world.centre_a)
        municipality = session.get(MunicipalityRow, api_world.municipalities["testvik"])
        assert centre is not None
        assert municipality is not None
        for n in range(60):
            patient = seed.add_patient(
                session, display_name=f"Mix {n}", municipality=municipality, centre=centre, now=NOW
            )
            for rule in range(rng.randrange(5)):
                session.add(random_alert(rng, patient.id, f"rule-{rule}"))
    with sessions() as session:
        everyone = list(session.scalars(select(PatientRow.id)))
        expected = {
            pid: entry_for(pid, alerts) for pid, alerts in open_alerts(session, everyone).items()
        }
        assert worklist_entries(session, [PatientRow.id.is_not(None)]) == expected
    assert len(expected) > 40
    assert {e.colour for e in expected.values()} == set(Colour)
    assert any(e.lost_contact for e in expected.values())
    assert any(e.missing_data for e in expected.values())


def random_alert(rng: random.Random, patient_id: str, rule_id: str) -> AlertRow:
    technical = rng.random() < 0.25
    rule_type = (
        RuleType.LOST_CONTACT
        if technical
        else rng.choice([RuleType.THRESHOLD, RuleType.MISSING, RuleType.TREND])
    )
    colour = Colour.YELLOW if technical else rng.choice([Colour.RED, Colour.YELLOW])
    state = rng.choice(list(AlertState))
    opened = NOW - timedelta(minutes=rng.randrange(1, 5000))
    finding = Finding(
        rule_id=rule_id,
        rule_type=rule_type,
        colour=colour,
        at=opened,
        text=Text(nb="avvik", en="deviation"),
    )
    acknowledged = state is not AlertState.OPEN
    return AlertRow(
        id=new_id(),
        patient_id=patient_id,
        rule_id=rule_id,
        rule_type=rule_type.value,
        category=(AlertCategory.TECHNICAL if technical else AlertCategory.CLINICAL).value,
        colour=colour.value,
        state=state.value,
        opened_at=opened,
        last_breach_at=opened,
        breaches=1,
        reason=finding.model_dump(mode="json"),
        acknowledged_at=opened + timedelta(minutes=5) if acknowledged else None,
        acknowledged_by="nurse-a" if acknowledged else None,
        resolved_at=opened + timedelta(minutes=9) if state is AlertState.RESOLVED else None,
        back_in_range_at=opened + timedelta(minutes=1) if rng.random() < 0.3 else None,
    )
