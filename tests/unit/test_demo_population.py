"""The demo's population and its showcase: who is simulated, and that a red comes within about a
simulated day of every start, whatever the time of day, while the history's last day holds none.

Each home is simulated as the gateway simulates it (``HomeSpec.patient()`` and one
``simulate`` from the home's start) and its readings are classified by the triage domain
against the condition's template plan, thresholds only (no history): what a red reading is."""

from __future__ import annotations

from datetime import UTC, date, datetime, timedelta

import pytest

from devices.simulate import Condition, SimulatedReading, simulate
from gateway.emulate import HomeSpec
from triage.demo.population import (
    COVID_HISTORY_DAYS,
    HISTORY_DAYS,
    DemoPerson,
    Showcase,
    condition_counts,
    episodes,
    first_open_day,
    first_red_bound,
    history_days,
    local_time,
    population,
    showcase_of,
)
from triage.domain.classify import History, classify
from triage.domain.colours import Colour
from triage.domain.plan import Condition as PlanCondition
from triage.domain.plan import approve
from triage.domain.readings import Kind, Reading
from triage.domain.templates import template
from triage.storage.seed import synthetic_national_id

SEED = 2026
TODAY = date(2026, 11, 23)
PLANS = {
    c: approve(
        template(PlanCondition(c.value)), by="gp", role="gp", at=datetime(2026, 1, 1, tzinfo=UTC)
    )
    for c in Condition
}
#: Starts every 5 hours over a week: every time of day, every weekday (Monday/Thursday schedules).
STARTS = [datetime(2026, 11, 23, 0, 30, tzinfo=UTC) + timedelta(hours=5 * i) for i in range(34)]


def is_red(reading: SimulatedReading, condition: Condition) -> bool:
    domain = Reading(
        id=reading.id, kind=Kind(reading.kind), measured_at=reading.at, values=reading.values
    )
    return classify(domain, PLANS[condition], History(), reading.at).colour is Colour.RED


def home(
    person: DemoPerson, showcase: dict[int, Showcase], now: datetime, seed: int = SEED
) -> HomeSpec:
    history = history_days(person, first_run=True, days_away=0)
    return HomeSpec.model_validate(
        {
            "gateway_id": person.gateway_id,
            "data_dir": "unused",
            "patient_id": person.sim_id,
            "condition": person.condition,
            "seed": seed,
            "episodes": episodes(
                person, seed, history, showcase.get(person.number), local_time(now)
            ),
            "history_days": history,
            "address_block": person.number,
        }
    )


def test_forty_patients_in_the_simulators_mix_with_synthetic_identities() -> None:
    assert condition_counts(40) == {
        Condition.COPD: 12,
        Condition.HEART_FAILURE: 10,
        Condition.DIABETES: 8,
        Condition.HYPERTENSION: 6,
        Condition.COVID19: 4,
    }
    for n in range(5, 120):
        counts = condition_counts(n)
        assert sum(counts.values()) == n
        assert min(counts.values()) >= 1
    people = population(40, SEED, TODAY)
    assert people == population(40, SEED, TODAY)  # the seed decides
    assert [p.sim_id for p in people] == [f"sim-{n:04d}" for n in range(1, 41)]
    assert [p.condition for p in people[:5]] == list(Condition)  # the worklist mixes them
    assert len({p.gateway_id for p in people}) == 40
    ids = {synthetic_national_id(p.birth, p.number) for p in people}
    assert len(ids) == 40
    assert all(int(i[:2]) > 40 for i in ids)  # D-numbers: never a real fødselsnummer
    assert all(50 <= (TODAY - p.birth).days / 365 <= 93 for p in people)


def test_history_is_two_weeks_at_first_then_the_days_away() -> None:
    copd, covid = (
        next(p for p in population(40, SEED, TODAY) if p.condition is c)
        for c in (Condition.COPD, Condition.COVID19)
    )
    assert history_days(copd, first_run=True, days_away=0) == HISTORY_DAYS
    assert history_days(covid, first_run=True, days_away=0) in COVID_HISTORY_DAYS
    assert history_days(copd, first_run=False, days_away=0.4) == 0
    assert history_days(copd, first_run=False, days_away=3.7) == 3
    assert history_days(copd, first_run=False, days_away=40) == HISTORY_DAYS


def test_the_showcase_is_the_first_of_each_condition_from_the_first_open_day() -> None:
    people = population(40, SEED, TODAY)
    showcase = showcase_of(people)
    diabetics = [p.number for p in people if p.condition is Condition.DIABETES]
    assert set(showcase) == {1, 2, 4, 5, *diabetics[:2]}
    for now, later in ((datetime(2026, 11, 23, 4, 0, tzinfo=UTC), 0), (STARTS[3], 1)):
        assert first_open_day(14, local_time(now)) == 14 + later
        for person in people:
            spec = home(person, showcase, now)
            first = first_open_day(spec.history_days, local_time(now))
            assert spec.episodes is not None
            if person.number in showcase:
                assert [e.start_day for e in spec.episodes] == [
                    first + showcase[person.number].days_later
                ]
            else:  # drawn episodes, none under way from the history's last day to the first
                assert all(
                    e.start_day > first or e.start_day + e.duration_days <= spec.history_days - 1
                    for e in spec.episodes
                )


@pytest.mark.parametrize("seed", [SEED, 1, 7])
def test_a_live_red_comes_within_about_a_simulated_day_of_every_start(seed: int) -> None:
    people = population(40, seed, TODAY)
    showcase = showcase_of(people)
    cast = [p for p in people if p.number in showcase]
    for now in STARTS:
        first_red: float | None = None
        for person in cast:
            spec = home(person, showcase, now, seed)
            start = now - timedelta(days=spec.history_days)
            for event in simulate(spec.patient(), start, spec.history_days + 3):
                if event.at < now or not isinstance(event, SimulatedReading):
                    continue
                if is_red(event, person.condition):
                    after = (event.at - now).total_seconds() / 86_400
                    first_red = after if first_red is None else min(first_red, after)
                    break
        assert first_red is not None, f"no red within 3 simulated days of a start at {now}"
        assert first_red <= first_red_bound(86_400) / 86_400, (now, first_red)


def test_the_last_day_of_history_holds_no_red() -> None:
    """Nothing red from before the start: the first red at the top is a live one."""
    people = population(40, SEED, TODAY)
    showcase = showcase_of(people)
    for now in STARTS[::3]:
        for person in people:
            spec = home(person, showcase, now)
            start = now - timedelta(days=spec.history_days)
            recent = [
                e
                for e in simulate(spec.patient(), start, spec.history_days + 1)
                if isinstance(e, SimulatedReading) and now - timedelta(days=1) <= e.at < now
            ]
            reds = [e for e in recent if is_red(e, person.condition)]
            assert reds == [], (now, person.sim_id, reds)
