"""Nurse workload (triage.programme.workload) on a hand-made world, on SQLite and PostgreSQL:
patients per nurse FTE, alerts per nurse-day, minutes from acknowledgement to resolution (across
the summer-time night), a row per centre, and centres without FTE left out.

The period is Monday 2 March to Sunday 29 March 2026 (28 days, Oslo); the clocks went forward
in its last night.
"""

from __future__ import annotations

from datetime import date

import pytest
from sqlalchemy.orm import Session, sessionmaker

from tests.integration.programme.alerts_world import (
    AlertsWorld,
    alert,
    build,
    oslo,
    patient,
    query,
)
from triage.domain.programme import Figure, SectionResult
from triage.programme import workload
from triage.programme.registry import DEFINITIONS

START, END = date(2026, 3, 2), date(2026, 3, 29)
NOW = oslo(4, 1, 12)


def figure(result: SectionResult, id: str, key: str | None = None) -> Figure:
    [found] = [f for f in result.figures if f.id == id and f.key == key]
    return found


def by_centre(result: SectionResult) -> dict[object, dict[str, object]]:
    [found] = result.tables
    return {row[0]: dict(zip(found.columns, row, strict=True)) for row in found.rows}


@pytest.fixture
def world(sessions: sessionmaker[Session]) -> AlertsWorld:
    """Centre A (2 nurse FTE): patients 1 (active), 2 (trial), 3 (paused), 4 (discharged) in
    Testvik and 5 (active) in Prøvestad: 4 in follow-up now. Centre B (no FTE entered):
    patient b.

    Centre A's alerts opened in the period: 8 (7 clinical, 1 technical); not counted: one
    opened Friday 27 February. Acknowledged → resolved in the period, clinical:
    red 10, 20 and 60 minutes; yellow 19 hours (Monday 9 March 14:00 → Tuesday 09:00 = 1140
    minutes) and the summer-time night (Saturday 28 March 23:00 CET → Sunday 04:00 CEST: 4
    hours = 240 minutes, not 5). Not counted: a red resolved on 30 March (after the period), a
    red acknowledged but not resolved, the technical yellow (resolved after 2 days).
    Centre B: 3 alerts, one red acknowledged → resolved in 5 minutes.
    """
    with sessions.begin() as session:
        w = build(session)
        w.a.nurse_fte = 2.0
        p1 = patient(session, w, "1", w.testvik, w.a)
        p2 = patient(session, w, "2", w.testvik, w.a, state="trial")
        patient(session, w, "3", w.testvik, w.a, state="paused")
        patient(session, w, "4", w.testvik, w.a, state="discharged")
        p5 = patient(session, w, "5", w.provestad, w.a)
        pb = patient(session, w, "b", w.annenby, w.b)

        alert(session, p1, "red", oslo(3, 3, 9), acknowledged=oslo(3, 3, 9, 5),
              resolved=oslo(3, 3, 9, 15))  # fmt: skip
        alert(session, p2, "red", oslo(3, 4, 9), acknowledged=oslo(3, 4, 9, 10),
              resolved=oslo(3, 4, 9, 30))  # fmt: skip
        alert(session, p5, "red", oslo(3, 5, 9), acknowledged=oslo(3, 5, 10),
              resolved=oslo(3, 5, 11))  # fmt: skip
        alert(session, p1, "red", oslo(3, 27, 9), acknowledged=oslo(3, 27, 9, 10),
              resolved=oslo(3, 30, 9))  # fmt: skip
        alert(session, p2, "red", oslo(3, 20, 9), acknowledged=oslo(3, 20, 9, 10))
        alert(session, p1, "yellow", oslo(3, 9, 13), acknowledged=oslo(3, 9, 14),
              resolved=oslo(3, 10, 9))  # fmt: skip
        alert(session, p5, "yellow", oslo(3, 28, 20), acknowledged=oslo(3, 28, 23),
              resolved=oslo(3, 29, 4))  # fmt: skip
        alert(session, p1, "yellow", oslo(3, 10, 8), acknowledged=oslo(3, 10, 9),
              resolved=oslo(3, 12, 9), category="technical")  # fmt: skip
        alert(session, p1, "red", oslo(2, 27, 9))
        alert(session, pb, "red", oslo(3, 3, 9), acknowledged=oslo(3, 3, 9, 1),
              resolved=oslo(3, 3, 9, 6))  # fmt: skip
        alert(session, pb, "yellow", oslo(3, 4, 9))
        alert(session, pb, "yellow", oslo(3, 5, 9))
        return w


def test_patients_and_alerts_per_nurse(sessions: sessionmaker[Session], world: AlertsWorld) -> None:
    """4 patients in follow-up / 2 FTE = 2 per FTE; 8 alerts / (28 days × 2 FTE) = 8 / 56 = 1/7
    per nurse-day."""
    with sessions() as session:
        result = workload.compute(session, query(START, END, NOW, [world.a]))
    patients = figure(result, "workload.patients_per_fte")
    assert (patients.numerator, patients.denominator, patients.value) == (4, 2, 2)
    alerts = figure(result, "workload.alerts_per_nurse_day")
    assert (alerts.numerator, alerts.denominator) == (8, 56)
    assert alerts.value == pytest.approx(1 / 7)


def test_minutes_from_acknowledgement_to_resolution(
    sessions: sessionmaker[Session], world: AlertsWorld
) -> None:
    """Red 10, 20, 60: median 20, 90th percentile at 2 × 0.9 = 1.8: 20 + 0.8 × 40 = 52.
    Yellow 240, 1140: median 690, 90th percentile at 0.9: 240 + 0.9 × 900 = 1050."""
    with sessions() as session:
        result = workload.compute(session, query(START, END, NOW, [world.a]))
    assert figure(result, "workload.minutes_acknowledge_to_resolve_median", "red").value == 20
    assert figure(result, "workload.minutes_acknowledge_to_resolve_p90", "red").value == 52
    assert figure(result, "workload.minutes_acknowledge_to_resolve_median", "yellow").value == 690
    assert figure(result, "workload.minutes_acknowledge_to_resolve_p90", "yellow").value == 1050


def test_centres_without_fte_are_left_out_and_shown_empty(
    sessions: sessionmaker[Session], world: AlertsWorld
) -> None:
    """Every centre: B has no FTE, so its patient and 3 alerts are left out of the per-FTE
    figures (still 4 / 2 and 8 / 56); its row shows them without rates. B's red (5 minutes)
    counts in the minutes: red 5, 10, 20, 60, median (10 + 20) / 2 = 15. Centre B alone: no
    FTE anywhere, no value (not 0)."""
    with sessions() as session:
        every = workload.compute(session, query(START, END, NOW))
        only_b = workload.compute(session, query(START, END, NOW, [world.b]))
    patients = figure(every, "workload.patients_per_fte")
    assert (patients.numerator, patients.denominator) == (4, 2)
    alerts = figure(every, "workload.alerts_per_nurse_day")
    assert (alerts.numerator, alerts.denominator) == (8, 56)
    assert figure(every, "workload.minutes_acknowledge_to_resolve_median", "red").value == 15
    rows = by_centre(every)
    assert rows[world.a.id] == {
        "centre": world.a.id,
        "nurse_fte": 2.0,
        "patients": 4,
        "patients_per_fte": 2.0,
        "alerts": 8,
        "alerts_per_nurse_day": pytest.approx(1 / 7),
        "red_median": 20,
        "red_p90": 52,
        "yellow_median": 690,
        "yellow_p90": 1050,
    }
    b = rows[world.b.id]
    assert (b["nurse_fte"], b["patients"], b["patients_per_fte"]) == (None, 1, None)
    assert (b["alerts"], b["alerts_per_nurse_day"], b["red_median"]) == (3, None, 5)
    assert figure(only_b, "workload.patients_per_fte").value is None
    assert figure(only_b, "workload.alerts_per_nurse_day").value is None


def test_a_municipality_counts_its_patients_over_the_centres_fte(
    sessions: sessionmaker[Session], world: AlertsWorld
) -> None:
    """Prøvestad: patient 5 over centre A's 2 FTE = 0.5; its 2 alerts / 56 nurse-days."""
    with sessions() as session:
        result = workload.compute(session, query(START, END, NOW, [world.a], [world.provestad]))
    assert figure(result, "workload.patients_per_fte").value == 0.5
    assert figure(result, "workload.alerts_per_nurse_day").numerator == 2


def test_every_figure_and_table_has_its_definition(
    sessions: sessionmaker[Session], world: AlertsWorld
) -> None:
    with sessions() as session:
        result = workload.compute(session, query(START, END, NOW))
    for found in result.figures:
        assert DEFINITIONS[found.id].section is result.section
    for listed in result.tables:
        assert listed.columns == tuple(c.id for c in DEFINITIONS[listed.id].columns)
