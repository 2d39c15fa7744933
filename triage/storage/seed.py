"""Creating tenants, people, patients, plans and gateways: for enrolment, tests and the demo.

These functions add rows to the session and never commit (the caller owns the transaction).
Identifiers in tests and demos are synthetic (``synthetic_national_id`` makes numbers that
cannot be real: day + 40, the D-number convention, with a valid checksum).
"""

from __future__ import annotations

import secrets
from collections.abc import Sequence
from datetime import date, datetime
from typing import Literal

from argon2 import PasswordHasher
from argon2.exceptions import InvalidHashError, VerificationError
from sqlalchemy.orm import Session

from triage.broker.passwords import mosquitto_password_hash
from triage.domain.plan import Condition, PlanVersion, approve
from triage.domain.templates import template
from triage.storage.models import (
    CentreMunicipalityRow,
    CentreRow,
    GatewayRow,
    MembershipRow,
    MunicipalityRow,
    PatientRow,
    PlanRow,
    PlanVersionRow,
    UserRow,
)
from triage.storage.repositories import new_id

_hasher = PasswordHasher()


def hash_secret(secret: str) -> str:
    """An argon2 hash of a password or gateway secret."""
    return _hasher.hash(secret)


def verify_secret(stored_hash: str | None, secret: str) -> bool:
    """Whether ``secret`` matches ``stored_hash`` (False for no hash or a malformed one)."""
    if not stored_hash:
        return False
    try:
        return _hasher.verify(stored_hash, secret)
    except (VerificationError, InvalidHashError):
        return False


def add_municipality(session: Session, number: str, name: str) -> MunicipalityRow:
    row = MunicipalityRow(id=new_id(), number=number, name=name)
    session.add(row)
    return row


def add_centre(
    session: Session,
    name: str,
    municipalities: list[MunicipalityRow],
    timezone: str = "Europe/Oslo",
    phone: str | None = None,
) -> CentreRow:
    row = CentreRow(
        id=new_id(), name=name, timezone=timezone, calendar={}, escalation={}, phone=phone
    )
    session.add(row)
    session.flush()
    for municipality in municipalities:
        session.add(CentreMunicipalityRow(centre_id=row.id, municipality_id=municipality.id))
    return row


def add_user(
    session: Session,
    *,
    username: str,
    display_name: str,
    role: Literal["nurse", "gp", "admin", "lead"],
    now: datetime,
    password: str | None = None,
    centres: Sequence[CentreRow] = (),
) -> UserRow:
    row = UserRow(
        id=new_id(),
        username=username,
        display_name=display_name,
        role=role,
        password_hash=hash_secret(password) if password else None,
        created_at=now,
    )
    session.add(row)
    session.flush()
    for centre in centres:
        session.add(MembershipRow(user_id=row.id, centre_id=centre.id))
    return row


def synthetic_national_id(birth: date, serial: int) -> str:
    """A synthetic Norwegian identifier (D-number style: day + 40) with valid check digits.

    D-numbers with an invented serial are never a real person's fødselsnummer; use only these
    in tests and demos.
    """
    digits = [int(c) for c in f"{birth.day + 40:02d}{birth.month:02d}{birth.year % 100:02d}"]
    digits += [int(c) for c in f"{serial % 1000:03d}"]
    k1 = 11 - sum(d * w for d, w in zip(digits, (3, 7, 6, 1, 8, 9, 4, 5, 2), strict=True)) % 11
    k1 = 0 if k1 == 11 else k1
    if k1 == 10:
        return synthetic_national_id(birth, serial + 1)
    digits.append(k1)
    k2 = 11 - sum(d * w for d, w in zip(digits, (5, 4, 3, 2, 7, 6, 5, 4, 3, 2), strict=True)) % 11
    k2 = 0 if k2 == 11 else k2
    if k2 == 10:
        return synthetic_national_id(birth, serial + 1)
    return "".join(map(str, digits)) + str(k2)


def add_patient(
    session: Session,
    *,
    display_name: str,
    municipality: MunicipalityRow,
    centre: CentreRow,
    now: datetime,
    condition: Condition | None = None,
    gp: UserRow | None = None,
    national_id: str | None = None,
    timezone: str = "Europe/Oslo",
    state: str = "active",
) -> PatientRow:
    row = PatientRow(
        id=new_id(),
        display_name=display_name,
        national_id=national_id,
        condition=condition.value if condition else None,
        gp_user_id=gp.id if gp else None,
        municipality_id=municipality.id,
        centre_id=centre.id,
        timezone=timezone,
        state=state,
        enrolled_at=now,
        state_changed_at=now,
    )
    session.add(row)
    session.flush()
    return row


def add_plan_version(
    session: Session, patient: PatientRow, plan: PlanVersion, now: datetime
) -> PlanVersionRow:
    """Store ``plan`` (any status) for ``patient``, creating the plan row if needed."""
    plan_row = session.get(PlanRow, plan.plan_id)
    if plan_row is None:
        plan_row = PlanRow(
            id=plan.plan_id,
            patient_id=patient.id,
            condition=plan.condition.value if plan.condition else None,
            created_at=now,
        )
        session.add(plan_row)
        session.flush()
    row = PlanVersionRow(
        plan_id=plan.plan_id,
        version=plan.version,
        status=plan.status.value,
        document=plan.model_dump(mode="json", by_alias=True),
        created_at=now,
        approved_by=plan.approval.by if plan.approval else None,
        approved_at=plan.approval.at if plan.approval else None,
        retired_at=plan.retired_at,
    )
    session.add(row)
    return row


def add_approved_template_plan(
    session: Session, patient: PatientRow, condition: Condition, approver: str, now: datetime
) -> PlanVersion:
    """The condition's template as the patient's plan version 1, approved by ``approver``."""
    draft = template(condition).model_copy(update={"plan_id": f"plan-{patient.id}"})
    plan = approve(draft, by=approver, role="gp", at=now)
    add_plan_version(session, patient, plan, now)
    return plan


def register_gateway(
    session: Session, patient: PatientRow | None, now: datetime, gateway_id: str | None = None
) -> tuple[GatewayRow, str]:
    """A gateway bound to ``patient`` and its secret (returned once; only the hash is stored)."""
    row = GatewayRow(
        id=gateway_id or f"gw-{new_id()[:8]}{new_id()[-4:]}",
        patient_id=patient.id if patient else None,
        created_at=now,
        status={},
    )
    secret = give_new_secret(row)
    session.add(row)
    return row, secret


def give_new_secret(row: GatewayRow) -> str:
    """A new secret for the gateway, returned once: only its argon2 hash (HTTP ingest) and its
    Mosquitto password-file entry are stored. The previous secret stops working for HTTP ingest
    at once and for the broker when its password file is next refreshed."""
    secret = secrets.token_urlsafe(24)
    row.secret_hash = hash_secret(secret)
    row.broker_password_hash = mosquitto_password_hash(secret)
    return secret
