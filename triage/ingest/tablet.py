"""``dho.tablet/1``: what the service tells a patient's tablet (retained on
``dho/v1/{gateway_id}/tablet``, QoS 1), and the pure function that builds it.

:func:`build_tablet_state` takes the values (plan version, patient, centre and its calendar,
messages, call requests) and ``now``; it reads no clock and no database. The publisher
(:mod:`triage.ingest.tablet_publisher`) loads those values and publishes the result. The contract
is in docs/contracts/README.md; the JSON Schema in docs/contracts/schemas/tablet.json.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime, time, timedelta
from typing import Literal

from pydantic import AwareDatetime, BaseModel, ConfigDict, Field

from triage.domain.colours import Colour, Text
from triage.domain.plan import PlanVersion, QuestionnaireRule
from triage.domain.questionnaires import Questionnaire, QuestionnaireError, get_questionnaire
from triage.domain.service_hours import ServiceCalendar

TABLET_SCHEMA = "dho.tablet/1"

#: How far ahead the staffed intervals go, so the tablet can say when the centre opens offline.
STAFFED_DAYS = 14
#: Messages shown: every unread one, and those read in the last 7 days; at most 20, newest first.
MESSAGES_READ_WITHIN = timedelta(days=7)
MAX_MESSAGES = 20
#: Call requests shown: the open ones, and those handled in the last 2 days; at most 5.
CALLS_HANDLED_WITHIN = timedelta(days=2)
MAX_CALL_REQUESTS = 5

#: The general safety text the tablet always shows (the plan has no text of its own yet): the
#: same numbers as docs/clinical/safety.md and service-hours.md.
SAFETY_TEXT = Text(
    nb="Hvis du blir verre, ring legevakt 116 117. Ved livstruende tilstand, ring 113.",
    en="If you get worse, call the out-of-hours service 116 117. If life is at risk, call 113.",
)


class _Model(BaseModel):
    model_config = ConfigDict(frozen=True, extra="forbid", populate_by_name=True)


class StaffedInterval(_Model):
    from_: AwareDatetime = Field(alias="from", description="opens (local time with offset)")
    to: AwareDatetime = Field(description="closes (local time with offset)")


class TabletCentre(_Model):
    name: str
    phone: str | None = Field(description="the centre's phone number, shown to the patient")
    staffed: tuple[StaffedInterval, ...] = Field(
        description="staffed intervals from now for the next 14 days (holidays excluded)"
    )


class TabletPatient(_Model):
    first_name: str


class ScheduleItem(_Model):
    kind: str = Field(description="a reading kind of dho.reading/1, or questionnaire")
    questionnaire: str | None = Field(default=None, description="for kind questionnaire")
    weekdays: tuple[int, ...] = Field(description="ISO weekdays, 1 = Monday … 7 = Sunday")
    at: str = Field(description="local time HH:MM in the state's timezone: due by then")


class EmergencyNumber(_Model):
    label: Text
    number: str


class TabletPlan(_Model):
    version: int
    schedule: tuple[ScheduleItem, ...]
    questionnaires: tuple[Questionnaire, ...]
    advice: dict[Colour, Text] = Field(description="the plan's advice to the patient per colour")
    safety_text: Text
    emergency_numbers: tuple[EmergencyNumber, ...]


class TabletMessage(_Model):
    id: str
    sent_at: AwareDatetime
    from_: str = Field(alias="from", description="who sent it, e.g. Sykepleier Anne Hansen")
    text: str
    read_at: AwareDatetime | None


class TabletCallRequest(_Model):
    id: str
    asked_at: AwareDatetime
    status: Literal["open", "done"]
    handled_at: AwareDatetime | None
    handled_by: str | None


class TabletState(_Model):
    """``dho.tablet/1`` on ``dho/v1/{gateway_id}/tablet`` (retained, QoS 1, service → gateway)."""

    schema_id: Literal["dho.tablet/1"] = Field(default="dho.tablet/1", alias="schema")
    gateway_id: str
    issued_at: AwareDatetime
    timezone: str = Field(description="the patient's IANA time zone")
    patient: TabletPatient
    centre: TabletCentre
    plan: TabletPlan | None = Field(description="null: no approved plan")
    messages: tuple[TabletMessage, ...]
    call_requests: tuple[TabletCallRequest, ...]

    def to_json(self) -> bytes:
        return self.model_dump_json(by_alias=True).encode()


# ----------------------------------------------------------------------------- inputs


@dataclass(frozen=True, slots=True)
class MessageFacts:
    id: str
    sent_at: datetime
    sender: str
    text: str
    read_at: datetime | None


@dataclass(frozen=True, slots=True)
class CallFacts:
    id: str
    asked_at: datetime
    handled_at: datetime | None
    handled_by: str | None


@dataclass(frozen=True, slots=True)
class CentreFacts:
    name: str
    phone: str | None
    calendar: ServiceCalendar


EMERGENCY_NUMBERS = (
    EmergencyNumber(label=Text(nb="Legevakt", en="Out-of-hours service"), number="116 117"),
    EmergencyNumber(label=Text(nb="Medisinsk nødtelefon", en="Emergency"), number="113"),
)


# ----------------------------------------------------------------------------- the builder


def first_name(display_name: str) -> str:
    """The first word of the patient's name (the tablet greets by first name only)."""
    words = display_name.split()
    return words[0] if words else ""


def staffed_intervals(
    calendar: ServiceCalendar, now: datetime, days: int = STAFFED_DAYS
) -> tuple[StaffedInterval, ...]:
    """The staffed periods that end after ``now`` and start within ``days`` of it, in the
    calendar's zone (holidays, closed and extra open dates as the calendar says)."""
    zone = calendar.zone
    today = now.astimezone(zone).date()
    until = now + timedelta(days=days)
    intervals = []
    for offset in range(days + 1):
        day = today + timedelta(days=offset)
        if not calendar.is_staffed_day(day):
            continue
        opens, closes = calendar.opening_on(day), calendar.closing_on(day)
        if closes <= now or opens >= until:
            continue
        intervals.append(StaffedInterval(from_=opens, to=closes))
    return tuple(intervals)


def _hhmm(at: time) -> str:
    return f"{at.hour:02d}:{at.minute:02d}"


def plan_for_tablet(plan: PlanVersion) -> TabletPlan:
    """The parts of an approved plan the tablet shows: schedule, questionnaires, advice."""
    schedule: list[ScheduleItem] = []
    wanted: list[str] = []
    for item in plan.schedule.items:
        for kind in item.kinds:
            schedule.append(
                ScheduleItem(kind=kind.value, weekdays=item.days, at=_hhmm(item.due_by))
            )
        if item.questionnaire is not None:
            schedule.append(
                ScheduleItem(
                    kind="questionnaire",
                    questionnaire=item.questionnaire,
                    weekdays=item.days,
                    at=_hhmm(item.due_by),
                )
            )
            wanted.append(item.questionnaire)
    wanted += [r.questionnaire for r in plan.rules if isinstance(r, QuestionnaireRule)]
    questionnaires = []
    for qid in dict.fromkeys(wanted):
        try:
            questionnaires.append(get_questionnaire(qid))
        except QuestionnaireError:
            continue  # a plan naming an unknown questionnaire: the tablet cannot render it
    return TabletPlan(
        version=plan.version,
        schedule=tuple(schedule),
        questionnaires=tuple(questionnaires),
        advice={colour: actions.patient for colour, actions in plan.actions.items()},
        safety_text=SAFETY_TEXT,
        emergency_numbers=EMERGENCY_NUMBERS,
    )


def build_tablet_state(
    *,
    gateway_id: str,
    now: datetime,
    timezone: str,
    patient_name: str,
    centre: CentreFacts,
    plan: PlanVersion | None,
    messages: Sequence[MessageFacts],
    calls: Sequence[CallFacts],
) -> TabletState:
    """The tablet state at ``now`` (see the module): messages unread or read in the last 7
    days (at most 20, newest first); call requests open or handled in the last 2 days (at
    most 5, newest first); staffed intervals for the next 14 days."""
    shown_messages = sorted(
        (m for m in messages if m.read_at is None or m.read_at >= now - MESSAGES_READ_WITHIN),
        key=lambda m: m.sent_at,
        reverse=True,
    )[:MAX_MESSAGES]
    shown_calls = sorted(
        (c for c in calls if c.handled_at is None or c.handled_at >= now - CALLS_HANDLED_WITHIN),
        key=lambda c: c.asked_at,
        reverse=True,
    )[:MAX_CALL_REQUESTS]
    zone = centre.calendar.zone
    return TabletState(
        gateway_id=gateway_id,
        issued_at=now.astimezone(zone),
        timezone=timezone,
        patient=TabletPatient(first_name=first_name(patient_name)),
        centre=TabletCentre(
            name=centre.name,
            phone=centre.phone,
            staffed=staffed_intervals(centre.calendar, now),
        ),
        plan=plan_for_tablet(plan) if plan is not None else None,
        messages=tuple(
            TabletMessage(
                id=m.id,
                sent_at=m.sent_at.astimezone(zone),
                from_=m.sender,
                text=m.text,
                read_at=m.read_at.astimezone(zone) if m.read_at else None,
            )
            for m in shown_messages
        ),
        call_requests=tuple(
            TabletCallRequest(
                id=c.id,
                asked_at=c.asked_at.astimezone(zone),
                status="open" if c.handled_at is None else "done",
                handled_at=c.handled_at.astimezone(zone) if c.handled_at else None,
                handled_by=c.handled_by,
            )
            for c in shown_calls
        ),
    )
