"""The CapabilityStatement of DHO's read-only FHIR API (``GET /fhir/r4/metadata``)."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from types import MappingProxyType
from typing import Any, Final

#: when this statement last changed (a CapabilityStatement needs a date; no clock is read)
STATEMENT_DATE: Final = "2026-12-07"
FHIR_VERSION: Final = "4.0.1"

#: what the API searches, per resource type: (name, FHIR search parameter type, definition)
SEARCHES: Final[Mapping[str, tuple[tuple[str, str, str], ...]]] = MappingProxyType(
    {
        "Observation": (
            ("patient", "reference", "http://hl7.org/fhir/SearchParameter/clinical-patient"),
            ("category", "token", "http://hl7.org/fhir/SearchParameter/Observation-category"),
            ("code", "token", "http://hl7.org/fhir/SearchParameter/clinical-code"),
            ("date", "date", "http://hl7.org/fhir/SearchParameter/clinical-date"),
        ),
        "DetectedIssue": (
            ("patient", "reference", "http://hl7.org/fhir/SearchParameter/clinical-patient"),
            ("date", "date", "http://hl7.org/fhir/SearchParameter/clinical-identified"),
        ),
        "CarePlan": (
            ("patient", "reference", "http://hl7.org/fhir/SearchParameter/clinical-patient"),
            ("status", "token", "http://hl7.org/fhir/SearchParameter/CarePlan-status"),
        ),
        "Flag": (("patient", "reference", "http://hl7.org/fhir/SearchParameter/clinical-patient"),),
        "QuestionnaireResponse": (
            (
                "patient",
                "reference",
                "http://hl7.org/fhir/SearchParameter/QuestionnaireResponse-patient",
            ),
        ),
    }
)
#: resource types that are only read by id (and through $everything)
READ_ONLY: Final = ("Patient",)


def _resource(resource_type: str, searches: Sequence[tuple[str, str, str]]) -> dict[str, Any]:
    interactions = [{"code": "read"}]
    resource: dict[str, Any] = {"type": resource_type}
    if searches:
        interactions.append({"code": "search-type"})
        resource["searchParam"] = [
            {"name": name, "definition": definition, "type": kind}
            for name, kind, definition in searches
        ]
        resource["documentation"] = (
            "_count sets the page size; further pages by Bundle.link next. "
            "Dates take the prefixes eq, ge, gt, le, lt."
        )
    resource["interaction"] = interactions
    return resource


def capability_statement(
    base_url: str,
    software_version: str,
    *,
    searches: Mapping[str, Sequence[tuple[str, str, str]]] = SEARCHES,
) -> dict[str, Any]:
    """What the API serves at ``base_url``: ``metadata``, ``Patient/{id}`` and its
    ``$everything``, and searches over ``searches`` (type → its parameters)."""
    patient = _resource("Patient", ())
    patient["operation"] = [
        {
            "name": "everything",
            "definition": "http://hl7.org/fhir/OperationDefinition/Patient-everything",
        }
    ]
    resources = [patient] + [_resource(t, s) for t, s in searches.items()]
    return {
        "resourceType": "CapabilityStatement",
        "status": "active",
        "date": STATEMENT_DATE,
        "publisher": "DHO",
        "kind": "instance",
        "software": {"name": "DHO", "version": software_version},
        "implementation": {
            "description": "DHO: digital hjemmeoppfølging (read-only FHIR R4 API)",
            "url": base_url,
        },
        "fhirVersion": FHIR_VERSION,
        "format": ["application/fhir+json", "json"],
        "rest": [
            {
                "mode": "server",
                "documentation": (
                    "Read-only. The same login, roles, tenants and audit as the rest of "
                    "DHO's API; every error is an OperationOutcome."
                ),
                "security": {
                    "description": "Bearer token from DHO's login (POST /api/v1/auth/login)."
                },
                "resource": resources,
            }
        ],
    }
