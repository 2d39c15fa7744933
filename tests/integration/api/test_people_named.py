"""People by name and role, not by username (issue 17): every answer that names who acknowledged,
resolved, acted on or has an alert carries ``…_person`` = {user_id, username, display_name, role}
next to the old field — alert details and lists, the worklist, the timeline."""

from __future__ import annotations

from typing import Any

import httpx
from sqlalchemy.orm import Session, sessionmaker

from tests.integration.api.conftest import ApiWorld, Login
from tests.integration.api.test_alerts import red_alert

API = "/api/v1"


def _person(world: ApiWorld, username: str, display_name: str, role: str) -> dict[str, Any]:
    return {
        "user_id": world.users[username],
        "username": username,
        "display_name": display_name,
        "role": role,
    }


def test_who_handled_an_alert_is_named_with_display_name_and_role_everywhere(
    http: httpx.Client, api_world: ApiWorld, login: Login, sessions: sessionmaker[Session]
) -> None:
    alert_id = red_alert(sessions, api_world)
    copd = api_world.patients["a-copd"]
    nurse = login(http, "nurse-a")
    kari = _person(api_world, "nurse-a", "Sykepleier A", "nurse")
    colleague = _person(api_world, "nurse-ab", "Sykepleier AB", "nurse")

    acknowledged = http.post(f"{API}/alerts/{alert_id}/acknowledge", json={}, headers=nurse)
    assert acknowledged.status_code == 200, acknowledged.text
    assert acknowledged.json()["acknowledged_by_person"] == kari
    assert acknowledged.json()["acknowledged_by"] == "nurse-a"  # kept for compatibility
    assigned = http.post(
        f"{API}/alerts/{alert_id}/assign",
        json={"user_id": api_world.users["nurse-ab"]},
        headers=nurse,
    ).json()
    assert assigned["assigned_to_person"] == colleague

    # the worklist, before it is resolved
    worklist = http.get(f"{API}/worklist", headers=nurse).json()["items"]
    [brief] = [a for item in worklist for a in item["alerts"] if a["id"] == alert_id]
    assert (brief["acknowledged_by_person"], brief["assigned_to_person"]) == (kari, colleague)

    http.post(f"{API}/alerts/{alert_id}/actions", json={"outcome": "phoned_patient"}, headers=nurse)
    http.post(
        f"{API}/alerts/{alert_id}/resolve", json={"outcome": "advised_per_plan"}, headers=nurse
    )

    detail = http.get(f"{API}/alerts/{alert_id}", headers=nurse).json()
    assert detail["resolved_by_person"] == kari
    assert [(e["event"], e["by_person"]) for e in detail["events"]] == [
        ("opened", None),  # the service did it
        ("acknowledged", kari),
        ("assigned", kari),
        ("resolved", kari),
    ]
    assert [a["by_person"] for a in detail["actions"]] == [kari, kari]

    listed = http.get(
        f"{API}/patients/{copd.id}/alerts",
        params={"state": "all", "history": "true"},
        headers=login(http, "gp-1"),
    ).json()["items"]
    [item] = [a for a in listed if a["id"] == alert_id]
    assert (item["acknowledged_by_person"], item["resolved_by_person"]) == (kari, kari)
    assert {a["by_person"]["display_name"] for a in item["actions"]} == {"Sykepleier A"}
    plain = http.get(
        f"{API}/patients/{copd.id}/alerts", params={"state": "all"}, headers=nurse
    ).json()["items"]
    assert [a["resolved_by_person"] for a in plain if a["id"] == alert_id] == [kari]

    timeline = http.get(f"{API}/patients/{copd.id}/timeline", headers=nurse).json()["items"]
    people = {
        (i["type"], i.get("event") or i.get("outcome")): i["by_person"]
        for i in timeline
        if i["type"] in {"alert_event", "alert_action"}
    }
    assert people[("alert_event", "acknowledged")] == kari
    assert people[("alert_action", "phoned_patient")] == kari
    assert people[("alert_event", "opened")] is None


def test_who_saved_and_approved_a_plan_version_is_named_with_role(
    http: httpx.Client, api_world: ApiWorld, login: Login
) -> None:
    copd = api_world.patients["a-copd"]
    nurse, gp = login(http, "nurse-a"), login(http, "gp-1")
    kari = _person(api_world, "nurse-a", "Sykepleier A", "nurse")
    doctor = _person(api_world, "gp-1", "Fastlege En", "gp")
    draft = http.post(
        f"{API}/patients/{copd.id}/plans", json={"condition": "copd"}, headers=nurse
    ).json()
    assert (draft["created_by_person"], draft["approved_by_person"]) == (kari, None)
    waiting = http.get(f"{API}/plans/drafts", headers=gp).json()["items"]
    assert [d["created_by_person"] for d in waiting if d["plan_id"] == draft["plan_id"]] == [kari]
    approved = http.post(
        f"{API}/plans/{draft['plan_id']}/versions/{draft['version']}/approve", headers=gp
    ).json()
    assert approved["approved_by_person"] == doctor
    history = http.get(f"{API}/patients/{copd.id}/plans", headers=nurse).json()["items"]
    assert (history[0]["created_by_person"], history[0]["approved_by_person"]) == (kari, doctor)
