"""A patient's data: readings, reports and the timeline (``/patients/{id}/…``), and the dead
letters of messages that could not be stored (``/dead-letters``, admins).

Times are UTC. Lists are newest first with keyset cursors, so a page never skips or repeats an
item when new data arrives while someone pages.
"""

from __future__ import annotations

from datetime import datetime, timedelta
from typing import Annotated, Any

from fastapi import APIRouter, Query
from pydantic import AwareDatetime
from sqlalchemy import select
from sqlalchemy.orm import Session

from triage.api.errors import ApiError
from triage.api.pages import (
    CursorQuery,
    InvalidCursorError,
    LimitQuery,
    Page,
    decode_cursor,
    encode_cursor,
)
from triage.api.people import Caller, CallerDep, require_role
from triage.api.queries.people import People, people
from triage.api.queries.timeline import (
    Position,
    readings_page,
    reports_page,
    timeline_page,
)
from triage.api.schemas_patients import (
    DeadLetterRead,
    FindingRead,
    ReadingRead,
    ReportRead,
    TimelineAlertAction,
    TimelineAlertEvent,
    TimelineItem,
    TimelineReading,
    TimelineReport,
)
from triage.domain.access import Permission, Role
from triage.domain.alerts import AlertState
from triage.domain.colours import Colour
from triage.domain.readings import Kind
from triage.storage.models import (
    AlertActionRow,
    AlertEventRow,
    DeadLetterRow,
    ReadingRow,
    ReportRow,
)

router = APIRouter(tags=["data"])

#: The default time range of the readings and reports lists, and of the timeline.
DATA_DAYS = 30
TIMELINE_DAYS = 90
#: How much of a dead letter's payload is shown.
PAYLOAD_SHOWN = 2048

_READ_ERRORS: dict[int | str, dict[str, Any]] = {
    400: {"description": "An invalid cursor, or `since` not before `until`."},
    401: {"description": "Not logged in."},
    403: {"description": "Not the caller's patient (audited)."},
    404: {"description": "No such patient (audited)."},
}

SinceQuery = Annotated[
    AwareDatetime | None, Query(description="from this time (UTC offset required)")
]
UntilQuery = Annotated[AwareDatetime | None, Query(description="up to this time; default now")]


def _range(
    caller: Caller, since: datetime | None, until: datetime | None, days: int
) -> tuple[datetime, datetime]:
    end = until or caller.now
    start = since or end - timedelta(days=days)
    if start >= end:
        raise ApiError(400, "`since` must be before `until`")
    return start, end


def _position(cursor: str | None, *types: str) -> Position | None:
    position = decode_cursor(cursor)
    if position is None:
        return None
    try:
        found = Position.from_cursor(position)
    except ValueError as err:
        raise InvalidCursorError from err
    if found.type not in types:
        raise InvalidCursorError("it belongs to another list")
    return found


def _findings(stored: list[Any]) -> list[FindingRead]:
    return [FindingRead.model_validate(f) for f in stored]


def _reading(row: ReadingRow) -> dict[str, Any]:
    return {
        "id": row.id,
        "kind": row.kind,
        "values": row.values,
        "device": row.device,
        "measured_at": row.measured_at,
        "received_at": row.received_at,
        "colour": row.colour,
        "findings": _findings(row.findings),
        "flags": [str(f) for f in row.flags],
        "plan_id": row.plan_id,
        "plan_version": row.plan_version,
    }


def _report(row: ReportRow) -> dict[str, Any]:
    return {
        "id": row.id,
        "questionnaire": row.questionnaire,
        "answers": row.answers,
        "answered_at": row.answered_at,
        "received_at": row.received_at,
        "score": row.score,
        "colour": row.colour,
        "findings": _findings(row.findings),
        "flags": [str(f) for f in row.flags],
        "plan_id": row.plan_id,
        "plan_version": row.plan_version,
    }


def _next(more: bool, position: Position | None) -> str | None:
    return encode_cursor(position.as_cursor()) if more and position is not None else None


# ----------------------------------------------------------------------------- readings, reports


@router.get(
    "/patients/{patient_id}/readings", response_model=Page[ReadingRead], responses=_READ_ERRORS
)
def readings(
    patient_id: str,
    caller: CallerDep,
    since: SinceQuery = None,
    until: UntilQuery = None,
    kind: Annotated[Kind | None, Query(description="only readings of this kind")] = None,
    limit: LimitQuery = 50,
    cursor: CursorQuery = None,
) -> Page[ReadingRead]:
    """The patient's readings measured between `since` (default: 30 days before `until`) and
    `until` (default: now), newest first: values, colour, the findings that explain the colour,
    data-quality flags and the plan version used. Audited."""
    start, end = _range(caller, since, until, DATA_DAYS)
    after = _position(cursor, "reading")
    with caller.sessions.begin() as session:
        caller.patient(
            session,
            patient_id,
            Permission.READ,
            "read",
            object_type="readings",
            details=_window(start, end, kind=kind.value if kind else None),
        )
        rows = readings_page(
            session,
            patient_id,
            start,
            end,
            kind=kind.value if kind else None,
            after=after,
            limit=limit,
        )
        shown = rows[:limit]
        items = [ReadingRead(**_reading(row)) for row in shown]
    last = Position(shown[-1].measured_at, "reading", shown[-1].id) if shown else None
    return Page[ReadingRead](items=items, next_cursor=_next(len(rows) > limit, last))


@router.get(
    "/patients/{patient_id}/reports", response_model=Page[ReportRead], responses=_READ_ERRORS
)
def reports(
    patient_id: str,
    caller: CallerDep,
    since: SinceQuery = None,
    until: UntilQuery = None,
    questionnaire: Annotated[
        str | None, Query(max_length=64, description="only answers to this questionnaire")
    ] = None,
    limit: LimitQuery = 50,
    cursor: CursorQuery = None,
) -> Page[ReportRead]:
    """The patient's questionnaire answers given between `since` (default: 30 days before
    `until`) and `until` (default: now), newest first, with score, colour, findings and flags.
    Audited."""
    start, end = _range(caller, since, until, DATA_DAYS)
    after = _position(cursor, "report")
    with caller.sessions.begin() as session:
        caller.patient(
            session,
            patient_id,
            Permission.READ,
            "read",
            object_type="reports",
            details=_window(start, end, questionnaire=questionnaire),
        )
        rows = reports_page(
            session,
            patient_id,
            start,
            end,
            questionnaire=questionnaire,
            after=after,
            limit=limit,
        )
        shown = rows[:limit]
        items = [ReportRead(**_report(row)) for row in shown]
    last = Position(shown[-1].answered_at, "report", shown[-1].id) if shown else None
    return Page[ReportRead](items=items, next_cursor=_next(len(rows) > limit, last))


# ----------------------------------------------------------------------------- timeline


@router.get(
    "/patients/{patient_id}/timeline",
    response_model=Page[TimelineItem],
    responses=_READ_ERRORS,
)
def timeline(
    patient_id: str,
    caller: CallerDep,
    since: SinceQuery = None,
    until: UntilQuery = None,
    limit: LimitQuery = 50,
    cursor: CursorQuery = None,
) -> Page[TimelineItem]:
    """Everything about the patient between `since` (default: 90 days before `until`) and
    `until` (default: now), newest first: readings, questionnaire reports, what happened to
    their alerts (opened, raised, back in range, acknowledged, escalated, resolved) and the
    actions nurses recorded. Each item's `type` says which it is. Audited."""
    start, end = _range(caller, since, until, TIMELINE_DAYS)
    after = _position(cursor, "reading", "report", "alert_event", "alert_action")
    with caller.sessions.begin() as session:
        caller.patient(
            session,
            patient_id,
            Permission.READ,
            "read",
            object_type="timeline",
            details=_window(start, end),
        )
        page = timeline_page(session, patient_id, start, end, after=after, limit=limit)
        found = _timeline_people(session, [row for _, row in page.rows])
        items = [_timeline_item(row, found) for _, row in page.rows]
    last = page.rows[-1][0] if page.rows else None
    return Page[TimelineItem](items=items, next_cursor=_next(page.more, last))


def _timeline_people(session: Session, rows: list[Any]) -> People:
    """The nurses of the page's actions and the people of its alert events (one query)."""
    return people(
        session,
        usernames=[row[0].by for row in rows if isinstance(row, tuple)],
        user_ids=[row.by for row in rows if isinstance(row, AlertActionRow)],
    )


def _timeline_item(row: Any, found: People) -> TimelineItem:
    if isinstance(row, ReadingRow):
        return TimelineReading(**_reading(row), at=row.measured_at)
    if isinstance(row, ReportRow):
        return TimelineReport(**_report(row), at=row.answered_at)
    if isinstance(row, AlertActionRow):
        return TimelineAlertAction(
            at=row.at,
            id=row.id,
            alert_id=row.alert_id,
            by=row.by,
            by_person=found.with_id(row.by),
            outcome=row.outcome,
            note=row.note,
        )
    event, rule_id = row
    assert isinstance(event, AlertEventRow)  # noqa: S101 - the only other kind of row
    return TimelineAlertEvent(
        at=event.at,
        id=event.id,
        alert_id=event.alert_id,
        rule_id=rule_id,
        event=event.event,
        by=event.by,
        by_person=found.named(event.by),
        from_state=AlertState(event.from_state) if event.from_state else None,
        to_state=AlertState(event.to_state),
        colour=Colour(event.colour),
        note=event.note,
    )


def _window(start: datetime, end: datetime, **filters: str | None) -> dict[str, Any]:
    return {
        "since": start.isoformat(),
        "until": end.isoformat(),
        **{key: value for key, value in filters.items() if value is not None},
    }


# ----------------------------------------------------------------------------- dead letters


@router.get(
    "/dead-letters",
    response_model=Page[DeadLetterRead],
    responses={401: {"description": "Not logged in."}, 403: {"description": "Not an admin."}},
)
def dead_letters(
    caller: CallerDep,
    reason_code: Annotated[
        str | None, Query(max_length=40, description="e.g. `schema`, `unknown_gateway`")
    ] = None,
    since: Annotated[AwareDatetime | None, Query(description="received from this time")] = None,
    limit: LimitQuery = 50,
    cursor: CursorQuery = None,
) -> Page[DeadLetterRead]:
    """Messages the service could not store, newest first, with the reason and the start of
    the payload (as UTF-8 text, invalid bytes replaced, at most 2 KiB). Admins only; audited."""
    require_role(caller, Role.ADMIN, action="list", object_type="dead_letters")
    position = decode_cursor(cursor)
    before = position.get("id") if position else None
    if position is not None and type(before) is not int:
        raise InvalidCursorError
    statement = select(DeadLetterRow)
    if reason_code is not None:
        statement = statement.where(DeadLetterRow.reason_code == reason_code)
    if since is not None:
        statement = statement.where(DeadLetterRow.received_at >= since)
    if before is not None:
        statement = statement.where(DeadLetterRow.id < before)
    with caller.sessions.begin() as session:
        rows = list(session.scalars(statement.order_by(DeadLetterRow.id.desc()).limit(limit + 1)))
        shown = rows[:limit]
        caller.audit(
            session,
            "list",
            "dead_letters",
            None,
            None,
            details={
                "count": len(shown),
                **({"reason_code": reason_code} if reason_code else {}),
                **({"since": since.isoformat()} if since else {}),
            },
        )
        items = [_dead_letter(row) for row in shown]
    more = len(rows) > limit
    return Page[DeadLetterRead](
        items=items, next_cursor=encode_cursor({"id": shown[-1].id}) if more else None
    )


def _dead_letter(row: DeadLetterRow) -> DeadLetterRead:
    payload = bytes(row.payload)
    return DeadLetterRead(
        id=row.id,
        received_at=row.received_at,
        source=row.source,
        topic=row.topic,
        gateway_id=row.gateway_id,
        message_id=row.message_id,
        reason_code=row.reason_code,
        reason=row.reason,
        payload=payload[:PAYLOAD_SHOWN].decode("utf-8", errors="replace"),
        payload_bytes=len(payload),
        payload_truncated=len(payload) > PAYLOAD_SHOWN,
    )
