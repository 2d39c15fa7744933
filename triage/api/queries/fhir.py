"""The FHIR API's SQL (``/fhir/r4``, :mod:`triage.api.routers.fhir`): one patient's rows in a
stable keyset order, a batch at a time, and the small things a resource needs besides its row
(the GP, the gateways, the meters, the plan versions, the alerts' readings).

Every stream is for one patient, newest first by its time column and then by id (both
descending), on the ``(patient_id, measured_at)`` / ``(patient_id, answered_at)`` indexes and the
alerts' patient index. A stream starts after a :class:`Mark` (the item where the previous page
stopped), so a page never repeats or skips an item when new data arrives while a client pages.
"""

from __future__ import annotations

from collections.abc import Iterable, Iterator, Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from sqlalchemy import and_, func, or_, select
from sqlalchemy.orm import Session

from triage.domain.alerts import AlertCategory, AlertState
from triage.domain.colours import Colour
from triage.domain.plan import PlanStatus
from triage.fhir.ids import meter_device_id
from triage.journal.implicated import implicated as journal_implicated
from triage.storage.models import (
    AlertActionRow,
    AlertRow,
    GatewayRow,
    PatientRow,
    PlanRow,
    PlanVersionRow,
    ReadingRow,
    ReportRow,
    UserRow,
)

#: How many rows a stream reads from the database at a time (at least a page and one).
MIN_BATCH = 50
MAX_BATCH = 1000


@dataclass(frozen=True, slots=True)
class Mark:
    """Where a page stopped in a newest-first stream: the item's time, its source (``"r"``
    reading, ``"q"`` report, ``"a"`` alert) and id, and how many resources made from that item
    were already given (a blood-pressure reading makes two Observations)."""

    at: datetime
    source: str
    id: str
    given: int


@dataclass(frozen=True, slots=True)
class Window:
    """A time condition from a FHIR ``date`` parameter: ``start <= t`` (or ``<``) and/or
    ``t < end`` (or ``<=``); ``None`` bounds are open. ``outside`` turns it into ``ne``."""

    start: datetime | None = None
    start_inclusive: bool = True
    end: datetime | None = None
    end_inclusive: bool = False
    outside: bool = False

    def clause(self, column: Any) -> Any:
        parts: list[Any] = []
        if self.start is not None:
            parts.append(column >= self.start if self.start_inclusive else column > self.start)
        if self.end is not None:
            parts.append(column <= self.end if self.end_inclusive else column < self.end)
        inside = and_(*parts) if parts else column.is_not(None)
        return ~inside if self.outside else inside


#: each source's model and time column
_SOURCES: dict[str, tuple[Any, Any]] = {
    "r": (ReadingRow, ReadingRow.measured_at),
    "q": (ReportRow, ReportRow.answered_at),
    "a": (AlertRow, AlertRow.opened_at),
}


def _after_mark(source: str, time_column: Any, id_column: Any, mark: Mark | None) -> list[Any]:
    """Rows of ``source`` at or after ``mark`` in the order (time, source, id), all descending.
    The mark's own row is included (the rest of its resources may still be due)."""
    if mark is None:
        return []
    if source > mark.source:  # sorts before the mark's source at the same time
        return [time_column < mark.at]
    if source < mark.source:
        return [time_column <= mark.at]
    return [or_(time_column < mark.at, and_(time_column == mark.at, id_column <= mark.id))]


def stream(
    session: Session,
    source: str,
    patient_id: str,
    windows: Sequence[Window],
    mark: Mark | None,
    batch: int,
    *,
    kinds: Sequence[str] | None = None,
) -> Iterator[Any]:
    """The patient's rows of ``source`` (``"r"``, ``"q"`` or ``"a"``) inside every window,
    newest first, from ``mark`` on, read ``batch`` rows at a time as the caller iterates;
    readings only of ``kinds`` when given."""
    model, time_column = _SOURCES[source]
    size = max(MIN_BATCH, min(batch, MAX_BATCH))
    conditions = [
        model.patient_id == patient_id,
        *(window.clause(time_column) for window in windows),
    ]
    if kinds is not None and source == "r":
        if not kinds:
            return
        conditions.append(ReadingRow.kind.in_(sorted(kinds)))
    keyset = _after_mark(source, time_column, model.id, mark)
    while True:
        rows = list(
            session.scalars(
                select(model)
                .where(*conditions, *keyset)
                .order_by(time_column.desc(), model.id.desc())
                .limit(size)
            )
        )
        yield from rows
        if len(rows) < size:
            return
        last = rows[-1]
        at = time_of(source, last)
        keyset = [or_(time_column < at, and_(time_column == at, model.id < last.id))]


def time_of(source: str, row: Any) -> datetime:
    """The time a row of ``source`` is ordered by."""
    value: datetime
    if source == "r":
        value = row.measured_at
    elif source == "q":
        value = row.answered_at
    else:
        value = row.opened_at
    return value


# ----------------------------------------------------------------------------- single rows


def alert_actions(session: Session, alert_id: str) -> list[AlertActionRow]:
    """What the nurses recorded for the alert, in order."""
    return list(
        session.scalars(
            select(AlertActionRow)
            .where(AlertActionRow.alert_id == alert_id)
            .order_by(AlertActionRow.at, AlertActionRow.id)
        )
    )


def users(session: Session, user_ids: Iterable[str]) -> dict[str, UserRow]:
    wanted = sorted(set(user_ids))
    if not wanted:
        return {}
    return {row.id: row for row in session.scalars(select(UserRow).where(UserRow.id.in_(wanted)))}


def patient_row(session: Session, patient_id: str) -> PatientRow | None:
    return session.get(PatientRow, patient_id)


def user_row(session: Session, user_id: str | None) -> UserRow | None:
    return session.get(UserRow, user_id) if user_id is not None else None


def gateways(session: Session, patient_id: str) -> list[GatewayRow]:
    """The gateways registered to the patient (revoked ones too: readings point at them)."""
    return list(
        session.scalars(
            select(GatewayRow).where(GatewayRow.patient_id == patient_id).order_by(GatewayRow.id)
        )
    )


def meters(session: Session, patient_id: str) -> list[dict[str, Any]]:
    """Each distinct meter the patient's readings came from (a reading's ``device``, one per
    Device id: the newest description of it), in the order first seen; readings typed by the
    patient name no meter. The distinct descriptions are found by the database (grouped), so
    a long history is not sent over row by row."""
    first_seen = func.min(ReadingRow.measured_at)
    rows = session.execute(
        select(ReadingRow.device, first_seen, func.max(ReadingRow.measured_at))
        .where(ReadingRow.patient_id == patient_id)
        .group_by(ReadingRow.device)
    ).all()
    seen: dict[str, tuple[Any, Any, dict[str, Any]]] = {}
    for device, first, last in rows:
        if not isinstance(device, dict) or not device:
            continue
        device_id = meter_device_id(patient_id, device)
        if device_id is None:
            continue
        known = seen.get(device_id)
        if known is None:
            seen[device_id] = (first, last, device)
        else:
            newest = device if last > known[1] else known[2]
            seen[device_id] = (min(first, known[0]), max(last, known[1]), newest)
    return [device for _, _, device in sorted(seen.values(), key=lambda item: item[0])]


def plan_versions(session: Session, patient_id: str) -> list[PlanVersionRow]:
    """The approved and retired versions of the patient's plans (drafts are not care plans
    yet), newest first."""
    return list(
        session.scalars(
            select(PlanVersionRow)
            .join(PlanRow, PlanRow.id == PlanVersionRow.plan_id)
            .where(
                PlanRow.patient_id == patient_id,
                PlanVersionRow.status.in_([PlanStatus.APPROVED.value, PlanStatus.RETIRED.value]),
            )
            .order_by(PlanVersionRow.created_at.desc(), PlanVersionRow.id.desc())
        )
    )


def plan_version(session: Session, plan_id: str, version: int) -> tuple[str, PlanVersionRow] | None:
    """The patient and an approved or retired version of a plan (drafts are not care plans)."""
    found = session.execute(
        select(PlanRow.patient_id, PlanVersionRow)
        .join(PlanRow, PlanRow.id == PlanVersionRow.plan_id)
        .where(
            PlanVersionRow.plan_id == plan_id,
            PlanVersionRow.version == version,
            PlanVersionRow.status.in_([PlanStatus.APPROVED.value, PlanStatus.RETIRED.value]),
        )
    ).first()
    return (found[0], found[1]) if found is not None else None


@dataclass(frozen=True, slots=True)
class PatientColour:
    colour: str
    since: datetime | None


def patient_colour(session: Session, patient_id: str) -> PatientColour:
    """The patient's colour as the worklist shows it: the worst colour of the unresolved
    clinical alerts (green without one), since the oldest of those alerts opened."""
    rows = session.execute(
        select(AlertRow.colour, AlertRow.opened_at).where(
            AlertRow.patient_id == patient_id,
            AlertRow.state != AlertState.RESOLVED.value,
            AlertRow.category == AlertCategory.CLINICAL.value,
        )
    ).all()
    if not rows:
        return PatientColour(Colour.GREEN.value, None)
    worst = max((Colour(row.colour) for row in rows), key=lambda c: c.rank)
    since = min(row.opened_at for row in rows if row.colour == worst.value)
    return PatientColour(worst.value, since)


def implicated(session: Session, alert: AlertRow) -> tuple[list[ReadingRow], list[ReportRow]]:
    """The readings and reports behind the alert, as its journal entry names them (one rule for
    the API and the write-back: :func:`triage.journal.implicated.implicated`)."""
    return journal_implicated(session, alert)
