"""Gateway ingest over HTTP: ``POST /readings`` and ``POST /reports``, for apps on the patient's
own phone. The same payloads and the same pipeline as MQTT; the gateway comes from the bearer
token and the topic is built from it, so a payload can never name another patient."""

from __future__ import annotations

import json
from collections import Counter
from typing import Annotated, Any

from fastapi import APIRouter, Body, Depends, Request
from pydantic import BaseModel, TypeAdapter

from triage.api.deps import ClockDep, CurrentGateway, PlanCacheDep, SessionsDep, SettingsDep
from triage.api.errors import TooManyItemsError, TooManyRequestsError
from triage.api.ratelimit import RateLimiter
from triage.api.schemas import IngestResult
from triage.ingest import wire
from triage.ingest.pipeline import Channel, Incoming, store, topic_for
from triage.ingest.receipts import receipt_item
from triage.ingest.schemas import ReadingPayload, ReportPayload

#: Items per request; more is refused with 413 (split the upload).
MAX_ITEMS = 500
#: The ingest paths (under /api/v1): their bodies are limited by DHO_API_MAX_INGEST_BODY_BYTES.
PATHS = ("/readings", "/reports")

router = APIRouter(tags=["ingest"])

_ERRORS: dict[int | str, dict[str, Any]] = {
    401: {"description": "Missing, invalid or revoked gateway token."},
    413: {
        "description": f"More than {MAX_ITEMS} items, or a body over "
        "`DHO_API_MAX_INGEST_BODY_BYTES`, in one request."
    },
    415: {"description": "The body is not sent as `Content-Type: application/json`."},
    429: {"description": "Too many requests from this gateway; retry after `Retry-After` s."},
    503: {"description": "The database is not reachable; nothing was stored. Retry."},
}


def body_schema(model: type[BaseModel]) -> tuple[dict[str, Any], dict[str, Any]]:
    """The OpenAPI schema of "one payload or an array of them", and the definitions it uses."""
    adapter: TypeAdapter[Any] = TypeAdapter(model | list[model])  # type: ignore[valid-type,arg-type]
    schema = adapter.json_schema(by_alias=True, ref_template="#/components/schemas/{model}")
    definitions: dict[str, Any] = schema.pop("$defs", {})
    return schema, definitions


def _openapi_body(model: type[BaseModel]) -> dict[str, Any]:
    schema, _ = body_schema(model)
    return {"requestBody": {"content": {"application/json": {"schema": schema}}}}


#: Schemas that the request bodies refer to; ``create_app`` adds them to the OpenAPI document.
BODY_MODELS: tuple[type[BaseModel], ...] = (ReadingPayload, ReportPayload)

Payloads = Annotated[
    Any,
    Body(description="One payload, or a JSON array of payloads (each checked on its own)."),
]


async def _raw_body(request: Request) -> bytes:
    return await request.body()  # read once already, for the payload: this is the same bytes


#: The request body as sent: each item goes to the pipeline as its own bytes (not as re-encoded
#: JSON), so the pipeline sees what an MQTT message would have held (duplicate keys, NaN, …).
RawBody = Annotated[bytes, Depends(_raw_body)]


def limit_rate(request: Request, gateway_id: str) -> None:
    """429 with ``Retry-After`` when the gateway sent more than its requests per minute
    (``DHO_INGEST_RATE_PER_MINUTE``); nothing of the request is stored."""
    limiter: RateLimiter = request.app.state.ingest_limiter
    wait = limiter.hit(gateway_id)
    if wait is not None:
        retry_after = int(wait) + 1
        raise TooManyRequestsError(
            f"too many requests from gateway {gateway_id}; nothing was stored — send again "
            f"in {retry_after} s (batch items: up to {MAX_ITEMS} per request)",
            retry_after,
        )


def ingest(
    request: Request,
    payload: Any,
    body: bytes,
    channel: Channel,
    gateway: CurrentGateway,
    sessions: SessionsDep,
    settings: SettingsDep,
    clock: ClockDep,
    plans: PlanCacheDep,
) -> IngestResult:
    """Run the items through the ingest pipeline as if published on the gateway's topic."""
    limit_rate(request, gateway.id)
    items = payload if isinstance(payload, list) else [payload]
    if len(items) > MAX_ITEMS:
        raise TooManyItemsError(len(items), MAX_ITEMS)
    topic = topic_for(gateway.id, channel)
    raw = wire.split_items(body)
    if raw is None or len(raw) != len(items):  # not what FastAPI parsed: send what it parsed
        raw = [json.dumps(item).encode("utf-8") for item in items]
    messages = [Incoming(topic=topic, payload=payload, source="http") for payload in raw]
    now = clock()
    outcomes = store(sessions, messages, settings, now, plans=plans) if messages else []
    counts = Counter(outcome.status.value for outcome in outcomes)
    return IngestResult(
        gateway_id=gateway.id,
        received_at=now,
        stored=counts["stored"],
        duplicate=counts["duplicate"],
        rejected=counts["rejected"],
        items=[receipt_item(outcome) for outcome in outcomes],
    )


@router.post(
    "/readings",
    response_model=IngestResult,
    summary="Send readings (dho.reading/1)",
    responses=_ERRORS,
    openapi_extra=_openapi_body(ReadingPayload),
)
def post_readings(
    request: Request,
    payload: Payloads,
    body: RawBody,
    gateway: CurrentGateway,
    sessions: SessionsDep,
    settings: SettingsDep,
    clock: ClockDep,
    plans: PlanCacheDep,
) -> IngestResult:
    """Store one reading or an array of readings for the token's gateway.

    Returns 200 with one result per item, in order: `stored` (with the colour and the plan's
    advice), `duplicate` (the id was stored before; safe to resend), or `rejected` (with a
    reason code and reason). Valid items are kept even when others are rejected.
    """
    return ingest(
        request, payload, body, Channel.READINGS, gateway, sessions, settings, clock, plans
    )


@router.post(
    "/reports",
    response_model=IngestResult,
    summary="Send questionnaire answers (dho.report/1)",
    responses=_ERRORS,
    openapi_extra=_openapi_body(ReportPayload),
)
def post_reports(
    request: Request,
    payload: Payloads,
    body: RawBody,
    gateway: CurrentGateway,
    sessions: SessionsDep,
    settings: SettingsDep,
    clock: ClockDep,
    plans: PlanCacheDep,
) -> IngestResult:
    """Store one questionnaire answer set or an array of them for the token's gateway (results
    as for readings)."""
    return ingest(
        request, payload, body, Channel.REPORTS, gateway, sessions, settings, clock, plans
    )
