"""Measurement adherence and green days (triage.programme.adherence), from hand-made
``patient_days`` rows whose right answers are worked out below."""

from __future__ import annotations

from datetime import UTC, date, datetime

import pytest
from sqlalchemy.orm import Session, sessionmaker

from triage.domain.plan import Condition
from triage.domain.programme import Figure, ProgrammeQuery, SectionResult, Table
from triage.programme.adherence import DEFINITIONS, compute_adherence, compute_green_days
from triage.storage import seed
from triage.storage.models import PatientDayRow

NOW = datetime(2026, 11, 10, 9, tzinfo=UTC)
WEEK = (date(2026, 11, 2), date(2026, 11, 8))  # Monday to Sunday


class Small:
    """Two centres: C1 serves Nord and Sør, C2 serves Vest."""

    def __init__(self, session: Session) -> None:
        nord = seed.add_municipality(session, "9901", "Nord")
        sor = seed.add_municipality(session, "9902", "Sør")
        vest = seed.add_municipality(session, "9903", "Vest")
        c1 = seed.add_centre(session, "Oppfølgingstjenesten Nord", [nord, sor])
        c2 = seed.add_centre(session, "Oppfølgingstjenesten Vest", [vest])
        self.c1, self.nord, self.sor, self.vest = c1.id, nord.id, sor.id, vest.id
        self.ids: dict[str, str] = {}
        people = (
            ("P1", nord, c1, Condition.COPD, True),
            ("P2", nord, c1, Condition.HEART_FAILURE, False),
            ("P3", sor, c1, Condition.COPD, False),
            ("P4", vest, c2, Condition.DIABETES, False),
            ("P5", nord, c1, Condition.HYPERTENSION, False),
        )
        for serial, (name, municipality, centre, condition, home_care) in enumerate(people, 1):
            row = seed.add_patient(
                session,
                display_name=f"Navn {name}",
                municipality=municipality,
                centre=centre,
                now=NOW,
                condition=condition,
                national_id=seed.synthetic_national_id(date(1950, 2, serial), serial),
            )
            self.ids[name] = row.id
            for day, counts in DAYS[name]:
                readings, red, yellow, green, due, on_time, late, missed = counts
                session.add(
                    PatientDayRow(
                        patient_id=row.id,
                        day=day,
                        centre_id=centre.id,
                        municipality_id=municipality.id,
                        condition=condition.value,
                        state="active",
                        home_care=home_care,
                        readings=readings,
                        red=red,
                        yellow=yellow,
                        green=green,
                        slots_due=due,
                        on_time=on_time,
                        late=late,
                        missed=missed,
                        computed_at=NOW,
                    )
                )


def d(day: int) -> date:
    return date(2026, 11, day)


#: readings, red, yellow, green, due, on time, late, missed
DAYS: dict[str, list[tuple[date, tuple[int, ...]]]] = {
    "P1": [
        (d(2), (2, 0, 0, 2, 2, 2, 0, 0)),
        (d(3), (1, 1, 0, 0, 2, 1, 1, 0)),
        (d(9), (1, 0, 0, 1, 5, 0, 0, 5)),  # after the period
    ],
    "P2": [(d(2), (0, 0, 0, 0, 1, 0, 0, 1)), (d(4), (3, 0, 1, 2, 1, 1, 0, 0))],
    "P3": [(d(5), (1, 0, 0, 1, 4, 4, 0, 0)), (d(1), (1, 1, 0, 0, 3, 0, 0, 3))],  # 1st: before
    "P4": [(d(6), (2, 0, 0, 2, 2, 0, 2, 0))],
    "P5": [(d(7), (1, 0, 0, 1, 0, 0, 0, 0))],  # no plan: nothing scheduled
}


@pytest.fixture
def small(sessions: sessionmaker[Session]) -> Small:
    with sessions.begin() as session:
        return Small(session)


def figure(result: SectionResult, id: str, key: str | None = None) -> Figure:
    return next(f for f in result.figures if f.id == id and f.key == key)


def table(result: SectionResult, id: str) -> Table:
    return next(t for t in result.tables if t.id == id)


def run(sessions: sessionmaker[Session], part: object, **scope: object) -> SectionResult:
    query = ProgrammeQuery(WEEK[0], WEEK[1], NOW, **scope)  # type: ignore[arg-type]
    with sessions() as session:
        return part(session, query)  # type: ignore[operator, no-any-return]


def test_adherence_of_every_centre(sessions: sessionmaker[Session], small: Small) -> None:
    result = run(sessions, compute_adherence)
    # in the week: due P1 2+2, P2 1+1, P3 4, P4 2 = 12 (the days before and after left out);
    # on time P1 2+1, P2 1, P3 4 = 8; late P1 1, P4 2 = 3; missed P2 1 = 1
    assert (
        figure(result, "fidelity.on_time").numerator,
        figure(result, "fidelity.on_time").denominator,
    ) == (8, 12)
    assert figure(result, "fidelity.on_time").value == pytest.approx(8 / 12)
    assert figure(result, "fidelity.late").value == pytest.approx(3 / 12)
    assert figure(result, "fidelity.missed").value == pytest.approx(1 / 12)
    # on time per patient: P1 3/4 = 75 %, P2 1/2, P3 4/4, P4 0/2: three below 80 %, of four
    # (P5 had nothing scheduled: not counted)
    below = figure(result, "fidelity.patients_below_adherence")
    assert (below.value, below.denominator) == (3, 4)
    by_patient = table(result, "fidelity.adherence_by_patient")
    ids = small.ids
    assert [row[0] for row in by_patient.rows] == [ids["P4"], ids["P2"], ids["P1"], ids["P3"]]
    assert by_patient.rows[2][1:8] == (small.nord, "copd", 4, 3, 1, 0, 0.75)
    by_group = {(r[0], r[1]): r[2:6] for r in table(result, "fidelity.adherence_by_group").rows}
    assert by_group == {
        (small.nord, "copd"): (4, 3, 1, 0),
        (small.nord, "heart_failure"): (2, 1, 0, 1),
        (small.sor, "copd"): (4, 4, 0, 0),
        (small.vest, "diabetes"): (2, 0, 2, 0),
    }
    assert table(result, "fidelity.adherence_by_week").rows == (
        ("2026-11-02", 12, 8, 3, 1, 8 / 12, 3 / 12, 1 / 12),
    )
    # no name anywhere: patients by id only
    cells = [c for t in result.tables for row in t.rows for c in row]
    assert not any(isinstance(c, str) and c.startswith("Navn") for c in cells)


def test_adherence_of_one_centre_municipality_and_condition(
    sessions: sessionmaker[Session], small: Small
) -> None:
    # centre C1 only (P4 of Vest out): due 12 − 2 = 10, on time 8, late 3 − 2 = 1, missed 1;
    # below 80 %: P1 and P2, of three
    one_centre = run(sessions, compute_adherence, centre_ids=frozenset({small.c1}))
    assert figure(one_centre, "fidelity.on_time").denominator == 10
    assert figure(one_centre, "fidelity.late").numerator == 1
    below = figure(one_centre, "fidelity.patients_below_adherence")
    assert (below.value, below.denominator) == (2, 3)
    # Sør: P3 alone, 4 of 4 on time
    sor = run(sessions, compute_adherence, municipality_ids=frozenset({small.sor}))
    assert figure(sor, "fidelity.on_time").value == 1.0
    assert figure(sor, "fidelity.patients_below_adherence").value == 0
    # COPD: P1 and P3: due 8, on time 3 + 4 = 7, late 1
    copd = run(sessions, compute_adherence, condition="copd")
    assert (
        figure(copd, "fidelity.on_time").numerator,
        figure(copd, "fidelity.late").numerator,
    ) == (7, 1)


def test_nothing_scheduled_gives_no_share(sessions: sessionmaker[Session], small: Small) -> None:
    query = ProgrammeQuery(date(2026, 10, 1), date(2026, 10, 7), NOW)
    with sessions() as session:
        result = compute_adherence(session, query)
        green = compute_green_days(session, query)
    assert figure(result, "fidelity.on_time").value is None  # a share of nothing: no value
    assert figure(result, "fidelity.patients_below_adherence").value == 0
    assert figure(green, "benefit.green_days").value is None
    assert all(not t.rows for t in result.tables + green.tables)


def test_green_days_with_and_without_home_care(
    sessions: sessionmaker[Session], small: Small
) -> None:
    result = run(sessions, compute_green_days)
    # days with a reading in the week: P1 2 Nov (green) and 3 Nov (a red), P2 4 Nov (a yellow),
    # P3 5 Nov, P4 6 Nov, P5 7 Nov (green); P2's 2 Nov had no reading → 4 green of 6
    all_days = figure(result, "benefit.green_days")
    assert (all_days.numerator, all_days.denominator) == (4, 6)
    # home care: P1 only, 1 green of 2; without: 3 of 4
    assert figure(result, "benefit.green_days", "yes").value == pytest.approx(1 / 2)
    assert figure(result, "benefit.green_days", "no").value == pytest.approx(3 / 4)
    assert table(result, "benefit.green_days_by_week").rows == (
        ("2026-11-02", "no", 4, 3, 0.75),
        ("2026-11-02", "yes", 2, 1, 0.5),
    )
    # Vest only: P4's one green day
    vest = run(sessions, compute_green_days, municipality_ids=frozenset({small.vest}))
    assert figure(vest, "benefit.green_days").value == 1.0
    assert figure(vest, "benefit.green_days", "yes").value is None


def test_every_definition_says_what_it_counts() -> None:
    for definition in DEFINITIONS:
        assert definition.title.nb
        assert definition.title.en
        assert "Glasgow" in definition.source.nb
        assert "Glasgow" in definition.source.en
        text = definition.definition.nb
        assert ("Teller" in text and "Nevner" in text) or text.startswith("Som «"), definition.id
