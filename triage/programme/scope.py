"""The SQL side of a :class:`~triage.domain.programme.ProgrammeQuery`: which patients (centre,
municipality, condition) and which instants (the Oslo days as UTC bounds)."""

from __future__ import annotations

from datetime import datetime, time, timedelta
from typing import Any
from zoneinfo import ZoneInfo

from sqlalchemy import ColumnElement, Select, func, select
from sqlalchemy.orm import Session

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


def columns_by_group(session: Session, statement: Select[Any]) -> dict[Any, list[list[Any]]]:
    """The rows of ``statement`` grouped by its first column, each group as columns (lists)
    of the other columns in row order. On PostgreSQL the database builds them (``array_agg``:
    a few rows of arrays instead of ~100,000 rows, the most of the time at the programme's
    scale); elsewhere (SQLite, the embedded default, small) the rows are turned here."""
    if session.get_bind().dialect.name == "postgresql":
        rows = statement.subquery()
        key, *values = rows.c
        grouped = select(key, *(func.array_agg(value) for value in values)).group_by(key)
        return {
            row[0]: [list(column) for column in row[1:]]
            for row in session.connection().execute(grouped)
        }
    found: dict[Any, list[list[Any]]] = {}
    for row in session.connection().execute(statement):
        columns = found.setdefault(row[0], [[] for _ in row[1:]])
        for column, value in zip(columns, row[1:], strict=True):
            column.append(value)
    return found
