"""The demo's weeks of history (triage.demo.history): after the first start's seeding the
programme's tables hold enough to show — weeks of readings of every colour, alerts acknowledged
and resolved with outcomes (some visits avoided), discharges with codes, home-care patients, the
municipalities' population and minutes per visit, the centre's nurse FTE, and patient_days up to
where the daily job takes over — and the same seed gives the same history."""

from __future__ import annotations

from datetime import UTC, date, datetime, timedelta
from pathlib import Path
from zoneinfo import ZoneInfo

from sqlalchemy import func, select
from sqlalchemy.orm import Session, sessionmaker

from triage.demo.history import COHORT, HISTORY_WEEKS, HistorySummary, add_history
from triage.demo.population import population
from triage.demo.state import seed_demo
from triage.domain.programme import DROPOUT_CODES
from triage.storage.database import make_engine, migrate, session_factory
from triage.storage.models import (
    AlertActionRow,
    AlertRow,
    CentreRow,
    MunicipalityPopulationRow,
    MunicipalityRow,
    PatientDayRow,
    PatientRow,
    ReadingRow,
)

NOW = datetime(2026, 12, 7, 17, 0, tzinfo=UTC)
OSLO = ZoneInfo("Europe/Oslo")


def _seed(sessions: sessionmaker[Session]) -> HistorySummary:
    with sessions.begin() as session:
        state = seed_demo(session, population(8, 2026, date(2026, 12, 7)), 2026, NOW)
        return add_history(session, state, 2026, NOW)


def test_the_demo_holds_weeks_of_history_for_the_programme(
    sessions: sessionmaker[Session],
) -> None:
    summary = _seed(sessions)
    with sessions() as session:
        # readings reach back about eight weeks, of every colour, and some not yet classified
        # (the trial period before the plan was approved)
        first = session.scalar(select(func.min(ReadingRow.classified_at)))
        assert first is not None
        assert first <= NOW - timedelta(weeks=HISTORY_WEEKS - 1)
        colours = dict(
            session.execute(
                select(ReadingRow.colour, func.count()).group_by(ReadingRow.colour)
            ).all()
        )
        assert {"red", "yellow", "green", None} <= set(colours)
        # alerts of both colours, each acknowledged and resolved, each with an outcome
        alerts = session.scalars(select(AlertRow)).all()
        assert {a.colour for a in alerts} == {"red", "yellow"}
        assert all(a.state == "resolved" and a.acknowledged_at is not None for a in alerts)
        assert all(a.resolved_at is not None and a.resolved_at > a.opened_at for a in alerts)
        actions = session.scalars(select(AlertActionRow)).all()
        assert len(actions) == len(alerts) == summary.alerts >= 20
        assert any(a.home_visit_avoided for a in actions)
        assert not all(a.home_visit_avoided for a in actions)
        assert len({a.outcome for a in actions}) >= 4
        # the cohort discharged with codes, some of them dropouts; home care on some patients
        discharged = session.scalars(
            select(PatientRow).where(PatientRow.state == "discharged")
        ).all()
        assert len(discharged) == COHORT
        codes = {p.discharge_code for p in discharged}
        assert len(codes) >= 5
        assert codes & {c.value for c in DROPOUT_CODES}
        assert all(p.state_reason for p in discharged)
        home_care = session.scalars(select(PatientRow.state).where(PatientRow.home_care)).all()
        assert "discharged" in home_care
        assert "active" in home_care
        # the settings behind the benefit and workload figures
        municipalities = session.scalars(select(MunicipalityRow)).all()
        assert all(m.minutes_per_home_visit for m in municipalities)
        for municipality in municipalities:
            rows = session.scalars(
                select(MunicipalityPopulationRow).where(
                    MunicipalityPopulationRow.municipality_id == municipality.id
                )
            ).all()
            assert {r.sex for r in rows} == {"female", "male"}
            assert sum(r.count for r in rows) > 1000
        assert (session.scalars(select(CentreRow.nurse_fte)).one() or 0) > 0
        # patient_days from the cohort's first day to the day before the demo's own patients
        # were enrolled (14 days before the start: the daily job computes the rest; the last
        # cohort patient left before then)
        low, high = session.execute(
            select(func.min(PatientDayRow.day), func.max(PatientDayRow.day))
        ).one()
        assert low == (NOW - timedelta(weeks=HISTORY_WEEKS)).astimezone(OSLO).date()
        assert high < (NOW - timedelta(days=14)).astimezone(OSLO).date()
        for patient in discharged:  # nothing from the day of discharge on
            last = session.scalar(
                select(func.max(PatientDayRow.day)).where(PatientDayRow.patient_id == patient.id)
            )
            assert last is not None
            assert last < patient.state_changed_at.astimezone(OSLO).date()
        due, on_time, late, missed = session.execute(
            select(
                func.sum(PatientDayRow.slots_due),
                func.sum(PatientDayRow.on_time),
                func.sum(PatientDayRow.late),
                func.sum(PatientDayRow.missed),
            )
        ).one()
        assert due == on_time + late + missed
        assert on_time > 0
        assert late > 0
        assert missed > 0
        assert (
            session.scalar(select(func.count()).select_from(PatientDayRow)) == summary.patient_days
        )


def test_the_same_seed_gives_the_same_history(tmp_path: Path) -> None:
    summaries = []
    for name in ("one", "two"):
        engine = make_engine(f"sqlite:///{tmp_path / name}.sqlite3")
        migrate(engine)
        summaries.append(_seed(session_factory(engine)))
        engine.dispose()
    assert summaries[0] == summaries[1]
