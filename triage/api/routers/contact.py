"""Contact with the patient's tablet: nurse-to-patient messages (``POST``/``GET
/patients/{id}/messages``) and marking a "ring meg" call request done (``POST
/patients/{id}/call-requests/{call_id}/done``).

Sending a message or marking a call done is for a nurse of the patient's centre
(``Permission.HANDLE``); reading the messages is for whoever may read the patient. Every read,
change and refusal is audited. Each change asks for the patient's tablet state to be published
again, in its own transaction (the tablet outbox; docs/operator.md).
"""

from __future__ import annotations

import uuid
from typing import Any

from fastapi import APIRouter
from sqlalchemy import select
from sqlalchemy.orm import Session

from triage.api.errors import ConflictError, NotFoundError
from triage.api.people import CallerDep
from triage.api.schemas_contact import CallRequestRead, MessageCreate, MessageRead
from triage.domain.access import Permission
from triage.storage.models import CallRequestRow, PatientMessageRow, UserRow
from triage.storage.repositories import request_tablet_publish

router = APIRouter(tags=["patients"])

_ERRORS: dict[int | str, dict[str, Any]] = {
    401: {"description": "Not logged in."},
    403: {"description": "Not allowed for this patient (audited)."},
    404: {"description": "No such patient (audited)."},
}


@router.post(
    "/patients/{patient_id}/messages",
    response_model=MessageRead,
    status_code=201,
    responses=_ERRORS,
)
def send_message(patient_id: str, body: MessageCreate, caller: CallerDep) -> MessageRead:
    """Send the patient a short text (at most 500 characters), shown on the tablet until read;
    the tablet sends a read receipt back. For a nurse of the patient's centre; audited."""
    message_id = f"msg-{uuid.uuid4().hex}"
    with caller.sessions.begin() as session:
        caller.patient(
            session,
            patient_id,
            Permission.HANDLE,
            "send",
            object_type="message",
            object_id=message_id,
            details={"chars": len(body.text)},
        )
        session.add(
            PatientMessageRow(
                id=message_id,
                patient_id=patient_id,
                sent_by=caller.user_id,
                sent_at=caller.now,
                text=body.text,
            )
        )
        request_tablet_publish(session, patient_id, "message_sent", caller.now)
        session.flush()
        return _messages(session, patient_id, message_id)[0]


@router.get("/patients/{patient_id}/messages", response_model=list[MessageRead], responses=_ERRORS)
def list_messages(patient_id: str, caller: CallerDep) -> list[MessageRead]:
    """The messages sent to the patient, newest first, with when each was read. Audited."""
    with caller.sessions.begin() as session:
        caller.patient(session, patient_id, Permission.READ, "list", object_type="messages")
        return _messages(session, patient_id)


@router.post(
    "/patients/{patient_id}/call-requests/{call_id}/done",
    response_model=CallRequestRead,
    responses={**_ERRORS, 409: {"description": "Already marked done."}},
)
def call_done(patient_id: str, call_id: str, caller: CallerDep) -> CallRequestRead:
    """Mark the patient's "ring meg" call request done (the nurse called). For a nurse of the
    patient's centre; audited; the tablet then shows when it was handled and by whom."""
    with caller.sessions.begin() as session:
        caller.patient(
            session,
            patient_id,
            Permission.HANDLE,
            "done",
            object_type="call_request",
            object_id=call_id,
        )
        row = session.get(CallRequestRow, call_id)
        if row is None or row.patient_id != patient_id:
            raise NotFoundError(f"no call request {call_id} for this patient")
        if row.handled_at is not None:
            raise ConflictError("this call request is already marked done")
        row.handled_at = caller.now
        row.handled_by = caller.user_id
        request_tablet_publish(session, patient_id, "call_handled", caller.now)
        session.flush()
        return call_request_reads(session, [row])[0]


def _messages(session: Session, patient_id: str, only: str | None = None) -> list[MessageRead]:
    query = (
        select(PatientMessageRow, UserRow.display_name)
        .join(UserRow, UserRow.id == PatientMessageRow.sent_by)
        .where(PatientMessageRow.patient_id == patient_id)
        .order_by(PatientMessageRow.sent_at.desc(), PatientMessageRow.id.desc())
    )
    if only is not None:
        query = query.where(PatientMessageRow.id == only)
    return [
        MessageRead(
            id=row.id,
            patient_id=row.patient_id,
            text=row.text,
            sent_at=row.sent_at,
            sent_by=row.sent_by,
            sent_by_name=name,
            read_at=row.read_at,
        )
        for row, name in session.execute(query)
    ]


def call_request_reads(session: Session, rows: list[CallRequestRow]) -> list[CallRequestRead]:
    """The API view of call request rows (with the handling nurse's name)."""
    ids = {r.handled_by for r in rows if r.handled_by}
    names: dict[str, str] = (
        dict(
            session.execute(
                select(UserRow.id, UserRow.display_name).where(UserRow.id.in_(ids))
            ).all()
        )
        if ids
        else {}
    )
    return [
        CallRequestRead(
            id=r.id,
            patient_id=r.patient_id,
            asked_at=r.asked_at,
            handled_at=r.handled_at,
            handled_by=r.handled_by,
            handled_by_name=names.get(r.handled_by) if r.handled_by else None,
        )
        for r in rows
    ]


def open_call_requests(
    session: Session, patient_ids: list[str]
) -> dict[str, list[CallRequestRead]]:
    """The open call requests of ``patient_ids``, oldest first (the worklist's marker)."""
    if not patient_ids:
        return {}
    rows = list(
        session.scalars(
            select(CallRequestRow)
            .where(CallRequestRow.patient_id.in_(patient_ids), CallRequestRow.handled_at.is_(None))
            .order_by(CallRequestRow.asked_at)
        )
    )
    found: dict[str, list[CallRequestRead]] = {}
    for read in call_request_reads(session, rows):
        found.setdefault(read.patient_id, []).append(read)
    return found
