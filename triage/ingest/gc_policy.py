"""When the ingest worker's process collects garbage, so that no collection pauses it long.

CPython's automatic collector took 22–25 % of an ingest worker's CPU (issue 21), and its full
(generation 2) passes walked every object of the plan and history caches: 170–350 ms pauses,
during which nothing was received, committed or acknowledged. The long-lived objects are not
garbage; walking them again and again is the waste. So, after a warm-up (the first batches fill
the caches):

- after every batch: a collection, then ``gc.freeze()``. What is alive then moves to the
  permanent generation, which the collector never walks again (reference counting still frees
  it), so each collection walks only what the last batch left alive: its pause is bounded by
  a batch, not by the caches. Cycles made and dropped within a batch are reclaimed first.
- the generation-0 threshold goes up (``gen0_threshold``: fewer young passes within a batch)
  and the generation-2 threshold so high that the collector never starts a full pass itself.
- every ``reclaim_every_s`` (6 h), and only when the queue is empty: ``gc.unfreeze()``, a full
  collection, ``gc.freeze()`` — the one long pass, for reference cycles that outlived their
  batch and died later (frozen objects are not walked, so such cycles wait for it). The caches
  hold no cycles of their own; 0 turns it off.

Every collection is timed through ``gc.callbacks`` (:meth:`GcPolicy.stats`: ``gc.collections``,
``gc.pauses_over_50ms``, ``gc.max_pause_us``, ``gc.pause_us_total``).
"""

from __future__ import annotations

import gc
import threading
import time
from collections.abc import Callable
from typing import Any

#: A collection longer than this counts in ``gc.pauses_over_50ms``.
LONG_PAUSE_NS = 50_000_000
#: Batches before the first freeze. One: until then CPython's own collector runs, and its
#: full passes over caches being filled were the 100–500 ms pauses the bench showed in a
#: fresh worker's first thousands of readings.
WARMUP_BATCHES = 1
#: The generation-0 threshold after warm-up (CPython's default: 700).
GEN0_THRESHOLD = 20_000
#: Generation 2 never starts by itself after warm-up (full passes are :class:`GcPolicy`'s).
GEN2_THRESHOLD = 1_000_000
#: Seconds between the full passes over the frozen objects too (only when the queue is empty).
RECLAIM_EVERY_S = 6 * 3600.0


class GcPolicy:
    """Garbage collection for one ingest worker (see the module docstring). Call
    :meth:`install` once and :meth:`after_batch` after each committed batch; :meth:`uninstall`
    restores the collector's settings."""

    def __init__(
        self,
        *,
        warmup_batches: int = WARMUP_BATCHES,
        gen0_threshold: int = GEN0_THRESHOLD,
        reclaim_every_s: float = RECLAIM_EVERY_S,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        self.warmup_batches = warmup_batches
        self.gen0_threshold = gen0_threshold
        self.reclaim_every_s = reclaim_every_s
        self.clock = clock
        self.batches = 0
        self.frozen = False
        self._last_reclaim = clock()
        self._lock = threading.Lock()
        self._started_ns = 0
        self._collections = 0
        self._long = 0
        self._max_ns = 0
        self._total_ns = 0
        self._saved_threshold: tuple[int, int, int] | None = None
        self._installed = False

    # ------------------------------------------------------------------ timing

    def _callback(self, phase: str, _info: dict[str, Any]) -> None:
        if phase == "start":
            self._started_ns = time.perf_counter_ns()
            return
        took = time.perf_counter_ns() - self._started_ns
        with self._lock:
            self._collections += 1
            self._total_ns += took
            if took > self._max_ns:
                self._max_ns = took
            if took > LONG_PAUSE_NS:
                self._long += 1

    def stats(self) -> dict[str, int]:
        """Collections timed since :meth:`install` (any thread's: the collector stops them
        all), those over 50 ms, the longest and the total in µs."""
        with self._lock:
            return {
                "gc.collections": self._collections,
                "gc.pauses_over_50ms": self._long,
                "gc.max_pause_us": self._max_ns // 1000,
                "gc.pause_us_total": self._total_ns // 1000,
            }

    # ------------------------------------------------------------------ policy

    def install(self) -> None:
        if not self._installed:
            gc.callbacks.append(self._callback)
            self._installed = True

    def uninstall(self) -> None:
        """Stop timing and give the collector its settings back (frozen objects are let go
        into the oldest generation)."""
        if self._installed:
            gc.callbacks.remove(self._callback)
            self._installed = False
        if self._saved_threshold is not None:
            gc.set_threshold(*self._saved_threshold)
            self._saved_threshold = None
            gc.unfreeze()
            self.frozen = False

    def after_batch(self, queue_empty: bool) -> None:
        """After a committed batch: once warm, collect what the batch left and freeze the
        rest; the rare full pass when due and nothing waits."""
        self.batches += 1
        if not self.frozen:
            if self.batches >= self.warmup_batches:
                self._freeze_warm()
            return
        if (
            self.reclaim_every_s
            and queue_empty
            and self.clock() - self._last_reclaim >= self.reclaim_every_s
        ):
            gc.unfreeze()
            self._last_reclaim = self.clock()
        gc.collect()  # walks only what is not frozen: what the last batch left alive
        gc.freeze()

    def _freeze_warm(self) -> None:
        # a young collection only: a full one here would walk the caches just filled (the long
        # pause this avoids); garbage already in the old generation is frozen with them, once
        self._saved_threshold = gc.get_threshold()
        gc.collect(1)
        gc.freeze()
        self._last_reclaim = self.clock()
        _, gen1, _ = self._saved_threshold
        gc.set_threshold(self.gen0_threshold, gen1, GEN2_THRESHOLD)
        self.frozen = True
