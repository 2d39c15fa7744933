"""Escalation of unacknowledged red alerts: to the on-call nurse, or to the after-hours service.

DHO is a weekday daytime service (docs/clinical/service-hours.md). A red alert that nobody has
acknowledged must not wait silently:

* **inside staffed hours** it goes to the on-call nurse once it has been open and
  unacknowledged for ``on_call_after`` (30 minutes by default, configurable; [PROJECT]);
  ``due_since`` is ``colour_since + on_call_after``;
* **outside staffed hours** (evenings, weekends, public holidays) it goes at once to the
  after-hours service (legevakt 116 117 or home-care nursing), with the patient's own red-zone
  instruction from the plan; ``due_since`` is ``colour_since`` when the alert turned red while
  the centre was closed, and otherwise the closing time of the staffed period it turned red in.

Only clinical, red, unacknowledged (state OPEN) alerts that were not escalated before are
considered. A patient without a plan still escalates, with an instruction that says plainly
that no plan was found. :func:`due_escalations` decides and applies nothing: the caller records
each decision with :func:`triage.domain.alerts.mark_escalated`.

The clock starts when the alert turned red (``Alert.colour_since``: its opening, or the breach
that raised it from yellow), so a yellow alert that turns red gets the full ``on_call_after``
before it goes to the on-call nurse.

The chain
---------
:func:`next_step` decides the next step of one alert's chain (:data:`CHAIN`: on-call nurse →
second nurse → after-hours service → centre lead), given the steps already recorded:

* **step 0** is :func:`due_escalations`' decision (on-call nurse after ``on_call_after`` inside
  staffed hours; the after-hours service at once outside them);
* **step n+1** is due ``delay(next role)`` after step n was *recorded* (its ``created_at``):
  ``second_nurse_after``, ``after_hours_after``, ``centre_lead_after``;
* while the centre is **closed** at ``now``, nurse roles are skipped, and a chain standing at a
  nurse step goes to the after-hours service at the closing time of the staffed period that step
  was recorded in (at once, when that has passed);
* a role with **no active target** is skipped: the step goes to the next role with one, at the
  same due time; when no later role has a target it goes to the centre's ``fallback`` (recorded
  as ``fallback`` also when there is no fallback target: then nobody is told, and the caller opens
  a technical alert);
* the chain **ends** after the centre lead or a fallback step, and **stops** when the alert is
  no longer open (acknowledged, resolved) or one of its notifications was confirmed received.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from datetime import datetime, timedelta
from enum import StrEnum
from typing import Self

from pydantic import AwareDatetime, BaseModel, ConfigDict, model_validator

from triage.domain.alerts import Alert, AlertCategory, AlertState
from triage.domain.colours import Colour, Text
from triage.domain.notification import CHAIN, DetailLevel, TargetRole
from triage.domain.plan import PlanVersion
from triage.domain.service_hours import ServiceCalendar

#: The instruction used when a patient has no active plan: said plainly, never skipped.
NO_PLAN_INSTRUCTION = Text(
    nb=(
        "Ingen aktiv egenbehandlingsplan funnet for pasienten, så det finnes ingen planlagt "
        "instruks for rød sone. Kontakt pasienten og vurder behovet for hjelp direkte."
    ),
    en=(
        "No active self-management plan was found for this patient, so there is no planned "
        "red-zone instruction. Contact the patient and assess the need for help directly."
    ),
)

DEFAULT_AFTER_HOURS_SERVICE = Text(
    nb="legevakt (116 117) eller hjemmesykepleien",
    en="out-of-hours GP (116 117) or home-care nursing",
)


class EscalationTarget(StrEnum):
    ON_CALL_NURSE = "on_call_nurse"
    AFTER_HOURS = "after_hours"


class EscalationPolicy(BaseModel):
    """How long a red may wait for the on-call nurse, and who takes it after hours."""

    model_config = ConfigDict(frozen=True, extra="forbid")

    on_call_after: timedelta = timedelta(minutes=30)
    after_hours_service: Text = DEFAULT_AFTER_HOURS_SERVICE
    # the chain after the first step, each delay counted from the step before it
    # (triage.domain.notification.CHAIN); nobody acknowledging moves it on
    second_nurse_after: timedelta = timedelta(minutes=15)
    after_hours_after: timedelta = timedelta(minutes=15)
    centre_lead_after: timedelta = timedelta(minutes=30)
    # what a message may say beyond "1 rød varsling venter" (secure targets only)
    detail: DetailLevel = DetailLevel.NONE

    @model_validator(mode="after")
    def _not_negative(self) -> Self:
        for name in (
            "on_call_after",
            "second_nurse_after",
            "after_hours_after",
            "centre_lead_after",
        ):
            if getattr(self, name) < timedelta(0):
                raise ValueError(f"{name} cannot be negative")
        return self


class Escalation(BaseModel):
    """One decision: this alert goes to ``target``, due since ``due_since``, and why."""

    model_config = ConfigDict(frozen=True, extra="forbid")

    alert_id: str
    patient_id: str
    target: EscalationTarget
    due_since: AwareDatetime
    reason: Text
    patient_instruction: Text


def due_escalations(
    alerts: Sequence[Alert],
    plans: Mapping[str, PlanVersion],
    calendar: ServiceCalendar,
    policy: EscalationPolicy,
    now: datetime,
) -> list[Escalation]:
    """The escalations due at ``now``, ordered by ``due_since`` then alert id; applies nothing.

    ``plans`` maps a patient id to the patient's active plan version.
    """
    centre_open = calendar.is_open(now)  # also rejects a naive ``now``
    decisions: list[Escalation] = []
    for alert in alerts:
        if not _candidate(alert):
            continue
        plan = plans.get(alert.patient_id)
        instruction = plan.actions[Colour.RED].patient if plan is not None else NO_PLAN_INSTRUCTION
        if centre_open:
            waited = now - alert.colour_since
            if waited < policy.on_call_after:
                continue
            target = EscalationTarget.ON_CALL_NURSE
            due_since = alert.colour_since + policy.on_call_after
            reason = _on_call_reason(waited)
        else:
            target = EscalationTarget.AFTER_HOURS
            closing = calendar.closes_at(alert.colour_since)
            due_since = alert.colour_since if closing is None else closing
            reason = _after_hours_reason(policy.after_hours_service)
        decisions.append(
            Escalation(
                alert_id=alert.id,
                patient_id=alert.patient_id,
                target=target,
                due_since=due_since,
                reason=reason,
                patient_instruction=instruction,
            )
        )
    decisions.sort(key=lambda e: (e.due_since, e.alert_id))
    return decisions


def _candidate(alert: Alert) -> bool:
    return _red_and_waiting(alert) and not alert.is_escalated


def _red_and_waiting(alert: Alert) -> bool:
    return (
        alert.category is AlertCategory.CLINICAL
        and alert.state is AlertState.OPEN
        and alert.colour is Colour.RED
    )


# ----------------------------------------------------------------------------- the chain

#: The nurses of the centre: not there while it is closed.
NURSE_ROLES = frozenset({TargetRole.ON_CALL_NURSE, TargetRole.SECOND_NURSE})

#: Roles after which the chain ends.
LAST_ROLES = frozenset({TargetRole.CENTRE_LEAD, TargetRole.FALLBACK})

ROLE_NAMES: Mapping[TargetRole, Text] = {
    TargetRole.ON_CALL_NURSE: Text(nb="vakthavende sykepleier", en="on-call nurse"),
    TargetRole.SECOND_NURSE: Text(nb="andre sykepleier", en="second nurse"),
    TargetRole.AFTER_HOURS: Text(nb="legevakt/hjemmesykepleien", en="after-hours service"),
    TargetRole.CENTRE_LEAD: Text(nb="leder for oppfølgingstjenesten", en="centre lead"),
    TargetRole.FALLBACK: Text(nb="reservemottaker", en="fallback receiver"),
}


class RecordedStep(BaseModel):
    """A step already recorded (an EscalationRow): its number, role and when it was written."""

    model_config = ConfigDict(frozen=True, extra="forbid")

    step: int
    role: TargetRole
    created_at: AwareDatetime


class ChainStep(BaseModel):
    """The next step of an alert's chain: step ``step`` goes to ``role``, due since ``due_since``.

    ``skipped`` lists the roles passed over on the way (no active target, or nurses while the
    centre is closed); ``role`` is ``fallback`` when no later role has a target, and
    ``has_receiver`` is False when the fallback has none either (nobody can be told).
    """

    model_config = ConfigDict(frozen=True, extra="forbid")

    alert_id: str
    patient_id: str
    step: int
    role: TargetRole
    due_since: AwareDatetime
    reason: Text
    patient_instruction: Text
    skipped: tuple[TargetRole, ...] = ()
    has_receiver: bool = True


def next_step(
    alert: Alert,
    steps: Sequence[RecordedStep],
    calendar: ServiceCalendar,
    policy: EscalationPolicy,
    roles_with_targets: frozenset[TargetRole] | set[TargetRole],
    now: datetime,
    *,
    plan: PlanVersion | None = None,
    received: bool = False,
) -> ChainStep | None:
    """The step of ``alert``'s chain due at ``now``, or None (not due, stopped or ended).

    ``steps`` are the steps already recorded for the alert (any order); ``roles_with_targets``
    the roles that have at least one active notification target in the alert's centre;
    ``received`` is True when one of the alert's notifications was confirmed received.
    """
    centre_open = calendar.is_open(now)  # also rejects a naive ``now``
    if received or not _red_and_waiting(alert):
        return None
    instruction = plan.actions[Colour.RED].patient if plan is not None else NO_PLAN_INSTRUCTION
    if not steps:
        first = due_escalations(
            [alert.model_copy(update={"escalated_at": None})],
            {alert.patient_id: plan} if plan is not None else {},
            calendar,
            policy,
            now,
        )
        if not first:
            return None
        wanted = TargetRole(first[0].target.value)
        return _resolve(
            alert,
            0,
            CHAIN.index(wanted),
            first[0].due_since,
            first[0].reason,
            instruction,
            roles_with_targets,
            centre_open,
            policy,
        )
    last = max(steps, key=lambda s: s.step)
    if last.role in LAST_ROLES:
        return None
    position = CHAIN.index(last.role) + 1
    due_since = last.created_at + _delay(CHAIN[position], policy)
    if not centre_open and last.role in NURSE_ROLES:
        # the nurses have gone home: the after-hours service takes it from the closing time
        closing = calendar.closes_at(last.created_at)
        due_since = min(due_since, last.created_at if closing is None else closing)
    if now < due_since:
        return None
    return _resolve(
        alert,
        last.step + 1,
        position,
        due_since,
        None,
        instruction,
        roles_with_targets,
        centre_open,
        policy,
    )


def _delay(role: TargetRole, policy: EscalationPolicy) -> timedelta:
    return {
        TargetRole.ON_CALL_NURSE: policy.on_call_after,
        TargetRole.SECOND_NURSE: policy.second_nurse_after,
        TargetRole.AFTER_HOURS: policy.after_hours_after,
        TargetRole.CENTRE_LEAD: policy.centre_lead_after,
    }[role]


def _resolve(
    alert: Alert,
    step: int,
    position: int,
    due_since: datetime,
    reason: Text | None,
    instruction: Text,
    roles_with_targets: frozenset[TargetRole] | set[TargetRole],
    centre_open: bool,
    policy: EscalationPolicy,
) -> ChainStep:
    """The first role from ``CHAIN[position]`` on that can be told, else the fallback."""
    skipped: list[TargetRole] = []
    for role in CHAIN[position:]:
        if (not centre_open and role in NURSE_ROLES) or role not in roles_with_targets:
            skipped.append(role)
            continue
        return ChainStep(
            alert_id=alert.id,
            patient_id=alert.patient_id,
            step=step,
            role=role,
            due_since=due_since,
            reason=reason if reason is not None and not skipped else _step_reason(role, policy),
            patient_instruction=instruction,
            skipped=tuple(skipped),
        )
    has_fallback = TargetRole.FALLBACK in roles_with_targets
    return ChainStep(
        alert_id=alert.id,
        patient_id=alert.patient_id,
        step=step,
        role=TargetRole.FALLBACK,
        due_since=due_since,
        reason=_fallback_reason(has_fallback),
        patient_instruction=instruction,
        skipped=tuple(skipped),
        has_receiver=has_fallback,
    )


def _step_reason(role: TargetRole, policy: EscalationPolicy) -> Text:
    if role is TargetRole.AFTER_HOURS:
        return _after_hours_reason(policy.after_hours_service)
    name = ROLE_NAMES[role]
    return Text(
        nb=f"Rødt varsel fortsatt ikke kvittert – videre til {name.nb}",
        en=f"Red alert still unacknowledged – on to the {name.en}",
    )


def _fallback_reason(has_fallback: bool) -> Text:
    if has_fallback:
        return Text(
            nb="Rødt varsel ikke kvittert, og ingen videre mottaker i kjeden – til reservemottaker",
            en="Red alert unacknowledged and nobody further in the chain – to the fallback",
        )
    return Text(
        nb="Ingen mottaker for varsling er satt opp – rødt varsel er ikke sendt til noen",
        en="No notification receiver is configured – the red alert was not sent to anyone",
    )


def _on_call_reason(waited: timedelta) -> Text:
    minutes = int(waited.total_seconds() // 60)
    return Text(
        nb=f"Rødt varsel ikke kvittert på {minutes} min",
        en=f"Red alert unacknowledged for {minutes} min",
    )


def _after_hours_reason(service: Text) -> Text:
    return Text(
        nb=f"Utenfor åpningstid: rødt varsel ikke kvittert – til {service.nb}",
        en=f"Outside staffed hours: red alert unacknowledged – to {service.en}",
    )
