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

import numpy as np
import numpy.typing as npt

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


@dataclass(frozen=True, slots=True)
class AlertTimes:
    """Alerts as columns (the programme reads ~100,000 a quarter): whether each is red (else
    yellow), when it reached its colour and when it was acknowledged (epoch seconds; NaN: not
    yet), and whether it was opened in the period (only those are tallied; every one counts in
    the backlog)."""

    red: npt.NDArray[np.bool_]
    since: npt.NDArray[np.float64]
    acknowledged: npt.NDArray[np.float64]
    counted: npt.NDArray[np.bool_]

    @classmethod
    def of(cls, alerts: Iterable[tuple[str, float, float | None, bool]]) -> AlertTimes:
        rows = list(alerts)
        return cls(
            red=np.array([r[0] == "red" for r in rows], dtype=np.bool_),
            since=np.array([r[1] for r in rows], dtype=np.float64),
            acknowledged=np.array(
                [np.nan if r[2] is None else r[2] for r in rows], dtype=np.float64
            ),
            counted=np.array([r[3] for r in rows], dtype=np.bool_),
        )


def tally(
    clock: StaffedClock,
    alerts: Iterable[tuple[str, float, float | None, bool]] | AlertTimes,
    now: float,
    targets: Mapping[str, timedelta],
) -> tuple[dict[str, ColourTally], list[OpeningBacklog]]:
    """:func:`on_time` and :func:`backlogs` for many alerts at once, as array operations (the
    programme's alert handling reads ~100,000 alerts a quarter). ``alerts`` are (colour, when it
    reached its colour, when acknowledged or None, whether it was opened in the period: only
    those are tallied; every one counts in the backlog), or the same as :class:`AlertTimes`.
    Gives what the two functions give (``tests/unit/test_programme_alerts.py`` checks it)."""
    times = alerts if isinstance(alerts, AlertTimes) else AlertTimes.of(alerts)
    openings = np.asarray(clock.openings, dtype=np.float64)
    last = len(openings)
    since, acknowledged = times.since, times.acknowledged
    waiting = np.isnan(acknowledged)
    done = ~waiting
    ack = np.where(done, acknowledged, 0.0)

    def elapsed(at: npt.NDArray[np.float64]) -> npt.NDArray[np.float64]:
        """Staffed seconds from the first opening to each instant (as StaffedClock.elapsed)."""
        if not last:
            return np.zeros_like(at)
        k = np.searchsorted(openings, at, side="right") - 1
        index = np.maximum(k, 0)
        ends = np.asarray(clock.ends, dtype=np.float64)[index]
        before = np.asarray(clock.before, dtype=np.float64)[index]
        return np.where(k >= 0, before + np.minimum(at, ends) - openings[index], 0.0)

    elapsed_since = elapsed(since)
    elapsed_now = float(elapsed(np.array([now]))[0])
    waited = np.where(ack > since, np.maximum(0.0, elapsed(ack) - elapsed_since), 0.0)
    tallies: dict[str, ColourTally] = {}
    for colour, target in targets.items():
        limit = target.total_seconds() + TOLERANCE
        mine = times.counted & (times.red if colour == "red" else ~times.red)
        late_unacknowledged = mine & waiting & (elapsed_now - elapsed_since > limit)
        decided = mine & done
        tallies[colour] = ColourTally(
            counted=int(np.count_nonzero(decided) + np.count_nonzero(late_unacknowledged)),
            on_time=int(np.count_nonzero(decided & (waited <= limit))),
            waits=(waited[decided] / 60.0).tolist(),
        )

    # the openings each alert waits at: low <= index < high (as StaffedClock.openings_between)
    low = np.searchsorted(openings, since, side="right")
    high = np.where(waiting, last, np.searchsorted(openings, ack, side="left"))
    spans = low < high

    def running(select: npt.NDArray[np.bool_]) -> npt.NDArray[np.int64]:
        """How many of the ``select``ed alerts wait at each opening (difference arrays)."""
        steps = np.zeros(last + 1, dtype=np.int64)
        np.add.at(steps, low[select & spans], 1)
        np.add.at(steps, high[select & spans], -1)
        return np.cumsum(steps)[:last]

    reds = running(times.red)
    yellows = running(~times.red)
    unacknowledged = running(waiting)
    # the last acknowledgement among the alerts waiting at each opening: the latest one of
    # those that started waiting at or before it, if that one still waits there (a later
    # acknowledgement never waits at fewer openings, so no other one can)
    started = np.full(last, -np.inf)
    acked = done & spans
    np.maximum.at(started, low[acked], ack[acked])
    latest = np.maximum.accumulate(started) if last else started
    reaches = np.searchsorted(openings, latest, side="left") > np.arange(last)
    found = [
        OpeningBacklog(
            int(reds[i]),
            int(yellows[i]),
            bool(unacknowledged[i] > 0),
            float(latest[i]) if np.isfinite(latest[i]) and reaches[i] else None,
        )
        for i in range(last)
    ]
    return tallies, found
