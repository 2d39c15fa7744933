"""Issue 16, done when: a red alert at 15:05 on a Friday reaches the after-hours service.

A red alert (SpO2 86 %) opens at 15:05 on Friday 4 December 2026 (Europe/Oslo), five minutes
after the centre closed, for a patient of a centre whose after-hours receiver ("Legevakten i
Testvik") is an e-mail address on a real SMTP server. The escalation job and then the
notification sender run at 15:06: the e-mail arrives, with no name and no values in it, and its
attempt (ok, the server's answer) is kept for the centre to see. On SQLite and PostgreSQL.
"""

from __future__ import annotations

import hashlib
import json
import re
from datetime import UTC, datetime
from typing import Any

import pytest
from sqlalchemy import select
from sqlalchemy.orm import Session, sessionmaker

from tests.integration.outbox import add_target, attempts
from tests.integration.world import World
from triage.config import Settings
from triage.domain.plan import Condition
from triage.ingest import Incoming, PlanCache, store
from triage.jobs import escalate_red_alerts, send_notifications
from triage.notify.smtp_sink import SmtpSink
from triage.storage.models import AlertRow, EscalationRow, NotificationRow, PatientRow

Sessions = sessionmaker[Session]
#: Friday 4 December 2026, 15:05 and 15:06 in Oslo (CET, UTC+1): the centre closed at 15:00.
FRIDAY_1505 = datetime(2026, 12, 4, 14, 5, tzinfo=UTC)
FRIDAY_1506 = datetime(2026, 12, 4, 14, 6, tzinfo=UTC)
RECEIVER = "legevakt@testvik.invalid"


@pytest.fixture
def settings() -> Settings:
    return Settings(
        demo=True,
        dashboard_public_url="https://dho.testvik.invalid",
        api_public_url="https://api.testvik.invalid",
    )


def test_a_red_at_1505_on_friday_reaches_the_after_hours_service_by_e_mail(
    sessions: Sessions, settings: Settings, world: World, smtp_sink: SmtpSink
) -> None:
    patient = world.patients[Condition.COPD]
    reading: dict[str, Any] = {"schema": "dho.reading/1", "id": "red-1505", "kind": "spo2"}
    reading |= {"measured_at": FRIDAY_1505.isoformat(), "values": {"spo2": 86, "pulse": 88}}
    incoming = Incoming(
        topic=f"dho/v1/{patient.gateway_id}/readings", payload=json.dumps(reading).encode()
    )
    [outcome] = store(sessions, [incoming], settings, FRIDAY_1505, plans=PlanCache())
    assert outcome.colour == "red"
    with sessions() as session:
        alert_id = session.scalars(
            select(AlertRow.id).where(AlertRow.patient_id == patient.id, AlertRow.colour == "red")
        ).one()
    add_target(
        sessions,
        world.centre_id,
        smtp_sink.url(RECEIVER),
        FRIDAY_1505,
        label="Legevakten i Testvik",
    )

    escalated = escalate_red_alerts(sessions, settings, FRIDAY_1506)
    sent = send_notifications(sessions, settings, FRIDAY_1506)

    assert (escalated.status, escalated.detail["escalated_after_hours"]) == ("ok", 1)
    assert (sent.status, sent.detail["sent"]) == ("ok", 1)

    # the e-mail arrived at the after-hours service
    [mail] = smtp_sink.wait_for(1)
    assert mail.rcpt_tos == (RECEIVER,)
    assert mail.subject == "DHO: rødt varsel venter"
    text = mail.text.replace("\r\n", "\n")
    assert text.startswith(
        "DHO: 1 rød varsling venter hos Oppfølgingstjenesten Testvik siden 15:05 — åpne DHO: "
        f"https://dho.testvik.invalid/?alert={alert_id}\n"
    )
    # … with no name and no values in it (nor the rule, nor the plan's bound)
    with sessions() as session:
        person = session.get(PatientRow, patient.id)
        assert person is not None
    words = re.sub(r"https://\S+", "<link>", f"{mail.subject}\n{text}").lower()
    for private in (
        *person.display_name.split(),
        person.national_id or "(no national id)",
        "threshold",
        "spo2",
        "86",
        "88",
        "87",
        "%",
    ):
        assert private.lower() not in words, private
    # its receipt link is the message's own (the token is stored only as its hash)
    [token] = re.findall(r"https://api\.testvik\.invalid/api/v1/notifications/receipt/(\S+)", text)

    # the centre sees the step, the message and its attempt
    with sessions() as session:
        [step] = session.scalars(select(EscalationRow).where(EscalationRow.alert_id == alert_id))
        [message] = session.scalars(
            select(NotificationRow).where(NotificationRow.alert_id == alert_id)
        )
    assert (step.step, step.target, step.created_at) == (0, "after_hours", FRIDAY_1506)
    assert (message.escalation_id, message.recipient) == (step.id, "Legevakten i Testvik")
    assert (message.status, message.sent_at, message.attempts) == ("sent", FRIDAY_1506, 1)
    assert message.receipt_token_hash == hashlib.sha256(token.encode()).hexdigest()
    [attempt] = attempts(sessions, message.id)
    assert (attempt.ok, attempt.at) == (True, FRIDAY_1506)
    assert f"Sent Email to {RECEIVER}" in attempt.answer
