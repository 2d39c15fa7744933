"""Alerts: a patient's episodes page by page, one episode with its history and actions, the
nurses an alert may be assigned to, and the green readings an "acknowledge greens" covers."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime
from typing import Any

from sqlalchemy import and_, func, or_, select
from sqlalchemy.orm import Session

from triage.api.schemas_alerts import AlertStateFilter
from triage.domain.access import Role
from triage.domain.alerts import Alert, AlertState
from triage.domain.colours import Colour
from triage.storage.models import (
    AlertActionRow,
    AlertEventRow,
    AlertRow,
    GreenAcknowledgementRow,
    MembershipRow,
    PatientRow,
    ReadingRow,
    UserRow,
)
from triage.storage.repositories import among


def alert_locked(session: Session, alert_id: str) -> AlertRow | None:
    """The alert row, locked until the transaction ends (two nurses cannot both change it)."""
    return session.get(AlertRow, alert_id, with_for_update=True)


def patient_alerts(
    session: Session,
    patient_id: str,
    state: AlertStateFilter,
    limit: int,
    after: tuple[datetime, str] | None,
    *,
    opened_since: datetime | None = None,
) -> Sequence[AlertRow]:
    """The patient's alerts in ``state``, newest opened first, ``limit + 1`` after the keyset
    position ``after`` (``opened_at``, ``id``); with ``opened_since``, only those opened then or
    later."""
    return alerts_page(
        session, AlertRow.patient_id == patient_id, state, limit, after, opened_since=opened_since
    )


def scoped_alerts(
    session: Session,
    scope: Any,
    state: AlertStateFilter,
    limit: int,
    after: tuple[datetime, str] | None,
    *,
    opened_since: datetime | None = None,
) -> Sequence[AlertRow]:
    """:func:`patient_alerts` across the patients ``scope`` (a WHERE clause on ``PatientRow``)
    lets the caller see."""
    patients = select(PatientRow.id).where(scope)
    return alerts_page(
        session, AlertRow.patient_id.in_(patients), state, limit, after, opened_since=opened_since
    )


def alerts_page(
    session: Session,
    where: Any,
    state: AlertStateFilter,
    limit: int,
    after: tuple[datetime, str] | None,
    *,
    opened_since: datetime | None,
) -> Sequence[AlertRow]:
    query = select(AlertRow).where(where)
    match state:
        case AlertStateFilter.UNRESOLVED:
            query = query.where(AlertRow.state != AlertState.RESOLVED.value)
        case AlertStateFilter.ALL:
            pass
        case _:
            query = query.where(AlertRow.state == state.value)
    if opened_since is not None:
        query = query.where(AlertRow.opened_at >= opened_since)
    if after is not None:
        at, alert_id = after
        query = query.where(
            or_(AlertRow.opened_at < at, and_(AlertRow.opened_at == at, AlertRow.id < alert_id))
        )
    return session.scalars(
        query.order_by(AlertRow.opened_at.desc(), AlertRow.id.desc()).limit(limit + 1)
    ).all()


def events(session: Session, alert_ids: Sequence[str]) -> dict[str, list[AlertEventRow]]:
    """The history of each of ``alert_ids``, oldest first (one query for them all)."""
    found: dict[str, list[AlertEventRow]] = {alert_id: [] for alert_id in alert_ids}
    if not alert_ids:
        return found
    rows = session.scalars(
        select(AlertEventRow)
        .where(among(session, AlertEventRow.alert_id, alert_ids))
        .order_by(AlertEventRow.alert_id, AlertEventRow.at, AlertEventRow.id)
    ).all()
    for row in rows:
        found[row.alert_id].append(row)
    return found


def actions(
    session: Session, alert_ids: Sequence[str]
) -> dict[str, list[tuple[AlertActionRow, str | None]]]:
    """The actions recorded on each of ``alert_ids``, oldest first, each with the nurse's
    username (one query for them all)."""
    found: dict[str, list[tuple[AlertActionRow, str | None]]] = {a: [] for a in alert_ids}
    if not alert_ids:
        return found
    rows = session.execute(
        select(AlertActionRow, UserRow.username)
        .outerjoin(UserRow, UserRow.id == AlertActionRow.by)
        .where(among(session, AlertActionRow.alert_id, alert_ids))
        .order_by(AlertActionRow.alert_id, AlertActionRow.at, AlertActionRow.id)
    ).all()
    for action, username in rows:
        found[action.alert_id].append((action, username))
    return found


def centre_nurse(session: Session, user_id: str, centre_id: str) -> UserRow | None:
    """The user if they are an active nurse of ``centre_id``."""
    return session.scalars(
        select(UserRow)
        .join(MembershipRow, MembershipRow.user_id == UserRow.id)
        .where(
            UserRow.id == user_id,
            UserRow.role == Role.NURSE.value,
            UserRow.active.is_(True),
            MembershipRow.centre_id == centre_id,
        )
    ).first()


def write_alert(row: AlertRow, alert: Alert) -> None:
    """Copy what a person's transition changes (state and its stamps) onto the row."""
    row.state = alert.state.value
    row.acknowledged_at = alert.acknowledged_at
    row.acknowledged_by = alert.acknowledged_by
    row.resolved_at = alert.resolved_at
    row.resolved_by = alert.resolved_by


# ----------------------------------------------------------------------------- greens


def greens_waiting(
    session: Session, through: datetime, *, patient_ids: Sequence[str] | None, scope: Any
) -> dict[str, tuple[int, datetime | None]]:
    """Per patient with green readings waiting (measured after the patient's latest
    acknowledgement's ``through``, and at or before ``through``): how many, and the previous
    ``through`` (None for a first acknowledgement). ``patient_ids`` narrows to those patients,
    ``scope`` is a WHERE clause on ``PatientRow`` (the caller's list scope)."""
    acknowledged = select(
        GreenAcknowledgementRow.patient_id,
        func.max(GreenAcknowledgementRow.through).label("through"),
    ).group_by(GreenAcknowledgementRow.patient_id)
    if patient_ids is not None:
        acknowledged = acknowledged.where(
            among(session, GreenAcknowledgementRow.patient_id, patient_ids)
        )
    previous = acknowledged.subquery()
    query = (
        select(ReadingRow.patient_id, func.count(), func.max(previous.c.through))
        .join(PatientRow, PatientRow.id == ReadingRow.patient_id)
        .outerjoin(previous, previous.c.patient_id == ReadingRow.patient_id)
        .where(
            scope,
            ReadingRow.colour == Colour.GREEN.value,
            ReadingRow.measured_at <= through,
            or_(previous.c.through.is_(None), ReadingRow.measured_at > previous.c.through),
        )
        .group_by(ReadingRow.patient_id)
    )
    if patient_ids is not None:
        query = query.where(among(session, ReadingRow.patient_id, patient_ids))
    return {
        patient_id: (int(count), last) for patient_id, count, last in session.execute(query).all()
    }
