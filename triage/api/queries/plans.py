"""Plans: a patient's plans and versions, the next version number, and the trial readings a
proposal is made from. Versions are rows that are never deleted; an approved document's content
never changes (only its status moves on to retired)."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from triage.domain.plan import PlanStatus
from triage.domain.readings import Kind, Reading
from triage.storage.models import PlanRow, PlanVersionRow, ReadingRow


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
