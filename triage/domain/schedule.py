"""Measurement schedules: when each scheduled measurement is due, and which are missing.

A schedule item says "measure these kinds on these weekdays by this local time" in the patient's
IANA zone. Deadlines are wall-clock times on the local calendar, so on the days the clocks change
(the last Sundays of March and October in Europe/Oslo) "by 08:00" is still 08:00 on the wall.
A wall time that does not exist (02:30 on the spring-forward night) falls one hour later; an
ambiguous one (02:30 on the fall-back night) is its first occurrence.

Windows: on a local day, the slots of the same kind are ordered by deadline; a slot's window runs
from local midnight (inclusive) or just after the previous slot's deadline to its own deadline
(inclusive), so a reading exactly at one deadline counts for that slot only.
A slot is *missing* when its deadline (plus the rule's grace) has passed with no
reading of that kind in its window. The missing-measurement finding for a kind is about its
latest due slot: yellow while that slot is missed and nothing of that kind has arrived since
its deadline; green (back in range) once a reading arrives, even a late one.
"""

from __future__ import annotations

from collections.abc import Iterator, Sequence
from dataclasses import dataclass
from datetime import UTC, date, datetime, time, timedelta
from zoneinfo import ZoneInfo

from triage.domain.colours import Colour
from triage.domain.findings import Finding, RuleType, message
from triage.domain.plan import MissingMeasurementRule, PlanVersion, Schedule
from triage.domain.plan_diff import kind_words
from triage.domain.readings import Kind, Reading, Report

_WEEKDAY_EN = ["Monday", "Tuesday", "Wednesday", "Thursday", "Friday", "Saturday", "Sunday"]

_KIND_NB = {
    Kind.BLOOD_PRESSURE: "blodtrykk",
    Kind.SPO2: "SpO2",
    Kind.HEART_RATE: "puls",
    Kind.GLUCOSE: "blodsukker",
    Kind.BODY_WEIGHT: "vekt",
    Kind.BODY_TEMPERATURE: "temperatur",
    Kind.RESPIRATORY_RATE: "respirasjonsfrekvens",
    Kind.PEAK_FLOW: "PEF",
}


@dataclass(frozen=True)
class Slot:
    """One scheduled measurement: what, and the window in which it counts."""

    what: str  # a Kind value, or "questionnaire:<id>"
    local_date: date
    due_by: time
    window_start: datetime  # aware, UTC; exclusive unless the window starts at midnight
    deadline: datetime  # aware, UTC; inclusive
    starts_at_midnight: bool = True

    def counts(self, measured_at: datetime) -> bool:
        """True when a measurement at ``measured_at`` falls in this slot's window."""
        if measured_at > self.deadline:
            return False
        if self.starts_at_midnight:
            return measured_at >= self.window_start
        return measured_at > self.window_start


def local_instant(day: date, wall: time, zone: ZoneInfo) -> datetime:
    """The UTC instant of wall-clock ``wall`` on ``day`` in ``zone``.

    A non-existent wall time (spring forward) is moved forward by the gap (02:30 becomes
    03:30 summer time); an ambiguous one (fall back) is its first occurrence. Both follow from
    ``fold=0``, which reads the wall time with the offset in force before the change.
    """
    return datetime.combine(day, wall, tzinfo=zone).astimezone(UTC)


def slots_on(schedule: Schedule, day: date) -> list[Slot]:
    """Every slot of ``schedule`` on local date ``day``, ordered by deadline."""
    zone = schedule.zone
    midnight = local_instant(day, time(0, 0), zone)
    per_what: dict[str, list[time]] = {}
    for item in schedule.items:
        if day.isoweekday() not in item.days:
            continue
        whats = [k.value for k in item.kinds]
        if item.questionnaire is not None:
            whats.append(f"questionnaire:{item.questionnaire}")
        for what in whats:
            per_what.setdefault(what, []).append(item.due_by)
    slots: list[Slot] = []
    for what, dues in per_what.items():
        start, first = midnight, True
        for due in sorted(set(dues)):
            deadline = local_instant(day, due, zone)
            slots.append(Slot(what, day, due, start, deadline, starts_at_midnight=first))
            start, first = deadline, False
    return sorted(slots, key=lambda s: (s.deadline, s.what))


def iter_slots(schedule: Schedule, since: datetime, until: datetime) -> Iterator[Slot]:
    """Slots whose deadline lies in ``[since, until]``, in deadline order."""
    zone = schedule.zone
    day = since.astimezone(zone).date()
    last = until.astimezone(zone).date()
    while day <= last:
        for slot in slots_on(schedule, day):
            if since <= slot.deadline <= until:
                yield slot
        day += timedelta(days=1)


def schedule_problems(schedule: Schedule) -> list[tuple[tuple[str | int, ...], str]]:
    """What is wrong with a schedule a person wrote, beyond what each item checks itself: the
    same measurement (a kind, or a questionnaire) twice at the same time on the same weekday,
    within one item or across items. Each problem is ``(where, message)``, ``where`` the path
    inside the schedule (``("items", 1, "due_by")``). Checked when a draft is saved, not when a
    stored version is read, so that an existing plan never stops classifying."""
    problems: list[tuple[tuple[str | int, ...], str]] = []
    seen: dict[tuple[str, int, time], int] = {}
    for index, item in enumerate(schedule.items):
        repeated = sorted({k.value for k in item.kinds if item.kinds.count(k) > 1})
        if repeated:
            problems.append(
                (("items", index, "kinds"), f"{', '.join(repeated)} is listed twice in one item")
            )
        whats = [k.value for k in dict.fromkeys(item.kinds)]
        if item.questionnaire is not None:
            whats.append(f"questionnaire:{item.questionnaire}")
        clashes: dict[int, tuple[list[str], list[int]]] = {}
        for what in whats:
            for day in item.days:
                earlier = seen.setdefault((what, day, item.due_by), index)
                if earlier != index:
                    names, days = clashes.setdefault(earlier, ([], []))
                    if what not in names:
                        names.append(what)
                    if day not in days:
                        days.append(day)
        for earlier, (names, days) in clashes.items():
            shown = ", ".join(_name_en(w) for w in names)
            on = ", ".join(_WEEKDAY_EN[d - 1] for d in sorted(days))
            problems.append(
                (
                    ("items", index, "due_by"),
                    f"{shown} is already scheduled at {item.due_by:%H:%M} ({schedule.timezone}) "
                    f"on {on} in items[{earlier}]: a measurement cannot be scheduled twice at "
                    "the same time — remove one, or move it to another time",
                )
            )
    return problems


def _name_en(what: str) -> str:
    if what.startswith("questionnaire:"):
        return _names(what)[1]
    return kind_words(Kind(what)).en


def _times_of(what: str, readings: Sequence[Reading], reports: Sequence[Report]) -> list[datetime]:
    if what.startswith("questionnaire:"):
        qid = what.split(":", 1)[1]
        return [r.answered_at for r in reports if r.questionnaire == qid]
    return [r.measured_at for r in readings if r.kind.value == what]


def is_missed(slot: Slot, readings: Sequence[Reading], reports: Sequence[Report]) -> bool:
    """True when nothing of the slot's kind was measured in its window."""
    return not any(slot.counts(t) for t in _times_of(slot.what, readings, reports))


def missing_findings(
    plan: PlanVersion,
    readings: Sequence[Reading],
    reports: Sequence[Report],
    since: datetime,
    now: datetime,
) -> list[Finding]:
    """One finding per scheduled kind (or questionnaire) about its latest due slot.

    ``since`` is when the schedule started to apply (plan approval, enrolment or the end of a
    pause): slots before it never count. Returns nothing when the plan has no missing rule.
    """
    rule = next((r for r in plan.rules if isinstance(r, MissingMeasurementRule)), None)
    if rule is None:
        return []
    latest: dict[str, Slot] = {}
    lookback = max(since, now - timedelta(days=8))
    for slot in iter_slots(plan.schedule, lookback, now - rule.grace):
        latest[slot.what] = slot
    findings = []
    for _what, slot in sorted(latest.items()):
        findings.append(_missing_finding(plan, rule, slot, readings, reports))
    return findings


def _missing_finding(
    plan: PlanVersion,
    rule: MissingMeasurementRule,
    slot: Slot,
    readings: Sequence[Reading],
    reports: Sequence[Report],
) -> Finding:
    late = any(t > slot.deadline for t in _times_of(slot.what, readings, reports))
    missed = is_missed(slot, readings, reports) and not late
    args = {
        "what": _what(slot.what),
        "due": f"{slot.due_by:%H:%M}",
        "date": slot.local_date.isoformat(),
    }
    return Finding(
        rule_id=f"{rule.id}:{slot.what}",
        rule_type=RuleType.MISSING,
        colour=rule.colour if missed else Colour.GREEN,
        at=slot.deadline,
        plan_id=plan.plan_id,
        plan_version=plan.version,
        bound=f"{slot.due_by:%H:%M} {plan.schedule.timezone}",
        message="missing" if missed else "missing.measured",
        args=args,
    )


def _what(what: str) -> dict[str, object]:
    """What was due, as a nested message: a kind of measurement, or a questionnaire."""
    if what.startswith("questionnaire:"):
        return message("kind.questionnaire", questionnaire=what.split(":", 1)[1])
    return message(f"kind.{Kind(what).value}")


def _names(what: str) -> tuple[str, str]:
    if what.startswith("questionnaire:"):
        qid = what.split(":", 1)[1]
        return f"spørreskjema {qid}", f"questionnaire {qid}"
    kind = Kind(what)
    return _KIND_NB[kind], kind.value.replace("_", " ")
