"""What the worklist says about staffed hours, from each centre's service calendar as the API
answers it (``GET /service-hours``): closed now, when it opens and where unacknowledged reds
really go meanwhile (``GET /centres/{id}/escalation``), a holiday today, the next closed weekday,
and what arrived since the centre last closed.

Pure: API data and ``now`` in, words out (``tests/unit/test_dashboard_staffed_hours.py``).
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from datetime import date, datetime, timedelta
from zoneinfo import ZoneInfo

from dashboard.api_client import CentreEscalation, ClosedDay, ServiceHours, WorklistItem
from dashboard.i18n import Language, t
from dashboard.presenters import OSLO, closed_hours, local_time

#: how far ahead a closed weekday is mentioned on the worklist
CLOSED_DAY_NOTICE = timedelta(days=14)

_WEEKDAYS: dict[Language, tuple[str, ...]] = {
    "nb": ("mandag", "tirsdag", "onsdag", "torsdag", "fredag", "lørdag", "søndag"),
    "en": ("Monday", "Tuesday", "Wednesday", "Thursday", "Friday", "Saturday", "Sunday"),
}


def day_words(day: date, today: date, language: Language) -> str:
    """ "i dag", "i morgen", or "fredag 25.12" (English: "today", "tomorrow", "Friday 25.12")."""
    if day == today:
        return t("today", language)
    if day == today + timedelta(days=1):
        return t("tomorrow", language)
    return f"{_WEEKDAYS[language][day.weekday()]} {day:%d.%m}"


def when_words(at: datetime, now: datetime, language: Language, zone: ZoneInfo = OSLO) -> str:
    """An instant as a nurse says it: "i dag 08:00", "i morgen 07:30", "fredag 20.11 15:00"."""
    local = local_time(at, zone)
    today = local_time(now, zone).date()
    return f"{day_words(local.date(), today, language)} {local:%H:%M}"


def closed_day_name(day: ClosedDay, language: Language) -> str:
    """The holiday's name, or "lokal stengning" for a day the centre itself closes."""
    if day.name is None:
        return t("local_closure", language)
    return day.name.en if language == "en" else day.name.nb


@dataclass(frozen=True)
class HoursNotice:
    """What the worklist shows about one centre's hours."""

    centre_id: str
    open_now: bool
    headline: str  # closed: the warning; open: today's hours
    closed_today: str | None  # the holiday (or local closure) that closes a usual weekday today
    next_closed_day: str | None  # a closed weekday coming soon
    problem: str | None  # the API could not read the centre's calendar
    nobody_after_hours: bool = False  # closed, and no after-hours receiver is set up


def hours_notice(
    hours: ServiceHours,
    now: datetime,
    language: Language,
    *,
    name_centre: bool,
    escalation: CentreEscalation | None = None,
) -> HoursNotice:
    """The notice for one centre; ``name_centre`` when the nurse works for several. Closed,
    it says where unacknowledged reds go from the centre's ``escalation`` settings (None: they
    could not be read, and nothing is promised)."""
    zone = _zone(hours)
    centre = f" — {hours.centre_name}" if name_centre else ""
    nobody = False
    if hours.open_now:
        headline = t(
            "staffed_today",
            language,
            centre=centre,
            opens=f"{hours.opens:%H:%M}",
            closes=f"{hours.closes:%H:%M}",
        )
    else:
        closed = closed_hours(
            escalation, centre, when_words(hours.next_opening, now, language, zone), language
        )
        headline, nobody = closed.text, closed.warning
    today = local_time(now, zone).date()
    closed_today = (
        t("closed_today", language, name=closed_day_name(hours.today_closed, language))
        if hours.today_closed is not None
        else None
    )
    coming = [d for d in hours.closed_days if today < d.date <= today + CLOSED_DAY_NOTICE]
    next_closed = (
        t(
            "next_closed_day",
            language,
            when=day_words(coming[0].date, today, language),
            name=closed_day_name(coming[0], language),
        )
        if coming
        else None
    )
    return HoursNotice(
        centre_id=hours.centre_id,
        open_now=hours.open_now,
        headline=headline,
        closed_today=closed_today,
        next_closed_day=next_closed,
        problem=hours.calendar_problem,
        nobody_after_hours=nobody,
    )


def hours_notices(
    centres: Sequence[ServiceHours],
    now: datetime,
    language: Language,
    escalations: Mapping[str, CentreEscalation | None] | None = None,
) -> list[HoursNotice]:
    """A notice per centre the nurse works for, closed centres first (``escalations``: each
    centre's settings by centre id, None where they could not be read)."""
    many = len(centres) > 1
    found = escalations or {}
    notices = [
        hours_notice(h, now, language, name_centre=many, escalation=found.get(h.centre_id))
        for h in centres
    ]
    return sorted(notices, key=lambda n: n.open_now)


@dataclass(frozen=True)
class SinceClosing:
    """What arrived at one open centre since it last closed."""

    centre_id: str
    closed_at: datetime
    items: tuple[WorklistItem, ...]


def since_closing(
    centres: Iterable[ServiceHours], items: Sequence[WorklistItem]
) -> list[SinceClosing]:
    """For each centre that is open now: its patients with an alert opened at or after the
    centre's last closing (the night, the weekend, a holiday), in worklist order; centres with
    nothing new are left out."""
    found = []
    for hours in centres:
        if not hours.open_now:
            continue
        arrived = tuple(
            i
            for i in items
            if i.centre_id == hours.centre_id
            and any(a.opened_at >= hours.last_closing for a in i.alerts)
        )
        if arrived:
            found.append(SinceClosing(hours.centre_id, hours.last_closing, arrived))
    return found


def _zone(hours: ServiceHours) -> ZoneInfo:
    try:
        return ZoneInfo(hours.timezone)
    except (ValueError, KeyError):
        return OSLO
