"""Reading the audit log: filtered keyset pages (newest first) and a CSV export read in
batches (oldest first), so neither holds a large result in memory."""

from __future__ import annotations

import csv
import io
import json
from collections.abc import Iterable, Iterator
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from sqlalchemy import ColumnElement, and_, or_, select
from sqlalchemy.orm import Session, sessionmaker

from triage.api.pages import InvalidCursorError, decode_cursor, encode_cursor
from triage.api.schemas_admin import AuditEntry
from triage.storage.models import AuditRow

#: Rows read per query while exporting.
EXPORT_BATCH = 1000

#: The export's columns, in order.
CSV_COLUMNS = (
    "id",
    "at",
    "actor",
    "action",
    "object_type",
    "object_id",
    "patient_id",
    "reason",
    "outcome",
    "details",
)

#: A cell starting with one of these is a formula to a spreadsheet (CSV injection): it is
#: prefixed with an apostrophe, as OWASP advises. Reasons are typed by people.
_FORMULA_START = ("=", "+", "-", "@", "\t", "\r")


@dataclass(frozen=True, slots=True)
class AuditFilter:
    """Which audit rows to show; ``since`` is inclusive and ``until`` exclusive."""

    patient_id: str | None = None
    actor: str | None = None
    action: str | None = None
    outcome: str | None = None
    since: datetime | None = None
    until: datetime | None = None

    def clauses(self) -> list[ColumnElement[bool]]:
        clauses: list[ColumnElement[bool]] = []
        if self.patient_id is not None:
            clauses.append(AuditRow.patient_id == self.patient_id)
        if self.actor is not None:
            clauses.append(AuditRow.actor == self.actor)
        if self.action is not None:
            clauses.append(AuditRow.action == self.action)
        if self.outcome is not None:
            clauses.append(AuditRow.outcome == self.outcome)
        if self.since is not None:
            clauses.append(AuditRow.at >= self.since)
        if self.until is not None:
            clauses.append(AuditRow.at < self.until)
        return clauses

    def as_details(self) -> dict[str, str]:
        """The filter as the audit row of the query records it."""
        return {
            name: value.isoformat() if isinstance(value, datetime) else value
            for name, value in (
                ("patient", self.patient_id),
                ("actor", self.actor),
                ("action", self.action),
                ("outcome", self.outcome),
                ("since", self.since),
                ("until", self.until),
            )
            if value is not None
        }


@dataclass(frozen=True, slots=True)
class Position:
    """Where a page ended: the last row's time and id (rows are ordered by both)."""

    at: datetime
    id: int


def entry(row: AuditRow) -> AuditEntry:
    return AuditEntry(
        id=row.id,
        at=row.at,
        actor=row.actor,
        action=row.action,
        object_type=row.object_type,
        object_id=row.object_id,
        patient_id=row.patient_id,
        reason=row.reason,
        outcome="refused" if row.outcome == "refused" else "allowed",
        details=dict(row.details or {}),
    )


def newest_first(
    session: Session, where: AuditFilter, after: Position | None, limit: int
) -> list[AuditEntry]:
    """Up to ``limit`` entries matching ``where``, newest first, after ``after``."""
    query = select(AuditRow).where(*where.clauses())
    if after is not None:
        query = query.where(
            or_(AuditRow.at < after.at, and_(AuditRow.at == after.at, AuditRow.id < after.id))
        )
    query = query.order_by(AuditRow.at.desc(), AuditRow.id.desc()).limit(limit)
    return [entry(row) for row in session.scalars(query)]


def oldest_first(sessions: sessionmaker[Session], where: AuditFilter) -> Iterator[AuditEntry]:
    """Every entry matching ``where``, oldest first, read :data:`EXPORT_BATCH` at a time (a
    short session per batch, so a slow download holds no connection)."""
    after: Position | None = None
    while True:
        query = select(AuditRow).where(*where.clauses())
        if after is not None:
            query = query.where(
                or_(AuditRow.at > after.at, and_(AuditRow.at == after.at, AuditRow.id > after.id))
            )
        query = query.order_by(AuditRow.at, AuditRow.id).limit(EXPORT_BATCH)
        with sessions() as session:
            batch = [entry(row) for row in session.scalars(query)]
        yield from batch
        if len(batch) < EXPORT_BATCH:
            return
        after = Position(batch[-1].at, batch[-1].id)


def _cell(value: Any) -> str:
    if value is None:
        return ""
    if isinstance(value, datetime):
        return value.isoformat()
    if isinstance(value, dict):
        return json.dumps(value, ensure_ascii=False, sort_keys=True, default=str)
    text = str(value)
    return "'" + text if text.startswith(_FORMULA_START) else text


def csv_chunks(entries: Iterable[AuditEntry], rows_per_chunk: int = 200) -> Iterator[str]:
    """The entries as CSV text (a header line first), a chunk of rows at a time."""
    buffer = io.StringIO()
    writer = csv.writer(buffer, lineterminator="\r\n")
    writer.writerow(CSV_COLUMNS)
    pending = 0
    for item in entries:
        writer.writerow([_cell(getattr(item, column)) for column in CSV_COLUMNS])
        pending += 1
        if pending >= rows_per_chunk:
            yield buffer.getvalue()
            buffer.seek(0)
            buffer.truncate()
            pending = 0
    yield buffer.getvalue()


def cursor_for(last: AuditEntry) -> str:
    return encode_cursor({"at": last.at.isoformat(), "id": last.id})


def position(cursor: str | None) -> Position | None:
    """The position a ``next_cursor`` names (400 for anything else)."""
    value = decode_cursor(cursor)
    if value is None:
        return None
    try:
        at = datetime.fromisoformat(str(value["at"]))
        row_id = value["id"]
    except (KeyError, ValueError) as err:
        raise InvalidCursorError from err
    if at.tzinfo is None or not isinstance(row_id, int):
        raise InvalidCursorError
    return Position(at, row_id)
