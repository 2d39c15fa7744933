"""Ingest: readings, reports and gateway status from MQTT (and HTTP) into the database.

* :func:`process_batch` / :func:`store` — the pipeline both transports use (validate → gateway →
  patient → dedupe → plausibility → classify → rows + alert changes; one transaction).
* :class:`IngestConsumer` — the MQTT worker: ack after commit, then receipts.
* :class:`HistoryCache` — a worker's patients' recent history, checked per batch by counts.
* :func:`build_receipts` — ``dho.receipt/1`` per gateway from committed outcomes.
* :func:`stats` — the process's ingest counters.
"""

from triage.ingest.history_cache import HistoryCache
from triage.ingest.mqtt_consumer import BrokerAddress, IngestConsumer
from triage.ingest.pipeline import (
    COUNTERS,
    Channel,
    Counters,
    DatabaseUnavailableError,
    Flag,
    Incoming,
    Outcome,
    OutcomeStatus,
    PlanCache,
    Reason,
    parse_topic,
    process_batch,
    stats,
    store,
    topic_for,
)
from triage.ingest.receipts import build_receipts, receipt_item, receipt_topic
from triage.ingest.schemas import (
    ReadingPayload,
    Receipt,
    ReceiptItem,
    ReceiptStatus,
    ReportPayload,
    StatusPayload,
)

__all__ = [
    "COUNTERS",
    "BrokerAddress",
    "Channel",
    "Counters",
    "DatabaseUnavailableError",
    "Flag",
    "HistoryCache",
    "Incoming",
    "IngestConsumer",
    "Outcome",
    "OutcomeStatus",
    "PlanCache",
    "ReadingPayload",
    "Reason",
    "Receipt",
    "ReceiptItem",
    "ReceiptStatus",
    "ReportPayload",
    "StatusPayload",
    "build_receipts",
    "parse_topic",
    "process_batch",
    "receipt_item",
    "receipt_topic",
    "stats",
    "store",
    "topic_for",
]
