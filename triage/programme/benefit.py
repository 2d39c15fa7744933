"""PLACEHOLDER (issue 18, being built)."""

from __future__ import annotations

from sqlalchemy.orm import Session

from triage.domain.access import ProgrammeSection
from triage.domain.programme import Definition, ProgrammeQuery, SectionResult

DEFINITIONS: tuple[Definition, ...] = ()


def compute(session: Session, query: ProgrammeQuery) -> SectionResult:
    return SectionResult(ProgrammeSection.BENEFIT, (), ())
