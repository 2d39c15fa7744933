"""Who the demo's simulated patients are, and what happens to them in a run.

Pure: no I/O and no clock reads (``now`` and the seed come in). The population is the
simulator's (``devices.simulate``): conditions in the default mix, each patient drawn from the
demo seed and their simulation id ("sim-0001"). Each run of the demo starts every home's
simulation some days before now (``history_days``, the history put in the devices' memories)
and scripts a few deteriorations shortly after now — the *showcase* — so that a red appears
within minutes of every start, whatever the time of day:

* the first diabetic: severe hypoglycaemia from the first simulated day still wholly to come
  (today when the demo starts before 06:00, else tomorrow), glucose below 3 mmol/L — red at
  that morning's measurement, at most about 31 simulated hours away; the second diabetic the
  same (a second chance, should the first skip that measurement);
* the first with hypertension: a severe hypertensive spike from that day;
* the first with COVID-19: a severe deterioration from that day (SpO2 falling over days);
* the first with heart failure: a moderate decompensation from the day after (weight gain,
  then symptoms); the first with COPD: a severe exacerbation from then.

Everybody else keeps the episodes the simulator drew for them, except any that would be under
way from the last day of the history to that first open day (history younger than a day opens
alerts, so the worklist at start would otherwise show reds from before the demo started).
"""

from __future__ import annotations

import random
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import date, datetime, timedelta
from typing import Protocol
from zoneinfo import ZoneInfo

from devices.simulate import Condition, EpisodeKind, Severity, make_patient
from devices.simulate.population import CONDITION_MIX
from gateway.emulate import EpisodeSpec

#: Days of history a home's devices hold at the demo's first start (COVID-19 patients: see
#: :func:`history_days`).
HISTORY_DAYS = 14
#: COVID-19 home monitoring lasts 14 days from enrolment; demo COVID-19 patients were enrolled
#: 3 to 6 days before the first start, so most of their course is still to come.
COVID_HISTORY_DAYS = (3, 4, 5, 6)

_NAMES_FIRST = (
    "Astrid", "Bjørn", "Ingrid", "Olav", "Solveig", "Arne", "Kari", "Per", "Liv", "Knut",
    "Randi", "Svein", "Berit", "Terje", "Eva", "Odd", "Gunn", "Harald", "Marit", "Jon",
    "Turid", "Egil", "Ragnhild", "Leif", "Sigrid", "Tor", "Aud", "Geir", "Inger", "Rolf",
)  # fmt: skip
_NAMES_LAST = (
    "Hansen", "Johansen", "Olsen", "Larsen", "Andersen", "Pedersen", "Nilsen", "Kristiansen",
    "Jensen", "Karlsen", "Johnsen", "Pettersen", "Eriksen", "Berg", "Haugen", "Hagen",
    "Johannessen", "Andreassen", "Jacobsen", "Dahl", "Lunde", "Solberg", "Moen", "Strand",
)  # fmt: skip


#: No schedule measures before 06:00 (the earliest window of the templates' schedules), so
#: before then the whole of today is still to come.
FIRST_MEASUREMENT_HOUR = 6


@dataclass(frozen=True)
class Showcase:
    """A scripted deterioration: ``kind`` from the first day still wholly to come
    (``days_later`` 0) or a day or more after it."""

    kind: EpisodeKind
    days_later: int
    duration_days: int
    severity: Severity


#: Per condition, the showcase episodes of its first, second, … patient.
SHOWCASE: dict[Condition, tuple[Showcase, ...]] = {
    Condition.DIABETES: (
        Showcase(EpisodeKind.HYPOGLYCAEMIA, 0, 2, Severity.SEVERE),
        Showcase(EpisodeKind.HYPOGLYCAEMIA, 0, 1, Severity.SEVERE),
    ),
    Condition.HYPERTENSION: (Showcase(EpisodeKind.HYPERTENSIVE_SPIKE, 0, 3, Severity.SEVERE),),
    Condition.COVID19: (Showcase(EpisodeKind.COVID_DETERIORATION, 0, 6, Severity.SEVERE),),
    Condition.HEART_FAILURE: (Showcase(EpisodeKind.HF_DECOMPENSATION, 1, 8, Severity.MODERATE),),
    Condition.COPD: (Showcase(EpisodeKind.COPD_EXACERBATION, 1, 10, Severity.SEVERE),),
}


class Simulated(Protocol):
    """What a run needs to know of a patient: their number, simulation id and condition."""

    @property
    def number(self) -> int: ...
    @property
    def sim_id(self) -> str: ...
    @property
    def condition(self) -> Condition: ...


@dataclass(frozen=True)
class DemoPerson:
    """One simulated patient of the demo: ``number`` 1…n, simulated as ``sim_id``."""

    number: int
    sim_id: str
    condition: Condition
    display_name: str
    birth: date

    @property
    def gateway_id(self) -> str:
        return f"gw-demo-{self.number:04d}"


def condition_counts(n: int) -> dict[Condition, int]:
    """How many of ``n`` patients have each condition: the simulator's default mix, rounded by
    largest remainder, and at least one of each when ``n`` is 5 or more."""
    if n < 1:
        raise ValueError(f"the demo needs at least one patient, not {n}")
    shares = {c: n * w for c, w in CONDITION_MIX.items()}
    counts = {c: int(s) for c, s in shares.items()}
    if n >= len(CONDITION_MIX):
        for c in counts:
            counts[c] = max(counts[c], 1)
    by_remainder = sorted(shares, key=lambda c: (counts[c] - shares[c], list(shares).index(c)))
    while sum(counts.values()) < n:
        counts[by_remainder.pop(0)] += 1
    while sum(counts.values()) > n:
        biggest = max(counts, key=lambda c: counts[c])
        counts[biggest] -= 1
    return counts


def population(n: int, seed: int, today: date) -> list[DemoPerson]:
    """``n`` demo patients, conditions interleaved (the worklist mixes them), synthetic names
    and birth dates drawn from ``seed``."""
    remaining = condition_counts(n)
    order: list[Condition] = []
    while any(remaining.values()):
        for condition in CONDITION_MIX:
            if remaining[condition]:
                order.append(condition)
                remaining[condition] -= 1
    people = []
    for number, condition in enumerate(order, start=1):
        rng = random.Random(f"dho-demo:{seed}:{number}")  # noqa: S311 - synthetic data
        name = f"{rng.choice(_NAMES_FIRST)} {rng.choice(_NAMES_LAST)}"
        age_days = rng.randint(50 * 365, 92 * 365)
        people.append(
            DemoPerson(
                number=number,
                sim_id=f"sim-{number:04d}",
                condition=condition,
                display_name=name,
                birth=today - timedelta(days=age_days),
            )
        )
    return people


def history_days(person: Simulated, *, first_run: bool, days_away: float) -> int:
    """Days of history this run puts in ``person``'s devices: two weeks at the first start
    (COVID-19: 3–6 days, see :data:`COVID_HISTORY_DAYS`); later, the whole days the demo was
    away, at most as much."""
    if person.condition == Condition.COVID19:
        most = COVID_HISTORY_DAYS[person.number % len(COVID_HISTORY_DAYS)]
    else:
        most = HISTORY_DAYS
    if first_run:
        return most
    return max(0, min(most, int(days_away)))


def showcase_of(people: Sequence[Simulated]) -> dict[int, Showcase]:
    """The showcase episode of each showcase patient, by number."""
    seen: dict[Condition, int] = {}
    chosen: dict[int, Showcase] = {}
    for person in people:
        index = seen.get(person.condition, 0)
        seen[person.condition] = index + 1
        scripted = SHOWCASE.get(person.condition, ())
        if index < len(scripted):
            chosen[person.number] = scripted[index]
    return chosen


def first_open_day(history: int, local_now: datetime) -> int:
    """The simulation day (today is day ``history``) of the first day whose measurements are
    all still to come: today before 06:00, else tomorrow."""
    return history if local_now.hour < FIRST_MEASUREMENT_HOUR else history + 1


def episodes(
    person: Simulated, seed: int, history: int, showcase: Showcase | None, local_now: datetime
) -> tuple[EpisodeSpec, ...]:
    """``person``'s episodes for a run whose simulation starts ``history`` days before today
    (today is day ``history``), ``local_now`` being the local time of the start."""
    first = first_open_day(history, local_now)
    if showcase is not None:
        return (
            EpisodeSpec(
                kind=showcase.kind,
                start_day=first + showcase.days_later,
                duration_days=showcase.duration_days,
                severity=showcase.severity,
            ),
        )
    drawn = make_patient(person.sim_id, person.condition, seed).episodes
    # none under way in the last day of the history (it opens alerts) or before the showcase
    quiet_from, quiet_to = history - 1, first
    return tuple(
        EpisodeSpec(
            kind=e.kind,
            start_day=e.start_day,
            duration_days=e.duration_days,
            severity=e.severity,
        )
        for e in drawn
        if e.end_day <= quiet_from or e.start_day > quiet_to
    )


def first_red_bound(seconds_per_day: float) -> float:
    """Real seconds within which the first showcase red is measured after the homes start: the
    first open day's morning measurement is at most 31 simulated hours away (from 06:00 to the
    next day's 09:00 deadline, plus up to 4 hours for a late patient)."""
    return seconds_per_day * 31 / 24


def local_time(now: datetime, zone: str = "Europe/Oslo") -> datetime:
    """``now`` at the follow-up centre (the simulated patients' zone)."""
    return now.astimezone(ZoneInfo(zone))
