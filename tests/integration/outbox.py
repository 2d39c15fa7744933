"""Rows of the notification outbox for the sender's tests: a red alert, a centre's receiver, an
escalation step and its message, as the escalation job writes them (triage.jobs.escalation)."""

from __future__ import annotations

import hashlib
import secrets
from datetime import datetime
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session, sessionmaker

from triage.domain.alerts import OpenAlert
from triage.domain.colours import Colour, Text
from triage.domain.findings import Finding, RuleType
from triage.domain.notification import NotificationKind, TargetRole
from triage.notify.channel import scheme_of
from triage.storage import repositories
from triage.storage.models import (
    AlertRow,
    EscalationRow,
    NotificationAttemptRow,
    NotificationRow,
    NotificationTargetRow,
)
from triage.storage.repositories import add_notification_target, new_id

Sessions = sessionmaker[Session]

TITLE = "DHO: rødt varsel venter"
BODY = (
    "DHO: 1 rød varsling venter hos Oppfølgingstjenesten Testvik siden 09:05 — åpne DHO: "
    "http://localhost:8501/?alert=x\nDHO: 1 red alert waiting."
)


def open_red(sessions: Sessions, patient_id: str, at: datetime) -> str:
    """A red clinical threshold alert for the patient, opened at ``at``; returns its id."""
    finding = Finding(
        rule_id="threshold:systolic",
        rule_type=RuleType.THRESHOLD,
        colour=Colour.RED,
        at=at,
        parameter="systolic",
        value=192,
        bound="≥ 180",
        text=Text(nb="Systolisk 192 ≥ 180", en="Systolic 192 ≥ 180"),
    )
    with sessions.begin() as session:
        [alert] = repositories.apply_alert_changes(
            session, [], [OpenAlert(patient_id=patient_id, finding=finding)]
        )
        return alert.id


def add_target(
    sessions: Sessions,
    centre_id: str,
    url: str,
    at: datetime,
    *,
    role: TargetRole = TargetRole.AFTER_HOURS,
    label: str = "Legevakten i Testvik",
    active: bool = True,
) -> str:
    with sessions.begin() as session:
        row = add_notification_target(session, centre_id, role.value, label, url, at, active=active)
        return row.id


def add_escalation_message(
    sessions: Sessions, alert_id: str, target_id: str, at: datetime, *, step: int = 0
) -> str:
    """An escalation step of the alert and one pending message to ``target_id``, due at ``at``."""
    with sessions.begin() as session:
        alert = session.get(AlertRow, alert_id)
        target = session.get(NotificationTargetRow, target_id)
        assert alert is not None
        assert target is not None
        escalation = EscalationRow(
            alert_id=alert_id,
            patient_id=alert.patient_id,
            step=step,
            target=target.role,
            due_since=at,
            created_at=at,
            reason={"nb": "rødt", "en": "red"},
            patient_instruction={"nb": "Ring 113", "en": "Call 113"},
        )
        session.add(escalation)
        session.flush()
        token = secrets.token_urlsafe(32)
        row = repositories.pending_notification(
            NotificationKind.ESCALATION,
            f"esc:{alert_id}:{step}:{target_id}",
            target.label,
            scheme_of(target.url),
            TITLE,
            BODY,
            at,
            centre_id=target.centre_id,
            alert_id=alert_id,
            escalation_id=escalation.id,
            target_id=target_id,
            receipt_token_hash=hashlib.sha256(token.encode()).hexdigest(),
        )
        session.add(row)
        return row.id


def add_message(sessions: Sessions, at: datetime, **values: Any) -> str:
    """Any other message (a test message, a GP digest): ``values`` fill the row."""
    fields: dict[str, Any] = {
        "id": new_id(),
        "recipient": "Mottaker",
        "channel": "mailto",
        "title": TITLE,
        "body": "DHO: oppsummering",
        "created_at": at,
        "due_at": at,
        **values,
    }
    fields.setdefault("dedupe_key", f"{fields['kind']}:{fields['id']}")
    with sessions.begin() as session:
        session.add(NotificationRow(**fields))
        return str(fields["id"])


def message(sessions: Sessions, notification_id: str) -> NotificationRow:
    with sessions() as session:
        row = session.get(NotificationRow, notification_id)
        assert row is not None
        return row


def attempts(sessions: Sessions, notification_id: str) -> list[NotificationAttemptRow]:
    with sessions() as session:
        return list(
            session.scalars(
                select(NotificationAttemptRow)
                .where(NotificationAttemptRow.notification_id == notification_id)
                .order_by(NotificationAttemptRow.id)
            )
        )
