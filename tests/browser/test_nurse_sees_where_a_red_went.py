"""Before the centre opens, in a real browser: the escalation message's link opens the red
patient (after login), whose alert shows the "Eskalering" section — to whom it went, when, that
it was sent, and what the patient was told; the worklist names the after-hours receiver the
centre has set up (issue 16). Screenshots in tests/browser/artifacts/."""

from __future__ import annotations

from datetime import timedelta
from pathlib import Path

from playwright.sync_api import Page, expect
from sqlalchemy import select
from sqlalchemy.orm import Session, sessionmaker

from tests.integration.api.conftest import NOW, PASSWORD
from tests.integration.dashboard.conftest import Ward
from triage.storage.models import (
    AlertRow,
    CentreRow,
    EscalationRow,
    NotificationAttemptRow,
    NotificationRow,
)
from triage.storage.repositories import add_notification_target, new_id

RED_ADVICE = "Ring legevakt på 116 117 nå. Ved pustebesvær i hvile: ring 113."


def _escalated_before_opening(sessions: sessionmaker[Session], ward: Ward) -> str:
    """Centre A opens at 10:00 today (it is 09:30); its after-hours receiver is "Legevakten
    Testvik"; the red COPD alert went there at 09:10 and the message was sent at once (one
    attempt). Written through the storage layer as the escalation job and sender would. The
    red alert's id."""
    sent = NOW - timedelta(minutes=20)
    with sessions.begin() as session:
        centre = session.get(CentreRow, ward.world.centre_a)
        assert centre is not None
        centre.calendar = {"opens": "10:00"}
        target = add_notification_target(
            session,
            centre.id,
            "after_hours",
            "Legevakten Testvik",
            "mailto://varsel@smtp.testvik.invalid?to=legevakt@testvik.invalid",
            NOW - timedelta(days=7),
        )
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
            reason={
                "nb": "Rødt varsel utenfor bemannet tid: sendt til legevakt/hjemmesykepleie.",
                "en": "Red alert outside staffed hours: sent to the after-hours service.",
            },
            patient_instruction={"nb": RED_ADVICE, "en": "Call 116 117 now."},
        )
        alert.escalated_at = sent
        alert.escalated_to = "after_hours"
        session.add_all([target, step])
        session.flush()
        message = NotificationRow(
            id=new_id(),
            kind="escalation",
            dedupe_key=f"esc:{alert.id}:0:{target.id}",
            centre_id=centre.id,
            alert_id=alert.id,
            escalation_id=step.id,
            target_id=target.id,
            recipient=target.label,
            channel="mailto",
            title="DHO: rødt varsel venter",
            body="DHO: 1 rød varsling venter hos Oppfølgingstjenesten Testvik siden 08:50",
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
                notification_id=message.id, at=sent, ok=True, answer="250 OK", duration_ms=412
            )
        )
        return alert.id


def test_the_link_opens_the_red_patient_with_its_escalation_and_the_worklist_names_legevakten(
    page: Page,
    dashboard_url: str,
    ward: Ward,
    sessions: sessionmaker[Session],
    shots: Path,
) -> None:
    alert_id = _escalated_before_opening(sessions, ward)

    # the link in the message: log in first, then straight to the patient
    page.goto(f"{dashboard_url}/?alert={alert_id}")
    page.get_by_label("Brukernavn").fill("nurse-a")
    page.get_by_label("Passord").fill(PASSWORD)
    page.get_by_role("button", name="Logg inn").click()
    expect(page.get_by_role("heading", name="Testpasient a-copd")).to_be_visible()

    section = page.locator(f"[class*='st-key-escalation-{alert_id}']")
    expect(section).to_contain_text("Eskalering")
    expect(section).to_contain_text("kl. 09:10 til legevakt/hjemmesykepleie (utenfor åpningstid)")
    expect(section).to_contain_text("Legevakten Testvik (e-post): 📨 sendt kl. 09:10 (1 forsøk)")
    expect(section).to_contain_text(f"Pasienten fikk beskjed: {RED_ADVICE}")
    expect(section).not_to_contain_text(alert_id)
    expect(page.get_by_text("Tidslinje")).to_be_visible()
    page.screenshot(path=shots / "11-escalation.png", full_page=True)

    # the worklist before opening: where reds go, by the receiver's name — no other promise
    page.get_by_role("button", name="← Arbeidsliste").click()
    expect(page.get_by_text("NYTT RØDT VARSEL")).to_be_visible()
    expect(
        page.get_by_text(
            "Utenfor bemannet tid: åpner i dag 10:00. Røde varsler som ingen kvitterer, sendes "
            "til Legevakten Testvik."
        )
    ).to_be_visible()
    expect(page.get_by_text("Røde varsler går til legevakt/hjemmesykepleie")).to_have_count(0)
    expect(page.locator("[class*='st-key-row-']").first).to_contain_text("Testpasient a-copd")
    page.screenshot(path=shots / "12-worklist-closed.png", full_page=True)

    # what was sent, and the provider's answer on request
    page.get_by_role("link", name="Sendte varsler").click()
    sent = page.get_by_text(
        "09:10 · Eskalering · Legevakten Testvik – legevakt/hjemmesykepleie (utenfor "
        "åpningstid) · 📨 sendt kl. 09:10 (1 forsøk)"
    )
    expect(sent).to_be_visible()
    sent.click()
    expect(page.get_by_text("Pasient: Testpasient a-copd")).to_be_visible()
    page.get_by_role("button", name="Forsøk og svar fra leverandøren").click()
    expect(page.get_by_text("09:10 ✅ 0,4 s — 250 OK")).to_be_visible()
    page.screenshot(path=shots / "13-sent-notifications.png", full_page=True)


def test_the_admin_sees_the_receivers_masked_and_queues_a_test_message(
    page: Page,
    dashboard_url: str,
    ward: Ward,
    sessions: sessionmaker[Session],
    shots: Path,
) -> None:
    """ "Varsling": the centre's receiver with its role in words and its address masked, the
    chain's delays; a test message is queued and shows in "Sendte varsler"."""
    _escalated_before_opening(sessions, ward)
    page.goto(dashboard_url)
    page.get_by_label("Brukernavn").fill("admin")
    page.get_by_label("Passord").fill(PASSWORD)
    page.get_by_role("button", name="Logg inn").click()

    receiver = page.locator("[class*='st-key-target-']")
    expect(receiver).to_contain_text("Legevakten Testvik")
    expect(receiver).to_contain_text("legevakt/hjemmesykepleie (utenfor åpningstid)")
    expect(receiver).not_to_contain_text("legevakt@testvik.invalid")
    expect(page.get_by_text("Ingen mottaker for: vakthavende sykepleier").first).to_be_visible()
    page.screenshot(path=shots / "14-admin-varsling.png", full_page=True)

    receiver.get_by_role("button", name="Send testmelding").click()
    expect(page.get_by_text("Testmelding til Legevakten Testvik er lagt i kø")).to_be_visible()
    page.get_by_role("link", name="Sendte varsler").click()
    page.get_by_role("combobox", name="Oppfølgingstjeneste").click()
    page.get_by_role("option", name="Oppfølgingstjenesten Testvik").click()
    expect(
        page.get_by_text("09:30 · Testmelding · Legevakten Testvik · ⏳ venter på sending")
    ).to_be_visible()
    # without a reason, the administrator sees no patient's name
    page.get_by_text("Eskalering · Legevakten Testvik").click()
    expect(
        page.get_by_text("Pasient: skjult (oppgi en begrunnelse for å se navnet)")
    ).to_be_visible()
    page.screenshot(path=shots / "15-admin-sent.png", full_page=True)
