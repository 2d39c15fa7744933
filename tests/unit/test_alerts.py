"""Alert episodes: one open alert per patient and rule, raised, re-opened and resolved by people."""

from __future__ import annotations

from collections.abc import Callable
from datetime import datetime, timedelta
from zoneinfo import ZoneInfo

import pytest
from hypothesis import given
from hypothesis import strategies as st
from pydantic import ValidationError

from triage.domain.alerts import (
    TRANSITIONS,
    Alert,
    AlertCategory,
    AlertChange,
    AlertError,
    AlertEvent,
    AlertState,
    AttachBreach,
    ForbiddenTransitionError,
    MarkBackInRange,
    OpenAlert,
    acknowledge,
    apply,
    decide,
    mark_escalated,
    open_alert,
    patient_colour,
    resolve,
)
from triage.domain.colours import Colour, Text, worst
from triage.domain.findings import Finding, RuleType

OSLO = ZoneInfo("Europe/Oslo")
PATIENT = "patient-0001"
OTHER_PATIENT = "patient-0002"
NURSE = "nurse-0001"
ONCALL = "oncall-0001"
SPO2 = "threshold:spo2"
PULSE = "threshold:pulse"
T0 = datetime(2026, 11, 18, 9, 0, tzinfo=OSLO)  # a Wednesday morning

GREEN, YELLOW, RED = Colour.GREEN, Colour.YELLOW, Colour.RED
OPEN, ACKED, RESOLVED = AlertState.OPEN, AlertState.ACKNOWLEDGED, AlertState.RESOLVED


def at(minutes: int) -> datetime:
    """``minutes`` after T0."""
    return T0 + timedelta(minutes=minutes)


def finding(
    colour: Colour,
    *,
    minutes: int = 0,
    rule_id: str = SPO2,
    rule_type: RuleType = RuleType.THRESHOLD,
) -> Finding:
    """A synthetic finding of ``rule_id`` at T0 + ``minutes``."""
    return Finding(
        rule_id=rule_id,
        rule_type=rule_type,
        colour=colour,
        at=at(minutes),
        text=Text(nb=f"{rule_id} {colour.label_nb}", en=f"{rule_id} {colour.value}"),
    )


def make_alert(
    colour: Colour = YELLOW,
    state: AlertState = OPEN,
    *,
    alert_id: str = "alert-0001",
    patient_id: str = PATIENT,
    rule_id: str = SPO2,
    rule_type: RuleType = RuleType.THRESHOLD,
) -> Alert:
    """An alert opened at T0 and taken to ``state`` by a nurse (acknowledged +5, resolved +10)."""
    change = OpenAlert(
        patient_id=patient_id, finding=finding(colour, rule_id=rule_id, rule_type=rule_type)
    )
    alert, _ = open_alert(change, alert_id)
    if state is not OPEN:
        alert, _ = acknowledge(alert, by=NURSE, at=at(5))
    if state is RESOLVED:
        alert, _ = resolve(alert, by=NURSE, at=at(10))
    assert alert.state is state
    return alert


def apply_all(
    alerts: list[Alert], changes: list[AlertChange], *, patient_id: str = PATIENT
) -> tuple[list[Alert], list[AlertEvent]]:
    """``alerts`` after ``changes`` (new alerts get ids alert-new-N), and the events made."""
    current = list(alerts)
    events: list[AlertEvent] = []
    for change in changes:
        if isinstance(change, OpenAlert):
            new, event = open_alert(change, f"alert-new-{len(current)}")
            current.append(new)
        else:
            index = next(i for i, a in enumerate(current) if a.id == change.alert_id)
            new, event = apply(current[index], change)
            current[index] = new
        events.append(event)
    return current, events


# ----------------------------------------------------------------------------- decide


@pytest.mark.parametrize(
    ("prior", "colour", "expected", "raise_to", "reopen"),
    [
        (None, YELLOW, "open", None, False),
        (None, RED, "open", None, False),
        (None, GREEN, "nothing", None, False),
        ((YELLOW, OPEN), YELLOW, "attach", None, False),
        ((YELLOW, OPEN), RED, "attach", RED, False),
        ((RED, OPEN), YELLOW, "attach", None, False),
        ((RED, OPEN), RED, "attach", None, False),
        ((YELLOW, ACKED), RED, "attach", RED, True),
        ((YELLOW, ACKED), YELLOW, "attach", None, False),
        ((RED, ACKED), RED, "attach", None, False),
        ((RED, ACKED), YELLOW, "attach", None, False),
        ((YELLOW, OPEN), GREEN, "back", None, False),
        ((RED, ACKED), GREEN, "back", None, False),
        ((YELLOW, RESOLVED), YELLOW, "open", None, False),
        ((RED, RESOLVED), RED, "open", None, False),
        ((YELLOW, RESOLVED), GREEN, "nothing", None, False),
    ],
)
def test_decide_table(
    prior: tuple[Colour, AlertState] | None,
    colour: Colour,
    expected: str,
    raise_to: Colour | None,
    reopen: bool,
) -> None:
    """One finding opens, attaches to or calms the patient's alert for its rule, exactly once."""
    alerts = [] if prior is None else [make_alert(*prior)]
    new = finding(colour, minutes=30)
    table: dict[str, list[AlertChange]] = {
        "open": [OpenAlert(patient_id=PATIENT, finding=new)],
        "attach": [
            AttachBreach(alert_id="alert-0001", finding=new, raise_to=raise_to, reopen=reopen)
        ],
        "back": [MarkBackInRange(alert_id="alert-0001", finding=new)],
        "nothing": [],
    }
    assert decide(PATIENT, alerts, [new]) == table[expected]


def test_second_yellow_attaches_and_counts_the_breach() -> None:
    """A second yellow SpO2 does not make a second alert; the nurse sees "2 breaches"."""
    alert = make_alert(YELLOW)
    second = finding(YELLOW, minutes=30)
    changes = decide(PATIENT, [alert], [second])
    assert changes == [AttachBreach(alert_id=alert.id, finding=second)]
    [after], [event] = apply_all([alert], changes)
    assert after.id == alert.id
    assert after.breaches == 2
    assert after.colour is YELLOW
    assert after.state is OPEN
    assert after.last_breach_at == second.at
    assert after.opened_at == alert.opened_at
    assert (event.event, event.from_state, event.to_state) == ("breach", OPEN, OPEN)


def test_red_breach_raises_an_open_yellow_alert() -> None:
    """A red SpO2 on an open yellow alert turns that same alert red, with the red reason."""
    alert = make_alert(YELLOW)
    red = finding(RED, minutes=30)
    [after], [event] = apply_all([alert], decide(PATIENT, [alert], [red]))
    assert (after.id, after.colour, after.state, after.breaches) == (alert.id, RED, OPEN, 2)
    assert after.reason == red
    assert (event.event, event.colour, event.to_state, event.at) == ("raised", RED, OPEN, red.at)


def test_red_breach_reopens_an_acknowledged_yellow_alert() -> None:
    """A yellow the nurse already took on comes back to the list, red, when it worsens."""
    alert = make_alert(YELLOW, ACKED)
    assert alert.acknowledged_at is not None
    red = finding(RED, minutes=30)
    [after], [event] = apply_all([alert], decide(PATIENT, [alert], [red]))
    assert after.state is OPEN
    assert after.colour is RED
    assert after.acknowledged_at is None
    assert after.acknowledged_by is None
    assert after.breaches == 2
    assert (event.event, event.from_state, event.to_state) == ("reopened", ACKED, OPEN)
    assert (event.colour, event.at, event.by) == (RED, red.at, None)


@pytest.mark.parametrize(("colour", "breach"), [(YELLOW, YELLOW), (RED, RED), (RED, YELLOW)])
def test_breach_no_worse_does_not_reopen_an_acknowledged_alert(
    colour: Colour, breach: Colour
) -> None:
    """A further breach no worse than the acknowledged alert stays with the nurse who has it."""
    alert = make_alert(colour, ACKED)
    [after], [event] = apply_all([alert], decide(PATIENT, [alert], [finding(breach, minutes=30)]))
    assert after.state is ACKED
    assert after.colour is colour
    assert (after.acknowledged_at, after.acknowledged_by) == (at(5), NURSE)
    assert after.breaches == 2
    assert (event.event, event.from_state, event.to_state) == ("breach", ACKED, ACKED)


def test_lower_breach_keeps_the_worse_reason() -> None:
    """A yellow after a red keeps the red reason on the alert, so the nurse sees why it is red."""
    alert = make_alert(RED)
    [after], _ = apply_all([alert], decide(PATIENT, [alert], [finding(YELLOW, minutes=30)]))
    assert after.colour is RED
    assert after.reason == alert.reason


def test_green_marks_back_in_range_once() -> None:
    """The first green reading marks the alert "back in range"; a second green adds nothing."""
    alert = make_alert(YELLOW)
    first = finding(GREEN, minutes=30)
    [after], [event] = apply_all([alert], decide(PATIENT, [alert], [first]))
    assert after.back_in_range_at == first.at
    assert after.state is OPEN  # only a person resolves it
    assert after.colour is YELLOW
    assert after.breaches == 1
    assert (event.event, event.from_state, event.to_state) == ("back_in_range", OPEN, OPEN)
    assert decide(PATIENT, [after], [finding(GREEN, minutes=60)]) == []


def test_breach_after_back_in_range_clears_it() -> None:
    """A new breach after a green takes the "back in range" mark off the alert."""
    alert = make_alert(YELLOW)
    [calm], _ = apply_all([alert], decide(PATIENT, [alert], [finding(GREEN, minutes=30)]))
    assert calm.back_in_range_at is not None
    [again], [event] = apply_all([calm], decide(PATIENT, [calm], [finding(YELLOW, minutes=60)]))
    assert again.back_in_range_at is None
    assert again.breaches == 2
    assert event.event == "breach"
    # and the next green marks it back in range again
    later = finding(GREEN, minutes=90)
    assert decide(PATIENT, [again], [later]) == [MarkBackInRange(alert_id=again.id, finding=later)]


def test_different_rules_open_separate_alerts() -> None:
    """A low SpO2 and a high pulse are two alerts in the nurse's list, not one."""
    spo2 = make_alert(YELLOW, rule_id=SPO2)
    pulse_finding = finding(YELLOW, minutes=30, rule_id=PULSE)
    assert decide(PATIENT, [spo2], [pulse_finding]) == [
        OpenAlert(patient_id=PATIENT, finding=pulse_finding)
    ]
    both = [finding(YELLOW, rule_id=SPO2), finding(RED, rule_id=PULSE)]
    changes = decide(PATIENT, [], both)
    assert changes == [OpenAlert(patient_id=PATIENT, finding=f) for f in both]
    alerts, _ = apply_all([], changes)
    assert sorted(a.rule_id for a in alerts) == [PULSE, SPO2]


def test_resolved_alert_is_ignored_and_a_new_episode_opens() -> None:
    """After the nurse resolved an episode, a new breach is a new alert, not the old one back."""
    old = make_alert(RED, RESOLVED)
    new_finding = finding(YELLOW, minutes=60)
    changes = decide(PATIENT, [old], [new_finding])
    assert changes == [OpenAlert(patient_id=PATIENT, finding=new_finding)]
    alerts, _ = apply_all([old], changes)
    assert [(a.state, a.colour) for a in alerts] == [(RESOLVED, RED), (OPEN, YELLOW)]
    assert alerts[1].opened_at == new_finding.at
    assert alerts[1].breaches == 1


def test_decide_applies_nothing() -> None:
    """Deciding only proposes changes: the alerts the nurse sees stay exactly as they were."""
    alerts = [make_alert(YELLOW, ACKED), make_alert(YELLOW, alert_id="alert-0002", rule_id=PULSE)]
    before = [a.model_dump() for a in alerts]
    findings = [
        finding(RED, minutes=30, rule_id=SPO2),
        finding(GREEN, minutes=30, rule_id=PULSE),
        finding(YELLOW, minutes=30, rule_id="threshold:temperature"),
    ]
    changes = decide(PATIENT, alerts, findings)
    assert [a.model_dump() for a in alerts] == before
    assert [type(c) for c in changes] == [AttachBreach, MarkBackInRange, OpenAlert]
    assert all(isinstance(c, OpenAlert | AttachBreach | MarkBackInRange) for c in changes)
    with pytest.raises(ValidationError):
        alerts[0].state = OPEN  # type: ignore[misc]


@pytest.mark.parametrize("colour", [YELLOW, RED, GREEN])
def test_other_patients_alerts_are_not_touched(colour: Colour) -> None:
    """Another patient's open alert for the same rule never swallows this patient's finding."""
    theirs = make_alert(YELLOW, ACKED, patient_id=OTHER_PATIENT)
    mine = finding(colour, minutes=30)
    changes = decide(PATIENT, [theirs], [mine])
    expected = [] if colour is GREEN else [OpenAlert(patient_id=PATIENT, finding=mine)]
    assert changes == expected


def test_two_breaches_of_one_rule_in_one_batch_open_one_alert() -> None:
    """Two yellow SpO2 readings synced together give the nurse one alert, not two."""
    changes = decide(PATIENT, [], [finding(YELLOW), finding(YELLOW, minutes=5)])
    alerts, _ = apply_all([], changes)
    assert len([a for a in alerts if a.rule_id == SPO2 and a.is_open]) == 1


def test_two_red_breaches_in_one_batch_on_an_acknowledged_alert() -> None:
    """Two red readings synced together re-open an acknowledged yellow alert once, without error."""
    alert = make_alert(YELLOW, ACKED)
    changes = decide(PATIENT, [alert], [finding(RED, minutes=30), finding(RED, minutes=35)])
    [after], events = apply_all([alert], changes)
    assert (after.state, after.colour, after.breaches) == (OPEN, RED, 3)
    assert [e.event for e in events] == ["reopened", "breach"]


def test_two_greens_in_one_batch_mark_back_in_range_once() -> None:
    """Two green readings synced together mark the alert back in range once."""
    alert = make_alert(YELLOW)
    changes = decide(PATIENT, [alert], [finding(GREEN, minutes=30), finding(GREEN, minutes=35)])
    assert changes == [MarkBackInRange(alert_id=alert.id, finding=finding(GREEN, minutes=30))]


def test_apply_refuses_a_change_for_another_alert() -> None:
    """A change meant for one alert is never written onto another."""
    alert = make_alert(YELLOW)
    change = AttachBreach(alert_id="alert-9999", finding=finding(YELLOW, minutes=30))
    with pytest.raises(AlertError):
        apply(alert, change)


@pytest.mark.parametrize(
    "change",
    [
        AttachBreach(alert_id="alert-0001", finding=finding(RED, minutes=30), raise_to=RED),
        MarkBackInRange(alert_id="alert-0001", finding=finding(GREEN, minutes=30)),
    ],
)
def test_apply_refuses_to_touch_a_resolved_alert(change: AttachBreach | MarkBackInRange) -> None:
    """A resolved episode stays closed in the record; new data opens a new one."""
    with pytest.raises(ForbiddenTransitionError):
        apply(make_alert(YELLOW, RESOLVED), change)


def test_open_alert_records_the_finding() -> None:
    """A new alert shows who, which rule, what colour, since when and why."""
    first = finding(RED, minutes=15)
    alert, event = open_alert(OpenAlert(patient_id=PATIENT, finding=first), "alert-0042")
    assert (alert.id, alert.patient_id, alert.rule_id, alert.rule_type) == (
        "alert-0042",
        PATIENT,
        SPO2,
        RuleType.THRESHOLD,
    )
    assert (alert.colour, alert.state, alert.category) == (RED, OPEN, AlertCategory.CLINICAL)
    assert alert.opened_at == alert.last_breach_at == first.at
    assert (alert.breaches, alert.reason) == (1, first)
    assert alert.acknowledged_at is alert.resolved_at is alert.escalated_at is None
    assert (event.alert_id, event.event, event.at) == ("alert-0042", "opened", first.at)
    assert (event.from_state, event.to_state, event.colour) == (None, OPEN, RED)
    assert first.text is not None  # a finding as stored before reasons were data
    assert event.note == first.text.en
    new = first.model_copy(update={"text": None, "message": "threshold", "args": {}})
    _, new_event = open_alert(OpenAlert(patient_id=PATIENT, finding=new), "alert-0043")
    assert new_event.note == ""  # the reason is on the alert, put into words when shown


def test_lost_contact_alert_is_technical() -> None:
    """A lost-contact alert is filed as technical, apart from the clinical colours."""
    alert = make_alert(YELLOW, rule_id="lost_contact", rule_type=RuleType.LOST_CONTACT)
    assert alert.category is AlertCategory.TECHNICAL


# ----------------------------------------------------------------------------- transitions


def test_transition_table_is_exactly_the_documented_one() -> None:
    """Only acknowledge, resolve-after-acknowledge and re-open are allowed state changes."""
    assert TRANSITIONS == {
        (OPEN, ACKED): "acknowledged",
        (ACKED, RESOLVED): "resolved",
        (ACKED, OPEN): "reopened",
    }


def _to_acknowledged(alert: Alert) -> tuple[Alert, AlertEvent]:
    return acknowledge(alert, by=NURSE, at=at(20), note="ringer pasienten")


def _to_resolved(alert: Alert) -> tuple[Alert, AlertEvent]:
    return resolve(alert, by=NURSE, at=at(20), note="snakket med pasienten")


def _to_open(alert: Alert) -> tuple[Alert, AlertEvent]:
    """The one way back to open: a worse breach that re-opens."""
    return apply(
        alert,
        AttachBreach(
            alert_id=alert.id, finding=finding(RED, minutes=20), raise_to=RED, reopen=True
        ),
    )


_MOVES: dict[AlertState, Callable[[Alert], tuple[Alert, AlertEvent]]] = {
    OPEN: _to_open,
    ACKED: _to_acknowledged,
    RESOLVED: _to_resolved,
}


@pytest.mark.parametrize(
    ("source", "target"),
    [(s, t) for s in AlertState for t in AlertState],
    ids=lambda s: s.value,
)
def test_every_state_pair(source: AlertState, target: AlertState) -> None:
    """Every state change is either in the table and recorded, or refused outright."""
    alert = make_alert(YELLOW, source)
    if (source, target) not in TRANSITIONS:
        with pytest.raises(ForbiddenTransitionError):
            _MOVES[target](alert)
        return
    after, event = _MOVES[target](alert)
    assert after.state is target
    assert (event.alert_id, event.event) == (alert.id, TRANSITIONS[(source, target)])
    assert (event.from_state, event.to_state, event.at) == (source, target, at(20))
    if target is ACKED:
        assert (after.acknowledged_at, after.acknowledged_by, event.by) == (at(20), NURSE, NURSE)
        assert event.note == "ringer pasienten"
        assert after.resolved_at is None
    elif target is RESOLVED:
        assert (after.resolved_at, after.resolved_by, event.by) == (at(20), NURSE, NURSE)
        assert (after.acknowledged_at, after.acknowledged_by) == (at(5), NURSE)
        assert event.note == "snakket med pasienten"
        assert not after.is_open
    else:
        assert (after.acknowledged_at, after.acknowledged_by, event.by) == (None, None, None)
        assert after.colour is RED


@pytest.mark.parametrize(
    ("state", "move"),
    [
        (OPEN, _to_resolved),  # resolving an open alert without acknowledging it
        (ACKED, _to_acknowledged),  # acknowledging twice
        (RESOLVED, _to_acknowledged),  # acknowledging a resolved alert
        (RESOLVED, _to_resolved),  # resolving twice
    ],
)
def test_forbidden_moves_leave_the_alert_as_it_was(
    state: AlertState, move: Callable[[Alert], tuple[Alert, AlertEvent]]
) -> None:
    """A refused action changes nothing the nurse sees."""
    alert = make_alert(YELLOW, state)
    before = alert.model_dump()
    with pytest.raises(ForbiddenTransitionError, match="cannot go from"):
        move(alert)
    assert alert.model_dump() == before


@pytest.mark.parametrize(
    ("colour", "state", "allowed"),
    [
        (RED, OPEN, True),
        (YELLOW, OPEN, False),
        (RED, ACKED, False),
        (YELLOW, ACKED, False),
        (RED, RESOLVED, False),
        (YELLOW, RESOLVED, False),
    ],
)
def test_escalation_only_for_unacknowledged_red(
    colour: Colour, state: AlertState, allowed: bool
) -> None:
    """Only a red alert nobody has taken on goes to the on-call service."""
    alert = make_alert(colour, state)
    if not allowed:
        with pytest.raises(ForbiddenTransitionError):
            mark_escalated(alert, to=ONCALL, at=at(30))
        return
    after, event = mark_escalated(alert, to=ONCALL, at=at(30))
    assert after.is_escalated
    assert (after.escalated_at, after.escalated_to) == (at(30), ONCALL)
    assert (after.state, after.colour) == (OPEN, RED)
    assert (event.event, event.at, event.from_state, event.to_state) == (
        "escalated",
        at(30),
        OPEN,
        OPEN,
    )
    assert ONCALL in event.note


def test_escalation_happens_only_once() -> None:
    """An escalated red alert is not sent to on-call a second time."""
    escalated, _ = mark_escalated(make_alert(RED), to=ONCALL, at=at(30))
    with pytest.raises(ForbiddenTransitionError, match="already escalated"):
        mark_escalated(escalated, to="oncall-0002", at=at(45))


def test_escalation_of_a_raised_alert() -> None:
    """A yellow alert that turned red can be escalated like any red one."""
    alert = make_alert(YELLOW)
    [raised], _ = apply_all([alert], decide(PATIENT, [alert], [finding(RED, minutes=10)]))
    after, _ = mark_escalated(raised, to=ONCALL, at=at(30))
    assert after.escalated_to == ONCALL


# ----------------------------------------------------------------------------- patient colour


def lost_contact(colour: Colour) -> Alert:
    """A technical lost-contact alert (the gateway went silent)."""
    return make_alert(
        colour, alert_id="alert-lost", rule_id="lost_contact", rule_type=RuleType.LOST_CONTACT
    )


@pytest.mark.parametrize(
    ("alerts", "expected"),
    [
        ([], GREEN),
        ([make_alert(YELLOW)], YELLOW),
        ([make_alert(RED, ACKED)], RED),
        ([make_alert(YELLOW), make_alert(RED, alert_id="a2", rule_id=PULSE)], RED),
        ([make_alert(RED, RESOLVED)], GREEN),
        ([make_alert(RED, RESOLVED), make_alert(YELLOW, alert_id="a2", rule_id=PULSE)], YELLOW),
        ([lost_contact(RED)], GREEN),
        ([make_alert(YELLOW), lost_contact(RED)], YELLOW),
    ],
    ids=[
        "none",
        "open-yellow",
        "acknowledged-red",
        "worst-of-two",
        "resolved-only",
        "resolved-red-open-yellow",
        "lost-contact-only",
        "lost-contact-does-not-raise",
    ],
)
def test_patient_colour(alerts: list[Alert], expected: Colour) -> None:
    """The patient's colour on the list is their worst unresolved clinical alert."""
    assert patient_colour(alerts) is expected


# ----------------------------------------------------------------------------- property

_STEP = st.sampled_from(["green", "yellow", "red", "acknowledge", "resolve"])


@given(st.lists(_STEP, max_size=30))
def test_one_open_alert_per_rule_coloured_by_its_worst_breach(steps: list[str]) -> None:
    """Whatever arrives, the nurse sees one open SpO2 alert, as red as its worst breach."""
    alerts: list[Alert] = []
    worst_since_open: Colour | None = None
    for minute, step in enumerate(steps):
        open_ones = [a for a in alerts if a.is_open]
        if step in ("acknowledge", "resolve"):
            if open_ones and step == "acknowledge" and open_ones[0].state is OPEN:
                alerts[alerts.index(open_ones[0])], _ = acknowledge(
                    open_ones[0], by=NURSE, at=at(minute)
                )
            elif open_ones and step == "resolve" and open_ones[0].state is ACKED:
                alerts[alerts.index(open_ones[0])], _ = resolve(
                    open_ones[0], by=NURSE, at=at(minute)
                )
                worst_since_open = None
            continue
        new = finding(Colour(step), minutes=minute)
        alerts, _ = apply_all(alerts, decide(PATIENT, alerts, [new]))
        if new.is_breach:
            worst_since_open = worst(
                [new.colour, *([worst_since_open] if worst_since_open else [])]
            )
        open_ones = [a for a in alerts if a.is_open]
        assert len(open_ones) <= 1
        if worst_since_open is None:
            assert open_ones == []
        else:
            assert [a.colour for a in open_ones] == [worst_since_open]
    assert all(a.rule_id == SPO2 and a.patient_id == PATIENT for a in alerts)
    assert all(a.opened_at.tzinfo is not None for a in alerts)
