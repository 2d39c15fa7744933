"""The ingest counters of the process: outcomes per status, channel, reason and flag, commit
retries, split batches, and the caches' hits, loads and evictions. Thread-safe; both MQTT and
HTTP ingest count in :data:`COUNTERS`, which :func:`stats` and the metrics endpoints read."""

from __future__ import annotations

import threading
from collections import Counter
from collections.abc import Iterable

from triage.ingest.outcomes import Outcome, OutcomeStatus


class Counters:
    """In-process counters of outcomes (metrics come later); thread-safe."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._counts: Counter[str] = Counter()

    def add(self, name: str, amount: int = 1) -> None:
        with self._lock:
            self._counts[name] += amount

    def record(self, outcomes: Iterable[Outcome]) -> None:
        """Count committed outcomes: received, stored/duplicate/rejected per channel and reason."""
        counts: Counter[str] = Counter()
        for outcome in outcomes:
            counts["received"] += 1
            counts[outcome.status.value] += 1
            if outcome.channel is not None and outcome.status is not OutcomeStatus.REJECTED:
                counts[f"{outcome.status.value}.{outcome.channel.value}"] += 1
            if outcome.reason_code:
                counts[f"rejected.{outcome.reason_code}"] += 1
            for flag in outcome.flags:
                counts[f"flag.{flag}"] += 1
        with self._lock:
            self._counts.update(counts)

    def snapshot(self) -> dict[str, int]:
        with self._lock:
            return dict(sorted(self._counts.items()))


#: The process's ingest counters (both MQTT and HTTP count here).
COUNTERS = Counters()


def stats() -> dict[str, int]:
    """The process's ingest counters: ``received``, ``stored``, ``duplicate``, ``rejected``,
    ``rejected.<reason_code>``, ``stored.readings``, ``flag.backfill``, …"""
    return COUNTERS.snapshot()
