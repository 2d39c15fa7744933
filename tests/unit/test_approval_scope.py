"""Whose drafts a person is shown for approval agrees with who may approve them
(:func:`~triage.domain.access.approval_scope` against :func:`~triage.domain.access.decide`)."""

from __future__ import annotations

import pytest

from triage.domain.access import (
    PatientRef,
    Permission,
    PlanApprovers,
    Principal,
    Role,
    approval_scope,
    decide,
)

NURSE = Principal("u-n", "nurse-a", "Sykepleier A", Role.NURSE, frozenset({"c-a"}))
GP = Principal("u-gp", "gp-1", "Fastlege En", Role.GP)
ADMIN = Principal("u-adm", "admin", "Administrator", Role.ADMIN)
PATIENTS = [
    PatientRef("p-1", "c-a", "u-gp"),
    PatientRef("p-2", "c-a", "u-other"),
    PatientRef("p-3", "c-b", "u-gp"),
    PatientRef("p-4", "c-b", None),
]


def _in_scope(principal: Principal, patient: PatientRef, approvers: PlanApprovers) -> bool:
    scope = approval_scope(principal, plan_approvers=approvers)
    if scope.refused is not None:
        return False
    if scope.gp_user_id is not None:
        return patient.gp_user_id == scope.gp_user_id
    return scope.all_patients or patient.centre_id in scope.centre_ids


@pytest.mark.parametrize("approvers", list(PlanApprovers))
@pytest.mark.parametrize("principal", [NURSE, GP, ADMIN], ids=["nurse", "gp", "admin"])
def test_the_drafts_listed_are_exactly_those_the_person_may_approve(
    principal: Principal, approvers: PlanApprovers
) -> None:
    for patient in PATIENTS:
        may = decide(principal, patient, Permission.APPROVE_PLAN, plan_approvers=approvers)
        assert _in_scope(principal, patient, approvers) == may.allowed, patient


def test_a_refusal_says_why() -> None:
    """The nurse under 'gp' is told the site's rule (the same words as a refused approval)."""
    refused = approval_scope(NURSE, plan_approvers=PlanApprovers.GP).refused
    assert refused == "plans are approved by the patient's GP at this site"
