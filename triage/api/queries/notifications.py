"""Escalation messages: a centre's policy and targets as the API shows them, the notifications
(outbox rows) of a centre page by page with their attempts, and the steps of an alert's chain."""

from __future__ import annotations

import re
from collections import defaultdict
from collections.abc import Iterable, Sequence
from datetime import datetime, timedelta
from typing import Any

from pydantic import ValidationError
from sqlalchemy import and_, or_, select
from sqlalchemy.orm import Session

from triage.api.schemas_notifications import (
    AttemptRead,
    CentreEscalation,
    EscalationStep,
    NotificationRead,
    PolicyRead,
    StepNotification,
    TargetRead,
    TargetSummary,
)
from triage.domain.colours import Text
from triage.domain.escalation import EscalationPolicy
from triage.domain.notification import (
    CHAIN,
    NotificationKind,
    NotificationStatus,
    TargetRole,
)
from triage.notify.channel import masked_url, scheme_of
from triage.storage.models import (
    AlertRow,
    CentreRow,
    EscalationRow,
    NotificationAttemptRow,
    NotificationRow,
    NotificationTargetRow,
    PatientRow,
)

#: A receipt link's token in a stored body: blanked before a body is shown (whoever holds
#: the token can confirm receipt and stop the chain).
_RECEIPT_TOKEN = re.compile(r"(notifications/receipt/)[A-Za-z0-9_-]+")

#: The order targets are listed in: the chain's, then fallback.
_ROLE_ORDER = {role: index for index, role in enumerate((*CHAIN, TargetRole.FALLBACK))}

#: The policy fields kept as timedeltas, with their names in the API (whole minutes).
DELAYS = {
    "on_call_after": "on_call_after_min",
    "second_nurse_after": "second_nurse_after_min",
    "after_hours_after": "after_hours_after_min",
    "centre_lead_after": "centre_lead_after_min",
}


# ----------------------------------------------------------------------------- policy


def centre_policy(
    centre: CentreRow, default_on_call: timedelta
) -> tuple[EscalationPolicy, str | None]:
    """The centre's policy over the defaults (as the escalation job reads it), and why the
    defaults are used instead when the stored policy cannot be read."""
    try:
        policy = EscalationPolicy.model_validate(
            {"on_call_after": default_on_call, **(centre.escalation or {})}
        )
    except ValidationError as err:
        problem = (
            f"the escalation policy of centre {centre.id} cannot be read "
            f"({err.error_count()} error(s): {err.errors()[0]['msg']}); showing the defaults"
        )
        return EscalationPolicy(on_call_after=default_on_call), problem
    return policy, None


def policy_read(policy: EscalationPolicy) -> PolicyRead:
    minutes = {
        api: int(getattr(policy, field).total_seconds() // 60) for field, api in DELAYS.items()
    }
    return PolicyRead(
        **minutes, detail=policy.detail, after_hours_service=policy.after_hours_service
    )


def updated_policy(
    stored: dict[str, Any], changes: dict[str, Any], default_on_call: timedelta
) -> tuple[EscalationPolicy, dict[str, Any]]:
    """The policy after ``changes`` (API names: ``*_min`` and ``detail``) and the JSON to store
    (the stored fields, with the changed ones replaced). ``ValidationError`` when the result is
    not a policy (a stored field that cannot be read, a negative delay)."""
    document = dict(stored)
    for field, api in DELAYS.items():
        if changes.get(api) is not None:
            document[field] = timedelta(minutes=changes[api])
    if changes.get("detail") is not None:
        document["detail"] = changes["detail"]
    policy = EscalationPolicy.model_validate({"on_call_after": default_on_call, **document})
    dumped = policy.model_dump(mode="json")
    return policy, {key: dumped[key] for key in document}


# ----------------------------------------------------------------------------- targets


def targets_of(session: Session, centre_id: str) -> list[NotificationTargetRow]:
    """The centre's targets in chain order, then by label."""
    rows = session.scalars(
        select(NotificationTargetRow).where(NotificationTargetRow.centre_id == centre_id)
    ).all()
    return sorted(rows, key=lambda row: (_ROLE_ORDER.get(TargetRole(row.role), 99), row.label))


def target_read(row: NotificationTargetRow) -> TargetRead:
    return TargetRead(
        id=row.id,
        centre_id=row.centre_id,
        role=TargetRole(row.role),
        label=row.label,
        channel=scheme_of(row.url),
        url_masked=masked_url(row.url),
        secure=row.secure,
        active=row.active,
        created_at=row.created_at,
        updated_at=row.updated_at,
    )


def centre_escalation(
    session: Session, centre: CentreRow, default_on_call: timedelta
) -> CentreEscalation:
    """Where the centre's unacknowledged reds go, as the chain will send them."""
    policy, problem = centre_policy(centre, default_on_call)
    targets = targets_of(session, centre.id)
    active: dict[TargetRole, list[str]] = defaultdict(list)
    for row in targets:
        if row.active:
            active[TargetRole(row.role)].append(row.label)
    # outside staffed hours the chain starts at after_hours; roles without a target are
    # skipped, and with no later role left it goes to the fallback targets
    after_hours = CHAIN[CHAIN.index(TargetRole.AFTER_HOURS) :]
    first = next((role for role in after_hours if active[role]), None)
    if first is None and active[TargetRole.FALLBACK]:
        first = TargetRole.FALLBACK
    return CentreEscalation(
        centre_id=centre.id,
        centre_name=centre.name,
        policy=policy_read(policy),
        policy_problem=problem,
        targets=[
            TargetSummary(
                id=row.id,
                role=TargetRole(row.role),
                label=row.label,
                channel=scheme_of(row.url),
                secure=row.secure,
                active=row.active,
            )
            for row in targets
        ],
        roles_without_target=[role for role in CHAIN if not active[role]],
        after_hours_role=first,
        after_hours_receivers=list(active[first]) if first is not None else [],
    )


# ----------------------------------------------------------------------------- notifications


def blank_token(body: str) -> str:
    return _RECEIPT_TOKEN.sub(r"\1…", body)


def centre_notifications(
    session: Session,
    centre_id: str,
    *,
    status: NotificationStatus | None,
    kind: NotificationKind | None,
    limit: int,
    after: tuple[datetime, str] | None,
) -> Sequence[tuple[NotificationRow, EscalationRow | None, PatientRow | None]]:
    """The centre's notifications, newest first, ``limit + 1`` after the keyset position
    ``after`` (``created_at``, ``id``), each with its escalation step and patient."""
    query = _with_context(select(NotificationRow)).where(NotificationRow.centre_id == centre_id)
    if status is not None:
        query = query.where(NotificationRow.status == status.value)
    if kind is not None:
        query = query.where(NotificationRow.kind == kind.value)
    if after is not None:
        at, id_ = after
        query = query.where(
            or_(
                NotificationRow.created_at < at,
                and_(NotificationRow.created_at == at, NotificationRow.id < id_),
            )
        )
    query = query.order_by(NotificationRow.created_at.desc(), NotificationRow.id.desc())
    return [(row, step, patient) for row, step, patient in session.execute(query.limit(limit + 1))]


def notification(
    session: Session, notification_id: str
) -> tuple[NotificationRow, EscalationRow | None, PatientRow | None] | None:
    found = session.execute(
        _with_context(select(NotificationRow)).where(NotificationRow.id == notification_id)
    ).one_or_none()
    if found is None:
        return None
    row, step, patient = found
    return row, step, patient


def _with_context(query: Any) -> Any:
    return (
        query.add_columns(EscalationRow, PatientRow)
        .outerjoin(EscalationRow, EscalationRow.id == NotificationRow.escalation_id)
        .outerjoin(AlertRow, AlertRow.id == NotificationRow.alert_id)
        .outerjoin(PatientRow, PatientRow.id == AlertRow.patient_id)
    )


def notification_read(
    row: NotificationRow,
    step: EscalationRow | None,
    patient: PatientRow | None,
    *,
    show_name: bool,
) -> NotificationRead:
    return NotificationRead(
        id=row.id,
        kind=NotificationKind(row.kind),
        alert_id=row.alert_id,
        patient_id=patient.id if patient is not None else None,
        patient_name=patient.display_name if patient is not None and show_name else None,
        recipient=row.recipient,
        role=_role(step.target) if step is not None else None,
        step=step.step if step is not None else None,
        channel=row.channel,
        status=NotificationStatus(row.status),
        created_at=row.created_at,
        due_at=row.due_at,
        sent_at=row.sent_at,
        dead_at=row.dead_at,
        cancelled_at=row.cancelled_at,
        received_at=row.received_at,
        attempts=row.attempts,
        last_error=row.last_error,
        title=row.title,
        body=blank_token(row.body),
    )


def _role(target: str) -> TargetRole | None:
    try:
        return TargetRole(target)
    except ValueError:
        return None


def attempts(session: Session, notification_id: str) -> list[AttemptRead]:
    rows = session.scalars(
        select(NotificationAttemptRow)
        .where(NotificationAttemptRow.notification_id == notification_id)
        .order_by(NotificationAttemptRow.at, NotificationAttemptRow.id)
    ).all()
    return [
        AttemptRead(at=row.at, ok=row.ok, answer=row.answer, duration_ms=row.duration_ms)
        for row in rows
    ]


# ----------------------------------------------------------------------------- alert chains


def escalation_steps(session: Session, alert_ids: Iterable[str]) -> dict[str, list[EscalationStep]]:
    """Each alert's escalation steps (oldest first) with their messages."""
    ids = sorted(set(alert_ids))
    result: dict[str, list[EscalationStep]] = {alert_id: [] for alert_id in ids}
    if not ids:
        return result
    steps = session.scalars(
        select(EscalationRow)
        .where(EscalationRow.alert_id.in_(ids))
        .order_by(EscalationRow.alert_id, EscalationRow.step)
    ).all()
    messages: dict[int, list[StepNotification]] = defaultdict(list)
    for row in session.scalars(
        select(NotificationRow)
        .where(NotificationRow.escalation_id.in_([step.id for step in steps]))
        .order_by(NotificationRow.created_at, NotificationRow.recipient, NotificationRow.id)
    ):
        assert row.escalation_id is not None  # noqa: S101 - selected by it
        messages[row.escalation_id].append(
            StepNotification(
                id=row.id,
                recipient=row.recipient,
                channel=row.channel,
                status=NotificationStatus(row.status),
                attempts=row.attempts,
                sent_at=row.sent_at,
                received_at=row.received_at,
                last_error=row.last_error,
            )
        )
    for step in steps:
        result[step.alert_id].append(
            EscalationStep(
                step=step.step,
                role=step.target,
                due_since=step.due_since,
                created_at=step.created_at,
                reason=Text.model_validate(step.reason),
                patient_instruction=Text.model_validate(step.patient_instruction),
                notifications=messages[step.id],
            )
        )
    return result
