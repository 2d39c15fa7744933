"""CarePlan and Goals for a version of a patient's self-management plan (dho.plan/1).

- Each parameter with threshold zones gives two Goals: "in the green zone" (priority medium)
  and, when the plan has red bounds beyond the yellow ones, "out of the red zone" (priority
  high). Their targets are ``detailQuantity`` values in UCUM with a ``comparator``: DHO's bound
  belongs to the worse zone (``yellow_low`` 92 inclusive: 92 is yellow), so the green target is
  "> 92 %"; a non-inclusive bound gives "≥". A ``Range`` cannot say whether its ends are
  included, so the targets are not Ranges. ``yellow_after`` (n of the last m readings) is
  said in the Goal's note.
- The patient's own goal ("what matters to you?") is a Goal of its own, without a target.
- The measurement schedule is ``CarePlan.activity``: one per scheduled kind or questionnaire,
  with a ``Timing`` (days of the week, the time of day the measurement is due by) in the
  plan's zone (said in the description: Timing has no zone).
- What the patient and the nurse do in each zone is in ``CarePlan.note``.

The plan's other rules (trend, baseline, combination, NEWS2, missing measurements) are not
Goals: they say when DHO raises an alert, not what the patient aims at.
"""

from __future__ import annotations

from typing import Any, Final

from triage.domain.colours import Colour
from triage.domain.plan import Limit, ParameterZones, PlanVersion, ScheduledMeasurement
from triage.domain.readings import Kind, Parameter
from triage.fhir.codes import UCUM, codeable_concept, kind_code, parameter_code
from triage.fhir.ids import CAREPLAN_SYSTEM, PLAN_SYSTEM, logical_id
from triage.fhir.observations import fhir_number
from triage.fhir.questionnaires import questionnaire_canonical
from triage.fhir.references import LOCAL, References
from triage.fhir.sources import PlanVersionSource
from triage.fhir.times import fhir_datetime

GOAL_PRIORITY: Final = "http://terminology.hl7.org/CodeSystem/goal-priority"
_DAYS: Final = ("mon", "tue", "wed", "thu", "fri", "sat", "sun")
_DAYS_NB: Final = ("mandag", "tirsdag", "onsdag", "torsdag", "fredag", "lørdag", "søndag")
_KIND_NB: Final = {
    Kind.BLOOD_PRESSURE: "blodtrykk",
    Kind.SPO2: "oksygenmetning (SpO2)",
    Kind.HEART_RATE: "puls",
    Kind.GLUCOSE: "blodsukker",
    Kind.BODY_WEIGHT: "vekt",
    Kind.BODY_TEMPERATURE: "temperatur",
    Kind.RESPIRATORY_RATE: "respirasjonsfrekvens",
    Kind.PEAK_FLOW: "PEF",
}
_CONDITION_NB: Final = {
    "copd": "KOLS",
    "heart_failure": "hjertesvikt",
    "diabetes": "diabetes",
    "hypertension": "høyt blodtrykk",
    "covid19": "covid-19",
}
_STATUS: Final = {"draft": "draft", "approved": "active", "retired": "completed"}
_GOAL_STATUS: Final = {"draft": "proposed", "approved": "active", "retired": "completed"}


def plan_document(version: PlanVersionSource) -> PlanVersion:
    """The stored dho.plan/1 document, read by the domain's own model (its bounds, times and
    defaults mean what the classifier takes them to mean)."""
    return PlanVersion.model_validate(dict(version.document))


def _version_part(version: PlanVersionSource) -> str:
    return f"v{version.version}"


def _quantity(parameter: Parameter, limit: Limit, comparator: str) -> dict[str, Any]:
    return {
        "value": fhir_number(limit.value),
        "comparator": comparator,
        "unit": parameter.unit,
        "system": UCUM,
        "code": parameter.ucum,
    }


def _targets(parameter: Parameter, low: Limit | None, high: Limit | None) -> list[dict[str, Any]]:
    """The values outside the zones that ``low`` and ``high`` start (a bound is in its zone
    when inclusive)."""
    measure = codeable_concept(parameter_code(parameter))
    targets = []
    if low is not None:
        comparator = ">" if low.inclusive else ">="
        targets.append(
            {"measure": measure, "detailQuantity": _quantity(parameter, low, comparator)}
        )
    if high is not None:
        comparator = "<" if high.inclusive else "<="
        targets.append(
            {"measure": measure, "detailQuantity": _quantity(parameter, high, comparator)}
        )
    return targets


def _words(parameter: Parameter, low: Limit | None, high: Limit | None) -> str:
    parts = []
    if low is not None:
        parts.append(
            f"{'over' if low.inclusive else 'minst'} {_nb_number(low.value)} {parameter.unit}"
        )
    if high is not None:
        parts.append(
            f"{'under' if high.inclusive else 'høyst'} {_nb_number(high.value)} {parameter.unit}"
        )
    return " og ".join(parts)


def _nb_number(value: float) -> str:
    """A number as bokmål writes it (decimal comma)."""
    text = f"{value:.2f}".rstrip("0").rstrip(".")
    return text.replace(".", ",")


def _goal(
    version: PlanVersionSource,
    document: PlanVersion,
    patient_id: str,
    refs: References,
    part: str,
    description: str,
    priority: str,
    targets: list[dict[str, Any]],
    note: str | None = None,
) -> dict[str, Any]:
    goal: dict[str, Any] = {
        "resourceType": "Goal",
        "id": logical_id(version.plan_id, f"{_version_part(version)}.{part}"),
        "identifier": [
            {"system": PLAN_SYSTEM, "value": f"{version.plan_id}:{_version_part(version)}:{part}"}
        ],
        "lifecycleStatus": _GOAL_STATUS.get(version.status, "proposed"),
        "priority": {
            "coding": [
                {
                    "system": GOAL_PRIORITY,
                    "code": priority,
                    "display": {
                        "high-priority": "High Priority",
                        "medium-priority": "Medium Priority",
                    }[priority],
                }
            ]
        },
        "description": {"text": description},
        "subject": refs.patient(patient_id),
    }
    approved_at = version.approved_at
    if approved_at is not None:
        goal["startDate"] = fhir_datetime(approved_at, document.schedule.timezone)[:10]
    if targets:
        goal["target"] = targets
    if note:
        goal["note"] = [{"text": note}]
    return goal


def _zone_goals(
    version: PlanVersionSource,
    document: PlanVersion,
    patient_id: str,
    refs: References,
    parameter: Parameter,
    zones: ParameterZones,
) -> list[dict[str, Any]]:
    label = parameter.label_nb
    green_low = zones.yellow_low or zones.red_low
    green_high = zones.yellow_high or zones.red_high
    note = None
    if zones.yellow_after is not None:
        hold = zones.yellow_after
        side = {"low": " (under grønn sone)", "high": " (over grønn sone)", "both": ""}[hold.side]
        note = f"Gul først når {hold.n} av de siste {hold.m} målingene er utenfor grønn sone{side}."
    out = [
        _goal(
            version,
            document,
            patient_id,
            refs,
            f"{_slug(parameter)}.green",
            f"{label} i grønn sone: {_words(parameter, green_low, green_high)}",
            "medium-priority",
            _targets(parameter, green_low, green_high),
            note,
        )
    ]
    has_yellow = zones.yellow_low is not None or zones.yellow_high is not None
    has_red = zones.red_low is not None or zones.red_high is not None
    if has_yellow and has_red:
        out.append(
            _goal(
                version,
                document,
                patient_id,
                refs,
                f"{_slug(parameter)}.not-red",
                f"{label} utenfor rød sone: {_words(parameter, zones.red_low, zones.red_high)}",
                "high-priority",
                _targets(parameter, zones.red_low, zones.red_high),
            )
        )
    return out


def goals(
    version: PlanVersionSource, patient_id: str, refs: References = LOCAL
) -> list[dict[str, Any]]:
    """The plan version's Goals: per parameter with zones, green (and not red); the
    patient's own goal."""
    document = plan_document(version)
    out: list[dict[str, Any]] = []
    for parameter in Parameter:
        zones = document.zones.get(parameter)
        if zones is not None:
            out += _zone_goals(version, document, patient_id, refs, parameter, zones)
    if document.goal.strip():
        own = _goal(
            version,
            document,
            patient_id,
            refs,
            "own",
            document.goal.strip(),
            "high-priority",
            [],
        )
        own["expressedBy"] = refs.patient(patient_id)
        out.append(own)
    return out


def _slug(parameter: Parameter) -> str:
    """The parameter as a piece of a FHIR id ("respiratory-rate": ids have no "_")."""
    return parameter.value.replace("_", "-")


def goal_parts(document: PlanVersion) -> list[str]:
    """The parts of the Goals' ids (``logical_id(plan_id, "v<n>.<part>")``), in order."""
    parts: list[str] = []
    for parameter in Parameter:
        zones = document.zones.get(parameter)
        if zones is None:
            continue
        parts.append(f"{_slug(parameter)}.green")
        has_yellow = zones.yellow_low is not None or zones.yellow_high is not None
        has_red = zones.red_low is not None or zones.red_high is not None
        if has_yellow and has_red:
            parts.append(f"{_slug(parameter)}.not-red")
    if document.goal.strip():
        parts.append("own")
    return parts


def _timing(item: ScheduledMeasurement) -> dict[str, Any]:
    return {
        "repeat": {
            "frequency": 1,
            "period": 1,
            "periodUnit": "d",
            "dayOfWeek": [_DAYS[d - 1] for d in item.days],
            "timeOfDay": [item.due_by.strftime("%H:%M:%S")],
        }
    }


def _days_nb(days: tuple[int, ...]) -> str:
    if len(days) == 7:
        return "hver dag"
    names = [_DAYS_NB[d - 1] for d in days]
    return names[0] if len(names) == 1 else ", ".join(names[:-1]) + " og " + names[-1]


def _activities(document: PlanVersion, patient_id: str, refs: References) -> list[dict[str, Any]]:
    zone = document.schedule.timezone
    out: list[dict[str, Any]] = []
    for item in document.schedule.items:
        when = f"innen kl. {item.due_by:%H:%M}, {_days_nb(item.days)} ({zone})"
        for kind in item.kinds:
            out.append(
                {
                    "detail": {
                        "code": codeable_concept(kind_code(kind)),
                        "status": "scheduled",
                        "scheduledTiming": _timing(item),
                        "performer": [refs.patient(patient_id)],
                        "description": f"Mål {_KIND_NB[kind]} {when}",
                    }
                }
            )
        if item.questionnaire is not None:
            out.append(
                {
                    "detail": {
                        "instantiatesCanonical": [questionnaire_canonical(item.questionnaire)],
                        "code": {"text": f"Spørreskjema {item.questionnaire}"},
                        "status": "scheduled",
                        "scheduledTiming": _timing(item),
                        "performer": [refs.patient(patient_id)],
                        "description": f"Svar på spørreskjemaet {item.questionnaire} {when}",
                    }
                }
            )
    return out


def _notes(document: PlanVersion) -> list[dict[str, Any]]:
    words = {Colour.GREEN: "Grønn", Colour.YELLOW: "Gul", Colour.RED: "Rød"}
    notes = []
    for colour in (Colour.GREEN, Colour.YELLOW, Colour.RED):
        actions = document.actions.get(colour)
        if actions is None:
            continue
        text = f"{words[colour]} sone. Pasienten: {actions.patient.nb}"
        notes.append({"text": f"{text} Sykepleier: {actions.nurse.nb}"})
    return notes


def care_plan(
    version: PlanVersionSource, patient_id: str, refs: References = LOCAL
) -> dict[str, Any]:
    """The plan version as a CarePlan: active when approved, completed when retired."""
    document = plan_document(version)
    zone = document.schedule.timezone
    part = _version_part(version)
    condition = document.condition.value if document.condition is not None else None
    plan: dict[str, Any] = {
        "resourceType": "CarePlan",
        "id": logical_id(version.plan_id, part),
        "identifier": [
            {"system": PLAN_SYSTEM, "value": f"{version.plan_id}:{part}"},
            # how a resource outside DHO's API (the journal Bundle) names this CarePlan
            {"system": CAREPLAN_SYSTEM, "value": logical_id(version.plan_id, part)},
        ],
        "status": _STATUS.get(version.status, "unknown"),
        "intent": "plan",
        "category": [{"text": "Egenbehandlingsplan"}],
        "title": f"Egenbehandlingsplan v{version.version}",
    }
    if condition is not None:
        plan["description"] = f"Oppfølging med digital hjemmeoppfølging: {_CONDITION_NB[condition]}"
    plan["subject"] = refs.patient(patient_id)
    period: dict[str, Any] = {}
    if version.approved_at is not None:
        period["start"] = fhir_datetime(version.approved_at, zone)
    if version.retired_at is not None:
        period["end"] = fhir_datetime(version.retired_at, zone)
    if period:
        plan["period"] = period
    plan["created"] = fhir_datetime(version.created_at, zone)
    if version.approved_by:
        plan["author"] = {"display": version.approved_by}
    goal_refs = [
        refs.to("Goal", version.plan_id, f"{part}.{goal_part}")
        for goal_part in goal_parts(document)
    ]
    if goal_refs:
        plan["goal"] = goal_refs
    activities = _activities(document, patient_id, refs)
    if activities:
        plan["activity"] = activities
    notes = _notes(document)
    if notes:
        plan["note"] = notes
    return plan
