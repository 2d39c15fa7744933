"""JSON Schemas of the MQTT and HTTP payloads, as published in ``docs/contracts/schemas/``
(``dho docs schemas``; a test fails when a file differs from what the models say).

Each schema is generated from the pydantic model the service validates with (or sends), so the
published contract is the code's: ``dho.reading/1``, ``dho.report/1``, a gateway's status,
``dho.receipt/1``, ``dho.call-request/1``, ``dho.message-read/1``, ``dho.tablet/1``, and the
HTTP ingest request and response bodies. JSON Schema draft 2020-12.
"""

from __future__ import annotations

import json
from collections.abc import Callable
from pathlib import Path
from typing import Any

from pydantic import BaseModel, TypeAdapter

from triage.api.schemas import IngestResult
from triage.ingest.schemas import (
    CallRequestPayload,
    MessageReadPayload,
    ReadingPayload,
    Receipt,
    ReportPayload,
    StatusPayload,
)
from triage.ingest.tablet import TabletState

__all__ = [
    "DIALECT",
    "GATEWAY_SCHEMAS",
    "REGENERATE",
    "SCHEMAS",
    "render_schema",
    "write_gateway_schemas",
    "write_schemas",
]

#: The command that writes docs/contracts/schemas/.
REGENERATE = "dho docs schemas"
DIALECT = "https://json-schema.org/draft/2020-12/schema"


def _model(model: type[BaseModel]) -> dict[str, Any]:
    return model.model_json_schema(by_alias=True)


def _one_or_many(model: type[BaseModel]) -> dict[str, Any]:
    adapter: TypeAdapter[Any] = TypeAdapter(model | list[model])  # type: ignore[valid-type,arg-type]
    schema = adapter.json_schema(by_alias=True)
    schema["description"] = (
        f"The body of an HTTP ingest request: one {model.__name__} or a JSON array of them "
        "(at most 500), each checked on its own."
    )
    return schema


#: File name → (what it is, where it travels, how to build it).
SCHEMAS: dict[str, tuple[str, Callable[[], dict[str, Any]]]] = {
    "reading.json": (
        "`dho.reading/1` — MQTT `dho/v1/{gateway_id}/readings`, and each item of an HTTP "
        "`POST /api/v1/readings`",
        lambda: _model(ReadingPayload),
    ),
    "report.json": (
        "`dho.report/1` — MQTT `dho/v1/{gateway_id}/reports`, and each item of an HTTP "
        "`POST /api/v1/reports`",
        lambda: _model(ReportPayload),
    ),
    "status.json": (
        "a gateway's retained status — MQTT `dho/v1/{gateway_id}/status`",
        lambda: _model(StatusPayload),
    ),
    "receipt.json": (
        "`dho.receipt/1` — MQTT `dho/v1/{gateway_id}/receipts` (service → gateway)",
        lambda: _model(Receipt),
    ),
    "call-request.json": (
        "`dho.call-request/1` — MQTT `dho/v1/{gateway_id}/calls` (gateway → service)",
        lambda: _model(CallRequestPayload),
    ),
    "message-read.json": (
        "`dho.message-read/1` — MQTT `dho/v1/{gateway_id}/message-reads` (gateway → service)",
        lambda: _model(MessageReadPayload),
    ),
    "tablet.json": (
        "`dho.tablet/1` — MQTT `dho/v1/{gateway_id}/tablet`, retained (service → gateway)",
        lambda: _model(TabletState),
    ),
    "http-readings-request.json": (
        "the body of `POST /api/v1/readings`",
        lambda: _one_or_many(ReadingPayload),
    ),
    "http-reports-request.json": (
        "the body of `POST /api/v1/reports`",
        lambda: _one_or_many(ReportPayload),
    ),
    "http-ingest-response.json": (
        "the 200 answer of `POST /api/v1/readings` and `/reports`",
        lambda: _model(IngestResult),
    ),
}


def schema_document(name: str) -> dict[str, Any]:
    """The JSON Schema published as ``name``, with its dialect."""
    _what, build = SCHEMAS[name]
    return {"$schema": DIALECT, **build()}


def render_schema(name: str) -> str:
    """The file's text: the schema as indented JSON, ending in a newline."""
    return json.dumps(schema_document(name), indent=2, ensure_ascii=False) + "\n"


def write_schemas(folder: Path) -> tuple[list[Path], list[Path]]:
    """Write every schema into ``folder``; remove other ``*.json`` there (a schema that no
    longer exists). Returns (written, removed)."""
    folder.mkdir(parents=True, exist_ok=True)
    written = []
    for name in SCHEMAS:
        path = folder / name
        path.write_text(render_schema(name), encoding="utf-8")
        written.append(path)
    removed = []
    for path in sorted(folder.glob("*.json")):
        if path.name not in SCHEMAS:
            path.unlink()
            removed.append(path)
    return written, removed


#: The schemas the gateway checks a message against before it keeps it (gateway/contract.py):
#: copies in the gateway's package, which cannot import the service.
GATEWAY_SCHEMAS = (
    "reading.json",
    "report.json",
    "call-request.json",
    "message-read.json",
    "tablet.json",
)


def write_gateway_schemas(folder: Path) -> list[Path]:
    """Write the gateway's copies (:data:`GATEWAY_SCHEMAS`) into ``folder``."""
    folder.mkdir(parents=True, exist_ok=True)
    written = []
    for name in GATEWAY_SCHEMAS:
        path = folder / name
        path.write_text(render_schema(name), encoding="utf-8")
        written.append(path)
    return written
