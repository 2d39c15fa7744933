"""Escalation of unacknowledged red alerts to the on-call nurse or the after-hours service."""

from __future__ import annotations

from datetime import datetime, timedelta
from zoneinfo import ZoneInfo

import pytest
from pydantic import ValidationError

from triage.domain.alerts import Alert, AlertCategory, AlertState, mark_escalated
from triage.domain.colours import Colour, Text
from triage.domain.escalation import (
    NO_PLAN_INSTRUCTION,
    Escalation,
    EscalationPolicy,
    EscalationTarget,
    due_escalations,
)
from triage.domain.findings import Finding, RuleType
from triage.domain.plan import PlanVersion, ZoneActions
from triage.domain.service_hours import ServiceCalendar, ServiceCalendarError

OSLO = ZoneInfo("Europe/Oslo")
CAL = ServiceCalendar()
POLICY = EscalationPolicy()
RED_INSTRUCTION = Text(
    nb="Ring legevakt på 116 117 nå. Ved pustebesvær i hvile: ring 113.",
    en="Call the out-of-hours GP on 116 117 now. If breathless at rest: call 113.",
)


def oslo(y: int, mo: int, d: int, h: int = 0, mi: int = 0, s: int = 0) -> datetime:
    return datetime(y, mo, d, h, mi, s, tzinfo=OSLO)


def plan(plan_id: str = "plan-p1") -> PlanVersion:
    def zone(nb: str, en: str) -> ZoneActions:
        return ZoneActions(patient=Text(nb=nb, en=en), nurse=Text(nb=nb, en=en))

    return PlanVersion(
        plan_id=plan_id,
        version=1,
        actions={
            Colour.GREEN: zone("Fortsett som før", "Carry on"),
            Colour.YELLOW: zone("Ta kontakt i dag", "Get in touch today"),
            Colour.RED: ZoneActions(
                patient=RED_INSTRUCTION, nurse=Text(nb="Ring pasienten", en="Call the patient")
            ),
        },
    )


PLANS = {"p1": plan(), "p2": plan("plan-p2")}


def alert(
    alert_id: str = "a1",
    *,
    patient_id: str = "p1",
    opened_at: datetime,
    colour: Colour = Colour.RED,
    state: AlertState = AlertState.OPEN,
    category: AlertCategory = AlertCategory.CLINICAL,
    escalated_at: datetime | None = None,
) -> Alert:
    rule_type = RuleType.LOST_CONTACT if category is AlertCategory.TECHNICAL else RuleType.THRESHOLD
    finding = Finding(
        rule_id="threshold:spo2",
        rule_type=rule_type,
        colour=colour,
        at=opened_at,
        text=Text(nb="SpO2 88 %", en="SpO2 88 %"),
    )
    return Alert(
        id=alert_id,
        patient_id=patient_id,
        rule_id=finding.rule_id,
        rule_type=rule_type,
        category=category,
        colour=colour,
        state=state,
        opened_at=opened_at,
        last_breach_at=opened_at,
        reason=finding,
        acknowledged_at=opened_at if state is not AlertState.OPEN else None,
        acknowledged_by="nurse" if state is not AlertState.OPEN else None,
        resolved_at=opened_at if state is AlertState.RESOLVED else None,
        resolved_by="nurse" if state is AlertState.RESOLVED else None,
        escalated_at=escalated_at,
        escalated_to="on_call_nurse" if escalated_at is not None else None,
    )


WED_10 = oslo(2026, 11, 18, 10, 0)  # an ordinary staffed Wednesday


@pytest.mark.parametrize(
    ("waited", "escalates"),
    [
        (timedelta(0), False),
        (timedelta(minutes=29, seconds=59), False),
        (timedelta(minutes=30), True),
        (timedelta(minutes=30, seconds=1), True),
        (timedelta(hours=4), True),
    ],
)
def test_on_call_boundary(waited: timedelta, escalates: bool) -> None:
    """In staffed hours a red goes to the on-call nurse at exactly 30 minutes unacknowledged."""
    result = due_escalations([alert(opened_at=WED_10)], PLANS, CAL, POLICY, WED_10 + waited)
    if not escalates:
        assert result == []
        return
    assert len(result) == 1
    (esc,) = result
    assert esc.target is EscalationTarget.ON_CALL_NURSE
    assert esc.due_since == WED_10 + timedelta(minutes=30)
    assert (esc.alert_id, esc.patient_id) == ("a1", "p1")
    minutes = int(waited.total_seconds() // 60)
    assert esc.reason.nb == f"Rødt varsel ikke kvittert på {minutes} min"
    assert esc.reason.en == f"Red alert unacknowledged for {minutes} min"
    assert esc.patient_instruction == RED_INSTRUCTION


@pytest.mark.parametrize(
    ("on_call_after", "waited", "escalates"),
    [
        (timedelta(minutes=10), timedelta(minutes=10), True),
        (timedelta(minutes=10), timedelta(minutes=9, seconds=59), False),
        (timedelta(hours=1), timedelta(minutes=59), False),
        (timedelta(0), timedelta(0), True),
    ],
)
def test_on_call_delay_is_configurable(
    on_call_after: timedelta, waited: timedelta, escalates: bool
) -> None:
    """A centre can shorten or lengthen how long a red waits for the on-call nurse."""
    policy = EscalationPolicy(on_call_after=on_call_after)
    result = due_escalations([alert(opened_at=WED_10)], PLANS, CAL, policy, WED_10 + waited)
    assert bool(result) is escalates


def test_negative_delay_is_rejected() -> None:
    """A negative on-call delay is a configuration error."""
    with pytest.raises(ValidationError):
        EscalationPolicy(on_call_after=timedelta(minutes=-1))


@pytest.mark.parametrize(
    "now",
    [
        WED_10 + timedelta(hours=2),  # staffed hours
        oslo(2026, 11, 18, 20, 0),  # evening
        oslo(2026, 11, 21, 10, 0),  # Saturday
    ],
)
@pytest.mark.parametrize(
    "not_escalated",
    [
        alert(opened_at=WED_10, state=AlertState.ACKNOWLEDGED),
        alert(opened_at=WED_10, state=AlertState.RESOLVED),
        alert(opened_at=WED_10, colour=Colour.YELLOW),
        alert(opened_at=WED_10, escalated_at=WED_10 + timedelta(minutes=30)),
        alert(opened_at=WED_10, category=AlertCategory.TECHNICAL, colour=Colour.RED),
    ],
    ids=["acknowledged", "resolved", "yellow", "already-escalated", "technical"],
)
def test_alerts_that_never_escalate(now: datetime, not_escalated: Alert) -> None:
    """Acknowledged, resolved, yellow, technical or already-escalated alerts are not escalated."""
    assert due_escalations([not_escalated], PLANS, CAL, POLICY, now) == []


@pytest.mark.parametrize(
    ("opened_at", "now", "due_since"),
    [
        # Opened in the evening: after-hours at once, due since it opened.
        (oslo(2026, 11, 18, 18, 0), oslo(2026, 11, 18, 18, 0), oslo(2026, 11, 18, 18, 0)),
        (oslo(2026, 11, 18, 18, 0), oslo(2026, 11, 18, 18, 1), oslo(2026, 11, 18, 18, 0)),
        # Opened before the centre opens.
        (oslo(2026, 11, 18, 7, 0), oslo(2026, 11, 18, 7, 59), oslo(2026, 11, 18, 7, 0)),
        # Opened at 14:50, unacknowledged when the centre closes: due since closing time.
        (oslo(2026, 11, 18, 14, 50), oslo(2026, 11, 18, 15, 0), oslo(2026, 11, 18, 15, 0)),
        (oslo(2026, 11, 18, 14, 50), oslo(2026, 11, 18, 15, 5), oslo(2026, 11, 18, 15, 0)),
        # Opened Friday afternoon, still unacknowledged on Saturday.
        (oslo(2026, 11, 20, 13, 0), oslo(2026, 11, 21, 9, 0), oslo(2026, 11, 20, 15, 0)),
        # Saturday and Sunday.
        (oslo(2026, 11, 21, 10, 0), oslo(2026, 11, 21, 10, 0), oslo(2026, 11, 21, 10, 0)),
        (oslo(2026, 11, 22, 3, 0), oslo(2026, 11, 22, 3, 5), oslo(2026, 11, 22, 3, 0)),
        # Norwegian public holidays on weekdays: Ascension Day, Easter Monday, 17 May 2027.
        (oslo(2026, 5, 14, 10, 0), oslo(2026, 5, 14, 10, 1), oslo(2026, 5, 14, 10, 0)),
        (oslo(2026, 4, 6, 9, 0), oslo(2026, 4, 6, 9, 0), oslo(2026, 4, 6, 9, 0)),
        (oslo(2027, 5, 17, 11, 0), oslo(2027, 5, 17, 11, 0), oslo(2027, 5, 17, 11, 0)),
        (oslo(2026, 12, 25, 12, 0), oslo(2026, 12, 25, 12, 0), oslo(2026, 12, 25, 12, 0)),
    ],
)
def test_outside_staffed_hours_goes_to_after_hours_at_once(
    opened_at: datetime, now: datetime, due_since: datetime
) -> None:
    """Out of hours a red goes straight to legevakt, with the patient's own red instruction."""
    (esc,) = due_escalations([alert(opened_at=opened_at)], PLANS, CAL, POLICY, now)
    assert esc.target is EscalationTarget.AFTER_HOURS
    assert esc.due_since == due_since
    assert esc.patient_instruction == RED_INSTRUCTION
    assert esc.reason.nb.startswith("Utenfor åpningstid")
    assert "legevakt (116 117)" in esc.reason.nb
    assert esc.reason.en.startswith("Outside staffed hours")
    assert "116 117" in esc.reason.en


def test_after_hours_service_is_configurable() -> None:
    """A municipality can name its own after-hours service in the escalation reason."""
    policy = EscalationPolicy(
        after_hours_service=Text(nb="Kommunal akutt døgnenhet", en="Municipal acute ward")
    )
    now = oslo(2026, 11, 18, 20, 0)
    (esc,) = due_escalations([alert(opened_at=now)], PLANS, CAL, policy, now)
    assert "Kommunal akutt døgnenhet" in esc.reason.nb
    assert "Municipal acute ward" in esc.reason.en


def test_opened_at_night_still_waiting_when_the_centre_opens() -> None:
    """A night-time red nobody escalated reaches the on-call nurse as soon as the centre opens."""
    opened = oslo(2026, 11, 22, 23, 0)  # Sunday night
    now = oslo(2026, 11, 23, 8, 0)  # Monday opening
    (esc,) = due_escalations([alert(opened_at=opened)], PLANS, CAL, POLICY, now)
    assert esc.target is EscalationTarget.ON_CALL_NURSE
    assert esc.due_since == opened + timedelta(minutes=30)
    assert esc.reason.en == "Red alert unacknowledged for 540 min"


@pytest.mark.parametrize(
    "now",
    [WED_10 + timedelta(minutes=45), oslo(2026, 11, 18, 21, 0)],
    ids=["staffed", "after-hours"],
)
def test_patient_without_plan_still_escalates(now: datetime) -> None:
    """A patient with no active plan is escalated with a plain 'no plan found' instruction."""
    lonely = alert(patient_id="p-no-plan", opened_at=min(now, WED_10))
    (esc,) = due_escalations([lonely], PLANS, CAL, POLICY, now)
    assert esc.patient_id == "p-no-plan"
    assert esc.patient_instruction == NO_PLAN_INSTRUCTION
    assert "Ingen aktiv egenbehandlingsplan" in esc.patient_instruction.nb
    assert "No active self-management plan" in esc.patient_instruction.en


def test_each_patient_gets_their_own_plan_instruction() -> None:
    """The red instruction comes from the alert's own patient's plan."""
    other = RED_INSTRUCTION.model_copy(update={"en": "Take your rescue pack and call 116 117."})
    plans = dict(PLANS)
    plans["p2"] = plans["p2"].model_copy(
        update={
            "actions": {
                **plans["p2"].actions,
                Colour.RED: ZoneActions(patient=other, nurse=RED_INSTRUCTION),
            }
        }
    )
    now = oslo(2026, 11, 18, 20, 0)
    result = due_escalations(
        [alert("a1", opened_at=now), alert("a2", patient_id="p2", opened_at=now)],
        plans,
        CAL,
        POLICY,
        now,
    )
    assert {e.patient_id: e.patient_instruction for e in result} == {
        "p1": RED_INSTRUCTION,
        "p2": other,
    }


def test_ordered_by_due_since_then_alert_id() -> None:
    """The most overdue red is first; alerts due at the same moment come by id."""
    now = WED_10 + timedelta(hours=3)
    alerts = [
        alert("c", opened_at=WED_10 + timedelta(hours=1)),
        alert("b", patient_id="p2", opened_at=WED_10),
        alert("a", opened_at=WED_10),
        alert("z", opened_at=WED_10 - timedelta(minutes=5)),
        alert("y", opened_at=WED_10 + timedelta(hours=2, minutes=45)),  # not yet due
    ]
    result = due_escalations(alerts, PLANS, CAL, POLICY, now)
    assert [e.alert_id for e in result] == ["z", "a", "b", "c"]
    assert [e.due_since for e in result] == sorted(e.due_since for e in result)
    assert due_escalations(list(reversed(alerts)), PLANS, CAL, POLICY, now) == result


def test_decisions_are_applied_by_the_caller_once() -> None:
    """Once the caller records an escalation, the same alert is not escalated again."""
    now = WED_10 + timedelta(minutes=31)
    red = alert(opened_at=WED_10)
    (esc,) = due_escalations([red], PLANS, CAL, POLICY, now)
    assert isinstance(esc, Escalation)
    escalated, event = mark_escalated(red, to=esc.target.value, at=now)
    assert event.event == "escalated"
    assert escalated.escalated_to == "on_call_nurse"
    assert due_escalations([escalated], PLANS, CAL, POLICY, now + timedelta(hours=1)) == []
    assert red.escalated_at is None  # nothing was applied by due_escalations


def test_naive_now_is_rejected() -> None:
    """A clock reading without a zone is refused rather than guessed."""
    with pytest.raises(ServiceCalendarError, match="naive"):
        due_escalations([], PLANS, CAL, POLICY, datetime(2026, 11, 18, 10))  # noqa: DTZ001


def test_no_alerts_no_escalations() -> None:
    """A quiet day produces no escalations."""
    assert due_escalations([], {}, CAL, POLICY, WED_10) == []
