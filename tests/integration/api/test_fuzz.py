"""A property-based fuzz of every operation in docs/api/openapi.json (schemathesis), over real
HTTP against the API on SQLite and PostgreSQL (where NUL bytes and integer overflows bite).

Each operation gets requests that fit its schema and requests that do not, sent with a logged-in
nurse's, GP's or admin's token (or a gateway's, for ingest) and, half of the time, the ids of
real patients, plans, alerts, users and gateways in the path, so the requests get past 401 and
404. No answer may be a 5xx, and every error (4xx) must be RFC 9457 problem details — on the
FHIR API (``/fhir/r4``) a FHIR OperationOutcome in ``application/fhir+json`` instead.

The example count is bounded (``DHO_FUZZ_EXAMPLES`` per operation, default 12) and the
generation derandomized, so CI runs the same cases: 20–80 s per engine on a 2-core machine
(idle – shared with other test runs); set it higher locally to search longer (60 took 4.7 min
on PostgreSQL).
"""

from __future__ import annotations

import hashlib
import json
import os
from dataclasses import dataclass
from datetime import timedelta
from pathlib import Path
from typing import Any

import httpx
import requests
import schemathesis
from hypothesis import HealthCheck, Phase, given, settings
from hypothesis import strategies as st
from schemathesis import GenerationMode
from schemathesis.core.result import Err
from sqlalchemy import select
from sqlalchemy.orm import Session, sessionmaker

from tests.integration.api.conftest import NOW, ApiWorld, Login, ingest
from triage.storage import repositories, seed
from triage.storage.models import AlertRow, NotificationRow, PatientRow

OPENAPI = Path(__file__).resolve().parents[3] / "docs" / "api" / "openapi.json"
EXAMPLES = int(os.environ.get("DHO_FUZZ_EXAMPLES", "12"))
REASON = "Fuzz-testing the API's error handling"
RECEIPT_TOKEN = "fuzz-receipt-token-0123456789abcdefghijklmnopq"  # noqa: S105 - synthetic
INGEST_PATHS = {"/api/v1/readings", "/api/v1/reports"}


@dataclass(frozen=True)
class Finding:
    operation: str
    status: int
    content_type: str
    body: str
    request: str

    def __str__(self) -> str:
        answer = f"{self.status} {self.content_type}: {self.body[:300]}"
        return f"{self.operation} → {answer}\n    {self.request}"


FHIR_PREFIX = "/fhir/r4/"
FHIR_JSON = "application/fhir+json; charset=utf-8"


def problem_finding(
    operation: str, response: schemathesis.Response, request: str
) -> Finding | None:
    """What is wrong with ``response``: a 5xx, or an error that is not problem details (on the
    FHIR API: not an OperationOutcome)."""
    status = response.status_code
    if status < 400:
        return None
    content_type = ",".join(response.headers.get("content-type", []))
    text = response.content.decode("utf-8", "replace")
    finding = Finding(operation, status, content_type, text, request)
    if operation.split(" ", 1)[-1].startswith(FHIR_PREFIX):
        return None if status < 500 and _operation_outcome(content_type, response) else finding
    if status >= 500 or content_type != "application/problem+json":
        return finding
    try:
        body = json.loads(response.content)
    except ValueError:
        return finding
    if not isinstance(body, dict) or body.get("status") != status or "detail" not in body:
        return finding
    return None


def query_names(document: dict[str, Any], path: str, method: str) -> set[str]:
    parameters = document["paths"][path][method.lower()].get("parameters", [])
    return {p["name"] for p in parameters if p["in"] == "query"}


def _operation_outcome(content_type: str, response: schemathesis.Response) -> bool:
    if content_type != FHIR_JSON:
        return False
    try:
        body = json.loads(response.content)
    except ValueError:
        return False
    issues = body.get("issue") if isinstance(body, dict) else None
    return (
        body.get("resourceType") == "OperationOutcome"
        and isinstance(issues, list)
        and bool(issues)
        and all(isinstance(i, dict) and i.get("code") and i.get("severity") for i in issues)
    )


def real_ids(sessions: sessionmaker[Session], world: ApiWorld) -> dict[str, Any]:
    """Ids that exist, for the path parameters: a red alert is opened for the COPD patient; the
    user and gateway are spare ones, so that resetting or revoking them does not end the
    fuzzer's own logins and tokens."""
    copd = world.patients["a-copd"]
    ingest(
        sessions,
        copd.gateway_id,
        [("fuzz-red", "spo2", {"spo2": 86, "pulse": 88}, NOW - timedelta(minutes=5))],
    )
    with sessions.begin() as session:
        alert_id = session.scalars(select(AlertRow.id).where(AlertRow.patient_id == copd.id)).one()
        spare = seed.add_user(
            session,
            username="nurse-spare",
            display_name="Spare",
            role="nurse",
            now=NOW,
            password="Testpassord-1!",  # noqa: S106 - synthetic test user
        )
        patient = session.get(PatientRow, world.patients["b-covid"].id)
        assert patient is not None
        gateway, _ = seed.register_gateway(session, patient, NOW, gateway_id="gw-spare")
        spare_id, gateway_id = spare.id, gateway.id
        repositories.add_notification_target(
            session,
            copd.centre_id,
            "after_hours",
            "Legevakten (fuzz)",
            "mailto://smtp.example.no?to=vakt@example.no",
            NOW,
            target_id="fuzz-target",
        )
        session.flush()
        session.add(
            NotificationRow(
                id="fuzz-notification",
                kind="escalation",
                dedupe_key="esc:fuzz",
                centre_id=copd.centre_id,
                alert_id=alert_id,
                target_id="fuzz-target",
                recipient="Legevakten (fuzz)",
                channel="mailto",
                title="DHO: rødt varsel venter",
                body="DHO: 1 rød varsling venter",
                created_at=NOW,
                due_at=NOW,
                attempts=0,
                status="pending",
                receipt_token_hash=hashlib.sha256(RECEIPT_TOKEN.encode()).hexdigest(),
            )
        )
    return {
        "patient_id": copd.id,
        "plan_id": copd.plan.plan_id,
        "version": 1,
        "alert_id": alert_id,
        "user_id": spare_id,
        "gateway_id": gateway_id,
        "centre_id": copd.centre_id,
        "target_id": "fuzz-target",
        "notification_id": "fuzz-notification",
        "token": RECEIPT_TOKEN,
    }


def fuzz(
    label: str,
    cases: st.SearchStrategy[schemathesis.Case[Any]],
    roles: list[str],
    tokens: dict[str, dict[str, str]],
    base_url: str,
) -> list[Finding]:
    """Send ``EXAMPLES`` generated requests for one operation; what was wrong with the answers."""
    findings: list[Finding] = []

    @settings(
        max_examples=EXAMPLES,
        deadline=None,
        database=None,
        derandomize=True,
        phases=[Phase.explicit, Phase.generate],
        suppress_health_check=list(HealthCheck),
    )
    @given(case=cases, role=st.sampled_from(roles))
    def send(case: schemathesis.Case[Any], role: str) -> None:
        try:
            response = case.call(base_url=base_url, headers=tokens.get(role, {}))
        except (requests.exceptions.InvalidHeader, requests.exceptions.InvalidURL):
            return  # the client library refused to send it: nothing reached the API
        finding = problem_finding(label, response, case.as_curl_command())
        if finding is not None:
            findings.append(finding)

    send()
    return findings


def test_no_operation_answers_5xx_or_an_error_that_is_not_problem_details(
    http: httpx.Client, api_world: ApiWorld, login: Login, sessions: sessionmaker[Session]
) -> None:
    """Fuzzing every documented operation finds no 5xx and no error body other than
    `application/problem+json`."""
    ids = real_ids(sessions, api_world)
    copd = api_world.patients["a-copd"]
    tokens = {
        "nurse": login(http, "nurse-a"),
        "gp": login(http, "gp-1"),
        "admin": login(http, "admin", reason=REASON),
        "gateway": {"Authorization": f"Bearer {copd.gateway_id}:{copd.gateway_secret}"},
    }
    base_url = str(http.base_url)
    document = json.loads(OPENAPI.read_text())
    schema = schemathesis.openapi.from_dict(document)
    findings: list[Finding] = []
    operations = []
    for result in schema.get_all_operations():
        if isinstance(result, Err):
            raise result.err()  # docs/api/openapi.json is not a valid OpenAPI document
        operations.append(result.ok())
    assert len(operations) >= 50, "the OpenAPI document lost its operations"
    for operation in operations:
        label = f"{operation.method.upper()} {operation.path}"
        if operation.path in INGEST_PATHS:
            roles = ["gateway"]
        elif operation.path == "/api/v1/auth/logout":
            roles = ["none"]  # logging out with the fuzzer's tokens would end them
        else:
            roles = ["nurse", "gp", "admin"]
        names = [p.name for p in operation.path_parameters]
        known = {name: ids[name] for name in names if name in ids}
        strategies = [
            operation.as_strategy(mode, path_parameters=fixed)
            for mode in (GenerationMode.POSITIVE, GenerationMode.NEGATIVE)
            for fixed in ([None, known] if known else [None])
        ]
        if "patient" in query_names(document, operation.path, operation.method):
            # the FHIR searches: a real patient, so the filters and paging are reached
            strategies.append(operation.as_strategy(query={"patient": ids["patient_id"]}))

        findings.extend(fuzz(label, st.one_of(strategies), roles, tokens, base_url))
    assert not findings, "\n".join(str(f) for f in findings[:30])
