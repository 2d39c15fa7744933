"""API schemas of escalation messages: a centre's escalation policy and notification targets,
the notifications sent (the outbox) with their attempts, the steps of an alert's chain, and a
GP's digest choice (distinct from the table rows and the domain's
:class:`~triage.domain.escalation.EscalationPolicy`).

A target's URL may hold credentials (an SMTP password, an SMS provider's key): it is accepted
in requests and never returned — answers carry ``url_masked`` (scheme and host only).
"""

from __future__ import annotations

from typing import Annotated

from pydantic import AwareDatetime, BaseModel, ConfigDict, Field

from triage.domain.colours import Text
from triage.domain.notification import (
    DetailLevel,
    DigestFrequency,
    NotificationKind,
    NotificationStatus,
    TargetRole,
)

#: The longest delay a centre may set between two steps (a day: longer is no escalation).
MAX_DELAY_MIN = 24 * 60

Minutes = Annotated[int, Field(ge=0, le=MAX_DELAY_MIN, description="whole minutes")]
Label = Annotated[
    str,
    Field(
        min_length=1,
        max_length=200,
        description="who receives, as nurses read it: 'Legevakten i Fjordvik'",
    ),
]
EmailAddress = Annotated[
    str,
    Field(
        min_length=3,
        max_length=254,
        pattern=r"^[A-Za-z0-9.!#$%&'*+/=?^_`{|}~-]+@[A-Za-z0-9](?:[A-Za-z0-9-]*[A-Za-z0-9])?"
        r"(?:\.[A-Za-z0-9](?:[A-Za-z0-9-]*[A-Za-z0-9])?)+$",
        description="one e-mail address: name@domain.tld",
        examples=["fastlege@legekontoret.example.no"],
    ),
]
TargetUrl = Annotated[
    str,
    Field(
        min_length=3,
        max_length=2000,
        description="the Apprise URL (mailto://, mailtos://, json://, ntfy://, an SMS "
        "provider's …); checked with Apprise, stored, and never shown back",
        examples=["mailtos://varsel:passord@smtp.example.no?to=legevakt@example.no"],
    ),
]


# ----------------------------------------------------------------------------- targets


class TargetRead(BaseModel):
    """A notification target as the centre's nurses and administrators see it (no URL)."""

    model_config = ConfigDict(frozen=True)

    id: str
    centre_id: str
    role: TargetRole
    label: str
    channel: str = Field(description="the Apprise scheme: mailto, mailtos, json, ntfy, …")
    url_masked: str = Field(description="scheme and host only: no credentials, path or query")
    secure: bool = Field(
        description="declared secure by the operator (e.g. Norsk Helsenett e-mail): only such "
        "targets may get the patient's initials and municipality"
    )
    active: bool
    created_at: AwareDatetime
    updated_at: AwareDatetime


class TargetSummary(BaseModel):
    """A target on the centre's escalation overview: no URL at all."""

    model_config = ConfigDict(frozen=True)

    id: str
    role: TargetRole
    label: str
    channel: str
    secure: bool
    active: bool


class TargetCreate(BaseModel):
    """A new receiver of the centre's escalation messages."""

    model_config = ConfigDict(extra="forbid")

    role: TargetRole
    label: Label
    url: TargetUrl
    secure: bool = False
    active: bool = True


class TargetUpdate(BaseModel):
    """Fields to change; fields left out stay as they are."""

    model_config = ConfigDict(extra="forbid")

    role: TargetRole | None = None
    label: Label | None = None
    url: TargetUrl | None = None
    secure: bool | None = None
    active: bool | None = None


# ----------------------------------------------------------------------------- policy


class PolicyRead(BaseModel):
    """How the chain steps on at this centre (delays in whole minutes, rounded down)."""

    model_config = ConfigDict(frozen=True)

    on_call_after_min: int = Field(
        description="in staffed hours: how long a red waits for acknowledgement before it goes "
        "to the on-call nurse"
    )
    second_nurse_after_min: int = Field(description="then, after this, to the second nurse")
    after_hours_after_min: int = Field(description="then, after this, to the after-hours service")
    centre_lead_after_min: int = Field(description="then, after this, to the centre lead")
    detail: DetailLevel = Field(
        description="none: no name, no values; initials_municipality: the patient's initials "
        "and municipality on targets declared secure only"
    )
    after_hours_service: Text = Field(description="what the patient's red advice calls it")


class PolicyUpdate(BaseModel):
    """The delays (whole minutes) and detail level to change; fields left out stay."""

    model_config = ConfigDict(extra="forbid")

    on_call_after_min: Minutes | None = None
    second_nurse_after_min: Minutes | None = None
    after_hours_after_min: Minutes | None = None
    centre_lead_after_min: Minutes | None = None
    detail: DetailLevel | None = None


class CentreEscalation(BaseModel):
    """Where a centre's unacknowledged reds go: its policy, its targets (no URLs), the chain
    roles nobody receives, and who receives a red outside staffed hours."""

    model_config = ConfigDict(frozen=True)

    centre_id: str
    centre_name: str
    policy: PolicyRead
    policy_problem: str | None = Field(
        description="the stored policy cannot be read, so the defaults are shown (and used by "
        "the escalation job); an administrator should set it again"
    )
    targets: list[TargetSummary] = Field(description="by role in chain order, then label")
    roles_without_target: list[TargetRole] = Field(
        description="chain roles with no active target: the chain skips them"
    )
    after_hours_role: TargetRole | None = Field(
        description="the role that gets a red outside staffed hours: after_hours, or the next "
        "role with an active target, or fallback; null when nobody does"
    )
    after_hours_receivers: list[str] = Field(
        description="the labels of that role's active targets; empty: a red outside staffed "
        "hours reaches nobody (a technical alert says so when it happens)"
    )


# ----------------------------------------------------------------------------- notifications


class AttemptRead(BaseModel):
    """One delivery attempt and the provider's answer."""

    model_config = ConfigDict(frozen=True)

    at: AwareDatetime
    ok: bool
    answer: str
    duration_ms: int


class NotificationRead(BaseModel):
    """One message in the outbox: to whom, through what, its state and attempts."""

    model_config = ConfigDict(frozen=True)

    id: str
    kind: NotificationKind
    alert_id: str | None
    patient_id: str | None
    patient_name: str | None = Field(
        description="for the centre's eyes only (never in the message sent); null for an "
        "admin who gave no X-DHO-Reason, and for messages about no patient"
    )
    recipient: str
    role: TargetRole | None = Field(description="the chain role of the escalation step")
    step: int | None = Field(description="the escalation step (0 first)")
    channel: str
    status: NotificationStatus
    created_at: AwareDatetime
    due_at: AwareDatetime = Field(description="the next attempt, not before (while pending)")
    sent_at: AwareDatetime | None
    dead_at: AwareDatetime | None
    cancelled_at: AwareDatetime | None
    received_at: AwareDatetime | None = Field(
        description="the receiver confirmed receipt through the message's link"
    )
    attempts: int
    last_error: str | None
    title: str
    body: str = Field(description="as sent (the receipt link's token is blanked out)")


class NotificationDetail(NotificationRead):
    """A message with every delivery attempt, oldest first."""

    attempt_log: list[AttemptRead]


class StepNotification(BaseModel):
    """A message of one escalation step."""

    model_config = ConfigDict(frozen=True)

    id: str
    recipient: str
    channel: str
    status: NotificationStatus
    attempts: int
    sent_at: AwareDatetime | None
    received_at: AwareDatetime | None
    last_error: str | None


class EscalationStep(BaseModel):
    """One step of an alert's escalation chain and the messages it wrote."""

    model_config = ConfigDict(frozen=True)

    step: int
    role: str = Field(
        description="the chain role it went to (on_call_nurse, second_nurse, after_hours, "
        "centre_lead, fallback)"
    )
    due_since: AwareDatetime
    created_at: AwareDatetime
    reason: Text
    patient_instruction: Text = Field(description="what the patient's plan tells them for red")
    notifications: list[StepNotification] = Field(
        description="empty when nobody could be notified (a technical alert says so)"
    )


class TestQueued(BaseModel):
    """The test message queued for a target; the sender delivers it within a minute or so."""

    model_config = ConfigDict(frozen=True)

    notification_id: str
    target_id: str
    status: NotificationStatus
    note: str


# ----------------------------------------------------------------------------- digest


class DigestRead(BaseModel):
    """The GP's choice of an e-mail digest of non-acute deviations of their own patients."""

    model_config = ConfigDict(frozen=True)

    frequency: DigestFrequency
    email: str | None
    sending_configured: bool = Field(
        description="the operator has set up sending (DHO_NOTIFY_EMAIL_URL); if not, nothing "
        "is sent whatever the choice"
    )


class DigestUpdate(BaseModel):
    """The digest choice: ``daily`` or ``weekly`` need an e-mail address; ``none`` stops it."""

    model_config = ConfigDict(extra="forbid")

    frequency: DigestFrequency
    email: EmailAddress | None = None
