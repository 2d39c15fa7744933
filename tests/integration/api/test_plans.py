"""Plans over real HTTP (SQLite and PostgreSQL): drafts from templates and edits, approval by the
right person, retirement, diffs, the trial-period proposal, and refusals that are audited."""

from __future__ import annotations

from datetime import datetime, timedelta
from typing import Any

import httpx
from sqlalchemy import select
from sqlalchemy.orm import Session, sessionmaker

from tests.integration.api.conftest import NOW, ApiWorld, Login, ingest
from tests.integration.test_http_ingest import serving
from triage.api.app import create_app
from triage.config import Settings
from triage.domain.access import PlanApprovers
from triage.storage.models import AuditRow, ReadingRow

API = "/api/v1"


def refusals(sessions: sessionmaker[Session], actor: str, action: str) -> list[AuditRow]:
    with sessions() as session:
        return list(
            session.scalars(
                select(AuditRow).where(
                    AuditRow.actor == actor,
                    AuditRow.action == action,
                    AuditRow.outcome == "refused",
                )
            )
        )


def plan_id(http: httpx.Client, headers: dict[str, str], patient_id: str) -> str:
    page = http.get(f"{API}/patients/{patient_id}/plans", headers=headers).json()
    return str(page["items"][0]["plan_id"])


def new_version(
    http: httpx.Client, headers: dict[str, str], plan: str, changes: dict[str, Any], note: str
) -> httpx.Response:
    return http.post(
        f"{API}/plans/{plan}/versions", json={"changes": changes, "note": note}, headers=headers
    )


# ----------------------------------------------------------------------------- lifecycle


def test_a_plan_goes_from_template_draft_to_approved_and_new_readings_use_it(
    http: httpx.Client, api_world: ApiWorld, login: Login, sessions: sessionmaker[Session]
) -> None:
    """Template draft → edited draft → approved by the GP: the old version is retired and the
    next reading is classified with the new bounds."""
    copd = api_world.patients["a-copd"]
    nurse, gp = login(http, "nurse-a"), login(http, "gp-1")

    drafted = http.post(
        f"{API}/patients/{copd.id}/plans", json={"condition": "copd"}, headers=nurse
    )
    assert drafted.status_code == 201, drafted.text
    draft = drafted.json()
    assert (draft["version"], draft["status"], draft["created_by"]) == (2, "draft", "nurse-a")
    assert draft["document"]["zones"]["spo2"]["yellow_low"] == {"value": 91.0, "inclusive": True}
    plan = draft["plan_id"]

    edited = new_version(
        http, nurse, plan, {"zones": {"spo2": {"yellow_low": 93}}}, "Egen grense etter prøvetid"
    )
    assert edited.status_code == 201, edited.text
    assert edited.json()["version"] == 3
    assert edited.json()["note"] == "Egen grense etter prøvetid"

    approved = http.post(f"{API}/plans/{plan}/versions/3/approve", headers=gp)
    assert approved.status_code == 200, approved.text
    body = approved.json()
    assert (body["status"], body["approved_by"], body["approved_at"]) == (
        "approved",
        "gp-1",
        NOW.isoformat().replace("+00:00", "Z"),
    )
    assert body["document"]["approval"]["by"] == "gp-1"

    history = http.get(f"{API}/patients/{copd.id}/plans", headers=nurse).json()["items"]
    assert [(v["version"], v["status"]) for v in history] == [
        (3, "approved"),
        (2, "draft"),
        (1, "retired"),
    ]
    assert history[2]["retired_at"] is not None
    old = http.get(f"{API}/plans/{plan}/versions/1", headers=gp).json()
    assert old["status"] == "retired"
    assert old["document"]["status"] == "retired"

    # 93 % was green under v1 (yellow at ≤ 91 %); v3 makes it yellow.
    [outcome] = ingest(
        sessions, copd.gateway_id, [("after-approval", "spo2", {"spo2": 93, "pulse": 72}, NOW)]
    )
    assert outcome.colour == "yellow"
    with sessions() as session:
        reading = session.get(ReadingRow, "after-approval")
        assert reading is not None
        assert (reading.plan_id, reading.plan_version) == (plan, 3)
    with sessions() as session:
        approvals = session.scalars(
            select(AuditRow).where(AuditRow.action == "approve_plan", AuditRow.outcome == "allowed")
        ).all()
        assert [(a.actor, a.object_id) for a in approvals] == [("gp-1", f"{plan}/v3")]


def test_an_approved_version_cannot_be_approved_again(
    http: httpx.Client, api_world: ApiWorld, login: Login
) -> None:
    """Approving a version that is not a draft is a conflict, with the reason."""
    copd = api_world.patients["a-copd"]
    response = http.post(
        f"{API}/plans/{copd.plan.plan_id}/versions/1/approve", headers=login(http, "gp-1")
    )
    assert response.status_code == 409
    assert "only a draft can be approved" in response.json()["detail"]


def test_an_invalid_plan_is_refused_naming_the_field(
    http: httpx.Client, api_world: ApiWorld, login: Login
) -> None:
    """A draft whose bounds overlap, or with an unknown field, gets 422 naming where."""
    nurse = login(http, "nurse-a")
    plan = api_world.patients["a-copd"].plan.plan_id
    crossed = new_version(
        http, nurse, plan, {"zones": {"spo2": {"red_low": 95, "yellow_low": 91}}}, "feil"
    )
    assert crossed.status_code == 422
    [error] = crossed.json()["errors"]
    assert error["field"] == "body.changes.zones.spo2"
    assert "red_low must not be above yellow_low" in error["message"]

    unknown = new_version(http, nurse, plan, {"colours": "rainbow"}, "feil")
    assert unknown.status_code == 422
    assert unknown.json()["errors"][0]["field"] == "body.changes.colours"

    both = http.post(
        f"{API}/plans/{plan}/versions",
        json={"document": {}, "changes": {}, "note": "x"},
        headers=nurse,
    )
    assert both.status_code == 422
    history = http.get(f"{API}/patients/{api_world.patients['a-copd'].id}/plans", headers=nurse)
    assert [v["version"] for v in history.json()["items"]] == [1]


def test_a_whole_document_makes_a_draft_whatever_status_it_claims(
    http: httpx.Client, api_world: ApiWorld, login: Login
) -> None:
    """A full document is saved as the next draft: status and approval come from the server."""
    gp = login(http, "gp-1")
    copd = api_world.patients["a-copd"]
    document = copd.plan.model_dump(mode="json", by_alias=True) | {"goal": "Gå til butikken"}
    response = http.post(
        f"{API}/plans/{copd.plan.plan_id}/versions",
        json={"document": document, "note": "Mål fra samtale"},
        headers=gp,
    )
    assert response.status_code == 201, response.text
    body = response.json()
    assert (body["version"], body["status"], body["approved_by"]) == (2, "draft", None)
    assert body["document"]["approval"] is None
    assert body["document"]["goal"] == "Gå til butikken"


def test_the_diff_names_each_change_in_both_languages(
    http: httpx.Client, api_world: ApiWorld, login: Login
) -> None:
    """Changed bounds (tighter or looser), removed rules and a new goal are listed."""
    nurse = login(http, "nurse-a")
    hf = api_world.patients["a-hf"]
    plan = hf.plan.plan_id
    response = new_version(
        http,
        nurse,
        plan,
        {
            "zones": {"spo2": {"yellow_low": 94}, "pulse": {"red_low": 35}},
            "rules": [r.model_dump(mode="json") for r in hf.plan.rules if r.id != "weight-7-days"],
            "goal": "Klare trappene hjemme",
        },
        "Justert",
    )
    assert response.status_code == 201, response.text

    diff = http.get(f"{API}/plans/{plan}/diff", params={"from": 1, "to": 2}, headers=nurse)
    assert diff.status_code == 200, diff.text
    body = diff.json()
    assert (body["from_version"], body["to_version"], body["looser"]) == (1, 2, 1)
    by_path = {c["path"]: c for c in body["changes"]}
    assert set(by_path) == {
        "zones.spo2.yellow_low",
        "zones.pulse.red_low",
        "rules.weight-7-days",
        "goal",
    }
    spo2 = by_path["zones.spo2.yellow_low"]
    assert spo2["effect"] == "tighter"
    assert (
        spo2["text"]["nb"]
        == "SpO2, gul nedre grense: ≤ 93 % → ≤ 94 % (strengere: varsler tidligere)"
    )
    assert spo2["text"]["en"] == "SpO2, yellow low bound: ≤ 93 % → ≤ 94 % (tighter: alerts earlier)"
    assert by_path["zones.pulse.red_low"]["effect"] == "looser"
    assert by_path["rules.weight-7-days"]["kind"] == "rule_removed"
    assert by_path["goal"]["after"] == "Klare trappene hjemme"

    missing = http.get(f"{API}/plans/{plan}/diff", params={"from": 1, "to": 9}, headers=nurse)
    assert missing.status_code == 404


# ----------------------------------------------------------------------------- who may approve


def test_a_nurse_may_not_approve_under_the_default_setting(
    http: httpx.Client, api_world: ApiWorld, login: Login, sessions: sessionmaker[Session]
) -> None:
    """By default only the GP approves; the nurse's attempt is refused and audited."""
    nurse = login(http, "nurse-a")
    copd = api_world.patients["a-copd"]
    http.post(f"{API}/patients/{copd.id}/plans", json={"condition": "copd"}, headers=nurse)
    response = http.post(f"{API}/plans/{copd.plan.plan_id}/versions/2/approve", headers=nurse)
    assert response.status_code == 403
    assert "approved by the patient's GP" in response.json()["detail"]
    [refused] = refusals(sessions, "nurse-a", "approve_plan")
    assert (refused.patient_id, refused.object_id) == (copd.id, f"{copd.plan.plan_id}/v2")


def test_a_nurse_may_approve_where_the_site_allows_it(
    sessions: sessionmaker[Session], api_world: ApiWorld, login: Login
) -> None:
    """With DHO_PLAN_APPROVERS=gp_or_nurse the patient's nurse approves, and it is recorded."""
    settings = Settings(demo=True, plan_approvers=PlanApprovers.GP_OR_NURSE)
    with serving(create_app(settings, sessions, clock=lambda: NOW)) as client:
        nurse = login(client, "nurse-a")
        copd = api_world.patients["a-copd"]
        client.post(f"{API}/patients/{copd.id}/plans", json={"condition": "copd"}, headers=nurse)
        response = client.post(f"{API}/plans/{copd.plan.plan_id}/versions/2/approve", headers=nurse)
        assert response.status_code == 200, response.text
        assert response.json()["approved_by"] == "nurse-a"
        assert response.json()["document"]["approval"]["role"] == "nurse"
        other = login(client, "nurse-b")
        refused = client.post(f"{API}/plans/{copd.plan.plan_id}/versions/2/approve", headers=other)
        assert refused.status_code == 403


def test_a_gp_cannot_see_or_approve_another_gps_patients_plan(
    http: httpx.Client, api_world: ApiWorld, login: Login, sessions: sessionmaker[Session]
) -> None:
    """gp-2 is refused a-copd's plans (gp-1's patient): reading, drafting and approving — each
    refusal is audited."""
    copd = api_world.patients["a-copd"]
    http.post(
        f"{API}/patients/{copd.id}/plans", json={"condition": "copd"}, headers=login(http, "gp-1")
    )
    other = login(http, "gp-2")
    plan = copd.plan.plan_id
    assert http.get(f"{API}/patients/{copd.id}/plans", headers=other).status_code == 403
    assert http.get(f"{API}/plans/{plan}/versions/1", headers=other).status_code == 403
    assert http.get(f"{API}/patients/{copd.id}/plans/proposal", headers=other).status_code == 403
    approve = http.post(f"{API}/plans/{plan}/versions/2/approve", headers=other)
    assert approve.status_code == 403
    assert "not listed with this GP" in approve.json()["detail"]
    for action in ("read_plans", "read_plan_version", "read_plan_proposal", "approve_plan"):
        [row] = refusals(sessions, "gp-2", action)
        assert row.patient_id == copd.id
    history = http.get(f"{API}/patients/{copd.id}/plans", headers=login(http, "gp-1")).json()
    assert history["items"][0]["status"] == "draft"


def test_an_admin_reads_plans_only_with_a_reason(
    http: httpx.Client, api_world: ApiWorld, login: Login, sessions: sessionmaker[Session]
) -> None:
    """An admin without a reason is refused (audited); with one, the read is allowed."""
    copd = api_world.patients["a-copd"]
    refused = http.get(f"{API}/patients/{copd.id}/plans", headers=login(http, "admin"))
    assert refused.status_code == 403
    assert refusals(sessions, "admin", "read_plans")
    headers = login(http, "admin", reason="Support case 2026-114: wrong plan shown")
    assert http.get(f"{API}/patients/{copd.id}/plans", headers=headers).status_code == 200
    drafting = http.post(
        f"{API}/patients/{copd.id}/plans", json={"condition": "copd"}, headers=headers
    )
    assert drafting.status_code == 403


def test_an_unknown_plan_is_not_found_and_the_attempt_audited(
    http: httpx.Client, api_world: ApiWorld, login: Login, sessions: sessionmaker[Session]
) -> None:
    """Asking for a plan that does not exist gives 404, and the attempt is in the audit log."""
    response = http.get(f"{API}/plans/plan-ukjent/versions/1", headers=login(http, "nurse-a"))
    assert response.status_code == 404
    [row] = refusals(sessions, "nurse-a", "read_plan_version")
    assert row.object_id == "plan-ukjent"


# ----------------------------------------------------------------------------- the proposal


def trial_spo2(
    start: datetime, values: list[int]
) -> list[tuple[str, str, dict[str, float], datetime]]:
    """SpO2 readings once a day from ``start``, pulse 70–79."""
    return [
        (f"trial-{n}", "spo2", {"spo2": value, "pulse": 70 + n % 10}, start + timedelta(days=n))
        for n, value in enumerate(values)
    ]


def test_the_proposal_gives_personal_yellow_bounds_from_the_trial_period(
    http: httpx.Client, api_world: ApiWorld, login: Login, sessions: sessionmaker[Session]
) -> None:
    """Ten trial days of SpO2 around 97 % give a yellow bound of ≤ 95 % (tighter than the
    template's ≤ 94 %); red stays the template's; readings after the trial do not count; the
    proposal can be saved as a draft as it stands."""
    covid = api_world.patients["b-covid"]
    enrolled = NOW - timedelta(days=30)
    values = [97, 98, 97, 96, 98, 97, 97, 96, 98, 97]
    ingest(sessions, covid.gateway_id, trial_spo2(enrolled + timedelta(hours=8), values))
    ingest(sessions, covid.gateway_id, [("late", "spo2", {"spo2": 80, "pulse": 120}, NOW)])
    nurse = login(http, "nurse-b")

    response = http.get(f"{API}/patients/{covid.id}/plans/proposal", headers=nurse)
    assert response.status_code == 200, response.text
    body = response.json()
    assert body["condition"] == "covid19"
    assert body["since"] == enrolled.isoformat().replace("+00:00", "Z")
    by_parameter = {p["parameter"]: p for p in body["parameters"]}
    spo2 = by_parameter["spo2"]
    assert (spo2["status"], spo2["n"], spo2["median"]) == ("proposed", 10, 97.0)
    assert (spo2["q1"], spo2["q3"]) == (97.0, 97.75)
    assert spo2["proposed"]["yellow_low"] == {"value": 95.0, "inclusive": True}
    assert spo2["proposed"]["red_low"] == spo2["template"]["red_low"]
    assert "Proposed yellow low bound ≤ 95 % (template: ≤ 94 %)" in spo2["text"]["en"]
    assert "Foreslått gul nedre grense ≤ 95 %" in spo2["text"]["nb"]
    assert by_parameter["pulse"]["status"] == "proposed"
    assert by_parameter["temperature"]["status"] == "not_enough_data"
    assert by_parameter["temperature"]["proposed"] is None

    draft = new_version(
        http, nurse, covid.plan.plan_id, {"zones": body["zones"]}, "Forslag fra prøveperioden"
    )
    assert draft.status_code == 201, draft.text
    diff = http.get(
        f"{API}/plans/{covid.plan.plan_id}/diff", params={"from": 1, "to": 2}, headers=nurse
    ).json()
    assert {c["path"] for c in diff["changes"]} == {
        "zones.spo2.yellow_low",
        "zones.pulse.yellow_high",
    }
    assert all(c["effect"] == "tighter" for c in diff["changes"])


def test_too_few_trial_readings_give_no_proposal(
    http: httpx.Client, api_world: ApiWorld, login: Login, sessions: sessionmaker[Session]
) -> None:
    """With fewer than 7 readings the proposal says "not enough data" and proposes nothing."""
    covid = api_world.patients["b-covid"]
    ingest(sessions, covid.gateway_id, trial_spo2(NOW - timedelta(days=29), [97, 96, 98]))
    response = http.get(f"{API}/patients/{covid.id}/plans/proposal", headers=login(http, "nurse-b"))
    assert response.status_code == 200
    spo2 = next(p for p in response.json()["parameters"] if p["parameter"] == "spo2")
    assert (spo2["status"], spo2["n"], spo2["proposed"], spo2["median"]) == (
        "not_enough_data",
        3,
        None,
        None,
    )
    assert "not enough data (3 readings, at least 7 needed)" in spo2["text"]["en"]
    assert "ikke nok data" in spo2["text"]["nb"]
