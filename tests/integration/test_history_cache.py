"""A worker's history cache: classification sees the same history as a fresh load — the
worker's own earlier batches, and rows other workers stored meanwhile — without reading every
patient's history again for every batch."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime, timedelta

from sqlalchemy.orm import Session, sessionmaker

from tests.integration.conftest import NOW
from tests.integration.test_ingest_pipeline import SETTINGS, gateway, on, reading
from tests.integration.world import World
from triage.domain.colours import Colour
from triage.domain.plan import Condition
from triage.ingest import HistoryCache, Incoming, Outcome, PlanCache, store

DIABETES = Condition.DIABETES


def glucose(id_: str, value: float, at: datetime) -> bytes:
    return reading(id_, kind="glucose", values={"glucose": value}, measured_at=at)


def worker_store(
    sessions: sessionmaker[Session], cache: HistoryCache, messages: Sequence[Incoming]
) -> list[Outcome]:
    return store(sessions, messages, SETTINGS, NOW, plans=PlanCache(), histories=cache)


def test_a_worker_remembers_its_own_earlier_batches(
    sessions: sessionmaker[Session], world: World
) -> None:
    """The diabetes plan's "2 high of the last 2": the second high value, a batch later, is
    yellow — from the cache, without loading the patient's history again."""
    gw = gateway(world, DIABETES)
    cache = HistoryCache()
    [first] = worker_store(
        sessions, cache, [on(gw, glucose("g-1", 15.2, NOW - timedelta(hours=3)))]
    )
    [second] = worker_store(
        sessions, cache, [on(gw, glucose("g-2", 15.0, NOW - timedelta(hours=1)))]
    )

    assert (first.colour, second.colour) == (Colour.GREEN, Colour.YELLOW)
    assert (cache.loads, cache.hits) == (1, 1)
    entry = cache.get(world.patients[DIABETES].id)
    assert entry is not None
    assert [r.id for r in entry.readings] == ["g-1", "g-2"]


def test_rows_another_worker_stored_meanwhile_are_seen(
    sessions: sessionmaker[Session], world: World
) -> None:
    """Two workers share the subscription, so one patient's readings alternate between them:
    worker A, having cached the patient, still sees the high value worker B stored."""
    gw = gateway(world, DIABETES)
    worker_a, worker_b = HistoryCache(), HistoryCache()
    worker_store(sessions, worker_a, [on(gw, glucose("g-1", 6.0, NOW - timedelta(hours=5)))])
    worker_store(sessions, worker_b, [on(gw, glucose("g-2", 15.2, NOW - timedelta(hours=3)))])
    [outcome] = worker_store(
        sessions, worker_a, [on(gw, glucose("g-3", 15.0, NOW - timedelta(hours=1)))]
    )

    assert outcome.colour is Colour.YELLOW  # two high in a row: B's and this one
    assert worker_a.loads == 2  # the count told A its copy was stale: loaded again
    entry = worker_a.get(world.patients[DIABETES].id)
    assert entry is not None
    assert sorted(r.id for r in entry.readings) == ["g-1", "g-2", "g-3"]


def test_a_batch_that_did_not_commit_leaves_nothing_in_the_cache(
    sessions: sessionmaker[Session], world: World
) -> None:
    """A batch whose transaction failed is not remembered: the next high value is the first
    one the database has, so it stays green."""
    gw = gateway(world, DIABETES)
    cache = HistoryCache()
    worker_store(sessions, cache, [on(gw, glucose("g-0", 6.0, NOW - timedelta(hours=6)))])

    def fail(_: Sequence[Incoming]) -> None:
        raise RuntimeError("the database went away before the commit")

    [failed] = store(
        sessions,
        [on(gw, glucose("g-1", 15.2, NOW - timedelta(hours=3)))],
        SETTINGS,
        NOW,
        plans=PlanCache(),
        histories=cache,
        before_commit=fail,
    )
    assert failed.status == "rejected"  # dead-lettered as internal_error, not stored
    entry = cache.get(world.patients[DIABETES].id)
    assert entry is not None
    assert [r.id for r in entry.readings] == ["g-0"]

    [outcome] = worker_store(
        sessions, cache, [on(gw, glucose("g-2", 15.0, NOW - timedelta(hours=1)))]
    )
    assert outcome.colour is Colour.GREEN
