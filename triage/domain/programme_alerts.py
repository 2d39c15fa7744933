"""Staffed time for the programme's alert-handling figures (issue 18; docs/programme.md): how
many minutes of the centre's staffed hours lie between two instants, whether an alert was
acknowledged within its target, and the reds and yellows waiting when the centre opens.

Pure: instants are seconds since the Unix epoch (floats, as the database query returns them),
the centre's hours are its :class:`~triage.domain.service_hours.ServiceCalendar`.

Definitions (exact; tested at each edge in ``tests/unit/test_programme_alerts.py``)
-----------------------------------------------------------------------------------
* **Staffed seconds** between ``a`` and ``b`` (``a <= b``) are the seconds of ``[a, b)`` that
  fall in the calendar's staffed periods (a staffed day's ``opens`` to ``closes``, local
  wall-clock time, so 08:00 is 06:00 UTC in summer time and 07:00 UTC in winter time). A night,
  a weekend or a public holiday adds nothing; ``b < a`` gives 0.
* The **target** of a red alert is the centre's escalation delay ``on_call_after`` (an
  unacknowledged red goes to the on-call nurse after it; 30 minutes by default); of a yellow
  alert one staffed day (``closes - opens``: 7 hours with the default 08:00–15:00), after the
  plans' yellow action "the follow-up centre calls the patient within the working day"
  (``ActionCode.NURSE_REVIEW_SAME_DAY``).
* An alert is **acknowledged on time** when its staffed wait (from when it reached its colour
  to its acknowledgement) is at most the target; **late** when it is longer, or when it is still
  unacknowledged and its staffed wait until now already exceeds the target; **undecided** (left
  out of the share) when it is unacknowledged and the target has not yet passed.
* An alert is **waiting at an opening** ``o`` when it reached its colour before ``o`` and was
  not acknowledged at or before ``o``. The opening's backlog is **cleared** at the last of
  those acknowledgements, counted in staffed minutes after ``o``; it is not cleared while one of
  them is still unacknowledged.
"""

from __future__ import annotations

from bisect import bisect_left, bisect_right
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import date, timedelta
from enum import StrEnum

from triage.domain.service_hours import ServiceCalendar

#: Seconds within which a wait counts as equal to the target: instants read from the database
#: as epoch floats carry rounding errors of microseconds (SQLite's ``julianday``).
TOLERANCE = 0.0005


class OnTime(StrEnum):
    ON_TIME = "on_time"
    LATE = "late"
    UNDECIDED = "undecided"


class StaffedClock:
    """The staffed periods of ``calendar`` on the local dates ``first`` to ``last`` (inclusive),
    answering "staffed seconds between two instants" by bisection (instants outside the span see
    no staffed time beyond it)."""

    def __init__(self, calendar: ServiceCalendar, first: date, last: date) -> None:
        self.calendar = calendar
        starts: list[float] = []
        ends: list[float] = []
        before: list[float] = []  # staffed seconds before each period
        days: list[date] = []
        total = 0.0
        day = first
        while day <= last:
            if calendar.is_staffed_day(day):
                start = calendar.opening_on(day).timestamp()
                end = calendar.closing_on(day).timestamp()
                starts.append(start)
                ends.append(end)
                before.append(total)
                days.append(day)
                total += end - start
            day += timedelta(days=1)
        self.openings: tuple[float, ...] = tuple(starts)
        self.opening_days: tuple[date, ...] = tuple(days)
        self.ends: tuple[float, ...] = tuple(ends)
        self.before: tuple[float, ...] = tuple(before)

    def elapsed(self, at: float) -> float:
        """Staffed seconds from the start of the span to ``at``."""
        index = bisect_right(self.openings, at) - 1
        if index < 0:
            return 0.0
        return self.before[index] + min(at, self.ends[index]) - self.openings[index]

    def staffed_seconds(self, start: float, end: float) -> float:
        """Staffed seconds in ``[start, end)``; 0 when ``end`` is not after ``start``."""
        if end <= start:
            return 0.0
        return self.elapsed(end) - self.elapsed(start)

    def staffed_minutes(self, start: float, end: float) -> float:
        return self.staffed_seconds(start, end) / 60.0

    def openings_between(self, after: float, through: float | None) -> range:
        """Indexes of the openings ``o`` with ``after < o`` and (``through`` None or
        ``o < through``): the openings an alert that reached its colour at ``after`` and was
        acknowledged at ``through`` waited at."""
        low = bisect_right(self.openings, after)
        high = len(self.openings) if through is None else bisect_left(self.openings, through)
        return range(low, max(low, high))


def yellow_target(calendar: ServiceCalendar) -> timedelta:
    """One staffed day: ``closes - opens`` (7 hours with the default hours)."""
    return timedelta(
        hours=calendar.closes.hour - calendar.opens.hour,
        minutes=calendar.closes.minute - calendar.opens.minute,
        seconds=calendar.closes.second - calendar.opens.second,
    )


def on_time(
    clock: StaffedClock, since: float, acknowledged: float | None, now: float, target: timedelta
) -> tuple[OnTime, float | None]:
    """Whether an alert that reached its colour at ``since`` was acknowledged on time, and its
    staffed wait in minutes (None while unacknowledged)."""
    limit = target.total_seconds()
    if acknowledged is not None:
        waited = clock.staffed_seconds(since, acknowledged)
        return (OnTime.ON_TIME if waited <= limit + TOLERANCE else OnTime.LATE), waited / 60.0
    if clock.staffed_seconds(since, now) > limit + TOLERANCE:
        return OnTime.LATE, None
    return OnTime.UNDECIDED, None


@dataclass
class OpeningBacklog:
    """The reds and yellows waiting at one opening, and the last acknowledgement among them
    (None while one is still unacknowledged)."""

    red: int = 0
    yellow: int = 0
    unacknowledged: bool = False
    last_acknowledged: float | None = None

    @property
    def waiting(self) -> int:
        return self.red + self.yellow

    def add(self, colour: str, acknowledged: float | None) -> None:
        if colour == "red":
            self.red += 1
        else:
            self.yellow += 1
        if acknowledged is None:
            self.unacknowledged = True
        elif self.last_acknowledged is None or acknowledged > self.last_acknowledged:
            self.last_acknowledged = acknowledged

    def cleared_minutes(self, clock: StaffedClock, opening: float) -> float | None:
        """Staffed minutes from ``opening`` until all were acknowledged; None when nothing was
        waiting or one is still unacknowledged."""
        if self.waiting == 0 or self.unacknowledged or self.last_acknowledged is None:
            return None
        return clock.staffed_minutes(opening, self.last_acknowledged)


def backlogs(
    clock: StaffedClock, alerts: Sequence[tuple[str, float, float | None]]
) -> list[OpeningBacklog]:
    """The backlog at each of ``clock``'s openings from ``alerts`` (colour, when it reached its
    colour, when acknowledged or None), in the order of ``clock.openings``."""
    found = [OpeningBacklog() for _ in clock.openings]
    for colour, since, acknowledged in alerts:
        for index in clock.openings_between(since, acknowledged):
            found[index].add(colour, acknowledged)
    return found


@dataclass
class ColourTally:
    """One colour's alerts opened in the period: decided (on time or late), on time, and the
    staffed waits of the acknowledged ones in minutes."""

    counted: int = 0
    on_time: int = 0
    waits: list[float] = field(default_factory=list)


def tally(
    clock: StaffedClock,
    alerts: Iterable[tuple[str, float, float | None, bool]],
    now: float,
    targets: Mapping[str, timedelta],
) -> tuple[dict[str, ColourTally], list[OpeningBacklog]]:
    """:func:`on_time` and :func:`backlogs` in one pass, two bisections an alert (the
    programme's alert handling reads ~100,000 alerts a quarter). ``alerts`` are (colour, when it
    reached its colour, when acknowledged or None, whether it was opened in the period: only
    those are tallied; every one counts in the backlog). Gives what the two functions give
    (``tests/unit/test_programme_alerts.py`` checks it)."""
    openings, ends, before = clock.openings, clock.ends, clock.before
    last = len(openings)
    limits = {colour: target.total_seconds() + TOLERANCE for colour, target in targets.items()}
    tallies = {colour: ColourTally() for colour in targets}
    # the backlog by difference arrays (an alert never acknowledged waits at every opening
    # after it); the last acknowledgement by each opening, from the acknowledged alerts only
    red = [0] * (last + 1)
    yellow = [0] * (last + 1)
    unacknowledged = [0] * (last + 1)
    latest: list[float | None] = [None] * last
    index_now = bisect_right(openings, now) - 1
    elapsed_now = (
        before[index_now] + min(now, ends[index_now]) - openings[index_now]
        if index_now >= 0
        else 0.0
    )
    for colour, since, acknowledged, counted in alerts:
        low = bisect_right(openings, since)
        k = low - 1
        elapsed_since = before[k] + min(since, ends[k]) - openings[k] if k >= 0 else 0.0
        if acknowledged is None:
            high = last
            if counted:
                mine = tallies[colour]
                if elapsed_now - elapsed_since > limits[colour]:
                    mine.counted += 1
        else:
            j = bisect_right(openings, acknowledged)
            k = j - 1
            elapsed_ack = before[k] + min(acknowledged, ends[k]) - openings[k] if k >= 0 else 0.0
            high = j - 1 if k >= 0 and openings[k] == acknowledged else j
            if counted:
                mine = tallies[colour]
                waited = max(0.0, elapsed_ack - elapsed_since) if acknowledged > since else 0.0
                mine.counted += 1
                if waited <= limits[colour]:
                    mine.on_time += 1
                mine.waits.append(waited / 60.0)
        if low >= high:
            continue
        counts = red if colour == "red" else yellow
        counts[low] += 1
        counts[high] -= 1
        if acknowledged is None:
            unacknowledged[low] += 1
            unacknowledged[high] -= 1
            continue
        for index in range(low, high):
            seen = latest[index]
            if seen is None or acknowledged > seen:
                latest[index] = acknowledged
    found: list[OpeningBacklog] = []
    reds = yellows = waiting = 0
    for index in range(last):
        reds += red[index]
        yellows += yellow[index]
        waiting += unacknowledged[index]
        found.append(OpeningBacklog(reds, yellows, waiting > 0, latest[index]))
    return tallies, found
