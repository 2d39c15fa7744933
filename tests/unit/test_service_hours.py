"""The service calendar: staffed weekdays 08:00–15:00 Oslo time, closed on public holidays."""

from __future__ import annotations

from collections.abc import Callable
from datetime import UTC, date, datetime, time
from zoneinfo import ZoneInfo

import pytest
from pydantic import ValidationError

from triage.domain.service_hours import ServiceCalendar, ServiceCalendarError

OSLO = ZoneInfo("Europe/Oslo")
CAL = ServiceCalendar()


def oslo(y: int, mo: int, d: int, h: int = 0, mi: int = 0, s: int = 0) -> datetime:
    return datetime(y, mo, d, h, mi, s, tzinfo=OSLO)


def utc(y: int, mo: int, d: int, h: int = 0, mi: int = 0, s: int = 0) -> datetime:
    return datetime(y, mo, d, h, mi, s, tzinfo=UTC)


@pytest.mark.parametrize(
    ("at", "expected"),
    [
        (oslo(2026, 11, 18, 8, 0), True),  # Wednesday, opening minute
        (oslo(2026, 11, 18, 7, 59, 59), False),
        (oslo(2026, 11, 18, 7, 59), False),
        (oslo(2026, 11, 18, 14, 59), True),
        (oslo(2026, 11, 18, 14, 59, 59), True),
        (oslo(2026, 11, 18, 15, 0), False),  # closing minute is closed
        (oslo(2026, 11, 18, 11, 30), True),  # a normal weekday
        (oslo(2026, 11, 18, 23, 0), False),
        (oslo(2026, 11, 21, 10, 0), False),  # Saturday
        (oslo(2026, 11, 22, 10, 0), False),  # Sunday
        (oslo(2026, 11, 23, 10, 0), True),  # Monday
    ],
)
def test_opening_hours_edges(at: datetime, expected: bool) -> None:
    """The centre is staffed from 08:00 sharp until just before 15:00, Monday to Friday."""
    assert CAL.is_open(at) is expected


def _names(joined: str | None) -> set[str]:
    """Two holidays on one day come joined by "; " (in an order the package chooses)."""
    return set((joined or "").split("; "))


@pytest.mark.parametrize(
    ("day", "name_nb", "name_en"),
    [
        (date(2026, 1, 1), "Første nyttårsdag", "New Year's Day"),
        (date(2026, 4, 2), "Skjærtorsdag", "Maundy Thursday"),
        (date(2026, 4, 3), "Langfredag", "Good Friday"),
        (date(2026, 4, 6), "Andre påskedag", "Easter Monday"),
        (date(2026, 5, 1), "Arbeidernes dag", "Labor Day"),
        (date(2026, 5, 14), "Kristi himmelfartsdag", "Ascension Day"),
        (date(2026, 5, 17), "Grunnlovsdag", "Constitution Day"),
        (date(2026, 5, 25), "Andre pinsedag", "Pentecost Monday"),
        (date(2026, 12, 25), "Første juledag", "Christmas Day"),
        (date(2026, 12, 26), "Andre juledag", "Second Day of Christmas"),
        # 2027: Whit Monday falls on 17 May; both names are kept.
        (date(2027, 5, 17), "Andre pinsedag; Grunnlovsdag", "Pentecost Monday; Constitution Day"),
    ],
)
def test_norwegian_public_holidays_are_closed(day: date, name_nb: str, name_en: str) -> None:
    """No one is at the centre on a Norwegian public holiday, and the holiday is named."""
    assert CAL.is_holiday(day)
    text = CAL.holiday_text(day)
    assert text is not None
    assert _names(CAL.holiday_name(day)) == _names(text.nb) == _names(name_nb)
    assert _names(text.en) == _names(name_en)
    assert not CAL.is_staffed_day(day)
    assert not CAL.is_open(datetime.combine(day, time(10, 0), tzinfo=OSLO))


@pytest.mark.parametrize(
    "day",
    [
        date(2026, 3, 1),  # an ordinary Sunday
        date(2026, 3, 29),  # the Sunday of the DST change
        date(2026, 12, 24),  # Christmas Eve is not a public holiday
        date(2026, 12, 31),  # nor is New Year's Eve
        date(2026, 11, 18),  # an ordinary Wednesday
    ],
)
def test_ordinary_days_and_sundays_are_not_public_holidays(day: date) -> None:
    """Plain Sundays and the eves are not listed as public holidays (weekdays handle Sundays)."""
    assert not CAL.is_holiday(day)
    assert CAL.holiday_name(day) is None
    assert CAL.holiday_text(day) is None


def test_christmas_eve_is_an_ordinary_weekday_unless_closed_locally() -> None:
    """Christmas Eve 2026 (a Thursday) is staffed unless the centre lists it as closed."""
    assert CAL.is_open(oslo(2026, 12, 24, 10))
    local = ServiceCalendar(closed_dates=(date(2026, 12, 24), date(2026, 12, 31)))
    assert not local.is_open(oslo(2026, 12, 24, 10))
    assert local.next_opening(oslo(2026, 12, 23, 15)) == oslo(2026, 12, 28, 8)


@pytest.mark.parametrize(
    ("calendar", "at", "expected"),
    [
        (ServiceCalendar(closed_dates=(date(2026, 11, 18),)), oslo(2026, 11, 18, 10), False),
        (ServiceCalendar(open_dates=(date(2026, 11, 21),)), oslo(2026, 11, 21, 10), True),
        (ServiceCalendar(open_dates=(date(2026, 5, 17),)), oslo(2026, 5, 17, 10), True),
        (ServiceCalendar(open_dates=(date(2026, 12, 25),)), oslo(2026, 12, 25, 7, 59), False),
        (ServiceCalendar(weekdays=(1, 2, 3, 4, 5, 6)), oslo(2026, 11, 21, 10), True),
        (ServiceCalendar(opens=time(7, 30), closes=time(22, 0)), oslo(2026, 11, 18, 21), True),
    ],
)
def test_local_overrides(calendar: ServiceCalendar, at: datetime, expected: bool) -> None:
    """A centre can close an extra day, or staff a weekend or a holiday, by configuration."""
    assert calendar.is_open(at) is expected


@pytest.mark.parametrize(
    ("at", "expected"),
    [
        # Saturday before spring-forward (29 March): Monday 08:00 CEST = 06:00 UTC.
        (oslo(2026, 3, 28, 16), utc(2026, 3, 30, 6)),
        # Saturday before fall-back (25 October): Monday 08:00 CET = 07:00 UTC.
        (oslo(2026, 10, 24, 16), utc(2026, 10, 26, 7)),
        # Friday at closing → Monday morning.
        (oslo(2026, 11, 20, 15), oslo(2026, 11, 23, 8)),
        # Early morning → the same day's opening.
        (oslo(2026, 11, 18, 6, 15), oslo(2026, 11, 18, 8)),
        # Evening → the next morning.
        (oslo(2026, 11, 18, 19), oslo(2026, 11, 19, 8)),
        # Easter Saturday 2026 → Tuesday after Easter Monday.
        (oslo(2026, 4, 4, 12), oslo(2026, 4, 7, 8)),
        # Wednesday before Easter at closing → past Maundy Thursday to Easter Monday.
        (oslo(2026, 4, 1, 15), oslo(2026, 4, 7, 8)),
        # Day before 17 May (Saturday) → Monday 18 May.
        (oslo(2026, 5, 16, 9), oslo(2026, 5, 18, 8)),
        # Wednesday before Ascension → Friday.
        (oslo(2026, 5, 13, 15), oslo(2026, 5, 15, 8)),
        # Christmas: Thursday 24 Dec after closing → Monday 28 Dec (25th Fri, 26th Sat).
        (oslo(2026, 12, 24, 15), oslo(2026, 12, 28, 8)),
        # New Year's Eve after closing → Monday 4 January (1 January is a Friday).
        (oslo(2026, 12, 31, 15), oslo(2027, 1, 4, 8)),
    ],
)
def test_next_opening_when_closed(at: datetime, expected: datetime) -> None:
    """A closed centre tells when the next staffed period starts, in local wall-clock time."""
    opening = CAL.next_opening(at)
    assert opening == expected
    assert opening.tzinfo is not None
    assert opening.astimezone(OSLO).time() == time(8, 0)
    assert CAL.is_open(opening)
    assert not CAL.is_open(at)


def test_next_opening_when_open_is_the_instant_itself() -> None:
    """While the centre is open, the next opening is now, shown in Oslo time."""
    at = utc(2026, 11, 18, 9, 30)
    opening = CAL.next_opening(at)
    assert opening == at
    assert opening.tzinfo == OSLO


@pytest.mark.parametrize(
    ("at", "expected"),
    [
        # Monday 30 March 2026, first working day of summer time (UTC+2).
        (utc(2026, 3, 30, 5, 59, 59), False),
        (utc(2026, 3, 30, 6, 0), True),
        (utc(2026, 3, 30, 12, 59, 59), True),
        (utc(2026, 3, 30, 13, 0), False),
        # Friday 27 March, still winter time (UTC+1).
        (utc(2026, 3, 27, 6, 30), False),
        (utc(2026, 3, 27, 7, 0), True),
        (utc(2026, 3, 27, 13, 30), True),
        (utc(2026, 3, 27, 14, 0), False),
        # Monday 26 October 2026, first working day of winter time (UTC+1).
        (utc(2026, 10, 26, 6, 0), False),
        (utc(2026, 10, 26, 6, 59, 59), False),
        (utc(2026, 10, 26, 7, 0), True),
        (utc(2026, 10, 26, 13, 59, 59), True),
        (utc(2026, 10, 26, 14, 0), False),
    ],
)
def test_is_open_around_daylight_saving_changes(at: datetime, expected: bool) -> None:
    """Opening stays at 08:00 Oslo time when the clocks change, so the UTC hour moves."""
    assert CAL.is_open(at) is expected


def test_closes_at() -> None:
    """While open, the calendar tells when today's staffed period ends; closed, it says None."""
    assert CAL.closes_at(utc(2026, 10, 26, 9)) == utc(2026, 10, 26, 14)
    assert CAL.closes_at(utc(2026, 3, 30, 9)) == utc(2026, 3, 30, 13)
    assert CAL.closes_at(oslo(2026, 11, 21, 10)) is None


@pytest.mark.parametrize(
    "call",
    [
        lambda: CAL.is_open(datetime(2026, 11, 18, 10)),  # noqa: DTZ001
        lambda: CAL.next_opening(datetime(2026, 11, 18, 10)),  # noqa: DTZ001
        lambda: CAL.closes_at(datetime(2026, 11, 18, 10)),  # noqa: DTZ001
    ],
)
def test_naive_datetime_is_rejected(call: Callable[[], object]) -> None:
    """A time without a zone is an error, never silently read as Oslo or UTC."""
    with pytest.raises(ServiceCalendarError, match="naive"):
        call()


def test_naive_datetime_error_is_a_value_error() -> None:
    """Callers catching ValueError also catch a naive datetime."""
    with pytest.raises(ValueError, match="naive"):
        CAL.is_open(datetime(2026, 11, 18, 10))  # noqa: DTZ001


@pytest.mark.parametrize(
    "kwargs",
    [
        {"timezone": "Europe/Nowhere"},
        {"opens": time(15, 0), "closes": time(8, 0)},
        {"opens": time(8, 0), "closes": time(8, 0)},
        {"weekdays": (0, 1)},
        {"weekdays": (8,)},
        {"weekdays": ()},
        {"country": "XX"},
        {"closed_dates": (date(2026, 5, 18),), "open_dates": (date(2026, 5, 18),)},
        {"opens": time(8, 0, tzinfo=UTC)},
        {"unknown": 1},
    ],
)
def test_invalid_calendars_are_rejected(kwargs: dict[str, object]) -> None:
    """A calendar that cannot be right is refused when it is configured, not at 3 a.m."""
    with pytest.raises(ValidationError):
        ServiceCalendar.model_validate(kwargs)


def test_calendar_is_frozen() -> None:
    """The calendar cannot be changed under a running service."""
    with pytest.raises(ValidationError):
        CAL.closes = time(16, 0)  # type: ignore[misc]


def test_never_staffed_within_search_raises() -> None:
    """A calendar with only past extra days has no next opening, and says so."""
    calendar = ServiceCalendar(weekdays=(), open_dates=(date(2020, 1, 6),))
    with pytest.raises(ServiceCalendarError, match="no staffed day"):
        calendar.next_opening(oslo(2026, 1, 1))


def test_other_country_and_zone() -> None:
    """Another country's holidays and zone can be configured."""
    calendar = ServiceCalendar(country="SE", timezone="Europe/Stockholm")
    assert calendar.is_holiday(date(2026, 6, 6))  # Sweden's National Day
    assert not calendar.is_holiday(date(2026, 3, 1))  # a plain Sunday
    assert not CAL.is_holiday(date(2026, 6, 6))


@pytest.mark.parametrize(
    ("at", "expected"),
    [
        # Monday morning, open: what arrived since Friday's closing.
        (oslo(2026, 11, 23, 9, 30), oslo(2026, 11, 20, 15)),
        # Monday before opening: still Friday's closing.
        (oslo(2026, 11, 23, 7, 59), oslo(2026, 11, 20, 15)),
        # At the closing instant: that closing (it has happened).
        (oslo(2026, 11, 18, 15, 0), oslo(2026, 11, 18, 15)),
        # One second before closing: the centre is open, so the day before's closing.
        (oslo(2026, 11, 18, 14, 59, 59), oslo(2026, 11, 17, 15)),
        # Evening: today's closing.
        (oslo(2026, 11, 18, 21), oslo(2026, 11, 18, 15)),
        # Tuesday after Easter 2026: past Easter Monday, Good Friday and Maundy Thursday.
        (oslo(2026, 4, 7, 9), oslo(2026, 4, 1, 15)),
        # Monday after the fall-back weekend: Friday 15:00 CEST = 13:00 UTC.
        (utc(2026, 10, 26, 8), utc(2026, 10, 23, 13)),
    ],
)
def test_last_closing(at: datetime, expected: datetime) -> None:
    """'Since we closed' starts at the end of the last staffed period before now."""
    closing = CAL.last_closing(at)
    assert closing == expected
    assert closing.astimezone(OSLO).time() == time(15, 0)
    assert closing <= at


def test_last_closing_without_a_staffed_day_raises() -> None:
    """A calendar with only future extra days has no last closing, and says so."""
    calendar = ServiceCalendar(weekdays=(), open_dates=(date(2030, 1, 7),))
    with pytest.raises(ServiceCalendarError, match="no staffed day"):
        calendar.last_closing(oslo(2026, 1, 1))


def test_closed_days_lists_weekday_holidays_and_local_closures() -> None:
    """Christmas 2026: Christmas Eve (closed locally, no name) and Christmas Day (Friday) are
    listed; Boxing Day (Saturday) is a weekend and not listed; an extra open day is not."""
    calendar = ServiceCalendar(
        closed_dates=(date(2026, 12, 24), date(2026, 12, 31)),
        open_dates=(date(2027, 1, 1),),
    )
    days = calendar.closed_days(date(2026, 12, 21), date(2027, 1, 4))
    assert [(d, text.nb if text else None) for d, text in days] == [
        (date(2026, 12, 24), None),
        (date(2026, 12, 25), "Første juledag"),
        (date(2026, 12, 31), None),
    ]
    assert days[1][1] is not None
    assert days[1][1].en == "Christmas Day"
