"""QuestionnaireResponse for a report (a patient's answers), and the score Observation.

DHO's questionnaires (triage.domain.questionnaires: ``copd-daily``, ``hf-daily``) are its own,
not validated instruments with LOINC codes: the response names the questionnaire by a DHO
canonical (``urn:dho:questionnaire:<id>|<version>``), each answer is a Coding in a code system
per questionnaire (``urn:dho:code:questionnaire:<id>``, code = the option's value, display =
its bokmål words). The score is a ``survey`` Observation with the DHO code of the
questionnaire, ``valueInteger``, ``derivedFrom`` the response and ``interpretation`` from the
report's colour (the score bands: yellow A, red AA, green N).
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any, Final

from triage.domain.questionnaires import BUILTIN_QUESTIONNAIRES, Questionnaire
from triage.fhir.codes import INTERPRETATION_CONCEPT, INTERPRETATION_RANK, category_concept
from triage.fhir.ids import REPORT_SYSTEM, logical_id
from triage.fhir.observations import interpretations
from triage.fhir.references import LOCAL, References
from triage.fhir.sources import ReportSource
from triage.fhir.times import fhir_datetime

QUESTIONNAIRE_URL: Final = "urn:dho:questionnaire:"
ANSWER_SYSTEM: Final = "urn:dho:code:questionnaire:"
SCORE_SYSTEM: Final = "urn:dho:code:questionnaire-score"
#: the part of the score Observation's logical id and identifier
SCORE_PART: Final = "score"
_SURVEY: Final = [category_concept("survey")]


def questionnaire_canonical(questionnaire_id: str) -> str:
    """``urn:dho:questionnaire:<id>|<version>`` (no version for one DHO does not know)."""
    known = BUILTIN_QUESTIONNAIRES.get(questionnaire_id)
    url = QUESTIONNAIRE_URL + questionnaire_id
    return url if known is None else f"{url}|{known.version}"


def _normalised(value: Any) -> str | None:
    if isinstance(value, bool):
        return "yes" if value else "no"
    if isinstance(value, int):
        return str(value)
    if isinstance(value, str):
        return value
    return None


def _raw_answer(value: Any) -> dict[str, Any]:
    if isinstance(value, bool):
        return {"valueBoolean": value}
    if isinstance(value, int):
        return {"valueInteger": value}
    return {"valueString": str(value)}


def _items(questionnaire: Questionnaire | None, answers: Mapping[str, Any]) -> list[Any]:
    items: list[dict[str, Any]] = []
    if questionnaire is not None:
        system = ANSWER_SYSTEM + questionnaire.id
        for question in questionnaire.items:
            if question.id not in answers:
                continue
            raw = answers[question.id]
            value = _normalised(raw)
            option = question.option(value) if value is not None else None
            answer = (
                {
                    "valueCoding": {
                        "system": system,
                        "code": option.value,
                        "display": option.label.nb,
                    }
                }
                if option is not None
                else _raw_answer(raw)
            )
            items.append({"linkId": question.id, "text": question.text.nb, "answer": [answer]})
        known = {q.id for q in questionnaire.items}
    else:
        known = set()
    for key in sorted(k for k in answers if k not in known):
        items.append({"linkId": str(key), "answer": [_raw_answer(answers[key])]})
    return items


def _based_on(report: ReportSource, refs: References) -> list[dict[str, Any]] | None:
    """The plan version that scheduled and scored the report (the CarePlan)."""
    if report.plan_id is None or report.plan_version is None:
        return None
    return [refs.to("CarePlan", report.plan_id, f"v{report.plan_version}")]


def questionnaire_response(
    report: ReportSource, refs: References = LOCAL, *, timezone: str = "Europe/Oslo"
) -> dict[str, Any]:
    """The report as a completed QuestionnaireResponse; ``timezone``: the patient's zone
    (reports keep none), for ``authored``."""
    questionnaire = BUILTIN_QUESTIONNAIRES.get(report.questionnaire)
    resource: dict[str, Any] = {
        "resourceType": "QuestionnaireResponse",
        "id": logical_id(report.id),
        "identifier": {"system": REPORT_SYSTEM, "value": report.id},
    }
    based_on = _based_on(report, refs)
    if based_on is not None:
        resource["basedOn"] = based_on
    resource |= {
        "questionnaire": questionnaire_canonical(report.questionnaire),
        "status": "completed",
        "subject": refs.patient(report.patient_id),
        "authored": fhir_datetime(report.answered_at, timezone),
        "author": refs.patient(report.patient_id),
        "source": refs.patient(report.patient_id),
    }
    items = _items(questionnaire, report.answers)
    if items:
        resource["item"] = items
    return resource


def report_observation(
    report: ReportSource, refs: References = LOCAL, *, timezone: str = "Europe/Oslo"
) -> dict[str, Any] | None:
    """The report's score as an Observation; None when it has none."""
    if report.score is None:
        return None
    questionnaire = BUILTIN_QUESTIONNAIRES.get(report.questionnaire)
    title = questionnaire.title.nb if questionnaire is not None else report.questionnaire
    observation: dict[str, Any] = {
        "resourceType": "Observation",
        "id": logical_id(report.id, SCORE_PART),
        "identifier": [{"system": REPORT_SYSTEM, "value": f"{report.id}:{SCORE_PART}"}],
    }
    based_on = _based_on(report, refs)
    if based_on is not None:
        observation["basedOn"] = based_on
    observation |= {
        "status": "final",
        "category": _SURVEY,
        "code": {
            "coding": [
                {"system": SCORE_SYSTEM, "code": report.questionnaire, "display": f"{title}: sum"}
            ],
            "text": f"{title}: sum",
        },
        "subject": refs.patient(report.patient_id),
        "effectiveDateTime": fhir_datetime(report.answered_at, timezone),
        "valueInteger": report.score,
    }
    # the score's own verdict: the questionnaire rule's findings (a combination or NEWS2
    # finding on the same report is about more than this score)
    own = [
        f
        for f in report.findings
        if isinstance(f, Mapping) and f.get("rule_type") == "questionnaire"
    ]
    worst = None
    for code in interpretations(own).values():
        if worst is None or INTERPRETATION_RANK[code] > INTERPRETATION_RANK[worst]:
            worst = code
    if worst is None and report.colour is not None:
        worst = {"green": "N", "yellow": "A", "red": "AA"}.get(report.colour)
    if worst is not None:
        observation["interpretation"] = [INTERPRETATION_CONCEPT[worst]]
    observation["derivedFrom"] = [refs.to("QuestionnaireResponse", report.id)]
    return observation
