"""Metrics in the Prometheus text format (0.0.4): the families, their exposition, and this
process's ingest counters and queues.

Written by hand (``# HELP``, ``# TYPE``, then ``name{label="value"} number`` lines): a few lines,
not worth a dependency. No web framework here: the API's ``/api/v1/metrics``
(:mod:`triage.api.routers.metrics`) and a separate ingest worker's ``/metrics``
(:mod:`triage.metrics_server`) both use it.
"""

from __future__ import annotations

import math
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from typing import Literal

from triage.ingest.mqtt_consumer import RUNNING
from triage.ingest.pipeline import OutcomeStatus

#: The Prometheus text exposition format's content type.
CONTENT_TYPE = "text/plain; version=0.0.4; charset=utf-8"

Labels = Mapping[str, str]


@dataclass
class Family:
    """One metric: its name, type, help text and samples."""

    name: str
    kind: Literal["counter", "gauge"]
    help: str
    samples: list[tuple[Labels, float]] = field(default_factory=list)

    def add(self, value: float, **labels: str) -> Family:
        self.samples.append((labels, value))
        return self


def _escape(value: str) -> str:
    return value.replace("\\", "\\\\").replace("\n", "\\n").replace('"', '\\"')


def _number(value: float) -> str:
    if math.isnan(value):
        return "NaN"
    if math.isinf(value):
        return "+Inf" if value > 0 else "-Inf"
    if float(value).is_integer():
        return str(int(value))
    return repr(float(value))


def exposition(families: Iterable[Family]) -> str:
    """The families in the Prometheus text format (0.0.4)."""
    lines: list[str] = []
    for family in families:
        lines.append(f"# HELP {family.name} {family.help}")
        lines.append(f"# TYPE {family.name} {family.kind}")
        for labels, value in family.samples:
            inner = ",".join(f'{key}="{_escape(text)}"' for key, text in labels.items())
            name = f"{family.name}{{{inner}}}" if inner else family.name
            lines.append(f"{name} {_number(value)}")
    return "\n".join(lines) + "\n"


def ingest_families(counts: Mapping[str, int]) -> list[Family]:
    """This process's ingest counters (MQTT and HTTP) as metrics."""
    messages = Family(
        "dho_ingest_messages_total",
        "counter",
        "Ingest messages handled by this process since it started, by outcome.",
    )
    for outcome in OutcomeStatus:
        messages.add(counts.get(outcome.value, 0), outcome=outcome.value)
    received = Family(
        "dho_ingest_received_total", "counter", "Ingest messages received by this process."
    ).add(counts.get("received", 0))
    by_channel = Family(
        "dho_ingest_channel_messages_total",
        "counter",
        "Stored and duplicate ingest messages by channel (readings, reports).",
    )
    rejected = Family(
        "dho_ingest_rejected_total", "counter", "Rejected ingest messages by reason code."
    )
    flags = Family(
        "dho_ingest_flags_total", "counter", "Data-quality flags on stored messages, by flag."
    )
    for key, value in sorted(counts.items()):
        head, sep, tail = key.partition(".")
        if not sep:
            continue
        if head == "rejected":
            rejected.add(value, reason_code=tail)
        elif head == "flag":
            flags.add(value, flag=tail)
        else:
            by_channel.add(value, outcome=head, channel=tail)
    return [messages, received, by_channel, rejected, flags, *queue_families()]


def queue_families() -> list[Family]:
    """The ingest queue and progress of each MQTT consumer running in this process (``dho
    serve``, ``dho ingest``; absent when ingest runs in other processes — scrape those
    separately)."""
    depth = Family(
        "dho_ingest_queue_depth", "gauge", "Messages received and waiting for the ingest worker."
    )
    oldest = Family(
        "dho_ingest_queue_oldest_seconds",
        "gauge",
        "How long the oldest waiting message has waited (the ingest lag).",
    )
    since = Family(
        "dho_ingest_seconds_since_progress",
        "gauge",
        "Seconds messages have waited without an ingest commit (0 when nothing waits).",
    )
    stalled = Family(
        "dho_ingest_stalled",
        "gauge",
        "1 when the ingest worker has committed nothing for DHO_INGEST_STALL_AFTER_S while "
        "messages wait.",
    )
    long_pauses = Family(
        "dho_ingest_gc_pauses_over_50ms_total",
        "counter",
        "Garbage collections longer than 50 ms in the ingest worker's process since it started "
        "(triage/ingest/gc_policy.py).",
    )
    max_pause = Family(
        "dho_ingest_gc_max_pause_seconds",
        "gauge",
        "The longest garbage collection in the ingest worker's process since it started.",
    )
    for consumer in sorted(RUNNING, key=lambda c: c.client_id):
        waiting, age = consumer.backlog()
        depth.add(waiting, client_id=consumer.client_id)
        oldest.add(age, client_id=consumer.client_id)
        since.add(round(consumer.seconds_since_progress(), 3), client_id=consumer.client_id)
        stalled.add(1 if consumer.stalled()[0] else 0, client_id=consumer.client_id)
        gc = consumer.gc.stats()
        long_pauses.add(gc["gc.pauses_over_50ms"], client_id=consumer.client_id)
        max_pause.add(gc["gc.max_pause_us"] / 1e6, client_id=consumer.client_id)
    return [depth, oldest, since, stalled, long_pauses, max_pause] if depth.samples else []
