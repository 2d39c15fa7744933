"""Plans: a patient's plans and versions, the next version number, the trial readings a
proposal is made from, and the stored readings a version is replayed against. Versions are rows
that are never deleted; an approved document's content never changes (only its status moves on
to retired)."""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from datetime import datetime
from typing import Any

from sqlalchemy import exists, func, select
from sqlalchemy.orm import Session, aliased

from triage.api.queries.patients import PatientState
from triage.domain.classify import History
from triage.domain.colours import Colour
from triage.domain.findings import Finding
from triage.domain.plan import PlanStatus
from triage.domain.readings import Kind, Reading, Report
from triage.domain.replay import StoredReading
from triage.storage.models import PatientRow, PlanRow, PlanVersionRow, ReadingRow, ReportRow
from triage.storage.repositories import load_history


def patient_plan(session: Session, patient_id: str) -> PlanRow | None:
    """The patient's plan (the newest, should there be several), locked for a new version."""
    return session.scalars(
        select(PlanRow)
        .where(PlanRow.patient_id == patient_id)
        .order_by(PlanRow.created_at.desc(), PlanRow.id.desc())
        .limit(1)
        .with_for_update()
    ).first()


def plan_locked(session: Session, plan_id: str) -> PlanRow | None:
    """The plan row, locked until the transaction ends (versions are numbered under it)."""
    return session.get(PlanRow, plan_id, with_for_update=True)


def version_row(session: Session, plan_id: str, version: int) -> PlanVersionRow | None:
    return session.scalars(
        select(PlanVersionRow).where(
            PlanVersionRow.plan_id == plan_id, PlanVersionRow.version == version
        )
    ).first()


def latest_version(session: Session, plan_id: str) -> PlanVersionRow | None:
    """The plan's highest version, whatever its status."""
    return session.scalars(
        select(PlanVersionRow)
        .where(PlanVersionRow.plan_id == plan_id)
        .order_by(PlanVersionRow.version.desc())
        .limit(1)
    ).first()


def next_version(session: Session, plan_id: str) -> int:
    """One more than the plan's highest version (1 for a plan without versions)."""
    highest = session.scalar(
        select(func.max(PlanVersionRow.version)).where(PlanVersionRow.plan_id == plan_id)
    )
    return (highest or 0) + 1


def approved_versions(session: Session, plan_id: str) -> list[PlanVersionRow]:
    """The plan's approved (active) versions; normally one."""
    return list(
        session.scalars(
            select(PlanVersionRow)
            .where(
                PlanVersionRow.plan_id == plan_id,
                PlanVersionRow.status == PlanStatus.APPROVED.value,
            )
            .order_by(PlanVersionRow.version)
        )
    )


def patient_versions(
    session: Session, patient_id: str, offset: int, limit: int
) -> Sequence[PlanVersionRow]:
    """The versions of all the patient's plans, newest first (``limit + 1`` from ``offset``)."""
    return session.scalars(
        select(PlanVersionRow)
        .join(PlanRow, PlanRow.id == PlanVersionRow.plan_id)
        .where(PlanRow.patient_id == patient_id)
        .order_by(
            PlanVersionRow.created_at.desc(),
            PlanVersionRow.version.desc(),
            PlanVersionRow.id.desc(),
        )
        .offset(offset)
        .limit(limit + 1)
    ).all()


def drafts_to_approve(
    session: Session, patients: Any, offset: int, limit: int
) -> list[tuple[PlanVersionRow, str, str]]:
    """The drafts that can still be approved — newer than their plan's approved version — of
    the patients ``patients`` (a WHERE clause on ``PatientRow``) who are not discharged, each
    with the patient's id and name; the longest waiting first (``limit + 1`` from
    ``offset``)."""
    approved = aliased(PlanVersionRow)
    overtaken = exists().where(
        approved.plan_id == PlanVersionRow.plan_id,
        approved.status == PlanStatus.APPROVED.value,
        approved.version > PlanVersionRow.version,
    )
    rows = session.execute(
        select(PlanVersionRow, PatientRow.id, PatientRow.display_name)
        .join(PlanRow, PlanRow.id == PlanVersionRow.plan_id)
        .join(PatientRow, PatientRow.id == PlanRow.patient_id)
        .where(
            patients,
            PatientRow.state != PatientState.DISCHARGED,
            PlanVersionRow.status == PlanStatus.DRAFT.value,
            ~overtaken,
        )
        .order_by(PlanVersionRow.created_at, PlanVersionRow.plan_id, PlanVersionRow.version)
        .offset(offset)
        .limit(limit + 1)
    )
    return [(row[0], row[1], row[2]) for row in rows]


def in_use_versions(session: Session, plan_ids: Iterable[str]) -> dict[str, PlanVersionRow]:
    """Each plan's approved version in use (its newest approved one), by plan id, in one query;
    plans without an approved version are absent."""
    wanted = set(plan_ids)
    if not wanted:
        return {}
    rows = session.scalars(
        select(PlanVersionRow)
        .where(
            PlanVersionRow.plan_id.in_(wanted),
            PlanVersionRow.status == PlanStatus.APPROVED.value,
        )
        .order_by(PlanVersionRow.version)
    )
    return {row.plan_id: row for row in rows}  # the newest approved version wins


def trial_readings(
    session: Session, patient_id: str, since: datetime, until: datetime
) -> list[Reading]:
    """The patient's readings measured in ``[since, until]`` (as stored: already validated)."""
    rows = session.execute(
        select(ReadingRow.id, ReadingRow.kind, ReadingRow.measured_at, ReadingRow.values).where(
            ReadingRow.patient_id == patient_id,
            ReadingRow.measured_at >= since,
            ReadingRow.measured_at <= until,
        )
    )
    return [
        Reading.model_construct(
            id=row.id, kind=Kind(row.kind), measured_at=row.measured_at, values=row.values
        )
        for row in rows
    ]


# ----------------------------------------------------------------------------- replay


def replay_readings(
    session: Session, patient_id: str, since: datetime, limit: int
) -> list[StoredReading]:
    """The patient's readings classified at or after ``since``, newest first, at most
    ``limit + 1`` (one more than asked tells the caller there were more), each with the colour,
    plan version and findings it was stored with. A reading's time is the time it was
    classified at (its own, or its arrival when the device clock ran ahead), as in ingest."""
    rows = session.execute(
        select(
            ReadingRow.id,
            ReadingRow.kind,
            ReadingRow.classified_at,
            ReadingRow.values,
            ReadingRow.colour,
            ReadingRow.plan_version,
            ReadingRow.findings,
        )
        .where(
            ReadingRow.patient_id == patient_id,
            ReadingRow.measured_at >= since,  # implied (classified ≤ measured): uses the index
            ReadingRow.classified_at >= since,
        )
        .order_by(ReadingRow.classified_at.desc(), ReadingRow.id.desc())
        .limit(limit + 1)
    )
    return [
        StoredReading(
            reading=Reading.model_construct(  # stored by ingest after validation
                id=row.id, kind=Kind(row.kind), measured_at=row.classified_at, values=row.values
            ),
            colour=Colour(row.colour) if row.colour else None,
            plan_version=row.plan_version,
            findings=tuple(Finding.model_validate(f) for f in row.findings or ()),
        )
        for row in rows
    ]


def replay_reports(session: Session, patient_id: str, since: datetime, limit: int) -> list[Report]:
    """The patient's questionnaire reports answered at or after ``since`` (the newest
    ``limit``): replayed with the readings for the rules that combine them."""
    rows = session.execute(
        select(ReportRow.id, ReportRow.questionnaire, ReportRow.answered_at, ReportRow.answers)
        .where(ReportRow.patient_id == patient_id, ReportRow.answered_at >= since)
        .order_by(ReportRow.answered_at.desc(), ReportRow.id.desc())
        .limit(limit)
    )
    return [
        Report.model_construct(
            id=row.id,
            questionnaire=row.questionnaire,
            answered_at=row.answered_at,
            answers=row.answers,
        )
        for row in rows
    ]


def history_before(
    session: Session, patient_id: str, start: datetime, end: datetime, per_kind: int
) -> History:
    """What classification looks back at from ``end``: the patient's readings and reports in
    ``[start, end)`` (the newest ``per_kind`` of each, as ingest keeps) with their stored yellow
    and red findings, oldest first."""
    loaded = load_history(session, [patient_id], start, per_kind, until=end)[patient_id]
    return History.model_construct(
        readings=tuple(sorted(loaded.readings, key=lambda r: (r.measured_at, r.id))),
        reports=tuple(sorted(loaded.reports, key=lambda r: (r.answered_at, r.id))),
        findings=loaded.findings,
    )
