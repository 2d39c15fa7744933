"""Sign-in with OpenID Connect against a real provider (tests/oidc_provider: npm's
oidc-provider with HelseID's claims), the API behind a real uvicorn, on SQLite and PostgreSQL.

The whole flow runs as a browser would (httpx keeps the provider's cookies): DHO's ``start`` →
the provider's login form → DHO's ``callback`` (code exchanged with private_key_jwt and PKCE,
ID token validated against the provider's JWKS) → the dashboard's ``?dho_handoff=`` →
``exchange`` → tokens that work on ``/me``. Nothing in DHO's validation is faked: the bad tokens
are made by the provider (its ``misbehave`` control).
"""

from __future__ import annotations

import json
from collections.abc import Iterator
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any
from urllib.parse import parse_qs, urlsplit

import httpx
import pytest
from sqlalchemy import select
from sqlalchemy.orm import Session, sessionmaker

from tests.integration.api.conftest import PASSWORD, ApiWorld
from tests.oidc_provider import SCOPES, OidcProvider
from triage.api.app import create_app
from triage.config import Settings
from triage.service import ApiServer
from triage.storage.models import (
    AuditRow,
    AuthSessionRow,
    OidcHandoffRow,
    OidcLoginAttemptRow,
    PatientRow,
    UserRow,
)

PROVIDER = "helseid"
DASHBOARD = "http://dashboard.test"
START = f"/api/v1/auth/oidc/{PROVIDER}/start"
GP_HPR = "9144889"
NURSE_HPR = "1234567"


@dataclass
class Rp:
    """DHO's API as the relying party of the test provider."""

    api: str
    provider: OidcProvider
    sessions: sessionmaker[Session]
    world: ApiWorld
    offset: list[timedelta] = field(default_factory=lambda: [timedelta(0)])

    def browser(self) -> httpx.Client:
        return httpx.Client(timeout=30)

    def sign_in(
        self, user: str, path: str = START, browser: httpx.Client | None = None
    ) -> dict[str, str]:
        """Sign in as the provider's ``user`` starting at ``path``; the dashboard's query."""
        own = browser or self.browser()
        try:
            callback = self.provider.login(own, self.api + path, user)
            assert callback.startswith(f"{self.api}/api/v1/auth/oidc/{PROVIDER}/callback?")
            answer = own.get(callback, follow_redirects=False)
        finally:
            if browser is None:
                own.close()
        return dashboard_query(answer)

    def exchange(self, handoff: str) -> httpx.Response:
        return httpx.post(f"{self.api}/api/v1/auth/oidc/exchange", json={"handoff": handoff})

    def tokens(self, user: str, path: str = START) -> dict[str, Any]:
        query = self.sign_in(user, path)
        assert "dho_handoff" in query, query
        answer = self.exchange(query["dho_handoff"])
        assert answer.status_code == 200, answer.text
        tokens: dict[str, Any] = answer.json()
        return tokens

    def me(self, access_token: str) -> httpx.Response:
        return httpx.get(
            f"{self.api}/api/v1/me", headers={"Authorization": f"Bearer {access_token}"}
        )

    def audit(self, action: str = "login") -> list[AuditRow]:
        with self.sessions() as session:
            return list(
                session.scalars(
                    select(AuditRow).where(AuditRow.action == action).order_by(AuditRow.id)
                )
            )


def dashboard_query(answer: httpx.Response) -> dict[str, str]:
    assert answer.status_code == 302, answer.text
    location = answer.headers["location"]
    assert location.startswith(f"{DASHBOARD}/?"), location
    return {key: values[0] for key, values in parse_qs(urlsplit(location).query).items()}


def _settings(tmp_path: Path, provider: OidcProvider, **extra: Any) -> Settings:
    providers = tmp_path / "providers.json"
    providers.write_text(
        json.dumps(
            [
                {
                    "id": PROVIDER,
                    "label": "HelseID",
                    "issuer": provider.issuer,
                    "client_id": provider.client_id,
                    "private_key_file": str(provider.client_key_file),
                    "scopes": list(SCOPES),
                    "max_session_hours": 8,
                }
            ]
        )
    )
    return Settings(
        demo=True, oidc_providers_file=providers, dashboard_public_url=DASHBOARD, **extra
    )


def _serve(
    tmp_path: Path,
    sessions: sessionmaker[Session],
    world: ApiWorld,
    provider: OidcProvider,
    **extra: Any,
) -> Iterator[Rp]:
    with sessions.begin() as session:  # the GP's HPR number as HelseID sends it
        gp = session.get(UserRow, world.users["gp-1"])
        assert gp is not None
        gp.hpr_number = GP_HPR
    offset = [timedelta(0)]
    settings = _settings(tmp_path, provider, **extra)
    app = create_app(settings, sessions, clock=lambda: datetime.now(UTC) + offset[0])
    server = ApiServer(app, "127.0.0.1", 0)
    server.start()
    try:
        app.state.settings = settings.model_copy(update={"api_public_url": server.url})
        base = f"{server.url}/api/v1/auth/oidc/{PROVIDER}"
        provider.set_client(
            redirect_uris=[f"{base}/callback"], backchannel_logout_uri=f"{base}/backchannel-logout"
        )
        yield Rp(server.url, provider, sessions, world, offset)
    finally:
        server.stop()


@pytest.fixture
def rp(
    tmp_path: Path,
    sessions: sessionmaker[Session],
    api_world: ApiWorld,
    oidc_provider: OidcProvider,
) -> Iterator[Rp]:
    yield from _serve(tmp_path, sessions, api_world, oidc_provider)


# ------------------------------------------------------------------ providers


def test_the_providers_are_listed_without_login(rp: Rp) -> None:
    answer = httpx.get(f"{rp.api}/api/v1/auth/oidc/providers")
    assert answer.status_code == 200
    assert answer.json() == [{"id": PROVIDER, "label": "HelseID", "start_url": f"{rp.api}{START}"}]
    assert httpx.get(f"{rp.api}/api/v1/auth/oidc/other/start").status_code == 404


def test_start_sends_pkce_s256_state_and_nonce(rp: Rp) -> None:
    answer = httpx.get(f"{rp.api}{START}", params={"next": "alert:a-1"})
    assert answer.status_code == 302
    location = answer.headers["location"]
    assert location.startswith(rp.provider.discovery()["authorization_endpoint"])
    query = {k: v[0] for k, v in parse_qs(urlsplit(location).query).items()}
    assert query["code_challenge_method"] == "S256"
    assert len(query["code_challenge"]) == 43
    assert query["response_type"] == "code"
    assert query["client_id"] == rp.provider.client_id
    assert len(query["state"]) >= 40
    assert len(query["nonce"]) >= 40
    assert "openid" in query["scope"].split()
    # a next that is not a dashboard location is refused
    assert httpx.get(f"{rp.api}{START}", params={"next": "https://evil.test/"}).status_code == 422


# ------------------------------------------------------------------ success


def test_a_gp_signs_in_by_hpr_number_and_the_tokens_work(rp: Rp) -> None:
    tokens = rp.tokens("gp")
    me = rp.me(tokens["access_token"])
    assert me.status_code == 200, me.text
    assert me.json()["username"] == "gp-1"
    assert me.json()["role"] == "gp"
    assert tokens["next"] is None
    # the refresh token rotates as after a password login
    refreshed = httpx.post(
        f"{rp.api}/api/v1/auth/refresh", json={"refresh_token": tokens["refresh_token"]}
    )
    assert refreshed.status_code == 200, refreshed.text
    with rp.sessions() as session:
        row = session.scalars(select(AuthSessionRow)).one()
        assert row.oidc_provider == PROVIDER
        assert row.oidc_sub == "gp"
        assert row.oidc_sid  # the provider's session, for back-channel logout
        assert row.auth_time is not None
        assert row.reauth_after is not None
        assert row.reauth_after - row.auth_time == timedelta(hours=8)
    [audit] = rp.audit()
    assert (audit.actor, audit.outcome) == ("gp-1", "allowed")
    assert audit.details["method"] == "oidc"
    assert audit.details["hpr"] == GP_HPR


def test_a_handoff_code_works_once(rp: Rp) -> None:
    query = rp.sign_in("gp")
    assert rp.exchange(query["dho_handoff"]).status_code == 200
    again = rp.exchange(query["dho_handoff"])
    assert again.status_code == 401
    assert rp.exchange("x" * 43).status_code == 401


def test_a_nurse_signs_in_by_hpr_number(rp: Rp) -> None:
    with rp.sessions.begin() as session:
        nurse = session.get(UserRow, rp.world.users["nurse-a"])
        assert nurse is not None
        nurse.hpr_number = NURSE_HPR
    tokens = rp.tokens("nurse")
    assert rp.me(tokens["access_token"]).json()["username"] == "nurse-a"


def test_a_nurse_without_hpr_signs_in_by_the_subject_an_admin_registered(rp: Rp) -> None:
    # before: nobody has HPR 1234567 or the subject "nurse" → refused
    assert rp.sign_in("nurse") == {"dho_login_error": "unknown_person"}
    admin = httpx.post(
        f"{rp.api}/api/v1/auth/login", json={"username": "admin", "password": PASSWORD}
    ).json()["access_token"]
    changed = httpx.patch(
        f"{rp.api}/api/v1/admin/users/{rp.world.users['nurse-a']}",
        json={"oidc_provider": PROVIDER, "oidc_subject": "nurse"},
        headers={"Authorization": f"Bearer {admin}"},
    )
    assert changed.status_code == 200, changed.text
    assert (changed.json()["oidc_provider"], changed.json()["oidc_subject"]) == (
        PROVIDER,
        "nurse",
    )
    tokens = rp.tokens("nurse")
    assert rp.me(tokens["access_token"]).json()["username"] == "nurse-a"


# ------------------------------------------------------------------ refusals


def _refusal(rp: Rp) -> AuditRow:
    refused = [row for row in rp.audit() if row.outcome == "refused"]
    assert refused, "the refusal is audited"
    return refused[-1]


def test_a_lower_security_level_is_refused(rp: Rp) -> None:
    assert rp.sign_in("gp-level3") == {"dho_login_error": "level_too_low"}
    row = _refusal(rp)
    assert row.actor == f"hpr:{GP_HPR}"
    assert row.details["code"] == "level_too_low"
    assert "below 4" in row.details["refused"]
    with rp.sessions() as session:
        assert session.scalars(select(AuthSessionRow)).first() is None


def test_an_unknown_person_is_refused_and_no_account_is_created(rp: Rp) -> None:
    with rp.sessions() as session:
        before = len(session.scalars(select(UserRow)).all())
    assert rp.sign_in("unknown") == {"dho_login_error": "unknown_person"}
    row = _refusal(rp)
    assert row.actor == "hpr:7777777"
    assert row.details["hpr"] == "7777777"
    assert row.details["sub"] == "unknown"
    with rp.sessions() as session:
        assert len(session.scalars(select(UserRow)).all()) == before
        assert session.scalars(select(AuthSessionRow)).first() is None


@pytest.mark.parametrize("mode", ["rogue_key", "wrong_aud", "expired", "nonce"])
def test_a_bad_id_token_is_refused(rp: Rp, mode: str) -> None:
    rp.provider.misbehave(mode)  # type: ignore[arg-type]
    assert rp.sign_in("gp") == {"dho_login_error": "invalid_token"}
    row = _refusal(rp)
    assert row.details["code"] == "invalid_token"
    with rp.sessions() as session:
        assert session.scalars(select(AuthSessionRow)).first() is None
    # the provider did send one (so it was DHO's validation that refused it)
    assert any(entry["kind"] == "token_response" for entry in rp.provider.sent())


def test_a_rogue_key_with_the_real_kid_is_refused(rp: Rp) -> None:
    rp.provider.misbehave("rogue_key", same_kid=True)
    assert rp.sign_in("gp") == {"dho_login_error": "invalid_token"}
    assert "signature" in _refusal(rp).details["refused"]


def test_the_same_callback_replayed_is_refused(rp: Rp) -> None:
    with rp.browser() as browser:
        callback = rp.provider.login(browser, rp.api + START, "gp")
        first = dashboard_query(browser.get(callback, follow_redirects=False))
        assert "dho_handoff" in first
        again = dashboard_query(browser.get(callback, follow_redirects=False))
    assert again == {"dho_login_error": "invalid_token"}
    assert "replayed" in _refusal(rp).details["refused"]


def test_a_sign_in_older_than_ten_minutes_is_refused(rp: Rp) -> None:
    with rp.browser() as browser:
        callback = rp.provider.login(browser, rp.api + START, "gp")
        rp.offset[0] = timedelta(minutes=11)
        query = dashboard_query(browser.get(callback, follow_redirects=False))
    assert query == {"dho_login_error": "expired_attempt"}


def test_an_unknown_state_is_refused(rp: Rp) -> None:
    answer = httpx.get(
        f"{rp.api}/api/v1/auth/oidc/{PROVIDER}/callback", params={"state": "made-up", "code": "x"}
    )
    assert dashboard_query(answer) == {"dho_login_error": "invalid_token"}


# ------------------------------------------------------------------ keys and sessions


def test_a_rotated_signing_key_is_accepted(rp: Rp) -> None:
    rp.tokens("gp")  # the JWKS is now cached
    kid = rp.provider.rotate_key()
    tokens = rp.tokens("gp")
    assert rp.me(tokens["access_token"]).status_code == 200
    sent = [entry for entry in rp.provider.sent() if entry["kind"] == "token_response"]
    assert rp.provider.jwks()["keys"][0]["kid"] == kid
    assert len(sent) == 2


def test_back_channel_logout_ends_the_session_at_once(rp: Rp) -> None:
    tokens = rp.tokens("gp")
    assert rp.me(tokens["access_token"]).status_code == 200
    outcome = rp.provider.logout("gp")
    assert outcome, "the provider had a session to end"
    assert rp.me(tokens["access_token"]).status_code == 401
    refreshed = httpx.post(
        f"{rp.api}/api/v1/auth/refresh", json={"refresh_token": tokens["refresh_token"]}
    )
    assert refreshed.status_code == 401
    with rp.sessions() as session:
        assert session.scalars(select(AuthSessionRow)).one().end_reason == "provider_logout"
    [row] = rp.audit("provider_logout")
    assert row.outcome == "allowed"
    assert row.details["ended"] == 1
    # the same logout token again is refused (jti single use)
    [sent] = [entry for entry in rp.provider.sent() if entry["kind"] == "logout_token"]
    replay = httpx.post(
        f"{rp.api}/api/v1/auth/oidc/{PROVIDER}/backchannel-logout",
        data={"logout_token": sent["logout_token"]},
    )
    assert replay.status_code == 400
    # and a forged one (an ID token is not a logout token)
    forged = httpx.post(
        f"{rp.api}/api/v1/auth/oidc/{PROVIDER}/backchannel-logout",
        data={"logout_token": "e30.e30.e30"},
    )
    assert forged.status_code == 400


def test_re_authentication_is_required_after_max_session_hours(rp: Rp) -> None:
    tokens = rp.tokens("gp")
    rp.offset[0] = timedelta(hours=7)
    refreshed = httpx.post(
        f"{rp.api}/api/v1/auth/refresh", json={"refresh_token": tokens["refresh_token"]}
    )
    assert refreshed.status_code == 200, refreshed.text
    # the session never lasts past the provider's auth_time + 8 h, whatever refresh_token_hours
    assert datetime.fromisoformat(refreshed.json()["refresh_expires_at"]) <= (
        datetime.now(UTC) + timedelta(hours=8, minutes=1)
    )
    rp.offset[0] = timedelta(hours=8, minutes=1)
    again = httpx.post(
        f"{rp.api}/api/v1/auth/refresh", json={"refresh_token": refreshed.json()["refresh_token"]}
    )
    assert again.status_code == 401
    assert "sign in again" in again.json()["detail"]


# ------------------------------------------------------------------ password login per role


@pytest.fixture
def rp_gp_password_off(
    tmp_path: Path,
    sessions: sessionmaker[Session],
    api_world: ApiWorld,
    oidc_provider: OidcProvider,
) -> Iterator[Rp]:
    yield from _serve(
        tmp_path, sessions, api_world, oidc_provider, password_login_roles=["admin", "nurse"]
    )


def test_password_login_can_be_turned_off_for_a_role(rp_gp_password_off: Rp) -> None:
    rp = rp_gp_password_off
    login = f"{rp.api}/api/v1/auth/login"
    refused = httpx.post(login, json={"username": "gp-1", "password": PASSWORD})
    assert refused.status_code == 403
    assert "password login is turned off for the role gp" in refused.json()["detail"]
    # a wrong password still gets the ordinary answer (nothing said about the role)
    wrong = httpx.post(login, json={"username": "gp-1", "password": "wrong-password-1"})
    assert wrong.status_code == 401
    assert httpx.post(login, json={"username": "nurse-a", "password": PASSWORD}).status_code == 200
    [row] = [r for r in rp.audit() if r.actor == "gp-1" and r.outcome == "refused"][:1]
    assert "DHO_PASSWORD_LOGIN_ROLES" in row.details["refused"]
    # the GP signs in with the provider instead
    assert rp.me(rp.tokens("gp")["access_token"]).status_code == 200


# ------------------------------------------------------------------ launch from the EPJ


def _national_id(rp: Rp, name: str) -> str:
    with rp.sessions() as session:
        row = session.get(PatientRow, rp.world.patients[name].id)
        assert row is not None
        assert row.national_id is not None
        return row.national_id


FNR = "urn:oid:2.16.578.1.12.4.1.4.1"


def test_a_launch_for_the_gps_own_patient_lands_on_the_gp_view(rp: Rp) -> None:
    own = rp.world.patients["a-copd"]  # gp-1's
    path = f"/api/v1/launch?patient={FNR}|{_national_id(rp, 'a-copd')}"
    tokens = rp.tokens("gp", path)
    assert tokens["next"] == f"gp_patient:{own.id}"
    assert rp.me(tokens["access_token"]).status_code == 200
    [row] = [r for r in rp.audit() if r.outcome == "allowed"]
    assert row.patient_id == own.id


def test_a_launch_for_another_gps_patient_is_refused(rp: Rp) -> None:
    other = rp.world.patients["b-hypertension"]  # gp-2's
    path = f"/api/v1/launch?patient={FNR}|{_national_id(rp, 'b-hypertension')}"
    assert rp.sign_in("gp", path) == {"dho_login_error": "not_own_patient"}
    row = _refusal(rp)
    assert row.actor == "gp-1" or row.actor == f"hpr:{GP_HPR}"
    assert row.patient_id == other.id
    with rp.sessions() as session:
        assert session.scalars(select(AuthSessionRow)).first() is None


def test_a_launch_needs_a_patient_or_a_smart_launch(rp: Rp) -> None:
    assert httpx.get(f"{rp.api}/api/v1/launch").status_code == 422
    bad = httpx.get(f"{rp.api}/api/v1/launch", params={"patient": "urn:oid:1.2.3|12345678901"})
    assert bad.status_code == 422
    smart = httpx.get(
        f"{rp.api}/api/v1/launch",
        params={"iss": "https://epj.test/fhir", "launch": "xyz123"},
    )
    assert smart.status_code == 302
    query = {k: v[0] for k, v in parse_qs(urlsplit(smart.headers["location"]).query).items()}
    assert query["launch"] == "xyz123"
    assert "launch" in query["scope"].split()


EPJ_FHIR = "https://epj.test/fhir"


def _smart(launch: str) -> str:
    return f"/api/v1/launch?iss={EPJ_FHIR}&launch={launch}"


def _token_responses(rp: Rp) -> list[dict[str, Any]]:
    return [entry for entry in rp.provider.sent() if entry["kind"] == "token_response"]


def test_a_smart_launch_for_the_gps_own_patient_lands_on_the_gp_view(rp: Rp) -> None:
    own = rp.world.patients["a-copd"]  # gp-1's
    rp.provider.register_launch("epj-launch-1", f"{FNR}|{_national_id(rp, 'a-copd')}")
    tokens = rp.tokens("gp", _smart("epj-launch-1"))
    assert tokens["next"] == f"gp_patient:{own.id}"
    assert rp.me(tokens["access_token"]).status_code == 200
    [row] = [r for r in rp.audit() if r.outcome == "allowed"]
    assert row.patient_id == own.id
    # the patient came from the provider's token response, for that launch
    [sent] = _token_responses(rp)
    assert sent["launch"] == "epj-launch-1"
    assert sent["patient"] == f"{FNR}|{_national_id(rp, 'a-copd')}"


def test_a_smart_launch_with_a_bare_fodselsnummer_is_accepted(rp: Rp) -> None:
    own = rp.world.patients["a-copd"]
    rp.provider.register_launch("epj-launch-2", _national_id(rp, "a-copd"))
    assert rp.tokens("gp", _smart("epj-launch-2"))["next"] == f"gp_patient:{own.id}"


def test_a_smart_launch_for_another_gps_patient_is_refused(rp: Rp) -> None:
    other = rp.world.patients["b-hypertension"]  # gp-2's
    rp.provider.register_launch("epj-launch-3", f"{FNR}|{_national_id(rp, 'b-hypertension')}")
    assert rp.sign_in("gp", _smart("epj-launch-3")) == {"dho_login_error": "not_own_patient"}
    row = _refusal(rp)
    assert row.details["code"] == "not_own_patient"
    assert row.patient_id == other.id
    with rp.sessions() as session:
        assert session.scalars(select(AuthSessionRow)).first() is None


def test_a_smart_launch_whose_token_response_has_no_patient_is_refused(rp: Rp) -> None:
    # the provider does not know this launch: its token response carries no patient
    assert rp.sign_in("gp", _smart("unknown-launch")) == {"dho_login_error": "provider_error"}
    [sent] = _token_responses(rp)
    assert sent["launch"] == "unknown-launch"
    assert "patient" not in sent
    row = _refusal(rp)
    assert row.details["code"] == "provider_error"
    assert "no patient" in row.details["refused"]
    with rp.sessions() as session:
        assert session.scalars(select(AuthSessionRow)).first() is None


def test_a_smart_launch_with_an_epj_fhir_id_is_refused(rp: Rp) -> None:
    rp.provider.register_launch("epj-launch-4", "Patient/abc-123")
    assert rp.sign_in("gp", _smart("epj-launch-4")) == {"dho_login_error": "provider_error"}
    assert "FHIR server" in _refusal(rp).details["refused"]


def test_a_subject_belongs_to_one_user_and_needs_its_provider(rp: Rp) -> None:
    admin = httpx.post(
        f"{rp.api}/api/v1/auth/login", json={"username": "admin", "password": PASSWORD}
    ).json()["access_token"]
    headers = {"Authorization": f"Bearer {admin}"}
    users = f"{rp.api}/api/v1/admin/users"
    body = {"oidc_provider": PROVIDER, "oidc_subject": "nurse"}
    first = httpx.patch(f"{users}/{rp.world.users['nurse-a']}", json=body, headers=headers)
    assert first.status_code == 200, first.text
    taken = httpx.patch(f"{users}/{rp.world.users['nurse-b']}", json=body, headers=headers)
    assert taken.status_code == 409
    alone = httpx.patch(
        f"{users}/{rp.world.users['nurse-b']}", json={"oidc_subject": "x"}, headers=headers
    )
    assert alone.status_code == 422
    removed = httpx.patch(
        f"{users}/{rp.world.users['nurse-a']}", json={"oidc_subject": ""}, headers=headers
    )
    assert removed.status_code == 200
    assert removed.json()["oidc_subject"] is None
    assert rp.sign_in("nurse") == {"dho_login_error": "unknown_person"}


def test_old_sign_in_rows_are_deleted_at_a_later_start(rp: Rp) -> None:
    rp.sign_in("gp")  # an attempt (used) and a handoff code (never exchanged)
    with rp.sessions() as session:
        assert len(session.scalars(select(OidcLoginAttemptRow)).all()) == 1
        assert len(session.scalars(select(OidcHandoffRow)).all()) == 1
    rp.offset[0] = timedelta(days=2)
    assert httpx.get(f"{rp.api}{START}").status_code == 302
    with rp.sessions() as session:
        [fresh] = session.scalars(select(OidcLoginAttemptRow)).all()
        assert fresh.used_at is None
        assert session.scalars(select(OidcHandoffRow)).all() == []
