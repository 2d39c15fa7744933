"""Plans (*egenbehandlingsplaner*): a patient's versions, drafts from a condition template or
from edits, approval, the proposal from the trial period, what changed between versions, and a
version replayed against the patient's recent readings.

A version is never edited: every change is a new draft with the next version number, validated
as a ``dho.plan/1`` document. Approving a draft makes it the version ingest classifies with (the
highest approved version) and retires the one it replaces. Who may do what is
:mod:`triage.domain.access`: nurses of the patient's centre and the patient's GP read and edit;
the GP approves (or a nurse too where ``DHO_PLAN_APPROVERS=gp_or_nurse``); every read and change
is audited.
"""

from __future__ import annotations

from collections.abc import Mapping
from datetime import timedelta
from typing import Annotated, Any, Literal

from fastapi import APIRouter, Path, Query, status
from fastapi.exceptions import RequestValidationError
from pydantic import ValidationError
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from triage.api.errors import ApiError, ConflictError, NotFoundError
from triage.api.input_checks import INT32_MAX
from triage.api.pages import (
    DEFAULT_LIMIT,
    CursorQuery,
    LimitQuery,
    Page,
    cursor_offset,
    offset_page,
)
from triage.api.people import Caller, CallerDep
from triage.api.queries import plans as queries
from triage.api.queries.people import People, people
from triage.api.schemas_plans import (
    NewPlanRequest,
    NewVersionRequest,
    PlanDiffRead,
    PlanDraftToApprove,
    PlanProposalRead,
    PlanReplayRead,
    PlanVersionRead,
    PlanVersionSummary,
    ReplayChangeRead,
)
from triage.domain.access import Permission, Role
from triage.domain.classify import history_window
from triage.domain.plan import (
    PLAN_SCHEMA,
    Condition,
    PlanError,
    PlanStatus,
    PlanVersion,
    approve,
    retire,
)
from triage.domain.plan_diff import diff
from triage.domain.plan_proposal import propose, trial_window
from triage.domain.replay import replay
from triage.domain.schedule import schedule_problems
from triage.domain.templates import template
from triage.ingest.history_cache import HISTORY_PER_PATIENT
from triage.storage.models import PlanRow, PlanVersionRow
from triage.storage.repositories import request_tablet_publish

router = APIRouter(tags=["plans"])

PatientId = Annotated[str, Path(description="the patient's id")]
PlanId = Annotated[str, Path(description="the plan's id")]
Version = Annotated[int, Path(ge=1, le=INT32_MAX, description="the version number")]

#: The most readings (and reports) one replay classifies: ~20 a day for 90 days.
MAX_REPLAY_READINGS = 2000


# ----------------------------------------------------------------------------- drafts to approve


@router.get(
    "/plans/drafts",
    response_model=Page[PlanDraftToApprove],
    summary="The plan drafts you may approve, longest waiting first",
    responses={
        401: {"description": "Not logged in."},
        403: {"description": "The caller approves no plans at this site (audited)."},
    },
)
def list_drafts_to_approve(
    caller: CallerDep,
    limit: LimitQuery = DEFAULT_LIMIT,
    cursor: CursorQuery = None,
) -> Page[PlanDraftToApprove]:
    """Every draft the caller may approve, across their patients, with the patient's id and
    name: a GP's own patients'; a nurse's centres' where the site lets nurses approve
    (`DHO_PLAN_APPROVERS=gp_or_nurse`; otherwise, and for an admin, 403). Only drafts newer
    than their plan's approved version (older ones can no longer be approved), and none of
    discharged patients; each with its `changes` against the approved version it would
    replace (`in_use_version`). One audit row for the whole list."""
    offset = cursor_offset(cursor)
    scope = caller.approval_scope("list", "plan_drafts")
    with caller.sessions.begin() as session:
        found = queries.drafts_to_approve(session, caller.scope_filter(scope), offset, limit)
        shown = found[:limit]
        caller.audit(
            session,
            "list",
            "plan_drafts",
            None,
            None,
            details={
                "count": len(shown),
                "patients": sorted({patient_id for _, patient_id, _ in shown}),
                "versions": [f"{row.plan_id}/v{row.version}" for row, _, _ in shown],
            },
        )
        people_found = people(session, usernames=[row.created_by for row, _, _ in found])
        in_use = _in_use_plans(session, {row.plan_id for row, _, _ in found})
        items = [
            _draft(row, patient_id, name, people_found, in_use.get(row.plan_id))
            for row, patient_id, name in found
        ]
        return offset_page(items, offset, limit)


# ----------------------------------------------------------------------------- a patient's plans


@router.get(
    "/patients/{patient_id}/plans",
    response_model=Page[PlanVersionSummary],
    summary="A patient's plan versions, newest first",
    responses={403: {}, 404: {}},
)
def list_plan_versions(
    patient_id: PatientId,
    caller: CallerDep,
    limit: LimitQuery = DEFAULT_LIMIT,
    cursor: CursorQuery = None,
) -> Page[PlanVersionSummary]:
    """Every version of the patient's plan — draft, approved (the one in use) and retired —
    with who saved and approved it and why. Anyone who may read the patient."""
    offset = cursor_offset(cursor)
    with caller.sessions.begin() as session:
        caller.patient(session, patient_id, Permission.READ, "read_plans", object_type="plan")
        rows = queries.patient_versions(session, patient_id, offset, limit)
        people_found = people(
            session, usernames=[n for row in rows for n in (row.created_by, row.approved_by)]
        )
        return offset_page([_summary(row, people_found) for row in rows], offset, limit)


@router.post(
    "/patients/{patient_id}/plans",
    response_model=PlanVersionRead,
    status_code=status.HTTP_201_CREATED,
    summary="A draft from a condition template",
    responses={403: {}, 404: {}, 409: {}},
)
def create_from_template(
    patient_id: PatientId, body: NewPlanRequest, caller: CallerDep
) -> PlanVersionRead:
    """The condition's template as a new draft version of the patient's plan (the plan is
    created if the patient has none). The draft is used only once approved. The patient's
    nurses and GP."""
    with caller.sessions.begin() as session:
        patient = caller.patient(
            session,
            patient_id,
            Permission.EDIT_PLAN,
            "create_plan_version",
            object_type="plan",
            details={"condition": body.condition.value},
        )
        plan = queries.patient_plan(session, patient.id)
        if plan is None:
            plan = PlanRow(
                id=f"plan-{patient.id}",
                patient_id=patient.id,
                condition=body.condition.value,
                created_at=caller.now,
            )
            session.add(plan)
            session.flush()
        version = queries.next_version(session, plan.id)
        draft = template(body.condition).model_copy(update={"plan_id": plan.id, "version": version})
        note = body.note or "Ny plan fra mal"  # the note is read on bokmål pages; no codes
        row = _save_draft(session, caller, draft, note)
        return _read(session, row)


@router.get(
    "/patients/{patient_id}/plans/proposal",
    response_model=PlanProposalRead,
    summary="Thresholds proposed from the trial period",
    responses={403: {}, 404: {}, 409: {}},
)
def trial_proposal(patient_id: PatientId, caller: CallerDep) -> PlanProposalRead:
    """Per parameter of the condition template: the patient's baseline (median), spread (IQR)
    and number of readings in the trial period (the first 14 days after enrolment), and a
    proposed yellow bound that is never looser than the template's; red bounds stay the
    template's. Fewer than 7 readings: `not_enough_data`. The rule is in `rule` and
    `triage.domain.plan_proposal`. Nothing is saved: send `zones` as the `changes` of a new
    version to make a draft of it."""
    with caller.sessions.begin() as session:
        patient = caller.patient(
            session, patient_id, Permission.READ, "read_plan_proposal", object_type="plan"
        )
        condition = patient.condition
        if condition is None:
            plan = queries.patient_plan(session, patient.id)
            condition = plan.condition if plan is not None else None
        if condition is None:
            raise ConflictError(
                "the patient has no condition, so there is no template to propose from: "
                "set the patient's condition first"
            )
        since, until = trial_window(patient.enrolled_at, caller.now)
        readings = queries.trial_readings(session, patient.id, since, until)
        proposal = propose(template(condition), readings, since=since, until=until)
        return PlanProposalRead(
            **proposal.model_dump(), patient_id=patient.id, condition=Condition(condition)
        )


# ----------------------------------------------------------------------------- versions


@router.get(
    "/plans/{plan_id}/versions/{version}",
    response_model=PlanVersionRead,
    summary="One plan version with its document",
    responses={403: {}, 404: {}},
)
def read_version(plan_id: PlanId, version: Version, caller: CallerDep) -> PlanVersionRead:
    """The version's `dho.plan/1` document and its history fields. Anyone who may read the
    plan's patient."""
    with caller.sessions.begin() as session:
        plan = _plan(session, caller, plan_id, "read_plan_version")
        caller.patient(
            session,
            plan.patient_id,
            Permission.READ,
            "read_plan_version",
            object_type="plan_version",
            object_id=f"{plan_id}/v{version}",
        )
        return _read(session, _version(session, plan_id, version))


@router.post(
    "/plans/{plan_id}/versions",
    response_model=PlanVersionRead,
    status_code=status.HTTP_201_CREATED,
    summary="A new draft version",
    responses={403: {}, 404: {}, 409: {}, 422: {"description": "not a valid plan"}},
)
def create_version(plan_id: PlanId, body: NewVersionRequest, caller: CallerDep) -> PlanVersionRead:
    """A new draft with the next version number, from a whole `document` or from `changes`
    (a JSON merge patch on `base_version`, by default the highest version). The result must be
    a valid `dho.plan/1` plan; if not, 422 names the field (`body.document.…` or
    `body.changes.…`). No version is ever edited in place. The patient's nurses and GP."""
    if (body.document is None) == (body.changes is None):
        raise ApiError(422, "send either `document` (a whole plan) or `changes` (a merge patch)")
    with caller.sessions.begin() as session:
        plan = _plan(session, caller, plan_id, "create_plan_version", lock=True)
        caller.patient(
            session,
            plan.patient_id,
            Permission.EDIT_PLAN,
            "create_plan_version",
            object_type="plan",
            object_id=plan_id,
        )
        if body.changes is not None:
            base = (
                _version(session, plan_id, body.base_version)
                if body.base_version is not None
                else queries.latest_version(session, plan_id)
            )
            if base is None:
                raise ConflictError("the plan has no version to change: send a whole `document`")
            data = merge_patch(base.document, body.changes)
            where = "changes"
        else:
            data = dict(body.document or {})
            where = "document"
        data.update(
            schema=PLAN_SCHEMA,
            plan_id=plan_id,
            version=queries.next_version(session, plan_id),
            status=PlanStatus.DRAFT.value,
            approval=None,
            retired_at=None,
        )
        data.pop("schema_id", None)
        draft = _validated(data, where)
        return _read(session, _save_draft(session, caller, draft, body.note))


@router.post(
    "/plans/{plan_id}/versions/{version}/approve",
    response_model=PlanVersionRead,
    summary="Approve a draft: it becomes the plan in use",
    responses={403: {}, 404: {}, 409: {"description": "not a draft, or older than the one in use"}},
)
def approve_version(plan_id: PlanId, version: Version, caller: CallerDep) -> PlanVersionRead:
    """The draft becomes the approved version that every new reading is classified with; the
    version it replaces is retired (status `retired`, `retired_at`). Only a draft can be
    approved (else 409), and not one older than the approved version. Recorded with who
    approved it, and audited. The patient's GP — or a nurse of the patient's centre where the
    site allows it (`DHO_PLAN_APPROVERS=gp_or_nurse`)."""
    with caller.sessions.begin() as session:
        plan = _plan(session, caller, plan_id, "approve_plan", lock=True)
        caller.patient(
            session,
            plan.patient_id,
            Permission.APPROVE_PLAN,
            "approve_plan",
            object_type="plan_version",
            object_id=f"{plan_id}/v{version}",
        )
        row = _version(session, plan_id, version)
        current = queries.approved_versions(session, plan_id)
        newer = [r.version for r in current if r.version > version]
        if row.status == PlanStatus.DRAFT.value and newer:
            raise ConflictError(
                f"plan v{version} is older than the approved v{max(newer)}: make a new draft "
                "from it instead"
            )
        role: Literal["gp", "nurse"] = "gp" if caller.principal.role is Role.GP else "nurse"
        try:
            approved = approve(
                PlanVersion.model_validate(row.document),
                by=caller.principal.username,
                role=role,
                at=caller.now,
            )
        except PlanError as err:
            raise ConflictError(f"{err}; make a new draft to change it") from err
        for old in current:
            retired = retire(PlanVersion.model_validate(old.document), at=caller.now)
            old.status = PlanStatus.RETIRED.value
            old.retired_at = caller.now
            old.document = retired.model_dump(mode="json", by_alias=True)
        row.status = PlanStatus.APPROVED.value
        row.document = approved.model_dump(mode="json", by_alias=True)
        row.approved_by = caller.principal.username
        row.approved_at = caller.now
        if approved.condition is not None:
            plan.condition = approved.condition.value
        request_tablet_publish(session, plan.patient_id, "plan_approved", caller.now)
        for old in current:
            caller.audit(
                session,
                "retire_plan",
                "plan_version",
                f"{plan_id}/v{old.version}",
                plan.patient_id,
                details={"replaced_by": version},
            )
        session.flush()
        return _read(session, row)


@router.get(
    "/plans/{plan_id}/versions/{version}/replay",
    response_model=PlanReplayRead,
    summary="Replay a version against the last days' readings",
    responses={403: {}, 404: {}},
)
def replay_version(
    plan_id: PlanId,
    version: Version,
    caller: CallerDep,
    days: Annotated[int, Query(ge=1, le=90, description="how many days back from now")] = 30,
    limit: Annotated[
        int, Query(ge=1, le=500, description="the most changed readings to list")
    ] = 100,
) -> PlanReplayRead:
    """Which of the patient's readings of the last `days` days (1–90) would have been red,
    yellow or green under this version — typically a draft before it is approved. Each reading
    is classified again with the same code ingest uses, in the order ingest uses, with the
    history as it was before the window; questionnaire reports are replayed alongside for the
    rules that combine them. Returns the counts per zone under this version and as stored (under
    the version in force when each reading arrived), and the readings whose zone differs with
    the reasons before and after. Nothing is saved. Anyone who may read the plan's patient."""
    with caller.sessions.begin() as session:
        plan = _plan(session, caller, plan_id, "replay_plan_version")
        caller.patient(
            session,
            plan.patient_id,
            Permission.READ,
            "replay_plan_version",
            object_type="plan_version",
            object_id=f"{plan_id}/v{version}",
            details={"days": days},
        )
        row = _version(session, plan_id, version)
        document = PlanVersion.model_validate(row.document)
        now = caller.now
        since = now - timedelta(days=days)
        stored = queries.replay_readings(session, plan.patient_id, since, MAX_REPLAY_READINGS)
        truncated = len(stored) > MAX_REPLAY_READINGS
        stored = stored[:MAX_REPLAY_READINGS]
        if truncated:
            since = stored[-1].reading.measured_at
        reports = queries.replay_reports(session, plan.patient_id, since, MAX_REPLAY_READINGS)
        before = queries.history_before(
            session, plan.patient_id, since - history_window(document), since, HISTORY_PER_PATIENT
        )
        result = replay(document, stored, reports=reports, before=before, now=now)
        newest_first = result.changes[::-1]
        return PlanReplayRead(
            plan_id=plan_id,
            version=version,
            status=PlanStatus(row.status),
            patient_id=plan.patient_id,
            days=days,
            since=since,
            until=now,
            readings=result.readings,
            truncated=truncated,
            under_version=result.under_version,
            as_stored=result.as_stored,
            stored_plan_versions=result.stored_plan_versions,
            changed=len(result.changes),
            changes=tuple(ReplayChangeRead.model_validate(c) for c in newest_first[:limit]),
            changes_truncated=len(result.changes) > limit,
        )


@router.get(
    "/plans/{plan_id}/diff",
    response_model=PlanDiffRead,
    summary="What changed between two versions",
    responses={403: {}, 404: {}},
)
def diff_versions(
    plan_id: PlanId,
    caller: CallerDep,
    from_version: Annotated[
        int, Query(alias="from", ge=1, le=INT32_MAX, description="the older version")
    ],
    to_version: Annotated[
        int, Query(alias="to", ge=1, le=INT32_MAX, description="the newer version")
    ],
) -> PlanDiffRead:
    """Each change from version `from` to version `to` — bounds per parameter (and whether
    each is tighter or looser), rules added, removed or changed, schedule, goal, actions and
    settings — with text in bokmål and English. Anyone who may read the plan's patient."""
    with caller.sessions.begin() as session:
        plan = _plan(session, caller, plan_id, "diff_plan_versions")
        caller.patient(
            session,
            plan.patient_id,
            Permission.READ,
            "diff_plan_versions",
            object_type="plan",
            object_id=plan_id,
            details={"from": from_version, "to": to_version},
        )
        before = PlanVersion.model_validate(_version(session, plan_id, from_version).document)
        after = PlanVersion.model_validate(_version(session, plan_id, to_version).document)
        return PlanDiffRead.model_validate(diff(before, after).model_dump())


# ----------------------------------------------------------------------------- helpers


def merge_patch(target: Any, patch: Any) -> Any:
    """``patch`` applied to ``target`` as a JSON merge patch (RFC 7396); ``target`` untouched."""
    if not isinstance(patch, Mapping):
        return patch
    result = dict(target) if isinstance(target, Mapping) else {}
    for key, value in patch.items():
        if value is None:
            result.pop(key, None)
        else:
            result[key] = merge_patch(result.get(key), value)
    return result


def _validated(data: dict[str, Any], where: str) -> PlanVersion:
    """The plan, or a 422 naming each field that is wrong (``body.<where>.<path>``): the
    document's own checks, and the schedule's (no measurement twice at the same time)."""
    try:
        plan = PlanVersion.model_validate(data)
    except ValidationError as err:
        raise RequestValidationError(
            [
                {"loc": ("body", where, *e["loc"]), "msg": e["msg"], "type": e["type"]}
                for e in err.errors(include_url=False)
            ]
        ) from err
    problems = schedule_problems(plan.schedule)
    if problems:
        raise RequestValidationError(
            [
                {"loc": ("body", where, "schedule", *loc), "msg": msg, "type": "value_error"}
                for loc, msg in problems
            ]
        )
    return plan


def _plan(
    session: Session, caller: Caller, plan_id: str, action: str, *, lock: bool = False
) -> PlanRow:
    plan = queries.plan_locked(session, plan_id) if lock else session.get(PlanRow, plan_id)
    if plan is None:
        caller.refuse(action, "plan", plan_id, None, "no such plan")
        raise NotFoundError(f"no plan {plan_id}")
    return plan


def _version(session: Session, plan_id: str, version: int) -> PlanVersionRow:
    row = queries.version_row(session, plan_id, version)
    if row is None:
        raise NotFoundError(f"plan {plan_id} has no version {version}")
    return row


def _save_draft(session: Session, caller: Caller, draft: PlanVersion, note: str) -> PlanVersionRow:
    row = PlanVersionRow(
        plan_id=draft.plan_id,
        version=draft.version,
        status=PlanStatus.DRAFT.value,
        document=draft.model_dump(mode="json", by_alias=True),
        created_at=caller.now,
        created_by=caller.principal.username,
        note=note,
    )
    session.add(row)
    try:
        session.flush()
    except IntegrityError as err:
        raise ConflictError(
            f"another version {draft.version} was saved at the same time: reload and try again"
        ) from err
    return row


def _in_use_plans(session: Session, plan_ids: set[str]) -> dict[str, tuple[int, PlanVersion]]:
    """Each plan's version in use, parsed once however many of its drafts are listed."""
    return {
        plan_id: (row.version, PlanVersion.model_validate(row.document))
        for plan_id, row in queries.in_use_versions(session, plan_ids).items()
    }


def _draft(
    row: PlanVersionRow,
    patient_id: str,
    patient_name: str,
    found: People,
    in_use: tuple[int, PlanVersion] | None,
) -> PlanDraftToApprove:
    """The draft with what it changes against the plan's version in use (if any)."""
    condition = row.document.get("condition")
    changes = None if in_use is None else diff(in_use[1], PlanVersion.model_validate(row.document))
    return PlanDraftToApprove(
        patient_id=patient_id,
        patient_name=patient_name,
        plan_id=row.plan_id,
        version=row.version,
        condition=Condition(condition) if condition else None,
        created_at=row.created_at,
        created_by=row.created_by,
        created_by_person=found.named(row.created_by),
        note=row.note,
        in_use_version=None if in_use is None else in_use[0],
        changes=changes,
    )


def _summary(row: PlanVersionRow, found: People) -> PlanVersionSummary:
    return PlanVersionSummary(**_summary_fields(row, found))


def _read(session: Session, row: PlanVersionRow) -> PlanVersionRead:
    found = people(session, usernames=[row.created_by, row.approved_by])
    return PlanVersionRead(**_summary_fields(row, found), document=row.document)


def _summary_fields(row: PlanVersionRow, found: People) -> dict[str, Any]:
    condition = row.document.get("condition")
    return {
        "plan_id": row.plan_id,
        "version": row.version,
        "status": PlanStatus(row.status),
        "condition": Condition(condition) if condition else None,
        "created_at": row.created_at,
        "created_by": row.created_by,
        "created_by_person": found.named(row.created_by),
        "approved_at": row.approved_at,
        "approved_by": row.approved_by,
        "approved_by_person": found.named(row.approved_by),
        "retired_at": row.retired_at,
        "note": row.note,
    }
