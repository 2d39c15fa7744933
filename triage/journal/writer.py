"""The journal outbox's writer: the resolved alert's transaction Bundle, written in the
transaction that resolves the alert (so a resolve that fails writes nothing, and a resolve that
succeeds is journalled at least once, even when the endpoint is down or the process stops).

Called from the one place an alert is closed, ``POST /alerts/{id}/resolve``
(:func:`triage.api.routers.alerts.resolve_alert`). With ``DHO_FHIR_JOURNAL_URL`` unset nothing
is written. The Bundle is built once, here, by the pure mapping
(:func:`triage.fhir.bundles.journal_transaction`) and kept as sent: a retry re-sends the same
Bundle, whose conditional creates (``ifNoneExist`` on each resource's identifier) make a
repeated delivery create nothing new at the receiver.
"""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import select
from sqlalchemy.orm import Session

from triage.config import Settings
from triage.domain.findings import RuleType
from triage.fhir.bundles import journal_transaction
from triage.journal.implicated import implicated
from triage.storage.models import AlertActionRow, AlertRow, JournalEntryRow, PatientRow, UserRow
from triage.storage.repositories import new_id

#: Alerts about the service itself, not the patient, stay out of the record: a red alert's
#: message that reached nobody, and a journal Bundle that was never accepted (journalling its
#: closing would send to the endpoint that is failing, and open another such alert). Lost
#: contact is journalled: it is VKP's "inactive patient".
NOT_JOURNALLED = frozenset({RuleType.NOTIFICATION.value, RuleType.JOURNAL.value})

PENDING = "pending"
SENT = "sent"
DEAD = "dead"


def write_journal_entry(
    session: Session, settings: Settings, alert: AlertRow, now: datetime
) -> JournalEntryRow | None:
    """Add the outbox row of the just-resolved ``alert`` (flushed state) to ``session``'s
    transaction; None when the journal is off or the alert is about the service itself
    (:data:`NOT_JOURNALLED`)."""
    if settings.fhir_journal_url is None or alert.rule_type in NOT_JOURNALLED:
        return None
    if alert.resolved_at is None:
        raise ValueError(f"alert {alert.id} is not resolved: only a closed alert is journalled")
    patient = session.get(PatientRow, alert.patient_id)
    if patient is None:  # pragma: no cover - a foreign key
        raise ValueError(f"alert {alert.id}'s patient {alert.patient_id} is gone")
    actions = list(
        session.scalars(
            select(AlertActionRow)
            .where(AlertActionRow.alert_id == alert.id)
            .order_by(AlertActionRow.at, AlertActionRow.id)
        )
    )
    closer = (
        session.scalars(select(UserRow).where(UserRow.username == alert.resolved_by)).first()
        if alert.resolved_by
        else None
    )
    authors = {a.by for a in actions}
    people = (
        {u.id: u for u in session.scalars(select(UserRow).where(UserRow.id.in_(authors)))}
        if authors
        else {}
    )
    readings, reports = implicated(session, alert)
    bundle = journal_transaction(alert, actions, closer, patient, readings, reports, people=people)
    row = JournalEntryRow(
        id=new_id(),
        alert_id=alert.id,
        patient_id=patient.id,
        centre_id=patient.centre_id,
        bundle=bundle,
        created_at=now,
        due_at=now,
        attempts=0,
        status=PENDING,
    )
    session.add(row)
    return row
