"""PLACEHOLDER (issue 18, being built): measurement adherence and green days."""

from __future__ import annotations

from sqlalchemy.orm import Session

from triage.domain.access import ProgrammeSection
from triage.domain.programme import Definition, ProgrammeQuery, SectionResult

DEFINITIONS: tuple[Definition, ...] = ()


def compute_adherence(session: Session, query: ProgrammeQuery) -> SectionResult:
    return SectionResult(ProgrammeSection.FIDELITY, (), ())


def compute_green_days(session: Session, query: ProgrammeQuery) -> SectionResult:
    return SectionResult(ProgrammeSection.BENEFIT, (), ())
