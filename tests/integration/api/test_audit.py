"""The audit log over real HTTP (SQLite and PostgreSQL): admins search it and export it as CSV,
refusals are in it, and reading it is itself audited."""

from __future__ import annotations

import csv
import io
from datetime import timedelta
from typing import Any

import httpx
from sqlalchemy import select
from sqlalchemy.orm import Session, sessionmaker

from tests.integration.api.conftest import NOW, ApiWorld, Login
from triage.api.queries.audit import CSV_COLUMNS
from triage.storage.models import AuditRow

UTC_NOW = NOW.isoformat().replace("+00:00", "Z")


def refuse_some(http: httpx.Client, api_world: ApiWorld, login: Login) -> None:
    """Three refused requests: a nurse of another centre, a GP on admin pages, a nurse on the
    audit log."""
    patient = api_world.patients["a-copd"].id
    nurse_b = login(http, "nurse-b")
    assert http.get(f"/api/v1/patients/{patient}/gateways", headers=nurse_b).status_code == 403
    assert http.get("/api/v1/admin/users", headers=login(http, "gp-1")).status_code == 403
    assert http.get("/api/v1/audit", headers=nurse_b).status_code == 403


def search(http: httpx.Client, admin: dict[str, str], **params: Any) -> list[dict[str, Any]]:
    response = http.get("/api/v1/audit", params=params, headers=admin)
    assert response.status_code == 200, response.text
    items: list[dict[str, Any]] = response.json()["items"]
    return items


def add_history(sessions: sessionmaker[Session]) -> None:
    """Three older entries, a day apart."""
    with sessions.begin() as session:
        for days in (3, 2, 1):
            session.add(
                AuditRow(
                    at=NOW - timedelta(days=days),
                    actor="historiker",
                    action="read",
                    object_type="patient",
                    object_id=f"old-{days}",
                    patient_id=None,
                    reason=None,
                    details={},
                    outcome="allowed",
                )
            )


def test_admins_find_refused_events_by_outcome_actor_and_patient(
    http: httpx.Client, api_world: ApiWorld, login: Login
) -> None:
    """An admin sees who was refused what, and can narrow it to one person or one patient."""
    refuse_some(http, api_world, login)
    admin = login(http, "admin")
    refused = search(http, admin, outcome="refused")
    assert [(e["actor"], e["action"], e["object_type"]) for e in refused] == [
        ("nurse-b", "read", "audit_log"),
        ("gp-1", "list", "user"),
        ("nurse-b", "read", "gateway"),
    ]
    assert refused[2]["patient_id"] == api_world.patients["a-copd"].id
    assert "another follow-up centre" in refused[2]["details"]["refused"]
    assert refused[0]["at"] == UTC_NOW
    by_nurse = search(http, admin, actor="nurse-b", outcome="refused")
    assert {e["actor"] for e in by_nurse} == {"nurse-b"}
    assert len(by_nurse) == 2
    by_patient = search(http, admin, patient=api_world.patients["a-copd"].id)
    assert [(e["actor"], e["outcome"]) for e in by_patient] == [("nurse-b", "refused")]
    logins = search(http, admin, action="login")
    assert {e["actor"] for e in logins} == {"nurse-b", "gp-1", "admin"}


def test_the_period_filter_and_pages_walk_newest_first(
    http: httpx.Client, api_world: ApiWorld, login: Login, sessions: sessionmaker[Session]
) -> None:
    """`since` is inclusive, `until` exclusive; pages of one entry give every entry once,
    newest first."""
    add_history(sessions)
    admin = login(http, "admin")
    window = search(
        http,
        admin,
        since=(NOW - timedelta(days=2)).isoformat(),
        until=(NOW - timedelta(days=1)).isoformat(),
    )
    assert [e["object_id"] for e in window] == ["old-2"]
    seen: list[str] = []
    cursor: str | None = None
    while True:
        params: dict[str, Any] = {"actor": "historiker", "limit": 1}
        if cursor:
            params["cursor"] = cursor
        page = http.get("/api/v1/audit", params=params, headers=admin).json()
        seen += [e["object_id"] for e in page["items"]]
        cursor = page["next_cursor"]
        if cursor is None:
            break
    assert seen == ["old-1", "old-2", "old-3"]


def test_bad_filters_and_cursors_are_refused(
    http: httpx.Client, api_world: ApiWorld, login: Login
) -> None:
    """A time without a zone, an unknown outcome, an inverted period or a made-up cursor is
    refused with what to do."""
    admin = login(http, "admin")
    naive = http.get("/api/v1/audit", params={"since": "2026-11-23T08:00:00"}, headers=admin)
    assert naive.status_code == 422
    assert naive.json()["errors"][0]["field"] == "query.since"
    assert http.get("/api/v1/audit", params={"outcome": "maybe"}, headers=admin).status_code == 422
    inverted = {"since": NOW.isoformat(), "until": (NOW - timedelta(days=1)).isoformat()}
    assert http.get("/api/v1/audit", params=inverted, headers=admin).status_code == 422
    forged = http.get("/api/v1/audit", params={"cursor": "bm9wZQ"}, headers=admin)
    assert forged.status_code == 400
    assert "next_cursor" in forged.json()["detail"]


def test_reading_the_audit_log_is_itself_audited(
    http: httpx.Client, api_world: ApiWorld, login: Login, sessions: sessionmaker[Session]
) -> None:
    """An admin's search leaves an entry naming the filters used."""
    patient = api_world.patients["b-covid"].id
    search(http, login(http, "admin"), patient=patient, outcome="refused")
    with sessions() as session:
        [row] = session.scalars(
            select(AuditRow).where(
                AuditRow.object_type == "audit_log", AuditRow.outcome == "allowed"
            )
        ).all()
    assert (row.actor, row.action, row.patient_id, row.details) == (
        "admin",
        "read",
        patient,
        {"patient": patient, "outcome": "refused"},
    )


def test_the_csv_export_holds_every_column_and_the_refused_events(
    http: httpx.Client, api_world: ApiWorld, login: Login, sessions: sessionmaker[Session]
) -> None:
    """The export is a CSV file with a header, the refusals in time order, and its own entry;
    a non-admin may not export."""
    add_history(sessions)
    refuse_some(http, api_world, login)
    nurse = login(http, "nurse-a")
    assert http.get("/api/v1/audit/export", headers=nurse).status_code == 403
    since = (NOW - timedelta(days=2)).isoformat()
    response = http.get(
        "/api/v1/audit/export", params={"since": since}, headers=login(http, "admin")
    )
    assert response.status_code == 200, response.text
    assert response.headers["content-type"].startswith("text/csv")
    assert "attachment" in response.headers["content-disposition"]
    rows = list(csv.DictReader(io.StringIO(response.text)))
    assert tuple(rows[0]) == CSV_COLUMNS
    assert [row["object_id"] for row in rows[:2]] == ["old-2", "old-1"]
    refused = [
        (row["actor"], row["action"], row["object_type"])
        for row in rows
        if row["outcome"] == "refused"
    ]
    assert refused == [
        ("nurse-b", "read", "gateway"),
        ("gp-1", "list", "user"),
        ("nurse-b", "read", "audit_log"),
        ("nurse-a", "export", "audit_log"),
    ]
    assert rows[-1]["actor"] == "admin"
    assert rows[-1]["action"] == "export"
    assert rows[-1]["details"] == f'{{"since": "{since}"}}'
    assert rows[-1]["at"] == NOW.isoformat()


def test_a_formula_in_a_reason_is_defused_in_the_export(
    http: httpx.Client, api_world: ApiWorld, login: Login
) -> None:
    """A reason typed as a spreadsheet formula is exported as text (apostrophe first)."""
    patient = api_world.patients["a-hf"].id
    sneaky = login(http, "admin", reason='=HYPERLINK("http://x") support case 7')
    assert http.get(f"/api/v1/patients/{patient}/gateways", headers=sneaky).status_code == 200
    export = http.get("/api/v1/audit/export", headers=login(http, "admin"))
    reasons = [row["reason"] for row in csv.DictReader(io.StringIO(export.text)) if row["reason"]]
    assert reasons == ['\'=HYPERLINK("http://x") support case 7']


def with_reason(headers: dict[str, str], raw: bytes) -> dict[bytes, bytes]:
    """``headers`` and an X-DHO-Reason of exactly these bytes."""
    return {**{k.encode(): v.encode() for k, v in headers.items()}, b"X-DHO-Reason": raw}


def test_a_utf8_reason_is_kept_as_written(
    http: httpx.Client, sessions: sessionmaker[Session], api_world: ApiWorld, login: Login
) -> None:
    """An admin's X-DHO-Reason in Norwegian (sent as UTF-8, as HTTP clients do) is in the audit
    log as written (before: "StÃ¸ttesak …")."""
    reason = "Støttesak 2026-114: fastlege på Øyvik vist feil — «sjekk»"
    headers = login(http, "admin")
    response = http.get("/api/v1/worklist", headers=with_reason(headers, reason.encode()))
    assert response.status_code == 200, response.text
    with sessions() as session:
        kept = session.scalars(
            select(AuditRow.reason).where(AuditRow.actor == "admin", AuditRow.action == "list")
        ).all()
    assert kept == [reason]


def test_a_reason_that_cannot_be_kept_as_text_is_refused_with_the_header_named(
    http: httpx.Client, sessions: sessionmaker[Session], api_world: ApiWorld, login: Login
) -> None:
    """Over 500 characters, control characters (tab, a C1 control) or bytes that are not UTF-8:
    422 problem details naming the header, and nothing is read or audited as allowed."""
    headers = login(http, "admin")
    long_reason = "support case 2026-114 " * 25
    for raw, why in [
        (long_reason[:500].encode(), None),
        (long_reason[:501].encode(), "X-DHO-Reason at most 500 characters (this one has 501)"),
        (b"support case\t2026-114", "control characters are not allowed (found U+0009)"),
        (
            "support case 2026-114\u0085".encode(),
            "control characters are not allowed (found U+0085)",
        ),
        ("Støttesak 2026-114".encode("latin-1"), "X-DHO-Reason must be UTF-8 text"),
    ]:
        response = http.get("/api/v1/worklist", headers=with_reason(headers, raw))
        if why is None:
            assert response.status_code == 200, response.text
            continue
        assert response.status_code == 422, response.text
        assert response.headers["content-type"] == "application/problem+json"
        [error] = response.json()["errors"]
        assert error["field"] == "header.X-DHO-Reason"
        assert why in error["message"]
    with sessions() as session:
        allowed = session.scalars(
            select(AuditRow.reason).where(AuditRow.actor == "admin", AuditRow.action == "list")
        ).all()
    assert allowed == [long_reason[:500].strip()]
