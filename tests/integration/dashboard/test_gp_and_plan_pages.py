"""The fastlege's overview, plans and enrolment pages (AppTest against the real API, SQLite and
PostgreSQL)."""

from __future__ import annotations

from datetime import date

import httpx
from streamlit.testing.v1 import AppTest

from tests.integration.api.conftest import Login
from tests.integration.dashboard.conftest import AppFactory, Ward, logged_in
from triage.storage.seed import synthetic_national_id


def _text(at: AppTest) -> str:
    parts = [str(m.value) for m in at.markdown] + [str(c.value) for c in at.caption]
    parts += [str(w.value) for w in at.warning] + [str(s.value) for s in at.success]
    return "\n".join(parts)


def _handle_red(http: httpx.Client, login: Login, ward: Ward) -> None:
    nurse = login(http, "nurse-a")
    [alert] = http.get(f"/api/v1/patients/{ward.red}/alerts", headers=nurse).json()["items"]
    http.post(f"/api/v1/alerts/{alert['id']}/acknowledge", headers=nurse, json={})
    body = {"outcome": "contacted_gp", "note": "Fastlegen ringt pasienten"}
    assert http.post(f"/api/v1/alerts/{alert['id']}/resolve", headers=nurse, json=body).is_success


def test_the_gp_sees_only_own_patients_with_each_deviation_and_what_the_centre_did(
    app: AppFactory, ward: Ward, http: httpx.Client, login: Login
) -> None:
    """gp-1 sees a-copd, a-hf and b-covid (not gp-2's a-diabetes); the red SpO2 deviation
    says the centre contacted the GP and resolved it."""
    _handle_red(http, login, ward)
    at = logged_in(app, "gp-1")
    assert not at.exception
    text = _text(at)
    assert "Testpasient a-copd" in text
    assert "Testpasient a-hf" in text
    assert "Testpasient b-covid" in text
    assert "a-diabetes" not in text
    assert "🔴 Rød **SpO2 86 % — rød: ≤ 87 % (plan v1)**" in text
    assert "Oppfølgingstjenesten: 09:30 Kontaktet fastlegen: Fastlegen ringt pasienten" in text
    assert "avsluttet (nurse-a)" in text
    # the yellow one nobody has handled yet says so
    assert "Oppfølgingstjenesten: Ikke håndtert ennå" in text


def test_the_gp_approves_a_plan_draft_the_nurse_made(
    app: AppFactory, ward: Ward, http: httpx.Client, login: Login
) -> None:
    """A draft from the COPD template waits on the GP's page; one click approves it."""
    nurse = login(http, "nurse-a")
    created = http.post(
        f"/api/v1/patients/{ward.red}/plans",
        headers=nurse,
        json={"condition": "copd", "note": "Ny mal etter innleggelse"},
    )
    assert created.status_code == 201, created.text
    draft = created.json()
    at = logged_in(app, "gp-1")
    assert "Ny mal etter innleggelse" in _text(at)
    at.button(key=f"approve-{draft['plan_id']}-{draft['version']}").click().run()
    assert not at.exception
    assert f"Godkjent: Egenbehandlingsplan v{draft['version']}" in _text(at)
    stored = http.get(
        f"/api/v1/plans/{draft['plan_id']}/versions/{draft['version']}", headers=nurse
    ).json()
    assert (stored["status"], stored["approved_by"]) == ("approved", "gp-1")


def test_the_gp_prints_a_one_page_summary(app: AppFactory, ward: Ward) -> None:
    """The summary names the patient, the plan's bounds and the deviations."""
    at = logged_in(app, "gp-1")
    at.button(key=f"summary-{ward.red}").click().run()
    assert not at.exception
    assert at.title[0].value == "Sammendrag: Testpasient a-copd"
    text = _text(at)
    assert "🔴 Rød: 1 · 🟡 Gul: 0 · 🟢 Grønn: 0" in text
    assert "SpO2 86 % — rød: ≤ 87 % (plan v1)" in text
    table = at.table[0].value
    assert "≤ 87" in table.to_string()


def test_a_nurse_edits_a_bound_into_a_draft_and_sees_the_difference(
    app: AppFactory, ward: Ward
) -> None:
    """SpO2 yellow from ≤ 91 to ≤ 92 becomes draft v2, and the diff says so in words; the
    nurse may not approve it herself (the API's reason is shown)."""
    at = logged_in(app, "nurse-a")
    at.switch_page("app_pages/plans.py").run()
    at.selectbox(key="plans_patient").set_value(ward.red).run()
    assert not at.exception
    at.number_input(key="bound-spo2-yellow_low").set_value(92.0)
    at.text_input(key="edit_note").input("Pasienten ligger stabilt rundt 93")
    at.button(key="FormSubmitter:plan_edit-Lagre utkast").click().run()
    assert not at.exception
    assert "Utkast lagret: v2" in _text(at)
    diff = _text(at)
    assert "92" in diff
    at.button(key="approve_draft").click().run()
    assert at.error, "a nurse approving is refused by the API (DHO_PLAN_APPROVERS=gp)"


def test_a_nurse_enrols_a_patient_and_sees_the_gateway_credentials_once(
    app: AppFactory, ward: Ward
) -> None:
    """Enrolment puts the patient in the trial period; registering a gateway shows the secret
    once and keeps it nowhere in the session."""
    at = logged_in(app, "nurse-a")
    at.switch_page("app_pages/enrolment.py").run()
    assert not at.exception
    at.text_input(key="enrol_name").input("Testpasient ny")
    at.text_input(key="enrol_national_id").input(synthetic_national_id(date(1950, 1, 1), 7))
    at.selectbox(key="enrol_condition").set_value("heart_failure")
    at.button(key="FormSubmitter:enrol-Skriv inn").click().run()
    assert not at.exception
    assert "Testpasient ny er skrevet inn (prøveperiode)." in _text(at)
    assert "**Status:** trial" in _text(at)
    at.button(key="register_gateway").click().run()
    assert not at.exception
    [code] = at.code
    secret = next(
        line.split(": ", 1)[1] for line in str(code.value).splitlines() if line.startswith("secret")
    )
    assert len(secret) >= 16
    assert secret not in repr(at.session_state.to_dict())
    at.run()
    assert not at.code, "the credentials are shown once"
