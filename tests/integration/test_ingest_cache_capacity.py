"""A worker's caches are sized from the population and grow when they evict what they used
recently — never a silent cliff (:mod:`triage.ingest.cache_capacity`)."""

from __future__ import annotations

import logging
from datetime import timedelta

import pytest
from sqlalchemy.orm import Session, sessionmaker

from tests.integration.conftest import NOW
from tests.integration.test_ingest_pipeline import gateway, on, reading
from tests.integration.world import World
from triage.config import Settings
from triage.domain.plan import Condition
from triage.ingest import Counters, HistoryCache, PlanCache, store
from triage.ingest.cache_capacity import RECENT_BATCHES, Capacity


def test_caches_are_sized_from_the_patients_not_discharged(
    sessions: sessionmaker[Session], world: World
) -> None:
    """Five patients and floors of 1: each cache keeps ceil(1.25 × 5) = 7 entries."""
    settings = Settings(demo=True, ingest_plan_cache_size=1, ingest_history_cache_patients=1)
    plans, histories = PlanCache(maxsize=1), HistoryCache(max_patients=1)
    messages = [
        on(gateway(world, condition), reading(f"s-{condition}", measured_at=NOW))
        for condition in (Condition.COPD, Condition.COVID19)
    ]
    store(sessions, messages, settings, NOW, plans=plans, histories=histories)
    assert len(world.patients) == 5
    assert (plans.maxsize, histories.max_patients) == (7, 7)


def test_evicting_a_recently_used_entry_warns_counts_and_grows(
    caplog: pytest.LogCaptureFixture,
) -> None:
    counters = Counters()
    capacity = Capacity("history", 4, ceiling=6, counters=counters)
    capacity.next_batch()
    with caplog.at_level(logging.WARNING, logger="triage.ingest.pipeline"):
        capacity.evicting(last_used_batch=1)  # used in this very batch: the cache is cycling
    assert capacity.size == 5
    assert counters.snapshot() == {
        "cache.history.evicted": 1,
        "cache.history.evicted_recent": 1,
        "cache.history.grown": 1,
    }
    assert "evicts patients it used in the last batches" in caplog.text
    capacity.evicting(last_used_batch=1)
    capacity.evicting(last_used_batch=1)
    assert capacity.size == 6  # the ceiling
    for _ in range(RECENT_BATCHES):
        capacity.next_batch()
    capacity.evicting(last_used_batch=1)  # long unused: an ordinary eviction
    assert counters.snapshot()["cache.history.evicted"] == 4
    assert counters.snapshot()["cache.history.evicted_recent"] == 3


def test_a_history_cache_too_small_for_round_robin_grows_instead_of_missing(
    sessions: sessionmaker[Session], world: World
) -> None:
    """Five patients in turn through a cache of 2 (population check already done with a
    smaller count): it grows on eviction pressure until every patient is a hit."""
    histories = HistoryCache(max_patients=2)
    histories.capacity.resized_at = histories.capacity.clock()  # no population check
    settings = Settings(demo=True, ingest_history_cache_patients=1)
    conditions = list(Condition)
    for round_ in range(4):
        for i, condition in enumerate(conditions):
            at = NOW - timedelta(hours=10 - round_, minutes=i)
            message = on(gateway(world, condition), reading(f"rr-{round_}-{i}", measured_at=at))
            store(sessions, [message], settings, NOW, plans=PlanCache(), histories=histories)
    assert histories.max_patients >= len(conditions)
    assert histories.capacity.evicted_recent > 0
    assert histories.hits >= len(conditions)  # the last round: every patient from the cache
