"""The escalation chain: on-call nurse → second nurse → after-hours service → centre lead."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from zoneinfo import ZoneInfo

import pytest

from tests.unit.test_escalation import RED_INSTRUCTION, alert, oslo, plan
from triage.domain.alerts import (
    AlertCategory,
    AlertState,
    ForbiddenTransitionError,
    mark_escalation_step,
)
from triage.domain.colours import Colour
from triage.domain.escalation import (
    NO_PLAN_INSTRUCTION,
    ChainStep,
    EscalationPolicy,
    RecordedStep,
    next_step,
)
from triage.domain.notification import TargetRole
from triage.domain.service_hours import ServiceCalendar

CAL = ServiceCalendar()
POLICY = EscalationPolicy()
ALL = frozenset(
    {
        TargetRole.ON_CALL_NURSE,
        TargetRole.SECOND_NURSE,
        TargetRole.AFTER_HOURS,
        TargetRole.CENTRE_LEAD,
    }
)
WED_10 = oslo(2026, 11, 18, 10, 0)  # an ordinary staffed Wednesday
MIN = timedelta(minutes=1)


def step(n: int, role: TargetRole, at: datetime) -> RecordedStep:
    return RecordedStep(step=n, role=role, created_at=at)


def decide(
    steps: list[RecordedStep],
    now: datetime,
    *,
    opened_at: datetime = WED_10,
    roles: frozenset[TargetRole] = ALL,
    calendar: ServiceCalendar = CAL,
    policy: EscalationPolicy = POLICY,
    state: AlertState = AlertState.OPEN,
    received: bool = False,
) -> ChainStep | None:
    return next_step(
        alert(opened_at=opened_at, state=state),
        steps,
        calendar,
        policy,
        roles,
        now,
        plan=plan(),
        received=received,
    )


# ----------------------------------------------------------------------------- delays


@pytest.mark.parametrize(
    ("last_role", "next_role", "delay"),
    [
        (TargetRole.ON_CALL_NURSE, TargetRole.SECOND_NURSE, timedelta(minutes=15)),
        (TargetRole.SECOND_NURSE, TargetRole.AFTER_HOURS, timedelta(minutes=15)),
        (TargetRole.AFTER_HOURS, TargetRole.CENTRE_LEAD, timedelta(minutes=30)),
    ],
)
def test_each_step_is_due_its_delay_after_the_step_before_was_recorded(
    last_role: TargetRole, next_role: TargetRole, delay: timedelta
) -> None:
    """Counted from when the step before was recorded: one second early nothing; on time the next
    role, due since exactly then."""
    recorded_at = WED_10 + timedelta(minutes=37)  # the job ran late: the record's time counts
    steps = [step(0, last_role, recorded_at)]
    assert decide(steps, recorded_at + delay - timedelta(seconds=1)) is None
    due = decide(steps, recorded_at + delay)
    assert due is not None
    assert (due.step, due.role, due.due_since) == (1, next_role, recorded_at + delay)
    assert due.patient_instruction == RED_INSTRUCTION
    assert due.has_receiver
    assert due.skipped == ()


def test_step_zero_is_the_on_call_nurse_after_30_minutes_in_staffed_hours() -> None:
    assert decide([], WED_10 + 29 * MIN) is None
    first = decide([], WED_10 + 30 * MIN)
    assert first is not None
    assert (first.step, first.role, first.due_since) == (
        0,
        TargetRole.ON_CALL_NURSE,
        WED_10 + 30 * MIN,
    )
    assert first.reason.nb == "Rødt varsel ikke kvittert på 30 min"


def test_delays_come_from_the_policy() -> None:
    policy = EscalationPolicy(second_nurse_after=timedelta(minutes=5))
    steps = [step(0, TargetRole.ON_CALL_NURSE, WED_10)]
    assert decide(steps, WED_10 + 4 * MIN, policy=policy) is None
    due = decide(steps, WED_10 + 5 * MIN, policy=policy)
    assert due is not None
    assert due.role is TargetRole.SECOND_NURSE


def test_the_whole_chain_in_staffed_hours_then_it_ends() -> None:
    """Nobody acknowledges: nurse, second nurse, after-hours, centre lead — and then nothing."""
    now = WED_10
    steps: list[RecordedStep] = []
    while now < WED_10 + timedelta(hours=3):
        due = decide(steps, now)
        if due is not None:
            steps.append(step(due.step, due.role, now))
        now += MIN
    assert [(s.step, s.role) for s in steps] == [
        (0, TargetRole.ON_CALL_NURSE),
        (1, TargetRole.SECOND_NURSE),
        (2, TargetRole.AFTER_HOURS),
        (3, TargetRole.CENTRE_LEAD),
    ]
    assert [s.created_at for s in steps] == [
        WED_10 + 30 * MIN,
        WED_10 + 45 * MIN,
        WED_10 + 60 * MIN,
        WED_10 + 90 * MIN,
    ]


# ----------------------------------------------------------------------------- stops


@pytest.mark.parametrize("state", [AlertState.ACKNOWLEDGED, AlertState.RESOLVED])
def test_chain_stops_once_the_alert_is_acknowledged_or_resolved(state: AlertState) -> None:
    steps = [step(0, TargetRole.ON_CALL_NURSE, WED_10 + 30 * MIN)]
    assert decide(steps, WED_10 + 2 * 60 * MIN, state=state) is None
    assert decide([], WED_10 + 2 * 60 * MIN, state=state) is None


def test_chain_stops_once_a_message_was_confirmed_received() -> None:
    steps = [step(0, TargetRole.ON_CALL_NURSE, WED_10 + 30 * MIN)]
    assert decide(steps, WED_10 + 2 * 60 * MIN, received=True) is None
    assert decide(steps, WED_10 + 2 * 60 * MIN) is not None


def test_yellow_and_technical_alerts_have_no_chain() -> None:
    yellow = alert(opened_at=WED_10, colour=Colour.YELLOW)
    assert next_step(yellow, [], CAL, POLICY, ALL, WED_10 + 60 * MIN) is None


# ----------------------------------------------------------------------------- targets


def test_a_role_without_a_target_is_skipped_at_the_same_due_time() -> None:
    """No second nurse configured: the after-hours service gets it when the second nurse would
    have (15 minutes after the on-call nurse), not 15 minutes later still."""
    roles = ALL - {TargetRole.SECOND_NURSE}
    steps = [step(0, TargetRole.ON_CALL_NURSE, WED_10)]
    assert decide(steps, WED_10 + 14 * MIN, roles=roles) is None
    due = decide(steps, WED_10 + 15 * MIN, roles=roles)
    assert due is not None
    assert (due.step, due.role, due.skipped) == (
        1,
        TargetRole.AFTER_HOURS,
        (TargetRole.SECOND_NURSE,),
    )
    assert due.due_since == WED_10 + 15 * MIN


def test_no_on_call_target_makes_step_zero_go_to_the_second_nurse() -> None:
    due = decide([], WED_10 + 30 * MIN, roles=ALL - {TargetRole.ON_CALL_NURSE})
    assert due is not None
    assert (due.step, due.role) == (0, TargetRole.SECOND_NURSE)
    assert due.due_since == WED_10 + 30 * MIN


def test_fallback_when_no_later_role_has_a_target_and_then_the_chain_ends() -> None:
    roles = frozenset({TargetRole.ON_CALL_NURSE, TargetRole.FALLBACK})
    steps = [step(0, TargetRole.ON_CALL_NURSE, WED_10)]
    due = decide(steps, WED_10 + 15 * MIN, roles=roles)
    assert due is not None
    assert (due.step, due.role, due.has_receiver) == (1, TargetRole.FALLBACK, True)
    assert due.skipped == (
        TargetRole.SECOND_NURSE,
        TargetRole.AFTER_HOURS,
        TargetRole.CENTRE_LEAD,
    )
    steps.append(step(1, TargetRole.FALLBACK, WED_10 + 15 * MIN))
    assert decide(steps, WED_10 + timedelta(days=1), roles=roles) is None


def test_nobody_configured_still_records_a_fallback_step_without_receiver() -> None:
    due = decide([], WED_10 + 30 * MIN, roles=frozenset())
    assert due is not None
    assert (due.step, due.role, due.has_receiver) == (0, TargetRole.FALLBACK, False)
    assert "Ingen mottaker for varsling er satt opp" in due.reason.nb
    assert decide([step(0, TargetRole.FALLBACK, WED_10 + 30 * MIN)], WED_10 + 90 * MIN) is None


def test_the_chain_ends_after_the_centre_lead() -> None:
    steps = [
        step(0, TargetRole.ON_CALL_NURSE, WED_10),
        step(1, TargetRole.SECOND_NURSE, WED_10 + 15 * MIN),
        step(2, TargetRole.AFTER_HOURS, WED_10 + 30 * MIN),
        step(3, TargetRole.CENTRE_LEAD, WED_10 + 60 * MIN),
    ]
    assert decide(steps, WED_10 + timedelta(days=2)) is None


def test_no_plan_still_escalates_with_the_no_plan_instruction() -> None:
    due = next_step(alert(opened_at=WED_10), [], CAL, POLICY, ALL, WED_10 + 30 * MIN)
    assert due is not None
    assert due.patient_instruction == NO_PLAN_INSTRUCTION


# ----------------------------------------------------------------------------- closed centre

FRI_1505 = oslo(2026, 12, 4, 15, 5)  # Friday, five minutes after closing


def test_red_at_1505_on_friday_goes_to_after_hours_at_1505() -> None:
    due = decide([], FRI_1505, opened_at=FRI_1505)
    assert due is not None
    assert (due.step, due.role, due.due_since) == (0, TargetRole.AFTER_HOURS, FRI_1505)
    assert "116 117" in due.reason.nb


def test_closed_centre_without_after_hours_target_goes_to_the_centre_lead() -> None:
    roles = frozenset({TargetRole.ON_CALL_NURSE, TargetRole.CENTRE_LEAD})
    due = decide([], FRI_1505, opened_at=FRI_1505, roles=roles)
    assert due is not None
    assert (due.role, due.skipped) == (TargetRole.CENTRE_LEAD, (TargetRole.AFTER_HOURS,))


def test_closed_centre_with_only_nurse_targets_goes_to_the_fallback() -> None:
    """The nurses are not there at night: their targets do not count while closed."""
    roles = frozenset({TargetRole.ON_CALL_NURSE, TargetRole.SECOND_NURSE})
    due = decide([], FRI_1505, opened_at=FRI_1505, roles=roles)
    assert due is not None
    assert (due.role, due.has_receiver) == (TargetRole.FALLBACK, False)


def test_a_chain_at_a_nurse_step_goes_to_after_hours_at_closing_time() -> None:
    """On-call nurse told 14:50; the second nurse would be due 15:05, but the centre closes at
    15:00: the after-hours service gets it at 15:00, skipping the second nurse."""
    told = oslo(2026, 12, 4, 14, 50)
    closing = oslo(2026, 12, 4, 15, 0)
    steps = [step(0, TargetRole.ON_CALL_NURSE, told)]
    assert decide(steps, closing - timedelta(seconds=1), opened_at=told - 30 * MIN) is None
    due = decide(steps, closing, opened_at=told - 30 * MIN)
    assert due is not None
    assert (due.step, due.role, due.due_since) == (1, TargetRole.AFTER_HOURS, closing)
    assert due.skipped == (TargetRole.SECOND_NURSE,)


@pytest.mark.parametrize(
    "day",
    [
        oslo(2026, 12, 25, 10, 0),  # første juledag
        oslo(2026, 12, 26, 10, 0),  # andre juledag (a Saturday anyway)
        oslo(2027, 3, 25, 10, 0),  # skjærtorsdag
        oslo(2027, 3, 26, 10, 0),  # langfredag
    ],
)
def test_a_public_holiday_is_closed_so_red_goes_to_after_hours_at_once(day: datetime) -> None:
    due = decide([], day, opened_at=day)
    assert due is not None
    assert (due.role, due.due_since) == (TargetRole.AFTER_HOURS, day)


# ----------------------------------------------------------------------------- DST nights


@pytest.mark.parametrize(
    ("told_utc", "due_utc", "due_local"),
    [
        # 2027-03-28 (påskedag): 02:00 CET → 03:00 CEST; told 01:50 local, 30 min later is 03:20
        (
            datetime(2027, 3, 28, 0, 50, tzinfo=UTC),
            datetime(2027, 3, 28, 1, 20, tzinfo=UTC),
            "03:20",
        ),
        # 2026-10-25: 03:00 CEST → 02:00 CET; told 02:50 CEST, 30 min later is 02:20 CET
        (
            datetime(2026, 10, 25, 0, 50, tzinfo=UTC),
            datetime(2026, 10, 25, 1, 20, tzinfo=UTC),
            "02:20",
        ),
    ],
)
def test_a_chain_step_across_the_dst_night_waits_real_minutes(
    told_utc: datetime, due_utc: datetime, due_local: str
) -> None:
    """After-hours told just before the clocks change; the centre lead is due 30 real minutes
    later, whatever the wall clock says."""
    steps = [step(0, TargetRole.AFTER_HOURS, told_utc)]
    opened = told_utc - 5 * MIN
    assert decide(steps, due_utc - timedelta(seconds=1), opened_at=opened) is None
    due = decide(steps, due_utc, opened_at=opened)
    assert due is not None
    assert (due.step, due.role, due.due_since) == (1, TargetRole.CENTRE_LEAD, due_utc)
    assert due.due_since.astimezone(ZoneInfo("Europe/Oslo")).strftime("%H:%M") == due_local


def test_a_red_in_the_dst_night_goes_to_after_hours_at_once() -> None:
    at = datetime(2027, 3, 28, 1, 5, tzinfo=UTC)  # 03:05 CEST, just after the change
    due = decide([], at, opened_at=at)
    assert due is not None
    assert (due.role, due.due_since) == (TargetRole.AFTER_HOURS, at)


def test_technical_alerts_have_no_chain() -> None:
    technical = alert(opened_at=WED_10, category=AlertCategory.TECHNICAL)
    assert next_step(technical, [], CAL, POLICY, ALL, WED_10 + 60 * MIN) is None


# ----------------------------------------------------------------------------- the alert


def test_each_step_marks_the_alert_first_escalation_kept_role_updated() -> None:
    red = alert(opened_at=WED_10)
    first, event = mark_escalation_step(
        red, to="on_call_nurse", at=WED_10 + 30 * MIN, note="to on_call_nurse: Vakt"
    )
    assert (first.escalated_at, first.escalated_to) == (WED_10 + 30 * MIN, "on_call_nurse")
    assert (event.event, event.note) == ("escalated", "to on_call_nurse: Vakt")
    second, _ = mark_escalation_step(first, to="second_nurse", at=WED_10 + 45 * MIN, note="x")
    assert (second.escalated_at, second.escalated_to) == (WED_10 + 30 * MIN, "second_nurse")


def test_an_acknowledged_alert_cannot_be_marked_escalated() -> None:
    acked = alert(opened_at=WED_10, state=AlertState.ACKNOWLEDGED)
    with pytest.raises(ForbiddenTransitionError):
        mark_escalation_step(acked, to="second_nurse", at=WED_10 + 45 * MIN, note="x")
