"""One example of every resource the mapping makes, from fixed sample rows (synthetic: the
fødselsnummer is a test identity with the month + 80, the HPR number made up).

docs/fhir.md shows these (a test checks the document's examples are exactly what
:func:`examples` returns), and the tests start from the same sample rows.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any

from triage.domain.plan import approve
from triage.domain.templates import template
from triage.fhir.alerts import closing_note, detected_issue
from triage.fhir.bundles import journal_transaction, searchset
from triage.fhir.capability import capability_statement
from triage.fhir.care_plans import care_plan, goals
from triage.fhir.flags import colour_flag
from triage.fhir.observations import reading_observations
from triage.fhir.outcomes import operation_outcome
from triage.fhir.patients import gateway_device, meter_device, patient, practitioner
from triage.fhir.questionnaires import questionnaire_response, report_observation

T0 = datetime(2026, 12, 7, 7, 15, tzinfo=UTC)  # 08:15 in Oslo


@dataclass(frozen=True)
class SampleReading:
    id: str = "0b8f5f9e-6d1c-5a8e-9a43-3f1e2d7c9b10"
    patient_id: str = "pat-kari"
    gateway_id: str = "gw-kari"
    kind: str = "blood_pressure"
    values: Mapping[str, Any] = field(
        default_factory=lambda: {"systolic": 182.0, "diastolic": 96.0, "pulse": 78.0}
    )
    device: Mapping[str, Any] = field(
        default_factory=lambda: {
            "profile": "blood_pressure",
            "address": "00:5F:BF:12:34:56",
            "model": "Omron M7 Intelli IT",
        }
    )
    measured_at: datetime = T0
    timezone: str = "Europe/Oslo"
    colour: str | None = "red"
    findings: Sequence[Any] = field(
        default_factory=lambda: [
            {
                "rule_id": "threshold:systolic",
                "rule_type": "threshold",
                "colour": "red",
                "at": T0.isoformat(),
                "plan_id": "plan-kari",
                "plan_version": 2,
                "parameter": "systolic",
                "value": 182.0,
                "bound": "≥ 180 mmHg",
                "message": "threshold",
                "args": {"bound": 180.0, "bound_op": "ge"},
            },
            {
                "rule_id": "threshold:pulse",
                "rule_type": "threshold",
                "colour": "green",
                "at": T0.isoformat(),
                "plan_id": "plan-kari",
                "plan_version": 2,
                "parameter": "pulse",
                "value": 78.0,
                "message": "threshold.green",
                "args": {},
            },
        ]
    )
    flags: Sequence[Any] = ()
    plan_id: str | None = "plan-kari"
    plan_version: int | None = 2


@dataclass(frozen=True)
class SampleReport:
    id: str = "rep-0001"
    patient_id: str = "pat-kari"
    gateway_id: str = "gw-kari"
    questionnaire: str = "copd-daily"
    answered_at: datetime = T0
    answers: Mapping[str, Any] = field(
        default_factory=lambda: {
            "breathlessness": "more",
            "cough": "more",
            "sputum_amount": "as_usual",
            "sputum_colour": "usual",
            "reliever_use": "more",
            "sleep": "as_usual",
            "overall": "as_usual",
            "chest_pain": False,
            "new_confusion": False,
        }
    )
    score: int | None = 3
    colour: str | None = "yellow"
    findings: Sequence[Any] = field(
        default_factory=lambda: [
            {
                "rule_id": "copd-daily",
                "rule_type": "questionnaire",
                "colour": "yellow",
                "at": T0.isoformat(),
                "plan_id": "plan-kari",
                "plan_version": 2,
                "value": 3.0,
                "message": "questionnaire.yellow",
                "args": {"questionnaire": "copd-daily", "total": 3, "from_plan": False, "at": 3},
            }
        ]
    )
    flags: Sequence[Any] = ()
    plan_id: str | None = "plan-kari"
    plan_version: int | None = 2


@dataclass(frozen=True)
class SamplePatient:
    id: str = "pat-kari"
    display_name: str = "Kari Nordmann"
    national_id: str | None = "03834030100"
    gp_user_id: str | None = "usr-gp"
    state: str = "active"
    timezone: str = "Europe/Oslo"
    municipality_id: str = "mun-fjordvik"
    centre_id: str = "centre-fjordvik"


@dataclass(frozen=True)
class SamplePerson:
    id: str = "usr-gp"
    display_name: str = "Lege Lise Berg"
    hpr_number: str | None = "9144900"
    role: str = "gp"


@dataclass(frozen=True)
class SampleGateway:
    id: str = "gw-kari"
    patient_id: str | None = "pat-kari"
    status: Mapping[str, Any] = field(default_factory=lambda: {"online": True, "depth": 0})
    revoked_at: datetime | None = None
    online: bool = True
    last_seen_at: datetime | None = T0


def sample_plan_document(condition: str = "copd", plan_id: str = "plan-kari") -> dict[str, Any]:
    """A condition template, approved, as stored (dho.plan/1 JSON)."""
    draft = template(condition).model_copy(
        update={"plan_id": plan_id, "version": 2, "goal": "Klare å gå til butikken selv"}
    )
    approved = approve(draft, by="lise.berg", role="gp", at=datetime(2026, 12, 1, 9, tzinfo=UTC))
    return approved.model_dump(mode="json", by_alias=True)


@dataclass(frozen=True)
class SamplePlanVersion:
    plan_id: str = "plan-kari"
    version: int = 2
    status: str = "approved"
    document: Mapping[str, Any] = field(default_factory=sample_plan_document)
    created_at: datetime = datetime(2026, 11, 30, 13, tzinfo=UTC)
    approved_at: datetime | None = datetime(2026, 12, 1, 9, tzinfo=UTC)
    approved_by: str | None = "lise.berg"
    retired_at: datetime | None = None


@dataclass(frozen=True)
class SampleAlert:
    id: str = "alt-0001"
    patient_id: str = "pat-kari"
    rule_id: str = "threshold:systolic"
    rule_type: str = "threshold"
    category: str = "clinical"
    colour: str = "red"
    state: str = "resolved"
    opened_at: datetime = T0
    last_breach_at: datetime = T0
    reason: Mapping[str, Any] = field(default_factory=lambda: dict(SampleReading().findings[0]))
    resolved_at: datetime | None = datetime(2026, 12, 7, 8, 2, tzinfo=UTC)
    resolved_by: str | None = "nina.nurse"


@dataclass(frozen=True)
class SampleAction:
    alert_id: str = "alt-0001"
    at: datetime = datetime(2026, 12, 7, 7, 40, tzinfo=UTC)
    by: str = "usr-nurse"
    outcome: str = "phoned_patient"
    note: str = "Ringte pasienten. Målte på nytt: 158/88. Avtalt ny måling i kveld."


NURSE = SamplePerson(id="usr-nurse", display_name="Nina Sykepleier", hpr_number="9144901")


def examples() -> dict[str, dict[str, Any]]:
    """One resource of each kind the mapping makes, by a short title."""
    reading = SampleReading()
    report = SampleReport()
    gp = SamplePerson()
    alert = SampleAlert()
    action = SampleAction()
    blood_pressure, heart_rate = reading_observations(reading)
    response = questionnaire_response(report)
    score = report_observation(report)
    assert score is not None  # noqa: S101 - the sample report has a score
    version = SamplePlanVersion()
    people = {NURSE.id: NURSE}
    implicated = [f"Observation/{blood_pressure['id']}"]
    return {
        "Patient": patient(SamplePatient(), gp),
        "Practitioner": practitioner(gp),
        "Device (meter)": _present(meter_device(reading.patient_id, reading.device)),
        "Device (gateway)": gateway_device(SampleGateway()),
        "Observation (blood pressure)": blood_pressure,
        "Observation (heart rate)": heart_rate,
        "QuestionnaireResponse": response,
        "Observation (questionnaire score)": score,
        "CarePlan": care_plan(version, "pat-kari"),
        "Goal": goals(version, "pat-kari")[0],
        "Flag": colour_flag("pat-kari", "red", T0),
        "DetectedIssue": detected_issue(alert, implicated, actions=[action], people=people),
        "Composition": closing_note(alert, [action], NURSE),
        "Bundle (journal transaction)": journal_transaction(
            alert, [action], NURSE, SamplePatient(), [reading], [], people=people
        ),
        "Bundle (searchset)": searchset(
            [heart_rate],
            total=1,
            self_url="https://dho.example/fhir/r4/Observation?patient=pat-kari&code=8867-4",
            next_url=None,
            base_url="https://dho.example/fhir/r4",
        ),
        "OperationOutcome": operation_outcome("not-found", "Patient/pat-ukjent finnes ikke"),
        "CapabilityStatement": capability_statement("https://dho.example/fhir/r4", "0.19.0"),
    }


def _present(resource: dict[str, Any] | None) -> dict[str, Any]:
    if resource is None:
        raise ValueError("the sample reading names a meter")
    return resource
