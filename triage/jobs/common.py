"""What the jobs share: which patients are followed up now, and applying findings as alerts."""

from __future__ import annotations

from collections import Counter
from collections.abc import Callable, Sequence
from datetime import UTC, datetime, time, timedelta
from typing import Any, cast
from zoneinfo import ZoneInfo

from sqlalchemy import CursorResult, or_, select, update
from sqlalchemy.orm import Session

from triage.domain.alerts import Alert, AttachBreach, MarkBackInRange, OpenAlert, decide
from triage.domain.findings import Finding
from triage.storage import repositories
from triage.storage.models import JournalEntryRow, NotificationRow, PatientRow

#: Patient states the scheduled checks look at. ``paused`` patients are followed up again from
#: local midnight at the start of ``paused_until``; ``discharged`` ones never.
FOLLOWED_STATES = ("trial", "active", "paused")


def followed_patient_ids(session: Session) -> list[str]:
    """Ids of patients that may be followed up (the per-patient check decides exactly)."""
    return list(
        session.scalars(
            select(PatientRow.id)
            .where(PatientRow.state.in_(FOLLOWED_STATES))
            .order_by(PatientRow.id)
        )
    )


def followed_since(patient: PatientRow, now: datetime) -> datetime | None:
    """From when the patient is followed up, or None when not at ``now``.

    ``trial`` and ``active`` patients: from enrolment, or the last state change (activation or
    resumption) when later. ``paused`` patients: not followed up before local midnight at the
    start of ``paused_until`` (in the patient's zone), and from then on; a pause with no end date
    lasts until someone resumes the patient. ``discharged`` (or unknown) states: never.
    """
    start = max(patient.enrolled_at, patient.state_changed_at)
    if patient.state in ("trial", "active"):
        return start
    if patient.state != "paused" or patient.paused_until is None:
        return None
    resumes = datetime.combine(
        patient.paused_until, time(0, 0), tzinfo=ZoneInfo(patient.timezone)
    ).astimezone(UTC)
    return max(start, resumes) if resumes <= now else None


def apply_findings(
    session: Session,
    patient_id: str,
    findings: Sequence[Finding],
    already_known: Callable[[Alert, Finding], bool],
) -> Counter[str]:
    """Apply ``findings`` to the patient's unresolved alerts (``decide`` + ``apply``).

    A breach that ``already_known(open_alert, finding)`` says the open alert already records
    is left out, so a job that runs every few minutes does not attach the same breach again and
    again. Returns how many alerts were opened, attached to and marked back in range.
    """
    alerts = repositories.open_alerts(session, [patient_id]).get(patient_id, [])
    by_rule = {alert.rule_id: alert for alert in alerts}
    fresh = [
        f
        for f in findings
        if not (f.is_breach and f.rule_id in by_rule and already_known(by_rule[f.rule_id], f))
    ]
    changes = decide(patient_id, alerts, fresh)
    repositories.apply_alert_changes(session, alerts, changes)
    done: Counter[str] = Counter()
    for change in changes:
        if isinstance(change, OpenAlert):
            done["alerts_opened"] += 1
        elif isinstance(change, AttachBreach):
            done["breaches_attached"] += 1
        elif isinstance(change, MarkBackInRange):
            done["back_in_range"] += 1
    return done


def doubling_delay(base_s: float, max_s: float, attempts: int) -> timedelta:
    """The wait after the ``attempts``-th failed attempt of an outbox delivery:
    ``base_s · 2^(attempts-1)``, at most ``max_s`` (the notification and journal senders)."""
    exponent = max(attempts - 1, 0)
    seconds = base_s * 2 ** min(exponent, 32)
    return timedelta(seconds=min(seconds, max_s))


#: The outboxes delivered by a sender job with a lease: notifications and journal Bundles.
OutboxRow = type[NotificationRow] | type[JournalEntryRow]


def due_outbox_ids(
    session: Session, table: OutboxRow, pending: str, now: datetime, limit: int
) -> list[str]:
    """An outbox's rows with status ``pending`` due at ``now`` and not claimed by another
    sender (or whose lease ran out), oldest first."""
    return list(
        session.scalars(
            select(table.id)
            .where(
                table.status == pending,
                table.due_at <= now,
                or_(table.claimed_until.is_(None), table.claimed_until < now),
            )
            .order_by(table.due_at, table.id)
            .limit(limit)
        )
    )


def claim_outbox_row(
    session: Session,
    table: OutboxRow,
    row_id: str,
    pending: str,
    now: datetime,
    claimed_at: datetime,
    lease_until: datetime,
) -> bool:
    """Take the lease on one due outbox row until ``lease_until`` (one ``UPDATE … WHERE``, so
    two senders on SQLite or PostgreSQL never both win); False when another sender has it or
    it is no longer pending and due."""
    claim = cast(
        CursorResult[Any],
        session.execute(
            update(table)
            .where(
                table.id == row_id,
                table.status == pending,
                table.due_at <= now,
                or_(table.claimed_until.is_(None), table.claimed_until < claimed_at),
            )
            .values(claimed_until=lease_until)
            .execution_options(synchronize_session=False)
        ),
    )
    return claim.rowcount == 1
