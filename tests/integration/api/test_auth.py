"""Login, tokens, back-off and logout over real HTTP (SQLite and PostgreSQL)."""

from __future__ import annotations

import threading
import time
from datetime import timedelta
from typing import Any, Literal

import httpx
import pytest
from argon2 import PasswordHasher
from sqlalchemy import select, text
from sqlalchemy.orm import Session, sessionmaker

from tests.integration.api.conftest import NOW, PASSWORD, SETTINGS, ApiWorld, Login
from tests.integration.test_http_ingest import serving
from triage.api.app import create_app
from triage.auth import logins
from triage.storage import seed
from triage.storage.models import AuditRow, AuthSessionRow, UserRow


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
    """Locked, the right password is refused too; the answer is a wrong password's (so the lock
    tells an attacker nothing), and the audit log says it was the lock."""
    for _ in range(SETTINGS.login_max_failures):
        http.post("/api/v1/auth/login", json={"username": "nurse-a", "password": "feil"})
    right = http.post("/api/v1/auth/login", json={"username": "nurse-a", "password": PASSWORD})
    assert right.status_code == 401
    assert right.json()["detail"] == "wrong username or password"
    with sessions() as session:
        user = session.scalars(select(UserRow).where(UserRow.username == "nurse-a")).one()
        assert user.locked_until == NOW + timedelta(minutes=SETTINGS.login_lockout_minutes)
        refused = session.scalars(
            select(AuditRow)
            .where(AuditRow.action == "login", AuditRow.outcome == "refused")
            .order_by(AuditRow.id)
        ).all()
        assert len(refused) == SETTINGS.login_max_failures + 1
        assert refused[-1].details["refused"].startswith("account locked until ")


class CountingHasher(PasswordHasher):
    """The real argon2 hasher (at the tests' low cost), counting its verifications."""

    def __init__(self) -> None:
        super().__init__(time_cost=1, memory_cost=8, parallelism=1)
        self.verified = 0

    def verify(self, hash: str | bytes, password: str | bytes) -> Literal[True]:
        self.verified += 1
        return super().verify(hash, password)


def test_a_locked_account_answers_like_a_wrong_password_after_the_same_hash_work(
    http: httpx.Client, monkeypatch: pytest.MonkeyPatch
) -> None:
    """A locked account gets the same status, body and headers as a wrong password, after the
    same argon2 verification (before, it answered at once: ~26 ms against ~730 ms, telling
    anyone which accounts are locked)."""
    for _ in range(SETTINGS.login_max_failures):
        http.post("/api/v1/auth/login", json={"username": "nurse-a", "password": "feil"})
    hasher = CountingHasher()
    monkeypatch.setattr(seed, "_hasher", hasher)

    def attempt(username: str, password: str) -> tuple[int, httpx.Response]:
        before = hasher.verified
        response = http.post(
            "/api/v1/auth/login", json={"username": username, "password": password}
        )
        return hasher.verified - before, response

    wrong_work, wrong = attempt("nurse-b", "feil")
    locked_wrong_work, locked_wrong = attempt("nurse-a", "feil")
    locked_right_work, locked_right = attempt("nurse-a", PASSWORD)
    unknown_work, unknown = attempt("ingen", "feil")
    assert wrong_work == locked_wrong_work == locked_right_work == unknown_work == 1
    for response in (locked_wrong, locked_right, unknown):
        assert response.status_code == wrong.status_code == 401
        assert response.json() == wrong.json()
        assert response.headers["www-authenticate"] == wrong.headers["www-authenticate"]


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


def bearer(tokens: dict[str, Any]) -> dict[str, str]:
    return {"Authorization": f"Bearer {tokens['access_token']}"}


def test_refresh_rotates_and_a_reused_refresh_token_ends_the_login(
    http: httpx.Client, sessions: sessionmaker[Session]
) -> None:
    """Login → refresh (A → B) → A again: 401, and the whole login ends — B and the access
    tokens issued with it are refused too (whoever copied A cannot keep a session alive), and
    the reuse is in the audit log."""
    first = http.post("/api/v1/auth/login", json={"username": "gp-1", "password": PASSWORD}).json()
    second = http.post("/api/v1/auth/refresh", json={"refresh_token": first["refresh_token"]})
    assert second.status_code == 200
    newer = second.json()
    assert newer["refresh_token"] != first["refresh_token"]
    assert http.get("/api/v1/me", headers=bearer(newer)).status_code == 200

    reused = http.post("/api/v1/auth/refresh", json={"refresh_token": first["refresh_token"]})
    assert reused.status_code == 401
    assert "already used" in reused.json()["detail"]

    after = http.post("/api/v1/auth/refresh", json={"refresh_token": newer["refresh_token"]})
    assert after.status_code == 401
    assert after.json()["detail"] == "this login has ended: log in again"
    for tokens in (newer, first):
        me = http.get("/api/v1/me", headers=bearer(tokens))
        assert me.status_code == 401
        assert "log in again" in me.json()["detail"]
    with sessions() as session:
        audit = session.scalars(select(AuditRow).where(AuditRow.action == "refresh_reuse")).one()
        ended = session.scalars(select(AuthSessionRow)).one()
    assert (audit.actor, audit.object_type, audit.object_id, audit.outcome) == (
        "gp-1",
        "session",
        ended.id,
        "refused",
    )
    assert ended.end_reason == "refresh_reuse"


def test_a_refresh_token_works_once_along_a_chain_of_refreshes(http: httpx.Client) -> None:
    """Each refresh gives a new refresh token that works once; an unknown one is refused
    without ending anything."""
    tokens = http.post(
        "/api/v1/auth/login", json={"username": "nurse-a", "password": PASSWORD}
    ).json()
    for _ in range(3):
        response = http.post(
            "/api/v1/auth/refresh", json={"refresh_token": tokens["refresh_token"]}
        )
        assert response.status_code == 200, response.text
        tokens = response.json()
    unknown = http.post("/api/v1/auth/refresh", json={"refresh_token": "x" * 43})
    assert unknown.status_code == 401
    assert unknown.json()["detail"] == "unknown refresh token: log in again"
    assert http.get("/api/v1/me", headers=bearer(tokens)).status_code == 200


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


@pytest.mark.parametrize("engine", ["postgresql"], indirect=True)
def test_two_refreshes_with_one_token_at_once_leave_one_winner_and_end_the_login(
    sessions: sessionmaker[Session], api_world: ApiWorld
) -> None:
    """Two requests refresh with the same token at the same moment (one still uncommitted when
    the other arrives): the database lets exactly one use it, the other is reuse and the login
    ends — never two live token chains from one token."""
    with sessions.begin() as session:
        issued = logins.login(session, SETTINGS, "gp-1", PASSWORD, NOW)
    outcome: dict[str, object] = {}

    def second() -> None:  # as the API does: the refusal's changes are committed
        with sessions.begin() as session:
            try:
                outcome["second"] = logins.refresh(session, SETTINGS, issued.refresh_token, NOW)
            except logins.LoginRefusedError as err:
                outcome["second"] = err

    waiting = text(
        "SELECT count(*) FROM pg_stat_activity WHERE wait_event_type = 'Lock' "
        "AND query LIKE 'UPDATE refresh_tokens%'"
    )
    with sessions.begin() as first:
        winner = logins.refresh(first, SETTINGS, issued.refresh_token, NOW)
        thread = threading.Thread(target=second)
        thread.start()
        deadline = time.monotonic() + 30
        with sessions() as watcher:
            while not watcher.scalar(waiting):
                assert time.monotonic() < deadline, "the second refresh never waited"
                watcher.rollback()
                time.sleep(0.05)
    thread.join(30)
    assert isinstance(outcome["second"], logins.RefreshReuseError)
    with sessions() as session:
        assert not logins.session_is_live(session, winner.session_id, winner.user_id, NOW)
