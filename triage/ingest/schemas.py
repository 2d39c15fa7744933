"""The wire payloads of ingest: ``dho.reading/1``, ``dho.report/1``, gateway status, and the
receipt the service sends back (``dho.receipt/1``, documented in docs/contracts/receipts.md).

These are API schemas, distinct from the domain values (:class:`triage.domain.readings.Reading`)
and the table rows (:class:`triage.storage.models.ReadingRow`). They check the *shape* of a
message: the schema name, an id the gateway chose, aware timestamps, and for readings the value
keys of the kind (DESIGN.md) with finite numbers. Whether the numbers can be real is the
domain's plausibility check, which runs after these.
"""

from __future__ import annotations

import re
from datetime import UTC, datetime
from enum import StrEnum
from typing import Annotated, Any, Literal, Self

from pydantic import (
    AfterValidator,
    AwareDatetime,
    BaseModel,
    BeforeValidator,
    ConfigDict,
    Field,
    StrictBool,
    model_validator,
)

from triage.domain.colours import Colour, Text
from triage.domain.readings import REQUIRED_KEYS, VALUE_KEYS, Kind

READING_SCHEMA = "dho.reading/1"
REPORT_SCHEMA = "dho.report/1"
RECEIPT_SCHEMA = "dho.receipt/1"
CALL_REQUEST_SCHEMA = "dho.call-request/1"
MESSAGE_READ_SCHEMA = "dho.message-read/1"

#: Message ids are chosen by the gateway (a UUID in practice) and are the tables' primary keys.
MessageId = Annotated[str, Field(min_length=1, max_length=64, pattern=r"^[A-Za-z0-9._:\-]+$")]

#: A measured value: a finite JSON number (``true`` and ``"92"`` are refused, not coerced).
Value = Annotated[float, Field(strict=True, allow_inf_nan=False)]


#: A time on the wire: ISO 8601 (RFC 3339) date and time with seconds and its UTC offset (or Z).
#: Nothing looser: pydantic alone would also take epoch numbers, digits in a string, a space
#: for the ``T``, or no seconds.
ISO_WITH_OFFSET = r"^\d{4}-\d\d-\d\d[Tt]\d\d:\d\d:\d\d(\.\d{1,9})?([Zz]|[+-]\d\d:?\d\d)$"
_ISO_WITH_OFFSET = re.compile(ISO_WITH_OFFSET, re.ASCII)
#: Times outside these years are refused (a device clock never set reads 1970 or 2000; year 1
#: or 9999 with an offset does not even convert to UTC).
EARLIEST = datetime(1900, 1, 1, tzinfo=UTC)
LATEST = datetime(3000, 1, 1, tzinfo=UTC)

#: In the JSON Schema, a wire time: the pattern above.
AWARE_IN_SCHEMA: dict[str, Any] = {"pattern": ISO_WITH_OFFSET}


def _iso_with_offset(value: Any) -> Any:
    if isinstance(value, datetime):  # from Python code, not from the wire
        return value
    if not isinstance(value, str) or not _ISO_WITH_OFFSET.fullmatch(value):
        raise ValueError(
            "must be an ISO 8601 date and time with seconds and its UTC offset, "
            "e.g. 2026-11-23T08:14:05+01:00"
        )
    return value


def _in_range(value: datetime) -> datetime:
    try:
        utc = value.astimezone(UTC)
    except OverflowError as err:
        raise ValueError("is outside the years 1900–2999") from err
    if not EARLIEST <= utc < LATEST:
        raise ValueError("is outside the years 1900–2999")
    return value


#: A payload's time: see :data:`ISO_WITH_OFFSET`, :data:`EARLIEST`, :data:`LATEST`.
WireTime = Annotated[AwareDatetime, BeforeValidator(_iso_with_offset), AfterValidator(_in_range)]


class _Payload(BaseModel):
    model_config = ConfigDict(frozen=True, extra="forbid", populate_by_name=True)


def _values_of_each_kind(schema: dict[str, Any]) -> None:
    """The JSON Schema says what the validator below checks: the value keys of each kind."""
    schema["allOf"] = [
        {
            "if": {"properties": {"kind": {"const": kind.value}}, "required": ["kind"]},
            "then": {
                "properties": {
                    "values": {
                        "required": sorted(REQUIRED_KEYS[kind]),
                        "propertyNames": {"enum": list(VALUE_KEYS[kind])},
                    }
                }
            },
        }
        for kind in Kind
    ]


class ReadingPayload(_Payload):
    """``dho.reading/1``: one measurement, in canonical units, as the gateway publishes it."""

    model_config = ConfigDict(
        frozen=True, extra="forbid", populate_by_name=True, json_schema_extra=_values_of_each_kind
    )

    schema_id: Literal["dho.reading/1"] = Field(alias="schema")
    id: MessageId = Field(
        description="chosen once by the gateway when it first sees the measurement; every "
        "retry reuses it (the service stores each id once)"
    )
    kind: Kind = Field(description="what was measured; decides the keys of `values`")
    measured_at: WireTime = Field(
        description="when the patient measured, with its UTC offset (ISO 8601)",
        json_schema_extra=AWARE_IN_SCHEMA,
    )
    received_at: WireTime | None = Field(
        default=None,
        description="when the gateway received it from the device",
        json_schema_extra=AWARE_IN_SCHEMA,
    )
    values: dict[str, Value] = Field(
        description="the kind's value keys, in canonical units (mmHg, %, /min, mmol/L, kg, °C, "
        "L/min); finite JSON numbers"
    )
    device: dict[str, Any] = Field(
        default_factory=dict,
        description="the device it came from: profile, model, address; time_source and clock "
        "when the gateway timed it, and device_time (the device's own time, with its offset) "
        "when the gateway found the device's clock too far ahead of its own; sequence_number "
        "for glucose records. A typed reading says "
        '{"profile": "<kind>", "model": "manual", "address": null}',
    )
    entry: Literal["typed"] | None = Field(
        default=None,
        description='"typed": the patient typed the value on the tablet (stored with the flag '
        "patient_typed); absent: measured by a device",
    )

    @model_validator(mode="after")
    def _value_keys_of_the_kind(self) -> Self:
        allowed = VALUE_KEYS[self.kind]
        missing = sorted(REQUIRED_KEYS[self.kind] - self.values.keys())
        unknown = sorted(self.values.keys() - allowed.keys())
        problems = []
        if missing:
            problems.append(f"missing {', '.join(missing)}")
        if unknown:
            problems.append(f"unknown {', '.join(unknown)}")
        if problems:
            raise ValueError(
                f"values of a {self.kind} reading: {'; '.join(problems)} "
                f"(allowed: {', '.join(allowed)}; required: "
                f"{', '.join(sorted(REQUIRED_KEYS[self.kind]))})"
            )
        return self


Answer = str | int | bool


class ReportPayload(_Payload):
    """``dho.report/1``: one questionnaire answer set."""

    schema_id: Literal["dho.report/1"] = Field(alias="schema")
    id: MessageId = Field(description="chosen once by the gateway; every retry reuses it")
    questionnaire: str = Field(
        min_length=1, max_length=64, description="the questionnaire's id, e.g. copd-daily"
    )
    answered_at: WireTime = Field(
        description="when the patient answered, with its UTC offset",
        json_schema_extra=AWARE_IN_SCHEMA,
    )
    received_at: WireTime | None = Field(
        default=None,
        description="optional: when the gateway received the answers",
        json_schema_extra=AWARE_IN_SCHEMA,
    )
    answers: dict[str, Answer] = Field(description="item id → the chosen option")


class CallRequestPayload(_Payload):
    """``dho.call-request/1``: the patient asks the centre to call ("Ring meg")."""

    schema_id: Literal["dho.call-request/1"] = Field(alias="schema")
    id: MessageId = Field(description="chosen once by the gateway; every retry reuses it")
    asked_at: WireTime = Field(
        description="when the patient asked, with its UTC offset", json_schema_extra=AWARE_IN_SCHEMA
    )


class MessageReadPayload(_Payload):
    """``dho.message-read/1``: the patient read a nurse's message on the tablet."""

    schema_id: Literal["dho.message-read/1"] = Field(alias="schema")
    id: MessageId = Field(description="chosen once by the gateway; every retry reuses it")
    message_id: MessageId = Field(description="the id of the message read (msg-…)")
    read_at: WireTime = Field(
        description="when the patient read it, with its UTC offset",
        json_schema_extra=AWARE_IN_SCHEMA,
    )


class StatusPayload(BaseModel):
    """A gateway's retained status (``dho/v1/{gateway_id}/status``); its last will is
    ``{"online": false}``. Other fields (battery, app version, …) are kept as sent."""

    model_config = ConfigDict(frozen=True, extra="allow")

    online: StrictBool = Field(
        description="true while connected; the last will says false (a JSON true or false)"
    )


# ----------------------------------------------------------------------------- receipts


class ItemType(StrEnum):
    READING = "reading"
    REPORT = "report"
    CALL_REQUEST = "call_request"
    MESSAGE_READ = "message_read"


class ReceiptStatus(StrEnum):
    """What happened to one message id: stored now, stored before, or refused (with why)."""

    STORED = "stored"
    DUPLICATE = "duplicate"
    REJECTED = "rejected"


class ReceiptItem(BaseModel):
    """The service's answer for one message id."""

    model_config = ConfigDict(frozen=True, extra="forbid")

    id: str | None = Field(
        description="the message id as sent; null when it cannot be told: no top-level id "
        "string of 1-64 characters (in the first 4 KiB, for a payload too large or not JSON)"
    )
    type: ItemType
    status: ReceiptStatus
    colour: Colour | None = Field(
        default=None,
        description="stored/duplicate: the colour the plan gave it (null: the plan does not "
        "triage it, or no approved plan)",
    )
    advice: Text | None = Field(
        default=None,
        description="stored/duplicate: the plan's advice to the patient for that colour "
        "(null for backfill: the reading is history)",
    )
    flags: tuple[str, ...] = Field(
        default=(),
        description="data-quality flags: device_clock_ahead, backfill, no_plan, patient_typed, …",
    )
    reason_code: str | None = Field(default=None, description="rejected: a stable code")
    reason: str | None = Field(default=None, description="rejected: what was wrong, in English")


class Receipt(BaseModel):
    """``dho.receipt/1`` on ``dho/v1/{gateway_id}/receipts`` (QoS 1): one per gateway per
    committed batch, listing every message id of that gateway in the batch."""

    model_config = ConfigDict(frozen=True, extra="forbid", populate_by_name=True)

    schema_id: Literal["dho.receipt/1"] = Field(default="dho.receipt/1", alias="schema")
    gateway_id: str
    issued_at: AwareDatetime = Field(description="when the service committed the batch")
    items: tuple[ReceiptItem, ...]

    def to_json(self) -> bytes:
        return self.model_dump_json(by_alias=True).encode()
