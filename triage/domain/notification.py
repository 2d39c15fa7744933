"""Words shared by the escalation chain, the notification outbox and the GP digest.

A centre's **notification targets** each have a :class:`TargetRole` in the escalation chain
(docs/operator.md, "Escalation messages"): the chain goes on-call nurse → second nurse →
after-hours service (legevakt / home-care nursing) → centre lead, each step after its delay
(:class:`triage.domain.escalation.EscalationPolicy`) when nobody has acknowledged the alert;
outside staffed hours it starts at the after-hours service. ``fallback`` receives a step whose
role has no active target.

What is sent carries no health data and no name (:class:`DetailLevel` ``none``, the default);
``initials_municipality`` adds the patient's initials and municipality, and only on targets the
operator has declared secure.
"""

from __future__ import annotations

from enum import StrEnum


class TargetRole(StrEnum):
    ON_CALL_NURSE = "on_call_nurse"
    SECOND_NURSE = "second_nurse"
    AFTER_HOURS = "after_hours"
    CENTRE_LEAD = "centre_lead"
    FALLBACK = "fallback"


#: The chain's order; outside staffed hours it starts at AFTER_HOURS (nurses are not there).
CHAIN: tuple[TargetRole, ...] = (
    TargetRole.ON_CALL_NURSE,
    TargetRole.SECOND_NURSE,
    TargetRole.AFTER_HOURS,
    TargetRole.CENTRE_LEAD,
)


class NotificationKind(StrEnum):
    ESCALATION = "escalation"
    GP_DIGEST = "gp_digest"
    TEST = "test"  # an admin's test message to one target


class NotificationStatus(StrEnum):
    PENDING = "pending"  # waiting for its first or next attempt
    SENT = "sent"  # the provider accepted it
    DEAD = "dead"  # N attempts failed: a technical alert is open, the centre must act
    CANCELLED = "cancelled"  # not sent: the alert was acknowledged or received before


class DetailLevel(StrEnum):
    NONE = "none"  # no name, no health data: "1 rød varsling venter hos …"
    INITIALS_MUNICIPALITY = "initials_municipality"  # only on targets declared secure


class DigestFrequency(StrEnum):
    NONE = "none"
    DAILY = "daily"
    WEEKLY = "weekly"
