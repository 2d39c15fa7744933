"""The SQL side of a :class:`~triage.domain.programme.ProgrammeQuery`: which patients (centre,
municipality, condition) and which instants (the Oslo days as UTC bounds)."""

from __future__ import annotations

from datetime import datetime, time, timedelta
from typing import Any
from zoneinfo import ZoneInfo

from sqlalchemy import ColumnElement

from triage.domain.programme import ProgrammeQuery
from triage.storage.models import PatientRow

OSLO = ZoneInfo("Europe/Oslo")


def patient_clauses(
    query: ProgrammeQuery,
    centre: Any = PatientRow.centre_id,
    municipality: Any = PatientRow.municipality_id,
    condition: Any = PatientRow.condition,
) -> list[ColumnElement[bool]]:
    """WHERE clauses keeping the query's patients; the columns default to ``patients``' own
    (give ``patient_days``' for the daily aggregates)."""
    clauses: list[ColumnElement[bool]] = []
    if query.centre_ids is not None:
        clauses.append(centre.in_(sorted(query.centre_ids)))
    if query.municipality_ids is not None:
        clauses.append(municipality.in_(sorted(query.municipality_ids)))
    if query.condition is not None:
        clauses.append(condition == query.condition)
    return clauses


def utc_bounds(query: ProgrammeQuery) -> tuple[datetime, datetime]:
    """The period as instants: Oslo midnight starting ``start`` to Oslo midnight after ``end``
    (exclusive)."""
    first = datetime.combine(query.start, time(0), OSLO)
    after = datetime.combine(query.end + timedelta(days=1), time(0), OSLO)
    return first, after
