"""Escalation messages in the dashboard (issue 16; AppTest running the real script against the
real API on SQLite and PostgreSQL): the administrator sets up who receives reds, the worklist
then names that receiver while the centre is closed, and the GP chooses an e-mail summary."""

from __future__ import annotations

import httpx
from sqlalchemy import select
from sqlalchemy.orm import Session, sessionmaker
from streamlit.testing.v1 import AppTest

from tests.integration.api.conftest import Login
from tests.integration.dashboard.conftest import AppFactory, Ward, logged_in
from triage.storage.models import CentreRow, NotificationTargetRow, UserRow

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
