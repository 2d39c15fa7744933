"""A plan version replayed against the patient's recent readings, over real HTTP (SQLite and
PostgreSQL): which readings would have changed zone under a draft and why, who may ask, and that
asking is audited."""

from __future__ import annotations

from datetime import timedelta
from typing import Any

import httpx
from sqlalchemy import select
from sqlalchemy.orm import Session, sessionmaker

from tests.integration.api.conftest import NOW, ApiWorld, Login, ingest
from triage.storage.models import AuditRow, ReadingRow

API = "/api/v1"


def draft(http: httpx.Client, headers: dict[str, str], plan: str, changes: dict[str, Any]) -> int:
    response = http.post(
        f"{API}/plans/{plan}/versions", json={"changes": changes, "note": "Prøver"}, headers=headers
    )
    assert response.status_code == 201, response.text
    version: int = response.json()["version"]
    return version


def audit_rows(sessions: sessionmaker[Session], action: str) -> list[AuditRow]:
    with sessions() as session:
        return list(
            session.scalars(select(AuditRow).where(AuditRow.action == action).order_by(AuditRow.id))
        )


def spo2_days(sessions: sessionmaker[Session], gateway: str) -> None:
    """a-copd's last weeks: SpO2 93 % five days ago, 97 % four days ago, 86 % (red) three days
    ago, and 93 % forty days ago (outside a 30-day window)."""
    ingest(
        sessions,
        gateway,
        [
            ("spo2-93", "spo2", {"spo2": 93, "pulse": 72}, NOW - timedelta(days=5)),
            ("spo2-97", "spo2", {"spo2": 97, "pulse": 70}, NOW - timedelta(days=4)),
            ("spo2-86", "spo2", {"spo2": 86, "pulse": 88}, NOW - timedelta(days=3)),
            ("spo2-old", "spo2", {"spo2": 93, "pulse": 71}, NOW - timedelta(days=40)),
        ],
    )


def test_a_tightened_bound_turns_an_earlier_green_reading_yellow_and_says_why(
    http: httpx.Client, api_world: ApiWorld, login: Login, sessions: sessionmaker[Session]
) -> None:
    """Draft v2 moves SpO2 yellow from ≤ 91 % to ≤ 93 %: the 93 % five days ago (green under v1)
    would have been yellow, by the yellow low bound of v2; 97 % and the red 86 % stay as they
    were and are not listed; the reading older than 30 days is left out; nothing is saved."""
    copd = api_world.patients["a-copd"]
    spo2_days(sessions, copd.gateway_id)
    nurse = login(http, "nurse-a")
    plan = copd.plan.plan_id
    version = draft(http, nurse, plan, {"zones": {"spo2": {"yellow_low": 93}}})

    response = http.get(f"{API}/plans/{plan}/versions/{version}/replay", headers=nurse)
    assert response.status_code == 200, response.text
    body = response.json()
    assert (body["version"], body["status"], body["patient_id"], body["days"]) == (
        2,
        "draft",
        copd.id,
        30,
    )
    assert body["since"] == (NOW - timedelta(days=30)).isoformat().replace("+00:00", "Z")
    assert (body["readings"], body["truncated"]) == (3, False)
    assert body["as_stored"] == {"red": 1, "yellow": 0, "green": 2, "unclassified": 0}
    assert body["under_version"] == {"red": 1, "yellow": 1, "green": 1, "unclassified": 0}
    assert body["stored_plan_versions"] == [1]
    assert (body["changed"], body["changes_truncated"]) == (1, False)
    [change] = body["changes"]
    assert change["reading_id"] == "spo2-93"
    assert (change["kind"], change["values"]) == ("spo2", {"spo2": 93, "pulse": 72})
    assert change["measured_at"] == (NOW - timedelta(days=5)).isoformat().replace("+00:00", "Z")
    assert (change["before"], change["before_plan_version"]) == ("green", 1)
    assert (change["after"], change["after_plan_version"], change["direction"]) == (
        "yellow",
        2,
        "worse",
    )
    [why] = change["after_reasons"]
    assert (why["rule_id"], why["bound"], why["plan_version"]) == ("threshold:spo2", "≤ 93 %", 2)
    assert why["reason"] == (
        "Oksygenmetning 93\u00a0% – gul: 93\u00a0% eller lavere (egenbehandlingsplan versjon 2)"
    )
    assert why["text"]["en"] == (
        "Oxygen saturation 93% – yellow: 93% or lower (self-management plan version 2)"
    )
    assert all(r["colour"] == "green" for r in change["before_reasons"])
    assert "Oksygenmetning 93\u00a0% – innenfor grensene (egenbehandlingsplan versjon 1)" in [
        r["reason"] for r in change["before_reasons"]
    ]

    with sessions() as session:  # the preview changed nothing that was stored
        stored = session.get(ReadingRow, "spo2-93")
        assert stored is not None
        assert (stored.colour, stored.plan_version) == ("green", 1)
    longer = http.get(
        f"{API}/plans/{plan}/versions/{version}/replay", params={"days": 60}, headers=nurse
    ).json()
    assert longer["readings"] == 4
    assert {c["reading_id"] for c in longer["changes"]} == {"spo2-93", "spo2-old"}


def test_a_loosened_bound_lists_the_readings_that_would_have_been_calmer(
    http: httpx.Client, api_world: ApiWorld, login: Login, sessions: sessionmaker[Session]
) -> None:
    """Lowering SpO2 red to ≤ 85 % makes the 86 % of three days ago yellow instead of red:
    listed as less urgent, with the red reason of v1 and the yellow one of the draft."""
    copd = api_world.patients["a-copd"]
    spo2_days(sessions, copd.gateway_id)
    gp = login(http, "gp-1")
    version = draft(http, gp, copd.plan.plan_id, {"zones": {"spo2": {"red_low": 85}}})
    body = http.get(f"{API}/plans/{copd.plan.plan_id}/versions/{version}/replay", headers=gp)
    assert body.status_code == 200, body.text
    [change] = body.json()["changes"]
    assert (change["reading_id"], change["before"], change["after"], change["direction"]) == (
        "spo2-86",
        "red",
        "yellow",
        "better",
    )
    assert change["before_reasons"][0]["text"]["en"] == (
        "Oxygen saturation 86% – red: 87% or lower (self-management plan version 1)"
    )
    assert change["after_reasons"][0]["text"]["en"] == (
        "Oxygen saturation 86% – yellow: 91% or lower (self-management plan version 2)"
    )


def test_the_list_of_changes_is_capped_and_says_so(
    http: httpx.Client, api_world: ApiWorld, login: Login, sessions: sessionmaker[Session]
) -> None:
    """With limit=1 only the newest change is listed; the total and the flag tell the rest."""
    copd = api_world.patients["a-copd"]
    ingest(
        sessions,
        copd.gateway_id,
        [(f"d-{n}", "spo2", {"spo2": 93, "pulse": 70}, NOW - timedelta(days=n)) for n in (2, 6, 9)],
    )
    nurse = login(http, "nurse-a")
    version = draft(http, nurse, copd.plan.plan_id, {"zones": {"spo2": {"yellow_low": 93}}})
    body = http.get(
        f"{API}/plans/{copd.plan.plan_id}/versions/{version}/replay",
        params={"limit": 1},
        headers=nurse,
    ).json()
    assert (body["changed"], body["changes_truncated"]) == (3, True)
    assert [c["reading_id"] for c in body["changes"]] == ["d-2"]
    too_far = http.get(
        f"{API}/plans/{copd.plan.plan_id}/versions/{version}/replay",
        params={"days": 91},
        headers=nurse,
    )
    assert too_far.status_code == 422
    assert too_far.json()["errors"][0]["field"] == "query.days"


def test_another_centres_nurse_is_refused_and_every_replay_is_audited(
    http: httpx.Client, api_world: ApiWorld, login: Login, sessions: sessionmaker[Session]
) -> None:
    """nurse-b (centre B) may not replay a-copd's plan (centre A): 403, audited as refused; an
    unknown plan is 404; nurse-a's replay is audited as allowed, with the version and days."""
    copd = api_world.patients["a-copd"]
    spo2_days(sessions, copd.gateway_id)
    plan = copd.plan.plan_id
    version = draft(http, login(http, "nurse-a"), plan, {"zones": {"spo2": {"yellow_low": 93}}})

    refused = http.get(
        f"{API}/plans/{plan}/versions/{version}/replay", headers=login(http, "nurse-b")
    )
    assert refused.status_code == 403
    assert "another follow-up centre" in refused.json()["detail"]
    assert "spo2-93" not in refused.text
    missing = http.get(f"{API}/plans/plan-ukjent/versions/1/replay", headers=login(http, "nurse-a"))
    assert missing.status_code == 404
    no_version = http.get(f"{API}/plans/{plan}/versions/9/replay", headers=login(http, "nurse-a"))
    assert no_version.status_code == 404

    allowed = http.get(
        f"{API}/plans/{plan}/versions/{version}/replay",
        params={"days": 14},
        headers=login(http, "nurse-a"),
    )
    assert allowed.status_code == 200
    rows = audit_rows(sessions, "replay_plan_version")
    assert [(r.actor, r.outcome, r.object_id) for r in rows] == [
        ("nurse-b", "refused", f"{plan}/v{version}"),
        ("nurse-a", "refused", "plan-ukjent"),
        ("nurse-a", "allowed", f"{plan}/v{version}"),
    ]
    assert rows[0].patient_id == copd.id
    assert rows[-1].details == {"days": 14}
    assert rows[-1].patient_id == copd.id
