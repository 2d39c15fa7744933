"""API schemas of patients and their data: the worklist, enrolment and the patient's states,
readings, reports, the timeline and dead letters (distinct from the table rows and the domain
values they are made from)."""

from __future__ import annotations

from datetime import date
from typing import Annotated, Any, Literal
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from pydantic import AwareDatetime, BaseModel, ConfigDict, Field, field_validator, model_validator

from triage.api.language import request_language
from triage.api.schemas_contact import CallRequestRead
from triage.api.schemas_people import PersonRead
from triage.domain.alerts import AlertCategory, AlertState
from triage.domain.colours import Colour, Text
from triage.domain.findings import Finding, RuleType
from triage.domain.plan import Condition
from triage.domain.programme import DischargeCode
from triage.texts.findings import reason_text

# ----------------------------------------------------------------------------- shared parts


class FindingRead(BaseModel):
    """Why a reading, report or alert has its colour: which rule, which bound, which value, and
    the plan version that said so — as data (``message``, ``args``) and in words: ``reason``
    in the request's language (``Accept-Language``: bokmål by default, English), put into
    words from the message catalogue when the response is made."""

    model_config = ConfigDict(frozen=True)

    rule_id: str
    rule_type: RuleType
    colour: Colour
    at: AwareDatetime
    reason: str = Field(
        description="the reason in words, in the request's language (Accept-Language: nb, en)"
    )
    text: Text = Field(
        description="the reason in bokmål and English (kept for older clients; use `reason`)"
    )
    parameter: str | None = None
    value: float | None = None
    bound: str | None = None
    plan_id: str | None = None
    plan_version: int | None = None
    message: str | None = Field(
        default=None,
        description="the catalogue key of the reason; null on findings stored before reasons "
        "were kept as data",
    )
    args: dict[str, Any] | None = Field(default=None, description="the reason's arguments")

    @model_validator(mode="before")
    @classmethod
    def _in_words(cls, data: Any) -> Any:
        """A domain finding (or its stored JSON) with its reason put into words."""
        if isinstance(data, dict) and "reason" in data:
            return data
        finding = data if isinstance(data, Finding) else Finding.model_validate(data)
        dumped = finding.model_dump()
        both = reason_text(finding)
        dumped["text"] = both
        dumped["reason"] = both.in_language(request_language())
        return dumped


class AlertBrief(BaseModel):
    """An unresolved alert as the worklist shows it."""

    model_config = ConfigDict(frozen=True)

    id: str
    rule_id: str
    rule_type: RuleType
    category: AlertCategory
    colour: Colour
    state: AlertState
    opened_at: AwareDatetime
    last_breach_at: AwareDatetime
    breaches: int
    acknowledged: bool
    acknowledged_at: AwareDatetime | None
    acknowledged_by: str | None
    acknowledged_by_person: PersonRead | None = Field(
        default=None, description="who acknowledged it: name and role"
    )
    assigned_to: str | None = Field(description="the nurse's user id, if assigned")
    assigned_to_person: PersonRead | None = Field(
        default=None, description="the nurse it is assigned to: name and role"
    )
    back_in_range_at: AwareDatetime | None
    escalated_at: AwareDatetime | None
    reason: FindingRead = Field(description="the finding that explains the current colour")


class LastReading(BaseModel):
    """A patient's latest reading of one kind."""

    model_config = ConfigDict(frozen=True)

    id: str
    kind: str
    values: dict[str, Any]
    colour: Colour | None = Field(description="null: not classified (no plan, or a data error)")
    measured_at: AwareDatetime


# ----------------------------------------------------------------------------- worklist


class WorklistItem(BaseModel):
    """One patient on the worklist, in triage order: red, yellow, lost contact only, green."""

    model_config = ConfigDict(frozen=True)

    patient_id: str
    display_name: str
    condition: Condition | None
    centre_id: str
    centre_name: str
    municipality_id: str
    municipality_name: str
    assigned_nurse_id: str | None
    assigned_nurse_name: str | None
    gp_user_id: str | None
    gp_name: str | None
    state: str = Field(description="trial | active | paused (discharged patients are not listed)")
    colour: Colour = Field(description="the worst colour among the open clinical alerts")
    waiting_since: AwareDatetime | None = Field(
        description="when the oldest unacknowledged alert of that colour opened"
    )
    missing_data: bool
    lost_contact: bool
    lost_contact_since: AwareDatetime | None
    alerts: list[AlertBrief] = Field(description="unresolved alerts, the most urgent first")
    last_readings: list[LastReading] = Field(
        description="the latest reading of each kind measured in the last 30 days, by kind"
    )
    greens_waiting: int = Field(
        description="green readings of the last 30 days measured after the patient's last "
        "'acknowledge greens'"
    )
    call_requests: list[CallRequestRead] = Field(
        default_factory=list,
        description='the patient\'s open "ring meg" call requests, oldest first: a '
        "non-clinical marker (it does not change the colour or the order)",
    )


# ----------------------------------------------------------------------------- patients


def _check_timezone(value: str) -> str:
    try:
        ZoneInfo(value)
    except (ZoneInfoNotFoundError, ValueError) as err:
        raise ValueError(f"{value!r} is not an IANA time zone (e.g. 'Europe/Oslo')") from err
    return value


_K1 = (3, 7, 6, 1, 8, 9, 4, 5, 2)
_K2 = (5, 4, 3, 2, 7, 6, 5, 4, 3, 2)


def _check_digit(digits: list[int], weights: tuple[int, ...]) -> int | None:
    check = 11 - sum(d * w for d, w in zip(digits, weights, strict=True)) % 11
    return None if check == 10 else check % 11


def is_synthetic_national_id(value: str) -> bool:
    """Whether ``value`` is a synthetic Norwegian identifier: 11 digits with valid check digits
    and a day + 40 (D-number style, as :func:`triage.storage.seed.synthetic_national_id` makes)
    or a month + 80 (the test-data convention). An ordinary birth number is refused: real
    identities never enter this system."""
    if len(value) != 11 or not value.isdigit():
        return False
    digits = [int(c) for c in value]
    day, month = int(value[0:2]), int(value[2:4])
    synthetic = (41 <= day <= 71 and 1 <= month <= 12) or (1 <= day <= 31 and 81 <= month <= 92)
    return (
        synthetic
        and _check_digit(digits[:9], _K1) == digits[9]
        and _check_digit(digits[:10], _K2) == digits[10]
    )


class PatientRead(BaseModel):
    """A patient: who, where they are followed up, by whom, and their enrolment state."""

    model_config = ConfigDict(frozen=True)

    id: str
    display_name: str
    national_id: str | None = Field(description="synthetic identities only")
    condition: Condition | None
    municipality_id: str
    municipality_name: str
    centre_id: str
    centre_name: str
    gp_user_id: str | None
    gp_name: str | None
    assigned_nurse_id: str | None
    assigned_nurse_name: str | None
    timezone: str
    state: str = Field(description="trial → active ⇄ paused → discharged")
    state_reason: str | None
    paused_until: date | None
    enrolled_at: AwareDatetime
    state_changed_at: AwareDatetime
    discharge_code: DischargeCode | None = Field(
        default=None, description="why follow-up ended (set at discharge); null before"
    )
    home_care: bool = Field(
        default=False, description="the patient also receives home-care nursing"
    )


class EnrolRequest(BaseModel):
    """A new patient, enrolled in the trial period by a nurse of the follow-up centre."""

    model_config = ConfigDict(extra="forbid")

    display_name: Annotated[str, Field(min_length=1, max_length=200)]
    national_id: Annotated[str | None, Field(pattern=r"^\d{11}$")] = Field(
        default=None,
        description="11 digits; synthetic identities only (D-number style, day + 40, or "
        "test-number style, month + 80) with valid check digits",
    )
    condition: Condition | None = None
    municipality_id: Annotated[str, Field(min_length=1, max_length=64)]
    centre_id: Annotated[str, Field(min_length=1, max_length=64)]
    gp_user_id: Annotated[str | None, Field(max_length=64)] = None
    assigned_nurse_id: Annotated[str | None, Field(max_length=64)] = None
    timezone: Annotated[str, Field(max_length=64)] = "Europe/Oslo"
    home_care: bool = Field(
        default=False,
        description="the patient also receives home-care nursing (hjemmesykepleie): the "
        "programme's figures show these patients apart",
    )

    @field_validator("timezone")
    @classmethod
    def _iana(cls, value: str) -> str:
        return _check_timezone(value)

    @field_validator("national_id")
    @classmethod
    def _synthetic(cls, value: str | None) -> str | None:
        if value is not None and not is_synthetic_national_id(value):
            raise ValueError(
                "only synthetic identities are accepted (D-number style, day + 40, or month + "
                "80, with valid check digits); never enter a real birth number"
            )
        return value


class PatientUpdate(BaseModel):
    """Fields to change; a field sent as null is cleared (GP, assigned nurse)."""

    model_config = ConfigDict(extra="forbid")

    gp_user_id: Annotated[str | None, Field(max_length=64)] = None
    centre_id: Annotated[str | None, Field(max_length=64)] = None
    municipality_id: Annotated[str | None, Field(max_length=64)] = None
    assigned_nurse_id: Annotated[str | None, Field(max_length=64)] = None
    home_care: bool | None = Field(
        default=None, description="the patient also receives home-care nursing; not nullable"
    )


class PauseRequest(BaseModel):
    model_config = ConfigDict(extra="forbid")

    reason: Annotated[str, Field(min_length=3, max_length=1000)]
    until: date | None = Field(
        default=None, description="the first day of follow-up again; null: until resumed"
    )


class DischargeRequest(BaseModel):
    model_config = ConfigDict(extra="forbid")

    reason: Annotated[str, Field(min_length=3, max_length=1000)]
    code: DischargeCode = Field(
        description="why follow-up ended, coded (the programme's discharge reasons and "
        "dropout): stable, patient_withdrew, could_not_use_equipment, not_suitable, "
        "nursing_home, moved, died, other; `reason` keeps the nurse's words"
    )


# ----------------------------------------------------------------------------- data


class ReadingRead(BaseModel):
    """A stored reading with its colour, the reasons for it and its data-quality flags."""

    model_config = ConfigDict(frozen=True)

    id: str
    kind: str
    values: dict[str, Any]
    device: dict[str, Any]
    measured_at: AwareDatetime
    received_at: AwareDatetime
    colour: Colour | None = Field(description="null: not classified (no plan, or a data error)")
    findings: list[FindingRead]
    flags: list[str]
    plan_id: str | None
    plan_version: int | None


class ReportRead(BaseModel):
    """A stored questionnaire answer set with its score, colour and reasons."""

    model_config = ConfigDict(frozen=True)

    id: str
    questionnaire: str
    answers: dict[str, Any]
    answered_at: AwareDatetime
    received_at: AwareDatetime
    score: int | None
    colour: Colour | None
    findings: list[FindingRead]
    flags: list[str]
    plan_id: str | None
    plan_version: int | None


class TimelineReading(ReadingRead):
    type: Literal["reading"] = "reading"
    at: AwareDatetime = Field(description="when it was measured")


class TimelineReport(ReportRead):
    type: Literal["report"] = "report"
    at: AwareDatetime = Field(description="when it was answered")


class TimelineAlertEvent(BaseModel):
    """Something that happened to an alert: opened, raised, back in range, acknowledged, …"""

    model_config = ConfigDict(frozen=True)

    type: Literal["alert_event"] = "alert_event"
    at: AwareDatetime
    id: int
    alert_id: str
    rule_id: str
    event: str
    by: str | None
    by_person: PersonRead | None = Field(
        default=None, description="who did it: name and role; null when the service did it"
    )
    from_state: AlertState | None
    to_state: AlertState
    colour: Colour
    note: str


class TimelineAlertAction(BaseModel):
    """What a nurse did about an alert."""

    model_config = ConfigDict(frozen=True)

    type: Literal["alert_action"] = "alert_action"
    at: AwareDatetime
    id: int
    alert_id: str
    by: str = Field(description="the user id of the nurse")
    by_person: PersonRead | None = Field(default=None, description="the nurse: name and role")
    outcome: str
    note: str


TimelineItem = Annotated[
    TimelineReading | TimelineReport | TimelineAlertEvent | TimelineAlertAction,
    Field(discriminator="type"),
]


class DeadLetterRead(BaseModel):
    """A message that could not be stored, why, and (the start of) what it said."""

    model_config = ConfigDict(frozen=True)

    id: int
    received_at: AwareDatetime
    source: str
    topic: str | None
    gateway_id: str | None
    message_id: str | None
    reason_code: str
    reason: str
    payload: str = Field(description="UTF-8 (invalid bytes replaced), at most 2 KiB")
    payload_bytes: int = Field(description="the size of the whole payload")
    payload_truncated: bool
