"""Login, tokens, back-off and logout over real HTTP (SQLite and PostgreSQL)."""

from __future__ import annotations

from datetime import timedelta

import httpx
from sqlalchemy import select
from sqlalchemy.orm import Session, sessionmaker

from tests.integration.api.conftest import NOW, PASSWORD, SETTINGS, ApiWorld, Login
from tests.integration.test_http_ingest import serving
from triage.api.app import create_app
from triage.storage.models import AuditRow, UserRow


def test_a_nurse_logs_in_and_the_api_knows_who_she_is(
    http: httpx.Client, api_world: ApiWorld, login: Login
) -> None:
    me = http.get("/api/v1/me", headers=login(http, "nurse-ab")).json()
    assert me["username"] == "nurse-ab"
    assert me["role"] == "nurse"
    assert sorted(me["centre_ids"]) == sorted([api_world.centre_a, api_world.centre_b])


def test_a_wrong_password_and_an_unknown_user_get_the_same_answer(http: httpx.Client) -> None:
    wrong = http.post("/api/v1/auth/login", json={"username": "nurse-a", "password": "nei"})
    unknown = http.post("/api/v1/auth/login", json={"username": "ingen", "password": "nei"})
    assert wrong.status_code == unknown.status_code == 401
    assert wrong.json()["detail"] == unknown.json()["detail"] == "wrong username or password"
    assert wrong.headers["content-type"] == "application/problem+json"


def test_repeated_failures_lock_the_account_even_with_the_right_password(
    http: httpx.Client, sessions: sessionmaker[Session]
) -> None:
    for _ in range(SETTINGS.login_max_failures):
        http.post("/api/v1/auth/login", json={"username": "nurse-a", "password": "feil"})
    right = http.post("/api/v1/auth/login", json={"username": "nurse-a", "password": PASSWORD})
    assert right.status_code == 401
    assert "too many failed logins" in right.json()["detail"]
    with sessions() as session:
        user = session.scalars(select(UserRow).where(UserRow.username == "nurse-a")).one()
        assert user.locked_until == NOW + timedelta(minutes=SETTINGS.login_lockout_minutes)
        refused = session.scalars(
            select(AuditRow).where(AuditRow.action == "login", AuditRow.outcome == "refused")
        ).all()
        assert len(refused) == SETTINGS.login_max_failures + 1


def test_the_lock_lifts_after_the_back_off(
    sessions: sessionmaker[Session], api_world: ApiWorld
) -> None:
    clock = {"now": NOW}
    with serving(create_app(SETTINGS, sessions, clock=lambda: clock["now"])) as client:
        for _ in range(SETTINGS.login_max_failures):
            client.post("/api/v1/auth/login", json={"username": "gp-1", "password": "feil"})
        clock["now"] = NOW + timedelta(minutes=SETTINGS.login_lockout_minutes, seconds=1)
        ok = client.post("/api/v1/auth/login", json={"username": "gp-1", "password": PASSWORD})
        assert ok.status_code == 200


def test_refresh_rotates_and_a_reused_refresh_token_ends_the_login(http: httpx.Client) -> None:
    first = http.post("/api/v1/auth/login", json={"username": "gp-1", "password": PASSWORD}).json()
    second = http.post("/api/v1/auth/refresh", json={"refresh_token": first["refresh_token"]})
    assert second.status_code == 200
    assert second.json()["refresh_token"] != first["refresh_token"]
    reused = http.post("/api/v1/auth/refresh", json={"refresh_token": first["refresh_token"]})
    assert reused.status_code == 401


def test_logout_ends_the_access_token_at_once(http: httpx.Client, login: Login) -> None:
    headers = login(http, "nurse-a")
    assert http.post("/api/v1/auth/logout", headers=headers).status_code == 204
    after = http.get("/api/v1/me", headers=headers)
    assert after.status_code == 401
    assert "log in again" in after.json()["detail"]


def test_an_expired_or_forged_token_is_refused(
    sessions: sessionmaker[Session], api_world: ApiWorld
) -> None:
    clock = {"now": NOW}
    with serving(create_app(SETTINGS, sessions, clock=lambda: clock["now"])) as client:
        token = client.post(
            "/api/v1/auth/login", json={"username": "nurse-a", "password": PASSWORD}
        ).json()["access_token"]
        forged = token[:-4] + ("AAAA" if not token.endswith("AAAA") else "BBBB")
        assert (
            client.get("/api/v1/me", headers={"Authorization": f"Bearer {forged}"}).status_code
            == 401
        )
        clock["now"] = NOW + timedelta(minutes=SETTINGS.access_token_minutes, seconds=1)
        expired = client.get("/api/v1/me", headers={"Authorization": f"Bearer {token}"})
        assert expired.status_code == 401
        assert "expired" in expired.json()["detail"]


def test_unknown_fields_are_refused_with_the_field_named(http: httpx.Client) -> None:
    response = http.post(
        "/api/v1/auth/login", json={"username": "a", "password": "b", "remember": True}
    )
    assert response.status_code == 422
    body = response.json()
    assert body["errors"][0]["field"] == "body.remember"
    assert "remember" in body["detail"]
