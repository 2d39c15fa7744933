"""A patient's day: which scheduled measurements were on time, late or missed, and whether the
day is kept at all (triage.domain.adherence)."""

from __future__ import annotations

from datetime import UTC, date, datetime, time
from zoneinfo import ZoneInfo

from triage.domain.adherence import Outcomes, day_bounds, day_outcomes, state_on
from triage.domain.plan import Schedule, ScheduledMeasurement
from triage.domain.readings import Kind
from triage.domain.schedule import slots_on

OSLO = ZoneInfo("Europe/Oslo")
DAY = date(2026, 11, 10)  # a Tuesday; Oslo is UTC+1 in November

SCHEDULE = Schedule(
    items=(
        ScheduledMeasurement(kinds=(Kind.BLOOD_PRESSURE,), due_by=time(8, 0)),
        ScheduledMeasurement(kinds=(Kind.BLOOD_PRESSURE,), due_by=time(20, 0)),
        ScheduledMeasurement(kinds=(Kind.GLUCOSE,), due_by=time(9, 0)),
    )
)


def local(hour: int, minute: int = 0) -> datetime:
    return datetime(2026, 11, 10, hour, minute, tzinfo=OSLO).astimezone(UTC)


def outcomes(bp: list[datetime], glucose: list[datetime]) -> Outcomes:
    _, end = day_bounds(DAY, OSLO)
    return day_outcomes(slots_on(SCHEDULE, DAY), {"blood_pressure": bp, "glucose": glucose}, end)


def test_a_reading_in_the_window_is_on_time_and_the_deadline_itself_counts() -> None:
    # BP 07:30 (window 00:00–08:00) and 20:00 sharp (window 08:00–20:00], glucose 09:00 sharp
    assert outcomes([local(7, 30), local(20)], [local(9)]) == Outcomes(3, 3, 0, 0)


def test_a_skipped_morning_measured_later_is_late_and_also_on_time_for_the_evening() -> None:
    # BP at 10:00: not in 08:00's window; after 08:00 and before the 20:00 slot → 08:00 late;
    # it lies in 20:00's window (08:00, 20:00] → 20:00 on time. Glucose never → missed.
    # due 3 = on time 1 + late 1 + missed 1
    assert outcomes([local(10)], []) == Outcomes(3, 1, 1, 1)


def test_after_the_last_slot_a_reading_before_midnight_is_late() -> None:
    # BP 07:00 → 08:00 on time; 21:00 is after 20:00, the day's last BP slot → late;
    # glucose 23:59 → after 09:00, its only slot, before midnight → late
    assert outcomes([local(7), local(21)], [local(23, 59)]) == Outcomes(3, 1, 2, 0)


def test_nothing_measured_misses_every_slot() -> None:
    assert outcomes([], []) == Outcomes(3, 0, 0, 3)


def test_no_slots_no_outcomes() -> None:
    _, end = day_bounds(DAY, OSLO)
    assert day_outcomes([], {"glucose": [local(9)]}, end) == Outcomes()


ENROLLED = datetime(2026, 11, 1, 9, tzinfo=UTC)


def state(day: date, current: str, changed: datetime, **kwargs: object) -> str | None:
    return state_on(
        day=day,
        state=current,
        enrolled_at=ENROLLED,
        state_changed_at=changed,
        paused_until=kwargs.get("paused_until"),  # type: ignore[arg-type]
        zone=OSLO,
        plan_approved_by_end=bool(kwargs.get("plan", False)),
    )


def test_days_before_enrolment_are_not_kept() -> None:
    assert state(date(2026, 10, 31), "active", ENROLLED, plan=True) is None
    assert state(date(2026, 11, 1), "trial", ENROLLED) == "trial"


def test_an_active_patient_was_in_trial_until_activated() -> None:
    activated = datetime(2026, 11, 5, 12, tzinfo=UTC)
    # before activation: trial unless a plan was approved by the end of the day
    assert state(date(2026, 11, 4), "active", activated) == "trial"
    assert state(date(2026, 11, 4), "active", activated, plan=True) == "active"
    assert state(date(2026, 11, 5), "active", activated) == "active"


def test_paused_days_are_not_kept_until_the_pause_ends() -> None:
    paused = datetime(2026, 11, 5, 12, tzinfo=UTC)
    assert state(date(2026, 11, 4), "paused", paused, plan=True) == "active"
    assert state(date(2026, 11, 5), "paused", paused, plan=True) is None
    assert (
        state(date(2026, 11, 7), "paused", paused, plan=True, paused_until=date(2026, 11, 8))
        is None
    )
    assert (
        state(date(2026, 11, 8), "paused", paused, plan=True, paused_until=date(2026, 11, 8))
        == "active"
    )


def test_the_day_of_discharge_and_later_are_not_kept() -> None:
    # discharged 23:30 UTC on 9 Nov is 00:30 on 10 Nov in Oslo: 9 Nov is the last kept day
    discharged = datetime(2026, 11, 9, 23, 30, tzinfo=UTC)
    assert state(date(2026, 11, 9), "discharged", discharged, plan=True) == "active"
    assert state(date(2026, 11, 10), "discharged", discharged, plan=True) is None
