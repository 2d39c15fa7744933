"""The fastlege's overview, plans and enrolment pages (AppTest against the real API, SQLite and
PostgreSQL)."""

from __future__ import annotations

from datetime import date

import httpx
from sqlalchemy import select
from sqlalchemy.orm import Session, sessionmaker
from streamlit.testing.v1 import AppTest

from tests.integration.api.conftest import Login
from tests.integration.api.test_admin import post_reading
from tests.integration.dashboard.conftest import AppFactory, Ward, logged_in
from triage.storage.models import AuditRow
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
    assert "avsluttet – Sykepleier A (sykepleier)" in text
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
    assert "**Status:** prøveperiode" in _text(at)
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


# ----------------------------------------------------------------------------- the GP's last look


def test_the_gp_overview_reads_every_deviation_in_one_request_and_one_audit_row(
    app: AppFactory, ward: Ward, http: httpx.Client, login: Login, sessions: sessionmaker[Session]
) -> None:
    """The deviations with what the centre did come from one alert list: the audit log has
    one 'list alerts' row for gp-1 naming the patients, and no read of single alerts."""
    _handle_red(http, login, ward)
    at = logged_in(app, "gp-1")
    assert not at.exception
    with sessions() as session:
        rows = session.execute(
            select(AuditRow.action, AuditRow.object_type, AuditRow.details).where(
                AuditRow.actor == "gp-1", AuditRow.object_type.in_(["alert", "alerts"])
            )
        ).all()
    assert [(action, kind) for action, kind, _ in rows] == [("list", "alerts")]
    assert sorted(rows[0][2]["patients"]) == sorted([ward.red, ward.yellow])


def test_the_gp_overview_finds_every_plan_draft_in_one_request(
    app: AppFactory, ward: Ward, http: httpx.Client, login: Login, sessions: sessionmaker[Session]
) -> None:
    """Drafts for two of gp-1's patients: the overview asks for the drafts once (one 'list
    plan_drafts' row naming both, no per-patient read of plans) and shows each draft with its
    approve button; gp-2's patient's draft is not shown."""
    nurse = login(http, "nurse-a")
    made = {}
    for patient_id, note in [
        (ward.red, "Ny mal etter innleggelse"),
        (ward.yellow, "Strammere vektgrense"),
        (ward.green, "Utkast for fastlege to"),  # a-diabetes is gp-2's
    ]:
        condition = http.get(f"/api/v1/patients/{patient_id}", headers=nurse).json()["condition"]
        created = http.post(
            f"/api/v1/patients/{patient_id}/plans",
            headers=nurse,
            json={"condition": condition, "note": note},
        )
        assert created.status_code == 201, created.text
        made[patient_id] = created.json()
    at = logged_in(app, "gp-1")
    assert not at.exception
    text = _text(at)
    assert "Ny mal etter innleggelse" in text
    assert "Strammere vektgrense" in text
    assert "Utkast for fastlege to" not in text
    for patient_id in (ward.red, ward.yellow):
        key = f"approve-{made[patient_id]['plan_id']}-{made[patient_id]['version']}"
        assert at.button(key=key).label == "Godkjenn"
    with sessions() as session:
        rows = session.execute(
            select(AuditRow.action, AuditRow.object_type, AuditRow.details).where(
                AuditRow.actor == "gp-1",
                AuditRow.object_type.in_(["plan", "plan_version", "plan_drafts"]),
            )
        ).all()
    assert [(action, kind) for action, kind, _ in rows] == [("list", "plan_drafts")]
    assert rows[0][2]["patients"] == sorted([ward.red, ward.yellow])


def test_marking_the_overview_seen_follows_the_gp_to_another_browser(
    app: AppFactory, ward: Ward
) -> None:
    """Never marked: the last 7 days, with both deviations. Marked as seen: a fresh session
    (another browser) starts from that moment and shows no deviations from before it."""
    at = logged_in(app, "gp-1")
    text = _text(at)
    assert "**Siden du sist så:** 16.11.2026 09:30 — siste 7 dager" in text
    assert "SpO2 86 % — rød" in text
    at.button(key="mark_seen").click().run()
    assert not at.exception
    assert "Merket som sett." in at.success[0].value

    elsewhere = logged_in(app, "gp-1")
    text = _text(elsewhere)
    assert "**Siden du sist så:** 23.11.2026 09:30" in text
    assert "siste 7 dager" not in text
    assert "SpO2 86 % — rød" not in text
    assert "Ingen avvik." in text


# ----------------------------------------------------------------------------- gateways


def _gateways_of_red(app: AppFactory, ward: Ward) -> AppTest:
    at = logged_in(app, "nurse-a")
    at.switch_page("app_pages/enrolment.py").run()
    at.selectbox(key="enrolment_patient").set_value(ward.red).run()
    assert not at.exception
    return at


def test_the_patients_gateways_are_listed_with_their_last_contact(
    app: AppFactory, ward: Ward
) -> None:
    """gw-a-copd is listed with its state and when it was last seen, with its buttons."""
    at = _gateways_of_red(app, ward)
    [row] = [m.value for m in at.markdown if "`gw-a-copd`" in str(m.value)]
    assert "Sist sett:" in row
    assert at.button(key="rotate-gw-a-copd") is not None
    assert at.button(key="revoke-gw-a-copd") is not None


def test_a_new_secret_is_shown_once_and_only_it_works_from_then_on(
    app: AppFactory, ward: Ward, http: httpx.Client
) -> None:
    """Rotating shows the new credentials once, saying so; the gateway's old secret is refused
    by HTTP ingest and the new one accepted; the secret is not kept in the session."""
    gateway = ward.world.patients["a-copd"]
    at = _gateways_of_red(app, ward)
    at.button(key="rotate-gw-a-copd").click().run()
    assert not at.exception
    assert any("Vises bare én gang" in str(w.value) for w in at.warning)
    [code] = at.code
    settings = dict(line.split(": ", 1) for line in str(code.value).splitlines())
    assert settings["gateway_id"] == "gw-a-copd"
    assert post_reading(http, f"gw-a-copd:{gateway.gateway_secret}").status_code == 401
    assert post_reading(http, settings["http_token"]).status_code == 200
    assert settings["secret"] not in repr(at.session_state.to_dict())
    at.run()
    assert not at.code, "the new secret is shown once"


def test_revoking_waits_for_a_confirmation_and_can_be_cancelled(
    app: AppFactory, ward: Ward, http: httpx.Client, login: Login
) -> None:
    """The first click only asks; 'Avbryt' leaves the gateway working; 'Ja, trekk tilbake'
    revokes it, after which it has no buttons and its data are refused."""
    gateway = ward.world.patients["a-copd"]
    token = f"gw-a-copd:{gateway.gateway_secret}"
    at = _gateways_of_red(app, ward)
    at.button(key="revoke-gw-a-copd").click().run()
    assert any(str(w.value).startswith("Trekke tilbake gw-a-copd?") for w in at.warning)
    at.button(key="revoke-no-gw-a-copd").click().run()
    assert not [w for w in at.warning if "Trekke tilbake" in str(w.value)]
    assert post_reading(http, token).status_code == 200

    at.button(key="revoke-gw-a-copd").click().run()
    at.button(key="revoke-yes-gw-a-copd").click().run()
    assert not at.exception
    assert "gw-a-copd er trukket tilbake." in at.success[0].value
    assert post_reading(http, token).status_code == 401
    assert not [b for b in at.button if b.key in {"rotate-gw-a-copd", "revoke-gw-a-copd"}]
    [row] = [m.value for m in at.markdown if "`gw-a-copd`" in str(m.value)]
    assert "⛔ trukket tilbake 09:30" in row
    listed = http.get(
        f"/api/v1/patients/{ward.red}/gateways", headers=login(http, "nurse-a")
    ).json()
    assert [g["revoked_at"] is not None for g in listed["items"]] == [True]
