"""Administration: users, follow-up centres, municipalities (admins only), and patients'
gateways (the patient's follow-up centre or an admin).

Every change is written to the audit log; passwords and gateway secrets never are. Generated
passwords and gateway secrets are shown once, in the answer that created them (``Cache-Control:
no-store``): only their hashes are stored.
"""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import APIRouter, Query, Response
from sqlalchemy import select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from triage.api.errors import ApiError, ConflictError, NotFoundError
from triage.api.pages import CursorQuery, LimitQuery, Page, cursor_offset, offset_page
from triage.api.people import Caller, CallerDep, require_role
from triage.api.queries import admin as queries
from triage.api.schemas_admin import (
    CentreCreate,
    CentreRead,
    CentreUpdate,
    GatewayCredentials,
    GatewayRead,
    MunicipalityCreate,
    MunicipalityRead,
    PasswordReset,
    UserCreate,
    UserCreated,
    UserRead,
    UserUpdate,
)
from triage.domain.access import Permission, Role
from triage.ingest.pipeline import TOPIC_ROOT
from triage.storage.models import (
    CentreMunicipalityRow,
    CentreRow,
    GatewayRow,
    MunicipalityRow,
    PatientRow,
    UserRow,
)
from triage.storage.repositories import new_id, request_tablet_publish
from triage.storage.seed import give_new_secret, register_gateway

router = APIRouter(tags=["admin"])

_ADMIN_ONLY: dict[int | str, dict[str, Any]] = {
    401: {"description": "Not logged in."},
    403: {"description": "Only administrators may do this (the refusal is audited)."},
}
_SHOWN_ONCE = {"Cache-Control": "no-store"}


#: Roles that work for a centre and need at least one membership.
CENTRE_ROLES = frozenset({Role.NURSE, Role.LEAD})


def _admin(caller: Caller, action: str, object_type: str) -> None:
    require_role(caller, Role.ADMIN, action=action, object_type=object_type)


def _no_store(response: Response) -> None:
    response.headers.update(_SHOWN_ONCE)


def _flush_unique(session: Session, what: str) -> None:
    """Flush, turning a unique-constraint race into 409."""
    try:
        session.flush()
    except IntegrityError as err:
        raise ConflictError(f"{what} already exists") from err


def _oidc_subject(provider: str | None, subject: str | None) -> tuple[str, str] | None:
    """(provider, subject) to store, None to store none; 422 for one without the other."""
    if not subject:
        return None
    if not provider:
        raise ApiError(422, "oidc_subject needs oidc_provider (the identity provider's id)")
    return provider, subject


# ----------------------------------------------------------------------------- users


@router.get(
    "/admin/users",
    response_model=Page[UserRead],
    summary="List users",
    responses=_ADMIN_ONLY,
)
def list_users(
    caller: CallerDep,
    role: Annotated[Role | None, Query(description="only users with this role")] = None,
    centre: Annotated[str | None, Query(description="only members of this centre")] = None,
    active: Annotated[bool | None, Query(description="only active (or deactivated) users")] = None,
    limit: LimitQuery = 50,
    cursor: CursorQuery = None,
) -> Page[UserRead]:
    """Users by username, with their centres (admins only)."""
    _admin(caller, "list", "user")
    offset = cursor_offset(cursor)
    with caller.sessions() as session:
        items = queries.users(
            session, offset=offset, limit=limit + 1, role=role, centre_id=centre, active=active
        )
    return offset_page(items, offset, limit)


@router.post(
    "/admin/users",
    response_model=UserCreated,
    status_code=201,
    summary="Create a user",
    responses={
        **_ADMIN_ONLY,
        409: {"description": "The username is taken."},
        422: {"description": "Invalid fields, an unknown centre, or a nurse without a centre."},
    },
)
def create_user(body: UserCreate, caller: CallerDep, response: Response) -> UserCreated:
    """Create a nurse, GP, centre lead or admin. Without `password`, a random one is generated
    and returned in this answer only — give it to the person in person. Nurses and centre leads
    need at least one centre."""
    _admin(caller, "create", "user")
    if body.role in CENTRE_ROLES and not body.centre_ids:
        raise ApiError(
            422, f"a {body.role.value} must work for at least one centre: give centre_ids"
        )
    generated = queries.generate_password() if body.password is None else None
    password = body.password or generated
    assert password is not None  # noqa: S101 - one of the two is set
    subject = _oidc_subject(body.oidc_provider, body.oidc_subject)
    with caller.sessions.begin() as session:
        if queries.username_taken(session, body.username):
            raise ConflictError(f"the username {body.username!r} is taken: choose another")
        unknown = queries.unknown_centres(session, body.centre_ids)
        if unknown:
            raise ApiError(422, f"unknown centre ids: {', '.join(unknown)}")
        row = UserRow(
            id=new_id(),
            username=body.username,
            display_name=body.display_name,
            role=body.role.value,
            hpr_number=body.hpr_number,
            oidc_provider=subject[0] if subject else None,
            oidc_subject=subject[1] if subject else None,
            active=True,
            created_at=caller.now,
            failed_logins=0,
        )
        queries.set_password(row, password)
        session.add(row)
        _flush_unique(session, f"the username {body.username!r}")
        queries.set_memberships(session, row.id, body.centre_ids)
        caller.audit(
            session,
            "create",
            "user",
            row.id,
            None,
            details={
                "username": row.username,
                "role": row.role,
                "centre_ids": sorted(set(body.centre_ids)),
                "hpr_number": row.hpr_number,
                "oidc_provider": row.oidc_provider,
                "oidc_subject": row.oidc_subject,
                "password": "generated" if generated else "set by the administrator",
            },
        )
        user = queries.read_user(session, row)
    _no_store(response)
    note = (
        "the password is shown this once: give it to the user in person"
        if generated
        else "the user logs in with the password you gave"
    )
    return UserCreated(user=user, password=generated, note=note)


@router.patch(
    "/admin/users/{user_id}",
    response_model=UserRead,
    summary="Change a user",
    responses={
        **_ADMIN_ONLY,
        404: {"description": "No such user."},
        409: {"description": "An admin cannot deactivate or demote themselves."},
    },
)
def update_user(user_id: str, body: UserUpdate, caller: CallerDep) -> UserRead:
    """Change a user's name, role, HPR number, sign-in subject (`oidc_provider` and
    `oidc_subject`; an empty subject removes it) or centres (`centre_ids` replaces them), or
    deactivate (`active: false`, which ends their logins at once) or reactivate them."""
    _admin(caller, "update", "user")
    with caller.sessions.begin() as session:
        row = session.get(UserRow, user_id)
        if row is None:
            raise NotFoundError(f"no user {user_id}")
        if row.id == caller.user_id and (
            body.active is False or (body.role is not None and body.role is not Role.ADMIN)
        ):
            raise ConflictError(
                "you cannot deactivate or demote yourself: ask another administrator"
            )
        changes: dict[str, Any] = {}
        for field in ("display_name", "hpr_number", "active"):
            value = getattr(body, field)
            if value is not None and value != getattr(row, field):
                changes[field] = {"from": getattr(row, field), "to": value}
                setattr(row, field, value)
        if body.oidc_provider is not None or body.oidc_subject is not None:
            subject = _oidc_subject(
                body.oidc_provider or row.oidc_provider,
                body.oidc_subject if body.oidc_subject is not None else row.oidc_subject,
            )
            old_subject = (row.oidc_provider, row.oidc_subject)
            new_subject = subject or (None, None)
            if old_subject != new_subject:
                changes["oidc_subject"] = {"from": list(old_subject), "to": list(new_subject)}
                row.oidc_provider, row.oidc_subject = new_subject
                _flush_unique(session, "a user with this provider and subject")
        if body.role is not None and body.role.value != row.role:
            changes["role"] = {"from": row.role, "to": body.role.value}
            row.role = body.role.value
        if body.centre_ids is not None:
            unknown = queries.unknown_centres(session, body.centre_ids)
            if unknown:
                raise ApiError(422, f"unknown centre ids: {', '.join(unknown)}")
            before = queries.centre_ids_of(session, [row.id]).get(row.id, [])
            after = sorted(set(body.centre_ids))
            if before != after:
                changes["centre_ids"] = {"from": before, "to": after}
                queries.set_memberships(session, row.id, after)
        without_centre = row.role in CENTRE_ROLES and not queries.centre_ids_of(session, [row.id])
        if ("role" in changes or "centre_ids" in changes) and without_centre:
            raise ApiError(422, f"a {row.role} must work for at least one centre: give centre_ids")
        if body.active is False and "active" in changes:
            changes["sessions_ended"] = queries.end_logins(
                session, row.id, caller.now, "deactivated"
            )
        if changes:
            caller.audit(session, "update", "user", row.id, None, details=changes)
        return queries.read_user(session, row)


@router.post(
    "/admin/users/{user_id}/password",
    response_model=PasswordReset,
    summary="Reset a user's password",
    responses={**_ADMIN_ONLY, 404: {"description": "No such user."}},
)
def reset_password(user_id: str, caller: CallerDep, response: Response) -> PasswordReset:
    """Give the user a new generated password (shown this once), lift any back-off, and end
    all their logins — every device they are logged in on must log in again."""
    _admin(caller, "reset_password", "user")
    password = queries.generate_password()
    with caller.sessions.begin() as session:
        row = session.get(UserRow, user_id)
        if row is None:
            raise NotFoundError(f"no user {user_id}")
        queries.set_password(row, password)
        ended = queries.end_logins(session, row.id, caller.now, "password_reset")
        caller.audit(
            session, "reset_password", "user", row.id, None, details={"sessions_ended": ended}
        )
    _no_store(response)
    return PasswordReset(
        user_id=user_id,
        password=password,
        sessions_ended=ended,
        note="the password is shown this once: give it to the user in person",
    )


# ----------------------------------------------------------------------------- centres


@router.get(
    "/admin/centres",
    response_model=Page[CentreRead],
    summary="List follow-up centres",
    responses=_ADMIN_ONLY,
)
def list_centres(
    caller: CallerDep, limit: LimitQuery = 50, cursor: CursorQuery = None
) -> Page[CentreRead]:
    """Follow-up centres by name, with the municipalities each serves."""
    _admin(caller, "list", "centre")
    offset = cursor_offset(cursor)
    with caller.sessions() as session:
        items = queries.centres(session, offset=offset, limit=limit + 1)
    return offset_page(items, offset, limit)


@router.post(
    "/admin/centres",
    response_model=CentreRead,
    status_code=201,
    summary="Create a follow-up centre",
    responses={
        **_ADMIN_ONLY,
        409: {"description": "A centre with this name exists."},
        422: {"description": "Invalid fields or an unknown municipality."},
    },
)
def create_centre(body: CentreCreate, caller: CallerDep) -> CentreRead:
    """Create a follow-up centre serving the given municipalities, in the given IANA zone
    (its staffed hours and escalation use the defaults until configured)."""
    _admin(caller, "create", "centre")
    served = sorted(set(body.municipality_ids))
    with caller.sessions.begin() as session:
        if queries.centre_name_taken(session, body.name):
            raise ConflictError(f"a centre named {body.name!r} exists: choose another name")
        unknown = queries.unknown_municipalities(session, served)
        if unknown:
            raise ApiError(422, f"unknown municipality ids: {', '.join(unknown)}")
        row = CentreRow(
            id=new_id(),
            name=body.name,
            timezone=body.timezone,
            calendar={},
            escalation={},
            phone=body.phone,
        )
        session.add(row)
        session.flush()
        for municipality_id in served:
            session.add(CentreMunicipalityRow(centre_id=row.id, municipality_id=municipality_id))
        caller.audit(
            session,
            "create",
            "centre",
            row.id,
            None,
            details={"name": row.name, "timezone": row.timezone, "municipality_ids": served},
        )
        return queries.centre_read(row, served)


@router.patch(
    "/admin/centres/{centre_id}",
    response_model=CentreRead,
    summary="Change a follow-up centre's phone number",
    responses={**_ADMIN_ONLY, 404: {"description": "No such centre."}},
)
def update_centre(centre_id: str, body: CentreUpdate, caller: CallerDep) -> CentreRead:
    """Set the centre's phone number (null clears it). It is shown to the centre's patients on
    their tablets, so every patient's tablet state is published again. Audited."""
    _admin(caller, "update", "centre")
    with caller.sessions.begin() as session:
        row = session.get(CentreRow, centre_id)
        if row is None:
            raise NotFoundError(f"no centre {centre_id}")
        before = row.phone
        row.phone = body.phone
        for patient_id in session.scalars(
            select(PatientRow.id).where(
                PatientRow.centre_id == centre_id, PatientRow.state != "discharged"
            )
        ):
            request_tablet_publish(session, patient_id, "centre_changed", caller.now)
        caller.audit(
            session,
            "update",
            "centre",
            row.id,
            None,
            details={"phone": {"from": before, "to": row.phone}},
        )
        served = queries.municipality_ids_of(session, [row.id]).get(row.id, [])
        return queries.centre_read(row, served)


# ----------------------------------------------------------------------------- municipalities


@router.get(
    "/admin/municipalities",
    response_model=Page[MunicipalityRead],
    summary="List municipalities",
    responses=_ADMIN_ONLY,
)
def list_municipalities(
    caller: CallerDep, limit: LimitQuery = 50, cursor: CursorQuery = None
) -> Page[MunicipalityRead]:
    """Municipalities by kommunenummer."""
    _admin(caller, "list", "municipality")
    offset = cursor_offset(cursor)
    with caller.sessions() as session:
        items = queries.municipalities(session, offset=offset, limit=limit + 1)
    return offset_page(items, offset, limit)


@router.post(
    "/admin/municipalities",
    response_model=MunicipalityRead,
    status_code=201,
    summary="Add a municipality",
    responses={**_ADMIN_ONLY, 409: {"description": "The kommunenummer exists."}},
)
def create_municipality(body: MunicipalityCreate, caller: CallerDep) -> MunicipalityRead:
    """Add a municipality by its four-digit kommunenummer and name."""
    _admin(caller, "create", "municipality")
    with caller.sessions.begin() as session:
        if queries.municipality_number_taken(session, body.number):
            raise ConflictError(f"municipality number {body.number} exists")
        row = MunicipalityRow(id=new_id(), number=body.number, name=body.name)
        session.add(row)
        _flush_unique(session, f"municipality number {body.number}")
        caller.audit(
            session,
            "create",
            "municipality",
            row.id,
            None,
            details={"number": row.number, "name": row.name},
        )
        return queries.municipality_read(row)


# ----------------------------------------------------------------------------- gateways

_GATEWAY_ERRORS: dict[int | str, dict[str, Any]] = {
    401: {"description": "Not logged in."},
    403: {"description": "Not the patient's follow-up centre nor an admin (audited)."},
    404: {"description": "No such patient or gateway."},
}


def _credentials(row: GatewayRow, secret: str, note: str) -> GatewayCredentials:
    return GatewayCredentials(
        gateway_id=row.id,
        patient_id=row.patient_id,
        secret=secret,
        http_token=f"{row.id}:{secret}",
        mqtt_username=row.id,
        mqtt_topic_prefix=f"{TOPIC_ROOT}/{row.id}",
        note=note,
    )


def _gateway(session: Session, caller: Caller, gateway_id: str, action: str) -> GatewayRow:
    """The gateway, if the caller may manage it (audited as ``action``); else 404/403."""
    row = session.get(GatewayRow, gateway_id)
    if row is None:
        caller.refuse(action, "gateway", gateway_id, None, "no such gateway")
        raise NotFoundError(f"no gateway {gateway_id}")
    if row.patient_id is None:
        _admin(caller, action, "gateway")
        caller.audit(session, action, "gateway", row.id, None)
        return row
    caller.patient(
        session,
        row.patient_id,
        Permission.MANAGE_GATEWAY,
        action,
        object_type="gateway",
        object_id=row.id,
    )
    return row


@router.post(
    "/patients/{patient_id}/gateways",
    response_model=GatewayCredentials,
    status_code=201,
    summary="Register a gateway for a patient (credentials shown once)",
    responses={**_GATEWAY_ERRORS, 409: {"description": "The patient is discharged."}},
)
def register_patient_gateway(
    patient_id: str, caller: CallerDep, response: Response
) -> GatewayCredentials:
    """Register a new gateway (home hub or phone app) bound to the patient. The answer holds
    its secret — the only time it is shown: configure the gateway with it now. Nurses of the
    patient's centre and admins may do this."""
    gateway_id = queries.new_gateway_id()
    with caller.sessions.begin() as session:
        patient = caller.patient(
            session,
            patient_id,
            Permission.MANAGE_GATEWAY,
            "register",
            object_type="gateway",
            object_id=gateway_id,
        )
        if patient.state == "discharged":
            raise ConflictError("the patient is discharged: enrol them again before registering")
        row, secret = register_gateway(session, patient, caller.now, gateway_id=gateway_id)
        request_tablet_publish(session, patient.id, "gateway_registered", caller.now)
    _no_store(response)
    return _credentials(row, secret, "the secret is shown this once: configure the gateway now")


@router.get(
    "/patients/{patient_id}/gateways",
    response_model=Page[GatewayRead],
    summary="A patient's gateways",
    responses=_GATEWAY_ERRORS,
)
def list_patient_gateways(
    patient_id: str, caller: CallerDep, limit: LimitQuery = 50, cursor: CursorQuery = None
) -> Page[GatewayRead]:
    """The patient's gateways, newest first: online or not, last seen, revoked (never their
    secrets)."""
    offset = cursor_offset(cursor)
    with caller.sessions.begin() as session:
        caller.patient(
            session, patient_id, Permission.MANAGE_GATEWAY, "read", object_type="gateway"
        )
        items = queries.gateways_of(session, patient_id, offset=offset, limit=limit + 1)
    return offset_page(items, offset, limit)


@router.post(
    "/gateways/{gateway_id}/revoke",
    response_model=GatewayRead,
    summary="Revoke a gateway",
    responses={**_GATEWAY_ERRORS, 409: {"description": "Already revoked."}},
)
def revoke_gateway(gateway_id: str, caller: CallerDep) -> GatewayRead:
    """Stop accepting the gateway's data at once (a lost or replaced device). HTTP ingest
    refuses it from now on; MQTT when the broker's password file is next refreshed. To use
    the device again, register a new gateway."""
    with caller.sessions.begin() as session:
        row = _gateway(session, caller, gateway_id, "revoke")
        if row.revoked_at is not None:
            raise ConflictError(f"gateway {gateway_id} was already revoked at {row.revoked_at}")
        row.revoked_at = caller.now
        return queries.gateway_read(row)


@router.post(
    "/gateways/{gateway_id}/rotate",
    response_model=GatewayCredentials,
    summary="Give a gateway a new secret (shown once)",
    responses={**_GATEWAY_ERRORS, 409: {"description": "The gateway is revoked."}},
)
def rotate_gateway(gateway_id: str, caller: CallerDep, response: Response) -> GatewayCredentials:
    """Replace the gateway's secret, keeping its id (and its topics): the old secret stops
    working at once for HTTP ingest. The new secret is shown this once."""
    with caller.sessions.begin() as session:
        row = _gateway(session, caller, gateway_id, "rotate")
        if row.revoked_at is not None:
            raise ConflictError(f"gateway {gateway_id} is revoked: register a new gateway instead")
        secret = give_new_secret(row)
    _no_store(response)
    return _credentials(row, secret, "the new secret is shown this once: configure the gateway")
