"""The test FHIR server itself (tests/fhir_server/server.js), over real HTTP from Python: it must
behave like a FHIR server where the journal write-back depends on it, and refuse what a FHIR
server refuses — it is not a stub that accepts anything."""

from __future__ import annotations

import copy
from typing import Any

import httpx

from tests.fhir_schema import assert_valid
from tests.fhir_server import TOKEN, FhirServer

FHIR_JSON = {"Content-Type": "application/fhir+json", "Accept": "application/fhir+json"}
ALERT = "urn:uuid:5b0e7c9e-9a51-4d3c-8a7e-0a7c1d2f0001"
READING = "urn:uuid:5b0e7c9e-9a51-4d3c-8a7e-0a7c1d2f0002"


def _bundle() -> dict[str, Any]:
    observation = {
        "resourceType": "Observation",
        "identifier": [{"system": "urn:dho:reading", "value": "r-1"}],
        "status": "final",
        "code": {"coding": [{"system": "http://loinc.org", "code": "59408-5"}]},
        "subject": {"identifier": {"system": "urn:oid:2.16.578.1.12.4.1.4.1", "value": "x"}},
        "effectiveDateTime": "2026-11-23T09:25:00+01:00",
        "valueQuantity": {"value": 86, "unit": "%", "system": "http://unitsofmeasure.org"},
    }
    issue = {
        "resourceType": "DetectedIssue",
        "identifier": [{"system": "urn:dho:alert", "value": "a-1"}],
        "status": "final",
        "severity": "high",
        "implicated": [{"reference": READING}],
    }
    bundle = {
        "resourceType": "Bundle",
        "type": "transaction",
        "entry": [
            {
                "fullUrl": READING,
                "resource": observation,
                "request": {
                    "method": "POST",
                    "url": "Observation",
                    "ifNoneExist": "identifier=urn:dho:reading|r-1",
                },
            },
            {
                "fullUrl": ALERT,
                "resource": issue,
                "request": {
                    "method": "POST",
                    "url": "DetectedIssue",
                    "ifNoneExist": "identifier=urn:dho:alert|a-1",
                },
            },
        ],
    }
    assert_valid(bundle)
    return bundle


def _post(server: FhirServer, body: Any, headers: dict[str, str] = FHIR_JSON) -> httpx.Response:
    return httpx.post(server.base_url, json=body, headers=headers, timeout=10)


def test_a_transaction_is_stored_with_its_references_resolved_and_answered(
    fhir_server: FhirServer,
) -> None:
    answer = _post(fhir_server, _bundle())

    assert answer.status_code == 200, answer.text
    result = answer.json()
    assert result["resourceType"] == "Bundle"
    assert result["type"] == "transaction-response"
    assert [e["response"]["status"] for e in result["entry"]] == ["201 Created", "201 Created"]
    [observation] = fhir_server.resources("Observation")
    [issue] = fhir_server.resources("DetectedIssue")
    assert (
        result["entry"][0]["response"]["location"] == f"Observation/{observation['id']}/_history/1"
    )
    assert issue["implicated"] == [{"reference": f"Observation/{observation['id']}"}]
    read = httpx.get(f"{fhir_server.base_url}/DetectedIssue/{issue['id']}", timeout=10)
    assert read.status_code == 200
    assert read.json()["identifier"] == [{"system": "urn:dho:alert", "value": "a-1"}]


def test_if_none_exist_makes_a_resent_bundle_create_nothing_new(fhir_server: FhirServer) -> None:
    first = _post(fhir_server, _bundle()).json()
    again = _post(fhir_server, _bundle())

    assert again.status_code == 200, again.text
    assert [e["response"]["status"] for e in again.json()["entry"]] == ["200 OK", "200 OK"]
    assert [e["response"]["location"] for e in again.json()["entry"]] == [
        e["response"]["location"] for e in first["entry"]
    ]
    assert len(fhir_server.resources("Observation")) == 1
    assert len(fhir_server.resources("DetectedIssue")) == 1


def test_one_invalid_entry_refuses_the_whole_transaction_with_every_error(
    fhir_server: FhirServer,
) -> None:
    bundle = _bundle()
    bad = bundle["entry"][0]["resource"]
    bad["status"] = "done"  # not an Observation status
    bad["valueKvantitet"] = bad.pop("valueQuantity")  # no such element
    del bad["code"]  # required

    answer = _post(fhir_server, bundle)

    assert answer.status_code == 400
    outcome = answer.json()
    assert outcome["resourceType"] == "OperationOutcome"
    diagnostics = "\n".join(issue["diagnostics"] for issue in outcome["issue"])
    assert "Bundle.entry[0].resource (Observation) at /status" in diagnostics
    assert "valueKvantitet" in diagnostics
    assert "'code'" in diagnostics
    assert {issue["severity"] for issue in outcome["issue"]} == {"error"}
    # atomic: the valid DetectedIssue of the same Bundle was not stored either
    assert fhir_server.store()["resources"] == {}


def test_a_reference_to_no_entry_refuses_the_transaction(fhir_server: FhirServer) -> None:
    bundle = _bundle()
    bundle["entry"][1]["resource"]["implicated"] = [
        {"reference": "urn:uuid:00000000-0000-4000-8000-000000000000"}
    ]

    answer = _post(fhir_server, bundle)

    assert answer.status_code == 400
    assert "is no entry's fullUrl" in answer.text
    assert fhir_server.store()["resources"] == {}


def test_what_is_not_a_transaction_is_an_operation_outcome(fhir_server: FhirServer) -> None:
    wrong_type = _post(fhir_server, _bundle(), headers={"Content-Type": "application/json"})
    batch = _post(fhir_server, {**_bundle(), "type": "batch"})
    not_bundle = _post(fhir_server, _bundle()["entry"][0]["resource"])
    not_json = httpx.post(fhir_server.base_url, content=b"{not json", headers=FHIR_JSON)
    unknown_type = copy.deepcopy(_bundle())
    unknown_type["entry"][0]["resource"]["resourceType"] = "Vital"
    unknown_type["entry"][0]["request"]["url"] = "Vital"
    unknown = _post(fhir_server, unknown_type)

    for answer, status in (
        (wrong_type, 415),
        (batch, 400),
        (not_bundle, 400),
        (not_json, 400),
        (unknown, 400),
    ):
        assert answer.status_code == status, answer.text
        assert answer.json()["resourceType"] == "OperationOutcome"
    [issue] = unknown.json()["issue"]
    assert (
        issue["diagnostics"] == 'Bundle.entry[0].resource: "Vital" is not a FHIR R4 resource type'
    )
    assert fhir_server.store()["resources"] == {}


def test_failures_on_demand_and_a_lost_answer(fhir_server: FhirServer) -> None:
    fhir_server.fail(2, 503)
    assert _post(fhir_server, _bundle()).status_code == 503
    assert _post(fhir_server, _bundle()).status_code == 503
    assert fhir_server.store()["resources"] == {}
    fhir_server.fail(1, 504, after_store=True)
    lost = _post(fhir_server, _bundle())
    assert lost.status_code == 504
    assert lost.json()["resourceType"] == "OperationOutcome"
    assert len(fhir_server.resources("DetectedIssue")) == 1  # stored, only the answer was lost
    assert _post(fhir_server, _bundle()).status_code == 200


def test_a_server_started_with_a_token_wants_it(fhir_server_with_token: FhirServer) -> None:
    fhir_server_with_token.reset()
    refused = _post(fhir_server_with_token, _bundle())
    wrong = _post(fhir_server_with_token, _bundle(), {**FHIR_JSON, "Authorization": "Bearer x"})
    taken = _post(
        fhir_server_with_token, _bundle(), {**FHIR_JSON, "Authorization": f"Bearer {TOKEN}"}
    )

    assert (refused.status_code, wrong.status_code, taken.status_code) == (401, 401, 200)
    assert refused.json()["resourceType"] == "OperationOutcome"
