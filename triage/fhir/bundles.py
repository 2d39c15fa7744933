"""Bundles: the REST API's ``searchset`` and the journal's VKP-shaped ``transaction``.

The journal transaction holds, for one closed alert, the DetectedIssue, the Observations and
QuestionnaireResponses it is about and the closing Composition. Every entry's ``fullUrl`` is a
``urn:uuid`` derived deterministically from its resource's type and id (a re-sent Bundle is the
same Bundle), its request a conditional create (``POST`` with ``ifNoneExist:
identifier=<system>|<value>``), and references between entries use those urn:uuids. The
Patient is not in the Bundle: it is referenced by its fødselsnummer (the receiving journal
knows the patient by it), DHO's own patient id when there is none. Devices and other resources
outside the Bundle are referenced by identifier.
"""

from __future__ import annotations

import uuid
from collections.abc import Iterable, Mapping, Sequence
from typing import Any, Final

from triage.fhir.alerts import _closed_at, closing_note, detected_issue
from triage.fhir.ids import FNR_SYSTEM, PATIENT_SYSTEM, logical_id
from triage.fhir.observations import reading_observations
from triage.fhir.questionnaires import questionnaire_response, report_observation
from triage.fhir.references import LOCAL, References
from triage.fhir.sources import (
    AlertActionSource,
    AlertSource,
    PatientSource,
    PersonSource,
    ReadingSource,
    ReportSource,
)
from triage.fhir.times import fhir_instant

#: the namespace of the journal Bundle's urn:uuids (uuid5 of "<type>/<logical id>")
FULL_URL_NAMESPACE: Final = uuid.uuid5(uuid.NAMESPACE_URL, "urn:dho:fhir")
JOURNAL_SYSTEM: Final = "urn:dho:journal"


def full_url(resource_type: str, resource_id: str) -> str:
    """The deterministic ``urn:uuid:`` of a resource in a journal Bundle."""
    return "urn:uuid:" + str(uuid.uuid5(FULL_URL_NAMESPACE, f"{resource_type}/{resource_id}"))


def searchset(
    resources: Sequence[dict[str, Any]],
    *,
    total: int | None,
    self_url: str,
    next_url: str | None,
    base_url: str | None = None,
    included: Sequence[dict[str, Any]] = (),
) -> dict[str, Any]:
    """A search result page: ``resources`` (mode match, then ``included``: mode include),
    ``link`` self and next, ``total`` when known. With ``base_url`` ("https://…/fhir/r4")
    each entry has its ``fullUrl``."""
    links = [{"relation": "self", "url": self_url}]
    if next_url is not None:
        links.append({"relation": "next", "url": next_url})
    bundle: dict[str, Any] = {"resourceType": "Bundle", "type": "searchset"}
    if total is not None:
        bundle["total"] = total
    bundle["link"] = links
    entries = []
    for mode, group in (("match", resources), ("include", included)):
        for resource in group:
            entry: dict[str, Any] = {}
            if base_url is not None:
                entry["fullUrl"] = (
                    f"{base_url.rstrip('/')}/{resource['resourceType']}/{resource['id']}"
                )
            entry["resource"] = resource
            entry["search"] = {"mode": mode}
            entries.append(entry)
    if entries:
        bundle["entry"] = entries
    return bundle


class BundleReferences:
    """References inside a journal transaction: urn:uuid for a resource in the Bundle, the
    Patient by fødselsnummer, anything else by an identifier ``urn:dho:<type>|<logical id>``."""

    def __init__(self, patient: PatientSource, included: Iterable[tuple[str, str]]) -> None:
        if patient.national_id:
            self._patient = {"system": FNR_SYSTEM, "value": patient.national_id}
        else:
            self._patient = {"system": PATIENT_SYSTEM, "value": patient.id}
        self._patient_id = patient.id
        self._included = frozenset(included)

    def patient(self, patient_id: str) -> dict[str, Any]:
        if patient_id != self._patient_id:
            raise ValueError(f"a journal Bundle is about one patient, not {patient_id!r}")
        return {"type": "Patient", "identifier": dict(self._patient)}

    def to(self, resource_type: str, source_id: str, part: str | None = None) -> dict[str, Any]:
        resource_id = logical_id(source_id, part)
        if (resource_type, resource_id) in self._included:
            return {"reference": full_url(resource_type, resource_id)}
        return {
            "type": resource_type,
            "identifier": {"system": f"urn:dho:{resource_type.lower()}", "value": resource_id},
        }


def _identifier(resource: Mapping[str, Any]) -> tuple[str, str]:
    identifier = resource["identifier"]
    first = identifier[0] if isinstance(identifier, list) else identifier
    return str(first["system"]), str(first["value"])


def _data(
    readings: Sequence[ReadingSource],
    reports: Sequence[ReportSource],
    refs: References,
    timezone: str,
) -> tuple[list[dict[str, Any]], list[str]]:
    """The readings' Observations and the reports' responses (+ score Observations), and the
    references the DetectedIssue implicates (each reading's main Observation, each response)."""
    resources: list[dict[str, Any]] = []
    implicated: list[str] = []
    for reading in readings:
        observations = reading_observations(reading, refs)
        resources += observations
        if observations:
            implicated.append(_ref(refs.to("Observation", observations[0]["id"])))
    for report in reports:
        response = questionnaire_response(report, refs, timezone=timezone)
        resources.append(response)
        implicated.append(_ref(refs.to("QuestionnaireResponse", response["id"])))
        score = report_observation(report, refs, timezone=timezone)
        if score is not None:
            resources.append(score)
    return resources, implicated


def _ref(reference: Mapping[str, Any]) -> str:
    value = reference.get("reference")
    if not isinstance(value, str):
        raise ValueError(f"not a literal reference: {reference!r}")
    return value


def journal_transaction(
    alert: AlertSource,
    actions: Sequence[AlertActionSource],
    closer: PersonSource | None,
    patient: PatientSource,
    readings: Sequence[ReadingSource],
    reports: Sequence[ReportSource],
    *,
    people: Mapping[str, PersonSource] | None = None,
) -> dict[str, Any]:
    """The VKP-shaped transaction Bundle for a closed alert: the DetectedIssue, the
    Observations/QuestionnaireResponses it is about, and the closing Composition, each a
    conditional create on its identifier. The same rows give the same Bundle, byte for byte."""
    if alert.patient_id != patient.id:
        raise ValueError(f"alert {alert.id!r} is not about patient {patient.id!r}")
    timezone = patient.timezone
    # first pass: which resources the Bundle holds (their ids do not depend on references)
    data, _ = _data(readings, reports, LOCAL, timezone)
    included = {(r["resourceType"], r["id"]) for r in data}
    included.add(("DetectedIssue", logical_id(alert.id)))
    included.add(("Composition", logical_id(alert.id, "note")))
    refs = BundleReferences(patient, included)
    data, implicated = _data(readings, reports, refs, timezone)
    issue = detected_issue(
        alert, implicated, refs, actions=actions, people=people, timezone=timezone
    )
    note = closing_note(alert, actions, closer, refs, people=people, timezone=timezone)
    entries = []
    for resource in [issue, *data, note]:
        system, value = _identifier(resource)
        entries.append(
            {
                "fullUrl": full_url(resource["resourceType"], resource["id"]),
                "resource": resource,
                "request": {
                    "method": "POST",
                    "url": resource["resourceType"],
                    "ifNoneExist": f"identifier={system}|{value}",
                },
            }
        )
    return {
        "resourceType": "Bundle",
        "id": logical_id(alert.id, "journal"),
        "identifier": {"system": JOURNAL_SYSTEM, "value": alert.id},
        "type": "transaction",
        "timestamp": fhir_instant(_closed_at(alert, actions)),
        "entry": entries,
    }
