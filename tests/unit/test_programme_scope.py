"""Who sees the programme's figures (:func:`~triage.domain.access.programme_scope`) and that a
centre lead, who sees them, never reads a patient's record (:func:`decide`, :func:`list_scope`)."""

from __future__ import annotations

import pytest

from triage.domain.access import (
    OPERATIONAL_SECTIONS,
    PatientRef,
    Permission,
    PlanApprovers,
    Principal,
    ProgrammeSection,
    Role,
    approval_scope,
    decide,
    list_scope,
    programme_scope,
)

LEAD = Principal("u-l", "leder-a", "Leder A", Role.LEAD, frozenset({"c-a"}))
NURSE = Principal("u-n", "nurse-a", "Sykepleier A", Role.NURSE, frozenset({"c-a"}))
GP = Principal("u-gp", "gp-1", "Fastlege En", Role.GP)
ADMIN = Principal("u-adm", "admin", "Administrator", Role.ADMIN)
OWN_PATIENT = PatientRef("p-1", "c-a", "u-gp")


def test_a_lead_sees_every_section_of_her_own_centres_only() -> None:
    scope = programme_scope(LEAD)
    assert scope.refused is None
    assert scope.sections == frozenset(ProgrammeSection)
    assert (scope.all_centres, scope.centre_ids) == (False, frozenset({"c-a"}))


def test_a_nurse_sees_the_operational_sections_of_her_centres() -> None:
    scope = programme_scope(NURSE)
    assert scope.sections == OPERATIONAL_SECTIONS
    assert scope.allows(ProgrammeSection.ALERT_HANDLING)
    assert not scope.allows(ProgrammeSection.BENEFIT)
    assert not scope.allows(ProgrammeSection.REACH)
    assert scope.centre_ids == frozenset({"c-a"})


def test_the_admin_sees_every_centre_and_a_gp_nothing() -> None:
    assert programme_scope(ADMIN).all_centres
    assert programme_scope(ADMIN).sections == frozenset(ProgrammeSection)
    refused = programme_scope(GP)
    assert refused.refused is not None
    assert "follow-up centre" in refused.refused
    assert not refused.allows(ProgrammeSection.REACH)


@pytest.mark.parametrize("permission", list(Permission))
def test_a_lead_never_reads_or_changes_a_patients_record(permission: Permission) -> None:
    """Even a patient of her own centre: the lead's work is the figures."""
    decision = decide(LEAD, OWN_PATIENT, permission, reason="kvalitetsarbeid i tjenesten")
    assert not decision.allowed
    assert "figures" in decision.why


def test_a_lead_is_given_no_patient_list_and_no_drafts_to_approve() -> None:
    assert list_scope(LEAD, reason="kvalitetsarbeid i tjenesten").refused is not None
    for approvers in PlanApprovers:
        assert approval_scope(LEAD, plan_approvers=approvers).refused is not None
