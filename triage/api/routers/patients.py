"""Patients: enrolment (``POST /patients``), the scoped list, one patient, changes of GP, centre,
municipality or assigned nurse, and the enrolment states (activate, pause, resume, discharge).

Enrolment and its changes are the follow-up centre's: a nurse of the patient's centre
(``Permission.ENROL``). Reading is for the centre's nurses, the patient's GP and an admin with
a reason. Every read and change is audited, and so is every refusal.
"""

from __future__ import annotations

from datetime import date
from typing import Annotated, Any
from zoneinfo import ZoneInfo

from fastapi import APIRouter, Query
from sqlalchemy.orm import Session

from triage.api.errors import ApiError, ConflictError, ForbiddenError
from triage.api.pages import (
    CursorQuery,
    InvalidCursorError,
    LimitQuery,
    Page,
    decode_cursor,
    encode_cursor,
)
from triage.api.people import Caller, CallerDep
from triage.api.queries.patients import (
    LIFECYCLE,
    InvalidStateChangeError,
    PatientFilters,
    PatientNames,
    PatientState,
    StateChange,
    enrolled,
    gp_problem,
    national_id_taken,
    next_state,
    nurse_problem,
    patients_page,
    patients_with_names,
    placement_problem,
)
from triage.api.schemas_patients import (
    DischargeRequest,
    EnrolRequest,
    PatientRead,
    PatientUpdate,
    PauseRequest,
)
from triage.domain.access import PatientRef, Permission, decide
from triage.domain.plan import Condition
from triage.domain.programme import DischargeCode
from triage.storage.models import PatientRow
from triage.storage.repositories import new_id

router = APIRouter(tags=["patients"])

_READ_ERRORS: dict[int | str, dict[str, Any]] = {
    401: {"description": "Not logged in."},
    403: {"description": "Not the caller's patient (audited)."},
    404: {"description": "No such patient (audited)."},
}
_CHANGE_ERRORS: dict[int | str, dict[str, Any]] = {
    **_READ_ERRORS,
    409: {"description": "The patient's state does not allow this change."},
    422: {"description": "Invalid fields: the message names them."},
}


# ----------------------------------------------------------------------------- enrolment


@router.post(
    "/patients",
    response_model=PatientRead,
    status_code=201,
    responses={
        401: {"description": "Not logged in."},
        403: {"description": "Not a nurse of that follow-up centre (audited)."},
        409: {"description": "The national identity number is already enrolled."},
        422: {"description": "Invalid fields, or the centre does not serve the municipality."},
    },
)
def enrol(body: EnrolRequest, caller: CallerDep) -> PatientRead:
    """Enrol a patient at a follow-up centre, in the trial period (state `trial`). Only a nurse
    of that centre may; the centre must serve the patient's municipality, the GP must be a GP
    and the assigned nurse a nurse of the centre. Identities are synthetic only."""
    patient_id = new_id()
    ref = PatientRef(patient_id, body.centre_id, body.gp_user_id)
    decision = decide(caller.principal, ref, Permission.ENROL, reason=caller.reason)
    if not decision:
        caller.refuse("enrol", "patient", None, None, decision.why)
        raise ForbiddenError(f"not allowed: {decision.why}")
    with caller.sessions.begin() as session:
        _check_placement(session, body.centre_id, body.municipality_id)
        if body.gp_user_id is not None:
            _unprocessable(gp_problem(session, body.gp_user_id))
        if body.assigned_nurse_id is not None:
            _unprocessable(nurse_problem(session, body.assigned_nurse_id, body.centre_id))
        if body.national_id is not None and national_id_taken(session, body.national_id):
            raise ConflictError("a patient with this national identity number is enrolled")
        patient = enrolled(
            patient_id=patient_id,
            display_name=body.display_name,
            national_id=body.national_id,
            condition=body.condition.value if body.condition else None,
            municipality_id=body.municipality_id,
            centre_id=body.centre_id,
            gp_user_id=body.gp_user_id,
            assigned_nurse_id=body.assigned_nurse_id,
            timezone=body.timezone,
            now=caller.now,
        )
        patient.home_care = body.home_care
        session.add(patient)
        session.flush()
        caller.audit(
            session,
            "enrol",
            "patient",
            patient_id,
            patient_id,
            details={
                "centre": body.centre_id,
                "municipality": body.municipality_id,
                "home_care": body.home_care,
            },
        )
        return _read(session, patient_id)


# ----------------------------------------------------------------------------- reading


@router.get(
    "/patients",
    response_model=Page[PatientRead],
    responses={403: {"description": "An admin without a reason (audited)."}},
)
def list_patients(
    caller: CallerDep,
    centre: Annotated[str | None, Query(description="a follow-up centre's id")] = None,
    municipality: Annotated[str | None, Query(description="a municipality's id")] = None,
    condition: Annotated[Condition | None, Query()] = None,
    nurse: Annotated[str | None, Query(description="the assigned nurse's user id")] = None,
    state: Annotated[PatientState | None, Query()] = None,
    limit: LimitQuery = 50,
    cursor: CursorQuery = None,
) -> Page[PatientRead]:
    """The patients in the caller's scope (a nurse: her centres'; a GP: his own; an admin:
    all, with a reason), by name. Discharged patients are included unless a `state` is
    given. The read is audited."""
    scope = caller.scope("list", "patients")
    filters = PatientFilters(
        centre=centre,
        municipality=municipality,
        condition=condition.value if condition else None,
        nurse=nurse,
        state=state.value if state else None,
    )
    after = _name_position(cursor)
    with caller.sessions.begin() as session:
        found = patients_page(session, caller.scope_filter(scope), filters, after, limit)
        shown = found[:limit]
        caller.audit(
            session,
            "list",
            "patients",
            None,
            None,
            details={
                "count": len(shown),
                "filters": filters.as_details(),
                "patients": [n.patient.id for n in shown],
            },
        )
        last = shown[-1].patient if shown else None
        next_cursor = (
            encode_cursor({"name": last.display_name, "id": last.id})
            if last is not None and len(found) > limit
            else None
        )
        return Page[PatientRead](items=[_patient(n) for n in shown], next_cursor=next_cursor)


@router.get("/patients/{patient_id}", response_model=PatientRead, responses=_READ_ERRORS)
def get_patient(patient_id: str, caller: CallerDep) -> PatientRead:
    """One patient, with the names of their centre, municipality, GP and assigned nurse.
    Audited."""
    with caller.sessions.begin() as session:
        caller.patient(session, patient_id, Permission.READ, "read")
        return _read(session, patient_id)


# ----------------------------------------------------------------------------- changes


@router.patch("/patients/{patient_id}", response_model=PatientRead, responses=_CHANGE_ERRORS)
def update_patient(patient_id: str, body: PatientUpdate, caller: CallerDep) -> PatientRead:
    """Change the patient's GP, follow-up centre, municipality, assigned nurse or home-care flag
    (a field sent as null clears the GP or the nurse). Moving a patient to another centre needs
    a nurse of both centres; the centre must serve the municipality and the assigned nurse work
    there."""
    changes = body.model_dump(exclude_unset=True)
    for required in ("centre_id", "municipality_id", "home_care"):
        if required in changes and changes[required] is None:
            raise ApiError(422, f"{required} cannot be cleared; give the new one")
    with caller.sessions.begin() as session:
        row = caller.patient(
            session, patient_id, Permission.ENROL, "update", details={"set": changes}
        )
        if row.state == PatientState.DISCHARGED:
            raise ConflictError("the patient is discharged: a discharged patient is not changed")
        centre_id = changes.get("centre_id", row.centre_id)
        gp_user_id = changes.get("gp_user_id", row.gp_user_id)
        if centre_id != row.centre_id:
            _may_move_to(caller, row, centre_id, gp_user_id)
        _check_placement(session, centre_id, changes.get("municipality_id", row.municipality_id))
        if changes.get("gp_user_id") is not None:
            _unprocessable(gp_problem(session, changes["gp_user_id"]))
        nurse_id = changes.get("assigned_nurse_id", row.assigned_nurse_id)
        if nurse_id is not None:
            _unprocessable(nurse_problem(session, nurse_id, centre_id))
        for field, value in changes.items():
            setattr(row, field, value)
        session.flush()
        return _read(session, patient_id)


@router.post(
    "/patients/{patient_id}/activate", response_model=PatientRead, responses=_CHANGE_ERRORS
)
def activate(patient_id: str, caller: CallerDep) -> PatientRead:
    """End the trial period: the patient is followed up by their approved plan (`trial` →
    `active`)."""
    return _change_state(caller, patient_id, StateChange.ACTIVATE)


@router.post("/patients/{patient_id}/pause", response_model=PatientRead, responses=_CHANGE_ERRORS)
def pause(patient_id: str, body: PauseRequest, caller: CallerDep) -> PatientRead:
    """Pause follow-up (a hospital stay, a holiday): `active` → `paused`, with a reason and,
    optionally, the first day of follow-up again (`until`, in the patient's own calendar). No
    missing-measurement or lost-contact alerts are raised while paused."""
    return _change_state(
        caller, patient_id, StateChange.PAUSE, reason=body.reason, until=body.until
    )


@router.post("/patients/{patient_id}/resume", response_model=PatientRead, responses=_CHANGE_ERRORS)
def resume(patient_id: str, caller: CallerDep) -> PatientRead:
    """Resume follow-up of a paused patient (`paused` → `active`)."""
    return _change_state(caller, patient_id, StateChange.RESUME)


@router.post(
    "/patients/{patient_id}/discharge", response_model=PatientRead, responses=_CHANGE_ERRORS
)
def discharge(patient_id: str, body: DischargeRequest, caller: CallerDep) -> PatientRead:
    """End follow-up for good, with a coded reason (`code`) and the nurse's words (`reason`)
    (`trial`, `active` or `paused` → `discharged`).
    The patient's gateways' readings are refused from then on."""
    return _change_state(
        caller, patient_id, StateChange.DISCHARGE, reason=body.reason, code=body.code
    )


# ----------------------------------------------------------------------------- helpers


def _change_state(
    caller: Caller,
    patient_id: str,
    change: StateChange,
    *,
    reason: str | None = None,
    until: date | None = None,
    code: DischargeCode | None = None,
) -> PatientRead:
    with caller.sessions.begin() as session:
        row = caller.patient(
            session,
            patient_id,
            Permission.ENROL,
            change.value,
            details={
                "to": LIFECYCLE[change][1].value,
                **({"reason": reason} if reason else {}),
                **({"until": until.isoformat()} if until else {}),
                **({"code": code.value} if code else {}),
            },
        )
        try:
            target = next_state(row.state, change)
        except InvalidStateChangeError as err:
            raise ConflictError(str(err)) from err
        if until is not None and until <= caller.now.astimezone(ZoneInfo(row.timezone)).date():
            raise ApiError(422, "until must be a later day than today in the patient's time zone")
        row.state = target.value
        row.state_reason = reason
        row.paused_until = until
        if code is not None:
            row.discharge_code = code.value
        row.state_changed_at = caller.now
        session.flush()
        return _read(session, patient_id)


def _may_move_to(caller: Caller, row: PatientRow, centre_id: str, gp_user_id: str | None) -> None:
    """403 (audited) unless the caller may also enrol patients at ``centre_id``."""
    ref = PatientRef(row.id, centre_id, gp_user_id)
    decision = decide(caller.principal, ref, Permission.ENROL, reason=caller.reason)
    if not decision:
        why = f"moving the patient to centre {centre_id}: {decision.why}"
        caller.refuse("update", "patient", row.id, row.id, why)
        raise ForbiddenError(f"not allowed: {why}")


def _check_placement(session: Session, centre_id: str, municipality_id: str) -> None:
    _unprocessable(placement_problem(session, centre_id, municipality_id))


def _unprocessable(problem: str | None) -> None:
    if problem is not None:
        raise ApiError(422, problem)


def _name_position(cursor: str | None) -> tuple[str, str] | None:
    position = decode_cursor(cursor)
    if position is None:
        return None
    name, patient_id = position.get("name"), position.get("id")
    if not isinstance(name, str) or not isinstance(patient_id, str):
        raise InvalidCursorError
    return name, patient_id


def _read(session: Session, patient_id: str) -> PatientRead:
    return _patient(patients_with_names(session, [patient_id])[patient_id])


def _patient(names: PatientNames) -> PatientRead:
    row = names.patient
    return PatientRead(
        id=row.id,
        display_name=row.display_name,
        national_id=row.national_id,
        condition=Condition(row.condition) if row.condition else None,
        municipality_id=row.municipality_id,
        municipality_name=names.municipality_name,
        centre_id=row.centre_id,
        centre_name=names.centre_name,
        gp_user_id=row.gp_user_id,
        gp_name=names.gp_name,
        assigned_nurse_id=row.assigned_nurse_id,
        assigned_nurse_name=names.nurse_name,
        timezone=row.timezone,
        state=row.state,
        state_reason=row.state_reason,
        paused_until=row.paused_until,
        enrolled_at=row.enrolled_at,
        state_changed_at=row.state_changed_at,
        discharge_code=DischargeCode(row.discharge_code) if row.discharge_code else None,
        home_care=row.home_care,
    )
