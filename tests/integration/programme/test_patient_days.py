"""The daily programme aggregates (triage.jobs.programme_days): one row per patient and day in
follow-up with the day's readings by colour and the scheduled measurements done on time, late
or missed — worked out by hand on a small world, and equal to the raw computation from the
readings on a larger random one."""

from __future__ import annotations

import random
from collections.abc import Sequence
from datetime import UTC, date, datetime, time, timedelta
from zoneinfo import ZoneInfo

from sqlalchemy import func, select
from sqlalchemy.orm import Session, sessionmaker

from triage.config import Settings
from triage.domain.plan import Condition, Schedule, ScheduledMeasurement, approve
from triage.domain.readings import Kind
from triage.domain.schedule import slots_on
from triage.domain.templates import template
from triage.jobs.programme_days import JOB, compute_programme_days, days_to_compute
from triage.storage import repositories, seed
from triage.storage.models import (
    CentreRow,
    JobRunRow,
    MunicipalityRow,
    PatientDayRow,
    PatientRow,
    PlanVersionRow,
    ReadingRow,
)

Sessions = sessionmaker[Session]
OSLO = ZoneInfo("Europe/Oslo")
HALIFAX = ZoneInfo("America/Halifax")  # UTC−3 until 1 November 2026, then UTC−4
SETTINGS = Settings(demo=True)


def oslo(day: int, hour: int, minute: int = 0) -> datetime:
    """An instant on ``day`` November 2026, Oslo wall time (UTC+1)."""
    return datetime(2026, 11, day, hour, minute, tzinfo=OSLO).astimezone(UTC)


def bp_by(*dues: time) -> Schedule:
    return Schedule(
        items=tuple(ScheduledMeasurement(kinds=(Kind.BLOOD_PRESSURE,), due_by=d) for d in dues)
    )


def add_patient(
    session: Session,
    serial: int,
    enrolled: datetime,
    *,
    state: str = "active",
    changed: datetime | None = None,
    schedule: Schedule | None = None,
    home_care: bool = False,
    timezone: str = "Europe/Oslo",
) -> str:
    municipality = session.scalars(select(MunicipalityRow)).first()
    if municipality is None:
        municipality = seed.add_municipality(session, "9901", "Testvik")
        seed.add_centre(session, "Oppfølgingstjenesten Testvik", [municipality])
        session.flush()
    centre = session.scalars(select(CentreRow)).one()
    patient = seed.add_patient(
        session,
        display_name=f"Testpasient {serial}",
        municipality=municipality,
        centre=centre,
        now=enrolled,
        condition=Condition.HYPERTENSION,
        national_id=seed.synthetic_national_id(date(1950, 1, serial), serial),
        state=state,
        timezone=timezone,
    )
    patient.home_care = home_care
    if changed is not None:
        patient.state_changed_at = changed
    if schedule is not None:
        draft = template(Condition.HYPERTENSION).model_copy(
            update={"plan_id": f"plan-{patient.id}", "schedule": schedule}
        )
        seed.add_plan_version(
            session, patient, approve(draft, by="gp", role="gp", at=enrolled), enrolled
        )
    return patient.id


def add_reading(
    session: Session, patient_id: str, kind: Kind, at: datetime, colour: str | None
) -> None:
    session.add(
        ReadingRow(
            id=repositories.new_id(),
            patient_id=patient_id,
            gateway_id="gw-test",
            kind=kind.value,
            values={},
            device={},
            measured_at=at,
            classified_at=at,
            received_at=at,
            stored_at=at,
            timezone="Europe/Oslo",
            colour=colour,
            findings=[],
            flags=[],
        )
    )


def rows(sessions: Sessions) -> dict[tuple[str, date], PatientDayRow]:
    with sessions() as session:
        return {(r.patient_id, r.day): r for r in session.scalars(select(PatientDayRow))}


def summary(row: PatientDayRow) -> tuple[object, ...]:
    return (
        row.state,
        row.readings,
        row.red,
        row.yellow,
        row.green,
        row.slots_due,
        row.on_time,
        row.late,
        row.missed,
    )


def test_the_days_a_run_computes() -> None:
    now = oslo(5, 7)  # yesterday in Oslo: 4 November
    assert days_to_compute(None, now, 3) == [
        date(2026, 11, 2),
        date(2026, 11, 3),
        date(2026, 11, 4),
    ]
    # the latest day is computed once more (late uploads), then the new ones
    assert days_to_compute(date(2026, 11, 2), now, 90) == [
        date(2026, 11, 2),
        date(2026, 11, 3),
        date(2026, 11, 4),
    ]
    assert days_to_compute(date(2026, 11, 4), now, 90) == []  # up to date: nothing
    assert days_to_compute(date(2026, 10, 1), now, 2) == [date(2026, 11, 3), date(2026, 11, 4)]


def test_each_day_by_hand_and_the_run_is_recorded(sessions: Sessions) -> None:
    with sessions.begin() as session:
        # A: active from 2 Nov 08:00, blood pressure by 10:00 every day
        a = add_patient(session, 1, oslo(2, 8), schedule=bp_by(time(10)), home_care=True)
        add_reading(session, a, Kind.BLOOD_PRESSURE, oslo(2, 9), "green")  # on time
        add_reading(session, a, Kind.BODY_WEIGHT, oslo(2, 12), "yellow")  # not scheduled
        add_reading(session, a, Kind.BLOOD_PRESSURE, oslo(3, 11), "red")  # late
        # 4 Nov: nothing → missed
        add_reading(session, a, Kind.BLOOD_PRESSURE, oslo(5, 9), "green")  # today: not yet
        # B: trial without a plan from 2 Nov, discharged 4 Nov 10:00
        b = add_patient(session, 2, oslo(2, 8), state="discharged", changed=oslo(4, 10))
        add_reading(session, b, Kind.GLUCOSE, oslo(3, 8), None)  # not classified: no colour
        add_reading(session, b, Kind.GLUCOSE, oslo(4, 8), "green")  # discharge day: not kept
        # C: paused since 3 Nov 12:00 (no end date), with the same plan
        c = add_patient(
            session, 3, oslo(2, 8), state="paused", changed=oslo(3, 12), schedule=bp_by(time(10))
        )
        add_reading(session, c, Kind.BLOOD_PRESSURE, oslo(2, 10), "green")  # 10:00 sharp
        # before enrolment: not kept
        add_reading(session, a, Kind.BLOOD_PRESSURE, oslo(1, 9), "red")

    result = compute_programme_days(sessions, SETTINGS, oslo(5, 7))

    table = rows(sessions)
    #          state    readings red yellow green due on_time late missed
    assert summary(table[(a, date(2026, 11, 2))]) == ("active", 2, 0, 1, 1, 1, 1, 0, 0)
    assert summary(table[(a, date(2026, 11, 3))]) == ("active", 1, 1, 0, 0, 1, 0, 1, 0)
    assert summary(table[(a, date(2026, 11, 4))]) == ("active", 0, 0, 0, 0, 1, 0, 0, 1)
    # B never had a plan: trial days, nothing due; the unclassified reading counts, uncoloured
    assert summary(table[(b, date(2026, 11, 2))]) == ("trial", 0, 0, 0, 0, 0, 0, 0, 0)
    assert summary(table[(b, date(2026, 11, 3))]) == ("trial", 1, 0, 0, 0, 0, 0, 0, 0)
    assert summary(table[(c, date(2026, 11, 2))]) == ("active", 1, 0, 0, 1, 1, 1, 0, 0)
    # 3 patient-days of A, 2 of B, 1 of C: nothing before enrolment, while paused, from discharge
    assert sorted(table) == sorted(
        [(a, date(2026, 11, d)) for d in (2, 3, 4)]
        + [(b, date(2026, 11, d)) for d in (2, 3)]
        + [(c, date(2026, 11, 2))]
    )
    assert table[(a, date(2026, 11, 2))].home_care is True
    assert table[(b, date(2026, 11, 2))].home_care is False
    # the first run computed the last 90 days (to yesterday, 4 November) and recorded itself
    assert (result.status, result.processed, result.detail["patient_days"]) == ("ok", 90, 6)
    with sessions() as session:
        run = session.scalars(select(JobRunRow).where(JobRunRow.job == JOB)).one()
        assert (run.status, run.processed) == ("ok", 90)

    # again the same morning: up to date, nothing done, nothing doubled
    again = compute_programme_days(sessions, SETTINGS, oslo(5, 8))
    assert (again.processed, again.detail.get("nothing_to_do")) == (0, 1)
    assert len(rows(sessions)) == 6

    # a blood pressure of 4 Nov uploaded late (10:30 → late), and 5 Nov has ended
    with sessions.begin() as session:
        add_reading(session, a, Kind.BLOOD_PRESSURE, oslo(4, 10, 30), "green")
    next_day = compute_programme_days(sessions, SETTINGS, oslo(6, 7))
    assert next_day.processed == 2  # 4 Nov again, and 5 Nov
    table = rows(sessions)
    assert summary(table[(a, date(2026, 11, 4))]) == ("active", 1, 0, 0, 1, 1, 0, 1, 0)
    assert summary(table[(a, date(2026, 11, 5))]) == ("active", 1, 0, 0, 1, 1, 1, 0, 0)
    assert len(table) == 7  # A's 5 Nov is new; B discharged, C paused


def test_a_new_plan_version_schedules_from_its_approval(sessions: Sessions) -> None:
    with sessions.begin() as session:
        a = add_patient(session, 1, oslo(2, 8), schedule=bp_by(time(10)))
        first = session.scalars(select(PlanVersionRow)).one()
        # version 2 approved 3 Nov 12:00 schedules 08:00 and 20:00; version 1 retires then
        first.retired_at = oslo(3, 12)
        first.status = "retired"
        patient = session.get(PatientRow, a)
        assert patient is not None
        draft = template(Condition.HYPERTENSION).model_copy(
            update={"plan_id": f"plan-{a}", "version": 2, "schedule": bp_by(time(8), time(20))}
        )
        seed.add_plan_version(
            session, patient, approve(draft, by="gp", role="gp", at=oslo(3, 12)), oslo(3, 12)
        )
        add_reading(session, a, Kind.BLOOD_PRESSURE, oslo(3, 7), "green")
    compute_programme_days(sessions, SETTINGS, oslo(5, 7))
    table = rows(sessions)
    # 3 Nov: v1's 10:00 slot (in use until 12:00): 07:00 on time; v2's 08:00 slot falls before
    # its approval (not due); v2's 20:00 slot, window (08:00, 20:00]: nothing → missed.
    # Due 2 = 1 on time + 1 missed.
    assert summary(table[(a, date(2026, 11, 3))])[5:] == (2, 1, 0, 1)
    # 4 Nov: v2 only, 08:00 and 20:00, nothing measured: 2 missed
    assert summary(table[(a, date(2026, 11, 4))])[5:] == (2, 0, 0, 2)


# ----------------------------------------------------------------------------- raw equality


def raw_days(
    session: Session, patient_id: str, days: Sequence[date], schedule: Schedule, zone: ZoneInfo
) -> dict[date, tuple[int, ...]]:
    """The raw computation for one patient from their readings: every reading is put on its
    Oslo date; for each slot of the day, on time when a reading of its kind lies in its window,
    late when one lies after its deadline up to the next slot of the kind (or midnight)."""
    readings = session.execute(
        select(ReadingRow.kind, ReadingRow.classified_at, ReadingRow.colour).where(
            ReadingRow.patient_id == patient_id
        )
    ).all()
    result: dict[date, tuple[int, ...]] = {}
    for day in days:
        mine = [(k, at, c) for k, at, c in readings if at.astimezone(zone).date() == day]
        due = on_time = late = 0
        slots = slots_on(schedule.model_copy(update={"timezone": zone.key}), day)
        for slot in slots:
            due += 1
            times = [at for k, at, _ in mine if k == slot.what]
            if any(slot.counts(t) for t in times):
                on_time += 1
                continue
            later = [
                s.deadline for s in slots if s.what == slot.what and s.deadline > slot.deadline
            ]
            until = (
                min(later) if later else datetime.combine(day + timedelta(days=1), time(0), zone)
            )
            if any(slot.deadline < t and (t <= until if later else t < until) for t in times):
                late += 1
        result[day] = (
            len(mine),
            sum(c == "red" for _, _, c in mine),
            sum(c == "yellow" for _, _, c in mine),
            sum(c == "green" for _, _, c in mine),
            due,
            on_time,
            late,
            due - on_time - late,
        )
    return result


def test_the_aggregates_equal_the_raw_computation(sessions: Sessions) -> None:
    rng = random.Random(18)
    schedule = Schedule(
        items=(
            ScheduledMeasurement(kinds=(Kind.BLOOD_PRESSURE, Kind.HEART_RATE), due_by=time(9)),
            ScheduledMeasurement(kinds=(Kind.BLOOD_PRESSURE,), due_by=time(19)),
            ScheduledMeasurement(kinds=(Kind.BODY_WEIGHT,), days=(1, 4), due_by=time(12)),
        )
    )
    # 12 days across the end of summer time (25 October 2026 in Oslo, 1 November in Halifax),
    # 8 patients enrolled 20 Oct (Oslo midnight: still 19 Oct in Halifax), two of them in Halifax
    days = [date(2026, 10, 20) + timedelta(days=n) for n in range(12)]
    enrolled = datetime(2026, 10, 19, 22, 0, tzinfo=UTC)  # 00:00 on 20 Oct in Oslo
    patients: list[tuple[str, ZoneInfo]] = []
    with sessions.begin() as session:
        for serial in range(1, 9):
            zone = HALIFAX if serial > 6 else OSLO  # two patients in another zone
            pid = add_patient(session, serial, enrolled, schedule=schedule, timezone=zone.key)
            patients.append((pid, zone))
            for day in days:
                for _ in range(rng.randint(0, 6)):
                    at = datetime.combine(day, time(0), zone) + timedelta(
                        minutes=rng.randint(0, 24 * 60 - 1)
                    )
                    kind = rng.choice(
                        [Kind.BLOOD_PRESSURE, Kind.HEART_RATE, Kind.BODY_WEIGHT, Kind.GLUCOSE]
                    )
                    colour = rng.choice(["red", "yellow", "green", "green", "green", None])
                    add_reading(session, pid, kind, at.astimezone(UTC), colour)
    now = datetime.combine(days[-1] + timedelta(days=1), time(7), OSLO).astimezone(UTC)
    compute_programme_days(sessions, SETTINGS, now)
    table = rows(sessions)
    with sessions() as session:
        for pid, zone in patients:
            raw = raw_days(session, pid, days, schedule, zone)
            for day in days:
                assert summary(table[(pid, day)])[1:] == raw[day], (pid, day)
        # Oslo: 6 patients × 12 days; Halifax: 2 × 13 (enrolled at 19:00 on 19 Oct there,
        # local time, so that day is kept too: its 19:00 slot is due — at enrolment — and missed)
        for pid, zone in patients:
            if zone is HALIFAX:
                assert summary(table[(pid, date(2026, 10, 19))])[1:] == (0, 0, 0, 0, 1, 0, 0, 1)
        assert session.scalar(select(func.count()).select_from(PatientDayRow)) == 6 * 12 + 2 * 13


def test_nobody_enrolled_nothing_computed(sessions: Sessions) -> None:
    result = compute_programme_days(sessions, SETTINGS, oslo(5, 7))
    assert (result.status, result.processed, result.detail.get("no_patients")) == ("ok", 0, 1)
    assert rows(sessions) == {}
