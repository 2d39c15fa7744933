"""Benefit (triage.programme.benefit) on a hand-made world, on SQLite and PostgreSQL: alerts per
patient-week, the outcomes nurses recorded, home visits avoided and home-care hours saved, each
split by whether the patient also receives home care; scope and the Oslo day's edges.

The period is Monday 2 March to Sunday 15 March 2026 (Oslo, winter time: the period starts
Sunday 1 March 23:00 UTC).
"""

from __future__ import annotations

from datetime import date

import pytest
from sqlalchemy.orm import Session, sessionmaker

from tests.integration.programme.alerts_world import (
    AlertsWorld,
    action,
    alert,
    build,
    days_in_follow_up,
    oslo,
    patient,
    query,
)
from triage.domain.programme import Figure, SectionResult
from triage.programme import benefit
from triage.programme.registry import DEFINITIONS

START, END = date(2026, 3, 2), date(2026, 3, 15)
NOW = oslo(3, 20, 12)


def figure(result: SectionResult, id: str, key: str | None = None) -> Figure:
    [found] = [f for f in result.figures if f.id == id and f.key == key]
    return found


def table(result: SectionResult, id: str) -> list[tuple[object, ...]]:
    [found] = [t for t in result.tables if t.id == id]
    return list(found.rows)


@pytest.fixture
def world(sessions: sessionmaker[Session]) -> AlertsWorld:
    """Centre A: patient 1 (Testvik, home care) 14 days in follow-up in the period; patient 2
    (Prøvestad, no home care) 9–18 March = 7 days in the period; patient 3 (Testvik, no home
    care) 2–8 March = 7 days. Patient-weeks: home care 14 / 7 = 2, without 14 / 7 = 2, all 4.
    Centre B: patient b (Annenby, home care, 60 minutes a visit), 14 days.

    Clinical alerts opened in the period: patient 1 red ×2 (one at Monday 2 March 00:30 Oslo,
    Sunday 23:30 UTC: in the period), yellow ×3; patient 2 red ×1, yellow ×1; patient 3 yellow
    ×2. Not counted: patient 1's red at Sunday 1 March 23:30 Oslo (before the period), patient
    2's technical (lost contact) yellow, patient b's red (centre B).

    Actions in the period (✓ home visit avoided): p1 red phoned ✓, p1 red admitted to hospital,
    p1 yellow phoned ✓, p2 red contacted the GP ✓, p2 yellow phoned, p3 yellow advised per the
    plan ✓, p2 technical yellow phoned; not counted: p1 phoned ✓ on Monday 16 March 00:30 Oslo
    (after the period), pb phoned ✓ (centre B).
    """
    with sessions.begin() as session:
        w = build(session)
        nurse = w.nurse_a
        p1 = patient(session, w, "1", w.testvik, w.a, home_care=True)
        p2 = patient(session, w, "2", w.provestad, w.a)
        p3 = patient(session, w, "3", w.testvik, w.a)
        pb = patient(session, w, "b", w.annenby, w.b, home_care=True)
        days_in_follow_up(session, p1, date(2026, 3, 2), 14)
        days_in_follow_up(session, p2, date(2026, 3, 9), 10)
        days_in_follow_up(session, p3, date(2026, 3, 2), 7)
        days_in_follow_up(session, pb, date(2026, 3, 2), 14)

        r1 = alert(session, p1, "red", oslo(3, 2, 0, 30))
        r2 = alert(session, p1, "red", oslo(3, 4, 9))
        alert(session, p1, "red", oslo(3, 1, 23, 30))
        y1 = alert(session, p1, "yellow", oslo(3, 5, 9))
        y2 = alert(session, p1, "yellow", oslo(3, 13, 9))
        alert(session, p1, "yellow", oslo(3, 15, 23, 59))
        r3 = alert(session, p2, "red", oslo(3, 10, 9))
        y3 = alert(session, p2, "yellow", oslo(3, 10, 10))
        technical = alert(session, p2, "yellow", oslo(3, 11, 8), category="technical")
        y4 = alert(session, p3, "yellow", oslo(3, 6, 9))
        alert(session, p3, "yellow", oslo(3, 7, 9))
        rb = alert(session, pb, "red", oslo(3, 4, 9))

        action(session, r1, oslo(3, 3, 9), nurse, home_visit_avoided=True)
        action(session, r2, oslo(3, 4, 10), nurse, "hospital_admission")
        action(session, y1, oslo(3, 5, 10), nurse, home_visit_avoided=True)
        action(session, r3, oslo(3, 10, 9, 30), nurse, "contacted_gp", home_visit_avoided=True)
        action(session, y3, oslo(3, 10, 11), nurse)
        action(session, y4, oslo(3, 6, 10), nurse, "advised_per_plan", home_visit_avoided=True)
        action(session, technical, oslo(3, 11, 9), nurse)
        action(session, y2, oslo(3, 16, 0, 30), nurse, home_visit_avoided=True)
        action(session, rb, oslo(3, 4, 10), w.nurse_b, home_visit_avoided=True)
        return w


def test_alerts_per_patient_week_by_colour_and_home_care(
    sessions: sessionmaker[Session], world: AlertsWorld
) -> None:
    """Red 3 / 4 patient-weeks = 0.75; yellow 6 / 4 = 1.5. With home care (2 weeks): red 2 / 2
    = 1, yellow 3 / 2 = 1.5; without (2 weeks): red 1 / 2 = 0.5, yellow 3 / 2 = 1.5."""
    with sessions() as session:
        result = benefit.compute(session, query(START, END, NOW, [world.a]))
    red = figure(result, "benefit.alerts_per_patient_week", "red")
    assert (red.numerator, red.denominator, red.value) == (3, 4, 0.75)
    assert figure(result, "benefit.alerts_per_patient_week", "yellow").value == 1.5
    assert table(result, "benefit.alerts_per_patient_week_by_home_care") == [
        ("yes", "red", 2, 2, 1),
        ("yes", "yellow", 3, 2, 1.5),
        ("no", "red", 1, 2, 0.5),
        ("no", "yellow", 3, 2, 1.5),
    ]


def test_the_outcomes_recorded_by_outcome_colour_and_home_care(
    sessions: sessionmaker[Session], world: AlertsWorld
) -> None:
    """Each action in the period once, lost contact included (phoned, yellow, without home
    care: p2's yellow and p2's technical yellow = 2)."""
    with sessions() as session:
        result = benefit.compute(session, query(START, END, NOW, [world.a]))
    assert table(result, "benefit.outcomes") == [
        ("advised_per_plan", "yellow", "no", 1),
        ("contacted_gp", "red", "no", 1),
        ("hospital_admission", "red", "yes", 1),
        ("phoned_patient", "red", "yes", 1),
        ("phoned_patient", "yellow", "no", 2),
        ("phoned_patient", "yellow", "yes", 1),
    ]


def test_home_visits_avoided_and_home_care_hours_saved(
    sessions: sessionmaker[Session], world: AlertsWorld
) -> None:
    """Visits avoided: p1 ×2 (Testvik, home care), p2 ×1 (Prøvestad), p3 ×1 (Testvik) = 4;
    with home care 2, without 2. Testvik sets 45 minutes a visit: with home care 2 × 45 / 60 =
    1.5 hours, without 1 × 45 / 60 = 0.75; Prøvestad sets none (no hours, left out of the sum):
    2.25 hours in all."""
    with sessions() as session:
        result = benefit.compute(session, query(START, END, NOW, [world.a]))
    assert figure(result, "benefit.home_visits_avoided").value == 4
    assert figure(result, "benefit.home_visits_avoided_by_home_care", "yes").value == 2
    assert figure(result, "benefit.home_visits_avoided_by_home_care", "no").value == 2
    assert figure(result, "benefit.home_care_hours_saved").value == 2.25
    assert figure(result, "benefit.home_care_hours_saved_by_home_care", "yes").value == 1.5
    assert figure(result, "benefit.home_care_hours_saved_by_home_care", "no").value == 0.75
    assert table(result, "benefit.home_visits_by_municipality") == [
        (world.provestad.id, "yes", 0, None, None),
        (world.provestad.id, "no", 1, None, None),
        (world.testvik.id, "yes", 2, 45, 1.5),
        (world.testvik.id, "no", 1, 45, 0.75),
    ]


def test_scope_municipalities_and_a_missing_setting(
    sessions: sessionmaker[Session], world: AlertsWorld
) -> None:
    """Every centre adds Annenby: 1 visit × 60 / 60 = 1 hour (3.25 in all) and its red (4 reds
    over 4 + 2 = 6 patient-weeks). Prøvestad alone: 1 visit, but no minutes per visit: no
    hours (not 0); its 7 patient days are 1 week with 1 red."""
    with sessions() as session:
        every = benefit.compute(session, query(START, END, NOW))
        provestad = benefit.compute(session, query(START, END, NOW, [world.a], [world.provestad]))
    assert figure(every, "benefit.home_care_hours_saved").value == 3.25
    red = figure(every, "benefit.alerts_per_patient_week", "red")
    assert (red.numerator, red.denominator) == (4, 6)
    assert figure(provestad, "benefit.home_visits_avoided").value == 1
    assert figure(provestad, "benefit.home_care_hours_saved").value is None
    assert figure(provestad, "benefit.home_care_hours_saved_by_home_care", "no").value is None
    assert figure(provestad, "benefit.alerts_per_patient_week", "red").value == 1


def test_no_patient_days_means_no_rate(sessions: sessionmaker[Session], world: AlertsWorld) -> None:
    """January: no patient days, no alerts, no actions: no rate (not 0), no visits, 0 hours
    where a municipality has the setting."""
    with sessions() as session:
        result = benefit.compute(session, query(date(2026, 1, 5), date(2026, 1, 11), NOW))
    assert figure(result, "benefit.alerts_per_patient_week", "red").value is None
    assert figure(result, "benefit.home_visits_avoided").value == 0
    assert figure(result, "benefit.home_care_hours_saved").value == 0
    assert table(result, "benefit.outcomes") == []


def test_every_figure_and_table_has_its_definition(
    sessions: sessionmaker[Session], world: AlertsWorld
) -> None:
    with sessions() as session:
        result = benefit.compute(session, query(START, END, NOW))
    for found in result.figures:
        assert DEFINITIONS[found.id].section is result.section
    for listed in result.tables:
        assert listed.columns == tuple(c.id for c in DEFINITIONS[listed.id].columns)
