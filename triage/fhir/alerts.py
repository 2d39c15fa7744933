"""DetectedIssue for an alert, and the Composition note written when it is closed.

VKP's DHO guide journals an alert when it is *closed*: a DetectedIssue (severity from the
colour, ``implicated`` the Observation or QuestionnaireResponse, ``detail`` the reason in
words), the data it is about, and a note of what was done. The alert type is coded in DHO's own
code system (``urn:dho:code:alert-type``; VKP's own codes are configuration: pass
``code_system``), keeping apart, as the guide does, an out-of-range value, a missing
measurement, a missing questionnaire and lost contact (an inactive patient).
"""

from __future__ import annotations

import html
from collections.abc import Mapping, Sequence
from datetime import datetime
from types import MappingProxyType
from typing import Any, Final

from pydantic import ValidationError

from triage.domain.findings import Finding
from triage.domain.programme import CODE_LABELS, Coded
from triage.fhir.codes import LOINC
from triage.fhir.ids import ALERT_NOTE_SYSTEM, ALERT_SYSTEM, logical_id
from triage.fhir.patients import person_reference
from triage.fhir.references import LOCAL, References
from triage.fhir.sources import AlertActionSource, AlertSource, PersonSource
from triage.fhir.times import fhir_datetime, nb_datetime
from triage.texts.findings import reason

ALERT_TYPE_SYSTEM: Final = "urn:dho:code:alert-type"
OUTCOME_SYSTEM: Final = "urn:dho:code:alert-outcome"
#: the alert types: code → (display in bokmål, display in English)
ALERT_TYPES: Final = MappingProxyType(
    {
        "threshold": ("Måling utenfor grenseverdi", "Measurement out of range"),
        "trend": ("Endring over tid", "Change over time"),
        "baseline": ("Avvik fra eget nivå", "Deviation from own baseline"),
        "combination": ("Flere avvik samtidig", "Several deviations together"),
        "questionnaire": ("Avvik i spørreskjema", "Questionnaire deviation"),
        "news2": ("NEWS2-risiko", "NEWS2 risk"),
        "missing-measurement": ("Manglende måling", "Missing measurement"),
        "missing-questionnaire": ("Manglende spørreskjema", "Missing questionnaire"),
        "lost-contact": (
            "Inaktiv pasient: mistet kontakt med utstyret",
            "Inactive patient: lost contact with the equipment",
        ),
        "notification": ("Varsel nådde ingen", "Notification reached nobody"),
        "journal": ("Journalføring feilet", "Journal write-back failed"),
    }
)
#: severity by colour (a green alert — back in range, not yet closed — is low)
SEVERITY: Final = MappingProxyType({"red": "high", "yellow": "moderate", "green": "low"})
#: the note's document type: LOINC 34109-9 "Note"
NOTE_TYPE: Final = {
    "coding": [{"system": LOINC, "code": "34109-9", "display": "Note"}],
    "text": "Avslutningsnotat for varsel",
}


def alert_type(alert: AlertSource) -> str:
    """The alert's type code: its rule type, the missing-measurement rule split into a
    measurement and a questionnaire (``missing:questionnaire:<id>`` rule ids), lost contact
    as ``lost-contact``."""
    rule_type = alert.rule_type
    if rule_type == "missing":
        parts = alert.rule_id.split(":")
        return "missing-questionnaire" if "questionnaire" in parts[1:2] else "missing-measurement"
    if rule_type == "lost_contact":
        return "lost-contact"
    return rule_type  # a rule type this table does not know yet keeps its own name


def alert_type_words(code: str) -> str:
    """The alert type in bokmål ("Varsel" for a type the table does not know)."""
    words = ALERT_TYPES.get(code)
    return words[0] if words is not None else "Varsel"


def alert_reason(alert: AlertSource) -> str:
    """The alert's reason in bokmål, rendered from the catalogue as the dashboard shows it
    (decimal comma); the stored words when the finding cannot be read or put into words."""
    try:
        return fhir_string(reason(Finding.model_validate(dict(alert.reason)), "nb"))
    except (ValidationError, KeyError):
        stored = alert.reason.get("text")
        if isinstance(stored, Mapping) and isinstance(stored.get("nb"), str):
            return fhir_string(str(stored["nb"]))
        return ""


def fhir_string(text: str) -> str:
    """``text`` as a FHIR string: Babel's no-break spaces (between a number and its unit)
    become plain spaces — the FHIR R4 JSON Schema's string pattern ``[ \\r\\n\\t\\S]+``
    has no other whitespace."""
    return text.replace("\u00a0", " ").replace("\u202f", " ")


def outcome_words(outcome: str) -> str:
    """The outcome code in bokmål, as the programme's figures name it."""
    label = CODE_LABELS[Coded.OUTCOME].get(outcome)
    return label.nb if label is not None else outcome


def _outcome_concept(outcome: str) -> dict[str, Any]:
    return {
        "coding": [{"system": OUTCOME_SYSTEM, "code": outcome, "display": outcome_words(outcome)}],
        "text": outcome_words(outcome),
    }


def _author(
    by: str, people: Mapping[str, PersonSource], closer: PersonSource | None
) -> dict[str, Any]:
    person = people.get(by) or (closer if closer is not None and closer.id == by else None)
    if person is not None:
        return person_reference(person)
    return {"type": "Practitioner", "display": by}


def detected_issue(
    alert: AlertSource,
    implicated: Sequence[str],
    refs: References = LOCAL,
    *,
    actions: Sequence[AlertActionSource] = (),
    people: Mapping[str, PersonSource] | None = None,
    timezone: str = "Europe/Oslo",
    code_system: str = ALERT_TYPE_SYSTEM,
) -> dict[str, Any]:
    """The alert as a DetectedIssue.

    ``implicated``: the references (already formatted: "Observation/<id>", "urn:uuid:…") of
    the readings' Observations and reports' QuestionnaireResponses it is about. ``actions``
    (what the nurses did) become ``mitigation``; ``people`` names their authors by user id.
    Status: ``final`` once resolved, ``preliminary`` while open.
    """
    code = alert_type(alert)
    nb = alert_type_words(code)
    issue: dict[str, Any] = {
        "resourceType": "DetectedIssue",
        "id": logical_id(alert.id),
        "identifier": [{"system": ALERT_SYSTEM, "value": alert.id}],
        "status": "final" if alert.state == "resolved" else "preliminary",
        "code": {"coding": [{"system": code_system, "code": code, "display": nb}], "text": nb},
        "severity": SEVERITY.get(alert.colour, "moderate"),
        "patient": refs.patient(alert.patient_id),
        "identifiedDateTime": fhir_datetime(alert.opened_at, timezone),
    }
    if implicated:
        issue["implicated"] = [{"reference": r} for r in implicated]
    plan_id, plan_version = alert.reason.get("plan_id"), alert.reason.get("plan_version")
    if isinstance(plan_id, str) and isinstance(plan_version, int):
        # the plan version whose rule raised it: a deviation from that CarePlan
        issue["evidence"] = [{"detail": [refs.to("CarePlan", plan_id, f"v{plan_version}")]}]
    detail = alert_reason(alert)
    if detail:
        issue["detail"] = detail
    if actions:
        known = people or {}
        issue["mitigation"] = [
            {
                "action": _outcome_concept(action.outcome),
                "date": fhir_datetime(action.at, timezone),
                "author": _author(action.by, known, None),
            }
            for action in actions
        ]
    return issue


def _closed_at(alert: AlertSource, actions: Sequence[AlertActionSource]) -> datetime:
    if alert.resolved_at is not None:
        return alert.resolved_at
    if actions:
        return max(action.at for action in actions)
    return alert.last_breach_at


def closing_note(
    alert: AlertSource,
    actions: Sequence[AlertActionSource],
    closer: PersonSource | None,
    refs: References = LOCAL,
    *,
    people: Mapping[str, PersonSource] | None = None,
    timezone: str = "Europe/Oslo",
) -> dict[str, Any]:
    """The Composition written when the alert is closed: who closed it (the Practitioner by
    HPR number, else by name), when, each action's outcome code and note, and the reason, with
    a narrative."""
    known = dict(people or {})
    if closer is not None:
        known.setdefault(closer.id, closer)
    if closer is not None:
        author = person_reference(closer)
    elif alert.resolved_by:
        author = {"type": "Practitioner", "display": alert.resolved_by}
    else:
        author = {"type": "Organization", "display": "DHO"}
    closed_at = _closed_at(alert, actions)
    closed = fhir_datetime(closed_at, timezone)
    code = alert_type(alert)
    title = f"Varsel avsluttet: {alert_type_words(code).lower()}"
    why = alert_reason(alert)
    sections: list[dict[str, Any]] = []
    for action in actions:
        who = _author(action.by, known, closer).get("display", action.by)
        when = nb_datetime(action.at, timezone)
        words = outcome_words(action.outcome)
        line = f"{when} {who}: {words}." + (f" {fhir_string(action.note)}" if action.note else "")
        sections.append(
            {
                "title": words,
                "code": _outcome_concept(action.outcome),
                "author": [_author(action.by, known, closer)],
                "text": {"status": "generated", "div": _div([line])},
            }
        )
    sections.append(
        {
            "title": "Varsel",
            "text": {"status": "generated", "div": _div([why or title])},
            "entry": [refs.to("DetectedIssue", alert.id)],
        }
    )
    who = author.get("display", "")
    summary = [title, f"Avsluttet {nb_datetime(closed_at, timezone)} av {who}."] + (
        [f"Årsak: {why}"] if why else []
    )
    summary += [
        f"Utfall: {outcome_words(a.outcome)}." + (f" {fhir_string(a.note)}" if a.note else "")
        for a in actions
    ]
    return {
        "resourceType": "Composition",
        "id": logical_id(alert.id, "note"),
        "identifier": {"system": ALERT_NOTE_SYSTEM, "value": alert.id},
        "text": {"status": "generated", "div": _div(summary)},
        "status": "final",
        "type": NOTE_TYPE,
        "subject": refs.patient(alert.patient_id),
        "date": closed,
        "author": [author],
        "title": title,
        "section": sections,
    }


def _div(lines: Sequence[str]) -> str:
    body = "".join(f"<p>{html.escape(line)}</p>" for line in lines)
    return f'<div xmlns="http://www.w3.org/1999/xhtml">{body}</div>'
