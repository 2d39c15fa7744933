"""The ingest pipeline, shared by MQTT and HTTP: a batch of incoming messages in, one outcome
per message out.

For each message: validate the payload (:mod:`triage.ingest.schemas`) → find the gateway from
the *topic* and its patient from the gateway's registration (never from the payload) → dedupe
on the message id (the tables' primary key, and within the batch) → plausibility → classify with
the patient's active plan version and history (loaded once per batch; earlier items of the same
batch count, in time order) → write the rows and the alert changes. :func:`process_batch` does
all of that in the caller's transaction and never commits; :func:`store` commits (retrying a
clash with a concurrent worker) and counts the outcomes. Only after that commit may a message
be acknowledged and its receipt sent.

Bad input never stops the service and is never silently dropped: each rejected message becomes
a dead letter (reason code, reason, raw payload, topic) in the same transaction, and an outcome
that the gateway's receipt reports.

This module is the pipeline's public face; each concern lives in its own module:

* :mod:`triage.ingest.outcomes` — topics, channels, :class:`Incoming`, :class:`Outcome`, its
  status, :class:`Flag` and :class:`Reason` (the wire vocabulary);
* :mod:`triage.ingest.counters` — :class:`Counters`, :data:`COUNTERS`, :func:`stats`;
* :mod:`triage.ingest.plan_cache` — :class:`PlanCache`; :mod:`triage.ingest.history_cache` —
  the worker's patients' history; :mod:`triage.ingest.cache_capacity` — how big both are;
* :mod:`triage.ingest.batch` — the steps of one batch (:func:`process_batch`);
* :mod:`triage.ingest.sql` — the batch's own reads and writes (bindings, dedupe look-up, COPY,
  ``last_seen_at``); :mod:`triage.ingest.finding_json` — findings as stored JSON;
* :mod:`triage.ingest.commit` — :func:`store`: commit, retry, split, :func:`dead_letter_alone`.

Every module logs as ``triage.ingest.pipeline``, the logger name operators filter on.
"""

from __future__ import annotations

from triage.ingest.batch import process_batch
from triage.ingest.commit import (
    LOGGED_BYTES,
    DatabaseUnavailableError,
    database_answers,
    dead_letter_alone,
    store,
)
from triage.ingest.counters import COUNTERS, Counters, stats
from triage.ingest.outcomes import (
    MAX_PAYLOAD_BYTES,
    REQUEST_CHANNELS,
    TOPIC_ROOT,
    Channel,
    Flag,
    Incoming,
    Outcome,
    OutcomeStatus,
    Reason,
    parse_topic,
    topic_for,
)
from triage.ingest.plan_cache import PLAN_CACHE_SIZE, PlanCache
from triage.ingest.sql import GATEWAYS, READINGS, REPORTS

__all__ = [
    "COUNTERS",
    "GATEWAYS",
    "LOGGED_BYTES",
    "MAX_PAYLOAD_BYTES",
    "PLAN_CACHE_SIZE",
    "READINGS",
    "REPORTS",
    "REQUEST_CHANNELS",
    "TOPIC_ROOT",
    "Channel",
    "Counters",
    "DatabaseUnavailableError",
    "Flag",
    "Incoming",
    "Outcome",
    "OutcomeStatus",
    "PlanCache",
    "Reason",
    "database_answers",
    "dead_letter_alone",
    "parse_topic",
    "process_batch",
    "stats",
    "store",
    "topic_for",
]
