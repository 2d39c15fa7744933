"""Alert handling over real HTTP (SQLite and PostgreSQL): a red reading opens an alert that a
nurse acknowledges, acts on and resolves; forbidden transitions are conflicts; only nurses of
the patient's centre handle alerts; and "acknowledge all green"."""

from __future__ import annotations

from datetime import datetime, timedelta

import httpx
from sqlalchemy import select
from sqlalchemy.orm import Session, sessionmaker

from tests.integration.api.conftest import NOW, ApiWorld, Login, ingest
from triage.storage.models import AlertActionRow, AlertRow, AuditRow, GreenAcknowledgementRow

API = "/api/v1"
GREEN_SPO2: dict[str, float] = {"spo2": 96, "pulse": 72}


def red_alert(sessions: sessionmaker[Session], world: ApiWorld) -> str:
    """SpO2 86 % for the COPD patient (red at ≤ 87 %): the id of the alert it opens."""
    copd = world.patients["a-copd"]
    [outcome] = ingest(
        sessions,
        copd.gateway_id,
        [("red-1", "spo2", {"spo2": 86, "pulse": 88}, NOW - timedelta(minutes=5))],
    )
    assert outcome.colour == "red"
    with sessions() as session:
        return session.scalars(
            select(AlertRow.id).where(
                AlertRow.patient_id == copd.id, AlertRow.rule_id == "threshold:spo2"
            )
        ).one()


def audited(
    sessions: sessionmaker[Session], actor: str, action: str, outcome: str = "refused"
) -> list[AuditRow]:
    with sessions() as session:
        return list(
            session.scalars(
                select(AuditRow).where(
                    AuditRow.actor == actor, AuditRow.action == action, AuditRow.outcome == outcome
                )
            )
        )


# ----------------------------------------------------------------------------- handling


def test_a_nurse_acknowledges_acts_on_and_resolves_a_red_alert(
    http: httpx.Client, api_world: ApiWorld, login: Login, sessions: sessionmaker[Session]
) -> None:
    """The whole episode: open → acknowledged → action recorded → resolved with an outcome;
    the history shows each step, by whom, and each change is audited."""
    alert_id = red_alert(sessions, api_world)
    copd = api_world.patients["a-copd"]
    nurse = login(http, "nurse-a")

    listed = http.get(f"{API}/patients/{copd.id}/alerts", params={"state": "open"}, headers=nurse)
    assert listed.status_code == 200, listed.text
    [item] = listed.json()["items"]
    assert (item["id"], item["colour"], item["state"]) == (alert_id, "red", "open")
    assert item["reason"]["reason"].startswith("Oksygenmetning 86\u00a0%")

    acknowledged = http.post(
        f"{API}/alerts/{alert_id}/acknowledge", json={"note": "Ser på det"}, headers=nurse
    )
    assert acknowledged.status_code == 200, acknowledged.text
    assert (acknowledged.json()["state"], acknowledged.json()["acknowledged_by"]) == (
        "acknowledged",
        "nurse-a",
    )

    acted = http.post(
        f"{API}/alerts/{alert_id}/actions",
        json={"outcome": "phoned_patient", "note": "Ringte, pasienten kaldt fingre"},
        headers=nurse,
    )
    assert acted.status_code == 201, acted.text

    resolved = http.post(
        f"{API}/alerts/{alert_id}/resolve",
        json={"outcome": "advised_per_plan", "note": "Ny måling 95 %"},
        headers=nurse,
    )
    assert resolved.status_code == 200, resolved.text

    detail = http.get(f"{API}/alerts/{alert_id}", headers=nurse).json()
    assert (detail["state"], detail["resolved_by"]) == ("resolved", "nurse-a")
    assert [(e["event"], e["by"], e["to_state"]) for e in detail["events"]] == [
        ("opened", None, "open"),
        ("acknowledged", "nurse-a", "acknowledged"),
        ("resolved", "nurse-a", "resolved"),
    ]
    assert detail["events"][1]["note"] == "Ser på det"
    assert [(a["outcome"], a["by_username"], a["note"]) for a in detail["actions"]] == [
        ("phoned_patient", "nurse-a", "Ringte, pasienten kaldt fingre"),
        ("advised_per_plan", "nurse-a", "Ny måling 95 %"),
    ]
    for action in ("acknowledge_alert", "record_alert_action", "resolve_alert", "read_alert"):
        [row] = audited(sessions, "nurse-a", action, "allowed")
        assert (row.object_id, row.patient_id) == (alert_id, copd.id)

    assert (
        http.get(
            f"{API}/patients/{copd.id}/alerts", params={"state": "unresolved"}, headers=nurse
        ).json()["items"]
        == []
    )


def test_forbidden_transitions_are_conflicts_with_the_reason(
    http: httpx.Client, api_world: ApiWorld, login: Login, sessions: sessionmaker[Session]
) -> None:
    """Resolving before acknowledging, acknowledging twice and resolving a resolved alert are
    409 with the reason; nothing changes."""
    alert_id = red_alert(sessions, api_world)
    nurse = login(http, "nurse-a")

    early = http.post(f"{API}/alerts/{alert_id}/resolve", headers=nurse)
    assert early.status_code == 409
    assert early.json()["detail"] == (
        "an alert cannot go from open to resolved (allowed from open: acknowledged)"
    )
    assert http.post(f"{API}/alerts/{alert_id}/acknowledge", headers=nurse).status_code == 200
    twice = http.post(f"{API}/alerts/{alert_id}/acknowledge", headers=nurse)
    assert twice.status_code == 409
    assert "cannot go from acknowledged to acknowledged" in twice.json()["detail"]
    assert http.post(f"{API}/alerts/{alert_id}/resolve", headers=nurse).status_code == 200

    again = http.post(
        f"{API}/alerts/{alert_id}/resolve", json={"outcome": "no_action_needed"}, headers=nurse
    )
    assert again.status_code == 409
    assert "cannot go from resolved to resolved" in again.json()["detail"]
    late_action = http.post(
        f"{API}/alerts/{alert_id}/actions", json={"outcome": "contacted_gp"}, headers=nurse
    )
    assert late_action.status_code == 409
    detail = http.get(f"{API}/alerts/{alert_id}", headers=nurse).json()
    assert [e["event"] for e in detail["events"]] == ["opened", "acknowledged", "resolved"]
    assert detail["actions"] == []


def test_a_nurse_of_another_centre_is_refused_and_audited(
    http: httpx.Client, api_world: ApiWorld, login: Login, sessions: sessionmaker[Session]
) -> None:
    """nurse-b (centre B) can neither see nor handle an alert of centre A's patient."""
    alert_id = red_alert(sessions, api_world)
    copd = api_world.patients["a-copd"]
    other = login(http, "nurse-b")

    assert http.get(f"{API}/alerts/{alert_id}", headers=other).status_code == 403
    assert http.get(f"{API}/patients/{copd.id}/alerts", headers=other).status_code == 403
    refused = http.post(f"{API}/alerts/{alert_id}/acknowledge", headers=other)
    assert refused.status_code == 403
    assert "another follow-up centre" in refused.json()["detail"]
    for action in ("read_alert", "read_alerts", "acknowledge_alert"):
        [row] = audited(sessions, "nurse-b", action)
        assert row.patient_id == copd.id
    with sessions() as session:
        alert = session.get(AlertRow, alert_id)
        assert alert is not None
        assert alert.state == "open"


def test_a_gp_reads_but_does_not_handle_alerts(
    http: httpx.Client, api_world: ApiWorld, login: Login, sessions: sessionmaker[Session]
) -> None:
    """The patient's GP sees the alert but may not acknowledge or resolve it (audited); an
    admin may not handle it even with a reason."""
    alert_id = red_alert(sessions, api_world)
    gp = login(http, "gp-1")
    assert http.get(f"{API}/alerts/{alert_id}", headers=gp).status_code == 200
    refused = http.post(f"{API}/alerts/{alert_id}/acknowledge", headers=gp)
    assert refused.status_code == 403
    assert "a GP may not handle" in refused.json()["detail"]
    [row] = audited(sessions, "gp-1", "acknowledge_alert")
    assert row.object_id == alert_id
    admin = login(http, "admin", reason="Support case 2026-7: alert stuck")
    assert http.post(f"{API}/alerts/{alert_id}/acknowledge", headers=admin).status_code == 403


def test_an_alert_is_assigned_only_to_a_nurse_of_the_patients_centre(
    http: httpx.Client, api_world: ApiWorld, login: Login, sessions: sessionmaker[Session]
) -> None:
    """Assigning to nurse-ab (works at A) is recorded; nurse-b (B only) or a GP is a 422."""
    alert_id = red_alert(sessions, api_world)
    nurse = login(http, "nurse-a")
    users = api_world.users

    assigned = http.post(
        f"{API}/alerts/{alert_id}/assign", json={"user_id": users["nurse-ab"]}, headers=nurse
    )
    assert assigned.status_code == 200, assigned.text
    assert assigned.json()["assigned_to"] == users["nurse-ab"]
    assert assigned.json()["events"][-1]["event"] == "assigned"
    assert assigned.json()["events"][-1]["note"] == "assigned to nurse-ab"

    for user in ("nurse-b", "gp-1"):
        wrong = http.post(
            f"{API}/alerts/{alert_id}/assign", json={"user_id": users[user]}, headers=nurse
        )
        assert wrong.status_code == 422
        assert "not an active nurse of the patient's follow-up centre" in wrong.json()["detail"]
    assert (
        http.get(f"{API}/alerts/{alert_id}", headers=nurse).json()["assigned_to"]
        == (users["nurse-ab"])
    )
    # each refused assignment is in the audit log with its reason
    refusals = audited(sessions, "nurse-a", "assign_alert")
    assert sorted(r.details["refused"] for r in refusals) == sorted(
        f"user {users[u]} is not an active nurse of the patient's follow-up centre"
        for u in ("nurse-b", "gp-1")
    )
    assert {(r.object_id, r.patient_id) for r in refusals} == {
        (alert_id, api_world.patients["a-copd"].id)
    }


def test_a_patients_alerts_are_listed_newest_first_page_by_page(
    http: httpx.Client, api_world: ApiWorld, login: Login, sessions: sessionmaker[Session]
) -> None:
    """Two alerts (SpO2 red, temperature yellow) come one per page, the newest first; the state
    filter narrows them."""
    red_alert(sessions, api_world)
    copd = api_world.patients["a-copd"]
    ingest(
        sessions,
        copd.gateway_id,
        [("fever", "body_temperature", {"temperature": 38.4}, NOW - timedelta(minutes=1))],
    )
    nurse = login(http, "nurse-a")
    first = http.get(f"{API}/patients/{copd.id}/alerts", params={"limit": 1}, headers=nurse)
    body = first.json()
    assert [a["rule_id"] for a in body["items"]] == ["threshold:temperature"]
    assert body["next_cursor"] is not None
    second = http.get(
        f"{API}/patients/{copd.id}/alerts",
        params={"limit": 1, "cursor": body["next_cursor"]},
        headers=nurse,
    ).json()
    assert [a["rule_id"] for a in second["items"]] == ["threshold:spo2"]
    assert second["next_cursor"] is None
    resolved = http.get(
        f"{API}/patients/{copd.id}/alerts", params={"state": "resolved"}, headers=nurse
    )
    assert resolved.json()["items"] == []
    bad = http.get(f"{API}/patients/{copd.id}/alerts", params={"state": "snoozed"}, headers=nurse)
    assert bad.status_code == 422


# ----------------------------------------------------------------------------- greens


def greens(
    count: int, prefix: str, start: datetime
) -> list[tuple[str, str, dict[str, float], datetime]]:
    return [
        (f"{prefix}-{n}", "spo2", GREEN_SPO2, start + timedelta(minutes=n)) for n in range(count)
    ]


def test_acknowledging_greens_covers_each_patients_waiting_green_readings(
    http: httpx.Client, api_world: ApiWorld, login: Login, sessions: sessionmaker[Session]
) -> None:
    """ "Acknowledge all green" covers the greens of nurse-a's patients up to now, counted per
    patient; a second time finds nothing; a later green waits for the next one."""
    copd, hf, covid = (api_world.patients[p] for p in ("a-copd", "a-hf", "b-covid"))
    morning = NOW - timedelta(hours=2)
    ingest(sessions, copd.gateway_id, greens(3, "copd", morning))
    ingest(sessions, hf.gateway_id, greens(2, "hf", morning))
    ingest(sessions, covid.gateway_id, greens(1, "covid", morning))
    nurse = login(http, "nurse-a")

    through = NOW - timedelta(hours=1)
    done = http.post(
        f"{API}/greens/acknowledge", json={"through": through.isoformat()}, headers=nurse
    )
    assert done.status_code == 200, done.text
    body = done.json()
    assert body["through"] == through.isoformat().replace("+00:00", "Z")
    assert {p["patient_id"]: p["readings"] for p in body["patients"]} == {copd.id: 3, hf.id: 2}
    assert body["readings"] == 5

    again = http.post(f"{API}/greens/acknowledge", headers=nurse).json()
    assert (again["patients"], again["readings"]) == ([], 0)

    ingest(sessions, copd.gateway_id, [("copd-late", "spo2", GREEN_SPO2, NOW)])
    only = http.post(
        f"{API}/greens/acknowledge", json={"patient_ids": [copd.id, hf.id]}, headers=nurse
    ).json()
    assert only["through"] == NOW.isoformat().replace("+00:00", "Z")
    assert only["patients"] == [{"patient_id": copd.id, "readings": 1}]
    with sessions() as session:
        rows = session.scalars(select(GreenAcknowledgementRow)).all()
        assert sorted((r.patient_id == copd.id, r.readings) for r in rows) == [
            (False, 2),
            (True, 1),
            (True, 3),
        ]
        assert all(r.by == api_world.users["nurse-a"] for r in rows)


def test_acknowledging_greens_is_refused_outside_the_nurses_centre(
    http: httpx.Client, api_world: ApiWorld, login: Login, sessions: sessionmaker[Session]
) -> None:
    """Naming a patient of another centre refuses the whole request (audited, nothing stored);
    a GP may not acknowledge greens at all; `through` may not be in the future."""
    copd, covid = api_world.patients["a-copd"], api_world.patients["b-covid"]
    ingest(sessions, covid.gateway_id, greens(2, "covid", NOW - timedelta(hours=1)))
    nurse = login(http, "nurse-a")
    refused = http.post(
        f"{API}/greens/acknowledge", json={"patient_ids": [copd.id, covid.id]}, headers=nurse
    )
    assert refused.status_code == 403
    [row] = audited(sessions, "nurse-a", "acknowledge_greens")
    assert row.patient_id == covid.id

    gp = http.post(f"{API}/greens/acknowledge", headers=login(http, "gp-1"))
    assert gp.status_code == 403
    assert audited(sessions, "gp-1", "acknowledge_greens")

    future = http.post(
        f"{API}/greens/acknowledge",
        json={"through": (NOW + timedelta(hours=1)).isoformat()},
        headers=nurse,
    )
    assert future.status_code == 422
    with sessions() as session:
        assert session.scalars(select(GreenAcknowledgementRow)).all() == []


# ----------------------------------------------------------------------------- issue 18: alerts


def test_a_hospital_admission_and_a_home_visit_avoided_are_stored_and_shown(
    http: httpx.Client, api_world: ApiWorld, login: Login, sessions: sessionmaker[Session]
) -> None:
    """The outcome "admitted to hospital" and the nurse's "home visit avoided" are stored on the
    action (the programme's benefit figures read them) and shown with it; an action without
    the tick is not a visit avoided."""
    alert_id = red_alert(sessions, api_world)
    nurse = login(http, "nurse-a")
    assert http.post(f"{API}/alerts/{alert_id}/acknowledge", headers=nurse).status_code == 200

    phoned = http.post(
        f"{API}/alerts/{alert_id}/actions",
        json={"outcome": "phoned_patient", "note": "Ringte", "home_visit_avoided": True},
        headers=nurse,
    )
    assert phoned.status_code == 201, phoned.text
    resolved = http.post(
        f"{API}/alerts/{alert_id}/resolve",
        json={"outcome": "hospital_admission", "note": "Innlagt med ambulanse"},
        headers=nurse,
    )
    assert resolved.status_code == 200, resolved.text

    shown = [
        (a["outcome"], a["home_visit_avoided"])
        for a in http.get(f"{API}/alerts/{alert_id}", headers=nurse).json()["actions"]
    ]
    assert shown == [("phoned_patient", True), ("hospital_admission", False)]
    with sessions() as session:
        stored = session.execute(
            select(AlertActionRow.outcome, AlertActionRow.home_visit_avoided)
            .where(AlertActionRow.alert_id == alert_id)
            .order_by(AlertActionRow.id)
        ).all()
    assert [tuple(r) for r in stored] == [("phoned_patient", True), ("hospital_admission", False)]


def test_resolving_with_a_home_visit_avoided_needs_the_outcome(
    http: httpx.Client, api_world: ApiWorld, login: Login, sessions: sessionmaker[Session]
) -> None:
    """The tick "home visit avoided" belongs to a recorded action: resolving with the tick and no
    outcome is 422 with the reason, and the alert stays acknowledged; with the outcome it is
    stored."""
    alert_id = red_alert(sessions, api_world)
    nurse = login(http, "nurse-a")
    assert http.post(f"{API}/alerts/{alert_id}/acknowledge", headers=nurse).status_code == 200

    bare = http.post(
        f"{API}/alerts/{alert_id}/resolve", json={"home_visit_avoided": True}, headers=nurse
    )
    assert bare.status_code == 422
    assert "give the outcome too" in bare.text
    assert http.get(f"{API}/alerts/{alert_id}", headers=nurse).json()["state"] == "acknowledged"

    resolved = http.post(
        f"{API}/alerts/{alert_id}/resolve",
        json={"outcome": "advised_per_plan", "home_visit_avoided": True},
        headers=nurse,
    )
    assert resolved.status_code == 200, resolved.text
    assert [(a["outcome"], a["home_visit_avoided"]) for a in resolved.json()["actions"]] == [
        ("advised_per_plan", True)
    ]
