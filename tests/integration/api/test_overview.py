"""The GP's overview over real HTTP (SQLite and PostgreSQL): the deviations since the last look
with what the centre did in one request (one audit row), and the last look kept on the server."""

from __future__ import annotations

from datetime import timedelta

import httpx
from sqlalchemy import select
from sqlalchemy.orm import Session, sessionmaker

from tests.integration.api.conftest import NOW, ApiWorld, Login, ingest
from triage.storage.models import AuditRow

API = "/api/v1"


def _deviations(sessions: sessionmaker[Session], world: ApiWorld) -> None:
    """gp-1's a-copd red (2 h ago) and a-hf yellow (20 h ago); gp-2's a-diabetes red."""
    ingest(
        sessions,
        world.patients["a-copd"].gateway_id,
        [("copd-red", "spo2", {"spo2": 86, "pulse": 90}, NOW - timedelta(hours=2))],
    )
    ingest(
        sessions,
        world.patients["a-hf"].gateway_id,
        [("hf-yellow", "spo2", {"spo2": 93, "pulse": 80}, NOW - timedelta(hours=20))],
    )
    ingest(
        sessions,
        world.patients["a-diabetes"].gateway_id,
        [("dia-red", "glucose", {"glucose": 2.5}, NOW - timedelta(hours=1))],
    )


def _audit(sessions: sessionmaker[Session], actor: str) -> list[tuple[str, str]]:
    with sessions() as session:
        rows = session.execute(
            select(AuditRow.action, AuditRow.object_type)
            .where(AuditRow.actor == actor, AuditRow.action != "login")
            .order_by(AuditRow.id)
        ).all()
    return [(a, o) for a, o in rows]


def test_one_request_gives_the_gps_deviations_since_a_time_with_what_the_centre_did(
    http: httpx.Client, api_world: ApiWorld, login: Login, sessions: sessionmaker[Session]
) -> None:
    """gp-1 asks for alerts opened in the last 12 hours with history: the red COPD alert comes with
    the nurse's action and resolution; the older yellow and gp-2's patient are not there; one
    audit row names the patients shown."""
    _deviations(sessions, api_world)
    nurse = login(http, "nurse-a")
    copd = api_world.patients["a-copd"]
    [red] = http.get(f"{API}/patients/{copd.id}/alerts", headers=nurse).json()["items"]
    http.post(f"{API}/alerts/{red['id']}/acknowledge", json={}, headers=nurse)
    resolved = http.post(
        f"{API}/alerts/{red['id']}/resolve",
        json={"outcome": "contacted_gp", "note": "Fastlegen ringer"},
        headers=nurse,
    )
    assert resolved.status_code == 200, resolved.text

    gp = login(http, "gp-1")
    since = (NOW - timedelta(hours=12)).isoformat()
    answer = http.get(f"{API}/alerts", params={"opened_since": since, "history": True}, headers=gp)
    assert answer.status_code == 200, answer.text
    [item] = answer.json()["items"]
    assert (item["id"], item["patient_id"], item["colour"], item["state"]) == (
        red["id"],
        copd.id,
        "red",
        "resolved",
    )
    assert [(a["outcome"], a["note"], a["by_username"]) for a in item["actions"]] == [
        ("contacted_gp", "Fastlegen ringer", "nurse-a")
    ]
    assert [e["event"] for e in item["events"]] == ["opened", "acknowledged", "resolved"]
    assert _audit(sessions, "gp-1") == [("list", "alerts")]
    with sessions() as session:
        details = session.scalars(
            select(AuditRow.details).where(AuditRow.actor == "gp-1", AuditRow.action == "list")
        ).one()
    assert details["patients"] == [copd.id]
    assert details["history"] is True

    # without a time: every alert of gp-1's patients, newest first, without history
    every = http.get(f"{API}/alerts", headers=gp).json()["items"]
    assert [(a["patient_id"], a["events"]) for a in every] == [
        (copd.id, None),
        (api_world.patients["a-hf"].id, None),
    ]


def test_the_patients_alert_list_gives_history_on_request(
    http: httpx.Client, api_world: ApiWorld, login: Login, sessions: sessionmaker[Session]
) -> None:
    """The per-patient list takes the same `opened_since` and `history` options."""
    _deviations(sessions, api_world)
    hf = api_world.patients["a-hf"]
    nurse = login(http, "nurse-a")
    [alert] = http.get(
        f"{API}/patients/{hf.id}/alerts", params={"history": True}, headers=nurse
    ).json()["items"]
    assert ([e["event"] for e in alert["events"]], alert["actions"]) == (["opened"], [])
    later = http.get(
        f"{API}/patients/{hf.id}/alerts",
        params={"opened_since": (NOW - timedelta(hours=12)).isoformat()},
        headers=nurse,
    ).json()
    assert later["items"] == []
    naive = http.get(
        f"{API}/patients/{hf.id}/alerts", params={"opened_since": "2026-11-20T10:00"}, headers=nurse
    )
    assert naive.status_code == 422


def test_an_admin_lists_alerts_only_with_a_reason(
    http: httpx.Client, api_world: ApiWorld, login: Login, sessions: sessionmaker[Session]
) -> None:
    """Without X-DHO-Reason the admin is refused (and audited); with one, all patients."""
    _deviations(sessions, api_world)
    refused = http.get(f"{API}/alerts", headers=login(http, "admin"))
    assert refused.status_code == 403
    allowed = http.get(
        f"{API}/alerts", headers=login(http, "admin", reason="Kvalitetskontroll av varsler")
    )
    assert len(allowed.json()["items"]) == 3
    with sessions() as session:
        outcomes = session.scalars(
            select(AuditRow.outcome).where(AuditRow.actor == "admin", AuditRow.action == "list")
        ).all()
    assert sorted(outcomes) == ["allowed", "refused"]


def test_the_last_look_is_kept_on_the_server_across_logins(
    http: httpx.Client, login: Login, sessions: sessionmaker[Session]
) -> None:
    """Never marked: null. Marked through the moment the overview was fetched: the next login
    (another browser) gets the same time back."""
    first = login(http, "gp-1")
    assert http.get(f"{API}/me/overview-seen", headers=first).json() == {
        "seen_through": None,
        "marked_at": None,
    }
    fetched = NOW - timedelta(minutes=4)
    marked = http.post(
        f"{API}/me/overview-seen", json={"through": fetched.isoformat()}, headers=first
    )
    assert marked.status_code == 200, marked.text
    elsewhere = login(http, "gp-1")
    assert http.get(f"{API}/me/overview-seen", headers=elsewhere).json() == {
        "seen_through": "2026-11-23T08:26:00Z",
        "marked_at": "2026-11-23T08:30:00Z",
    }
    # without a time: now; another GP's look is their own
    http.post(f"{API}/me/overview-seen", headers=elsewhere)
    seen = http.get(f"{API}/me/overview-seen", headers=elsewhere).json()["seen_through"]
    assert seen == "2026-11-23T08:30:00Z"
    other = http.get(f"{API}/me/overview-seen", headers=login(http, "gp-2")).json()
    assert other["seen_through"] is None
    assert _audit(sessions, "gp-1") == [("mark_seen", "overview"), ("mark_seen", "overview")]


def test_marking_the_future_seen_or_a_nurse_marking_is_refused(
    http: httpx.Client, login: Login
) -> None:
    """A time well after now is a 422 with the reason; a dashboard clock a minute ahead counts
    as now; the overview is the GP's (403 for nurses)."""
    gp = login(http, "gp-1")
    future = (NOW + timedelta(minutes=3)).isoformat()
    ahead = http.post(f"{API}/me/overview-seen", json={"through": future}, headers=gp)
    assert ahead.status_code == 422
    assert "in the future" in ahead.json()["detail"]
    skewed = (NOW + timedelta(minutes=1)).isoformat()
    marked = http.post(f"{API}/me/overview-seen", json={"through": skewed}, headers=gp)
    assert marked.json()["seen_through"] == "2026-11-23T08:30:00Z"
    nurse = http.post(f"{API}/me/overview-seen", headers=login(http, "nurse-a"))
    assert nurse.status_code == 403
