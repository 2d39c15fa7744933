"""Escalation messages: where a centre's unacknowledged reds go (its policy and notification
targets), the messages sent and their attempts, an admin's test message, and a GP's digest.

A centre's escalation overview and its messages are for the centre's nurses and for admins; a
GP sees neither (acute messages are the centre's and the after-hours service's business). A
target's URL may hold credentials: it is accepted, checked with Apprise, and never shown back
nor written to the audit log (``url_masked`` is). Every change is audited; a list of messages
that names patients is audited as a read of their data, and an admin sees the patients' names
only with a reason (``X-DHO-Reason``).
"""

from __future__ import annotations

import uuid
from datetime import datetime, timedelta
from typing import Annotated, Any

from fastapi import APIRouter, Path, Query
from pydantic import ValidationError
from sqlalchemy.orm import Session

from triage.api.errors import ApiError, ConflictError, ForbiddenError, NotFoundError
from triage.api.pages import (
    DEFAULT_LIMIT,
    CursorQuery,
    InvalidCursorError,
    LimitQuery,
    Page,
    cursor_offset,
    decode_cursor,
    encode_cursor,
    offset_page,
)
from triage.api.people import Caller, CallerDep, require_role
from triage.api.queries import notifications as queries
from triage.api.schemas_notifications import (
    CentreEscalation,
    DigestRead,
    DigestUpdate,
    NotificationDetail,
    NotificationRead,
    PolicyUpdate,
    TargetCreate,
    TargetRead,
    TargetUpdate,
    TestQueued,
)
from triage.domain.access import Role, has_reason
from triage.domain.notification import (
    DigestFrequency,
    NotificationKind,
    NotificationStatus,
)
from triage.notify.channel import UnusableUrlError, check_url, masked_url, scheme_of
from triage.storage.models import CentreRow, NotificationTargetRow, UserRow
from triage.storage.repositories import add_notification_target, pending_notification

router = APIRouter(tags=["notifications"])

CentreId = Annotated[str, Path(description="the follow-up centre's id")]
TargetId = Annotated[str, Path(description="the notification target's id")]
NotificationId = Annotated[str, Path(description="the notification's id")]

_CENTRE_READ: dict[int | str, dict[str, Any]] = {
    401: {"description": "Not logged in."},
    403: {"description": "Not a nurse of that centre nor an admin (audited)."},
    404: {"description": "No such centre (admins)."},
}
_ADMIN_ONLY: dict[int | str, dict[str, Any]] = {
    401: {"description": "Not logged in."},
    403: {"description": "Only administrators may do this (the refusal is audited)."},
}
_GP_ONLY: dict[int | str, dict[str, Any]] = {
    401: {"description": "Not logged in."},
    403: {"description": "Only GPs choose a digest (the refusal is audited)."},
}

#: The words of an admin's test message: no patient, nothing to do.
TEST_TITLE = "DHO: testmelding / test message"


def _default_on_call(caller: Caller) -> timedelta:
    return timedelta(minutes=caller.settings.escalate_after_min)


def _centre_reader(session: Session, caller: Caller, centre_id: str, object_type: str) -> CentreRow:
    """The centre, if the caller is one of its nurses or an admin; else 403/404 (audited)."""
    principal = caller.principal
    if principal.role is Role.NURSE:
        if centre_id not in principal.centre_ids:
            why = f"centre {centre_id} is not one of your centres"
            caller.refuse("read", object_type, centre_id, None, why)
            raise ForbiddenError(f"not allowed: {why}")
    elif principal.role is not Role.ADMIN:
        why = "only the centre's nurses and administrators may read its escalation messages"
        caller.refuse("read", object_type, centre_id, None, why)
        raise ForbiddenError(f"not allowed: {why}")
    centre = session.get(CentreRow, centre_id)
    if centre is None:
        caller.refuse("read", object_type, centre_id, None, "no such centre")
        raise NotFoundError(f"no centre {centre_id}")
    return centre


def _admin(caller: Caller, action: str, object_type: str) -> None:
    require_role(caller, Role.ADMIN, action=action, object_type=object_type)


def _checked_url(url: str) -> str:
    """The URL's Apprise scheme; 422 with Apprise's reason when it cannot be used."""
    try:
        return check_url(url)
    except UnusableUrlError as err:
        raise ApiError(422, f"the url cannot be used: {err}") from err


# ----------------------------------------------------------------------------- policy


@router.get(
    "/centres/{centre_id}/escalation",
    response_model=CentreEscalation,
    summary="Where a centre's unacknowledged red alerts go",
    responses=_CENTRE_READ,
)
def read_centre_escalation(centre_id: CentreId, caller: CallerDep) -> CentreEscalation:
    """The centre's escalation policy (delays in whole minutes, detail level), its notification
    targets without their URLs, the chain roles nobody receives, and who receives a red
    outside staffed hours — so the worklist says truthfully where reds go. Nurses of the
    centre and admins."""
    with caller.sessions.begin() as session:
        centre = _centre_reader(session, caller, centre_id, "escalation_policy")
        caller.audit(session, "read", "escalation_policy", centre.id, None)
        return queries.centre_escalation(session, centre, _default_on_call(caller))


@router.patch(
    "/admin/centres/{centre_id}/escalation",
    response_model=CentreEscalation,
    summary="Change a centre's escalation delays and detail level",
    responses={
        **_ADMIN_ONLY,
        404: {"description": "No such centre."},
        422: {"description": "Not a valid policy."},
    },
)
def update_centre_escalation(
    centre_id: CentreId, body: PolicyUpdate, caller: CallerDep
) -> CentreEscalation:
    """Set the delays of the chain's steps (whole minutes, 0–1440) and what a message may say
    beyond "1 rød varsling venter" (`detail`: `none`, or `initials_municipality`, which is put
    on targets declared secure only). Fields left out stay. Audited."""
    _admin(caller, "update", "escalation_policy")
    changes = body.model_dump(exclude_none=True, mode="json")
    with caller.sessions.begin() as session:
        centre = session.get(CentreRow, centre_id, with_for_update=True)
        if centre is None:
            raise NotFoundError(f"no centre {centre_id}")
        default = _default_on_call(caller)
        before, _ = queries.centre_policy(centre, default)
        try:
            _, stored = queries.updated_policy(centre.escalation or {}, changes, default)
        except ValidationError as err:
            where = "; ".join(str(error["msg"]) for error in err.errors()[:3])
            raise ApiError(
                422,
                f"not a valid escalation policy: {where} (the stored policy cannot be read: "
                "set every delay again)",
            ) from err
        centre.escalation = stored
        after = queries.policy_read(queries.centre_policy(centre, default)[0])
        old = queries.policy_read(before)
        caller.audit(
            session,
            "update",
            "escalation_policy",
            centre.id,
            None,
            details={
                field: {"from": getattr(old, field), "to": getattr(after, field)}
                for field in changes
                if getattr(old, field) != getattr(after, field)
            },
        )
        return queries.centre_escalation(session, centre, default)


# ----------------------------------------------------------------------------- targets


@router.get(
    "/admin/centres/{centre_id}/notification-targets",
    response_model=Page[TargetRead],
    summary="A centre's notification targets",
    responses={**_ADMIN_ONLY, 404: {"description": "No such centre."}},
)
def list_targets(
    centre_id: CentreId, caller: CallerDep, limit: LimitQuery = 50, cursor: CursorQuery = None
) -> Page[TargetRead]:
    """The centre's receivers of escalation messages in chain order (deactivated ones too),
    each with its URL masked (scheme and host only). Admins only."""
    _admin(caller, "list", "notification_target")
    offset = cursor_offset(cursor)
    with caller.sessions() as session:
        if session.get(CentreRow, centre_id) is None:
            raise NotFoundError(f"no centre {centre_id}")
        rows = queries.targets_of(session, centre_id)
    items = [queries.target_read(row) for row in rows[offset : offset + limit + 1]]
    return offset_page(items, offset, limit)


@router.post(
    "/admin/centres/{centre_id}/notification-targets",
    response_model=TargetRead,
    status_code=201,
    summary="Add a notification target to a centre",
    responses={
        **_ADMIN_ONLY,
        404: {"description": "No such centre."},
        422: {"description": "Invalid fields, or a URL Apprise cannot use (the reason is given)."},
    },
)
def create_target(centre_id: CentreId, body: TargetCreate, caller: CallerDep) -> TargetRead:
    """Add a receiver with its role in the chain (on_call_nurse, second_nurse, after_hours,
    centre_lead, fallback), a label nurses read, and an Apprise URL (checked now; never shown
    back). `secure` declares the channel secure for health data (Norsk Helsenett e-mail).
    Audited (without the URL)."""
    _admin(caller, "create", "notification_target")
    channel = _checked_url(body.url)
    with caller.sessions.begin() as session:
        if session.get(CentreRow, centre_id) is None:
            raise NotFoundError(f"no centre {centre_id}")
        row = add_notification_target(
            session,
            centre_id,
            body.role.value,
            body.label,
            body.url,
            caller.now,
            secure=body.secure,
            active=body.active,
            by=caller.user_id,
        )
        session.flush()
        caller.audit(
            session,
            "create",
            "notification_target",
            row.id,
            None,
            details={
                "centre_id": centre_id,
                "role": row.role,
                "label": row.label,
                "channel": channel,
                "url_masked": masked_url(row.url),
                "secure": row.secure,
                "active": row.active,
            },
        )
        return queries.target_read(row)


@router.patch(
    "/admin/notification-targets/{target_id}",
    response_model=TargetRead,
    summary="Change a notification target",
    responses={
        **_ADMIN_ONLY,
        404: {"description": "No such target."},
        422: {"description": "Invalid fields, or a URL Apprise cannot use (the reason is given)."},
    },
)
def update_target(target_id: TargetId, body: TargetUpdate, caller: CallerDep) -> TargetRead:
    """Change a target's role, label, URL (checked; never shown back), `secure`, or `active`.
    Messages already written keep going to the target's current URL. Audited (a changed URL as
    its masked form only)."""
    _admin(caller, "update", "notification_target")
    if body.url is not None:
        _checked_url(body.url)
    with caller.sessions.begin() as session:
        row = session.get(NotificationTargetRow, target_id, with_for_update=True)
        if row is None:
            raise NotFoundError(f"no notification target {target_id}")
        changes: dict[str, Any] = {}
        for field in ("label", "secure", "active"):
            value = getattr(body, field)
            if value is not None and value != getattr(row, field):
                changes[field] = {"from": getattr(row, field), "to": value}
                setattr(row, field, value)
        if body.role is not None and body.role.value != row.role:
            changes["role"] = {"from": row.role, "to": body.role.value}
            row.role = body.role.value
        if body.url is not None and body.url != row.url:
            changes["url_masked"] = {"from": masked_url(row.url), "to": masked_url(body.url)}
            row.url = body.url
        if changes:
            row.updated_at = caller.now
            row.updated_by = caller.user_id
            caller.audit(session, "update", "notification_target", row.id, None, details=changes)
        return queries.target_read(row)


@router.delete(
    "/admin/notification-targets/{target_id}",
    response_model=TargetRead,
    summary="Deactivate a notification target",
    responses={**_ADMIN_ONLY, 404: {"description": "No such target."}},
)
def deactivate_target(target_id: TargetId, caller: CallerDep) -> TargetRead:
    """The target gets no further messages (it is kept: messages sent to it still name it).
    `PATCH` with `active: true` takes it into use again. Audited."""
    _admin(caller, "deactivate", "notification_target")
    with caller.sessions.begin() as session:
        row = session.get(NotificationTargetRow, target_id, with_for_update=True)
        if row is None:
            raise NotFoundError(f"no notification target {target_id}")
        if row.active:
            row.active = False
            row.updated_at = caller.now
            row.updated_by = caller.user_id
            caller.audit(
                session,
                "deactivate",
                "notification_target",
                row.id,
                None,
                details={"active": {"from": True, "to": False}},
            )
        return queries.target_read(row)


@router.post(
    "/admin/notification-targets/{target_id}/test",
    response_model=TestQueued,
    status_code=202,
    summary="Send a test message to a notification target",
    responses={
        **_ADMIN_ONLY,
        404: {"description": "No such target."},
        409: {"description": "The target is deactivated."},
    },
)
def test_target(target_id: TargetId, caller: CallerDep) -> TestQueued:
    """Queue a test message (bokmål and English, about no patient) to the target's URL; the
    notification sender delivers it like any message, with its attempts in
    `GET /notifications/{id}`. A deactivated target gets nothing (409: the sender sends to
    active targets only). Audited."""
    _admin(caller, "test", "notification_target")
    with caller.sessions.begin() as session:
        target = session.get(NotificationTargetRow, target_id)
        if target is None:
            raise NotFoundError(f"no notification target {target_id}")
        if not target.active:
            raise ConflictError(
                f"the target {target.label!r} is deactivated: the sender sends nothing to it; "
                "activate it first (PATCH with active: true)"
            )
        centre = session.get(CentreRow, target.centre_id)
        centre_name = centre.name if centre is not None else target.centre_id
        row = pending_notification(
            NotificationKind.TEST,
            f"test:{target.id}:{uuid.uuid4().hex}",
            target.label,
            scheme_of(target.url),
            TEST_TITLE,
            test_body(target.label, centre_name, caller.principal.display_name),
            caller.now,
            centre_id=target.centre_id,
            target_id=target.id,
        )
        session.add(row)
        session.flush()
        caller.audit(
            session,
            "test",
            "notification_target",
            target.id,
            None,
            details={"notification_id": row.id, "url_masked": masked_url(target.url)},
        )
    return TestQueued(
        notification_id=row.id,
        target_id=target_id,
        status=NotificationStatus.PENDING,
        note="queued: the notification sender delivers it at its next run",
    )


def test_body(label: str, centre_name: str, by: str) -> str:
    """A test message's text, bokmål then English: who it is for, from where, no patient."""
    return (
        f"DHO: Dette er en testmelding til {label} fra {centre_name}, sendt av {by}. "
        "Den gjelder ingen pasient, og du trenger ikke gjøre noe.\n"
        f"DHO: This is a test message to {label} from {centre_name}, sent by {by}. "
        "It concerns no patient; no action is needed."
    )


# ----------------------------------------------------------------------------- messages


@router.get(
    "/centres/{centre_id}/notifications",
    response_model=Page[NotificationRead],
    summary="The messages a centre's escalations sent, newest first",
    responses={**_CENTRE_READ, 400: {"description": "An invalid cursor."}},
)
def list_notifications(
    centre_id: CentreId,
    caller: CallerDep,
    status: Annotated[
        NotificationStatus | None, Query(description="only messages in this state")
    ] = None,
    kind: Annotated[
        NotificationKind | None, Query(description="only messages of this kind")
    ] = None,
    limit: LimitQuery = DEFAULT_LIMIT,
    cursor: CursorQuery = None,
) -> Page[NotificationRead]:
    """The centre's messages (escalation steps and admins' tests), the newest first: to whom,
    through which channel, their state, attempts and the provider's last answer, and the text
    as sent. Nurses of the centre and admins (an admin sees the patients' names only with
    `X-DHO-Reason`). One audit row names every patient shown."""
    after = _position(cursor)
    with caller.sessions.begin() as session:
        _centre_reader(session, caller, centre_id, "notification")
        rows = queries.centre_notifications(
            session, centre_id, status=status, kind=kind, limit=limit, after=after
        )
        shown = list(rows[:limit])
        show_name = _may_see_names(caller)
        items = [
            queries.notification_read(row, step, patient, show_name=show_name)
            for row, step, patient in shown
        ]
        details: dict[str, Any] = {
            "centre_id": centre_id,
            "count": len(items),
            "patients": sorted({item.patient_id for item in items if item.patient_id}),
        }
        if status is not None:
            details["status"] = status.value
        if kind is not None:
            details["kind"] = kind.value
        caller.audit(session, "list", "notification", None, None, details=details)
    last = shown[-1][0] if shown else None
    next_cursor = (
        encode_cursor({"at": last.created_at.isoformat(), "id": last.id})
        if last is not None and len(rows) > limit
        else None
    )
    return Page[NotificationRead](items=items, next_cursor=next_cursor)


def _position(cursor: str | None) -> tuple[datetime, str] | None:
    position = decode_cursor(cursor)
    if position is None:
        return None
    try:
        at = datetime.fromisoformat(str(position["at"]))
        id_ = position["id"]
    except (KeyError, ValueError) as err:
        raise InvalidCursorError from err
    if at.tzinfo is None or not isinstance(id_, str) or len(id_) > 64:
        raise InvalidCursorError
    return at, id_


def _may_see_names(caller: Caller) -> bool:
    return caller.principal.role is not Role.ADMIN or has_reason(caller.reason)


@router.get(
    "/notifications/{notification_id}",
    response_model=NotificationDetail,
    summary="One message with every delivery attempt",
    responses={
        401: {"description": "Not logged in."},
        403: {"description": "Not a nurse of the message's centre nor an admin (audited)."},
        404: {"description": "No such message."},
    },
)
def read_notification(notification_id: NotificationId, caller: CallerDep) -> NotificationDetail:
    """The message as in the centre's list, with each delivery attempt (when, accepted or not,
    the provider's answer, how long it took). Nurses of the message's centre and admins; a GP
    their own digests."""
    with caller.sessions.begin() as session:
        found = queries.notification(session, notification_id)
        if found is None:
            caller.refuse("read", "notification", notification_id, None, "no such notification")
            raise NotFoundError(f"no notification {notification_id}")
        row, step, patient = found
        patient_id = patient.id if patient is not None else None
        principal = caller.principal
        own_digest = row.user_id is not None and row.user_id == principal.user_id
        allowed = (
            principal.role is Role.ADMIN
            or (principal.role is Role.NURSE and row.centre_id in principal.centre_ids)
            or own_digest
        )
        if not allowed:
            why = "the message belongs to another follow-up centre"
            caller.refuse("read", "notification", notification_id, patient_id, why)
            raise ForbiddenError(f"not allowed: {why}")
        show_name = _may_see_names(caller)
        caller.audit(
            session,
            "read",
            "notification",
            row.id,
            patient_id if show_name else None,
            details=None if show_name or patient_id is None else {"patient_id": patient_id},
        )
        read = queries.notification_read(row, step, patient, show_name=show_name)
        return NotificationDetail(
            **read.model_dump(), attempt_log=queries.attempts(session, row.id)
        )


# ----------------------------------------------------------------------------- GP digest


@router.get(
    "/me/digest",
    response_model=DigestRead,
    summary="Your digest of non-acute deviations by e-mail (GPs)",
    responses=_GP_ONLY,
)
def read_digest(caller: CallerDep) -> DigestRead:
    """Whether you get a daily or weekly e-mail with the counts of non-acute deviations of your
    own patients (no names, no values; a link to DHO), to which address, and whether the
    operator has set up sending at all. GPs only."""
    require_role(caller, Role.GP, action="read", object_type="digest")
    with caller.sessions.begin() as session:
        user = session.get(UserRow, caller.user_id)
        if user is None:
            raise NotFoundError(f"no user {caller.user_id}")
        caller.audit(session, "read", "digest", user.id, None)
        return _digest(caller, user)


@router.put(
    "/me/digest",
    response_model=DigestRead,
    summary="Choose your digest (GPs)",
    responses={**_GP_ONLY, 422: {"description": "daily or weekly without an e-mail address."}},
)
def update_digest(body: DigestUpdate, caller: CallerDep) -> DigestRead:
    """`daily` (each morning at 07:00, for the day before) or `weekly` (Monday 07:00, for the
    week before) to `email`; `none` stops it (the address is kept unless you send another).
    Acute deviations are never in it: the follow-up centre handles them. GPs only. Audited."""
    require_role(caller, Role.GP, action="update", object_type="digest")
    if body.frequency is not DigestFrequency.NONE and body.email is None:
        raise ApiError(422, f"a {body.frequency.value} digest needs an e-mail address: give email")
    with caller.sessions.begin() as session:
        user = session.get(UserRow, caller.user_id, with_for_update=True)
        if user is None:
            raise NotFoundError(f"no user {caller.user_id}")
        changes: dict[str, Any] = {}
        if body.frequency.value != user.digest_frequency:
            changes["frequency"] = {"from": user.digest_frequency, "to": body.frequency.value}
            user.digest_frequency = body.frequency.value
        if body.email is not None and body.email != user.digest_email:
            changes["email"] = {"from": user.digest_email, "to": body.email}
            user.digest_email = body.email
        if changes:
            caller.audit(session, "update", "digest", user.id, None, details=changes)
        return _digest(caller, user)


def _digest(caller: Caller, user: UserRow) -> DigestRead:
    return DigestRead(
        frequency=DigestFrequency(user.digest_frequency),
        email=user.digest_email,
        sending_configured=bool(caller.settings.notify_email_url),
    )
