"""The physiology model: baselines, day-to-day and circadian variation, device noise, episodes.

Every number is documented with its source in ``docs/simulation.md``; [PROJECT] marks a
plausible invented value. Synthetic data for demos, tests and load — never for clinical
validation.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

from devices.simulate.model import Condition, Episode, EpisodeKind

__all__ = [
    "BASELINE_RANGES",
    "DAY_VARIATION",
    "DEVICE_NOISE",
    "EFFECTS",
    "LIMITS",
    "Effects",
    "circadian",
    "effects_at",
    "meal_rise",
]

# ---------------------------------------------------------------- per-patient baselines

#: Per condition: the range each baseline value is drawn from (uniformly).
BASELINE_RANGES: dict[Condition, dict[str, tuple[float, float]]] = {
    Condition.COPD: {
        "spo2": (93.0, 97.0),
        "pulse": (70.0, 92.0),
        "systolic": (120.0, 145.0),
        "diastolic": (70.0, 86.0),
        "weight": (52.0, 95.0),
        "temperature": (36.5, 37.0),
        "glucose": (5.0, 6.2),
    },
    Condition.HEART_FAILURE: {
        "spo2": (95.5, 98.0),
        "pulse": (60.0, 80.0),
        "systolic": (114.0, 138.0),
        "diastolic": (62.0, 80.0),
        "weight": (60.0, 110.0),
        "temperature": (36.4, 36.9),
        "glucose": (5.0, 6.5),
    },
    Condition.DIABETES: {
        "spo2": (95.5, 98.5),
        "pulse": (62.0, 84.0),
        "systolic": (120.0, 145.0),
        "diastolic": (70.0, 88.0),
        "weight": (65.0, 120.0),
        "temperature": (36.5, 37.0),
        "glucose": (5.8, 8.5),
    },
    Condition.HYPERTENSION: {
        "spo2": (96.0, 98.5),
        "pulse": (58.0, 82.0),
        "systolic": (125.0, 148.0),
        "diastolic": (75.0, 90.0),
        "weight": (60.0, 110.0),
        "temperature": (36.5, 37.0),
        "glucose": (5.0, 6.2),
    },
    Condition.COVID19: {
        "spo2": (95.5, 98.0),
        "pulse": (68.0, 88.0),
        "systolic": (115.0, 140.0),
        "diastolic": (68.0, 85.0),
        "weight": (55.0, 110.0),
        "temperature": (36.6, 37.1),
        "glucose": (5.0, 6.2),
    },
}

# ---------------------------------------------------------------- variation and noise

#: Day-to-day variation of the true value: (SD, day-to-day correlation of an AR(1) process).
#: Glucose is relative (log scale). Order matters: it is the order of the daily draws.
DAY_VARIATION: dict[str, tuple[float, float]] = {
    "spo2": (0.7, 0.5),
    "pulse": (4.0, 0.4),
    "systolic": (6.0, 0.5),
    "diastolic": (4.0, 0.5),
    "weight": (0.35, 0.7),
    "temperature": (0.15, 0.3),
    "glucose": (0.10, 0.3),
}

#: Device (and moment-to-moment) noise per reading, as an SD; glucose is relative.
DEVICE_NOISE: dict[str, float] = {
    "spo2": 0.7,
    "pulse": 3.0,
    "systolic": 4.0,
    "diastolic": 3.0,
    "weight": 0.05,
    "temperature": 0.1,
    "glucose": 0.04,
}

#: Values are kept inside these bounds (well inside the triage plausibility limits).
LIMITS: dict[str, tuple[float, float]] = {
    "spo2": (70.0, 100.0),
    "pulse": (35.0, 180.0),
    "systolic": (70.0, 240.0),
    "diastolic": (40.0, 140.0),
    "weight": (30.0, 250.0),
    "temperature": (34.5, 41.5),
    "glucose": (1.5, 33.0),
}

_TWO_PI_PER_DAY = 2 * math.pi / 24


def circadian(parameter: str, hour: float) -> float:
    """The circadian offset of ``parameter`` at local ``hour`` (decimal hours).

    Blood pressure: baselines are morning values; lower later in the day (morning surge).
    Pulse: lowest in the small hours. Temperature: nadir near 06:00, peak near 18:00.
    Weight: baselines are morning weights after voiding; food and drink add through the day.
    """
    if parameter == "systolic":
        return 4.0 * (math.cos(_TWO_PI_PER_DAY * (hour - 8.0)) - 1.0)
    if parameter == "diastolic":
        return 2.5 * (math.cos(_TWO_PI_PER_DAY * (hour - 8.0)) - 1.0)
    if parameter == "pulse":
        return 3.0 * math.cos(_TWO_PI_PER_DAY * (hour - 15.0))
    if parameter == "temperature":
        return 0.25 * math.cos(_TWO_PI_PER_DAY * (hour - 18.0))
    if parameter == "weight":
        return min(1.0, max(0.0, hour - 7.0) * 0.08)
    return 0.0


def meal_rise(minutes_since_meal: float, amplitude: float) -> float:
    """Glucose rise after a meal: peaks at ``amplitude`` an hour in, mostly gone by 3–4 h."""
    if minutes_since_meal <= 0:
        return 0.0
    x = minutes_since_meal / 60.0
    return amplitude * x * math.exp(1.0 - x)


# ---------------------------------------------------------------- episodes


@dataclass(frozen=True, slots=True)
class _Peak:
    """An episode's effects at full strength, per severity (mild, moderate, severe)."""

    spo2: tuple[float, float, float] = (0.0, 0.0, 0.0)  # change, or target when spo2_target
    pulse: tuple[float, float, float] = (0.0, 0.0, 0.0)
    temperature: tuple[float, float, float] = (0.0, 0.0, 0.0)
    weight_per_day: tuple[float, float, float] = (0.0, 0.0, 0.0)
    systolic_target: tuple[float, float, float] | None = None
    diastolic_target: tuple[float, float, float] | None = None
    glucose_level: tuple[float, float, float] | None = None
    symptoms: tuple[float, float, float] = (0.0, 0.0, 0.0)
    spo2_target: bool = False
    symptom_lag_days: float = 0.0


EFFECTS: dict[EpisodeKind, _Peak] = {
    EpisodeKind.COPD_EXACERBATION: _Peak(
        spo2=(-1.5, -3.0, -5.0),
        pulse=(7.0, 12.0, 18.0),
        temperature=(0.1, 0.4, 0.9),
        symptoms=(0.45, 0.7, 0.97),
    ),
    EpisodeKind.HF_DECOMPENSATION: _Peak(
        spo2=(-0.5, -1.5, -3.0),
        pulse=(4.0, 8.0, 14.0),
        weight_per_day=(0.5, 0.8, 1.0),
        symptoms=(0.4, 0.65, 0.9),
        symptom_lag_days=1.0,
    ),
    EpisodeKind.HYPOGLYCAEMIA: _Peak(glucose_level=(3.6, 3.3, 2.6)),
    EpisodeKind.HYPERTENSIVE_SPIKE: _Peak(
        systolic_target=(166.0, 175.0, 192.0),
        diastolic_target=(98.0, 104.0, 115.0),
        pulse=(3.0, 5.0, 8.0),
    ),
    EpisodeKind.COVID_DETERIORATION: _Peak(
        spo2=(94.0, 92.5, 89.5),
        spo2_target=True,
        pulse=(8.0, 15.0, 25.0),
        temperature=(0.8, 1.3, 1.9),
    ),
}


@dataclass(slots=True)
class Effects:
    """What the patient's episodes do at one moment, added to the stable physiology."""

    spo2: float = 0.0
    pulse: float = 0.0
    temperature: float = 0.0
    weight: float = 0.0
    systolic: float = 0.0
    diastolic: float = 0.0
    glucose_cap: float | None = None
    symptoms: float = 0.0
    intensity: float = 0.0


def effects_at(
    episodes: tuple[Episode, ...], t: float, base_spo2: float, base_sys: float, base_dia: float
) -> Effects:
    """The summed effects of ``episodes`` at ``t`` days since the simulation's first midnight."""
    out = Effects()
    for episode in episodes:
        if t < episode.start_day or t >= episode.end_day:
            continue
        level = episode.intensity(t)
        peak = EFFECTS[episode.kind]
        i = episode.severity.rank
        if peak.symptoms[i]:
            lagged = (
                episode.intensity(t - peak.symptom_lag_days) if peak.symptom_lag_days else level
            )
            out.symptoms = max(out.symptoms, peak.symptoms[i] * lagged)
        if level == 0.0:
            continue
        out.intensity = max(out.intensity, level)
        if peak.spo2_target:
            out.spo2 += level * min(0.0, peak.spo2[i] - base_spo2)
        else:
            out.spo2 += level * peak.spo2[i]
        out.pulse += level * peak.pulse[i]
        out.temperature += level * peak.temperature[i]
        out.weight += level * peak.weight_per_day[i] * episode.onset_days
        if peak.systolic_target is not None:
            out.systolic += level * max(10.0, peak.systolic_target[i] - base_sys)
        if peak.diastolic_target is not None:
            out.diastolic += level * max(5.0, peak.diastolic_target[i] - base_dia)
        if peak.glucose_level is not None:
            cap = peak.glucose_level[i]
            out.glucose_cap = cap if out.glucose_cap is None else min(out.glucose_cap, cap)
    return out
