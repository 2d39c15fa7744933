"""Synthetic patients: baselines, adherence, habits and episodes drawn from a seed.

Every patient has their own generator, seeded from the global seed and the patient's id, so
adding a patient to a population never changes the others, and the same seed always gives the
same people. Ids are synthetic ("sim-0001"); nothing here describes a real person.
"""

from __future__ import annotations

import random
from collections.abc import Mapping, Sequence

from devices.simulate.model import (
    Adherence,
    Baseline,
    Condition,
    Episode,
    EpisodeKind,
    Severity,
    SimulatedPatient,
)
from devices.simulate.physiology import BASELINE_RANGES

__all__ = [
    "CONDITION_MIX",
    "EPISODE_DAYS",
    "EPISODE_KIND",
    "EPISODE_RATES",
    "draw_episodes",
    "make_patient",
    "make_population",
]

#: The default share of each condition in a population [PROJECT].
CONDITION_MIX: dict[Condition, float] = {
    Condition.COPD: 0.30,
    Condition.HEART_FAILURE: 0.25,
    Condition.DIABETES: 0.20,
    Condition.HYPERTENSION: 0.15,
    Condition.COVID19: 0.10,
}

#: The episode kind each condition has.
EPISODE_KIND: dict[Condition, EpisodeKind] = {kind.condition: kind for kind in EpisodeKind}

#: Default episodes per patient-month (30 days) [PROJECT; see docs/simulation.md].
EPISODE_RATES: dict[Condition, float] = {
    Condition.COPD: 0.15,
    Condition.HEART_FAILURE: 0.10,
    Condition.DIABETES: 0.30,
    Condition.HYPERTENSION: 0.10,
    Condition.COVID19: 0.45,
}

#: Episode duration in days, onset and recovery included (inclusive range).
EPISODE_DAYS: dict[EpisodeKind, tuple[int, int]] = {
    EpisodeKind.COPD_EXACERBATION: (7, 14),
    EpisodeKind.HF_DECOMPENSATION: (6, 10),
    EpisodeKind.HYPOGLYCAEMIA: (1, 2),
    EpisodeKind.HYPERTENSIVE_SPIKE: (1, 3),
    EpisodeKind.COVID_DETERIORATION: (4, 8),
}

_SEVERITIES = (Severity.MILD, Severity.MODERATE, Severity.SEVERE)
_SEVERITY_WEIGHTS = (0.4, 0.4, 0.2)
#: Days after one episode ends before the next may start.
_REFRACTORY_DAYS = 7
#: COVID-19 home monitoring lasts about 14 days [SMIT-BJGP]; deterioration not before day 2.
_COVID_DAYS = 14
_COVID_EARLIEST = 2


def _rng(*parts: object) -> random.Random:
    # String seeds are hashed with SHA-512: stable across runs and Python processes.
    return random.Random(":".join(("dho-sim", *map(str, parts))))  # noqa: S311 - synthetic data


def draw_episodes(
    condition: Condition,
    rng: random.Random,
    *,
    rate_per_month: float,
    horizon_days: int,
) -> tuple[Episode, ...]:
    """Episodes as a Poisson process at ``rate_per_month`` over ``horizon_days`` days."""
    if rate_per_month <= 0 or horizon_days <= 0:
        return ()
    kind = EPISODE_KIND[condition]
    low, high = EPISODE_DAYS[kind]
    covid = condition is Condition.COVID19
    horizon = min(horizon_days, _COVID_DAYS - 2) if covid else horizon_days
    day = (_COVID_EARLIEST if covid else 0) + rng.expovariate(rate_per_month / 30.0)
    episodes: list[Episode] = []
    while day < horizon:
        duration = rng.randint(low, high)
        severity = rng.choices(_SEVERITIES, _SEVERITY_WEIGHTS)[0]
        episode = Episode(kind, int(day), duration, severity)
        episodes.append(episode)
        if covid:
            break
        day = episode.end_day + _REFRACTORY_DAYS + rng.expovariate(rate_per_month / 30.0)
    return tuple(episodes)


def _adherence(rng: random.Random, condition: Condition) -> Adherence:
    initial = rng.uniform(0.85, 0.99)
    profile = rng.random()
    if condition is Condition.COVID19 or profile >= 0.75:
        # Steady: trained and motivated patients stay above 80 % [TIMHF-ADH].
        long_term, half_life = initial, 30.0
    elif profile < 0.25:
        # A sharp drop in the first two weeks [VA-COMPLIANCE].
        long_term, half_life = initial * rng.uniform(0.4, 0.7), rng.uniform(3.0, 7.0)
    else:
        # A slow decline over weeks to months [AAFP-BEATHF][TELEHF].
        long_term, half_life = initial * rng.uniform(0.6, 0.9), rng.uniform(20.0, 60.0)
    return Adherence(
        probability=initial,
        long_term=long_term,
        half_life_days=half_life,
        late=rng.uniform(0.02, 0.15),
        repeat=rng.uniform(0.01, 0.06),
        partial=rng.uniform(0.0, 0.05),
    )


def make_patient(
    patient_id: str,
    condition: Condition,
    seed: int,
    *,
    rate_per_month: float | None = None,
    horizon_days: int = 90,
    timezone: str = "Europe/Oslo",
) -> SimulatedPatient:
    """One synthetic patient with ``condition``, drawn from ``seed`` and ``patient_id``.

    Episodes are drawn at ``rate_per_month`` (default :data:`EPISODE_RATES`) over the first
    ``horizon_days`` days; pass ``rate_per_month=0`` for none and script them with
    :meth:`SimulatedPatient.with_episodes`.
    """
    condition = Condition(condition)
    rng = _rng(seed, patient_id, condition.value)
    ranges = BASELINE_RANGES[condition]
    drawn = {name: rng.uniform(low, high) for name, (low, high) in ranges.items()}
    baseline = Baseline(**drawn)
    adherence = _adherence(rng, condition)
    habit = rng.uniform(0.15, 0.85)
    bad_day_rate = rng.uniform(0.01, 0.05)
    fever = rng.uniform(0.3, 1.3) if condition is Condition.COVID19 else 0.0
    patient_seed = rng.getrandbits(63)
    rate = EPISODE_RATES[condition] if rate_per_month is None else rate_per_month
    episodes = draw_episodes(condition, rng, rate_per_month=rate, horizon_days=horizon_days)
    return SimulatedPatient(
        id=patient_id,
        condition=condition,
        baseline=baseline,
        adherence=adherence,
        seed=patient_seed,
        episodes=episodes,
        timezone=timezone,
        habit=habit,
        bad_day_rate=bad_day_rate,
        monitoring_days=_COVID_DAYS if condition is Condition.COVID19 else None,
        fever=fever,
    )


def make_population(
    n: int,
    seed: int,
    *,
    conditions: Mapping[Condition, float] | Sequence[Condition] | None = None,
    horizon_days: int = 90,
    episode_rates: Mapping[Condition, float] | None = None,
) -> list[SimulatedPatient]:
    """``n`` synthetic patients "sim-0001" … mixed across ``conditions``.

    ``conditions`` is a weight per condition, or a list of conditions to mix equally
    (default :data:`CONDITION_MIX`). ``episode_rates`` overrides :data:`EPISODE_RATES`
    (episodes per patient-month); episodes are drawn over ``horizon_days``.
    """
    if n < 0:
        raise ValueError(f"n must be 0 or more, not {n}")
    if conditions is None:
        weights = dict(CONDITION_MIX)
    elif isinstance(conditions, Mapping):
        weights = {Condition(c): float(w) for c, w in conditions.items()}
    else:
        weights = {Condition(c): 1.0 for c in conditions}
    if not weights or any(w < 0 for w in weights.values()) or sum(weights.values()) <= 0:
        raise ValueError("conditions need at least one positive weight and none negative")
    choices, cumulative = list(weights), []
    total = 0.0
    for condition in choices:
        total += weights[condition]
        cumulative.append(total)
    rates = {**EPISODE_RATES, **(episode_rates or {})}
    patients: list[SimulatedPatient] = []
    for number in range(1, n + 1):
        patient_id = f"sim-{number:04d}"
        pick = _rng(seed, patient_id, "condition").random() * total
        condition = next(c for c, edge in zip(choices, cumulative, strict=True) if pick < edge)
        patients.append(
            make_patient(
                patient_id,
                condition,
                seed,
                rate_per_month=rates[condition],
                horizon_days=horizon_days,
            )
        )
    return patients
