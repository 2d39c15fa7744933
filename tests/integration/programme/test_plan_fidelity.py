"""Plan fidelity on the reach world plus plans and activations (SQLite and PostgreSQL): every
number worked out by hand below. Period 15 September – 20 November 2026 (Oslo); now 23
November 2026 08:30 UTC, so "more than 6 months ago" is before 23 May 2026 08:30 UTC."""

from __future__ import annotations

from datetime import UTC, date, datetime

import pytest
from sqlalchemy.orm import Session, sessionmaker

from tests.integration.programme.test_reach import ReachWorld, figures, oslo, query, reach_world
from triage.domain.programme import ProgrammeQuery, SectionResult
from triage.programme import plan_fidelity
from triage.storage.models import AuditRow, PlanRow, PlanVersionRow


def utc(year: int, month: int, day: int, hour: int = 0, minute: int = 0) -> datetime:
    return datetime(year, month, day, hour, minute, tzinfo=UTC)


def plan(session: Session, patient_id: str, *versions: tuple[str, datetime | None]) -> None:
    """Versions 1, 2, … with their status and approval time (None: a draft)."""
    session.add(PlanRow(id=f"plan-{patient_id}", patient_id=patient_id, condition="copd",
                        created_at=utc(2026, 1, 1)))  # fmt: skip
    session.flush()
    for number, (status, approved) in enumerate(versions, start=1):
        session.add(
            PlanVersionRow(
                plan_id=f"plan-{patient_id}",
                version=number,
                status=status,
                document={},
                created_at=approved or utc(2026, 1, 1),
                approved_at=approved,
            )
        )


def activated(session: Session, patient_id: str, at: datetime, outcome: str = "allowed") -> None:
    session.add(AuditRow(at=at, actor="nurse-a", action="activate", object_type="patient",
                         object_id=patient_id, patient_id=patient_id, outcome=outcome,
                         details={}))  # fmt: skip


def fidelity_world(session: Session) -> ReachWorld:
    """Activations (trial → active, from the audit log) and plans (v: status, approved):

    ====  ===========  ====================  ==================================================
    P     state        activated             plan versions
    ====  ===========  ====================  ==================================================
    P1    active       20 Aug                v1 retired 12 Aug; v2 approved 1 Sep
    P2    trial        –                     v1 approved 20 Nov 12:00 Oslo (enrolled 10 Nov)
    P3    paused       1 Oct                 v1 approved 2 Oct 23:30 Oslo (enrolled 30 Sep 23:30)
    P4    discharged   1 Oct                 v1 retired 21 Sep 12:00 Oslo (enrolled 20 Sep
                                             12:00); v2 retired 10 Oct
    P5    discharged   – (from trial)        v1 approved 1 Jan
    P6    discharged   1 Jul                 v1 approved 2 Jun; v2 draft
    P7    active       21 Nov (after)        v1 approved 9 Oct 12:00 Oslo (enrolled 5 Oct)
    P8    discharged   20 Oct                v1 retired 11 Oct 00:00 Oslo (enrolled 10 Oct
                                             12:00); v2 approved 22 Nov (after the period)
    P11   active       – (imported)          v1 retired 5 Mar; v2 approved 23 May 09:00 UTC
    P12   active       refused 1 Apr only    v1 approved 23 May 08:00 UTC
    P9    active (B)   1 Nov                 v1 approved 1 Jan (centre B)
    ====  ===========  ====================  ==================================================
    """
    rw = reach_world(session)
    p = rw.patients
    for name, at in (
        ("P1", oslo(2026, 8, 20)),
        ("P3", oslo(2026, 10, 1)),
        ("P4", oslo(2026, 10, 1)),
        ("P6", oslo(2026, 7, 1)),
        ("P7", oslo(2026, 11, 21, 10)),
        ("P8", oslo(2026, 10, 20)),
        ("P9", oslo(2026, 11, 1)),
    ):
        activated(session, p[name], at)
    activated(session, p["P12"], oslo(2026, 4, 1), outcome="refused")
    plan(session, p["P1"], ("retired", oslo(2026, 8, 12)), ("approved", oslo(2026, 9, 1)))
    plan(session, p["P2"], ("approved", oslo(2026, 11, 20, 12)))
    plan(session, p["P3"], ("approved", oslo(2026, 10, 2, 23, 30)))
    plan(session, p["P4"], ("retired", oslo(2026, 9, 21, 12)), ("retired", oslo(2026, 10, 10)))
    plan(session, p["P5"], ("approved", oslo(2026, 1, 1)))
    plan(session, p["P6"], ("approved", oslo(2026, 6, 2)), ("draft", None))
    plan(session, p["P7"], ("approved", oslo(2026, 10, 9, 12)))
    plan(session, p["P8"], ("retired", oslo(2026, 10, 11, 0)), ("approved", oslo(2026, 11, 22)))
    plan(session, p["P11"], ("retired", oslo(2026, 3, 5)), ("approved", utc(2026, 5, 23, 9)))
    plan(session, p["P12"], ("approved", utc(2026, 5, 23, 8)))
    plan(session, p["P9"], ("approved", oslo(2026, 1, 1)))
    session.flush()
    return rw


@pytest.fixture
def fw(sessions: sessionmaker[Session]) -> ReachWorld:
    with sessions.begin() as session:
        return fidelity_world(session)


def compute(sessions: sessionmaker[Session], q: ProgrammeQuery) -> SectionResult:
    with sessions() as session:
        return plan_fidelity.compute(session, q)


def values(result: SectionResult) -> dict[str, tuple[float | None, ...]]:
    found: dict[str, tuple[float | None, ...]] = {}
    for definition in plan_fidelity.DEFINITIONS:
        [figure] = figures(result, definition.id).values()
        found[definition.id] = (figure.value, figure.numerator, figure.denominator)
    return found


def test_plan_fidelity_at_centre_a(sessions: sessionmaker[Session], fw: ReachWorld) -> None:
    """Trial ended by 20 Nov: P1, P3, P4, P6 (activated, discharged 16 Sep: in the period), P8,
    P11 (active, no activation row), P12 (active; its only activation was refused) = 7. Not:
    P2 (trial), P5 (discharged from trial), P7 (activated 21 Nov, after), P9 (centre B).
    Personalised by 20 Nov: P1 (v2 1 Sep), P4 (v2 10 Oct), P11 (v2 May) = 3 of 7; P6's v2 is a
    draft, P8's v2 came 22 Nov.

    Days to the first approved plan, enrolled in the period: P8 0.5, P4 1, P3 2 (across the
    month's end), P7 4, P2 10 → sorted 0.5 1 2 4 10: median 2; 90th percentile at position
    4·0.9 = 3.6: 4 + (10 − 4)·0.6 = 7.6.

    Not reviewed: in follow-up now P1 P2 P3 P7 P11 P12 = 6; plan in use approved before 23 May
    08:30 UTC: P12 (08:00) = 1 of 6 (P11's 09:00 is not; P5's old plan is discharged, P9's is
    centre B's)."""
    result = compute(sessions, query({fw.centre_a}))
    found = values(result)
    assert found["plan_fidelity.personalised"] == (3 / 7, 3, 7)
    assert found["plan_fidelity.days_to_plan_median"] == (2.0, None, 5)
    p90, *counted = found["plan_fidelity.days_to_plan_p90"]
    assert p90 == pytest.approx(7.6)
    assert counted == [None, 5]
    assert found["plan_fidelity.not_reviewed"] == (1 / 6, 1, 6)


def test_plan_fidelity_of_one_municipality(sessions: sessionmaker[Session], fw: ReachWorld) -> None:
    """Fjellby (M2): trial ended P3, P8, P11 = 3, personalised P11 = 1 of 3; days P8 0.5 and P3
    2: median 1.25, 90th percentile 0.5 + 1.5·0.9 = 1.85; in follow-up P3, P11: none stale, 0
    of 2."""
    found = values(compute(sessions, query({fw.centre_a}, {fw.m2})))
    assert found["plan_fidelity.personalised"] == (1 / 3, 1, 3)
    assert found["plan_fidelity.days_to_plan_median"] == (1.25, None, 2)
    assert found["plan_fidelity.days_to_plan_p90"][0] == pytest.approx(1.85)
    assert found["plan_fidelity.not_reviewed"] == (0.0, 0, 2)


def test_plan_fidelity_of_centre_b(sessions: sessionmaker[Session], fw: ReachWorld) -> None:
    """Centre B: P9 activated 1 Nov, only v1: 0 of 1 personalised; enrolled 1 Oct but its plan
    was approved 1 Jan (before enrolment: −273 days, shown as it is); P9's plan in use is
    from 1 Jan: 1 of 1 not reviewed (P10 is discharged)."""
    found = values(compute(sessions, query({fw.centre_b})))
    assert found["plan_fidelity.personalised"] == (0.0, 0, 1)
    assert found["plan_fidelity.days_to_plan_median"][2] == 1
    assert found["plan_fidelity.not_reviewed"] == (1.0, 1, 1)


def test_nobody_gives_no_value(sessions: sessionmaker[Session], fw: ReachWorld) -> None:
    """A period before anyone was enrolled or activated (January): no patient ended the trial
    except the imported active ones enrolled before its end — none were (P11 and P12 came in
    March) — so no value; nobody enrolled, so no days."""
    q = ProgrammeQuery(
        start=date(2026, 1, 10),
        end=date(2026, 1, 20),
        now=utc(2026, 11, 23, 8, 30),
        centre_ids=frozenset({fw.centre_a}),
    )
    found = values(compute(sessions, q))
    assert found["plan_fidelity.personalised"] == (None, 0, 0)
    assert found["plan_fidelity.days_to_plan_median"] == (None, None, 0)
    assert found["plan_fidelity.days_to_plan_p90"] == (None, None, 0)


def test_six_calendar_months_back() -> None:
    assert plan_fidelity.months_before(utc(2026, 11, 23, 8, 30), 6) == utc(2026, 5, 23, 8, 30)
    assert plan_fidelity.months_before(utc(2026, 8, 31), 6) == utc(2026, 2, 28)
    assert plan_fidelity.months_before(utc(2026, 3, 15), 6) == utc(2025, 9, 15)
