"""Sign-in with HelseID in a real browser (issue 20): the real dashboard (Streamlit) and the real
API (uvicorn, on the wall clock: see ``_wall_clock``) with the test OpenID Connect provider
(node, npm's ``oidc-provider``: tests/oidc_provider.py) as HelseID, driven by Playwright on
Debian's Chromium.

Nothing is faked: the API validates every ID token against the provider's JWKS. The GP
``gp-1`` (Fastlege En) has the test GP's HPR number 9144889; her own patients are a-copd, a-hf
and b-covid, a-diabetes is gp-2's. Screenshots in tests/browser/artifacts/ (look at them).
"""

from __future__ import annotations

import json
from collections.abc import Iterator
from datetime import UTC, datetime
from pathlib import Path
from urllib.parse import quote

import pytest
from playwright.sync_api import Page, expect
from sqlalchemy import update
from sqlalchemy.orm import Session, sessionmaker

from tests.browser.conftest import running_dashboard
from tests.integration.api.conftest import ApiWorld
from tests.oidc_provider import ACR_LEVEL3, ACR_LEVEL4, CLAIM_HPR, SCOPES, OidcProvider
from triage.api.app import create_app
from triage.broker.embedded import free_port
from triage.config import Settings
from triage.service import ApiServer
from triage.storage.models import PatientRow, UserRow

PROVIDER = "helseid"
GP_HPR = "9144889"
#: the Norwegian national identity number's OID (the simple EPJ launch's patient identifier)
FNR_SYSTEM = "urn:oid:2.16.578.1.12.4.1.4.1"


def _wall_clock() -> datetime:
    """The API's clock here is the wall clock, not NOW: the provider signs its tokens at the
    real time, and the API checks their iat and exp against its clock (the world's data stays
    at NOW; nothing these tests look at depends on the two agreeing)."""
    return datetime.now(UTC)


@pytest.fixture
def gp_with_hpr(sessions: sessionmaker[Session], api_world: ApiWorld) -> ApiWorld:
    """gp-1 is the provider's test GP (HPR 9144889); nobody has the unknown person's HPR."""
    with sessions.begin() as session:
        session.execute(
            update(UserRow).where(UserRow.id == api_world.users["gp-1"]).values(hpr_number=GP_HPR)
        )
    return api_world


@pytest.fixture
def dashboard_port() -> int:
    """Chosen first: the API sends the browser back to the dashboard's address."""
    return free_port()


@pytest.fixture
def oidc_api(
    sessions: sessionmaker[Session],
    gp_with_hpr: ApiWorld,
    oidc_provider: OidcProvider,
    dashboard_port: int,
    tmp_path: Path,
) -> Iterator[str]:
    """The API with the test provider as HelseID; the provider knows the API's callback and
    back-channel logout addresses. Yields the API's base URL."""
    providers = tmp_path / "oidc-providers.json"
    providers.write_text(
        json.dumps(
            [
                {
                    "id": PROVIDER,
                    "label": "HelseID",
                    "issuer": oidc_provider.issuer,
                    "client_id": oidc_provider.client_id,
                    "private_key_file": str(oidc_provider.client_key_file),
                    "scopes": list(SCOPES),
                    "acr_values": [ACR_LEVEL4, ACR_LEVEL3],
                    "min_security_level": 4,
                }
            ]
        )
    )
    port = free_port()
    api = f"http://127.0.0.1:{port}"
    settings = Settings(
        demo=True,
        oidc_providers_file=providers,
        api_public_url=api,
        dashboard_public_url=f"http://127.0.0.1:{dashboard_port}",
    )
    oidc_provider.set_client(
        redirect_uris=[f"{api}/api/v1/auth/oidc/{PROVIDER}/callback"],
        backchannel_logout_uri=f"{api}/api/v1/auth/oidc/{PROVIDER}/backchannel-logout",
    )
    server = ApiServer(create_app(settings, sessions, clock=_wall_clock), "127.0.0.1", port)
    server.start()
    try:
        yield api
    finally:
        server.stop()


@pytest.fixture
def dashboard(oidc_api: str, dashboard_port: int, tmp_path: Path) -> Iterator[str]:
    with running_dashboard(oidc_api, tmp_path, dashboard_port) as url:
        yield url


def _settled(page: Page) -> None:
    """Streamlit has finished the script run (and nothing on the page is from the run before)."""
    app = page.locator("[data-testid='stApp']")
    expect(app).to_have_attribute("data-test-script-state", "notRunning", timeout=30_000)
    expect(page.locator("[data-stale='true']")).to_have_count(0, timeout=30_000)


def _provider_login(page: Page, user: str, shots: Path | None = None) -> None:
    """The provider's login form (HelseID's stand-in): the test user's id, then "Logg inn"."""
    expect(page.get_by_role("heading", name="Testpålogging")).to_be_visible()
    page.get_by_label("Bruker").fill(user)
    if shots is not None:
        page.screenshot(path=shots / "oidc-02-provider-form.png", full_page=True)
    page.get_by_role("button", name="Logg inn").click()


def _sign_in(page: Page, dashboard: str, user: str, shots: Path | None = None) -> None:
    """From the dashboard's login page through the provider and back."""
    page.goto(dashboard)
    button = page.get_by_role("link", name="Logg inn med HelseID")
    expect(button).to_be_visible()
    if shots is not None:
        _settled(page)
        page.screenshot(path=shots / "oidc-01-login-page.png", full_page=True)
    button.click()
    _provider_login(page, user, shots)
    page.wait_for_url(f"{dashboard}/**")


def _refusal(page: Page, text: str) -> None:
    """The login page with the refusal's words, the address without the code."""
    alert = page.locator("[data-testid='stAlertContentError']").filter(has_text=text)
    expect(alert).to_be_visible()
    assert "dho_login_error" not in page.url
    expect(page.get_by_role("link", name="Logg inn med HelseID")).to_be_visible()


def _launch_url(api: str, fnr: str) -> str:
    return f"{api}/api/v1/launch?patient={quote(f'{FNR_SYSTEM}|{fnr}', safe='')}"


def _national_id(sessions: sessionmaker[Session], patient_id: str) -> str:
    with sessions() as session:
        row = session.get(PatientRow, patient_id)
        assert row is not None
        assert row.national_id
        return str(row.national_id)


def test_a_gp_signs_in_with_helseid_and_lands_on_her_overview(
    page: Page, dashboard: str, oidc_provider: OidcProvider, shots: Path
) -> None:
    assert oidc_provider.users["gp"][CLAIM_HPR] == GP_HPR
    _sign_in(page, dashboard, "gp", shots)
    expect(page.get_by_text("Fastlege En").first).to_be_visible()
    expect(page.get_by_role("heading", name="Mine pasienter")).to_be_visible()
    expect(page.get_by_text("3 pasienter uten avvik")).to_be_visible()  # her own three
    assert "dho_handoff" not in page.url  # the one-time code left the address
    _settled(page)
    page.screenshot(path=shots / "oidc-03-gp-overview.png", full_page=True)
    sent = [e for e in oidc_provider.sent() if e["kind"] == "token_response"]
    assert sent, "the API fetched the tokens from the provider"


def test_a_sign_in_at_level_3_is_refused_with_the_bokmal_reason(
    page: Page, dashboard: str, shots: Path
) -> None:
    _sign_in(page, dashboard, "gp-level3")
    _refusal(page, "Innloggingen hadde for lavt sikkerhetsnivå for DHO")
    expect(page.get_by_text("Fastlege En")).to_have_count(0)
    _settled(page)
    page.screenshot(path=shots / "oidc-04-level-too-low.png", full_page=True)


def test_a_person_dho_does_not_know_is_refused_and_told_whom_to_ask(
    page: Page, dashboard: str, shots: Path
) -> None:
    _sign_in(page, dashboard, "unknown")
    _refusal(
        page,
        "Du er ikke registrert i DHO. Be administrator legge deg til med HPR-nummeret ditt.",
    )
    _settled(page)
    page.screenshot(path=shots / "oidc-05-unknown-person.png", full_page=True)


def test_an_id_token_signed_by_a_key_outside_the_providers_jwks_is_refused(
    page: Page, dashboard: str, oidc_provider: OidcProvider, shots: Path
) -> None:
    oidc_provider.misbehave("rogue_key")
    _sign_in(page, dashboard, "gp")
    _refusal(page, "DHO kunne ikke bekrefte svaret fra innloggingstjenesten")
    expect(page.get_by_text("Fastlege En")).to_have_count(0)
    _settled(page)
    page.screenshot(path=shots / "oidc-06-forged-token.png", full_page=True)


def test_a_logout_at_the_provider_ends_the_dashboard_login_at_the_next_click(
    page: Page, dashboard: str, oidc_provider: OidcProvider, shots: Path
) -> None:
    _sign_in(page, dashboard, "gp")
    expect(page.get_by_role("heading", name="Mine pasienter")).to_be_visible()
    ended = oidc_provider.logout("gp")
    assert ended, "the provider had a session of the GP to end"
    sent = [e for e in oidc_provider.sent() if e["kind"] == "logout_token"]
    assert sent, "the provider posted a logout token to the API"
    page.get_by_role("link", name="Pasient", exact=True).click()  # the next click
    expect(page.get_by_text("Innloggingen din er avsluttet")).to_be_visible()
    expect(page.get_by_role("link", name="Logg inn med HelseID")).to_be_visible()
    expect(page.get_by_text("Fastlege En")).to_have_count(0)
    _settled(page)
    page.screenshot(path=shots / "oidc-07-provider-logout.png", full_page=True)


def test_the_epj_launch_for_her_own_patient_lands_on_that_patients_page(
    page: Page,
    oidc_api: str,
    dashboard: str,
    sessions: sessionmaker[Session],
    gp_with_hpr: ApiWorld,
    shots: Path,
) -> None:
    own = gp_with_hpr.patients["a-hf"]
    page.goto(_launch_url(oidc_api, _national_id(sessions, own.id)))
    _provider_login(page, "gp")
    page.wait_for_url(f"{dashboard}/**")
    expect(page.get_by_role("heading", name="Testpasient a-hf")).to_be_visible()
    expect(page.get_by_text("Fastlege En").first).to_be_visible()
    _settled(page)
    page.screenshot(path=shots / "oidc-08-launch-own-patient.png", full_page=True)
    page.get_by_role("button", name="← Mine pasienter").click()  # back to her overview
    expect(page.get_by_text("3 pasienter uten avvik")).to_be_visible()


def test_the_epj_launch_for_another_gps_patient_is_refused(
    page: Page,
    oidc_api: str,
    dashboard: str,
    sessions: sessionmaker[Session],
    gp_with_hpr: ApiWorld,
    shots: Path,
) -> None:
    other = gp_with_hpr.patients["a-diabetes"]  # gp-2's patient
    page.goto(_launch_url(oidc_api, _national_id(sessions, other.id)))
    _provider_login(page, "gp")
    page.wait_for_url(f"{dashboard}/**")
    _refusal(page, "Pasienten du åpnet fra journalen er ikke din pasient i DHO")
    expect(page.get_by_text("Testpasient a-diabetes")).to_have_count(0)
    _settled(page)
    page.screenshot(path=shots / "oidc-09-launch-not-own.png", full_page=True)
