"""Measurement adherence of one patient's day (issue 18; pure: no I/O, no clock reads).

The daily programme job (:mod:`triage.jobs.programme_days`) asks this module two things for
each patient and each of their own calendar days:

* **Was the day in follow-up, and in which state?** (:func:`state_on`) The patients table holds
  only the current state and when it last changed, so earlier days are reconstructed:

  - a day before the local date of enrolment is not kept;
  - ``trial``: every day from enrolment, state ``trial``;
  - ``active``: days from the last state change on are ``active``; earlier days are ``active``
    when an approved plan was in use at the end of the day, else ``trial`` (the trial period
    ends with the approved plan);
  - ``paused``: days before the pause began (the local date of the last state change) are kept
    as for ``active``; the days of the pause are not kept; from ``paused_until`` on (once it has
    come), days are kept again as ``active``/``trial`` by the same plan test;
  - ``discharged``: days before the local date of discharge are kept as for ``active``; the
    day of discharge and later days are not;
  - any other state: not kept.

  A pause that ended before the last state change (paused, resumed, later discharged) cannot be
  seen: its days are kept as followed-up days.

* **What the plan scheduled that day, and what was done** (:func:`day_outcomes`). The slots are
  :func:`triage.domain.schedule.slots_on` of the plan version in use at each slot's deadline
  (approved at or before it and not retired by then), in the patient's zone; slots whose
  deadline lies before ``since`` (enrolment or the plan's approval, whichever is later) are not
  due. Each due slot is exactly one of:

  - **on time**: a measurement of its kind (a reading, or an answered questionnaire) in the
    slot's window (:meth:`~triage.domain.schedule.Slot.counts`: from local midnight, or just
    after the previous slot of the same kind that day, to its deadline inclusive);
  - **late**: none in the window, but one after the deadline and before the next slot of the
    same kind that day is due (its deadline, inclusive), or when there is no later slot of that
    kind that day, before the local midnight that ends the day. Such a measurement also counts
    for the next slot when it lies in that slot's window (one reading can make one slot late and
    the next on time);
  - **missed**: neither.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from datetime import date, datetime, time, timedelta
from zoneinfo import ZoneInfo

from triage.domain.schedule import Slot, local_instant

#: States whose days may be kept.
KEPT_STATES = ("trial", "active", "paused", "discharged")


@dataclass(frozen=True, slots=True)
class Outcomes:
    """Due slots of a day, and how many were done on time, late, or missed."""

    due: int = 0
    on_time: int = 0
    late: int = 0
    missed: int = 0

    def __add__(self, other: Outcomes) -> Outcomes:
        return Outcomes(
            self.due + other.due,
            self.on_time + other.on_time,
            self.late + other.late,
            self.missed + other.missed,
        )


def day_bounds(day: date, zone: ZoneInfo) -> tuple[datetime, datetime]:
    """Local midnight starting ``day`` and the one ending it, as UTC instants."""
    return local_instant(day, time(0), zone), local_instant(day + timedelta(days=1), time(0), zone)


def local_date(at: datetime, zone: ZoneInfo) -> date:
    return at.astimezone(zone).date()


def state_on(
    *,
    day: date,
    state: str,
    enrolled_at: datetime,
    state_changed_at: datetime,
    paused_until: date | None,
    zone: ZoneInfo,
    plan_approved_by_end: bool,
) -> str | None:
    """The patient's state on their local ``day`` (``trial`` or ``active``), or None when the
    day is not kept (see the module docstring)."""
    if day < local_date(enrolled_at, zone) or state not in KEPT_STATES:
        return None
    earlier = "active" if plan_approved_by_end else "trial"
    if state == "trial":
        return "trial"
    changed = local_date(state_changed_at, zone)
    if state == "active":
        return "active" if day >= changed and state_changed_at > enrolled_at else earlier
    if state == "paused":
        if day < changed:
            return earlier
        if paused_until is not None and day >= paused_until:
            return earlier
        return None
    # discharged
    return earlier if day < changed else None


def day_outcomes(
    slots: Sequence[Slot], times: Mapping[str, Sequence[datetime]], day_end: datetime
) -> Outcomes:
    """On time, late and missed among the due ``slots`` of one local day (every slot of the
    plans in use that is due, in deadline order or not); ``times`` are the instants measured
    that day by what was measured (a kind value, or ``questionnaire:<id>``); ``day_end`` the
    local midnight ending the day (exclusive)."""
    on_time = late = 0
    by_what: dict[str, list[Slot]] = {}
    for slot in slots:
        by_what.setdefault(slot.what, []).append(slot)
    for what, own in by_what.items():
        own.sort(key=lambda s: s.deadline)
        measured = times.get(what, ())
        for index, slot in enumerate(own):
            if any(slot.counts(t) for t in measured):
                on_time += 1
                continue
            until = own[index + 1].deadline if index + 1 < len(own) else None
            if any(
                t > slot.deadline and (t <= until if until is not None else t < day_end)
                for t in measured
            ):
                late += 1
    due = len(slots)
    return Outcomes(due, on_time, late, due - on_time - late)
