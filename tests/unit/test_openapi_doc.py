"""The published OpenAPI document (docs/api/openapi.json) is the API as the code defines it."""

from __future__ import annotations

from pathlib import Path

from triage.api.openapi_doc import openapi_document, render_openapi_json

DOC = Path(__file__).resolve().parents[2] / "docs" / "api" / "openapi.json"


def test_the_published_openapi_document_is_up_to_date() -> None:
    """Regenerate with `dho docs openapi > docs/api/openapi.json` after changing the API."""
    assert DOC.read_text(encoding="utf-8") == render_openapi_json()


def test_every_patient_data_endpoint_requires_a_person_or_a_gateway() -> None:
    """Only health, readiness, metrics, login, refresh, the receipt link in escalation
    messages (a token in its path) and the FHIR CapabilityStatement (no patient data; FHIR
    clients read it before they log in) are open, and the OpenID Connect sign-in (the list of
    providers, start, the provider's callback, the handoff exchange, the provider's back-channel
    logout with its signed token, the EPJ launch: none gives patient data); every other path
    needs a bearer token (a person's, or a gateway's for ingest)."""
    document = openapi_document()
    open_paths = set()
    for path, operations in document["paths"].items():
        for method, operation in operations.items():
            if not operation.get("security"):
                open_paths.add(f"{method.upper()} {path}")
    assert open_paths <= {
        "GET /api/v1/health",
        "GET /api/v1/ready",
        "GET /api/v1/metrics",
        "POST /api/v1/auth/login",
        "POST /api/v1/auth/refresh",
        "GET /api/v1/notifications/receipt/{token}",
        "POST /api/v1/notifications/receipt/{token}",
        "GET /fhir/r4/metadata",
        "GET /api/v1/auth/oidc/providers",
        "GET /api/v1/auth/oidc/{provider}/start",
        "GET /api/v1/auth/oidc/{provider}/callback",
        "POST /api/v1/auth/oidc/exchange",
        "POST /api/v1/auth/oidc/{provider}/backchannel-logout",
        "GET /api/v1/launch",
    }
