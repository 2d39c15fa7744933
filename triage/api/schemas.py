"""API response schemas (distinct from the wire payloads and the table rows)."""

from __future__ import annotations

from typing import Literal

from pydantic import AwareDatetime, BaseModel, ConfigDict, Field

from triage.ingest.schemas import ReceiptItem


class IngestResult(BaseModel):
    """What became of each item of a POST, in the order sent (the same items as an MQTT
    receipt). Valid items are stored even when others are rejected."""

    model_config = ConfigDict(frozen=True)

    gateway_id: str = Field(description="the gateway the token proved (the patient comes from it)")
    received_at: AwareDatetime
    stored: int
    duplicate: int
    rejected: int
    items: list[ReceiptItem]


class DependencyHealth(BaseModel):
    ok: bool
    detail: str | None = None


class Health(BaseModel):
    """``ok``: everything answers; ``degraded``: the broker does not, or this process's MQTT
    ingest has stalled (HTTP ingest and the API still work); ``unavailable`` (HTTP 503): the
    database does not."""

    status: Literal["ok", "degraded", "unavailable"]
    version: str
    database: DependencyHealth
    broker: DependencyHealth | None = Field(
        description="null when this process uses no broker (API only)"
    )
    ingest: DependencyHealth | None = Field(
        default=None,
        description="this process's MQTT ingest: not ok when it has committed nothing for "
        "DHO_INGEST_STALL_AFTER_S while messages wait; null when it runs no MQTT ingest",
    )
