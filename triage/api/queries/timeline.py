"""A patient's data over time: readings, reports, and the timeline that merges them with what
happened to the patient's alerts — each newest first, one keyset page at a time.

Every query here is for one patient and a time range, on the ``(patient_id, measured_at)`` /
``(patient_id, answered_at)`` indexes and the alerts' patient index, fetching at most one page
(plus one, to know whether there is more) from each source.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import Any, TypeVar

from sqlalchemy import and_, or_, select
from sqlalchemy.orm import Session

from triage.storage.models import (
    AlertActionRow,
    AlertEventRow,
    AlertRow,
    ReadingRow,
    ReportRow,
)

_Row = TypeVar("_Row", ReadingRow, ReportRow)


@dataclass(frozen=True, slots=True)
class Position:
    """A keyset position in a newest-first list: the time, the item's type and its id."""

    at: datetime
    type: str
    id: str | int

    def as_cursor(self) -> dict[str, Any]:
        return {"at": self.at.isoformat(), "type": self.type, "id": self.id}

    @classmethod
    def from_cursor(cls, position: dict[str, Any]) -> Position:
        """The position a cursor names; ``ValueError`` when it names none."""
        at, type_, id_ = position.get("at"), position.get("type"), position.get("id")
        if not isinstance(at, str) or not isinstance(type_, str) or type_ not in _ID_TYPES:
            raise ValueError("not a position")
        if not isinstance(id_, str | int) or type(id_) is not _ID_TYPES[type_]:
            raise ValueError("not a position")
        moment = datetime.fromisoformat(at)
        if moment.tzinfo is None:
            raise ValueError("not a position")
        return cls(moment, type_, id_)


#: The item types of the timeline and the type of their ids.
_ID_TYPES: dict[str, type] = {
    "reading": str,
    "report": str,
    "alert_event": int,
    "alert_action": int,
}


def _before(time_column: Any, id_column: Any, type_: str, after: Position | None) -> list[Any]:
    """Rows of type ``type_`` that come after ``after`` in the order (time, type, id), all
    descending: earlier times; at the same time, a type that sorts before, or the same type
    with a smaller id."""
    if after is None:
        return []
    if type_ < after.type:
        return [time_column <= after.at]
    if type_ > after.type:
        return [time_column < after.at]
    return [
        or_(time_column < after.at, and_(time_column == after.at, id_column < after.id)),
    ]


def _patient_page(
    session: Session,
    model: type[_Row],
    time_column: Any,
    type_: str,
    patient_id: str,
    since: datetime,
    until: datetime,
    filters: list[Any],
    after: Position | None,
    limit: int,
) -> list[_Row]:
    """Up to ``limit + 1`` of the patient's ``model`` rows timed in [since, until] by
    ``time_column``, newest first, after keyset position ``after``."""
    id_column = model.id
    statement = select(model).where(
        model.patient_id == patient_id,
        time_column >= since,
        time_column <= until,
        *_before(time_column, id_column, type_, after),
        *filters,
    )
    return list(
        session.scalars(statement.order_by(time_column.desc(), id_column.desc()).limit(limit + 1))
    )


def readings_page(
    session: Session,
    patient_id: str,
    since: datetime,
    until: datetime,
    *,
    kind: str | None = None,
    after: Position | None = None,
    limit: int,
) -> list[ReadingRow]:
    """Up to ``limit + 1`` of the patient's readings measured in [since, until], newest first."""
    filters = [] if kind is None else [ReadingRow.kind == kind]
    return _patient_page(
        session,
        ReadingRow,
        ReadingRow.measured_at,
        "reading",
        patient_id,
        since,
        until,
        filters,
        after,
        limit,
    )


def reports_page(
    session: Session,
    patient_id: str,
    since: datetime,
    until: datetime,
    *,
    questionnaire: str | None = None,
    after: Position | None = None,
    limit: int,
) -> list[ReportRow]:
    """Up to ``limit + 1`` of the patient's reports answered in [since, until], newest first."""
    filters = [] if questionnaire is None else [ReportRow.questionnaire == questionnaire]
    return _patient_page(
        session,
        ReportRow,
        ReportRow.answered_at,
        "report",
        patient_id,
        since,
        until,
        filters,
        after,
        limit,
    )


def alert_events_page(
    session: Session,
    patient_id: str,
    since: datetime,
    until: datetime,
    *,
    after: Position | None = None,
    limit: int,
) -> list[tuple[AlertEventRow, str]]:
    """Up to ``limit + 1`` events of the patient's alerts in [since, until], newest first, each
    with its alert's rule id."""
    events = AlertEventRow
    rows = session.execute(
        select(events, AlertRow.rule_id)
        .join(AlertRow, AlertRow.id == events.alert_id)
        .where(
            AlertRow.patient_id == patient_id,
            events.at >= since,
            events.at <= until,
            *_before(events.at, events.id, "alert_event", after),
        )
        .order_by(events.at.desc(), events.id.desc())
        .limit(limit + 1)
    ).all()
    return [(row[0], row[1]) for row in rows]


def alert_actions_page(
    session: Session,
    patient_id: str,
    since: datetime,
    until: datetime,
    *,
    after: Position | None = None,
    limit: int,
) -> list[AlertActionRow]:
    """Up to ``limit + 1`` actions nurses recorded on the patient's alerts in [since, until],
    newest first."""
    actions = AlertActionRow
    return list(
        session.scalars(
            select(actions)
            .where(
                actions.patient_id == patient_id,
                actions.at >= since,
                actions.at <= until,
                *_before(actions.at, actions.id, "alert_action", after),
            )
            .order_by(actions.at.desc(), actions.id.desc())
            .limit(limit + 1)
        )
    )


@dataclass(frozen=True, slots=True)
class TimelineRows:
    """One timeline page: the rows in order (each a reading, report, (event, rule id) or
    action row) with their positions, and whether more follow."""

    rows: list[tuple[Position, Any]]
    more: bool


def timeline_page(
    session: Session,
    patient_id: str,
    since: datetime,
    until: datetime,
    *,
    after: Position | None,
    limit: int,
) -> TimelineRows:
    """The patient's readings, reports, alert events and alert actions in [since, until],
    merged newest first (ties: by type, then id), at most ``limit`` after ``after``."""
    window = (session, patient_id, since, until)
    merged: list[tuple[Position, Any]] = []
    merged += [
        (Position(r.measured_at, "reading", r.id), r)
        for r in readings_page(*window, after=after, limit=limit)
    ]
    merged += [
        (Position(r.answered_at, "report", r.id), r)
        for r in reports_page(*window, after=after, limit=limit)
    ]
    merged += [
        (Position(e.at, "alert_event", e.id), (e, rule_id))
        for e, rule_id in alert_events_page(*window, after=after, limit=limit)
    ]
    merged += [
        (Position(a.at, "alert_action", a.id), a)
        for a in alert_actions_page(*window, after=after, limit=limit)
    ]
    merged.sort(key=lambda item: (item[0].at, item[0].type, item[0].id), reverse=True)
    return TimelineRows(merged[:limit], len(merged) > limit)
