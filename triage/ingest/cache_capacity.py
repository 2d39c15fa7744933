"""How many patients a worker's caches keep — derived from the population, never a silent cliff.

A cache smaller than the set of patients whose messages a worker sees is worse than none under
round-robin arrivals: every patient is evicted just before it comes back, so every batch misses
(measured at 10,000 patients with caches of 5,000 and 10,000: 1,691 µs per reading instead of
~950). So each cache's size is

* ``max(setting, 1.25 × active patients)`` — the setting (``DHO_INGEST_PLAN_CACHE_SIZE``,
  ``DHO_INGEST_HISTORY_CACHE_PATIENTS``) is a floor; the number of patients not discharged is
  counted at a worker's first batch and again every :data:`RESIZE_EVERY_S` seconds
  (:func:`fit_to_population`);
* grown by a quarter when it evicts an entry used within the last :data:`RECENT_BATCHES`
  batches (eviction pressure: the cache is cycling), up to ``DHO_INGEST_CACHE_CEILING``
  entries, with a warning in the log (at most once a minute per cache) and a counter in
  :func:`triage.ingest.pipeline.stats`: ``cache.<name>.evicted_recent`` (and
  ``cache.<name>.evicted`` for every eviction, ``cache.<name>.grown`` per growth).
"""

from __future__ import annotations

import logging
import math
import time
from collections.abc import Callable

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from triage.ingest.counters import COUNTERS, Counters
from triage.storage.models import PatientRow

log = logging.getLogger("triage.ingest.pipeline")

#: An evicted entry used within this many batches means the cache is cycling.
RECENT_BATCHES = 50
#: Headroom over the population: patients enrolled between two checks still fit.
HEADROOM = 1.25
#: How often a worker counts the active patients again.
RESIZE_EVERY_S = 300.0
#: At most one warning per cache per this many seconds.
WARN_EVERY_S = 60.0


class Capacity:
    """One cache's size, its batch clock, and its eviction bookkeeping."""

    def __init__(
        self,
        name: str,
        size: int,
        *,
        ceiling: int | None = None,
        counters: Counters = COUNTERS,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        self.name = name
        self.size = size
        self.ceiling = ceiling
        self.counters = counters
        self.clock = clock
        #: Batches seen so far (the cache's clock for "recently used").
        self.batch = 0
        self.evicted = 0
        self.evicted_recent = 0
        self.resized_at: float | None = None
        self._warned_at: float | None = None

    def next_batch(self) -> None:
        self.batch += 1

    def fit(self, floor: int, active_patients: int, ceiling: int) -> None:
        """Size for ``active_patients``: at least ``floor``, at most ``ceiling`` (never shrinks
        below what eviction pressure has grown it to)."""
        self.ceiling = ceiling
        wanted = max(floor, math.ceil(HEADROOM * active_patients))
        self.size = max(self.size, min(wanted, ceiling))
        self.resized_at = self.clock()

    def evicting(self, last_used_batch: int) -> None:
        """Count an eviction of an entry last used in ``last_used_batch``; grow on pressure."""
        self.evicted += 1
        self.counters.add(f"cache.{self.name}.evicted")
        if self.batch - last_used_batch >= RECENT_BATCHES:
            return
        self.evicted_recent += 1
        self.counters.add(f"cache.{self.name}.evicted_recent")
        grown = self.size
        if self.ceiling is None or self.size < self.ceiling:
            grown = math.ceil(self.size * HEADROOM)
            if self.ceiling is not None:
                grown = min(grown, self.ceiling)
        now = self.clock()
        if self._warned_at is None or now - self._warned_at >= WARN_EVERY_S:
            self._warned_at = now
            log.warning(
                "ingest cache evicts patients it used in the last batches",
                extra={
                    "cache": self.name,
                    "size": self.size,
                    "grown_to": grown,
                    "ceiling": self.ceiling,
                    "evicted_recent": self.evicted_recent,
                },
            )
        if grown > self.size:
            self.size = grown
            self.counters.add(f"cache.{self.name}.grown")


def active_patients(session: Session) -> int:
    """Patients not discharged: those whose gateways may send."""
    count = session.scalar(
        select(func.count()).select_from(PatientRow).where(PatientRow.state != "discharged")
    )
    return int(count or 0)


def due(capacity: Capacity) -> bool:
    """Whether ``capacity`` should count the population (first batch, then every few minutes)."""
    return capacity.resized_at is None or capacity.clock() - capacity.resized_at >= RESIZE_EVERY_S


def fit_to_population(
    session: Session, floors_and_capacities: list[tuple[int, Capacity]], ceiling: int
) -> None:
    """Size each capacity (with its floor, the setting) for the patients not discharged, when
    it is due (a worker's first batch, then every :data:`RESIZE_EVERY_S` seconds)."""
    due_now = [(floor, capacity) for floor, capacity in floors_and_capacities if due(capacity)]
    if not due_now:
        return
    active = active_patients(session)
    for floor, capacity in due_now:
        capacity.fit(floor, active, ceiling)
