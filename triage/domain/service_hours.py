"""When the follow-up centre is staffed: weekdays, opening hours, public holidays, overrides.

DHO is a weekday daytime service, not an acute service (docs/clinical/service-hours.md). The
default :class:`ServiceCalendar` is staffed Monday to Friday 08:00–15:00 Europe/Oslo and closed
on Norwegian public holidays.

Definitions (exact; tested at each edge)
----------------------------------------
* A **staffed day** is a local date that is in ``open_dates``; or else one that is not in
  ``closed_dates``, is one of ``weekdays`` (ISO, 1 = Monday … 7 = Sunday) and is not a public
  holiday of ``country``. ``open_dates`` wins over everything (an extra staffed Saturday or
  holiday); a date may not be in both lists.
* The centre **is open** at an instant when, converted to the calendar's time zone, the local
  date is a staffed day and ``opens <= local time < closes``: open at 08:00:00 exactly, closed
  at 15:00:00 exactly.
* :meth:`ServiceCalendar.next_opening` is the instant itself when the centre is open, and
  otherwise the start of the next staffed period strictly after it.
* :meth:`ServiceCalendar.last_closing` is the end of the latest staffed period that ended at or
  before the instant (while open: the previous staffed day's closing), so "what arrived since we
  closed" on a Monday morning starts at Friday 15:00, and after Easter at Wednesday 15:00.
* Opening and closing are local wall-clock times, so the centre opens at 08:00 local time on
  either side of a daylight-saving change (06:00 UTC in summer time, 07:00 UTC in winter).

Public holidays come from the ``holidays`` package, *public* category only. Norway's class can
also list every Sunday as a holiday (``include_sundays``, the default in some releases of the
package); DHO always asks for real public holidays only, and weekends are governed by
``weekdays``. Holiday names are asked for in an explicit language (the package otherwise reads
the process locale). The package is deterministic, so results are cached per
(country, year, language).
"""

from __future__ import annotations

from collections.abc import Mapping
from datetime import UTC, date, datetime, time, timedelta
from functools import lru_cache
from types import MappingProxyType
from typing import Self
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

import holidays
from pydantic import BaseModel, ConfigDict, field_validator, model_validator

from triage.domain.colours import Text

#: How far ahead :meth:`ServiceCalendar.next_opening` looks for a staffed day.
SEARCH_DAYS = 4 * 366


class ServiceCalendarError(ValueError):
    """A question the calendar cannot answer (a naive datetime, or no staffed day ahead)."""


class ServiceCalendar(BaseModel):
    """The follow-up centre's staffed hours; see the module docstring for the exact rules."""

    model_config = ConfigDict(frozen=True, extra="forbid")

    timezone: str = "Europe/Oslo"
    opens: time = time(8, 0)
    closes: time = time(15, 0)
    weekdays: tuple[int, ...] = (1, 2, 3, 4, 5)
    country: str = "NO"
    closed_dates: tuple[date, ...] = ()
    open_dates: tuple[date, ...] = ()

    @field_validator("timezone")
    @classmethod
    def _known_zone(cls, name: str) -> str:
        try:
            ZoneInfo(name)
        except (ZoneInfoNotFoundError, ValueError) as err:
            raise ValueError(f"unknown IANA time zone {name!r}") from err
        return name

    @field_validator("weekdays")
    @classmethod
    def _iso_weekdays(cls, days: tuple[int, ...]) -> tuple[int, ...]:
        if any(d < 1 or d > 7 for d in days):
            raise ValueError("weekdays are ISO weekdays 1 (Monday) to 7 (Sunday)")
        return tuple(sorted(set(days)))

    @field_validator("country")
    @classmethod
    def _supported_country(cls, country: str) -> str:
        if country not in holidays.list_supported_countries():
            raise ValueError(f"the holidays package has no public holidays for {country!r}")
        return country

    @field_validator("closed_dates", "open_dates")
    @classmethod
    def _sorted_dates(cls, dates: tuple[date, ...]) -> tuple[date, ...]:
        return tuple(sorted(set(dates)))

    @model_validator(mode="after")
    def _consistent(self) -> Self:
        if self.opens.tzinfo is not None or self.closes.tzinfo is not None:
            raise ValueError("opens and closes are local wall-clock times, without a zone")
        if self.opens >= self.closes:
            raise ValueError(
                f"opens ({self.opens:%H:%M}) must be before closes ({self.closes:%H:%M}); "
                "a staffed period does not run past midnight"
            )
        both = sorted(set(self.closed_dates) & set(self.open_dates))
        if both:
            raise ValueError(
                "a date cannot be both closed and open: " + ", ".join(d.isoformat() for d in both)
            )
        if not self.weekdays and not self.open_dates:
            raise ValueError("the calendar needs weekdays or open_dates: it is never staffed")
        return self

    # ------------------------------------------------------------------------- days

    @property
    def zone(self) -> ZoneInfo:
        return ZoneInfo(self.timezone)

    def is_holiday(self, d: date) -> bool:
        """True when ``d`` is a public holiday of the calendar's country (Sundays are not)."""
        return d in _public_holidays(self.country, d.year, _native_language(self.country))

    def holiday_name(self, d: date) -> str | None:
        """The holiday's name in the country's own language (bokmål for Norway), or None."""
        return _public_holidays(self.country, d.year, _native_language(self.country)).get(d)

    def holiday_text(self, d: date) -> Text | None:
        """The holiday's name in the country's language (``nb``: bokmål for Norway) and English."""
        nb = self.holiday_name(d)
        if nb is None:
            return None
        en = _public_holidays(self.country, d.year, _english(self.country)).get(d, nb)
        return Text(nb=nb, en=en)

    def is_staffed_day(self, d: date) -> bool:
        """True when ``d`` (a local date) has a staffed period."""
        if d in self.open_dates:
            return True
        if d in self.closed_dates or d.isoweekday() not in self.weekdays:
            return False
        return not self.is_holiday(d)

    def opening_on(self, d: date) -> datetime:
        """The instant the centre opens on local date ``d`` (whether or not it is staffed)."""
        return _local_instant(d, self.opens, self.zone)

    def closing_on(self, d: date) -> datetime:
        """The instant the centre closes on local date ``d`` (whether or not it is staffed)."""
        return _local_instant(d, self.closes, self.zone)

    # ------------------------------------------------------------------------- instants

    def is_open(self, at: datetime) -> bool:
        """True when the centre is staffed at ``at`` (an aware datetime)."""
        local = self._local(at)
        return self.is_staffed_day(local.date()) and self.opens <= local.time() < self.closes

    def closes_at(self, at: datetime) -> datetime | None:
        """When the staffed period around ``at`` ends; None when the centre is closed at ``at``."""
        if not self.is_open(at):
            return None
        return self.closing_on(self._local(at).date())

    def next_opening(self, at: datetime) -> datetime:
        """``at`` (in the calendar zone) when open; else the next opening strictly after it.

        Raises :class:`ServiceCalendarError` when no staffed day lies within
        :data:`SEARCH_DAYS` days.
        """
        local = self._local(at)
        if self.is_open(at):
            return local
        day = local.date()
        for offset in range(SEARCH_DAYS + 1):
            candidate = day + timedelta(days=offset)
            if self.is_staffed_day(candidate):
                opening = self.opening_on(candidate)
                if opening > at:
                    return opening
        raise ServiceCalendarError(
            f"no staffed day within {SEARCH_DAYS} days after {local.isoformat()}"
        )

    def last_closing(self, at: datetime) -> datetime:
        """The end of the latest staffed period that ended at or before ``at`` (in the calendar
        zone): today's closing once it has passed, else the previous staffed day's.

        Raises :class:`ServiceCalendarError` when no staffed day lies within
        :data:`SEARCH_DAYS` days before ``at``.
        """
        local = self._local(at)
        day = local.date()
        for offset in range(SEARCH_DAYS + 1):
            candidate = day - timedelta(days=offset)
            if self.is_staffed_day(candidate):
                closing = self.closing_on(candidate)
                if closing <= at:
                    return closing
        raise ServiceCalendarError(
            f"no staffed day within {SEARCH_DAYS} days before {local.isoformat()}"
        )

    def closed_days(self, start: date, end: date) -> list[tuple[date, Text | None]]:
        """The usual weekdays from ``start`` to ``end`` (inclusive) the centre is closed: its
        public holidays (with their names in bokmål and English) and its own ``closed_dates``
        (no name). Weekends are not listed; an ``open_dates`` day is not closed."""
        days: list[tuple[date, Text | None]] = []
        current = start
        while current <= end:
            if current.isoweekday() in self.weekdays and not self.is_staffed_day(current):
                days.append((current, self.holiday_text(current)))
            current += timedelta(days=1)
        return days

    def _local(self, at: datetime) -> datetime:
        if at.tzinfo is None or at.utcoffset() is None:
            raise ServiceCalendarError(f"a naive datetime has no place in time: {at.isoformat()}")
        return at.astimezone(self.zone)


def _local_instant(d: date, t: time, zone: ZoneInfo) -> datetime:
    """Local wall-clock ``t`` on ``d``; a time skipped by a DST change moves forward."""
    naive = datetime.combine(d, t)
    return naive.replace(tzinfo=zone).astimezone(UTC).astimezone(zone)


# ----------------------------------------------------------------------------- holidays


@lru_cache(maxsize=64)
def _holiday_info(country: str) -> tuple[str | None, tuple[str, ...], bool]:
    """The country's own language, its supported languages, and whether it can list Sundays."""
    probe = holidays.country_holidays(country, years=(), language=None)
    return (
        probe.default_language,
        tuple(probe.supported_languages),
        hasattr(probe, "include_sundays"),
    )


def _native_language(country: str) -> str | None:
    return _holiday_info(country)[0]


def _english(country: str) -> str | None:
    native, supported, _ = _holiday_info(country)
    for language in ("en_US", "en_GB", "en"):
        if language in supported:
            return language
    return native


@lru_cache(maxsize=512)
def _public_holidays(country: str, year: int, language: str | None) -> Mapping[date, str]:
    """The public holidays of ``country`` in ``year``, never counting plain Sundays."""
    if _holiday_info(country)[2]:
        days = holidays.country_holidays(
            country,
            years=year,
            categories=(holidays.PUBLIC,),
            language=language,
            include_sundays=False,
        )
    else:
        days = holidays.country_holidays(
            country, years=year, categories=(holidays.PUBLIC,), language=language
        )
    return MappingProxyType(dict(days.items()))
