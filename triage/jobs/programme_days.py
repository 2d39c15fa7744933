"""The daily programme aggregates (issue 18): one ``patient_days`` row per patient and day in
follow-up, so the programme's figures never read the readings themselves.

For every patient whose enrolment state keeps the day (:func:`triage.domain.adherence.state_on`:
trial and active days; paused days and days from discharge on are not kept), in the patient's
own calendar day (their IANA zone, local midnight to local midnight): the readings (by
``classified_at``, the instant the triage core classified them at) and how many were red,
yellow and green; the measurements the plan in use scheduled that day
(:func:`triage.domain.schedule.slots_on`, the missing-measurement job's slots) and how many were
done on time, late or missed (:func:`triage.domain.adherence.day_outcomes`); the patient's
centre, municipality, condition and home-care flag as they are when the day is computed.

**Which days a run computes.** Days end at Oslo midnight (``Europe/Oslo``, the centres' zone):
a run at ``now`` computes up to yesterday. The first run (an empty table) computes the last
``DHO_PROGRAMME_DAYS_CATCH_UP_DAYS`` days (90); later runs compute the days after the latest
day in the table up to yesterday, and that latest day once more (readings uploaded late by a
gateway that was offline are counted the next day); never more than the catch-up bound. When
the table is already up to yesterday, or nobody is enrolled, a run does nothing. The job runs
every hour, so a day is computed within the hour after it ends and again the next day. Readings
that arrive later than that (a gateway offline for days) are not in the day's row until the day
is computed again: delete the day's rows and every day after, and the next run recomputes them.

**Idempotent.** A day is computed as a whole: its rows are deleted and written again in one
transaction (an upsert of the day), so running the job again, or over days already computed,
gives the same table. Each day is one item of the run, in its own transaction (so a long
catch-up never holds the database's locks for long; SQLite's write lock included), recorded in
``job_runs`` like the other jobs: ``processed`` days, ``patient_days`` rows written.

**Cost.** Per day: one ``GROUP BY patient_id`` over the day's readings for the counts (per
time zone in use), one query for the measurement times of the scheduled kinds, one for the
answered questionnaires, and the slot logic in Python with the slots of each schedule and day
computed once (patients sharing a template share them).
"""

from __future__ import annotations

import json
from collections import Counter, defaultdict
from collections.abc import Iterable
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, timedelta
from typing import Any
from zoneinfo import ZoneInfo

from sqlalchemy import and_, case, delete, func, insert, select
from sqlalchemy.orm import Session, sessionmaker

from triage.config import Settings
from triage.domain.adherence import KEPT_STATES, Outcomes, day_bounds, day_outcomes, state_on
from triage.domain.plan import Schedule
from triage.domain.schedule import Slot, slots_on
from triage.jobs.runs import JobResult, Tally, each_in_savepoint, require_aware, run_job
from triage.storage.models import (
    PatientDayRow,
    PatientRow,
    PlanRow,
    PlanVersionRow,
    ReadingRow,
    ReportRow,
)

JOB = "programme_days"

#: The zone whose midnight ends a day for the job (the centres' zone).
DAY_ZONE = ZoneInfo("Europe/Oslo")


def days_to_compute(latest: date | None, now: datetime, catch_up_days: int) -> list[date]:
    """The days a run at ``now`` computes, given the latest day already in the table."""
    yesterday = now.astimezone(DAY_ZONE).date() - timedelta(days=1)
    earliest = yesterday - timedelta(days=catch_up_days - 1)
    if latest is None:
        first = earliest
    elif latest >= yesterday:
        return []
    else:
        first = max(latest, earliest)
    return [first + timedelta(days=n) for n in range((yesterday - first).days + 1)]


def compute_programme_days(
    sessions: sessionmaker[Session], settings: Settings, now: datetime
) -> JobResult:
    """One run of the daily programme aggregates at ``now`` (aware); recorded in JobRunRow."""
    now = require_aware(now)

    def body(tally: Tally) -> None:
        with sessions() as session:
            latest = session.scalar(select(func.max(PatientDayRow.day)))
            days = days_to_compute(latest, now, settings.programme_days_catch_up_days)
            world = load_world(session) if days else None
        if world is None:
            tally.counts["nothing_to_do"] += 1
            return
        if not world.patients:  # nobody enrolled yet: no day to keep (computed once there is)
            tally.counts["no_patients"] += 1
            return
        for day in days:  # a transaction per day: a long catch-up never holds locks long
            each_in_savepoint(
                sessions,
                [day],
                tally,
                lambda session, day: Counter(patient_days=write_day(session, world, day, now)),
                describe=lambda day: f"day {day.isoformat()}",
                what="days",
            )

    return run_job(JOB, sessions, now, body)


def compute_days(
    sessions: sessionmaker[Session], days: Iterable[date], now: datetime
) -> dict[date, int]:
    """Compute the given days now (the demo and the bench; outside ``job_runs``): rows by day."""
    now = require_aware(now)
    with sessions() as session:
        world = load_world(session)
    written: dict[date, int] = {}
    for day in days:
        with sessions.begin() as session:
            written[day] = write_day(session, world, day, now)
    return written


# ----------------------------------------------------------------------------- the world


@dataclass(frozen=True, slots=True)
class Patient:
    id: str
    centre_id: str
    municipality_id: str
    condition: str | None
    state: str
    enrolled_at: datetime
    state_changed_at: datetime
    paused_until: date | None
    timezone: str
    home_care: bool


@dataclass(frozen=True, slots=True)
class Version:
    """An approved plan version: in use from ``approved_at`` until ``retired_at``."""

    approved_at: datetime
    retired_at: datetime | None
    schedule: Schedule  # in the plan's own zone; read in the patient's at use

    def in_use_at(self, at: datetime) -> bool:
        return self.approved_at <= at and (self.retired_at is None or at < self.retired_at)


@dataclass
class World:
    """What every day of a run needs: the patients that may be kept, and their plan versions
    (documents parsed once per distinct schedule)."""

    patients: list[Patient]
    versions: dict[str, list[Version]]
    _slots: dict[tuple[Schedule, str, date], list[Slot]] = field(default_factory=dict)
    _zones: dict[tuple[Schedule, str], Schedule] = field(default_factory=dict)

    def slots(self, schedule: Schedule, timezone: str, day: date) -> list[Slot]:
        """The schedule's slots on ``day`` read in ``timezone`` (computed once)."""
        key = (schedule, timezone, day)
        found = self._slots.get(key)
        if found is None:
            zoned = self._zones.get((schedule, timezone))
            if zoned is None:
                zoned = schedule.model_copy(update={"timezone": timezone})
                self._zones[(schedule, timezone)] = zoned
            found = self._slots[key] = slots_on(zoned, day)
        return found


def load_world(session: Session) -> World:
    patients = [
        Patient(
            id=row[0],
            centre_id=row[1],
            municipality_id=row[2],
            condition=row[3],
            state=row[4],
            enrolled_at=row[5],
            state_changed_at=row[6],
            paused_until=row[7],
            timezone=row[8],
            home_care=bool(row[9]),
        )
        for row in session.execute(
            select(
                PatientRow.id,
                PatientRow.centre_id,
                PatientRow.municipality_id,
                PatientRow.condition,
                PatientRow.state,
                PatientRow.enrolled_at,
                PatientRow.state_changed_at,
                PatientRow.paused_until,
                PatientRow.timezone,
                PatientRow.home_care,
            )
            .where(PatientRow.state.in_(KEPT_STATES))
            .order_by(PatientRow.id)
        )
    ]
    schedules: dict[str, Schedule] = {}
    versions: dict[str, list[Version]] = defaultdict(list)
    for patient_id, approved_at, retired_at, document in session.execute(
        select(
            PlanRow.patient_id,
            PlanVersionRow.approved_at,
            PlanVersionRow.retired_at,
            PlanVersionRow.document["schedule"],
        )
        .join(PlanVersionRow, PlanVersionRow.plan_id == PlanRow.id)
        .where(PlanVersionRow.approved_at.is_not(None), PlanVersionRow.status != "draft")
        .order_by(PlanRow.patient_id, PlanVersionRow.approved_at)
    ):
        raw = document if document is not None else {}
        key = json.dumps(raw, sort_keys=True)
        schedule = schedules.get(key)
        if schedule is None:
            schedule = schedules[key] = Schedule.model_validate(raw)
        versions[patient_id].append(Version(approved_at, retired_at, schedule))
    return World(patients, dict(versions))


# ----------------------------------------------------------------------------- one day


@dataclass(frozen=True, slots=True)
class Kept:
    patient: Patient
    state: str
    slots: list[Slot]
    day_end: datetime


def kept_on(world: World, day: date) -> list[Kept]:
    """The patients whose ``day`` is kept, their state that day and the slots due."""
    kept: list[Kept] = []
    for patient in world.patients:
        zone = ZoneInfo(patient.timezone)
        start, end = day_bounds(day, zone)
        versions = world.versions.get(patient.id, ())
        state = state_on(
            day=day,
            state=patient.state,
            enrolled_at=patient.enrolled_at,
            state_changed_at=patient.state_changed_at,
            paused_until=patient.paused_until,
            zone=zone,
            plan_approved_by_end=any(v.approved_at < end for v in versions),
        )
        if state is None:
            continue
        slots: list[Slot] = []
        for version in versions:
            if version.approved_at >= end or (
                version.retired_at is not None and version.retired_at <= start
            ):
                continue
            for slot in world.slots(version.schedule, patient.timezone, day):
                if version.in_use_at(slot.deadline) and slot.deadline >= patient.enrolled_at:
                    slots.append(slot)
        kept.append(Kept(patient, state, slots, end))
    return kept


def write_day(session: Session, world: World, day: date, now: datetime) -> int:
    """Compute ``day`` for every kept patient and replace its rows; returns how many."""
    kept = kept_on(world, day)
    counts: dict[str, tuple[int, int, int, int]] = {}
    times: dict[str, dict[str, list[datetime]]] = defaultdict(lambda: defaultdict(list))
    by_zone: dict[str, list[Kept]] = defaultdict(list)
    for item in kept:
        by_zone[item.patient.timezone].append(item)
    for timezone, items in by_zone.items():
        start, end = day_bounds(day, ZoneInfo(timezone))
        ids = {k.patient.id for k in items}
        for patient_id, total, red, yellow, green in _colour_counts(session, start, end):
            if patient_id in ids:
                counts[patient_id] = (total, red, yellow, green)
        wanted = {s.what for k in items for s in k.slots}
        for patient_id, what, at in _measured(session, start, end, wanted):
            if patient_id in ids:
                times[patient_id][what].append(_aware(at))
    session.execute(delete(PatientDayRow).where(PatientDayRow.day == day))
    rows: list[dict[str, Any]] = []
    for item in kept:
        p = item.patient
        total, red, yellow, green = counts.get(p.id, (0, 0, 0, 0))
        outcomes = (
            day_outcomes(item.slots, times.get(p.id, {}), item.day_end)
            if item.slots
            else Outcomes()
        )
        rows.append(
            {
                "patient_id": p.id,
                "day": day,
                "centre_id": p.centre_id,
                "municipality_id": p.municipality_id,
                "condition": p.condition,
                "state": item.state,
                "home_care": p.home_care,
                "readings": total,
                "red": red,
                "yellow": yellow,
                "green": green,
                "slots_due": outcomes.due,
                "on_time": outcomes.on_time,
                "late": outcomes.late,
                "missed": outcomes.missed,
                "computed_at": now,
            }
        )
    if rows:
        session.execute(insert(PatientDayRow), rows)
    return len(rows)


def _colour_counts(
    session: Session, start: datetime, end: datetime
) -> Iterable[tuple[str, int, int, int, int]]:
    """The day's readings per patient, and how many of them were red, yellow, green: one
    GROUP BY over the readings classified in ``[start, end)``."""

    def colour(name: str) -> Any:
        return func.sum(case((ReadingRow.colour == name, 1), else_=0))

    rows = session.execute(
        select(
            ReadingRow.patient_id, func.count(), colour("red"), colour("yellow"), colour("green")
        )
        .where(ReadingRow.classified_at >= start, ReadingRow.classified_at < end)
        .group_by(ReadingRow.patient_id)
    )
    for patient_id, total, red, yellow, green in rows:
        yield patient_id, int(total), int(red or 0), int(yellow or 0), int(green or 0)


def _measured(
    session: Session, start: datetime, end: datetime, wanted: set[str]
) -> Iterable[tuple[str, str, datetime]]:
    """When each scheduled kind (and questionnaire) was measured in ``[start, end)``."""
    kinds = sorted(w for w in wanted if not w.startswith("questionnaire:"))
    questionnaires = sorted(w.split(":", 1)[1] for w in wanted if w.startswith("questionnaire:"))
    if kinds:
        for patient_id, kind, at in session.execute(
            select(ReadingRow.patient_id, ReadingRow.kind, ReadingRow.classified_at).where(
                and_(
                    ReadingRow.classified_at >= start,
                    ReadingRow.classified_at < end,
                    ReadingRow.kind.in_(kinds),
                )
            )
        ):
            yield patient_id, kind, at
    if questionnaires:
        for patient_id, questionnaire, at in session.execute(
            select(ReportRow.patient_id, ReportRow.questionnaire, ReportRow.answered_at).where(
                ReportRow.answered_at >= start,
                ReportRow.answered_at < end,
                ReportRow.questionnaire.in_(questionnaires),
            )
        ):
            yield patient_id, f"questionnaire:{questionnaire}", at


def _aware(at: datetime) -> datetime:
    return at if at.tzinfo is not None else at.replace(tzinfo=UTC)
