"""Which parts make up each section of the programme view, and every definition by id."""

from __future__ import annotations

from collections.abc import Callable

from sqlalchemy.orm import Session

from triage.domain.access import ProgrammeSection
from triage.domain.programme import Definition, Figure, ProgrammeQuery, SectionResult, Table
from triage.programme import (
    adherence,
    adoption,
    alert_handling,
    benefit,
    plan_fidelity,
    reach,
    workload,
)

Part = Callable[[Session, ProgrammeQuery], SectionResult]

PARTS: dict[ProgrammeSection, tuple[Part, ...]] = {
    ProgrammeSection.REACH: (reach.compute,),
    ProgrammeSection.ADOPTION: (adoption.compute,),
    ProgrammeSection.FIDELITY: (adherence.compute_adherence, plan_fidelity.compute),
    ProgrammeSection.ALERT_HANDLING: (alert_handling.compute,),
    ProgrammeSection.BENEFIT: (benefit.compute, adherence.compute_green_days),
    ProgrammeSection.WORKLOAD: (workload.compute,),
}

DEFINITIONS: dict[str, Definition] = {
    d.id: d
    for module in (reach, adoption, adherence, plan_fidelity, alert_handling, benefit, workload)
    for d in module.DEFINITIONS
}


def compute(session: Session, section: ProgrammeSection, query: ProgrammeQuery) -> SectionResult:
    """Every figure and table of ``section`` for ``query``."""
    figures: list[Figure] = []
    tables: list[Table] = []
    for part in PARTS[section]:
        result = part(session, query)
        figures.extend(result.figures)
        tables.extend(result.tables)
    return SectionResult(section, tuple(figures), tuple(tables))
