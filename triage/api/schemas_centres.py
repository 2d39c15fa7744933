"""API schemas of the caller's own follow-up centres: the colleagues an alert may be assigned to,
and when the centre is staffed (distinct from the table rows and the domain's
:class:`~triage.domain.service_hours.ServiceCalendar`)."""

from __future__ import annotations

import datetime as dt

from pydantic import AwareDatetime, BaseModel, ConfigDict, Field

from triage.domain.colours import Text


class Colleague(BaseModel):
    """An active nurse of one of the caller's centres: no more than an assignment needs."""

    model_config = ConfigDict(frozen=True)

    user_id: str
    display_name: str


class ClosedDay(BaseModel):
    """A usual weekday on which the centre is closed."""

    model_config = ConfigDict(frozen=True)

    date: dt.date = Field(description="the local date")
    name: Text | None = Field(
        description="the public holiday's name (bokmål and English); null for a day the "
        "centre itself closes (its calendar's closed_dates)"
    )


class ServiceHours(BaseModel):
    """When one of the caller's follow-up centres is staffed, answered at the API's now."""

    model_config = ConfigDict(frozen=True)

    centre_id: str
    centre_name: str
    timezone: str = Field(description="the IANA zone of the opening hours")
    opens: dt.time = Field(description="local opening time on a staffed day")
    closes: dt.time = Field(description="local closing time on a staffed day (closed from then)")
    weekdays: list[int] = Field(description="ISO weekdays usually staffed (1 = Monday)")
    open_now: bool
    today: dt.date = Field(description="today's local date")
    today_opens_at: AwareDatetime | None = Field(description="null when today is not staffed")
    today_closes_at: AwareDatetime | None = Field(description="null when today is not staffed")
    today_closed: ClosedDay | None = Field(
        description="why a usual weekday is closed today (a holiday, a local closure)"
    )
    next_opening: AwareDatetime = Field(description="now while open; else the next opening")
    last_closing: AwareDatetime = Field(
        description="the end of the latest staffed period before now: 'what arrived since we "
        "closed' starts here"
    )
    closed_days: list[ClosedDay] = Field(
        description="the public holidays and local closures on usual weekdays from today for "
        "a year, oldest first"
    )
    calendar_problem: str | None = Field(
        description="the stored calendar could not be read, so the defaults (weekdays 08–15, "
        "Norwegian holidays) are shown; an administrator should fix the centre's calendar"
    )
