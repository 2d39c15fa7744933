"""API schemas of alert episodes, their history and what nurses did about them, and of the day's
"acknowledge all green" (distinct from the table rows and the domain's
:class:`~triage.domain.alerts.Alert`)."""

from __future__ import annotations

from enum import StrEnum
from typing import Annotated, Self

from pydantic import AwareDatetime, BaseModel, ConfigDict, Field, model_validator

from triage.api.schemas_notifications import EscalationStep
from triage.api.schemas_patients import FindingRead
from triage.api.schemas_people import PersonRead
from triage.domain.alerts import AlertCategory, AlertState
from triage.domain.colours import Colour
from triage.domain.findings import RuleType


class AlertStateFilter(StrEnum):
    """Which of a patient's alerts to list: by state, ``unresolved`` (open or acknowledged), or
    ``all``."""

    OPEN = "open"
    ACKNOWLEDGED = "acknowledged"
    RESOLVED = "resolved"
    UNRESOLVED = "unresolved"
    ALL = "all"


class ActionOutcome(StrEnum):
    """What a nurse did about an alert (a structured code; the note says more)."""

    PHONED_PATIENT = "phoned_patient"
    ADVISED_PER_PLAN = "advised_per_plan"
    CONTACTED_GP = "contacted_gp"
    HOME_CARE_VISIT_REQUESTED = "home_care_visit_requested"
    SENT_TO_EMERGENCY_CARE = "sent_to_emergency_care"
    NO_ACTION_NEEDED = "no_action_needed"
    HOSPITAL_ADMISSION = "hospital_admission"


class AlertRead(BaseModel):
    """An alert episode: the rule, its colour and state, a timestamp per state, and the finding
    that explains the current colour."""

    model_config = ConfigDict(frozen=True)

    id: str
    patient_id: str
    rule_id: str
    rule_type: RuleType
    category: AlertCategory
    colour: Colour
    state: AlertState
    opened_at: AwareDatetime
    last_breach_at: AwareDatetime
    breaches: int = Field(description="how many readings or reports broke the rule")
    reason: FindingRead
    acknowledged_at: AwareDatetime | None
    acknowledged_by: str | None
    resolved_at: AwareDatetime | None
    resolved_by: str | None
    back_in_range_at: AwareDatetime | None
    escalated_at: AwareDatetime | None
    escalated_to: str | None
    raised_at: AwareDatetime | None = Field(description="when the colour last rose")
    assigned_to: str | None = Field(description="the nurse's user id, if assigned")
    acknowledged_by_person: PersonRead | None = Field(
        default=None, description="who acknowledged it: name and role"
    )
    resolved_by_person: PersonRead | None = Field(
        default=None, description="who resolved it: name and role"
    )
    assigned_to_person: PersonRead | None = Field(
        default=None, description="the nurse it is assigned to: name and role"
    )


class AlertEventRead(BaseModel):
    """One entry of an alert's history (opened, breach, raised, acknowledged, assigned, …)."""

    model_config = ConfigDict(frozen=True)

    event: str
    at: AwareDatetime
    by: str | None = Field(description="the username; null when the service did it")
    by_person: PersonRead | None = Field(
        default=None, description="who did it: name and role; null when the service did it"
    )
    from_state: AlertState | None
    to_state: AlertState
    colour: Colour
    note: str


class AlertActionRead(BaseModel):
    """What a nurse did about the alert."""

    model_config = ConfigDict(frozen=True)

    id: int
    at: AwareDatetime
    by: str = Field(description="the nurse's user id")
    by_username: str | None
    by_person: PersonRead | None = Field(default=None, description="the nurse: name and role")
    outcome: ActionOutcome
    note: str
    home_visit_avoided: bool = Field(
        default=False,
        description="the nurse judged that this handling saved a home-care visit (counted in "
        "the programme's home-care time saved)",
    )


class AlertDetail(AlertRead):
    """An alert with its history (oldest first), the actions recorded (oldest first), and the
    steps of its escalation chain with the messages each sent (oldest first)."""

    events: list[AlertEventRead]
    actions: list[AlertActionRead]
    escalations: list[EscalationStep] = Field(
        default_factory=list,
        description="each escalation step: when, to which role, why, what the patient's plan "
        "tells them, and the messages sent (state, attempts, received)",
    )


class AlertListItem(AlertRead):
    """An alert on a list; with ``history=true`` also its history and actions (else null), so
    a list of deviations with what the centre did is one request."""

    events: list[AlertEventRead] | None = Field(
        default=None, description="with history=true: the alert's history, oldest first"
    )
    actions: list[AlertActionRead] | None = Field(
        default=None, description="with history=true: the actions recorded, oldest first"
    )


class OverviewLook(BaseModel):
    """When the person last marked their overview seen ("since you last looked")."""

    model_config = ConfigDict(frozen=True)

    seen_through: AwareDatetime | None = Field(
        description="deviations opened before this were seen; null: never marked"
    )
    marked_at: AwareDatetime | None = Field(description="when the person marked it")


class MarkSeenRequest(BaseModel):
    """Mark the overview seen through ``through``: the moment the overview the person read was
    fetched (default now), so a deviation that arrived while they were reading is not lost."""

    model_config = ConfigDict(extra="forbid")

    through: AwareDatetime | None = None


class AcknowledgeRequest(BaseModel):
    model_config = ConfigDict(extra="forbid")

    note: Annotated[str, Field(max_length=2000)] = ""


class AssignRequest(BaseModel):
    model_config = ConfigDict(extra="forbid")

    user_id: Annotated[str, Field(min_length=1, max_length=64)] = Field(
        description="a nurse of the patient's follow-up centre"
    )


HOME_VISIT_AVOIDED = (
    "true when this handling saved a home-care visit (hjemmebesøk unngått): the programme "
    "counts it in the home-care time saved"
)


class ActionRequest(BaseModel):
    model_config = ConfigDict(extra="forbid")

    outcome: ActionOutcome
    note: Annotated[str, Field(max_length=4000)] = ""
    home_visit_avoided: bool = Field(default=False, description=HOME_VISIT_AVOIDED)


class ResolveRequest(BaseModel):
    """Resolve the episode; with ``outcome``, the action is recorded too."""

    model_config = ConfigDict(extra="forbid")

    outcome: ActionOutcome | None = None
    note: Annotated[str, Field(max_length=4000)] = ""
    home_visit_avoided: bool = Field(
        default=False, description=HOME_VISIT_AVOIDED + "; only with an outcome"
    )

    @model_validator(mode="after")
    def _visit_needs_an_outcome(self) -> Self:
        if self.home_visit_avoided and self.outcome is None:
            raise ValueError("home_visit_avoided is recorded with the action: give the outcome too")
        return self


class GreensRequest(BaseModel):
    """Acknowledge green readings up to ``through`` (default: now) for ``patient_ids`` (default:
    every patient in your scope with green readings waiting)."""

    model_config = ConfigDict(extra="forbid")

    patient_ids: Annotated[list[str] | None, Field(min_length=1, max_length=500)] = None
    through: AwareDatetime | None = None


class GreensCovered(BaseModel):
    model_config = ConfigDict(frozen=True)

    patient_id: str
    readings: int = Field(description="green readings this acknowledgement covered")


class GreensAcknowledged(BaseModel):
    """What was acknowledged: per patient, the green readings covered (patients with none
    waiting are left out, and nothing is stored for them)."""

    model_config = ConfigDict(frozen=True)

    through: AwareDatetime
    patients: list[GreensCovered]
    readings: int = Field(description="green readings covered in all")
