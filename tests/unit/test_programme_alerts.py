"""Staffed time for the programme's alert handling (triage.domain.programme_alerts): minutes of
the centre's hours between two instants across nights, weekends, public holidays and both
daylight-saving changes; on time, late or undecided at each edge; the backlog at opening."""

from __future__ import annotations

import random
from datetime import date, datetime, time, timedelta
from zoneinfo import ZoneInfo

import pytest

from triage.domain.programme_alerts import (
    OnTime,
    StaffedClock,
    backlogs,
    on_time,
    tally,
    yellow_target,
)
from triage.domain.service_hours import ServiceCalendar

OSLO = ZoneInfo("Europe/Oslo")
CALENDAR = ServiceCalendar()  # Monday–Friday 08:00–15:00 Europe/Oslo, Norwegian holidays closed
RED = timedelta(minutes=30)


def at(year: int, month: int, day: int, hour: int, minute: int = 0, second: int = 0) -> float:
    """An Oslo wall-clock time as epoch seconds."""
    return datetime(year, month, day, hour, minute, second, tzinfo=OSLO).timestamp()


@pytest.fixture(scope="module")
def spring() -> StaffedClock:
    return StaffedClock(CALENDAR, date(2026, 3, 20), date(2026, 4, 10))


def test_staffed_minutes_skip_the_night_and_the_weekend_across_summer_time(
    spring: StaffedClock,
) -> None:
    """Friday 27 March 14:50 (CET) to Monday 30 March 08:15 (CEST, the clocks went forward on
    Sunday): 10 minutes on Friday + 15 on Monday = 25 staffed minutes (clock time: 2 days,
    16 h 25 min, minus the lost hour)."""
    assert spring.staffed_minutes(at(2026, 3, 27, 14, 50), at(2026, 3, 30, 8, 15)) == 25
    # Monday opens at 08:00 local = 06:00 UTC in summer time
    monday = datetime(2026, 3, 30, 6, 0, tzinfo=ZoneInfo("UTC")).timestamp()
    assert spring.staffed_minutes(at(2026, 3, 29, 12), monday) == 0
    assert spring.staffed_minutes(monday, monday + 60) == 1


def test_staffed_minutes_skip_easter(spring: StaffedClock) -> None:
    """Wednesday 1 April 14:45 to Tuesday 7 April 08:20: Maundy Thursday, Good Friday, the
    weekend and Easter Monday are closed: 15 + 20 = 35 staffed minutes."""
    assert spring.staffed_minutes(at(2026, 4, 1, 14, 45), at(2026, 4, 7, 8, 20)) == 35


def test_staffed_minutes_across_winter_time_and_at_the_edges() -> None:
    """Friday 23 October 14:30 (CEST) to Monday 26 October 08:10 (CET): 30 + 10 = 40. Inside
    one staffed period: clock time. Opening and closing are edges, not staffed instants
    outside them; an end before the start gives 0."""
    clock = StaffedClock(CALENDAR, date(2026, 10, 19), date(2026, 10, 30))
    assert clock.staffed_minutes(at(2026, 10, 23, 14, 30), at(2026, 10, 26, 8, 10)) == 40
    assert clock.staffed_minutes(at(2026, 10, 26, 9), at(2026, 10, 26, 11, 30)) == 150
    assert clock.staffed_minutes(at(2026, 10, 26, 7), at(2026, 10, 26, 8)) == 0
    assert clock.staffed_minutes(at(2026, 10, 26, 15), at(2026, 10, 27, 8)) == 0
    assert clock.staffed_minutes(at(2026, 10, 26, 10), at(2026, 10, 26, 9)) == 0
    # a whole week: 5 staffed days of 7 hours
    assert clock.staffed_minutes(at(2026, 10, 19, 0), at(2026, 10, 26, 0)) == 5 * 7 * 60


def test_a_centres_own_hours_and_extra_days_count() -> None:
    """A centre open 07:30–15:30 that also staffs Saturday 24 October: Friday 15:00 to Monday
    08:00 is 30 (Friday) + 8 h (Saturday) + 30 (Monday) = 540 staffed minutes; its yellow
    target is its staffed day, 8 hours."""
    calendar = ServiceCalendar(
        opens=time(7, 30),
        closes=time(15, 30),
        open_dates=(date(2026, 10, 24),),
    )
    clock = StaffedClock(calendar, date(2026, 10, 19), date(2026, 10, 30))
    assert clock.staffed_minutes(at(2026, 10, 23, 15), at(2026, 10, 26, 8)) == 540
    assert yellow_target(calendar) == timedelta(hours=8)
    assert yellow_target(CALENDAR) == timedelta(hours=7)


def test_on_time_is_at_most_the_target_in_staffed_time(spring: StaffedClock) -> None:
    """A red that arrived Friday 27 March 14:50: acknowledged Monday 08:20 has waited 10 + 20 =
    30 staffed minutes (on time, the target itself counts); at 08:20:01 it is late. While it
    waits, it is undecided until the target has passed, then late."""
    since = at(2026, 3, 27, 14, 50)
    assert on_time(spring, since, at(2026, 3, 30, 8, 20), since, RED) == (OnTime.ON_TIME, 30)
    status, minutes = on_time(spring, since, at(2026, 3, 30, 8, 20, 1), since, RED)
    assert status is OnTime.LATE
    assert minutes == pytest.approx(30 + 1 / 60)
    # unacknowledged: Sunday (still 10 staffed minutes) undecided; Monday 08:21 late
    assert on_time(spring, since, None, at(2026, 3, 29, 12), RED) == (OnTime.UNDECIDED, None)
    assert on_time(spring, since, None, at(2026, 3, 30, 8, 21), RED) == (OnTime.LATE, None)


def test_a_yellow_has_one_staffed_day(spring: StaffedClock) -> None:
    """A yellow at Monday 30 March 14:00 acknowledged Tuesday 14:00: 60 + 360 = 420 staffed
    minutes, exactly one staffed day: on time; Tuesday 14:01 is late."""
    since = at(2026, 3, 30, 14)
    target = yellow_target(CALENDAR)
    assert on_time(spring, since, at(2026, 3, 31, 14), since, target) == (OnTime.ON_TIME, 420)
    assert on_time(spring, since, at(2026, 3, 31, 14, 1), since, target)[0] is OnTime.LATE


def test_the_backlog_at_each_opening_and_when_it_was_cleared(spring: StaffedClock) -> None:
    """Monday 30 March and Tuesday 31 March:

    * a red from Saturday 20:00, acknowledged Monday 08:40: waiting Monday;
    * a yellow from Sunday 10:00, acknowledged Tuesday 09:00: waiting Monday and Tuesday;
    * a red that arrived Monday 08:00:00 exactly: not waiting (it came at the opening);
    * a yellow from Sunday acknowledged Monday 08:00:00 exactly: not waiting;
    * a red from Monday 16:00, never acknowledged: waiting Tuesday, so Tuesday is not cleared.

    Monday: 1 red + 1 yellow, cleared at Tuesday 09:00 = 420 (Monday) + 60 staffed minutes =
    480. Tuesday: 1 red + 1 yellow, not cleared."""
    alerts = [
        ("red", at(2026, 3, 28, 20), at(2026, 3, 30, 8, 40)),
        ("yellow", at(2026, 3, 29, 10), at(2026, 3, 31, 9)),
        ("red", at(2026, 3, 30, 8), at(2026, 3, 30, 8, 5)),
        ("yellow", at(2026, 3, 29, 11), at(2026, 3, 30, 8)),
        ("red", at(2026, 3, 30, 16), None),
    ]
    found = dict(zip(spring.openings, backlogs(spring, alerts), strict=True))
    monday, tuesday = found[at(2026, 3, 30, 8)], found[at(2026, 3, 31, 8)]
    assert (monday.red, monday.yellow) == (1, 1)
    assert monday.cleared_minutes(spring, at(2026, 3, 30, 8)) == 480
    assert (tuesday.red, tuesday.yellow, tuesday.unacknowledged) == (1, 1, True)
    assert tuesday.cleared_minutes(spring, at(2026, 3, 31, 8)) is None
    friday = found[at(2026, 3, 27, 8)]
    assert friday.waiting == 0
    assert friday.cleared_minutes(spring, at(2026, 3, 27, 8)) is None


def test_the_openings_are_the_staffed_days_only(spring: StaffedClock) -> None:
    """20 March to 10 April 2026: 16 weekdays minus Maundy Thursday, Good Friday and Easter
    Monday = 13 staffed days."""
    assert len(spring.openings) == len(spring.opening_days) == 13
    assert date(2026, 4, 2) not in spring.opening_days
    assert date(2026, 4, 7) in spring.opening_days


def test_the_one_pass_tally_gives_what_the_definitions_give(spring: StaffedClock) -> None:
    """400 random alerts over the span (some at an opening or closing to the second, some
    unacknowledged, some acknowledged before they reached their colour): :func:`tally` agrees
    with :func:`on_time` and :func:`backlogs` alert by alert."""
    rnd = random.Random(18)
    low, high = at(2026, 3, 20, 0), at(2026, 4, 10, 0)
    edges = [*spring.openings, *spring.ends]
    alerts: list[tuple[str, float, float | None, bool]] = []
    for _ in range(400):
        since = rnd.choice(edges) if rnd.random() < 0.2 else rnd.uniform(low, high)
        acknowledged: float | None = None
        if rnd.random() < 0.8:
            acknowledged = since + rnd.choice([-60.0, 0.0, rnd.uniform(0, 4 * 86400)])
            if rnd.random() < 0.2:
                acknowledged = rnd.choice(edges)
        alerts.append((rnd.choice(["red", "yellow"]), since, acknowledged, rnd.random() < 0.7))
    now = at(2026, 4, 8, 10)
    targets = {"red": RED, "yellow": yellow_target(CALENDAR)}

    tallies, found = tally(spring, alerts, now, targets)

    for colour in ("red", "yellow"):
        decided = [
            on_time(spring, s, a, now, targets[colour])
            for c, s, a, counted in alerts
            if c == colour and counted
        ]
        assert tallies[colour].counted == sum(d[0] is not OnTime.UNDECIDED for d in decided)
        assert tallies[colour].on_time == sum(d[0] is OnTime.ON_TIME for d in decided)
        assert tallies[colour].waits == pytest.approx([d[1] for d in decided if d[1] is not None])
    expected = backlogs(spring, [(c, s, a) for c, s, a, _ in alerts])
    assert [(b.red, b.yellow, b.unacknowledged, b.last_acknowledged) for b in found] == [
        (b.red, b.yellow, b.unacknowledged, b.last_acknowledged) for b in expected
    ]
