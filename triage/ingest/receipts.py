"""Receipts (``dho.receipt/1``): after a batch is committed, each gateway is told what became
of its message ids — stored (with the colour and the plan's advice), duplicate, or rejected
(with the reason). The gateway prunes its outbox on a receipt, so a receipt is only ever built
from committed outcomes. The contract is in docs/contracts/receipts.md."""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Iterable, Sequence
from datetime import datetime
from typing import Any

import orjson

from triage.ingest.pipeline import Channel, Outcome, OutcomeStatus, topic_for
from triage.ingest.schemas import RECEIPT_SCHEMA, ItemType, Receipt, ReceiptItem, ReceiptStatus

_TYPES = {
    Channel.READINGS: ItemType.READING,
    Channel.REPORTS: ItemType.REPORT,
    Channel.CALLS: ItemType.CALL_REQUEST,
    Channel.MESSAGE_READS: ItemType.MESSAGE_READ,
}
_STATUS = {
    OutcomeStatus.STORED: ReceiptStatus.STORED,
    OutcomeStatus.DUPLICATE: ReceiptStatus.DUPLICATE,
    OutcomeStatus.REJECTED: ReceiptStatus.REJECTED,
}


def receipt_item(outcome: Outcome) -> ReceiptItem:
    """The receipt entry for one reading or report outcome."""
    if outcome.channel not in _TYPES or outcome.status not in _STATUS:
        raise ValueError(f"no receipt for a {outcome.channel} message ({outcome.status})")
    return ReceiptItem(
        id=outcome.message_id,
        type=_TYPES[outcome.channel],
        status=_STATUS[outcome.status],
        colour=outcome.colour,
        advice=outcome.advice,
        flags=outcome.flags,
        reason_code=outcome.reason_code,
        reason=outcome.reason,
    )


def build_receipts(outcomes: Iterable[Outcome], issued_at: datetime) -> dict[str, Receipt]:
    """One receipt per gateway that is owed one (``Outcome.receipt``), items in batch order."""
    items: dict[str, list[ReceiptItem]] = defaultdict(list)
    for outcome in outcomes:
        if outcome.receipt and outcome.gateway_id is not None:
            items[outcome.gateway_id].append(receipt_item(outcome))
    return {
        gateway_id: Receipt(gateway_id=gateway_id, issued_at=issued_at, items=tuple(entries))
        for gateway_id, entries in items.items()
    }


#: The receipt's ``type`` and ``status`` strings, straight from the outcome's.
_TYPE_OF = {channel: item_type.value for channel, item_type in _TYPES.items()}
_STATUS_OF = {status: receipt_status.value for status, receipt_status in _STATUS.items()}


def receipt_json(gateway_id: str, outcomes: Sequence[Outcome], issued_at: datetime) -> bytes:
    """The JSON of ``build_receipts(outcomes, issued_at)[gateway_id].to_json()``, byte for byte,
    built without pydantic (the ingest worker sends one receipt per gateway per batch; the
    model costs ~25 µs per receipt item, this ~2). ``outcomes`` are that gateway's receipted
    outcomes in batch order. tests/unit/test_receipt_json.py compares the two for many outcomes.
    Raises ValueError where the model would refuse: no receipt for the channel or status, or a
    naive ``issued_at``."""
    if issued_at.tzinfo is None or issued_at.utcoffset() is None:
        raise ValueError("issued_at must be an aware datetime")
    items: list[dict[str, Any]] = []
    for outcome in outcomes:
        item_type = _TYPE_OF.get(outcome.channel)  # type: ignore[arg-type]
        status = _STATUS_OF.get(outcome.status)
        if item_type is None or status is None:
            raise ValueError(f"no receipt for a {outcome.channel} message ({outcome.status})")
        advice = outcome.advice
        items.append(
            {
                "id": outcome.message_id,
                "type": item_type,
                "status": status,
                "colour": None if outcome.colour is None else outcome.colour.value,
                "advice": None if advice is None else {"nb": advice.nb, "en": advice.en},
                "flags": list(outcome.flags),
                "reason_code": outcome.reason_code,
                "reason": outcome.reason,
            }
        )
    receipt = {
        "schema": RECEIPT_SCHEMA,
        "gateway_id": gateway_id,
        "issued_at": issued_at,
        "items": items,
    }
    # OPT_UTC_Z: UTC as "Z", like pydantic; other offsets as "+01:00"; microseconds only when
    # not 0; non-ASCII as UTF-8 and control characters escaped, as pydantic (serde_json) does
    return orjson.dumps(receipt, option=orjson.OPT_UTC_Z)


def receipt_topic(gateway_id: str) -> str:
    """``dho/v1/{gateway_id}/receipts``."""
    return topic_for(gateway_id, "receipts")
