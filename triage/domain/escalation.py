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
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from datetime import datetime, timedelta
from enum import StrEnum
from typing import Self

from pydantic import AwareDatetime, BaseModel, ConfigDict, model_validator

from triage.domain.alerts import Alert, AlertCategory, AlertState
from triage.domain.colours import Colour, Text
from triage.domain.notification import DetailLevel
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
    return (
        alert.category is AlertCategory.CLINICAL
        and alert.state is AlertState.OPEN
        and alert.colour is Colour.RED
        and not alert.is_escalated
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
