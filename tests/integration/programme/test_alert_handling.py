"""Alert handling per the protocol (triage.programme.alert_handling) on a hand-made world, on
SQLite and PostgreSQL: acknowledged within the target in staffed time (across the summer-time
change and Easter), minutes to acknowledge, outcomes recorded, the backlog at opening, each
centre's own target, and scope (another centre's alerts are not counted).

The period is Monday 23 March to Friday 3 April 2026 (Oslo); "now" is Tuesday 7 April 08:25,
the first staffed morning after Easter. Centre A keeps the default hours (Monday–Friday
08:00–15:00, Norwegian holidays closed) and the default red target (30 minutes); its staffed
days in the period are 23–27 March and 30 March–1 April (Maundy Thursday 2 April and Good
Friday 3 April are closed): 8 days. The clocks went forward on Sunday 29 March.
"""

from __future__ import annotations

from dataclasses import replace
from datetime import date, timedelta

import pytest
from sqlalchemy.orm import Session, sessionmaker

from tests.integration.programme.alerts_world import (
    AlertsWorld,
    action,
    alert,
    build,
    oslo,
    patient,
    query,
)
from triage.domain.programme import Figure, SectionResult, Table
from triage.programme import alert_handling
from triage.programme.registry import DEFINITIONS

START, END = date(2026, 3, 23), date(2026, 4, 3)
NOW = oslo(4, 7, 8, 25)


def figure(result: SectionResult, id: str, key: str | None = None) -> Figure:
    [found] = [f for f in result.figures if f.id == id and f.key == key]
    return found


def table(result: SectionResult, id: str) -> list[dict[str, object]]:
    [found] = [t for t in result.tables if t.id == id]
    return rows(found)


def rows(found: Table) -> list[dict[str, object]]:
    return [dict(zip(found.columns, row, strict=True)) for row in found.rows]


@pytest.fixture
def world(sessions: sessionmaker[Session]) -> AlertsWorld:
    """Centre A's alerts (by hand; staffed minutes in brackets):

    red, opened in the period (target 30):
      R1 Fri 27.03 14:50 (CET) → ack Mon 30.03 08:15 (CEST): 10 + 15 = 25, on time
      R2 Mon 23.03 10:00 → 10:45: 45, late; resolved 11:00 with an action
      R3 Tue 24.03 09:00 → 09:10: 10, on time; resolved 10:00 without an action
      R4 Wed 01.04 14:45 → ack Tue 07.04 08:20 (Easter closed): 15 + 20 = 35, late
      R5 yellow Thu 26.03 09:00, raised to red 11:00 → ack 11:30: 30 from the raise, on time
         (exactly the target)
      R6 Good Friday 03.04 10:00, unacknowledged: 25 by now (Tue 08:25), undecided
      R7 Tue 31.03 14:00, unacknowledged: 60 + 420 + 25 = 505 by now, late
    yellow, opened in the period (target one staffed day, 420):
      Y1 Mon 23.03 14:00 → Tue 24.03 14:00: 60 + 360 = 420, on time; resolved Wed 25.03 09:00
         with an action
      Y2 Sat 28.03 10:00 → Tue 31.03 09:00: 420 + 60 = 480, late
      Y3 Wed 25.03 08:30 → 08:40: 10, on time; resolved 09:00 with two actions
    before the period: Y0 yellow Sun 22.03 20:00 → Mon 23.03 09:30, resolved 10:00, no action
    not counted: a technical (lost contact) yellow; centre B's red (its patient, another
    centre) Tue 24.03 10:00 → 10:25 = 25 staffed minutes, late by B's own 20-minute target;
    resolved 11:00 with an action.
    """
    with sessions.begin() as session:
        w = build(session)
        p1 = patient(session, w, "1", w.testvik, w.a, home_care=True)
        p2 = patient(session, w, "2", w.provestad, w.a)
        pb = patient(session, w, "b", w.annenby, w.b)
        nurse = w.nurse_a
        alert(session, p1, "red", oslo(3, 27, 14, 50), acknowledged=oslo(3, 30, 8, 15))
        r2 = alert(
            session, p2, "red", oslo(3, 23, 10), acknowledged=oslo(3, 23, 10, 45),
            resolved=oslo(3, 23, 11),
        )  # fmt: skip
        action(session, r2, oslo(3, 23, 10, 50), nurse)
        alert(
            session, p1, "red", oslo(3, 24, 9), acknowledged=oslo(3, 24, 9, 10),
            resolved=oslo(3, 24, 10),
        )  # fmt: skip
        alert(session, p2, "red", oslo(4, 1, 14, 45), acknowledged=oslo(4, 7, 8, 20))
        alert(
            session, p1, "red", oslo(3, 26, 9), raised=oslo(3, 26, 11),
            acknowledged=oslo(3, 26, 11, 30),
        )  # fmt: skip
        alert(session, p2, "red", oslo(4, 3, 10))
        alert(session, p1, "red", oslo(3, 31, 14))
        y1 = alert(
            session, p1, "yellow", oslo(3, 23, 14), acknowledged=oslo(3, 24, 14),
            resolved=oslo(3, 25, 9),
        )  # fmt: skip
        action(session, y1, oslo(3, 25, 9), nurse, "advised_per_plan")
        alert(session, p2, "yellow", oslo(3, 28, 10), acknowledged=oslo(3, 31, 9))
        y3 = alert(
            session, p2, "yellow", oslo(3, 25, 8, 30), acknowledged=oslo(3, 25, 8, 40),
            resolved=oslo(3, 25, 9),
        )  # fmt: skip
        action(session, y3, oslo(3, 25, 8, 45), nurse)
        action(session, y3, oslo(3, 25, 8, 50), nurse, "contacted_gp")
        alert(
            session, p1, "yellow", oslo(3, 22, 20), acknowledged=oslo(3, 23, 9, 30),
            resolved=oslo(3, 23, 10),
        )  # fmt: skip
        alert(session, p2, "yellow", oslo(3, 24, 10), category="technical")
        rb = alert(
            session, pb, "red", oslo(3, 24, 10), acknowledged=oslo(3, 24, 10, 25),
            resolved=oslo(3, 24, 11),
        )  # fmt: skip
        action(session, rb, oslo(3, 24, 10, 30), w.nurse_b)
        return w


def test_acknowledged_on_time_in_staffed_time_by_colour(
    sessions: sessionmaker[Session], world: AlertsWorld
) -> None:
    """Red: counted R1 R2 R3 R4 R5 R7 = 6 (R6 undecided), on time R1 R3 R5 = 3: 3/6 = 0.5.
    Yellow: counted 3, on time Y1 Y3 = 2: 2/3. Minutes to acknowledge, red: 10 25 30 35 45,
    median 30, 90th percentile at position 4 × 0.9 = 3.6: 35 + 0.6 × (45 − 35) = 41; yellow:
    10 420 480, median 420, 90th percentile at 2 × 0.9 = 1.8: 420 + 0.8 × 60 = 468."""
    with sessions() as session:
        result = alert_handling.compute(session, query(START, END, NOW, [world.a]))
    red = figure(result, "alert_handling.acknowledged_on_time", "red")
    assert (red.numerator, red.denominator, red.value) == (3, 6, 0.5)
    yellow = figure(result, "alert_handling.acknowledged_on_time", "yellow")
    assert (yellow.numerator, yellow.denominator) == (2, 3)
    assert yellow.value == pytest.approx(2 / 3)
    assert figure(result, "alert_handling.minutes_to_acknowledge_median", "red").value == 30
    assert figure(result, "alert_handling.minutes_to_acknowledge_p90", "red").value == 41
    assert figure(result, "alert_handling.minutes_to_acknowledge_median", "yellow").value == 420
    assert figure(result, "alert_handling.minutes_to_acknowledge_p90", "yellow").value == 468


def test_outcomes_recorded_on_resolved_alerts(
    sessions: sessionmaker[Session], world: AlertsWorld
) -> None:
    """Resolved in the period: red R2 (action) and R3 (none): 1/2; yellow Y1 (action), Y3 (two
    actions, counted once) and Y0 (opened before the period, none): 2/3."""
    with sessions() as session:
        result = alert_handling.compute(session, query(START, END, NOW, [world.a]))
    red = figure(result, "alert_handling.outcome_recorded", "red")
    assert (red.numerator, red.denominator) == (1, 2)
    yellow = figure(result, "alert_handling.outcome_recorded", "yellow")
    assert (yellow.numerator, yellow.denominator) == (2, 3)


def test_the_backlog_at_opening_and_when_it_was_cleared(
    sessions: sessionmaker[Session], world: AlertsWorld
) -> None:
    """Waiting at 08:00 on each staffed day (reached its colour before, not acknowledged by
    then), and staffed minutes from 08:00 until the last of them was acknowledged:

    23.03 Y0 (ack 09:30): 90 · 24.03 Y1 (ack Tue 14:00): 360 · 25–27.03 none ·
    30.03 R1 + Y2 (last ack Tue 31.03 09:00): 420 + 60 = 480 · 31.03 Y2: 60 ·
    01.04 R7, never acknowledged: not cleared.

    Red 2 over 8 days = 0.25 a day; yellow 4 / 8 = 0.5; 5 of 8 days had a backlog; median of
    60, 90, 360, 480 = (90 + 360) / 2 = 225."""
    with sessions() as session:
        result = alert_handling.compute(session, query(START, END, NOW, [world.a]))
    assert [
        (r["day"], r["red"], r["yellow"], r["cleared_minutes"])
        for r in table(result, "alert_handling.backlog_by_day")
    ] == [
        ("2026-03-23", 0, 1, 90),
        ("2026-03-24", 0, 1, 360),
        ("2026-03-25", 0, 0, None),
        ("2026-03-26", 0, 0, None),
        ("2026-03-27", 0, 0, None),
        ("2026-03-30", 1, 1, 480),
        ("2026-03-31", 0, 1, 60),
        ("2026-04-01", 1, 0, None),
    ]
    red = figure(result, "alert_handling.backlog_at_opening", "red")
    assert (red.numerator, red.denominator, red.value) == (2, 8, 0.25)
    assert figure(result, "alert_handling.backlog_at_opening", "yellow").value == 0.5
    days = figure(result, "alert_handling.backlog_days")
    assert (days.numerator, days.denominator) == (5, 8)
    assert figure(result, "alert_handling.backlog_cleared_median").value == 225


def test_each_centre_has_its_own_target_and_only_the_scope_is_counted(
    sessions: sessionmaker[Session], world: AlertsWorld
) -> None:
    """Every centre (the admin): centre B's red waited 25 staffed minutes, late by B's own
    20-minute target (it would be on time by A's 30): red 3 on time of 7; resolved reds 3 with
    2 actions; B adds 8 staffed days without a backlog: 5 of 16. A municipality filter keeps
    only its patients: Testvik (patient 1) has reds R1 R3 R5 R7, on time R1 R3 R5: 3/4."""
    with sessions() as session:
        every = alert_handling.compute(session, query(START, END, NOW))
        testvik = alert_handling.compute(
            session, query(START, END, NOW, [world.a], [world.testvik])
        )
        only_b = alert_handling.compute(session, query(START, END, NOW, [world.b]))
    red = figure(every, "alert_handling.acknowledged_on_time", "red")
    assert (red.numerator, red.denominator) == (3, 7)
    outcome = figure(every, "alert_handling.outcome_recorded", "red")
    assert (outcome.numerator, outcome.denominator) == (2, 3)
    days = figure(every, "alert_handling.backlog_days")
    assert (days.numerator, days.denominator) == (5, 16)
    by_centre = {(r["centre"], r["colour"]): r for r in table(every, "alert_handling.by_centre")}
    b_red = by_centre[(world.b.id, "red")]
    assert (b_red["target_minutes"], b_red["counted"], b_red["on_time"]) == (20, 1, 0)
    assert (b_red["median_minutes"], b_red["resolved"], b_red["with_outcome"]) == (25, 1, 1)
    a_red = by_centre[(world.a.id, "red")]
    assert (a_red["target_minutes"], a_red["counted"], a_red["on_time"]) == (30, 6, 3)
    assert by_centre[(world.a.id, "yellow")]["target_minutes"] == 420

    mine = figure(testvik, "alert_handling.acknowledged_on_time", "red")
    assert (mine.numerator, mine.denominator) == (3, 4)

    b = figure(only_b, "alert_handling.acknowledged_on_time", "red")
    assert (b.numerator, b.denominator) == (0, 1)
    assert figure(only_b, "alert_handling.acknowledged_on_time", "yellow").value is None
    assert {r["centre"] for r in table(only_b, "alert_handling.backlog_by_day")} == {world.b.id}


def test_a_deployment_default_target_applies_where_the_centre_sets_none(
    sessions: sessionmaker[Session], world: AlertsWorld
) -> None:
    """With a deployment default of 45 minutes (centre A sets none): R2 (45) and R4 (35) are on
    time too: 5 of 6 (R7 still late); centre B keeps its own 20."""
    with sessions() as session:
        result = alert_handling.compute(
            session,
            replace(query(START, END, NOW), default_on_call_after=timedelta(minutes=45)),
        )
    by_centre = {(r["centre"], r["colour"]): r for r in table(result, "alert_handling.by_centre")}
    assert (
        by_centre[(world.a.id, "red")]["on_time"],
        by_centre[(world.a.id, "red")]["counted"],
    ) == (5, 6)
    assert by_centre[(world.b.id, "red")]["target_minutes"] == 20


def test_a_period_with_no_alerts_has_no_shares(
    sessions: sessionmaker[Session], world: AlertsWorld
) -> None:
    """January: nothing opened, resolved or waiting: shares and medians have no value (not 0);
    the staffed days are still listed."""
    with sessions() as session:
        result = alert_handling.compute(
            session, query(date(2026, 1, 12), date(2026, 1, 16), NOW, [world.a])
        )
    for id in (
        "alert_handling.acknowledged_on_time",
        "alert_handling.minutes_to_acknowledge_median",
        "alert_handling.outcome_recorded",
    ):
        assert figure(result, id, "red").value is None
    assert figure(result, "alert_handling.backlog_at_opening", "red").value == 0
    assert figure(result, "alert_handling.backlog_cleared_median").value is None
    assert len(table(result, "alert_handling.backlog_by_day")) == 5


def test_every_figure_and_table_has_its_definition(
    sessions: sessionmaker[Session], world: AlertsWorld
) -> None:
    """Each figure and table the part returns is defined in the registry (the page shows the
    definition beside it), and each table's columns are its definition's."""
    with sessions() as session:
        result = alert_handling.compute(session, query(START, END, NOW))
    for found in result.figures:
        assert DEFINITIONS[found.id].section is result.section
    for listed in result.tables:
        assert listed.columns == tuple(c.id for c in DEFINITIONS[listed.id].columns)
    for definition in alert_handling.DEFINITIONS:
        assert definition.definition.nb
        assert definition.definition.en
