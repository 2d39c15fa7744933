"""Escalation of unacknowledged red alerts: each step of the chain recorded once, with its
messages written to the outbox in the same transaction.

:func:`escalate_red_alerts` walks the chain of every open (unacknowledged) clinical red alert
(:func:`triage.domain.escalation.next_step`: on-call nurse → second nurse → after-hours service
→ centre lead, nurses skipped while the centre is closed, roles without an active
:class:`~triage.storage.models.NotificationTargetRow` skipped, the centre's ``fallback`` when
nobody later has one), with each centre's
:class:`~triage.domain.service_hours.ServiceCalendar` and
:class:`~triage.domain.escalation.EscalationPolicy` (``CentreRow.calendar`` / ``.escalation``;
empty means the defaults, with the centre's time zone and ``escalate_after_min`` from the
settings as the on-call delay). For each step due it writes, in ONE savepoint:

* an :class:`~triage.storage.models.EscalationRow` (step n, target = the role), when it was
  due, the reason, and the patient's red-zone instruction from their active plan (bokmål and
  English) — or the domain's plain "no plan found" instruction when the patient has none;
* one :class:`~triage.storage.models.NotificationRow` (kind ``escalation``, status
  ``pending``, due now) per active target of the role, deduplicated by
  ``esc:<alert>:<step>:<target>``, with the message of
  :func:`triage.domain.notification_text.escalation_message` (no name, no health data unless
  the centre allows initials and the target is secure) and the sha256 of a fresh receipt token
  that appears only in that message's receipt link;
* the alert's ``escalated_at`` (first step) and ``escalated_to`` (this role), and an
  ``escalated`` event in its history naming the role and the receivers;
* when nobody can be told (no target for any later role and no fallback): the step is still
  recorded (target ``fallback``) and a red **technical** alert ``notification_no_receiver``
  opens for the patient, so the centre sees it on the worklist.

**Written here, delivered by the sender.** This job only writes the outbox; the sender job
(:mod:`triage.jobs.notify`) delivers it, with retries. The chain does not wait for delivery.
It stops when the alert is acknowledged or resolved, or when one of its messages was confirmed
received (the receipt link); it ends after the centre lead or a fallback step.

**Idempotent, also with several schedulers.** The unique ``(escalations.alert_id, step)``
decides: when another scheduler recorded the same step first, our insert fails, that alert's
SAVEPOINT is rolled back and the run goes on (counted as ``already_escalated``, not a failure).
The alert is updated only while it is still open and red, so a nurse acknowledging it at the
same moment is never overwritten (counted as ``changed_meanwhile``).

**Safety first.** A patient whose plan cannot be read still escalates (with the "no plan"
instruction) and the plan error is counted as a failure; a centre whose calendar or policy
cannot be read uses the defaults (staffed weekdays 08–15 Europe/Oslo) and is counted as a
failure — both make the run ``partial`` so an operator sees them.
"""

from __future__ import annotations

import hashlib
import logging
import secrets
from collections import Counter
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any, cast

from sqlalchemy import CursorResult, exists, select, update
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session, sessionmaker

from triage.config import Settings
from triage.domain.alerts import Alert, AlertCategory, AlertState, mark_escalation_step
from triage.domain.colours import Colour
from triage.domain.escalation import (
    ROLE_NAMES,
    ChainStep,
    EscalationPolicy,
    RecordedStep,
    next_step,
)
from triage.domain.findings import Finding, RuleType
from triage.domain.notification import (
    DetailLevel,
    NotificationKind,
    TargetRole,
)
from triage.domain.notification_text import (
    alert_link,
    escalation_message,
    receipt_link,
)
from triage.domain.plan import PlanVersion
from triage.domain.service_hours import ServiceCalendar
from triage.jobs.common import apply_findings
from triage.jobs.runs import JobResult, Tally, each_in_savepoint, require_aware, run_job
from triage.notify.channel import scheme_of
from triage.storage import repositories
from triage.storage.models import (
    AlertRow,
    CentreRow,
    EscalationRow,
    MunicipalityRow,
    NotificationRow,
    NotificationTargetRow,
    PatientRow,
)

JOB = "escalation"

#: The technical alert opened when a red alert's step reached nobody.
NO_RECEIVER_RULE_ID = "notification_no_receiver"

log = logging.getLogger(__name__)


@dataclass(frozen=True)
class CentreRules:
    """A centre's calendar and escalation policy, as the domain takes them."""

    calendar: ServiceCalendar
    policy: EscalationPolicy


@dataclass(frozen=True)
class Target:
    """An active notification target, as a step needs it."""

    id: str
    role: TargetRole
    label: str
    url: str
    secure: bool


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
            lambda session, item: escalate_alert(
                session, item[0], item[1], centres[item[1]], settings, now, tally
            ),
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
    session: Session,
    alert_id: str,
    centre_id: str,
    rules: CentreRules,
    settings: Settings,
    now: datetime,
    tally: Tally,
) -> Counter[str]:
    """Record the next step of one alert's chain if it is due; a no-op when it is not."""
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
    targets = active_targets(session, centre_id)
    decision = next_step(
        alert,
        recorded_steps(session, alert_id),
        rules.calendar,
        rules.policy,
        frozenset(t.role for t in targets),
        now,
        plan=plans.get(alert.patient_id),
        received=_received(session, alert_id),
    )
    if decision is None:
        return Counter(not_due=1)
    receivers = [t for t in targets if t.role is decision.role]
    return record(session, decision, receivers, centre_id, rules, settings, now)


class StepNotWrittenError(RuntimeError):
    """A step could not be written, and no other run wrote it: the run is partial."""


class _ChangedMeanwhileError(Exception):
    """The alert was acknowledged or resolved while we decided: nothing to do."""


def record(
    session: Session,
    decision: ChainStep,
    receivers: Sequence[Target],
    centre_id: str,
    rules: CentreRules,
    settings: Settings,
    now: datetime,
) -> Counter[str]:
    """Write the step, its messages, the alert's escalation and event — or nothing when beaten
    to it (another scheduler) or the alert changed meanwhile (a nurse acknowledged it)."""
    done: Counter[str] = Counter()
    try:
        with session.begin_nested():
            step = EscalationRow(
                alert_id=decision.alert_id,
                patient_id=decision.patient_id,
                step=decision.step,
                target=decision.role.value,
                due_since=decision.due_since,
                created_at=now,
                reason=decision.reason.model_dump(mode="json"),
                patient_instruction=decision.patient_instruction.model_dump(mode="json"),
            )
            session.add(step)
            session.flush()
            row = session.get(AlertRow, decision.alert_id)
            if row is None:
                raise _ChangedMeanwhileError
            alert, event = mark_escalation_step(
                repositories.alert_from_row(row),
                to=decision.role.value,
                at=now,
                note=_event_note(decision, receivers),
            )
            result = cast(
                CursorResult[Any],
                session.execute(
                    update(AlertRow)
                    .where(
                        AlertRow.id == decision.alert_id,
                        AlertRow.state == AlertState.OPEN.value,
                        AlertRow.colour == Colour.RED.value,
                    )
                    .values(escalated_at=alert.escalated_at, escalated_to=alert.escalated_to)
                    .execution_options(synchronize_session=False)
                ),
            )
            if result.rowcount != 1:
                raise _ChangedMeanwhileError
            repositories.save_alert_event(session, event)
            _write_messages(
                session, decision, step.id, receivers, centre_id, rules, settings, alert, now
            )
            done["notifications_written"] += len(receivers)
            if not receivers:
                done.update(_open_no_receiver_alert(session, decision.patient_id, now))
            session.flush()
    except IntegrityError as error:
        if not _step_recorded(session, decision.alert_id, decision.step):
            # not another scheduler's step: something of ours could not be written (e.g. a
            # message's dedupe key taken) — nothing of the step was stored; a failure to see
            raise StepNotWrittenError(
                f"step {decision.step} of alert {decision.alert_id} could not be written"
            ) from error
        log.info(
            "escalation step already recorded by another run",
            extra={"alert_id": decision.alert_id, "step": decision.step},
        )
        return Counter(already_escalated=1)
    except _ChangedMeanwhileError:
        return Counter(changed_meanwhile=1)
    session.expire(row)
    done[f"escalated_{decision.role.value}"] += 1
    if not receivers:
        done["no_receiver"] += 1
    return done


def _write_messages(
    session: Session,
    decision: ChainStep,
    escalation_id: int,
    receivers: Sequence[Target],
    centre_id: str,
    rules: CentreRules,
    settings: Settings,
    alert: Alert,
    now: datetime,
) -> None:
    if not receivers:
        return
    centre = session.get(CentreRow, centre_id)
    patient = session.get(PatientRow, decision.patient_id)
    municipality = (
        session.get(MunicipalityRow, patient.municipality_id) if patient is not None else None
    )
    for target in receivers:
        token = secrets.token_urlsafe(32)
        title, body = escalation_message(
            centre_name=centre.name if centre is not None else centre_id,
            red_since=alert.colour_since,
            now=now,
            timezone=rules.calendar.timezone,
            dashboard_url=alert_link(settings.dashboard_public_url, decision.alert_id),
            receipt_url=receipt_link(settings.api_public_url, token),
            detail=rules.policy.detail,
            secure=target.secure,
            patient_name=patient.display_name
            if patient is not None and rules.policy.detail is DetailLevel.INITIALS_MUNICIPALITY
            else None,
            municipality=municipality.name if municipality is not None else None,
        )
        session.add(
            repositories.pending_notification(
                NotificationKind.ESCALATION,
                f"esc:{decision.alert_id}:{decision.step}:{target.id}",
                target.label,
                scheme_of(target.url),
                title,
                body,
                now,
                centre_id=centre_id,
                alert_id=decision.alert_id,
                escalation_id=escalation_id,
                target_id=target.id,
                receipt_token_hash=hashlib.sha256(token.encode()).hexdigest(),
            )
        )


def _event_note(decision: ChainStep, receivers: Sequence[Target]) -> str:
    """Shown in the alert's history: bokmål first, then English; the receivers' labels."""
    role = ROLE_NAMES[decision.role]
    told = (
        ", ".join(t.label for t in receivers)
        if receivers
        else "ingen mottaker er satt opp / no receiver configured"
    )
    return (
        f"Eskalert til {role.nb} (trinn {decision.step + 1}): {told} / "
        f"escalated to the {role.en} (step {decision.step + 1})"
    )


def _open_no_receiver_alert(session: Session, patient_id: str, now: datetime) -> Counter[str]:
    """A red technical alert on the worklist: this red reached nobody (once while it is open)."""
    finding = Finding(
        rule_id=NO_RECEIVER_RULE_ID,
        rule_type=RuleType.NOTIFICATION,
        colour=Colour.RED,
        at=now,
        message="notification.no_receiver",
        args={},
    )
    done = apply_findings(session, patient_id, [finding], lambda _alert, _finding: True)
    return Counter({"no_receiver_alerts_opened": done["alerts_opened"]})


def active_targets(session: Session, centre_id: str) -> list[Target]:
    """The centre's active notification targets, in a stable order (label, id)."""
    rows = session.scalars(
        select(NotificationTargetRow)
        .where(NotificationTargetRow.centre_id == centre_id, NotificationTargetRow.active)
        .order_by(NotificationTargetRow.label, NotificationTargetRow.id)
    )
    known = {role.value for role in TargetRole}
    return [
        Target(id=r.id, role=TargetRole(r.role), label=r.label, url=r.url, secure=r.secure)
        for r in rows
        if r.role in known
    ]


def recorded_steps(session: Session, alert_id: str) -> list[RecordedStep]:
    """The steps of the alert's chain recorded so far."""
    known = {role.value for role in TargetRole}
    rows = session.execute(
        select(EscalationRow.step, EscalationRow.target, EscalationRow.created_at)
        .where(EscalationRow.alert_id == alert_id)
        .order_by(EscalationRow.step)
    )
    return [
        RecordedStep(
            step=step,
            role=TargetRole(target) if target in known else TargetRole.FALLBACK,
            created_at=created_at,
        )
        for step, target, created_at in rows
    ]


def _step_recorded(session: Session, alert_id: str, step: int) -> bool:
    return (
        session.scalar(
            select(exists().where(EscalationRow.alert_id == alert_id, EscalationRow.step == step))
        )
        is True
    )


def _received(session: Session, alert_id: str) -> bool:
    return (
        session.scalar(
            select(
                exists().where(
                    NotificationRow.alert_id == alert_id, NotificationRow.received_at.is_not(None)
                )
            )
        )
        is True
    )


def _candidates(session: Session) -> list[tuple[str, str]]:
    """(alert id, centre id) of every open, unacknowledged clinical red alert whose chain has
    not ended (no centre-lead or fallback step) or stopped (no message confirmed received)."""
    ended = exists().where(
        EscalationRow.alert_id == AlertRow.id,
        EscalationRow.target.in_([TargetRole.CENTRE_LEAD.value, TargetRole.FALLBACK.value]),
    )
    received = exists().where(
        NotificationRow.alert_id == AlertRow.id, NotificationRow.received_at.is_not(None)
    )
    rows = session.execute(
        select(AlertRow.id, PatientRow.centre_id)
        .join(PatientRow, PatientRow.id == AlertRow.patient_id)
        .where(
            AlertRow.state == AlertState.OPEN.value,
            AlertRow.colour == Colour.RED.value,
            AlertRow.category == AlertCategory.CLINICAL.value,
            ~ended,
            ~received,
        )
        .order_by(AlertRow.opened_at, AlertRow.id)
    )
    return [(alert_id, centre_id) for alert_id, centre_id in rows]
