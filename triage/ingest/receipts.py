"""Receipts (``dho.receipt/1``): after a batch is committed, each gateway is told what became
of its message ids — stored (with the colour and the plan's advice), duplicate, or rejected
(with the reason). The gateway prunes its outbox on a receipt, so a receipt is only ever built
from committed outcomes. The contract is in docs/contracts/receipts.md."""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Iterable
from datetime import datetime

from triage.ingest.pipeline import Channel, Outcome, OutcomeStatus, topic_for
from triage.ingest.schemas import ItemType, Receipt, ReceiptItem, ReceiptStatus

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


def receipt_topic(gateway_id: str) -> str:
    """``dho/v1/{gateway_id}/receipts``."""
    return topic_for(gateway_id, "receipts")
