"""The dashboard's side of the sign-in with HelseID against the real API and the real test
provider (tests/oidc_provider: npm's oidc-provider), the API on the wall clock as in
tests/integration/api/test_oidc_login.py (whose ``_serve`` runs it): the API client lists the
providers and swaps a handoff code for tokens, once; the entry script logs the person in from
``?dho_handoff=``, opens the launched patient (and an escalation link's patient through the
sign-in), and sends a person whose re-authentication is
due back to the login page with a message."""

from __future__ import annotations

import re
from collections.abc import Iterator
from datetime import timedelta
from html import unescape
from pathlib import Path
from urllib.parse import parse_qs, urlsplit

import pytest
from sqlalchemy import select
from sqlalchemy.orm import Session, sessionmaker
from streamlit.testing.v1 import AppTest

from dashboard.api_client import ApiClient, ApiError
from tests.integration.api.conftest import ApiWorld
from tests.integration.api.test_oidc_login import (
    FNR,
    NURSE_HPR,
    PROVIDER,
    Rp,
    _national_id,
    _serve,
)
from tests.integration.dashboard.conftest import APP, CLIENT_KEY, RUN_TIMEOUT, Ward
from tests.oidc_provider import OidcProvider
from triage.storage.models import AlertRow, UserRow


@pytest.fixture
def rp(
    tmp_path: Path,
    sessions: sessionmaker[Session],
    api_world: ApiWorld,
    oidc_provider: OidcProvider,
) -> Iterator[Rp]:
    yield from _serve(tmp_path, sessions, api_world, oidc_provider)


@pytest.fixture
def client(rp: Rp) -> Iterator[ApiClient]:
    api = ApiClient(f"{rp.api}/api/v1")
    yield api
    api.close()


@pytest.fixture
def dashboard(rp: Rp, monkeypatch: pytest.MonkeyPatch) -> Iterator[list[AppTest]]:
    """The dashboard's settings pointed at this API; the AppTests made are closed after."""
    monkeypatch.setenv("DHO_DASHBOARD_API_URL", rp.api)
    monkeypatch.setenv("DHO_DASHBOARD_LANGUAGE", "nb")
    monkeypatch.delenv("DHO_DASHBOARD_FIXED_NOW", raising=False)
    made: list[AppTest] = []
    yield made
    for at in made:
        if CLIENT_KEY in at.session_state:
            at.session_state[CLIENT_KEY].close()


def _app(made: list[AppTest]) -> AppTest:
    at = AppTest.from_file(str(APP), default_timeout=RUN_TIMEOUT)
    made.append(at)
    return at


def _handoff(rp: Rp, user: str, path: str | None = None) -> str:
    query = rp.sign_in(user) if path is None else rp.sign_in(user, path)
    assert "dho_handoff" in query, query
    return query["dho_handoff"]


def test_the_client_lists_helseid_with_an_absolute_start_url(rp: Rp, client: ApiClient) -> None:
    options = client.sign_in_options()
    assert [(p.id, p.label) for p in options.providers] == [(PROVIDER, "HelseID")]
    assert options.providers[0].start_url == f"{rp.api}/api/v1/auth/oidc/{PROVIDER}/start"
    assert options.password_login  # the API does not say otherwise: the form stays


def test_the_client_swaps_a_handoff_for_the_gp_once(rp: Rp, client: ApiClient) -> None:
    code = _handoff(rp, "gp")
    me, next_value = client.exchange_handoff(code)
    assert (me.username, me.role, me.display_name) == ("gp-1", "gp", "Fastlege En")
    assert next_value is None
    assert client.is_logged_in
    assert client.patients()  # the tokens work
    again = ApiClient(f"{rp.api}/api/v1")
    with pytest.raises(ApiError) as used:
        again.exchange_handoff(code)
    again.close()
    assert used.value.status == 401
    assert not again.is_logged_in


def test_the_dashboard_logs_the_gp_in_from_the_handoff_and_clears_the_address(
    rp: Rp, dashboard: list[AppTest]
) -> None:
    at = _app(dashboard)
    at.query_params["dho_handoff"] = _handoff(rp, "gp")
    at.run()
    assert not at.exception, at.exception
    assert "dho_handoff" not in at.query_params
    assert at.session_state["dho_me"].username == "gp-1"
    assert any("Mine pasienter" in t.value for t in at.title)  # the GP's overview
    assert "Fastlege En" in "\n".join(c.value for c in at.caption)


def test_a_launch_for_the_gps_own_patient_opens_that_patients_page(
    rp: Rp, dashboard: list[AppTest]
) -> None:
    own = rp.world.patients["a-hf"]  # gp-1's
    launch = f"/api/v1/launch?patient={FNR}|{_national_id(rp, 'a-hf')}"
    at = _app(dashboard)
    at.query_params["dho_handoff"] = _handoff(rp, "gp", launch)
    at.run()
    assert not at.exception, at.exception
    assert at.session_state["dho_patient_id"] == own.id
    assert [t.value for t in at.title] == ["Testpasient a-hf"]


def test_a_due_re_authentication_sends_the_gp_to_the_login_page_with_a_message(
    rp: Rp, dashboard: list[AppTest]
) -> None:
    """After the provider's maximum session length (8 h here) the API ends the session: the
    next click lands on the login page, which says why, with the HelseID button."""
    at = _app(dashboard)
    at.query_params["dho_handoff"] = _handoff(rp, "gp")
    at.run()
    assert at.session_state["dho_me"].username == "gp-1"
    rp.offset[0] = timedelta(hours=9)
    at.run()
    assert not at.exception, at.exception
    assert "dho_me" not in at.session_state
    assert any("Innloggingen din er avsluttet" in w.value for w in at.warning), [
        w.value for w in at.warning
    ]
    assert at.text_input(key="login_username")


def _sign_in_link(at: AppTest) -> str:
    """The href of the login page's "Logg inn med HelseID"."""
    [html] = [h.proto.body for h in at.get("html") if "dho-sign-in" in h.proto.body]
    found = re.search(r'href="([^"]+)"[^>]*>Logg inn med HelseID<', html)
    assert found is not None, html
    return unescape(found.group(1))


def test_an_alert_link_survives_the_sign_in_with_helseid(
    rp: Rp, dashboard: list[AppTest], ward: Ward, sessions: sessionmaker[Session]
) -> None:
    """An escalation message's link (``/?alert=<id>``) opened before signing in: the HelseID
    button carries ``next=alert:<id>`` through the provider, and the nurse lands on the red
    patient."""
    with sessions.begin() as session:
        nurse = session.get(UserRow, ward.world.users["nurse-a"])
        assert nurse is not None
        nurse.hpr_number = NURSE_HPR
        alert_id = session.scalars(
            select(AlertRow.id).where(AlertRow.patient_id == ward.red)
        ).first()
    assert alert_id is not None
    at = _app(dashboard)
    at.query_params["alert"] = alert_id
    at.run()
    link = urlsplit(_sign_in_link(at))
    assert parse_qs(link.query) == {"next": [f"alert:{alert_id}"]}
    assert f"{link.scheme}://{link.netloc}" == rp.api
    code = _handoff(rp, "nurse", f"{link.path}?{link.query}")
    back = _app(dashboard)  # the browser comes back: a new dashboard session
    back.query_params["dho_handoff"] = code
    back.run()
    assert not back.exception, back.exception
    assert back.session_state["dho_me"].username == "nurse-a"
    assert back.session_state["dho_patient_id"] == ward.red
    assert [t.value for t in back.title] == ["Testpasient a-copd"]
