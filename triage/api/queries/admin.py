"""Queries and changes of administration: users and their logins, centres, municipalities,
gateway secrets, and the operational counts behind ``/metrics`` and ``/ready``.

Functions add to the caller's session and never commit (the caller owns the transaction).
"""

from __future__ import annotations

import secrets
from collections import defaultdict
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from datetime import datetime
from functools import cache

from alembic.runtime.migration import MigrationContext
from alembic.script import ScriptDirectory
from sqlalchemy import func, select, update
from sqlalchemy.orm import Session

from triage.api.schemas_admin import (
    CentreRead,
    GatewayRead,
    MunicipalityRead,
    UserRead,
)
from triage.domain.access import Role
from triage.storage.database import alembic_config
from triage.storage.models import (
    AlertRow,
    AuthSessionRow,
    CentreMunicipalityRow,
    CentreRow,
    DeadLetterRow,
    GatewayRow,
    JobRunRow,
    JournalEntryRow,
    MembershipRow,
    MunicipalityRow,
    NotificationRow,
    UserRow,
)
from triage.storage.seed import hash_secret

#: Bytes of randomness in a generated password (base64url: 4 characters per 3 bytes → 19).
GENERATED_PASSWORD_BYTES = 14


def generate_password() -> str:
    """A random password to hand to a person once (112 bits)."""
    return secrets.token_urlsafe(GENERATED_PASSWORD_BYTES)


# ----------------------------------------------------------------------------- users


def centre_ids_of(session: Session, user_ids: Iterable[str]) -> dict[str, list[str]]:
    """Each user's centre ids (sorted); users without memberships are left out."""
    ids = sorted(set(user_ids))
    result: dict[str, list[str]] = defaultdict(list)
    if not ids:
        return result
    rows = session.execute(
        select(MembershipRow.user_id, MembershipRow.centre_id)
        .where(MembershipRow.user_id.in_(ids))
        .order_by(MembershipRow.user_id, MembershipRow.centre_id)
    ).all()
    for user_id, centre_id in rows:
        result[user_id].append(centre_id)
    return result


def user_read(row: UserRow, centre_ids: Sequence[str]) -> UserRead:
    return UserRead(
        id=row.id,
        username=row.username,
        display_name=row.display_name,
        role=Role(row.role),
        centre_ids=list(centre_ids),
        hpr_number=row.hpr_number,
        oidc_provider=row.oidc_provider,
        oidc_subject=row.oidc_subject,
        active=row.active,
        created_at=row.created_at,
        last_login_at=row.last_login_at,
        locked_until=row.locked_until,
    )


def read_user(session: Session, row: UserRow) -> UserRead:
    return user_read(row, centre_ids_of(session, [row.id]).get(row.id, []))


def users(
    session: Session,
    *,
    offset: int,
    limit: int,
    role: Role | None = None,
    centre_id: str | None = None,
    active: bool | None = None,
) -> list[UserRead]:
    """Up to ``limit`` users by username from ``offset`` (fetch ``limit + 1`` to see more)."""
    query = select(UserRow).order_by(UserRow.username).offset(offset).limit(limit)
    if role is not None:
        query = query.where(UserRow.role == role.value)
    if active is not None:
        query = query.where(UserRow.active.is_(active))
    if centre_id is not None:
        members = select(MembershipRow.user_id).where(MembershipRow.centre_id == centre_id)
        query = query.where(UserRow.id.in_(members))
    rows = session.scalars(query).all()
    centres = centre_ids_of(session, [row.id for row in rows])
    return [user_read(row, centres.get(row.id, [])) for row in rows]


def username_taken(session: Session, username: str) -> bool:
    found = session.scalar(select(UserRow.id).where(UserRow.username == username))
    return found is not None


def unknown_centres(session: Session, centre_ids: Iterable[str]) -> list[str]:
    wanted = set(centre_ids)
    if not wanted:
        return []
    known = set(session.scalars(select(CentreRow.id).where(CentreRow.id.in_(sorted(wanted)))))
    return sorted(wanted - known)


def set_memberships(session: Session, user_id: str, centre_ids: Iterable[str]) -> None:
    """Make the user's memberships exactly ``centre_ids``."""
    wanted = set(centre_ids)
    current = set(
        session.scalars(select(MembershipRow.centre_id).where(MembershipRow.user_id == user_id))
    )
    for centre_id in sorted(current - wanted):
        member = session.get(MembershipRow, (user_id, centre_id))
        if member is not None:
            session.delete(member)
    for centre_id in sorted(wanted - current):
        session.add(MembershipRow(user_id=user_id, centre_id=centre_id))
    session.flush()


def set_password(row: UserRow, password: str) -> None:
    """A new password (argon2 hash) that also lifts any back-off."""
    row.password_hash = hash_secret(password)
    row.failed_logins = 0
    row.locked_until = None


def end_logins(session: Session, user_id: str, now: datetime, reason: str) -> int:
    """End every live login of the user (their access tokens stop at once); how many."""
    result = session.execute(
        update(AuthSessionRow)
        .where(AuthSessionRow.user_id == user_id, AuthSessionRow.ended_at.is_(None))
        .values(ended_at=now, end_reason=reason)
        .execution_options(synchronize_session=False)
    )
    return int(getattr(result, "rowcount", 0) or 0)


# ----------------------------------------------------------------------------- tenants


def municipality_ids_of(session: Session, centre_ids: Iterable[str]) -> dict[str, list[str]]:
    ids = sorted(set(centre_ids))
    result: dict[str, list[str]] = defaultdict(list)
    if not ids:
        return result
    rows = session.execute(
        select(CentreMunicipalityRow.centre_id, CentreMunicipalityRow.municipality_id)
        .where(CentreMunicipalityRow.centre_id.in_(ids))
        .order_by(CentreMunicipalityRow.centre_id, CentreMunicipalityRow.municipality_id)
    ).all()
    for centre_id, municipality_id in rows:
        result[centre_id].append(municipality_id)
    return result


def centre_read(row: CentreRow, municipality_ids: Sequence[str]) -> CentreRead:
    return CentreRead(
        id=row.id,
        name=row.name,
        timezone=row.timezone,
        municipality_ids=list(municipality_ids),
        phone=row.phone,
    )


def centres(session: Session, *, offset: int, limit: int) -> list[CentreRead]:
    rows = session.scalars(
        select(CentreRow).order_by(CentreRow.name, CentreRow.id).offset(offset).limit(limit)
    ).all()
    served = municipality_ids_of(session, [row.id for row in rows])
    return [centre_read(row, served.get(row.id, [])) for row in rows]


def centre_name_taken(session: Session, name: str) -> bool:
    return session.scalar(select(CentreRow.id).where(CentreRow.name == name)) is not None


def unknown_municipalities(session: Session, municipality_ids: Iterable[str]) -> list[str]:
    wanted = set(municipality_ids)
    if not wanted:
        return []
    known = set(
        session.scalars(select(MunicipalityRow.id).where(MunicipalityRow.id.in_(sorted(wanted))))
    )
    return sorted(wanted - known)


def municipality_read(row: MunicipalityRow) -> MunicipalityRead:
    return MunicipalityRead(id=row.id, number=row.number, name=row.name)


def municipalities(session: Session, *, offset: int, limit: int) -> list[MunicipalityRead]:
    rows = session.scalars(
        select(MunicipalityRow).order_by(MunicipalityRow.number).offset(offset).limit(limit)
    ).all()
    return [municipality_read(row) for row in rows]


def municipality_number_taken(session: Session, number: str) -> bool:
    found = session.scalar(select(MunicipalityRow.id).where(MunicipalityRow.number == number))
    return found is not None


# ----------------------------------------------------------------------------- gateways


def new_gateway_id() -> str:
    """A fresh gateway id: also its MQTT username and topic segment (``[a-z0-9-]``)."""
    return f"gw-{secrets.token_hex(8)}"


def gateway_read(row: GatewayRow) -> GatewayRead:
    return GatewayRead(
        id=row.id,
        patient_id=row.patient_id,
        created_at=row.created_at,
        revoked_at=row.revoked_at,
        online=row.online,
        last_seen_at=row.last_seen_at,
        status=dict(row.status or {}),
    )


def gateways_of(session: Session, patient_id: str, *, offset: int, limit: int) -> list[GatewayRead]:
    """A patient's gateways, newest first."""
    rows = session.scalars(
        select(GatewayRow)
        .where(GatewayRow.patient_id == patient_id)
        .order_by(GatewayRow.created_at.desc(), GatewayRow.id)
        .offset(offset)
        .limit(limit)
    ).all()
    return [gateway_read(row) for row in rows]


# ----------------------------------------------------------------------------- operations


@dataclass(frozen=True, slots=True)
class JobRuns:
    job: str
    status: str
    runs: int


@dataclass(frozen=True, slots=True)
class LastRun:
    job: str
    started_at: datetime


def alert_counts(session: Session) -> list[tuple[str, str, int]]:
    """``(colour, state, count)`` of every alert row."""
    rows = session.execute(
        select(AlertRow.colour, AlertRow.state, func.count()).group_by(
            AlertRow.colour, AlertRow.state
        )
    ).all()
    return [(colour, state, int(count)) for colour, state, count in rows]


def job_run_counts(session: Session) -> list[JobRuns]:
    rows = session.execute(
        select(JobRunRow.job, JobRunRow.status, func.count())
        .group_by(JobRunRow.job, JobRunRow.status)
        .order_by(JobRunRow.job, JobRunRow.status)
    ).all()
    return [JobRuns(job, status, int(count)) for job, status, count in rows]


def last_job_runs(session: Session) -> list[LastRun]:
    """When each job last started a run."""
    rows = session.execute(
        select(JobRunRow.job, func.max(JobRunRow.started_at))
        .group_by(JobRunRow.job)
        .order_by(JobRunRow.job)
    ).all()
    return [LastRun(job, started) for job, started in rows if started is not None]


def dead_letter_counts(session: Session) -> list[tuple[str, int]]:
    rows = session.execute(
        select(DeadLetterRow.reason_code, func.count())
        .group_by(DeadLetterRow.reason_code)
        .order_by(DeadLetterRow.reason_code)
    ).all()
    return [(reason_code, int(count)) for reason_code, count in rows]


def notification_counts(session: Session) -> list[tuple[str, int]]:
    """``(status, count)`` of the notification outbox (pending, sent, dead, cancelled)."""
    rows = session.execute(
        select(NotificationRow.status, func.count())
        .group_by(NotificationRow.status)
        .order_by(NotificationRow.status)
    ).all()
    return [(status, int(count)) for status, count in rows]


def oldest_pending_notification(session: Session) -> datetime | None:
    """When the oldest notification still waiting to go out was written (None: none waits)."""
    oldest: datetime | None = session.execute(
        select(func.min(NotificationRow.created_at)).where(NotificationRow.status == "pending")
    ).scalar_one()
    return oldest


def journal_counts(session: Session) -> list[tuple[str, int]]:
    """``(status, count)`` of the journal outbox (pending, sent, dead)."""
    rows = session.execute(
        select(JournalEntryRow.status, func.count())
        .group_by(JournalEntryRow.status)
        .order_by(JournalEntryRow.status)
    ).all()
    return [(status, int(count)) for status, count in rows]


def oldest_pending_journal(session: Session) -> datetime | None:
    """When the oldest journal Bundle still waiting to go out was written (None: none waits)."""
    oldest: datetime | None = session.execute(
        select(func.min(JournalEntryRow.created_at)).where(JournalEntryRow.status == "pending")
    ).scalar_one()
    return oldest


def schema_revisions(session: Session) -> tuple[list[str], list[str]]:
    """The database's Alembic revision(s) and the migrations' head(s)."""
    context = MigrationContext.configure(session.connection())
    return sorted(context.get_current_heads()), list(head_revisions())


@cache
def head_revisions() -> tuple[str, ...]:
    """The migrations' head(s): read from the migration files once per process."""
    return tuple(sorted(ScriptDirectory.from_config(alembic_config()).get_heads()))
