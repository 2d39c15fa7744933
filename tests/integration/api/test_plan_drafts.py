"""The plan drafts awaiting the caller's approval, in one list (``GET /plans/drafts``) over real
HTTP on SQLite and PostgreSQL: a GP's own patients only, nurses only where the site lets them
approve, only drafts that can still be approved, one audit row per list."""

from __future__ import annotations

from typing import Any

import httpx
from sqlalchemy import select
from sqlalchemy.orm import Session, sessionmaker

from tests.integration.api.conftest import NOW, ApiWorld, Login
from tests.integration.api.test_plans import refusals
from tests.integration.test_http_ingest import serving
from triage.api.app import create_app
from triage.config import Settings
from triage.domain.access import PlanApprovers
from triage.storage.models import AuditRow

API = "/api/v1"
DRAFTS = f"{API}/plans/drafts"


def draft(http: httpx.Client, headers: dict[str, str], patient_id: str, note: str) -> Any:
    """A new draft of the patient's plan from their condition's template."""
    condition = http.get(f"{API}/patients/{patient_id}", headers=headers).json()["condition"]
    created = http.post(
        f"{API}/patients/{patient_id}/plans",
        json={"condition": condition, "note": note},
        headers=headers,
    )
    assert created.status_code == 201, created.text
    return created.json()


def listed(http: httpx.Client, headers: dict[str, str], **params: Any) -> list[tuple[str, int]]:
    response = http.get(DRAFTS, headers=headers, params=params)
    assert response.status_code == 200, response.text
    return [(d["patient_name"], d["version"]) for d in response.json()["items"]]


def test_a_gp_sees_the_drafts_of_own_patients_and_not_another_gps(
    http: httpx.Client, api_world: ApiWorld, login: Login
) -> None:
    """Drafts for a-copd (gp-1) and a-diabetes (gp-2): each GP is shown their own patient's,
    with the patient, plan, version and who made it when; the approved v1s are not listed."""
    nurse, gp1, gp2 = login(http, "nurse-a"), login(http, "gp-1"), login(http, "gp-2")
    assert listed(http, gp1) == [], "the approved versions are not awaiting approval"
    copd, diabetes = api_world.patients["a-copd"], api_world.patients["a-diabetes"]
    draft(http, nurse, copd.id, "Ny mal etter innleggelse")
    draft(http, nurse, diabetes.id, "Strammere grenser")

    [item] = http.get(DRAFTS, headers=gp1).json()["items"]
    changes = item.pop("changes")
    assert item.pop("in_use_version") == 1
    assert (changes["from_version"], changes["to_version"], changes["changes"]) == (1, 2, [])
    assert item == {
        "patient_id": copd.id,
        "patient_name": "Testpasient a-copd",
        "plan_id": copd.plan.plan_id,
        "version": 2,
        "condition": "copd",
        "created_at": NOW.isoformat().replace("+00:00", "Z"),
        "created_by": "nurse-a",
        "created_by_person": {
            "user_id": api_world.users["nurse-a"],
            "username": "nurse-a",
            "display_name": "Sykepleier A",
            "role": "nurse",
        },
        "note": "Ny mal etter innleggelse",
    }
    assert listed(http, gp2) == [("Testpasient a-diabetes", 2)]


def test_each_draft_says_what_it_changes_against_the_version_in_use(
    http: httpx.Client, api_world: ApiWorld, login: Login
) -> None:
    """v2 moves SpO2 yellow to ≤ 93 %, v3 to ≤ 94 %: each draft lists its change against v1
    (in use), not against the draft before it, so the GP sees what approving it does."""
    nurse, gp = login(http, "nurse-a"), login(http, "gp-1")
    plan_id = api_world.patients["a-copd"].plan.plan_id
    for value in (93, 94):
        made = http.post(
            f"{API}/plans/{plan_id}/versions",
            headers=nurse,
            json={"changes": {"zones": {"spo2": {"yellow_low": value}}}, "note": f"{value}"},
        )
        assert made.status_code == 201, made.text
    items = http.get(DRAFTS, headers=gp).json()["items"]
    found = {
        d["version"]: [(c["path"], c["before"], c["after"]) for c in d["changes"]["changes"]]
        for d in items
    }
    old = {"value": 91.0, "inclusive": True}
    assert found == {
        2: [("zones.spo2.yellow_low", old, {"value": 93.0, "inclusive": True})],
        3: [("zones.spo2.yellow_low", old, {"value": 94.0, "inclusive": True})],
    }
    assert {d["in_use_version"] for d in items} == {1}


def test_approved_and_overtaken_drafts_are_not_listed(
    http: httpx.Client, api_world: ApiWorld, login: Login
) -> None:
    """v2 and v3 drafted, v3 approved: neither is listed any more (v2 can no longer be
    approved); a discharged patient's draft awaits nobody."""
    nurse, gp = login(http, "nurse-a"), login(http, "gp-1")
    copd, hf = api_world.patients["a-copd"], api_world.patients["a-hf"]
    draft(http, nurse, copd.id, "Første forslag")
    third = draft(http, nurse, copd.id, "Andre forslag")
    draft(http, nurse, hf.id, "Ny mal")
    assert sorted(listed(http, gp)) == [
        ("Testpasient a-copd", 2),
        ("Testpasient a-copd", 3),
        ("Testpasient a-hf", 2),
    ]
    approved = http.post(f"{API}/plans/{third['plan_id']}/versions/3/approve", headers=gp)
    assert approved.status_code == 200, approved.text
    assert listed(http, gp) == [("Testpasient a-hf", 2)]
    gone = http.post(
        f"{API}/patients/{hf.id}/discharge",
        headers=nurse,
        json={"reason": "flyttet fra kommunen", "code": "moved"},
    )
    assert gone.status_code == 200, gone.text
    assert listed(http, gp) == []


def test_the_list_is_paged(http: httpx.Client, api_world: ApiWorld, login: Login) -> None:
    """Drafts of gp-1's patients at two centres, one per page: each once; the last page has
    no cursor."""
    gp = login(http, "gp-1")
    draft(http, login(http, "nurse-a"), api_world.patients["a-copd"].id, "Først")
    draft(http, login(http, "nurse-b"), api_world.patients["b-covid"].id, "Så")
    first = http.get(DRAFTS, headers=gp, params={"limit": 1}).json()
    assert first["next_cursor"]
    second = http.get(
        DRAFTS, headers=gp, params={"limit": 1, "cursor": first["next_cursor"]}
    ).json()
    assert second["next_cursor"] is None
    names = {first["items"][0]["patient_name"], second["items"][0]["patient_name"]}
    assert names == {"Testpasient a-copd", "Testpasient b-covid"}


def test_listing_is_one_audit_row_naming_the_patients(
    http: httpx.Client, api_world: ApiWorld, login: Login, sessions: sessionmaker[Session]
) -> None:
    """Drafts for two of gp-1's patients: one 'list plan_drafts' row, and no per-patient read."""
    nurse, gp = login(http, "nurse-a"), login(http, "gp-1")
    copd, hf = api_world.patients["a-copd"], api_world.patients["a-hf"]
    draft(http, nurse, copd.id, "Ny mal")
    draft(http, nurse, hf.id, "Ny mal")
    assert len(listed(http, gp)) == 2
    with sessions() as session:
        rows = session.scalars(select(AuditRow).where(AuditRow.actor == "gp-1")).all()
    [row] = [r for r in rows if r.action != "login"]
    assert (row.action, row.object_type, row.outcome) == ("list", "plan_drafts", "allowed")
    assert row.details["patients"] == sorted([copd.id, hf.id])
    assert row.details["count"] == 2


def test_a_nurse_and_an_admin_are_refused_where_only_gps_approve(
    http: httpx.Client, api_world: ApiWorld, login: Login, sessions: sessionmaker[Session]
) -> None:
    """Under the default DHO_PLAN_APPROVERS=gp a nurse approves nothing, so her list is 403
    with the reason; an admin's too, even with a reason; both refusals are audited."""
    draft(http, login(http, "nurse-a"), api_world.patients["a-copd"].id, "Ny mal")
    refused = http.get(DRAFTS, headers=login(http, "nurse-a"))
    assert refused.status_code == 403
    assert "approved by the patient's GP" in refused.json()["detail"]
    admin = login(http, "admin", reason="Support case 2026-114: wrong plan shown")
    assert http.get(DRAFTS, headers=admin).status_code == 403
    for actor in ("nurse-a", "admin"):
        [row] = refusals(sessions, actor, "list")
        assert row.object_type == "plan_drafts"


def test_a_nurse_sees_her_centres_drafts_where_the_site_lets_nurses_approve(
    sessions: sessionmaker[Session], api_world: ApiWorld, login: Login
) -> None:
    """With DHO_PLAN_APPROVERS=gp_or_nurse: nurse-a sees centre A's drafts (whoever the GP),
    not centre B's; nurse-b sees centre B's."""
    settings = Settings(demo=True, plan_approvers=PlanApprovers.GP_OR_NURSE)
    with serving(create_app(settings, sessions, clock=lambda: NOW)) as client:
        nurse_a, nurse_b = login(client, "nurse-a"), login(client, "nurse-b")
        draft(client, nurse_a, api_world.patients["a-copd"].id, "Ny mal")
        draft(client, nurse_a, api_world.patients["a-diabetes"].id, "Ny mal")
        draft(client, nurse_b, api_world.patients["b-covid"].id, "Ny mal")
        assert sorted(listed(client, nurse_a)) == [
            ("Testpasient a-copd", 2),
            ("Testpasient a-diabetes", 2),
        ]
        assert listed(client, nurse_b) == [("Testpasient b-covid", 2)]
