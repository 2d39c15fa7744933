"""Escalation messages in the dashboard (issue 16; AppTest running the real script against the
real API on SQLite and PostgreSQL): the administrator sets up who receives reds, the worklist
then names that receiver while the centre is closed, and the GP chooses an e-mail summary."""

from __future__ import annotations

from datetime import timedelta

import httpx
from sqlalchemy import select
from sqlalchemy.orm import Session, sessionmaker
from streamlit.testing.v1 import AppTest

from dashboard.api_client import ApiClient
from tests.integration.api.conftest import NOW, PASSWORD, Login
from tests.integration.dashboard.conftest import AppFactory, Ward, logged_in
from triage.storage.models import (
    AlertRow,
    CentreRow,
    EscalationRow,
    NotificationAttemptRow,
    NotificationRow,
    NotificationTargetRow,
    UserRow,
)
from triage.storage.repositories import new_id

LEGEVAKT_URL = "mailto://varsel@smtp.testvik.invalid?to=legevakt@testvik.invalid"


def _texts(at: AppTest) -> str:
    parts = [str(m.value) for m in at.markdown]
    parts += [str(x.value) for x in (*at.warning, *at.info, *at.success, *at.error, *at.caption)]
    return "\n".join(parts)


def _centre_a_closed(sessions: sessionmaker[Session], ward: Ward) -> None:
    with sessions.begin() as session:
        centre = session.get(CentreRow, ward.world.centre_a)
        assert centre is not None
        centre.calendar = {"opens": "10:00"}


def test_the_admin_adds_an_after_hours_receiver_and_the_worklist_then_names_it(
    app: AppFactory, ward: Ward, sessions: sessionmaker[Session]
) -> None:
    """Before: the closed centre's worklist warns that reds wait there. The administrator adds
    "Legevakten Testvik" as the after-hours receiver in "Varsling" (the address stays hidden);
    after: the nurse's worklist says reds nobody acknowledges are sent to Legevakten Testvik."""
    _centre_a_closed(sessions, ward)
    nurse = logged_in(app, "nurse-a")
    assert "røde varsler blir liggende her til i dag 10:00" in _texts(nurse)

    admin = logged_in(app, "admin")
    assert "Ingen mottakere er satt opp" in _texts(admin)
    new = f"new-{ward.world.centre_a}"
    admin.text_input(key=f"t-label-{new}").input("Legevakten Testvik")
    admin.selectbox(key=f"t-role-{new}").set_value("after_hours")
    admin.text_input(key=f"t-url-{new}").input(LEGEVAKT_URL)
    admin.button(key=f"t-submit-{new}").click().run()
    assert not admin.exception
    shown = _texts(admin)
    assert "Mottakeren Legevakten Testvik er lagt til." in shown
    assert "legevakt/hjemmesykepleie (utenfor åpningstid)" in shown
    assert "legevakt@testvik.invalid" not in shown  # the address only masked
    with sessions() as session:
        (target,) = session.scalars(select(NotificationTargetRow)).all()
        assert (target.role, target.label, target.active) == (
            "after_hours",
            "Legevakten Testvik",
            True,
        )

    nurse.run()
    assert (
        "Utenfor bemannet tid: åpner i dag 10:00. Røde varsler som ingen kvitterer, sendes til "
        "Legevakten Testvik." in [str(w.value) for w in nurse.warning]
    )


def test_the_gp_chooses_a_weekly_summary_and_is_told_sending_is_not_set_up(
    app: AppFactory, ward: Ward, sessions: sessionmaker[Session], http: httpx.Client, login: Login
) -> None:
    """The operator has not set up e-mail (the test API has no DHO_NOTIFY_EMAIL_URL): the GP is
    told plainly; the choice is saved all the same."""
    at = logged_in(app, "gp-1")
    assert "Driftsansvarlig har ikke satt opp sending av e-post ennå" in _texts(at)
    at.radio(key="digest_frequency").set_value("weekly")
    at.text_input(key="digest_email").input("fastlege.en@legekontoret.invalid")
    at.button(key="digest_submit").click().run()
    assert not at.exception
    assert (
        "Valget er lagret: Ukentlig (mandag kl. 07:00), fastlege.en@legekontoret.invalid."
        in _texts(at)
    )
    with sessions() as session:
        gp = session.scalars(select(UserRow).where(UserRow.username == "gp-1")).one()
        assert (gp.digest_frequency, gp.digest_email) == (
            "weekly",
            "fastlege.en@legekontoret.invalid",
        )


def test_an_administrators_reason_with_norwegian_letters_shows_the_patients_name(
    http: httpx.Client, ward: Ward, sessions: sessionmaker[Session]
) -> None:
    """The client sends the reason as UTF-8 (æøå kept): with it the administrator sees whom a
    message was about; without it, not."""
    client = ApiClient(str(http.base_url).rstrip("/") + "/api/v1")
    try:
        client.login("admin", PASSWORD)
        target = client.add_notification_target(
            ward.world.centre_a,
            {"role": "after_hours", "label": "Legevakten Testvik", "url": LEGEVAKT_URL},
        )
        assert target.url_masked is not None
        assert "legevakt@testvik.invalid" not in target.url_masked
        _escalation_message(sessions, ward, target.id)
        (hidden,) = client.notifications(ward.world.centre_a)
        assert hidden.patient_name is None
        (named,) = client.notifications(ward.world.centre_a, reason="Sjekk av varsling før møte")
        assert named.patient_name == "Testpasient a-copd"
        detail = client.notification(named.id, "Sjekk av varsling før møte")
        assert [(a.ok, a.answer) for a in detail.attempt_log] == [(True, "250 OK")]
    finally:
        client.close()


def _escalation_message(sessions: sessionmaker[Session], ward: Ward, target_id: str) -> None:
    """The red COPD alert's first step to the target, sent at 09:10 (one attempt)."""
    sent = NOW - timedelta(minutes=20)
    with sessions.begin() as session:
        alert = session.scalars(
            select(AlertRow).where(AlertRow.patient_id == ward.red, AlertRow.colour == "red")
        ).one()
        step = EscalationRow(
            alert_id=alert.id,
            patient_id=ward.red,
            step=0,
            target="after_hours",
            due_since=alert.opened_at,
            created_at=sent,
            reason={"nb": "Utenfor bemannet tid", "en": "Outside staffed hours"},
            patient_instruction={"nb": "Ring 116 117.", "en": "Call 116 117."},
        )
        session.add(step)
        session.flush()
        message = NotificationRow(
            id=new_id(),
            kind="escalation",
            dedupe_key=f"esc:{alert.id}:0:{target_id}",
            centre_id=ward.world.centre_a,
            alert_id=alert.id,
            escalation_id=step.id,
            target_id=target_id,
            recipient="Legevakten Testvik",
            channel="mailto",
            title="DHO: rødt varsel venter",
            body="DHO: 1 rød varsling venter",
            created_at=sent,
            due_at=sent,
            attempts=1,
            status="sent",
            sent_at=sent,
        )
        session.add(message)
        session.flush()
        session.add(
            NotificationAttemptRow(
                notification_id=message.id, at=sent, ok=True, answer="250 OK", duration_ms=80
            )
        )


def test_a_link_to_an_alert_of_another_centre_opens_nothing_and_says_why(
    app: AppFactory, ward: Ward, sessions: sessionmaker[Session]
) -> None:
    """nurse-b works at centre B: the link to centre A's red alert shows no patient, and says
    the alert is not hers to see."""
    with sessions() as session:
        alert_id = session.scalars(
            select(AlertRow.id).where(AlertRow.patient_id == ward.red, AlertRow.colour == "red")
        ).one()
    at = app()
    at.query_params["alert"] = alert_id
    at.run()
    at.text_input(key="login_username").input("nurse-b")
    at.text_input(key="login_password").input(PASSWORD)
    at.button[0].click().run()
    assert not at.exception
    assert "Varselet i lenken finnes ikke eller er ikke ditt å se." in _texts(at)
    assert "Testpasient a-copd" not in _texts(at)
