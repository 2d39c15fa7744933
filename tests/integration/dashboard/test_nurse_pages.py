"""What a nurse sees and does in the dashboard (AppTest running the real script against the real
API on SQLite and PostgreSQL): log in, the worklist in triage order, open the red patient,
acknowledge and resolve the alert in two clicks."""

from __future__ import annotations

from typing import Any

import httpx
from sqlalchemy.orm import Session, sessionmaker
from streamlit.testing.v1 import AppTest

from tests.integration.api.conftest import PASSWORD, Login
from tests.integration.dashboard.conftest import AppFactory, Ward, logged_in
from triage.storage.models import CentreRow, UserRow

#: the red SpO2 reading's reason as the API writes it in bokmål
RED_REASON = (
    "Oksygenmetning 86\u00a0% – rød: 87\u00a0% eller lavere (egenbehandlingsplan versjon 1)"
)


def _markdown(at: AppTest) -> str:
    return "\n".join(str(m.value) for m in at.markdown)


def _alert_ids(at: AppTest) -> list[str]:
    """The alerts on the patient page that can be acknowledged (their buttons' keys)."""
    keys = [b.key or "" for b in at.button]
    return [k.removeprefix("ack-") for k in keys if k.startswith("ack-")]


def _patient_names_in_order(at: AppTest) -> list[str]:
    return [
        line.strip("*")
        for m in at.markdown
        for line in str(m.value).split("\n")
        if line.startswith("**Testpasient")
    ]


def test_a_wrong_password_shows_the_apis_reason_and_no_worklist(
    app: AppFactory, ward: Ward
) -> None:
    """A refused login says why (the API's words) and shows no patient data."""
    at = app().run()
    at.text_input(key="login_username").input("nurse-a")
    at.text_input(key="login_password").input("feil-passord")
    at.button[0].click().run()
    assert not at.exception
    assert [e.value for e in at.error] != []
    assert "Innloggingen ble avvist" in at.error[0].value
    assert "Feil brukernavn eller passord." in at.error[0].value  # not the API's English
    assert "Testpasient" not in _markdown(at)


def test_the_worklist_puts_red_first_then_yellow_with_reasons_in_words(
    app: AppFactory, ward: Ward
) -> None:
    """Red COPD patient first, then the yellow heart-failure patient, then green; each with the
    colour as icon and word, the plan's reason, and how long it has waited."""
    at = logged_in(app, "nurse-a")
    assert _patient_names_in_order(at) == [
        "Testpasient a-copd",
        "Testpasient a-hf",
        "Testpasient a-diabetes",
    ]
    text = _markdown(at)
    assert ":red-badge[🔴 Rød]  \n**Testpasient a-copd**" in text
    assert f"- {RED_REASON}" in text
    assert "⏱ venter 40 min" in text
    assert ":yellow-badge[🟡 Gul]  \n**Testpasient a-hf**" in text
    assert "⏱ venter 3 t" in text
    # a red nobody has acknowledged is impossible to miss
    assert "NYTT RØDT VARSEL" in at.error[0].value
    assert "Testpasient a-copd" in at.error[0].value
    # Monday 09:30: what arrived since Friday's closing is listed
    overnight = [str(i.value) for i in at.info if "mens det var stengt" in str(i.value)]
    assert overnight == [
        "**Kommet inn mens det var stengt** (fredag 20.11 15:00): 🔴 Rød Testpasient a-copd, "
        "🟡 Gul Testpasient a-hf"
    ]
    # the green patient shows the latest readings instead of reasons
    assert "🟢 Grønn Blodsukker 6\u00a0mmol/L · 08:30" in text
    # the nurse at centre A never sees centre B's patients
    assert "b-hypertension" not in text


def test_greens_waiting_are_counted_and_acknowledged_in_one_click(
    app: AppFactory, ward: Ward
) -> None:
    """The two green glucose readings wait; one click acknowledges them and the count goes."""
    at = logged_in(app, "nurse-a")
    infos = [str(i.value) for i in at.info]
    assert "2 grønne målinger venter på kvittering hos 1 pasient" in infos
    at.button(key="ack_greens").click().run()
    assert not at.exception
    assert "2 grønne målinger kvittert ut." in at.success[0].value
    assert not [i for i in at.info if "venter på kvittering" in str(i.value)]


def test_open_acknowledge_and_resolve_the_red_alert_in_two_clicks(
    app: AppFactory, ward: Ward, http: httpx.Client, login: Login
) -> None:
    """From the worklist the nurse opens the red patient, sees the plan's nurse instruction next
    to the alert, acknowledges it and resolves it with an outcome and a note; the API has it."""
    at = logged_in(app, "nurse-a")
    at.button(key=f"open-{ward.red}").click().run()
    assert not at.exception
    assert at.title[0].value == "Testpasient a-copd"
    text = _markdown(at)
    assert "**Fastlege**  \nFastlege En" in text
    assert "**Egenbehandlingsplan**  \nversjon 1" in text
    assert f"**{RED_REASON}**" in text
    assert any("Sykepleierens oppgave" in str(i.value) for i in at.info)
    [alert_id] = _alert_ids(at)

    at.button(key=f"ack-{alert_id}").click().run()  # click 1
    assert not at.exception
    assert "Varselet er kvittert ut." in at.success[0].value
    assert "Kvittert av Sykepleier A (sykepleier)" in "\n".join(str(c.value) for c in at.caption)

    at.selectbox(key=f"outcome-{alert_id}").set_value("phoned_patient")
    at.text_input(key=f"note-{alert_id}").input("Ringte, fått hjelp på legevakt")
    at.button(key=f"resolve-{alert_id}").click().run()  # click 2
    assert not at.exception
    assert "Varselet er avsluttet." in at.success[0].value
    assert any("Ingen åpne varsler" in str(s.value) for s in at.success)

    stored = http.get(f"/api/v1/alerts/{alert_id}", headers=login(http, "nurse-a")).json()
    assert stored["state"] == "resolved"
    assert stored["resolved_by"] == "nurse-a"
    assert [(a["outcome"], a["note"]) for a in stored["actions"]] == [
        ("phoned_patient", "Ringte, fått hjelp på legevakt")
    ]


def test_a_refused_action_shows_the_apis_reason(app: AppFactory, ward: Ward) -> None:
    """When the API refuses (here: a note longer than it accepts) the nurse reads its reason,
    not a stack trace, and the alert stays open for her to try again."""
    at = logged_in(app, "nurse-a")
    at.button(key=f"open-{ward.red}").click().run()
    [alert_id] = _alert_ids(at)
    at.button(key=f"ack-{alert_id}").click().run()
    at.text_input(key=f"note-{alert_id}").input("x" * 4001)
    at.button(key=f"resolve-{alert_id}").click().run()
    assert not at.exception
    assert at.error, "the refusal must be shown"
    assert "note" in at.error[0].value
    assert "4000" in at.error[0].value
    assert at.button(key=f"resolve-{alert_id}") is not None


def test_an_alert_handled_by_a_colleague_meanwhile_shows_who_did_it(
    app: AppFactory, ward: Ward, http: httpx.Client, login: Login
) -> None:
    """If another nurse acknowledged the alert since the page was drawn, the next run shows
    it acknowledged by her (no second acknowledgement button)."""
    at = logged_in(app, "nurse-a")
    at.button(key=f"open-{ward.red}").click().run()
    [alert_id] = _alert_ids(at)
    other = login(http, "nurse-ab")
    assert http.post(f"/api/v1/alerts/{alert_id}/acknowledge", headers=other, json={}).is_success
    at.run()
    assert not at.exception
    assert "Kvittert av Sykepleier AB (sykepleier)" in "\n".join(str(c.value) for c in at.caption)
    assert not [b for b in at.button if b.key == f"ack-{alert_id}"]


def test_english_is_one_click_away_and_keeps_the_domain_words(app: AppFactory, ward: Ward) -> None:
    """Switching to English changes the labels and the reasons."""
    at = logged_in(app, "nurse-a")
    at.radio(key="language_choice").set_value("en").run()
    at.run()
    text = _markdown(at)
    assert ":red-badge[🔴 Red]" in text
    assert "Oxygen saturation 86% – red: 87% or lower" in text
    assert at.title[0].value.endswith("Worklist")


def test_logout_ends_the_login_on_the_server(app: AppFactory, ward: Ward) -> None:
    """After logging out the login page is back and the patient data is gone."""
    at = logged_in(app, "nurse-a")
    at.button(key="logout").click().run()
    assert not at.exception
    assert at.text_input(key="login_username") is not None
    assert "Testpasient" not in _markdown(at)


def test_passwords_are_never_kept_in_the_session(app: AppFactory, ward: Ward) -> None:
    """The password typed is not left in the dashboard's session state after login."""
    at = logged_in(app, "nurse-a")
    assert PASSWORD not in repr(at.session_state.to_dict())


def _calendar(sessions: sessionmaker[Session], centre_id: str, calendar: dict[str, Any]) -> None:
    with sessions.begin() as session:
        centre = session.get(CentreRow, centre_id)
        assert centre is not None
        centre.calendar = calendar


def test_outside_the_centres_own_hours_the_worklist_says_when_it_opens(
    app: AppFactory, ward: Ward, sessions: sessionmaker[Session]
) -> None:
    """A centre that opens at 10:00 is closed at 09:30: the worklist says so, when it opens
    and — with no after-hours receiver set up — that reds wait here (no promise of a delivery
    nobody is set up for), and lists nothing as 'since closing'."""
    _calendar(sessions, ward.world.centre_a, {"opens": "10:00"})
    at = logged_in(app, "nurse-a")
    assert not at.exception
    warnings = [str(w.value) for w in at.warning]
    assert (
        "Utenfor bemannet tid: åpner i dag 10:00. Ingen mottaker utenfor åpningstid er satt "
        "opp: røde varsler blir liggende her til i dag 10:00." in warnings
    )
    assert not [i for i in at.info if "siden sist stengt" in str(i.value)]


def test_a_day_the_centre_closes_is_named_and_the_next_opening_given(
    app: AppFactory, ward: Ward, sessions: sessionmaker[Session]
) -> None:
    """Closed today by the centre's own calendar (a course day): said in both languages."""
    _calendar(sessions, ward.world.centre_a, {"closed_dates": ["2026-11-23"]})
    at = logged_in(app, "nurse-a")
    warnings = [str(w.value) for w in at.warning]
    assert "Stengt i dag: lokal stengning" in warnings
    assert any(w.startswith("Utenfor bemannet tid: åpner i morgen 08:00.") for w in warnings)
    at.radio(key="language_choice").set_value("en").run()
    at.run()
    warnings = [str(w.value) for w in at.warning]
    assert "Closed today: local closure" in warnings
    assert any(w.startswith("Outside staffed hours: opens tomorrow 08:00.") for w in warnings)


def test_in_staffed_hours_the_worklist_gives_todays_hours_from_the_calendar(
    app: AppFactory, ward: Ward, sessions: sessionmaker[Session]
) -> None:
    """A centre open 07:30–15:30: today's hours are shown, and since-closing starts at
    Friday's 15:30."""
    _calendar(sessions, ward.world.centre_a, {"opens": "07:30", "closes": "15:30"})
    at = logged_in(app, "nurse-a")
    captions = [str(c.value) for c in at.caption]
    assert "🕗 Bemannet i dag 07:30–15:30" in captions
    assert any("(fredag 20.11 15:30)" in str(i.value) for i in at.info)


# ----------------------------------------------------------------------------- assigning


def _open_red(app: AppFactory, ward: Ward) -> tuple[AppTest, str]:
    at = logged_in(app, "nurse-a")
    at.button(key=f"open-{ward.red}").click().run()
    assert not at.exception
    [alert_id] = _alert_ids(at)
    return at, alert_id


def test_a_nurse_assigns_the_alert_to_a_colleague_of_the_patients_centre(
    app: AppFactory, ward: Ward, http: httpx.Client, login: Login
) -> None:
    """The choice offers herself first, then nurse-ab (centre A) — never nurse-b (centre B);
    assigning to nurse-ab is stored and shown."""
    at, alert_id = _open_red(app, ward)
    choice = at.selectbox(key=f"assignee-{alert_id}")
    assert choice.options == ["Meg (Sykepleier A)", "Sykepleier AB"]
    assert choice.value == ward.world.users["nurse-a"]
    assert "👤 ikke tildelt" in "\n".join(str(c.value) for c in at.caption)
    choice.set_value(ward.world.users["nurse-ab"])
    at.button(key=f"assign-{alert_id}").click().run()
    assert not at.exception
    assert "Varselet er tildelt Sykepleier AB." in at.success[0].value
    assert "👤 tildelt Sykepleier AB" in "\n".join(str(c.value) for c in at.caption)
    stored = http.get(f"/api/v1/alerts/{alert_id}", headers=login(http, "nurse-a")).json()
    assert stored["assigned_to"] == ward.world.users["nurse-ab"]


def test_assigning_to_oneself_is_the_default_and_works_after_acknowledging(
    app: AppFactory, ward: Ward
) -> None:
    """After acknowledging, the choice is still there; the default assigns it to her."""
    at, alert_id = _open_red(app, ward)
    at.button(key=f"ack-{alert_id}").click().run()
    at.button(key=f"assign-{alert_id}").click().run()
    assert not at.exception
    assert "Varselet er tildelt deg." in at.success[0].value
    assert "👤 tildelt meg" in "\n".join(str(c.value) for c in at.caption)


def test_a_colleague_who_left_the_centre_meanwhile_is_refused_with_the_apis_reason(
    app: AppFactory, ward: Ward, sessions: sessionmaker[Session]
) -> None:
    """nurse-ab is offered, then deactivated before the click: the API refuses, the nurse
    reads why, and the alert stays unassigned."""
    at, alert_id = _open_red(app, ward)
    at.selectbox(key=f"assignee-{alert_id}").set_value(ward.world.users["nurse-ab"])
    with sessions.begin() as session:
        user = session.get(UserRow, ward.world.users["nurse-ab"])
        assert user is not None
        user.active = False
    at.button(key=f"assign-{alert_id}").click().run()
    assert not at.exception
    assert "not an active nurse of the patient's follow-up centre" in at.error[0].value


def test_a_gp_on_the_patient_page_gets_no_assignment_choice(app: AppFactory, ward: Ward) -> None:
    """A GP does not handle alerts: no colleague list is asked for, none is shown."""
    at = logged_in(app, "gp-1")
    at.switch_page("app_pages/patient.py")
    at.query_params["patient"] = ward.red
    at.run()
    assert not at.exception
    assert not [s for s in at.selectbox if (s.key or "").startswith("assignee-")]


# ----------------------------------------------------------------------------- issue 18: alerts


def test_an_admission_with_a_home_visit_avoided_is_recorded_from_the_alert(
    app: AppFactory, ward: Ward, http: httpx.Client, login: Login
) -> None:
    """The alert's form offers "Innlagt på sykehus" and the "Hjemmebesøk unngått" tick with
    its help text; the action the nurse records carries both to the API."""
    at = logged_in(app, "nurse-a")
    at.button(key=f"open-{ward.red}").click().run()
    [alert_id] = _alert_ids(at)
    at.button(key=f"ack-{alert_id}").click().run()
    assert not at.exception

    outcome = at.selectbox(key=f"outcome-{alert_id}")
    assert "Innlagt på sykehus" in outcome.options
    tick = at.checkbox(key=f"visit-avoided-{alert_id}")
    assert tick.label == "Hjemmebesøk unngått"
    assert "spart tid i hjemmesykepleien" in (tick.help or "")
    outcome.set_value("hospital_admission")
    tick.check()
    at.button(key=f"action-{alert_id}").click().run()
    assert not at.exception

    stored = http.get(f"/api/v1/alerts/{alert_id}", headers=login(http, "nurse-a")).json()
    assert [(a["outcome"], a["home_visit_avoided"]) for a in stored["actions"]] == [
        ("hospital_admission", True)
    ]
