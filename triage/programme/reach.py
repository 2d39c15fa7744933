"""Reach (RE-AIM): who the service reaches — patients by enrolment state, enrolments and
discharges over time, age and sex against the municipality's population, discharge reasons."""

from __future__ import annotations

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from triage.domain.access import ProgrammeSection
from triage.domain.colours import Text
from triage.domain.programme import (
    Definition,
    Figure,
    ProgrammeQuery,
    SectionResult,
    Unit,
    count,
)
from triage.programme.scope import patient_clauses
from triage.storage.models import PatientRow

STATES = ("trial", "active", "paused", "discharged")

DEFINITIONS = (
    Definition(
        id="reach.patients_by_state",
        section=ProgrammeSection.REACH,
        unit=Unit.COUNT,
        title=Text(nb="Pasienter etter status nå", en="Patients by state now"),
        definition=Text(
            nb="Antall pasienter i utvalget (kommune, diagnose) etter status i dag: "
            "prøveperiode, aktiv, pause, avsluttet. Hele perioden telles ikke: dette er "
            "dagens tall.",
            en="Patients in the selection (municipality, condition) by their state today: "
            "trial, active, paused, discharged. Not limited to the period: today's count.",
        ),
        source="RE-AIM: Reach (Glasgow et al. 1999)",
    ),
)


def compute(session: Session, query: ProgrammeQuery) -> SectionResult:
    counts = dict(
        session.execute(
            select(PatientRow.state, func.count())
            .where(*patient_clauses(query))
            .group_by(PatientRow.state)
        ).all()
    )
    figures: list[Figure] = [
        count("reach.patients_by_state", counts.get(state, 0), key=state) for state in STATES
    ]
    return SectionResult(ProgrammeSection.REACH, tuple(figures), ())
