"""The ingest worker's garbage-collection policy (triage/ingest/gc_policy.py): frozen after the
warm-up, no automatic full passes, full passes only when due and the queue is empty, every
pause timed."""

from __future__ import annotations

import gc
import re
from collections.abc import Iterator

import pytest
from sqlalchemy.orm import sessionmaker

from triage.config import Settings
from triage.ingest.gc_policy import GEN2_THRESHOLD, GcPolicy
from triage.ingest.mqtt_consumer import RUNNING, BrokerAddress, IngestConsumer
from triage.metrics_text import exposition, queue_families


class Clock:
    def __init__(self) -> None:
        self.now = 1000.0

    def __call__(self) -> float:
        return self.now


@pytest.fixture
def clock() -> Clock:
    return Clock()


@pytest.fixture
def policy(clock: Clock) -> Iterator[GcPolicy]:
    before = gc.get_threshold()
    policy = GcPolicy(warmup_batches=3, gen0_threshold=12_345, clock=clock)
    policy.install()
    yield policy
    policy.uninstall()
    assert gc.get_threshold() == before
    assert gc.get_freeze_count() == 0


def test_warm_up_then_freeze_and_thresholds(policy: GcPolicy) -> None:
    before = gc.get_threshold()
    for _ in range(2):
        policy.after_batch(queue_empty=True)
    assert not policy.frozen
    assert gc.get_threshold() == before
    cache = [{"plan": i} for i in range(10_000)]  # long-lived, as the caches are
    policy.after_batch(queue_empty=False)
    assert policy.frozen
    assert gc.get_freeze_count() >= len(cache)
    assert gc.get_threshold() == (12_345, before[1], GEN2_THRESHOLD)


def test_each_batch_walks_only_what_it_left_and_reclaims_when_due(
    policy: GcPolicy, clock: Clock
) -> None:
    for _ in range(3):
        policy.after_batch(queue_empty=True)
    walked: list[int] = []

    def count(phase: str, info: dict[str, int]) -> None:
        if phase == "stop" and info["generation"] == 2:
            walked.append(info["collected"])

    frozen = gc.get_freeze_count()
    left = [[i] for i in range(5_000)]  # alive after the batch
    cycle: list[object] = []
    cycle.append(cycle)  # garbage made in the batch
    del cycle
    gc.callbacks.append(count)
    try:
        policy.after_batch(queue_empty=False)
        assert walked == [1]  # the cycle, collected before the freeze
        assert gc.get_freeze_count() >= frozen + len(left)
        assert gc.get_count()[2] == 0  # nothing old left unfrozen
        clock.now += 6 * 3600
        policy.after_batch(queue_empty=False)  # due, but messages wait: no unfreeze
        assert gc.get_freeze_count() > 0
        unfrozen: list[int] = []
        original = gc.unfreeze

        def spy() -> None:
            unfrozen.append(1)
            original()

        gc.unfreeze = spy
        try:
            policy.after_batch(queue_empty=True)  # due and idle
        finally:
            gc.unfreeze = original
        assert unfrozen == [1]
        assert gc.get_freeze_count() > 0  # frozen again after the pass
    finally:
        gc.callbacks.remove(count)


def test_every_collection_is_timed(policy: GcPolicy) -> None:
    start = policy.stats()
    gc.collect(0)
    gc.collect()
    stats = policy.stats()
    assert stats["gc.collections"] == start["gc.collections"] + 2
    assert stats["gc.max_pause_us"] > 0
    assert stats["gc.pause_us_total"] >= stats["gc.max_pause_us"]


def test_a_long_pause_is_counted(policy: GcPolicy) -> None:
    # a collection made long on purpose: a million objects in cycles, not frozen
    junk = []
    for _ in range(300_000):
        a: list[object] = []
        b = [a]
        a.append(b)
        junk.append(a)
    del a, b
    gc.collect()  # they are alive: the pass walks them all
    stats = policy.stats()
    if stats["gc.max_pause_us"] <= 50_000:
        pytest.skip(f"this machine walked them in {stats['gc.max_pause_us']} µs")
    assert stats["gc.pauses_over_50ms"] >= 1
    del junk


def test_the_pauses_reach_the_consumers_stats_and_the_metrics() -> None:
    """``IngestConsumer.stats()`` has ``gc.pauses_over_50ms`` and ``gc.max_pause_us``; the
    metrics show them per running consumer."""
    consumer = IngestConsumer(
        Settings(demo=True), sessionmaker(), BrokerAddress("127.0.0.1"), client_id="dho-test-gc"
    )
    consumer.gc.install()
    RUNNING.add(consumer)
    try:
        gc.collect(0)
        stats = consumer.stats()
        text = exposition(queue_families())
    finally:
        RUNNING.discard(consumer)
        consumer.gc.uninstall()
    assert stats["gc.max_pause_us"] > 0
    assert stats["gc.pauses_over_50ms"] >= 0
    long_pauses = stats["gc.pauses_over_50ms"]
    assert f'dho_ingest_gc_pauses_over_50ms_total{{client_id="dho-test-gc"}} {long_pauses}' in text
    shown = re.search(r'dho_ingest_gc_max_pause_seconds\{client_id="dho-test-gc"\} (\S+)', text)
    assert shown is not None
    assert float(shown.group(1)) > 0
