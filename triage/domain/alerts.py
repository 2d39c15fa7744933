"""Alert episodes: one open alert per patient and rule, handled and resolved by a person.

An alert is an episode, not a message. A further breach of the same rule attaches to the open
alert (no alarm flood) and can raise it from yellow to red — an acknowledged alert that worsens
is re-opened so that the red is seen. A green reading marks the alert "back in range"; only a
person resolves it.

State transitions are an explicit table (:data:`TRANSITIONS`) matched on (from, to); anything
else raises :class:`ForbiddenTransitionError`. :func:`decide` returns the changes to apply and
applies nothing; :func:`open_alert` and :func:`apply` are the pure functions that do.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from datetime import datetime
from enum import StrEnum
from typing import Literal, NamedTuple

from pydantic import AwareDatetime, BaseModel, ConfigDict

from triage.domain.colours import Colour, worst
from triage.domain.findings import TECHNICAL_RULE_TYPES, Finding, RuleType


class AlertError(ValueError):
    """A change to an alert that the domain does not allow."""


class ForbiddenTransitionError(AlertError):
    """A state change that is not in the transition table."""


class AlertState(StrEnum):
    OPEN = "open"
    ACKNOWLEDGED = "acknowledged"
    RESOLVED = "resolved"


class AlertCategory(StrEnum):
    """Clinical alerts carry a colour; technical ones (lost contact) are kept apart."""

    CLINICAL = "clinical"
    TECHNICAL = "technical"


#: The allowed state changes, and what each one is called in the alert's event history.
TRANSITIONS: dict[tuple[AlertState, AlertState], str] = {
    (AlertState.OPEN, AlertState.ACKNOWLEDGED): "acknowledged",
    (AlertState.ACKNOWLEDGED, AlertState.RESOLVED): "resolved",
    (AlertState.ACKNOWLEDGED, AlertState.OPEN): "reopened",
}


class _Frozen(BaseModel):
    model_config = ConfigDict(frozen=True, extra="forbid")


class Alert(_Frozen):
    """One alert episode, with a timestamp per state."""

    id: str
    patient_id: str
    rule_id: str
    rule_type: RuleType
    category: AlertCategory = AlertCategory.CLINICAL
    colour: Colour
    state: AlertState = AlertState.OPEN
    opened_at: AwareDatetime
    last_breach_at: AwareDatetime
    breaches: int = 1
    reason: Finding
    acknowledged_at: AwareDatetime | None = None
    acknowledged_by: str | None = None
    resolved_at: AwareDatetime | None = None
    resolved_by: str | None = None
    back_in_range_at: AwareDatetime | None = None
    escalated_at: AwareDatetime | None = None
    escalated_to: str | None = None
    raised_at: AwareDatetime | None = None

    @property
    def colour_since(self) -> datetime:
        """When the alert reached its current colour (opening, or the last raise)."""
        return self.raised_at or self.opened_at

    @property
    def is_open(self) -> bool:
        """True until a person resolves it (acknowledged alerts are still open episodes)."""
        return self.state is not AlertState.RESOLVED

    @property
    def is_escalated(self) -> bool:
        return self.escalated_at is not None


class AlertEvent(_Frozen):
    """One entry in an alert's history: what happened, when, by whom."""

    alert_id: str
    event: str
    at: AwareDatetime
    by: str | None = None
    from_state: AlertState | None = None
    to_state: AlertState
    colour: Colour
    note: str = ""


# ----------------------------------------------------------------------------- decisions


class OpenAlert(_Frozen):
    change: Literal["open"] = "open"
    patient_id: str
    finding: Finding


class AttachBreach(_Frozen):
    """A further breach of an open alert's rule; ``raise_to`` when it worsens the colour."""

    change: Literal["attach"] = "attach"
    alert_id: str
    finding: Finding
    raise_to: Colour | None = None
    reopen: bool = False


class MarkBackInRange(_Frozen):
    change: Literal["back_in_range"] = "back_in_range"
    alert_id: str
    finding: Finding


AlertChange = OpenAlert | AttachBreach | MarkBackInRange


def decide(
    patient_id: str, open_alerts: Sequence[Alert], findings: Iterable[Finding]
) -> list[AlertChange]:
    """The changes that ``findings`` make to a patient's alerts; applies nothing.

    ``open_alerts`` are the patient's unresolved alerts. A breach with no open alert for its
    rule opens one; a breach of an open alert attaches to it (raising the colour, and
    re-opening an acknowledged alert, when it is worse); a green finding marks an open alert
    back in range once.

    Findings are taken in time order, and each one sees the effect of those before it, so a
    batch (a gateway that was offline and syncs several readings at once) gives the same
    changes as the same findings one by one — except that breaches of a rule whose alert this
    batch opens are folded into the opening (the worst of them opens it).
    """
    state: dict[str, _RuleState] = {
        a.rule_id: _RuleState(a.id, a.colour, a.state, a.back_in_range_at is not None)
        for a in open_alerts
        if a.is_open and a.patient_id == patient_id
    }
    opening: dict[str, int] = {}  # rule id -> index in changes of its OpenAlert
    changes: list[AlertChange] = []
    for finding in sorted(findings, key=lambda f: f.at):
        rule = finding.rule_id
        if rule in opening:
            index = opening[rule]
            pending = changes[index]
            if isinstance(pending, OpenAlert) and finding.colour.rank > pending.finding.colour.rank:
                changes[index] = OpenAlert(patient_id=patient_id, finding=finding)
            continue
        current = state.get(rule)
        if finding.is_breach:
            if current is None:
                opening[rule] = len(changes)
                changes.append(OpenAlert(patient_id=patient_id, finding=finding))
                continue
            worse = finding.colour.rank > current.colour.rank
            reopen = worse and current.state is AlertState.ACKNOWLEDGED
            changes.append(
                AttachBreach(
                    alert_id=current.alert_id,
                    finding=finding,
                    raise_to=finding.colour if worse else None,
                    reopen=reopen,
                )
            )
            state[rule] = _RuleState(
                current.alert_id,
                finding.colour if worse else current.colour,
                AlertState.OPEN if reopen else current.state,
                back_in_range=False,
            )
        elif current is not None and not current.back_in_range:
            changes.append(MarkBackInRange(alert_id=current.alert_id, finding=finding))
            state[rule] = current._replace(back_in_range=True)
    return changes


class _RuleState(NamedTuple):
    alert_id: str
    colour: Colour
    state: AlertState
    back_in_range: bool


def open_alert(change: OpenAlert, alert_id: str) -> tuple[Alert, AlertEvent]:
    """The new alert for ``change``, with the id the caller chose, and its first event."""
    finding = change.finding
    technical = finding.rule_type in TECHNICAL_RULE_TYPES
    alert = Alert(
        id=alert_id,
        patient_id=change.patient_id,
        rule_id=finding.rule_id,
        rule_type=finding.rule_type,
        category=AlertCategory.TECHNICAL if technical else AlertCategory.CLINICAL,
        colour=finding.colour,
        opened_at=finding.at,
        last_breach_at=finding.at,
        reason=finding,
    )
    event = AlertEvent(
        alert_id=alert_id,
        event="opened",
        at=finding.at,
        to_state=AlertState.OPEN,
        colour=finding.colour,
        note=_note(finding),
    )
    return alert, event


def apply(alert: Alert, change: AttachBreach | MarkBackInRange) -> tuple[Alert, AlertEvent]:
    """``alert`` after ``change``, and the event to record."""
    if change.alert_id != alert.id:
        raise AlertError(f"change for alert {change.alert_id} applied to alert {alert.id}")
    if not alert.is_open:
        raise ForbiddenTransitionError(
            f"alert {alert.id} is resolved; a new breach opens a new one"
        )
    finding = change.finding
    if isinstance(change, MarkBackInRange):
        updated = alert.model_copy(update={"back_in_range_at": finding.at})
        return updated, _event(updated, "back_in_range", finding.at, None, alert.state, finding)
    update: dict[str, object] = {
        "last_breach_at": max(alert.last_breach_at, finding.at),
        "breaches": alert.breaches + 1,
        "back_in_range_at": None,
        "reason": finding if finding.colour.rank >= alert.colour.rank else alert.reason,
    }
    name = "breach"
    if change.raise_to is not None and change.raise_to.rank > alert.colour.rank:
        update["colour"] = change.raise_to
        update["raised_at"] = finding.at
        name = "raised"
    if change.reopen:
        _check(alert.state, AlertState.OPEN)
        update.update(state=AlertState.OPEN, acknowledged_at=None, acknowledged_by=None)
        name = "reopened"
    updated = alert.model_copy(update=update)
    return updated, _event(updated, name, finding.at, None, alert.state, finding)


# ----------------------------------------------------------------------------- people's actions


def acknowledge(alert: Alert, *, by: str, at: datetime, note: str = "") -> tuple[Alert, AlertEvent]:
    """A person has seen the alert and takes it on."""
    _check(alert.state, AlertState.ACKNOWLEDGED)
    updated = alert.model_copy(
        update={"state": AlertState.ACKNOWLEDGED, "acknowledged_at": at, "acknowledged_by": by}
    )
    return updated, _event(
        updated, TRANSITIONS[(alert.state, updated.state)], at, by, alert.state, note
    )


def resolve(alert: Alert, *, by: str, at: datetime, note: str = "") -> tuple[Alert, AlertEvent]:
    """A person closes the episode (after acknowledging it)."""
    _check(alert.state, AlertState.RESOLVED)
    updated = alert.model_copy(
        update={"state": AlertState.RESOLVED, "resolved_at": at, "resolved_by": by}
    )
    return updated, _event(
        updated, TRANSITIONS[(alert.state, updated.state)], at, by, alert.state, note
    )


def mark_escalated(alert: Alert, *, to: str, at: datetime) -> tuple[Alert, AlertEvent]:
    """Record that an unacknowledged red alert went to ``to`` (on-call or after-hours)."""
    if alert.state is not AlertState.OPEN or alert.colour is not Colour.RED:
        raise ForbiddenTransitionError(
            f"only an unacknowledged red alert is escalated (alert {alert.id} is "
            f"{alert.state}, {alert.colour})"
        )
    if alert.escalated_at is not None:
        raise ForbiddenTransitionError(
            f"alert {alert.id} was already escalated at {alert.escalated_at}"
        )
    updated = alert.model_copy(update={"escalated_at": at, "escalated_to": to})
    return updated, _event(updated, "escalated", at, None, alert.state, f"escalated to {to}")


def mark_escalation_step(
    alert: Alert, *, to: str, at: datetime, note: str
) -> tuple[Alert, AlertEvent]:
    """Record a step of an unacknowledged red alert's chain (the first sets ``escalated_at``,
    every step ``escalated_to``); ``note`` names the role and who was told."""
    if alert.state is not AlertState.OPEN or alert.colour is not Colour.RED:
        raise ForbiddenTransitionError(
            f"only an unacknowledged red alert is escalated (alert {alert.id} is "
            f"{alert.state}, {alert.colour})"
        )
    first = alert.escalated_at if alert.escalated_at is not None else at
    updated = alert.model_copy(update={"escalated_at": first, "escalated_to": to})
    return updated, _event(updated, "escalated", at, None, alert.state, note)


def patient_colour(alerts: Iterable[Alert]) -> Colour:
    """A patient's colour: the worst colour among their open clinical alerts."""
    return worst(a.colour for a in alerts if a.is_open and a.category is AlertCategory.CLINICAL)


def _check(current: AlertState, target: AlertState) -> None:
    if (current, target) not in TRANSITIONS:
        allowed = ", ".join(t.value for (f, t) in TRANSITIONS if f is current) or "none"
        raise ForbiddenTransitionError(
            f"an alert cannot go from {current} to {target} (allowed from {current}: {allowed})"
        )


def _note(finding: Finding) -> str:
    """An event's note from a finding: empty — the finding's reason is on the alert and on the
    reading, put into words in the reader's language when shown (triage.texts); a finding
    that still carries stored words (written before reasons were data) keeps them."""
    return finding.text.en if finding.text is not None else ""


def _event(
    alert: Alert,
    name: str,
    at: datetime,
    by: str | None,
    from_state: AlertState,
    note: Finding | str,
) -> AlertEvent:
    return AlertEvent(
        alert_id=alert.id,
        event=name,
        at=at,
        by=by,
        from_state=from_state,
        to_state=alert.state,
        colour=alert.colour,
        note=_note(note) if isinstance(note, Finding) else note,
    )
