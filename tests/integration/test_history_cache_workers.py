"""Two workers on a ``$share`` subscription: each patient's readings arrive at either worker in
random order, so almost every batch finds rows the other worker stored. Each worker's history
cache completes its entries with only the missing rows (a delta load), and classification is
exactly what a fresh load of the whole window gives, batch after batch."""

from __future__ import annotations

import random
from datetime import datetime, timedelta
from typing import Any

from sqlalchemy.orm import Session, sessionmaker

from tests.integration.conftest import NOW
from tests.integration.test_ingest_pipeline import SETTINGS, gateway, on, reading
from tests.integration.world import World
from triage.domain.plan import Condition
from triage.ingest import HistoryCache, Incoming, Outcome, PlanCache, process_batch, store

#: A reading per condition that crosses its plan's thresholds, trends and sustained rules now
#: and then (random values around the bounds).
KINDS: dict[Condition, tuple[str, Any]] = {
    Condition.DIABETES: ("glucose", lambda r: {"glucose": round(r.uniform(4.0, 17.0), 1)}),
    Condition.HEART_FAILURE: ("body_weight", lambda r: {"weight": round(r.uniform(78, 84), 1)}),
    Condition.COPD: ("spo2", lambda r: {"spo2": r.randint(85, 98), "pulse": r.randint(60, 125)}),
    Condition.HYPERTENSION: (
        "blood_pressure",
        lambda r: {"systolic": r.randint(110, 190), "diastolic": r.randint(70, 115), "pulse": 70},
    ),
    Condition.COVID19: ("spo2", lambda r: {"spo2": r.randint(86, 98), "pulse": r.randint(60, 125)}),
}


def answer(outcome: Outcome) -> tuple[Any, ...]:
    return (outcome.message_id, outcome.status, outcome.colour, outcome.advice, outcome.flags)


def fresh(
    sessions: sessionmaker[Session], messages: list[Incoming], now: datetime
) -> list[Outcome]:
    """The outcomes with the whole window loaded afresh (no cache), rolled back."""
    with sessions() as session:
        outcomes = process_batch(session, messages, SETTINGS, now, plans=PlanCache())
        session.rollback()
    return outcomes


def test_two_workers_interleaving_classify_as_a_fresh_load(
    sessions: sessionmaker[Session], world: World
) -> None:
    rng = random.Random(21)
    workers = [HistoryCache(), HistoryCache()]
    plans = [PlanCache(), PlanCache()]
    conditions = list(KINDS)
    sent = 0
    for batch in range(40):
        messages = []
        for condition in rng.sample(conditions, rng.randint(1, len(conditions))):
            kind, values = KINDS[condition]
            sent += 1
            # in time order, 20 minutes apart, over the last ~3 days (trend and sustained
            # windows), each patient's items at one worker or the other
            at = NOW - timedelta(minutes=20 * (400 - sent))
            messages.append(
                on(
                    gateway(world, condition),
                    reading(
                        f"r-{batch}-{condition}",
                        kind=kind,
                        values=values(rng),
                        measured_at=at,
                        received_at=at,
                    ),
                )
            )
        now = NOW + timedelta(seconds=batch)  # each batch's receive time: its stored_at
        expected = fresh(sessions, messages, now)
        worker = rng.randrange(2)
        outcomes = store(
            sessions, messages, SETTINGS, now, plans=plans[worker], histories=workers[worker]
        )
        assert [answer(o) for o in outcomes] == [answer(o) for o in expected], batch
    colours = {o.colour for o in outcomes}
    assert colours  # the values gave colours at all
    delta = sum(w.delta_loads for w in workers)
    full = sum(w.full_loads for w in workers)
    # each worker loads each patient in full once; after that the other worker's rows come
    # as deltas
    assert full <= 2 * len(conditions), (full, delta)
    assert delta >= 20, (full, delta)
    assert all(w.loads == w.delta_loads + w.full_loads for w in workers)


def test_a_stale_entry_is_completed_with_only_the_missing_rows(
    sessions: sessionmaker[Session], world: World
) -> None:
    """Worker A holds the patient's first rows; worker B stores three more; A's next batch reads
    those three (a delta), and its entry then holds every row, as a fresh load would."""
    gw = gateway(world, Condition.DIABETES)
    a, b = HistoryCache(), HistoryCache()

    def glucose(id_: str, hours: int, value: float) -> Incoming:
        at = NOW - timedelta(hours=hours)
        return on(
            gw,
            reading(id_, kind="glucose", values={"glucose": value}, measured_at=at, received_at=at),
        )

    store(sessions, [glucose("g-1", 10, 6.0)], SETTINGS, NOW, plans=PlanCache(), histories=a)
    for i, hours in enumerate((9, 8, 7)):
        store(
            sessions,
            [glucose(f"b-{i}", hours, 15.5)],
            SETTINGS,
            NOW,
            plans=PlanCache(),
            histories=b,
        )
    [outcome] = store(
        sessions, [glucose("g-2", 1, 15.0)], SETTINGS, NOW, plans=PlanCache(), histories=a
    )
    assert outcome.colour == "yellow"  # B's highs count
    assert (a.full_loads, a.delta_loads, a.hits) == (1, 1, 0)
    entry = a.get(world.patients[Condition.DIABETES].id)
    assert entry is not None
    assert [r.id for r in entry.readings] == ["g-1", "b-0", "b-1", "b-2", "g-2"]
