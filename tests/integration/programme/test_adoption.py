"""Adoption figures on the reach world plus nurses, alerts and audit rows (SQLite and
PostgreSQL); every number worked out by hand below. "Now" is 23 November 2026 08:30 UTC; the
window is the 30 days before it."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta

import pytest
from sqlalchemy.orm import Session, sessionmaker

from tests.integration.programme.test_reach import NOW, ReachWorld, figures, query, reach_world
from tests.integration.programme.test_reach import table as find_table
from triage.domain.programme import ProgrammeQuery, SectionResult
from triage.programme import adoption
from triage.storage import seed
from triage.storage.models import (
    AlertActionRow,
    AlertEventRow,
    AlertRow,
    AuditRow,
    CentreRow,
    PatientRow,
)


@dataclass
class AdoptionWorld:
    reach: ReachWorld


def alert(session: Session, patient_id: str, name: str) -> AlertRow:
    row = AlertRow(
        id=name,
        patient_id=patient_id,
        rule_id="spo2-low",
        rule_type="threshold",
        category="vital",
        colour="yellow",
        state="acknowledged",
        opened_at=NOW - timedelta(days=40),
        last_breach_at=NOW - timedelta(days=40),
        breaches=1,
        reason={},
    )
    session.add(row)
    session.flush()
    return row


def event(session: Session, alert_id: str, by: str | None, name: str, at: datetime) -> None:
    session.add(
        AlertEventRow(
            alert_id=alert_id,
            event=name,
            at=at,
            by=by,
            from_state="open",
            to_state="acknowledged",
            colour="yellow",
        )
    )


def audit(session: Session, actor: str, action: str, object_type: str, at: datetime,
          outcome: str = "allowed") -> None:  # fmt: skip
    session.add(
        AuditRow(at=at, actor=actor, action=action, object_type=object_type, outcome=outcome,
                 details={})
    )  # fmt: skip


def adoption_world(session: Session) -> AdoptionWorld:
    """The reach world (GPs: P1 and P2 gp-1, P3 gp-2, P4 gp-3 (discharged), P9 and P10 gp-b),
    and at centre A nurse-a1, nurse-a2, nurse-a3 (account deactivated), lead-a (a centre lead,
    not a nurse); nurse-b at B; nurse-ab at both.

    - nurse-a1 acknowledged P1's alert 2 days ago: active;
    - nurse-a2 acknowledged it 31 days ago (outside), and recorded an action 1 hour from now
      (after now): not active;
    - nurse-a3 acknowledged it yesterday, but her account is deactivated: not counted at all;
    - nurse-ab recorded an action on P9's alert (centre B) yesterday: active for B, not A;
    - nurse-b resolved P9's alert 3 days ago: active;
    - lead-a acknowledged P1's alert yesterday: not a nurse.

    Audit log: gp-1 listed alerts 29 days ago (opened); gp-2 listed patients 31 days ago
    (outside), was refused mark_seen yesterday (refused does not count) and read one patient
    (not an overview read); gp-3 listed alerts yesterday but has no patient in follow-up; gp-b
    listed alerts yesterday."""
    rw = reach_world(session)
    a = session.get(CentreRow, rw.centre_a)
    b = session.get(CentreRow, rw.centre_b)
    assert a is not None
    assert b is not None
    users = {}
    for name, centres in (
        ("nurse-a1", [a]),
        ("nurse-a2", [a]),
        ("nurse-a3", [a]),
        ("lead-a", [a]),
        ("nurse-b", [b]),
        ("nurse-ab", [a, b]),
    ):
        users[name] = seed.add_user(
            session, username=name, display_name=name, role="nurse", now=NOW, centres=centres
        )
    users["nurse-a3"].active = False
    users["lead-a"].role = "lead"
    p1 = session.get(PatientRow, rw.patients["P1"])
    p9 = session.get(PatientRow, rw.patients["P9"])
    assert p1 is not None
    assert p9 is not None
    a1 = alert(session, p1.id, "alert-p1")
    b1 = alert(session, p9.id, "alert-p9")
    event(session, a1.id, "nurse-a1", "acknowledged", NOW - timedelta(days=2))
    event(session, a1.id, "nurse-a2", "acknowledged", NOW - timedelta(days=31))
    event(session, a1.id, None, "opened", NOW - timedelta(days=1))
    event(session, a1.id, "nurse-a3", "acknowledged", NOW - timedelta(days=1))
    event(session, a1.id, "lead-a", "acknowledged", NOW - timedelta(days=1))
    event(session, b1.id, "nurse-b", "resolved", NOW - timedelta(days=3))
    for by, alert_row, at in (
        ("nurse-a2", a1, NOW + timedelta(hours=1)),
        ("nurse-ab", b1, NOW - timedelta(days=1)),
    ):
        session.add(
            AlertActionRow(
                alert_id=alert_row.id,
                patient_id=alert_row.patient_id,
                at=at,
                by=users[by].id,
                outcome="phoned_patient",
                note="",
            )
        )
    audit(session, "gp-1", "list", "alerts", NOW - timedelta(days=29))
    audit(session, "gp-2", "list", "patients", NOW - timedelta(days=31))
    audit(session, "gp-2", "mark_seen", "overview", NOW - timedelta(days=1), outcome="refused")
    audit(session, "gp-2", "read", "patient", NOW - timedelta(days=1))
    audit(session, "gp-3", "list", "alerts", NOW - timedelta(days=1))
    audit(session, "gp-b", "list", "alerts", NOW - timedelta(days=1))
    session.flush()
    return AdoptionWorld(rw)


@pytest.fixture
def aw(sessions: sessionmaker[Session]) -> AdoptionWorld:
    with sessions.begin() as session:
        return adoption_world(session)


def compute(sessions: sessionmaker[Session], q: ProgrammeQuery) -> SectionResult:
    with sessions() as session:
        return adoption.compute(session, q)


def values(result: SectionResult) -> dict[str, tuple[float | None, ...]]:
    found: dict[str, tuple[float | None, ...]] = {}
    for figure_id in (
        "adoption.municipalities",
        "adoption.gps_with_patients",
        "adoption.gps_opened_overview",
        "adoption.nurses_active",
    ):
        [figure] = figures(result, figure_id).values()
        found[figure_id] = (figure.value, figure.numerator, figure.denominator)
    return found


def test_adoption_at_centre_a(sessions: sessionmaker[Session], aw: AdoptionWorld) -> None:
    """Municipalities: M1 (P1 P2 P7 P12 = 4) and M2 (P3 P11 = 2) = 2.
    GPs with patients in follow-up: gp-1 (P1, P2), gp-2 (P3) = 2 (gp-3's P4 is discharged).
    Opened the overview: gp-1 = 1 of 2.
    Nurses of A with an active account: a1, a2, ab = 3; active: a1 = 1 of 3."""
    rw = aw.reach
    result = compute(sessions, query({rw.centre_a}))
    assert values(result) == {
        "adoption.municipalities": (2, None, None),
        "adoption.gps_with_patients": (2, None, None),
        "adoption.gps_opened_overview": (0.5, 1, 2),
        "adoption.nurses_active": (1 / 3, 1, 3),
    }
    rows = find_table(result, "adoption.municipality_patients").rows
    assert set(rows) == {(rw.m1, 4), (rw.m2, 2)}


def test_adoption_of_every_centre(sessions: sessionmaker[Session], aw: AdoptionWorld) -> None:
    """The admin: also M3 (P9) = 3 municipalities; GPs gp-1, gp-2, gp-b = 3, opened gp-1 and
    gp-b = 2 of 3; nurses a1, a2, ab, b = 4, active a1, ab, b = 3 of 4."""
    assert values(compute(sessions, query(None))) == {
        "adoption.municipalities": (3, None, None),
        "adoption.gps_with_patients": (3, None, None),
        "adoption.gps_opened_overview": (2 / 3, 2, 3),
        "adoption.nurses_active": (3 / 4, 3, 4),
    }


def test_adoption_of_one_municipality(sessions: sessionmaker[Session], aw: AdoptionWorld) -> None:
    """Fjellby (M2) at centre A: P3 (gp-2) and P11 (no GP): 1 municipality, 1 GP who has not
    opened the overview (0 of 1); the nurses are the centre's (1 of 3)."""
    rw = aw.reach
    assert values(compute(sessions, query({rw.centre_a}, {rw.m2}))) == {
        "adoption.municipalities": (1, None, None),
        "adoption.gps_with_patients": (1, None, None),
        "adoption.gps_opened_overview": (0.0, 0, 1),
        "adoption.nurses_active": (1 / 3, 1, 3),
    }


def test_no_gps_and_no_nurses_give_no_value(
    sessions: sessionmaker[Session], aw: AdoptionWorld
) -> None:
    """A centre with nobody: the shares have no value (not 0)."""
    with sessions.begin() as session:
        empty = seed.add_centre(session, "Tom tjeneste", [])
        empty_id = empty.id
    assert values(compute(sessions, query({empty_id}))) == {
        "adoption.municipalities": (0, None, None),
        "adoption.gps_with_patients": (0, None, None),
        "adoption.gps_opened_overview": (None, 0, 0),
        "adoption.nurses_active": (None, 0, 0),
    }


def test_every_figure_has_a_definition(sessions: sessionmaker[Session], aw: AdoptionWorld) -> None:
    result = compute(sessions, query(None))
    ids = {d.id for d in adoption.DEFINITIONS}
    assert {f.id for f in result.figures} | {t.id for t in result.tables} == ids
    [found] = result.tables
    [definition] = [d for d in adoption.DEFINITIONS if d.id == found.id]
    assert found.columns == tuple(c.id for c in definition.columns)
