"""The FastAPI application: ``create_app(settings, session_factory)``.

Versioned under ``/api/v1``, one router per subject (ingest, health; people and roles come
next), errors mapped in :mod:`triage.api.errors`, everything the handlers need on ``app.state``.
"""

from __future__ import annotations

from collections.abc import Callable
from datetime import UTC, datetime, timedelta
from importlib.metadata import PackageNotFoundError, version
from typing import Any

from fastapi import APIRouter, Depends, FastAPI
from sqlalchemy.orm import Session, sessionmaker

from triage.api.deps import Clock, GatewayAuthenticator
from triage.api.errors import UnexpectedErrors, install_error_handlers
from triage.api.input_checks import (
    checked_form_request,
    checked_ingest_request,
    checked_request,
)
from triage.api.language import RequestLanguage
from triage.api.limits import BodyLimit
from triage.api.queries.worklist import AlertSummaryCache
from triage.api.ratelimit import RateLimiter
from triage.api.routers import ROUTERS, fhir, ingest, oidc, programme_settings, receipt
from triage.auth.oidc import OidcProviders, load_providers
from triage.auth.tokens import LocalTokens
from triage.config import Settings
from triage.ingest.pipeline import PlanCache

API_PREFIX = "/api/v1"


def utc_now() -> datetime:
    return datetime.now(UTC)


def dho_version() -> str:
    try:
        return version("dho")
    except PackageNotFoundError:
        return "unknown"


def create_app(
    settings: Settings,
    session_factory: sessionmaker[Session],
    *,
    broker_check: Callable[[], tuple[bool, str]] | None = None,
    ingest_check: Callable[[], tuple[bool, str]] | None = None,
    clock: Clock = utc_now,
) -> FastAPI:
    """The API over ``session_factory``'s database (already migrated by the caller).

    ``broker_check`` (``() -> (ok, detail)``) feeds the health endpoint when this process uses
    a broker, ``ingest_check`` (the same shape) when it runs MQTT ingest (not stalled?);
    ``clock`` gives the receive time (tests pass a fixed one).
    """
    app = FastAPI(
        title="DHO — digital hjemmeoppfølging",
        summary="Home-monitoring triage: gateway ingest and service health.",
        version=dho_version(),
        openapi_url=f"{API_PREFIX}/openapi.json",
        docs_url=f"{API_PREFIX}/docs",
        redoc_url=None,
    )
    app.state.settings = settings
    app.state.sessions = session_factory
    app.state.clock = clock
    app.state.broker_check = broker_check
    app.state.ingest_check = ingest_check
    app.state.plans = PlanCache()
    app.state.gateway_authenticator = GatewayAuthenticator()
    app.state.token_verifier = LocalTokens(
        settings.secret_key, timedelta(minutes=settings.access_token_minutes)
    )
    app.state.worklist_cache = AlertSummaryCache()
    app.state.login_limiter = RateLimiter(settings.login_rate_per_minute)
    app.state.ingest_limiter = RateLimiter(settings.ingest_rate_per_minute)
    app.state.receipt_limiter = receipt.receipt_limiter(settings)
    # the OpenID Connect providers (issue 20): a bad providers file stops the start here
    app.state.oidc = OidcProviders(load_providers(settings.oidc_providers_file))
    error_formats = {fhir.FHIR_PREFIX: fhir.outcome_response}  # OperationOutcome on /fhir/r4
    install_error_handlers(app, error_formats)
    app.add_middleware(
        BodyLimit,
        max_bytes=settings.api_max_body_bytes,
        ingest_max_bytes=settings.api_max_ingest_body_bytes,
        ingest_paths=[f"{API_PREFIX}{path}" for path in ingest.PATHS],
        formats=error_formats,
    )
    app.add_middleware(RequestLanguage)  # the language findings are put into words in
    app.add_middleware(UnexpectedErrors, formats=error_formats)  # added last: outermost, so it
    # covers the limit too
    v1 = APIRouter(prefix=API_PREFIX)
    for router in ROUTERS:
        check = checked_ingest_request if router is ingest.router else checked_request
        v1.include_router(router, dependencies=[Depends(check)])
    v1.include_router(programme_settings.router, dependencies=[Depends(checked_request)])
    # a provider posts its back-channel logout as a form
    v1.include_router(oidc.router, dependencies=[Depends(checked_form_request)])
    app.include_router(v1)
    app.include_router(fhir.router)  # /fhir/r4: its own checks (input, Accept) on the router
    _document_bodies(app)
    return app


def _document_bodies(app: FastAPI) -> None:
    """Add the payload schemas that the ingest request bodies refer to to the OpenAPI document."""
    generate = app.openapi

    def openapi() -> dict[str, Any]:
        if app.openapi_schema is not None:
            return app.openapi_schema
        document = generate()
        schemas = document.setdefault("components", {}).setdefault("schemas", {})
        for model in ingest.BODY_MODELS:
            _, definitions = ingest.body_schema(model)
            for name, definition in definitions.items():
                schemas.setdefault(name, definition)
        app.openapi_schema = document
        return document

    app.openapi = openapi  # type: ignore[method-assign]
