"""The caller's own follow-up centres: their active nurses (whom an alert may be assigned to) and
their staffed hours at a given instant."""

from __future__ import annotations

from collections.abc import Iterable
from datetime import datetime, timedelta

from pydantic import ValidationError
from sqlalchemy import select
from sqlalchemy.orm import Session

from triage.api.schemas_centres import ClosedDay, Colleague, ServiceHours
from triage.domain.access import Role
from triage.domain.service_hours import ServiceCalendar, ServiceCalendarError
from triage.storage.models import CentreRow, MembershipRow, UserRow
from triage.storage.repositories import centre_calendar

#: how far ahead ``closed_days`` looks
CLOSED_DAYS_AHEAD = timedelta(days=365)


def colleagues(
    session: Session, centre_ids: Iterable[str], *, offset: int, limit: int
) -> list[Colleague]:
    """The active nurses of any of ``centre_ids``, by display name, each once; ``limit`` from
    ``offset`` (fetch ``limit + 1`` to see whether there are more)."""
    members = select(MembershipRow.user_id).where(MembershipRow.centre_id.in_(sorted(centre_ids)))
    rows = session.execute(
        select(UserRow.id, UserRow.display_name)
        .where(
            UserRow.id.in_(members),
            UserRow.role == Role.NURSE.value,
            UserRow.active.is_(True),
        )
        .order_by(UserRow.display_name, UserRow.id)
        .offset(offset)
        .limit(limit)
    ).all()
    return [Colleague(user_id=user_id, display_name=name) for user_id, name in rows]


def service_hours(session: Session, centre_ids: Iterable[str], now: datetime) -> list[ServiceHours]:
    """The staffed hours of each of ``centre_ids`` at ``now``, by centre name."""
    rows = session.scalars(
        select(CentreRow).where(CentreRow.id.in_(sorted(centre_ids))).order_by(CentreRow.name)
    ).all()
    return [hours_at(row, now) for row in rows]


def hours_at(centre: CentreRow, now: datetime) -> ServiceHours:
    """One centre's staffed hours at ``now``. A stored calendar that cannot be read gives the
    defaults in the centre's zone, with the reason in ``calendar_problem`` (as the escalation
    job does: it escalates by the defaults then)."""
    problem: str | None = None
    try:
        calendar = centre_calendar(centre)
    except ValidationError as err:
        problem = (
            f"the service calendar of centre {centre.id} cannot be read "
            f"({err.error_count()} error(s): {err.errors()[0]['msg']}); showing the defaults"
        )
        calendar = ServiceCalendar(timezone=centre.timezone)
    today = now.astimezone(calendar.zone).date()
    staffed = calendar.is_staffed_day(today)
    closed = [
        ClosedDay(date=day, name=name)
        for day, name in calendar.closed_days(today, today + CLOSED_DAYS_AHEAD)
    ]
    try:
        next_opening = calendar.next_opening(now)
        last_closing = calendar.last_closing(now)
    except ServiceCalendarError as err:
        # a calendar with no staffed day for years: say so, with the defaults' answers
        problem = f"the service calendar of centre {centre.id}: {err}; showing the defaults"
        fallback = ServiceCalendar(timezone=centre.timezone)
        next_opening, last_closing = fallback.next_opening(now), fallback.last_closing(now)
    return ServiceHours(
        centre_id=centre.id,
        centre_name=centre.name,
        timezone=calendar.timezone,
        opens=calendar.opens,
        closes=calendar.closes,
        weekdays=list(calendar.weekdays),
        open_now=calendar.is_open(now),
        today=today,
        today_opens_at=calendar.opening_on(today) if staffed else None,
        today_closes_at=calendar.closing_on(today) if staffed else None,
        today_closed=next((day for day in closed if day.date == today), None),
        next_opening=next_opening,
        last_closing=last_closing,
        closed_days=closed,
        calendar_problem=problem,
    )
