"""Escalation of unacknowledged red alerts: recorded once per alert, never twice.

:func:`escalate_red_alerts` asks the domain (:func:`triage.domain.escalation.due_escalations`)
which open, unacknowledged, not yet escalated clinical red alerts are due, with each centre's
:class:`~triage.domain.service_hours.ServiceCalendar` and
:class:`~triage.domain.escalation.EscalationPolicy` (``CentreRow.calendar`` / ``.escalation``;
empty means the defaults, with the centre's time zone and ``escalate_after_min`` from the
settings as the on-call delay). For each decision it

* inserts an :class:`~triage.storage.models.EscalationRow` with the target (on-call nurse, or
  the after-hours service), when it was due, the reason, and the patient's red-zone instruction
  from their active plan (bokmål and English) — or the domain's plain "no plan found"
  instruction when the patient has none;
* marks the alert escalated (:func:`triage.domain.alerts.mark_escalated`) and writes the
  ``escalated`` event in the alert's history.

**Recorded and shown, not delivered.** The escalation is a record that the worklist, the API
and the dashboard show; sending it to the on-call nurse's phone or to the after-hours service
(SMS, phone call, message exchange) is out of scope for now and must be arranged by the centre.

**Idempotent, also with several schedulers.** The unique ``escalations.alert_id`` decides: when
another scheduler escalated the same alert first, our insert fails, that alert's SAVEPOINT is
rolled back and the run goes on (counted as ``already_escalated``, not a failure). The alert is
updated only while it is still open, red and unescalated, so a nurse acknowledging it at the
same moment is never overwritten (counted as ``changed_meanwhile``).

**Safety first.** A patient whose plan cannot be read still escalates (with the "no plan"
instruction) and the plan error is counted as a failure; a centre whose calendar or policy
cannot be read uses the defaults (staffed weekdays 08–15 Europe/Oslo) and is counted as a
failure — both make the run ``partial`` so an operator sees them.
"""

from __future__ import annotations

import logging
from collections import Counter
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any, cast

from sqlalchemy import CursorResult, select, update
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session, sessionmaker

from triage.config import Settings
from triage.domain.alerts import AlertCategory, AlertState, mark_escalated
from triage.domain.colours import Colour
from triage.domain.escalation import Escalation, EscalationPolicy, due_escalations
from triage.domain.plan import PlanVersion
from triage.domain.service_hours import ServiceCalendar
from triage.jobs.runs import JobResult, Tally, each_in_savepoint, require_aware, run_job
from triage.storage import repositories
from triage.storage.models import AlertRow, CentreRow, EscalationRow, PatientRow

JOB = "escalation"

log = logging.getLogger(__name__)


@dataclass(frozen=True)
class CentreRules:
    """A centre's calendar and escalation policy, as the domain takes them."""

    calendar: ServiceCalendar
    policy: EscalationPolicy


def escalate_red_alerts(
    sessions: sessionmaker[Session], settings: Settings, now: datetime
) -> JobResult:
    """One run of the red-alert escalation at ``now`` (aware); recorded in JobRunRow."""
    now = require_aware(now)
    default_delay = timedelta(minutes=settings.escalate_after_min)

    def body(tally: Tally) -> None:
        with sessions() as session:
            candidates = _candidates(session)
            centres = {
                centre_id: centre_rules(session, centre_id, default_delay, tally)
                for centre_id in sorted({centre_id for _, centre_id in candidates})
            }
        each_in_savepoint(
            sessions,
            candidates,
            tally,
            lambda session, item: escalate_alert(session, item[0], centres[item[1]], now, tally),
            describe=lambda item: f"alert {item[0]}",
            what="alerts",
        )

    return run_job(JOB, sessions, now, body)


def centre_rules(
    session: Session, centre_id: str, default_delay: timedelta, tally: Tally
) -> CentreRules:
    """The centre's calendar and policy; the defaults (counted as a failure) when unreadable."""
    centre = session.get(CentreRow, centre_id)
    zone = centre.timezone if centre is not None else "Europe/Oslo"
    defaults = CentreRules(
        ServiceCalendar(timezone=zone), EscalationPolicy(on_call_after=default_delay)
    )
    if centre is None:
        return defaults
    try:
        calendar = repositories.centre_calendar(centre)
        policy = EscalationPolicy.model_validate(
            {"on_call_after": default_delay, **(centre.escalation or {})}
        )
    except Exception as error:
        log.exception("centre service calendar or escalation policy unreadable; using defaults")
        tally.failed(f"centre {centre_id} (defaults used)", error)
        return defaults
    return CentreRules(calendar, policy)


def escalate_alert(
    session: Session, alert_id: str, rules: CentreRules, now: datetime, tally: Tally
) -> Counter[str]:
    """Escalate one alert if it is due; a no-op when it is not (or no longer) due."""
    row = session.get(AlertRow, alert_id)
    if row is None:
        return Counter(changed_meanwhile=1)
    alert = repositories.alert_from_row(row)
    plans: Mapping[str, PlanVersion]
    try:
        with session.begin_nested():
            plans = repositories.active_plans(session, [alert.patient_id])
    except Exception as error:
        log.exception("plan unreadable: escalating with the no-plan instruction")
        tally.failed(f"plan of patient {alert.patient_id} (alert {alert_id} escalated)", error)
        plans = {}
    decisions = due_escalations([alert], plans, rules.calendar, rules.policy, now)
    if not decisions:
        return Counter(not_due=1)
    return record(session, decisions[0], now)


class _ChangedMeanwhileError(Exception):
    """The alert was acknowledged, resolved or escalated while we decided: nothing to do."""


def record(session: Session, decision: Escalation, now: datetime) -> Counter[str]:
    """Insert the EscalationRow and mark the alert escalated, or nothing when beaten to it."""
    try:
        with session.begin_nested():
            session.add(
                EscalationRow(
                    alert_id=decision.alert_id,
                    patient_id=decision.patient_id,
                    target=decision.target.value,
                    due_since=decision.due_since,
                    created_at=now,
                    reason=decision.reason.model_dump(mode="json"),
                    patient_instruction=decision.patient_instruction.model_dump(mode="json"),
                )
            )
            session.flush()
            row = session.get(AlertRow, decision.alert_id)
            if row is None:
                raise _ChangedMeanwhileError
            alert, event = mark_escalated(
                repositories.alert_from_row(row), to=decision.target.value, at=now
            )
            result = cast(
                CursorResult[Any],
                session.execute(
                    update(AlertRow)
                    .where(
                        AlertRow.id == decision.alert_id,
                        AlertRow.state == AlertState.OPEN.value,
                        AlertRow.colour == Colour.RED.value,
                        AlertRow.escalated_at.is_(None),
                    )
                    .values(escalated_at=alert.escalated_at, escalated_to=alert.escalated_to)
                    .execution_options(synchronize_session=False)
                ),
            )
            if result.rowcount != 1:
                raise _ChangedMeanwhileError
            repositories.save_alert_event(session, event)
            session.flush()
    except IntegrityError:
        log.info("alert already escalated by another run", extra={"alert_id": decision.alert_id})
        return Counter(already_escalated=1)
    except _ChangedMeanwhileError:
        return Counter(changed_meanwhile=1)
    session.expire(row)
    return Counter({f"escalated_{decision.target.value}": 1})


def _candidates(session: Session) -> list[tuple[str, str]]:
    """(alert id, centre id) of every open, unacknowledged, unescalated clinical red alert."""
    rows = session.execute(
        select(AlertRow.id, PatientRow.centre_id)
        .join(PatientRow, PatientRow.id == AlertRow.patient_id)
        .where(
            AlertRow.state == AlertState.OPEN.value,
            AlertRow.colour == Colour.RED.value,
            AlertRow.category == AlertCategory.CLINICAL.value,
            AlertRow.escalated_at.is_(None),
        )
        .order_by(AlertRow.opened_at, AlertRow.id)
    )
    return [(alert_id, centre_id) for alert_id, centre_id in rows]
