"""Reach figures on a hand-made world (SQLite and PostgreSQL): every number below is worked
out by hand from the patients listed in :func:`reach_world`.

The period is 15 September – 20 November 2026 (Oslo days); "now" is 23 November 2026 08:30 UTC.
Centre A serves Øyvik (M1) and Fjellby (M2); centre B serves Annenby (M3) and is out of scope.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, date, datetime
from zoneinfo import ZoneInfo

import pytest
from sqlalchemy.orm import Session, sessionmaker

from triage.domain.plan import Condition
from triage.domain.programme import Figure, ProgrammeQuery, SectionResult, Table
from triage.programme import reach
from triage.storage import seed
from triage.storage.models import MunicipalityPopulationRow, PatientRow

NOW = datetime(2026, 11, 23, 8, 30, tzinfo=UTC)
OSLO = ZoneInfo("Europe/Oslo")
START, END = date(2026, 9, 15), date(2026, 11, 20)


def oslo(year: int, month: int, day: int, hour: int = 12, minute: int = 0) -> datetime:
    return datetime(year, month, day, hour, minute, tzinfo=OSLO)


def nid(birth: date, serial: int) -> str:
    """A synthetic D-number whose individual number is ``serial`` (its parity is the sex)."""
    value = seed.synthetic_national_id(birth, serial)
    assert value[6:9] == f"{serial:03d}", "choose a serial whose check digits work"
    return value


@dataclass
class ReachWorld:
    centre_a: str
    centre_b: str
    m1: str
    m2: str
    m3: str
    gp_ids: dict[str, str]
    patients: dict[str, str]


def add(
    session: Session,
    name: str,
    *,
    municipality: object,
    centre: object,
    enrolled: datetime,
    state: str,
    condition: Condition | None = Condition.COPD,
    national_id: str | None = None,
    changed: datetime | None = None,
    code: str | None = None,
    gp: object | None = None,
    home_care: bool = False,
) -> PatientRow:
    row = seed.add_patient(
        session,
        display_name=name,
        municipality=municipality,  # type: ignore[arg-type]
        centre=centre,  # type: ignore[arg-type]
        now=enrolled,
        condition=condition,
        national_id=national_id,
        state=state,
        gp=gp,  # type: ignore[arg-type]
    )
    row.state_changed_at = changed or enrolled
    row.discharge_code = code
    row.home_care = home_care
    return row


def reach_world(session: Session) -> ReachWorld:
    """Centre A's patients (M1 Øyvik, M2 Fjellby) and two of centre B (M3), out of scope:

    ====  ====  =============  ==========  ===========================  =====================
    P     M     condition      state       enrolled (Oslo)              discharged (Oslo)
    ====  ====  =============  ==========  ===========================  =====================
    P1    M1    copd           active      10 Aug, F 1950-06-15         –
    P2    M1    copd           trial       10 Nov, M 1940-01-20         –
    P3    M2    heart_failure  paused      30 Sep 23:30, F 1931-03-03   –
    P4    M1    copd           discharged  20 Sep                       31 Oct 23:30 withdrew
    P5    M2    (none)         discharged  1 Aug                        1 Nov 00:30 stable
    P6    M1    heart_failure  discharged  1 Jun                        16 Sep (not coded)
    P7    M1    copd           active      5 Oct, no national id        –
    P8    M2    copd           discharged  10 Oct                       21 Nov 10:00 equipment
    P11   M2    copd           active      1 Mar, M 1999-12-01          –
    P12   M1    copd           active      1 Mar, F 1959-11-24          –
    P9    M3    copd           active      1 Oct (centre B)             –
    P10   M3    copd           discharged  20 Sep (centre B)            15 Oct withdrew
    ====  ====  =============  ==========  ===========================  =====================
    """
    m1 = seed.add_municipality(session, "9911", "Øyvik")
    m2 = seed.add_municipality(session, "9912", "Fjellby")
    m3 = seed.add_municipality(session, "9913", "Annenby")
    session.flush()
    a = seed.add_centre(session, "Oppfølgingstjenesten A", [m1, m2])
    b = seed.add_centre(session, "Oppfølgingstjenesten B", [m3])
    gps = {
        name: seed.add_user(session, username=name, display_name=name, role="gp", now=NOW)
        for name in ("gp-1", "gp-2", "gp-3", "gp-b")
    }
    p: dict[str, PatientRow] = {}
    p["P1"] = add(
        session,
        "P1",
        municipality=m1,
        centre=a,
        enrolled=oslo(2026, 8, 10),
        state="active",
        national_id=nid(date(1950, 6, 15), 78),
        gp=gps["gp-1"],
    )
    p["P2"] = add(
        session,
        "P2",
        municipality=m1,
        centre=a,
        enrolled=oslo(2026, 11, 10),
        state="trial",
        national_id=nid(date(1940, 1, 20), 301),
        gp=gps["gp-1"],
    )
    p["P3"] = add(
        session,
        "P3",
        municipality=m2,
        centre=a,
        enrolled=oslo(2026, 9, 30, 23, 30),
        state="paused",
        condition=Condition.HEART_FAILURE,
        national_id=nid(date(1931, 3, 3), 202),
        gp=gps["gp-2"],
        home_care=True,
    )
    p["P4"] = add(
        session,
        "P4",
        municipality=m1,
        centre=a,
        enrolled=oslo(2026, 9, 20),
        state="discharged",
        changed=oslo(2026, 10, 31, 23, 30),
        code="patient_withdrew",
        gp=gps["gp-3"],
    )
    p["P5"] = add(
        session,
        "P5",
        municipality=m2,
        centre=a,
        enrolled=oslo(2026, 8, 1),
        state="discharged",
        condition=None,
        changed=oslo(2026, 11, 1, 0, 30),
        code="stable",
    )
    p["P6"] = add(
        session,
        "P6",
        municipality=m1,
        centre=a,
        enrolled=oslo(2026, 6, 1),
        state="discharged",
        condition=Condition.HEART_FAILURE,
        changed=oslo(2026, 9, 16),
    )
    p["P7"] = add(
        session, "P7", municipality=m1, centre=a, enrolled=oslo(2026, 10, 5), state="active"
    )
    p["P8"] = add(
        session,
        "P8",
        municipality=m2,
        centre=a,
        enrolled=oslo(2026, 10, 10),
        state="discharged",
        changed=oslo(2026, 11, 21, 10),
        code="could_not_use_equipment",
    )
    p["P11"] = add(
        session,
        "P11",
        municipality=m2,
        centre=a,
        enrolled=oslo(2026, 3, 1),
        state="active",
        national_id=nid(date(1999, 12, 1), 953),
    )
    p["P12"] = add(
        session,
        "P12",
        municipality=m1,
        centre=a,
        enrolled=oslo(2026, 3, 1),
        state="active",
        national_id=nid(date(1959, 11, 24), 44),
    )
    p["P9"] = add(
        session,
        "P9",
        municipality=m3,
        centre=b,
        enrolled=oslo(2026, 10, 1),
        state="active",
        national_id=nid(date(1950, 6, 15), 80),
        gp=gps["gp-b"],
    )
    p["P10"] = add(
        session,
        "P10",
        municipality=m3,
        centre=b,
        enrolled=oslo(2026, 9, 20),
        state="discharged",
        changed=oslo(2026, 10, 15),
        code="patient_withdrew",
        gp=gps["gp-b"],
    )
    population = [
        # M1: 2026 is used (the latest not after the period's end); 2025 and 2027 are not
        (m1, 2026, "female", "67-79", 300),
        (m1, 2026, "male", "80-89", 100),
        (m1, 2026, "female", "90+", 20),
        (m1, 2026, "female", "50-66", 500),
        (m1, 2025, "female", "67-79", 999),
        (m1, 2027, "female", "67-79", 7777),
        # M2: only 2024 entered, so 2024 is used
        (m2, 2024, "female", "67-79", 200),
        (m2, 2024, "male", "0-49", 1000),
        # M3: centre B's, not in centre A's comparison
        (m3, 2026, "female", "67-79", 5000),
    ]
    for municipality, year, sex, band, n in population:
        session.add(
            MunicipalityPopulationRow(
                municipality_id=municipality.id,
                year=year,
                sex=sex,
                age_band=band,
                count=n,
                updated_at=NOW,
            )
        )
    session.flush()
    return ReachWorld(
        centre_a=a.id,
        centre_b=b.id,
        m1=m1.id,
        m2=m2.id,
        m3=m3.id,
        gp_ids={name: gp.id for name, gp in gps.items()},
        patients={name: row.id for name, row in p.items()},
    )


@pytest.fixture
def rw(sessions: sessionmaker[Session]) -> ReachWorld:
    with sessions.begin() as session:
        return reach_world(session)


def query(centres: set[str] | None, municipalities: set[str] | None = None) -> ProgrammeQuery:
    return ProgrammeQuery(
        start=START,
        end=END,
        now=NOW,
        centre_ids=frozenset(centres) if centres is not None else None,
        municipality_ids=frozenset(municipalities) if municipalities is not None else None,
    )


def table(result: SectionResult, table_id: str) -> Table:
    [found] = [t for t in result.tables if t.id == table_id]
    return found


def figures(result: SectionResult, figure_id: str) -> dict[str | None, Figure]:
    return {f.key: f for f in result.figures if f.id == figure_id}


def compute(sessions: sessionmaker[Session], q: ProgrammeQuery) -> SectionResult:
    with sessions() as session:
        return reach.compute(session, q)


def test_patients_by_state_now_counts_only_the_scope(
    sessions: sessionmaker[Session], rw: ReachWorld
) -> None:
    """Centre A: trial P2 = 1; active P1, P7, P11, P12 = 4; paused P3 = 1; discharged P4, P5,
    P6, P8 = 4 (centre B's P9 and P10 are not counted). The admin (every centre) also counts
    them: active 5, discharged 5."""
    result = compute(sessions, query({rw.centre_a}))
    by_state = {k: f.value for k, f in figures(result, "reach.patients_by_state").items()}
    assert by_state == {"trial": 1, "active": 4, "paused": 1, "discharged": 4}
    everyone = compute(sessions, query(None))
    by_state = {k: f.value for k, f in figures(everyone, "reach.patients_by_state").items()}
    assert by_state == {"trial": 1, "active": 5, "paused": 1, "discharged": 5}


def test_the_table_by_municipality_condition_and_state(
    sessions: sessionmaker[Session], rw: ReachWorld
) -> None:
    """M1 copd active P1 P7 P12 = 3, copd trial P2 = 1, copd discharged P4 = 1, heart failure
    discharged P6 = 1; M2 copd active P11 = 1, copd discharged P8 = 1, heart failure paused
    P3 = 1, no condition discharged P5 = 1. Nothing of M3 (centre B)."""
    found = table(compute(sessions, query({rw.centre_a})), "reach.by_municipality")
    assert found.columns == ("municipality", "condition", "state", "patients")
    assert set(found.rows) == {
        (rw.m1, "copd", "active", 3),
        (rw.m1, "copd", "trial", 1),
        (rw.m1, "copd", "discharged", 1),
        (rw.m1, "heart_failure", "discharged", 1),
        (rw.m2, "copd", "active", 1),
        (rw.m2, "copd", "discharged", 1),
        (rw.m2, "heart_failure", "paused", 1),
        (rw.m2, "none", "discharged", 1),
    }
    assert len(found.rows) == 8


def test_the_monthly_series_follows_oslo_months_within_the_period(
    sessions: sessionmaker[Session], rw: ReachWorld
) -> None:
    """September (15–30): enrolled P4, P3 (30 Sep 23:30 Oslo is 21:30 UTC, still September) = 2;
    discharged P6 = 1; in follow-up on 30 Sep: P1 P3 P4 P5 P11 P12 = 6.
    October: enrolled P7 P8 = 2; discharged P4 (31 Oct 23:30 Oslo) = 1; on 31 Oct: P1 P3 P5 P7
    P8 P11 P12 = 7.
    November (1–20): enrolled P2 = 1; discharged P5 (1 Nov 00:30 Oslo, 31 Oct in UTC) = 1 (P8
    left on 21 Nov, after the period); on 20 Nov: P1 P2 P3 P7 P8 P11 P12 = 7."""
    found = table(compute(sessions, query({rw.centre_a})), "reach.monthly")
    assert found.columns == ("month", "enrolled", "discharged", "in_follow_up")
    assert found.rows == (
        ("2026-09", 2, 1, 6),
        ("2026-10", 2, 1, 7),
        ("2026-11", 1, 1, 7),
    )


def test_age_and_sex_against_the_population(
    sessions: sessionmaker[Session], rw: ReachWorld
) -> None:
    """In follow-up now: P1 F 76 y (67-79), P2 M 86 y (80-89), P3 F 95 y (90+), P12 F 66 y (turns
    67 tomorrow: 50-66), P11 M 26 y (0-49; individual number 953 with year 99: the 1900s), P7
    unknown: 6 patients, a sixth each.
    Population: M1 2026 + M2 2024 = F 50-66 500, F 67-79 300+200 = 500, F 90+ 20, M 0-49 1000,
    M 80-89 100; total 2120. Per 1,000: 1/500·1000 = 2, 2, 1/20·1000 = 50, 1/1000·1000 = 1,
    1/100·1000 = 10."""
    found = table(compute(sessions, query({rw.centre_a})), "reach.age_sex")
    sixth = 1 / 6
    assert found.rows == (
        ("female", "0-49", 0, 0.0, None, None, None),
        ("female", "50-66", 1, sixth, 500, 500 / 2120, 2.0),
        ("female", "67-79", 1, sixth, 500, 500 / 2120, 2.0),
        ("female", "80-89", 0, 0.0, None, None, None),
        ("female", "90+", 1, sixth, 20, 20 / 2120, 50.0),
        ("male", "0-49", 1, sixth, 1000, 1000 / 2120, 1.0),
        ("male", "50-66", 0, 0.0, None, None, None),
        ("male", "67-79", 0, 0.0, None, None, None),
        ("male", "80-89", 1, sixth, 100, 100 / 2120, 10.0),
        ("male", "90+", 0, 0.0, None, None, None),
        ("unknown", None, 1, sixth, None, None, None),
    )


def test_age_and_sex_for_one_municipality(sessions: sessionmaker[Session], rw: ReachWorld) -> None:
    """Fjellby (M2) only: P3 F 90+ and P11 M 0-49, a half each; its 2024 population: F 67-79
    200, M 0-49 1000 (total 1200); no unknown row."""
    found = table(compute(sessions, query({rw.centre_a}, {rw.m2})), "reach.age_sex")
    rows = {(r[0], r[1]): r[2:] for r in found.rows}
    assert rows[("male", "0-49")] == (1, 0.5, 1000, 1000 / 1200, 1.0)
    assert rows[("female", "90+")] == (1, 0.5, None, None, None)
    assert rows[("female", "67-79")] == (0, 0.0, 200, 200 / 1200, 0.0)
    assert ("unknown", None) not in rows


def test_discharge_reasons_and_dropout_in_the_period(
    sessions: sessionmaker[Session], rw: ReachWorld
) -> None:
    """Discharged in the period: P6 (not coded), P4 (withdrew), P5 (stable) = 3, a third each;
    P8 (21 Nov) is after it and P10 is centre B's. Dropout: P4 = 1 of 3. Fjellby alone: P5
    stable, 1 of 1, dropout 0 of 1."""
    result = compute(sessions, query({rw.centre_a}))
    found = table(result, "reach.discharge_reasons")
    assert found.rows == (
        ("none", 1, 1 / 3),
        ("patient_withdrew", 1, 1 / 3),
        ("stable", 1, 1 / 3),
    )
    [dropout] = figures(result, "reach.dropout").values()
    assert (dropout.value, dropout.numerator, dropout.denominator) == (1 / 3, 1, 3)
    fjellby = compute(sessions, query({rw.centre_a}, {rw.m2}))
    assert table(fjellby, "reach.discharge_reasons").rows == (("stable", 1, 1.0),)
    [dropout] = figures(fjellby, "reach.dropout").values()
    assert (dropout.value, dropout.numerator, dropout.denominator) == (0.0, 0, 1)


def test_no_discharges_give_a_dropout_without_value(
    sessions: sessionmaker[Session], rw: ReachWorld
) -> None:
    """A period with no discharges (1–10 August): dropout has no value, not 0."""
    q = ProgrammeQuery(
        start=date(2026, 8, 1), end=date(2026, 8, 10), now=NOW, centre_ids=frozenset({rw.centre_a})
    )
    result = compute(sessions, q)
    [dropout] = figures(result, "reach.dropout").values()
    assert dropout.value is None
    assert table(result, "reach.discharge_reasons").rows == ()
    # enrolled 1 Aug (P5) and 10 Aug (P1); in follow-up on 10 Aug: P1 P5 P6 P11 P12
    assert table(result, "reach.monthly").rows == (("2026-08", 2, 0, 5),)


def test_every_figure_and_table_has_a_definition_with_its_columns(
    sessions: sessionmaker[Session], rw: ReachWorld
) -> None:
    """Each figure and table names a definition; a table's columns are its definition's."""
    result = compute(sessions, query({rw.centre_a}))
    definitions = {d.id: d for d in reach.DEFINITIONS}
    assert {f.id for f in result.figures} | {t.id for t in result.tables} == set(definitions)
    for found in result.tables:
        assert found.columns == tuple(c.id for c in definitions[found.id].columns)
        assert all(len(row) == len(found.columns) for row in found.rows)
