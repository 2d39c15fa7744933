"""The fastlege's overview, plans and enrolment pages (AppTest against the real API, SQLite and
PostgreSQL)."""

from __future__ import annotations

from datetime import date, timedelta

import httpx
from sqlalchemy import select
from sqlalchemy.orm import Session, sessionmaker
from streamlit.testing.v1 import AppTest

from tests.integration.api.conftest import NOW, Login, ingest
from tests.integration.api.test_admin import post_reading
from tests.integration.dashboard.conftest import AppFactory, Ward, logged_in
from triage.storage.models import AuditRow
from triage.storage.seed import synthetic_national_id

#: the red SpO2 reading's reason as the API writes it in bokmål
RED_REASON = (
    "Oksygenmetning 86\u00a0% – rød: 87\u00a0% eller lavere (egenbehandlingsplan versjon 1)"
)


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
    assert f"🔴 Rød **{RED_REASON}**" in text
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


def test_the_gp_sees_the_newest_red_first_and_the_patients_without_deviations_folded(
    app: AppFactory, ward: Ward, sessions: sessionmaker[Session]
) -> None:
    """a-hf turns red ten minutes ago (a-copd was red forty minutes ago): a-hf comes first
    though alphabetically after a-copd; b-covid, without deviations, is one folded line."""
    ingest(
        sessions,
        "gw-a-hf",
        [("hf-2", "spo2", {"spo2": 88, "pulse": 95}, NOW - timedelta(minutes=10))],
    )
    at = logged_in(app, "gp-1")
    assert not at.exception
    names = [str(m.value) for m in at.markdown if "Testpasient" in str(m.value)]
    first_hf = next(i for i, n in enumerate(names) if "a-hf" in n)
    first_copd = next(i for i, n in enumerate(names) if "a-copd" in n)
    assert first_hf < first_copd
    assert names[0].startswith(":red-badge[🔴 Rød]")
    [folded] = at.expander
    assert folded.label == "1 pasient uten avvik"
    assert any("Testpasient b-covid" in str(m.value) for m in folded.markdown)
    assert "Verst først" in "\n".join(str(c.value) for c in at.caption)


def test_the_gp_is_offered_only_the_newest_draft_with_its_changes(
    app: AppFactory, ward: Ward, http: httpx.Client, login: Login
) -> None:
    """Drafts v2, v3 and v4 of a-copd's plan wait: only v4 has a "Godkjenn", shown with what
    it changes against v1 in use; approving it makes it the plan in use."""
    nurse = login(http, "nurse-a")
    [v1] = http.get(f"/api/v1/patients/{ward.red}/plans", headers=nurse).json()["items"]
    plan_id = v1["plan_id"]
    for value, note in ((92, "Utkast to"), (93, "Utkast tre"), (94, "Utkast fire")):
        made = http.post(
            f"/api/v1/plans/{plan_id}/versions",
            headers=nurse,
            json={"changes": {"zones": {"spo2": {"yellow_low": value}}}, "note": note},
        )
        assert made.status_code == 201, made.text
    at = logged_in(app, "gp-1")
    assert not at.exception
    approve = [str(b.key) for b in at.button if str(b.key).startswith("approve-")]
    assert approve == [f"approve-{plan_id}-4"]
    text = _text(at)
    assert "Utkast fire" in text
    assert "Utkast to" not in text
    assert "Utkast tre" not in text
    assert "Endringer mot versjonen i bruk (v1):" in text
    assert "Oksygenmetning, gul under: ≤ 91\u00a0% → ≤ 94\u00a0%" in text
    assert "2 eldre utkast av planen vises ikke: dette er det nyeste." in text
    at.button(key=f"approve-{plan_id}-4").click().run()
    assert not at.exception
    stored = http.get(f"/api/v1/plans/{plan_id}/versions/4", headers=nurse).json()
    assert stored["status"] == "approved"


def test_the_gp_prints_a_one_page_summary(app: AppFactory, ward: Ward) -> None:
    """The summary names the patient, the plan's bounds and the deviations."""
    at = logged_in(app, "gp-1")
    at.button(key=f"summary-{ward.red}").click().run()
    assert not at.exception
    assert at.title[0].value == "Sammendrag: Testpasient a-copd"
    text = _text(at)
    assert "🔴 Rød: 1 · 🟡 Gul: 0 · 🟢 Grønn: 0" in text
    assert RED_REASON in text
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
    at.number_input(key="bound-v1-spo2-yellow_low").set_value(92.0)
    at.text_input(key="edit_note").input("Pasienten ligger stabilt rundt 93")
    at.button(key="FormSubmitter:plan_edit-Lagre utkast").click().run()
    assert not at.exception
    assert "Utkast lagret: v2" in _text(at)
    diff = _text(at)
    assert "92" in diff
    at.button(key="approve_draft").click().run()
    assert at.error, "a nurse approving is refused by the API (DHO_PLAN_APPROVERS=gp)"


def _plans_of(app: AppFactory, patient_id: str) -> AppTest:
    at = logged_in(app, "nurse-a")
    at.switch_page("app_pages/plans.py").run()
    at.selectbox(key="plans_patient").set_value(patient_id).run()
    assert not at.exception
    return at


def test_changing_only_a_bound_s_number_keeps_its_comparison(
    app: AppFactory, ward: Ward, http: httpx.Client, login: Login
) -> None:
    """a-diabetes: glucose red "< 3,0 mmol/L" (not inclusive). The fields are labelled in
    bokmål, each bound reads as the patient's text does with a decimal comma, and changing
    only the number to 3.5 saves "< 3,5", not "≤ 3,5" (the reported bug)."""
    at = _plans_of(app, ward.green)
    labels = [n.label for n in at.number_input if str(n.key).startswith("bound-v1-glucose")]
    assert labels == ["Rød under", "Gul under", "Gul over", "Rød over"]
    captions = "\n".join(str(c.value) for c in at.caption)
    assert "Rød når under 3,0\u00a0mmol/L" in captions
    assert "Rød når 20,0\u00a0mmol/L eller høyere" in captions
    assert "red_low" not in _text(at)
    assert at.multiselect(key="sched-new-kinds").placeholder == "Velg …"
    at.number_input(key="bound-v1-glucose-red_low").set_value(3.5)
    at.text_input(key="edit_note").input("Hypoglykemi-grensen litt opp")
    at.button(key="FormSubmitter:plan_edit-Lagre utkast").click().run()
    assert not at.exception
    assert "Utkast lagret: v2" in _text(at)
    nurse = login(http, "nurse-a")
    [v2] = [
        v
        for v in http.get(f"/api/v1/patients/{ward.green}/plans", headers=nurse).json()["items"]
        if v["version"] == 2
    ]
    stored = http.get(f"/api/v1/plans/{v2['plan_id']}/versions/2", headers=nurse).json()
    glucose = stored["document"]["zones"]["glucose"]
    assert glucose["red_low"] == {"value": 3.5, "inclusive": False}
    assert glucose["yellow_high"] == {"value": 13.9, "inclusive": False}, "untouched"
    # the new draft's form starts from its own bounds, and the diff says it in bokmål
    assert at.number_input(key="bound-v2-glucose-red_low").value == 3.5
    assert "Blodsukker, rød under: < 3,0\u00a0mmol/L → < 3,5\u00a0mmol/L" in _text(at)


def test_the_differences_follow_each_saved_draft(app: AppFactory, ward: Ward) -> None:
    """The differences showed v1 → v2 even after v3 was saved; now each save shows the
    version in use (v1) against the newest draft."""
    at = _plans_of(app, ward.red)
    for version, value in ((1, 92.0), (2, 93.0)):
        at.number_input(key=f"bound-v{version}-spo2-yellow_low").set_value(value)
        at.text_input(key="edit_note").input(f"Gul grense {value:g}")
        at.button(key="FormSubmitter:plan_edit-Lagre utkast").click().run()
        assert not at.exception
        assert f"Utkast lagret: v{version + 1}" in _text(at)
        shown = "\n".join(str(c.value) for c in at.caption)
        assert f"v1 → v{version + 1}" in shown
    assert at.selectbox(key="diff_from-3").value == 1
    assert at.selectbox(key="diff_to-3").value == 3
    assert "≤ 91\u00a0% → ≤ 93\u00a0%" in _text(at)


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
    assert "Oksygenmetning 86\u00a0% – rød" in text
    at.button(key="mark_seen").click().run()
    assert not at.exception
    assert "Merket som sett." in at.success[0].value

    elsewhere = logged_in(app, "gp-1")
    text = _text(elsewhere)
    assert "**Siden du sist så:** 23.11.2026 09:30" in text
    assert "siste 7 dager" not in text
    assert "Oksygenmetning 86\u00a0% – rød" not in text
    assert "Ingen avvik hos pasientene dine siden du sist så." in elsewhere.info[0].value


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
