"""The ingest pipeline's vocabulary on the wire and towards its callers: topics, channels, what
a message came as (:class:`Incoming`) and what became of it (:class:`Outcome`, its status, data
quality :class:`Flag` and rejection :class:`Reason`). No I/O here; the MQTT consumer, the HTTP
routes, receipts and metrics all speak these words (re-exported by
:mod:`triage.ingest.pipeline`)."""

from __future__ import annotations

from dataclasses import dataclass
from enum import StrEnum
from typing import Literal

from triage.domain.colours import Colour, Text

TOPIC_ROOT = "dho/v1"
#: Larger payloads are refused unread (a reading is ~300 bytes); the dead letter keeps them.
MAX_PAYLOAD_BYTES = 64 * 1024
#: How many plan versions a worker keeps parsed (an approved version never changes): ~100 MiB.


class Channel(StrEnum):
    """The last topic segment: what kind of message it is."""

    READINGS = "readings"
    REPORTS = "reports"
    STATUS = "status"
    CALLS = "calls"  # dho.call-request/1: "ring meg"
    MESSAGE_READS = "message-reads"  # dho.message-read/1


#: Channels whose messages are small patient requests, not clinical data: stored once per id,
#: receipted, never classified (:meth:`_Batch._store_requests`).
REQUEST_CHANNELS = frozenset({Channel.CALLS, Channel.MESSAGE_READS})


class OutcomeStatus(StrEnum):
    STORED = "stored"
    DUPLICATE = "duplicate"
    REJECTED = "rejected"
    APPLIED = "applied"  # a gateway status message


class Flag(StrEnum):
    """Data-quality flags on a stored reading or report (``ReadingRow.flags``, receipts)."""

    DEVICE_CLOCK_AHEAD = "device_clock_ahead"
    GATEWAY_CLOCK_AHEAD = "gateway_clock_ahead"
    #: The gateway says it received the value before the device measured it, and the device's
    #: time agrees with the service's clock: the gateway's clock runs behind.
    GATEWAY_CLOCK_BEHIND = "gateway_clock_behind"
    BACKFILL = "backfill"
    NO_PLAN = "no_plan"
    #: The device's clock was unset or wrong; the gateway timed it on receipt (DESIGN.md, Time).
    TIMED_BY_GATEWAY = "timed_by_gateway"
    #: The patient typed the value on the tablet (``"entry": "typed"``), no device measured it.
    PATIENT_TYPED = "patient_typed"


class Reason(StrEnum):
    """Why a message was rejected: the dead letter's ``reason_code`` and the receipt's."""

    BAD_TOPIC = "bad_topic"
    TOO_LARGE = "too_large"
    MALFORMED_JSON = "malformed_json"
    SCHEMA = "schema"
    UNKNOWN_GATEWAY = "unknown_gateway"
    GATEWAY_REVOKED = "gateway_revoked"
    GATEWAY_UNBOUND = "gateway_unbound"
    PATIENT_DISCHARGED = "patient_discharged"
    ID_CONFLICT = "id_conflict"
    IMPLAUSIBLE = "implausible"
    QUESTIONNAIRE = "questionnaire"
    #: A dho.message-read/1 naming a message that is not this patient's.
    UNKNOWN_MESSAGE = "unknown_message"
    INTERNAL_ERROR = "internal_error"


@dataclass(frozen=True, slots=True)
class Incoming:
    """One message as received: the topic (``dho/v1/{gateway_id}/readings|reports|status``,
    without any deployment prefix), the raw payload, and where it came from. For HTTP the
    caller authenticates the gateway and passes ``dho/v1/{gateway_id}/readings``."""

    topic: str
    payload: bytes
    source: Literal["mqtt", "http"] = "mqtt"
    retained: bool = False


@dataclass(frozen=True, slots=True)
class Outcome:
    """What became of one message. ``receipt`` says whether its gateway is told (the gateway
    is registered and not revoked, and the message was a reading or a report)."""

    gateway_id: str | None
    message_id: str | None
    channel: Channel | None
    status: OutcomeStatus
    reason_code: str | None = None
    reason: str | None = None
    colour: Colour | None = None
    advice: Text | None = None
    flags: tuple[str, ...] = ()
    receipt: bool = False


# ----------------------------------------------------------------------------- topics


def parse_topic(topic: str) -> tuple[str, Channel] | None:
    """``(gateway_id, channel)`` of ``dho/v1/{gateway_id}/{channel}``; None for anything else."""
    parts = topic.split("/")
    if len(parts) != 4 or f"{parts[0]}/{parts[1]}" != TOPIC_ROOT:
        return None
    gateway_id, channel = parts[2], parts[3]
    if not gateway_id or len(gateway_id) > 64 or gateway_id in ("+", "#"):
        return None
    try:
        return gateway_id, Channel(channel)
    except ValueError:
        return None


def topic_for(gateway_id: str, channel: Channel | Literal["receipts", "tablet"]) -> str:
    return f"{TOPIC_ROOT}/{gateway_id}/{channel}"
