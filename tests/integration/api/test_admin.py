"""Administration over real HTTP (SQLite and PostgreSQL): users, centres, municipalities and
patients' gateways — who may, what is refused, and what the audit log keeps."""

from __future__ import annotations

import json
import uuid
from datetime import timedelta
from typing import Any

import httpx
from sqlalchemy import select
from sqlalchemy.orm import Session, sessionmaker

from tests.integration.api.conftest import NOW, PASSWORD, ApiWorld, Login
from triage.storage.models import AuditRow, AuthSessionRow, GatewayRow, ReadingRow

NEW_PASSWORD = "Et-langt-passord-9"  # noqa: S105 - synthetic test user


# ----------------------------------------------------------------------------- helpers


def log_in(http: httpx.Client, username: str, password: str) -> httpx.Response:
    return http.post("/api/v1/auth/login", json={"username": username, "password": password})


def bearer(response: httpx.Response) -> dict[str, str]:
    assert response.status_code == 200, response.text
    return {"Authorization": f"Bearer {response.json()['access_token']}"}


def create_user(http: httpx.Client, admin: dict[str, str], **fields: Any) -> httpx.Response:
    body = {"display_name": "Ny Bruker", "role": "nurse", **fields}
    return http.post("/api/v1/admin/users", json=body, headers=admin)


def reading(value: float = 97, *, minutes_ago: int = 5) -> dict[str, Any]:
    at = (NOW - timedelta(minutes=minutes_ago)).isoformat()
    return {
        "schema": "dho.reading/1",
        "id": str(uuid.uuid4()),
        "kind": "spo2",
        "measured_at": at,
        "received_at": at,
        "values": {"spo2": value, "pulse": 80},
        "device": {"profile": "plx", "model": "test"},
    }


def post_reading(http: httpx.Client, token: str) -> httpx.Response:
    return http.post(
        "/api/v1/readings", json=reading(), headers={"Authorization": f"Bearer {token}"}
    )


def audit_rows(sessions: sessionmaker[Session], **where: Any) -> list[AuditRow]:
    with sessions() as session:
        query = select(AuditRow).order_by(AuditRow.id)
        for column, value in where.items():
            query = query.where(getattr(AuditRow, column) == value)
        return list(session.scalars(query))


# ----------------------------------------------------------------------------- users


def test_an_admin_creates_a_nurse_who_logs_in_and_sees_only_her_centre(
    http: httpx.Client, api_world: ApiWorld, login: Login, sessions: sessionmaker[Session]
) -> None:
    """A new nurse at centre A can log in with the password she was given and manage her
    centre's patients' gateways, but not centre B's."""
    admin = login(http, "admin")
    created = create_user(
        http,
        admin,
        username="kari.nordmann",
        display_name="Kari Nordmann",
        centre_ids=[api_world.centre_a],
        hpr_number="9144889",
        password=NEW_PASSWORD,
    )
    assert created.status_code == 201, created.text
    body = created.json()
    assert body["password"] is None
    user = body["user"]
    assert (user["username"], user["role"], user["centre_ids"], user["active"]) == (
        "kari.nordmann",
        "nurse",
        [api_world.centre_a],
        True,
    )
    nurse = bearer(log_in(http, "kari.nordmann", NEW_PASSWORD))
    me = http.get("/api/v1/me", headers=nurse).json()
    assert (me["role"], me["centre_ids"]) == ("nurse", [api_world.centre_a])
    own = api_world.patients["a-copd"].id
    other = api_world.patients["b-hypertension"].id
    assert http.get(f"/api/v1/patients/{own}/gateways", headers=nurse).status_code == 200
    refused = http.get(f"/api/v1/patients/{other}/gateways", headers=nurse)
    assert refused.status_code == 403
    assert "another follow-up centre" in refused.json()["detail"]
    listed = http.get("/api/v1/admin/users", params={"centre": api_world.centre_a}, headers=admin)
    assert "kari.nordmann" in [u["username"] for u in listed.json()["items"]]
    [audit] = audit_rows(sessions, action="create", object_type="user")
    assert (audit.actor, audit.object_id, audit.outcome) == ("admin", user["id"], "allowed")
    assert NEW_PASSWORD not in json.dumps(audit.details)


def test_without_a_password_one_is_generated_and_shown_once(
    http: httpx.Client, api_world: ApiWorld, login: Login, sessions: sessionmaker[Session]
) -> None:
    """An admin who gives no password gets a generated one to hand over; it works, it is in no
    list and not in the audit log."""
    admin = login(http, "admin")
    created = create_user(http, admin, username="lege-ny", role="gp")
    assert created.status_code == 201, created.text
    assert created.headers["cache-control"] == "no-store"
    password = created.json()["password"]
    assert len(password) >= 12
    assert log_in(http, "lege-ny", password).status_code == 200
    listed = http.get("/api/v1/admin/users", headers=admin)
    assert password not in listed.text
    assert "password" not in listed.json()["items"][0]
    assert all(password not in json.dumps(row.details) for row in audit_rows(sessions))


def test_users_are_listed_a_page_at_a_time(
    http: httpx.Client, api_world: ApiWorld, login: Login
) -> None:
    """The user list pages through every user once, by username."""
    admin = login(http, "admin")
    seen: list[str] = []
    cursor: str | None = None
    while True:
        params: dict[str, Any] = {"limit": 4, **({"cursor": cursor} if cursor else {})}
        page = http.get("/api/v1/admin/users", params=params, headers=admin).json()
        seen += [user["username"] for user in page["items"]]
        cursor = page["next_cursor"]
        if cursor is None:
            break
    assert seen == sorted(api_world.users)


def test_non_admins_are_refused_and_the_refusal_is_audited(
    http: httpx.Client, api_world: ApiWorld, login: Login, sessions: sessionmaker[Session]
) -> None:
    """A nurse cannot create users and a GP cannot list them; both attempts are in the log."""
    nurse = login(http, "nurse-a")
    attempt = create_user(http, nurse, username="snik", password=NEW_PASSWORD)
    assert attempt.status_code == 403
    assert attempt.headers["content-type"] == "application/problem+json"
    assert http.get("/api/v1/admin/users", headers=login(http, "gp-1")).status_code == 403
    assert http.get("/api/v1/admin/centres", headers=nurse).status_code == 403
    assert log_in(http, "snik", NEW_PASSWORD).status_code == 401
    refused = [
        (row.actor, row.action, row.object_type)
        for row in audit_rows(sessions, outcome="refused")
        if row.action != "login"
    ]
    assert refused == [
        ("nurse-a", "create", "user"),
        ("gp-1", "list", "user"),
        ("nurse-a", "list", "centre"),
    ]


def test_a_taken_username_is_a_conflict(
    http: httpx.Client, api_world: ApiWorld, login: Login
) -> None:
    """Creating a second 'nurse-a' is refused with 409 and names the username."""
    response = create_user(
        http,
        login(http, "admin"),
        username="nurse-a",
        centre_ids=[api_world.centre_b],
        password=NEW_PASSWORD,
    )
    assert response.status_code == 409
    assert "nurse-a" in response.json()["detail"]


def test_bad_user_fields_are_refused_with_the_field_named(
    http: httpx.Client, api_world: ApiWorld, login: Login
) -> None:
    """A short password, an unknown centre and a nurse without a centre are refused (422)."""
    admin = login(http, "admin")
    short = create_user(
        http,
        admin,
        username="kort",
        centre_ids=[api_world.centre_a],
        password="kort-1",  # noqa: S106 - too short on purpose
    )
    assert short.status_code == 422
    assert short.json()["errors"][0]["field"] == "body.password"
    unknown = create_user(http, admin, username="ukjent", centre_ids=["no-such-centre"])
    assert unknown.status_code == 422
    assert "no-such-centre" in unknown.json()["detail"]
    assert create_user(http, admin, username="uten-senter").status_code == 422


def test_a_deactivated_users_token_stops_working_at_once(
    http: httpx.Client, api_world: ApiWorld, login: Login, sessions: sessionmaker[Session]
) -> None:
    """Deactivating a nurse ends her logins: her token is refused and she cannot log in."""
    nurse = login(http, "nurse-b")
    assert http.get("/api/v1/me", headers=nurse).status_code == 200
    user_id = api_world.users["nurse-b"]
    changed = http.patch(
        f"/api/v1/admin/users/{user_id}", json={"active": False}, headers=login(http, "admin")
    )
    assert changed.status_code == 200, changed.text
    assert changed.json()["active"] is False
    assert http.get("/api/v1/me", headers=nurse).status_code == 401
    assert log_in(http, "nurse-b", PASSWORD).status_code == 401
    inactive = http.get(
        "/api/v1/admin/users", params={"active": False}, headers=login(http, "admin")
    ).json()["items"]
    assert [user["username"] for user in inactive] == ["nurse-b"]
    with sessions() as session:
        ended = session.scalars(
            select(AuthSessionRow.end_reason).where(AuthSessionRow.user_id == user_id)
        ).all()
    assert ended == ["deactivated"]
    [audit] = audit_rows(sessions, action="update", object_type="user")
    assert audit.details == {"active": {"from": True, "to": False}, "sessions_ended": 1}


def test_changing_a_users_centres_and_role(
    http: httpx.Client, api_world: ApiWorld, login: Login
) -> None:
    """Moving nurse-a to centre B shows at once in who she is; a nurse cannot lose every
    centre; an admin cannot demote themselves."""
    admin = login(http, "admin")
    nurse = login(http, "nurse-a")
    url = f"/api/v1/admin/users/{api_world.users['nurse-a']}"
    moved = http.patch(url, json={"centre_ids": [api_world.centre_b]}, headers=admin)
    assert moved.json()["centre_ids"] == [api_world.centre_b]
    assert http.get("/api/v1/me", headers=nurse).json()["centre_ids"] == [api_world.centre_b]
    assert http.patch(url, json={"centre_ids": []}, headers=admin).status_code == 422
    assert http.patch(url, json={"nickname": "A"}, headers=admin).status_code == 422
    own = f"/api/v1/admin/users/{api_world.users['admin']}"
    assert http.patch(own, json={"role": "nurse"}, headers=admin).status_code == 409
    assert http.patch(own, json={"active": False}, headers=admin).status_code == 409
    missing = http.patch("/api/v1/admin/users/nobody", json={"active": True}, headers=admin)
    assert missing.status_code == 404


def test_a_password_reset_ends_the_users_logins(
    http: httpx.Client, api_world: ApiWorld, login: Login, sessions: sessionmaker[Session]
) -> None:
    """After a reset the old token and the old password are refused; the new password works."""
    gp = login(http, "gp-2")
    reset = http.post(
        f"/api/v1/admin/users/{api_world.users['gp-2']}/password", headers=login(http, "admin")
    )
    assert reset.status_code == 200, reset.text
    assert reset.headers["cache-control"] == "no-store"
    body = reset.json()
    assert body["sessions_ended"] == 1
    assert http.get("/api/v1/me", headers=gp).status_code == 401
    assert log_in(http, "gp-2", PASSWORD).status_code == 401
    assert log_in(http, "gp-2", body["password"]).status_code == 200
    [audit] = audit_rows(sessions, action="reset_password")
    assert (audit.actor, audit.object_id, audit.details) == (
        "admin",
        api_world.users["gp-2"],
        {"sessions_ended": 1},
    )
    assert body["password"] not in json.dumps(audit.details)


# ----------------------------------------------------------------------------- tenants


def test_an_admin_adds_a_municipality_and_a_centre_serving_it(
    http: httpx.Client, api_world: ApiWorld, login: Login, sessions: sessionmaker[Session]
) -> None:
    """A new municipality and a centre serving it appear in the lists; both are audited."""
    admin = login(http, "admin")
    municipality = http.post(
        "/api/v1/admin/municipalities", json={"number": "9904", "name": "Nyvik"}, headers=admin
    )
    assert municipality.status_code == 201, municipality.text
    municipality_id = municipality.json()["id"]
    centre = http.post(
        "/api/v1/admin/centres",
        json={"name": "Oppfølgingstjenesten Nyvik", "municipality_ids": [municipality_id]},
        headers=admin,
    )
    assert centre.status_code == 201, centre.text
    assert centre.json()["timezone"] == "Europe/Oslo"
    centres = http.get("/api/v1/admin/centres", headers=admin).json()["items"]
    assert {c["name"]: c["municipality_ids"] for c in centres}["Oppfølgingstjenesten Nyvik"] == [
        municipality_id
    ]
    numbers = [
        m["number"] for m in http.get("/api/v1/admin/municipalities", headers=admin).json()["items"]
    ]
    assert numbers == ["9901", "9902", "9903", "9904"]
    created = [(row.object_type, row.details.get("name")) for row in audit_rows(sessions)]
    assert ("municipality", "Nyvik") in created
    assert ("centre", "Oppfølgingstjenesten Nyvik") in created


def test_bad_tenants_are_refused(http: httpx.Client, api_world: ApiWorld, login: Login) -> None:
    """A taken kommunenummer is a conflict; a bad number, zone or municipality is invalid."""
    admin = login(http, "admin")
    taken = http.post(
        "/api/v1/admin/municipalities", json={"number": "9901", "name": "Igjen"}, headers=admin
    )
    assert taken.status_code == 409
    bad_number = http.post(
        "/api/v1/admin/municipalities", json={"number": "99", "name": "Kort"}, headers=admin
    )
    assert bad_number.json()["errors"][0]["field"] == "body.number"
    testvik = api_world.municipalities["testvik"]
    bad_zone = http.post(
        "/api/v1/admin/centres",
        json={"name": "X", "municipality_ids": [testvik], "timezone": "Europe/Testvik"},
        headers=admin,
    )
    assert bad_zone.status_code == 422
    assert "time zone" in bad_zone.json()["detail"]
    unknown = http.post(
        "/api/v1/admin/centres", json={"name": "Y", "municipality_ids": ["nowhere"]}, headers=admin
    )
    assert unknown.status_code == 422
    same_name = http.post(
        "/api/v1/admin/centres",
        json={"name": "Oppfølgingstjenesten Testvik", "municipality_ids": [testvik]},
        headers=admin,
    )
    assert same_name.status_code == 409


# ----------------------------------------------------------------------------- gateways


def test_a_registered_gateways_secret_works_for_http_ingest_and_is_never_shown_again(
    http: httpx.Client, api_world: ApiWorld, login: Login, sessions: sessionmaker[Session]
) -> None:
    """A nurse registers a gateway for her patient; the phone app posts with the credentials;
    the gateway list shows the gateway but no secret."""
    nurse = login(http, "nurse-a")
    patient = api_world.patients["a-copd"]
    registered = http.post(f"/api/v1/patients/{patient.id}/gateways", headers=nurse)
    assert registered.status_code == 201, registered.text
    assert registered.headers["cache-control"] == "no-store"
    credentials = registered.json()
    gateway_id, secret = credentials["gateway_id"], credentials["secret"]
    assert credentials["http_token"] == f"{gateway_id}:{secret}"
    assert credentials["mqtt_username"] == gateway_id
    assert credentials["mqtt_topic_prefix"] == f"dho/v1/{gateway_id}"
    stored = post_reading(http, credentials["http_token"])
    assert stored.status_code == 200, stored.text
    assert stored.json()["stored"] == 1
    with sessions() as session:
        row = session.get(GatewayRow, gateway_id)
        assert row is not None
        assert (row.patient_id, row.created_at) == (patient.id, NOW)
        assert row.secret_hash is not None
        assert secret not in row.secret_hash
        assert (row.broker_password_hash or "").startswith("$7$")
        readings = session.scalars(
            select(ReadingRow.patient_id).where(ReadingRow.gateway_id == gateway_id)
        ).all()
        assert readings == [patient.id]
    listed = http.get(f"/api/v1/patients/{patient.id}/gateways", headers=nurse)
    assert listed.status_code == 200
    assert secret not in listed.text
    items = listed.json()["items"]
    assert [g["id"] for g in items] == [gateway_id, patient.gateway_id]
    assert set(items[0]) == {
        "id",
        "patient_id",
        "created_at",
        "revoked_at",
        "online",
        "last_seen_at",
        "status",
    }
    [audit] = audit_rows(sessions, action="register", object_type="gateway")
    assert (audit.actor, audit.object_id, audit.patient_id) == ("nurse-a", gateway_id, patient.id)
    assert secret not in json.dumps(audit.details)


def test_a_revoked_gateway_is_refused_at_once(
    http: httpx.Client, api_world: ApiWorld, login: Login
) -> None:
    """After a revoke the gateway's next post gets 401; revoking twice is a conflict."""
    patient = api_world.patients["b-covid"]
    token = f"{patient.gateway_id}:{patient.gateway_secret}"
    assert post_reading(http, token).status_code == 200
    nurse = login(http, "nurse-b")
    revoked = http.post(f"/api/v1/gateways/{patient.gateway_id}/revoke", headers=nurse)
    assert revoked.status_code == 200, revoked.text
    assert revoked.json()["revoked_at"] == NOW.isoformat().replace("+00:00", "Z")
    refused = post_reading(http, token)
    assert refused.status_code == 401
    assert "revoked" in refused.json()["detail"]
    again = http.post(f"/api/v1/gateways/{patient.gateway_id}/revoke", headers=nurse)
    assert again.status_code == 409
    rotate = http.post(f"/api/v1/gateways/{patient.gateway_id}/rotate", headers=nurse)
    assert rotate.status_code == 409


def test_after_a_rotate_the_old_secret_is_refused_and_the_new_one_accepted(
    http: httpx.Client, api_world: ApiWorld, login: Login, sessions: sessionmaker[Session]
) -> None:
    """An admin gives a gateway a new secret: same id, old token 401, new token stored."""
    patient = api_world.patients["a-hf"]
    old = f"{patient.gateway_id}:{patient.gateway_secret}"
    assert post_reading(http, old).status_code == 200
    with sessions() as session:
        before = session.get(GatewayRow, patient.gateway_id)
        assert before is not None
    rotated = http.post(
        f"/api/v1/gateways/{patient.gateway_id}/rotate", headers=login(http, "admin")
    )
    assert rotated.status_code == 200, rotated.text
    credentials = rotated.json()
    assert credentials["gateway_id"] == patient.gateway_id
    assert credentials["secret"] != patient.gateway_secret
    assert post_reading(http, old).status_code == 401
    assert post_reading(http, credentials["http_token"]).status_code == 200
    with sessions() as session:
        after = session.get(GatewayRow, patient.gateway_id)
        assert after is not None
        assert after.secret_hash != before.secret_hash
        assert after.broker_password_hash != before.broker_password_hash
    [audit] = audit_rows(sessions, action="rotate")
    assert (audit.actor, audit.object_id, audit.patient_id, audit.outcome) == (
        "admin",
        patient.gateway_id,
        patient.id,
        "allowed",
    )


def test_only_the_patients_centre_or_an_admin_manages_its_gateways(
    http: httpx.Client, api_world: ApiWorld, login: Login, sessions: sessionmaker[Session]
) -> None:
    """A nurse of another centre and the patient's own GP are refused (audited); an unknown
    gateway is 404 (audited); nothing was registered."""
    patient = api_world.patients["a-diabetes"]
    other_nurse = http.post(
        f"/api/v1/patients/{patient.id}/gateways", headers=login(http, "nurse-b")
    )
    assert other_nurse.status_code == 403
    assert "another follow-up centre" in other_nurse.json()["detail"]
    gp = http.post(f"/api/v1/patients/{patient.id}/gateways", headers=login(http, "gp-2"))
    assert gp.status_code == 403
    rotate = http.post(
        f"/api/v1/gateways/{patient.gateway_id}/rotate", headers=login(http, "nurse-b")
    )
    assert rotate.status_code == 403
    unknown = http.post("/api/v1/gateways/gw-nothing/revoke", headers=login(http, "admin"))
    assert unknown.status_code == 404
    with sessions() as session:
        gateways = session.scalars(
            select(GatewayRow.id).where(GatewayRow.patient_id == patient.id)
        ).all()
    assert gateways == [patient.gateway_id]
    refused = [
        (row.actor, row.action, row.object_type, row.object_id, row.patient_id)
        for row in audit_rows(sessions, outcome="refused")
        if row.action != "login"
    ]
    assert refused[0][:3] == ("nurse-b", "register", "gateway")
    assert refused[0][4] == patient.id
    assert refused[1][:3] == ("gp-2", "register", "gateway")
    assert refused[2] == ("nurse-b", "rotate", "gateway", patient.gateway_id, patient.id)
    assert refused[3] == ("admin", "revoke", "gateway", "gw-nothing", None)


def test_an_admin_registers_a_gateway_without_giving_a_reason(
    http: httpx.Client, api_world: ApiWorld, login: Login
) -> None:
    """Managing gateways is an admin's job: no X-DHO-Reason needed (reading patient data is
    another matter)."""
    patient = api_world.patients["b-hypertension"]
    registered = http.post(f"/api/v1/patients/{patient.id}/gateways", headers=login(http, "admin"))
    assert registered.status_code == 201, registered.text
    assert post_reading(http, registered.json()["http_token"]).status_code == 200


# ----------------------------------------------------------------------------- centre leads


def test_an_admin_creates_a_centre_lead_who_sees_no_patient_record(
    http: httpx.Client, api_world: ApiWorld, login: Login, sessions: sessionmaker[Session]
) -> None:
    """A lead (leder) needs a centre like a nurse; logged in, she is refused the worklist, the
    patient list and a patient of her own centre, each refusal audited: her work is the
    programme's figures."""
    admin = login(http, "admin")
    without_centre = create_user(http, admin, username="leder.a", role="lead")
    assert without_centre.status_code == 422
    assert "lead must work for at least one centre" in without_centre.json()["detail"]
    created = create_user(
        http,
        admin,
        username="leder.a",
        display_name="Liv Leder",
        role="lead",
        centre_ids=[api_world.centre_a],
        password=NEW_PASSWORD,
    )
    assert created.status_code == 201, created.text
    lead = bearer(log_in(http, "leder.a", NEW_PASSWORD))
    me = http.get("/api/v1/me", headers=lead).json()
    assert (me["role"], me["centre_ids"]) == ("lead", [api_world.centre_a])
    own = api_world.patients["a-copd"].id
    for path in ("/api/v1/worklist", "/api/v1/patients", f"/api/v1/patients/{own}"):
        answer = http.get(path, headers=lead)
        assert answer.status_code == 403, (path, answer.text)
        assert "figures" in answer.json()["detail"]
    refused = audit_rows(sessions, actor="leder.a", outcome="refused")
    assert [(row.action, row.object_type) for row in refused] == [
        ("list", "worklist"),
        ("list", "patients"),
        ("read", "patient"),
    ]
