"""Who may do what with whose data — the one place the access rules live (pure: no I/O).

Roles: a **nurse** works for one or more follow-up centres and sees the patients of those
centres; a **GP** (fastlege) sees only the patients listed with them; an **admin** manages users,
centres and gateways, and reads patient data only with a stated reason (which the audit log
keeps); a **centre lead** (leder) works for one or more centres and sees the programme's figures
for the patients of those centres — counts and shares, never a patient's record. Gateways are
machine clients and never reach these rules (they post for the one
patient their registration names).

The API asks :func:`decide` before every read or change of a patient's data and records the
answer in the audit log, allowed or refused. List endpoints use :func:`list_scope` (or
:func:`approval_scope` for the drafts awaiting approval) so a list never contains a patient that
:func:`decide` would refuse.
"""

from __future__ import annotations

import unicodedata
from dataclasses import dataclass
from enum import StrEnum

#: An admin's reason must say something (e.g. "support case 2026-114: wrong GP shown").
MIN_REASON_LENGTH = 10
#: A reason is a sentence or two kept in every audit row of the request, not a document.
MAX_REASON_LENGTH = 500


class Role(StrEnum):
    NURSE = "nurse"
    GP = "gp"
    ADMIN = "admin"
    LEAD = "lead"  # leder: the programme's figures for their centres, no patient records


class Permission(StrEnum):
    """What a request wants to do with one patient's data."""

    READ = "read"  # worklist, patient, timeline, readings, alerts, plans
    HANDLE = "handle"  # acknowledge, assign, record actions, resolve, acknowledge greens
    ENROL = "enrol"  # enrol, pause, resume, discharge, assign GP/centre
    EDIT_PLAN = "edit_plan"  # create from template, propose, edit a draft
    APPROVE_PLAN = "approve_plan"
    MANAGE_GATEWAY = "manage_gateway"  # register, revoke, rotate a patient's gateway


class PlanApprovers(StrEnum):
    """Who may approve a plan version (a site's configuration)."""

    GP = "gp"
    GP_OR_NURSE = "gp_or_nurse"


@dataclass(frozen=True, slots=True)
class Principal:
    """An authenticated person, as every access decision sees them."""

    user_id: str
    username: str
    display_name: str
    role: Role
    centre_ids: frozenset[str] = frozenset()
    session_id: str | None = None


@dataclass(frozen=True, slots=True)
class PatientRef:
    """What the rules need to know about a patient."""

    id: str
    centre_id: str
    gp_user_id: str | None


@dataclass(frozen=True, slots=True)
class Decision:
    allowed: bool
    why: str  # for the audit log and the refusal's message

    def __bool__(self) -> bool:
        return self.allowed


def decide(
    principal: Principal,
    patient: PatientRef,
    permission: Permission,
    *,
    reason: str | None = None,
    plan_approvers: PlanApprovers = PlanApprovers.GP,
) -> Decision:
    """Whether ``principal`` may do ``permission`` with ``patient``'s data, and why."""
    own_centre = patient.centre_id in principal.centre_ids
    own_gp = patient.gp_user_id is not None and patient.gp_user_id == principal.user_id
    match principal.role:
        case Role.NURSE:
            if not own_centre:
                return Decision(False, "the patient belongs to another follow-up centre")
            if permission is Permission.APPROVE_PLAN and plan_approvers is PlanApprovers.GP:
                return Decision(False, "plans are approved by the patient's GP at this site")
            return Decision(True, "nurse at the patient's follow-up centre")
        case Role.GP:
            if not own_gp:
                return Decision(False, "the patient is not listed with this GP")
            if permission in (Permission.READ, Permission.EDIT_PLAN, Permission.APPROVE_PLAN):
                return Decision(True, "the patient's GP")
            return Decision(False, f"a GP may not {permission.value}; the follow-up centre does")
        case Role.ADMIN:
            if permission is Permission.MANAGE_GATEWAY:
                return Decision(True, "admin manages gateways")
            if permission is not Permission.READ:
                return Decision(False, f"an admin may not {permission.value} patient data")
            if not has_reason(reason):
                return Decision(
                    False,
                    "an admin reads patient data only with a reason "
                    f"(the X-DHO-Reason header, at least {MIN_REASON_LENGTH} characters)",
                )
            return Decision(True, "admin with a recorded reason")
        case Role.LEAD:
            return Decision(
                False, "a centre lead sees the programme's figures, not patients' records"
            )
    return Decision(False, "unknown role")  # pragma: no cover - the match is exhaustive


def has_reason(reason: str | None) -> bool:
    return reason is not None and len(reason.strip()) >= MIN_REASON_LENGTH


def reason_problem(reason: str) -> str | None:
    """Why ``reason`` cannot be kept in the audit log as it is, or None: too long, or holding
    control characters (NUL, line breaks, tabs, C1 controls) that would garble a log line."""
    if len(reason) > MAX_REASON_LENGTH:
        return f"at most {MAX_REASON_LENGTH} characters (this one has {len(reason)})"
    control = next((c for c in reason if unicodedata.category(c) == "Cc"), None)
    if control is not None:
        return f"control characters are not allowed (found U+{ord(control):04X})"
    return None


@dataclass(frozen=True, slots=True)
class ListScope:
    """Which patients a list may contain: all (admin with a reason), the patients of some
    centres (nurse), or a GP's own. ``refused`` holds the reason when none may be listed."""

    all_patients: bool = False
    centre_ids: frozenset[str] = frozenset()
    gp_user_id: str | None = None
    refused: str | None = None


def list_scope(principal: Principal, *, reason: str | None = None) -> ListScope:
    match principal.role:
        case Role.NURSE:
            return ListScope(centre_ids=principal.centre_ids)
        case Role.GP:
            return ListScope(gp_user_id=principal.user_id)
        case Role.ADMIN:
            if has_reason(reason):
                return ListScope(all_patients=True)
            return ListScope(
                refused="an admin lists patient data only with a reason "
                f"(the X-DHO-Reason header, at least {MIN_REASON_LENGTH} characters)"
            )
        case Role.LEAD:
            return ListScope(refused="a centre lead sees the programme's figures, no patient lists")
    return ListScope(refused="unknown role")  # pragma: no cover


def approval_scope(principal: Principal, *, plan_approvers: PlanApprovers) -> ListScope:
    """Whose plan drafts ``principal`` may approve (as :func:`decide` with
    ``Permission.APPROVE_PLAN``): a GP their own patients'; a nurse her centres' where the site
    lets nurses approve; nobody else's."""
    match principal.role:
        case Role.GP:
            return ListScope(gp_user_id=principal.user_id)
        case Role.NURSE:
            if plan_approvers is PlanApprovers.GP_OR_NURSE:
                return ListScope(centre_ids=principal.centre_ids)
            return ListScope(refused="plans are approved by the patient's GP at this site")
        case Role.ADMIN:
            return ListScope(refused="an admin may not approve_plan patient data")
        case Role.LEAD:
            return ListScope(refused="a centre lead does not approve plans")
    return ListScope(refused="unknown role")  # pragma: no cover


class ProgrammeSection(StrEnum):
    """The parts of the programme view (issue 18; docs/programme.md), after RE-AIM."""

    REACH = "reach"  # enrolled, active, paused, discharged; age and sex; discharge reasons
    ADOPTION = "adoption"  # municipalities, GPs with patients and who look, nurses active
    FIDELITY = "fidelity"  # measurement adherence, plan personalisation and review
    ALERT_HANDLING = "alert_handling"  # acknowledged in time, outcome recorded, morning backlog
    BENEFIT = "benefit"  # alerts per patient-week, green days, outcomes, home visits avoided
    WORKLOAD = "workload"  # patients per nurse FTE, alerts per nurse-day, time per alert


#: A nurse sees her centres' operational figures; a lead and the admin see every section.
OPERATIONAL_SECTIONS = frozenset(
    {ProgrammeSection.FIDELITY, ProgrammeSection.ALERT_HANDLING, ProgrammeSection.WORKLOAD}
)


@dataclass(frozen=True, slots=True)
class ProgrammeScope:
    """Whose figures a person may see: every centre's (admin), or some centres' patients
    (lead, nurse), and which sections. ``refused`` holds the reason when none."""

    sections: frozenset[ProgrammeSection] = frozenset()
    all_centres: bool = False
    centre_ids: frozenset[str] = frozenset()
    refused: str | None = None

    def allows(self, section: ProgrammeSection) -> bool:
        return self.refused is None and section in self.sections


def programme_scope(principal: Principal) -> ProgrammeScope:
    """Which programme figures ``principal`` may see. Figures are counts and shares over many
    patients; a figure's own patients are always those of the scope's centres (the tenant
    rule), so a lead of one centre never sees another centre's municipalities."""
    every = frozenset(ProgrammeSection)
    match principal.role:
        case Role.ADMIN:
            return ProgrammeScope(sections=every, all_centres=True)
        case Role.LEAD:
            return ProgrammeScope(sections=every, centre_ids=principal.centre_ids)
        case Role.NURSE:
            return ProgrammeScope(sections=OPERATIONAL_SECTIONS, centre_ids=principal.centre_ids)
        case Role.GP:
            return ProgrammeScope(
                refused="the programme's figures are for the follow-up centre and its lead"
            )
    return ProgrammeScope(refused="unknown role")  # pragma: no cover
