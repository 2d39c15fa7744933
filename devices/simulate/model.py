"""The simulator's values: conditions, episodes, patients and the events they produce.

Plain frozen dataclasses (fast to build by the hundred thousand, typed, no I/O). The condition
and kind names are the wire values of the MQTT contract and of ``triage.domain.plan.Condition``;
``devices`` may not import ``triage``, so they are repeated here and a test keeps them equal.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field, replace
from datetime import date, datetime
from enum import StrEnum
from typing import TypeAlias
from zoneinfo import ZoneInfo

__all__ = [
    "Adherence",
    "Baseline",
    "Condition",
    "Episode",
    "EpisodeKind",
    "Event",
    "Severity",
    "SimulatedPatient",
    "SimulatedReading",
    "SimulatedReport",
]


class Condition(StrEnum):
    """The five condition templates (same values as ``triage.domain.plan.Condition``)."""

    COPD = "copd"
    HEART_FAILURE = "heart_failure"
    DIABETES = "diabetes"
    HYPERTENSION = "hypertension"
    COVID19 = "covid19"


class EpisodeKind(StrEnum):
    """A deterioration that unfolds over days, and the condition it belongs to."""

    COPD_EXACERBATION = "copd_exacerbation"
    HF_DECOMPENSATION = "hf_decompensation"
    HYPOGLYCAEMIA = "hypoglycaemia"
    HYPERTENSIVE_SPIKE = "hypertensive_spike"
    COVID_DETERIORATION = "covid_deterioration"

    @property
    def condition(self) -> Condition:
        return _EPISODE_CONDITION[self]


_EPISODE_CONDITION = {
    EpisodeKind.COPD_EXACERBATION: Condition.COPD,
    EpisodeKind.HF_DECOMPENSATION: Condition.HEART_FAILURE,
    EpisodeKind.HYPOGLYCAEMIA: Condition.DIABETES,
    EpisodeKind.HYPERTENSIVE_SPIKE: Condition.HYPERTENSION,
    EpisodeKind.COVID_DETERIORATION: Condition.COVID19,
}


class Severity(StrEnum):
    MILD = "mild"
    MODERATE = "moderate"
    SEVERE = "severe"

    @property
    def rank(self) -> int:
        """0 for mild, 1 for moderate, 2 for severe (to pick from per-severity tables)."""
        return _SEVERITY_RANK[self]


_SEVERITY_RANK = {Severity.MILD: 0, Severity.MODERATE: 1, Severity.SEVERE: 2}

#: Per kind: the share of the episode spent worsening (onset) and recovering; the rest is the
#: plateau. 0 onset means the episode is at full strength from its first hour. [PROJECT]
_SHAPE: dict[EpisodeKind, tuple[float, float]] = {
    EpisodeKind.COPD_EXACERBATION: (0.35, 0.45),
    EpisodeKind.HF_DECOMPENSATION: (0.6, 0.3),
    EpisodeKind.HYPOGLYCAEMIA: (0.0, 0.0),
    EpisodeKind.HYPERTENSIVE_SPIKE: (0.0, 0.0),
    EpisodeKind.COVID_DETERIORATION: (0.5, 0.35),
}
#: Longest onset in days (a COPD exacerbation worsens over 2–5 days).
_MAX_ONSET_DAYS = {EpisodeKind.COPD_EXACERBATION: 5.0}
_MIN_ONSET_DAYS = {EpisodeKind.COPD_EXACERBATION: 2.0}


@dataclass(frozen=True, slots=True)
class Episode:
    """A deterioration: ``kind`` from day ``start_day`` (0 = the first simulated local day)
    for ``duration_days`` days, onset and recovery included, at ``severity``."""

    kind: EpisodeKind
    start_day: int
    duration_days: int
    severity: Severity = Severity.MODERATE

    def __post_init__(self) -> None:
        if not isinstance(self.kind, EpisodeKind):
            raise TypeError(f"kind must be an EpisodeKind, not {self.kind!r}")
        if not isinstance(self.severity, Severity):
            raise TypeError(f"severity must be a Severity, not {self.severity!r}")
        if self.start_day < 0:
            raise ValueError(f"start_day must be 0 or later, not {self.start_day}")
        if self.duration_days < 1:
            raise ValueError(f"duration_days must be at least 1, not {self.duration_days}")

    @property
    def end_day(self) -> int:
        """The first day after the episode."""
        return self.start_day + self.duration_days

    def covers(self, day: int) -> bool:
        """True when local day ``day`` is one of the episode's days."""
        return self.start_day <= day < self.end_day

    @property
    def onset_days(self) -> float:
        """Days from the first sign to full strength (0: at full strength at once)."""
        onset_share, recovery_share = _SHAPE[self.kind]
        if onset_share == 0:
            return 0.0
        onset = onset_share * self.duration_days
        onset = max(onset, _MIN_ONSET_DAYS.get(self.kind, 0.0))
        onset = min(onset, _MAX_ONSET_DAYS.get(self.kind, onset))
        return min(onset, self.duration_days * (1 - recovery_share))

    @property
    def recovery_days(self) -> float:
        """Days from full strength back to the baseline, at the end of the episode."""
        return _SHAPE[self.kind][1] * self.duration_days

    def intensity(self, t: float) -> float:
        """How strong the episode is (0–1) at ``t`` days since the simulation's first midnight.

        Rises linearly over the onset, holds, then falls linearly to 0 at the end.
        """
        x = t - self.start_day
        if x < 0 or x >= self.duration_days:
            return 0.0
        onset, recovery = self.onset_days, self.recovery_days
        level = 1.0 if onset == 0 else min(1.0, x / onset)
        if recovery > 0:
            level = min(level, (self.duration_days - x) / recovery)
        return max(0.0, level)


@dataclass(frozen=True, slots=True)
class Baseline:
    """The patient's own stable values (what the 2–4-week trial period would find)."""

    spo2: float  # % at rest
    pulse: float  # /min at rest, daytime
    systolic: float  # mmHg, morning home reading
    diastolic: float  # mmHg, morning home reading
    weight: float  # kg, morning after voiding (the "dry weight" in heart failure)
    temperature: float  # °C, daily mean
    glucose: float  # mmol/L, fasting


@dataclass(frozen=True, slots=True)
class Adherence:
    """How reliably the patient measures.

    The chance of doing a scheduled session on day ``d`` starts at ``probability`` and decays
    exponentially towards ``long_term`` with ``half_life_days`` (``long_term == probability``:
    no decay). ``late``: chance a session done is after the deadline; ``repeat``: chance of an
    unprompted second reading minutes later; ``partial``: chance of leaving out one part of a
    multi-part session (e.g. the questionnaire).
    """

    probability: float = 0.9
    long_term: float = 0.9
    half_life_days: float = 30.0
    late: float = 0.05
    repeat: float = 0.03
    partial: float = 0.03

    def __post_init__(self) -> None:
        for name in ("probability", "long_term", "late", "repeat", "partial"):
            value = getattr(self, name)
            if not 0.0 <= value <= 1.0:
                raise ValueError(f"{name} must be between 0 and 1, not {value}")
        if self.half_life_days <= 0:
            raise ValueError(f"half_life_days must be positive, not {self.half_life_days}")

    def on_day(self, day: int) -> float:
        """The chance of doing a scheduled session on simulated day ``day``."""
        decay = math.exp(-math.log(2) * day / self.half_life_days)
        return self.long_term + (self.probability - self.long_term) * decay


@dataclass(frozen=True, slots=True)
class SimulatedPatient:
    """A synthetic patient: who, what condition, their own baseline, habits and episodes.

    ``seed`` drives every random draw of :func:`devices.simulate.simulate` for this patient
    (one generator per simulated day), so a patient's data never depend on other patients.
    ``episodes`` is the ground truth. ``habit`` is where in the measuring window the patient
    usually measures (0 = as early as they would, 1 = at the deadline). ``monitoring_days``
    ends the follow-up (COVID-19: about 14 days); None means ongoing.
    """

    id: str
    condition: Condition
    baseline: Baseline
    adherence: Adherence
    seed: int
    episodes: tuple[Episode, ...] = ()
    timezone: str = "Europe/Oslo"
    habit: float = 0.5
    bad_day_rate: float = 0.03
    monitoring_days: int | None = None
    fever: float = 0.0  # COVID-19: °C above baseline on day 0, fading over the first days
    _zone: ZoneInfo = field(init=False, repr=False, compare=False)

    def __post_init__(self) -> None:
        for episode in self.episodes:
            if episode.kind.condition is not self.condition:
                raise ValueError(
                    f"patient {self.id}: a {episode.kind} episode does not fit {self.condition}"
                )
        object.__setattr__(self, "_zone", ZoneInfo(self.timezone))

    @property
    def zone(self) -> ZoneInfo:
        return self._zone

    def with_episodes(self, *episodes: Episode) -> SimulatedPatient:
        """The same patient with ``episodes`` (replacing any drawn ones)."""
        return replace(self, episodes=tuple(episodes))

    def episode_on(self, day: int) -> Episode | None:
        """The episode covering local day ``day`` (0 = first simulated day), if any."""
        return next((e for e in self.episodes if e.covers(day)), None)

    def in_episode(self, day: int) -> bool:
        """True when an episode covers local day ``day``."""
        return self.episode_on(day) is not None

    def day_of(self, start: datetime, at: datetime) -> int:
        """The simulated day index of ``at`` for a simulation that began at ``start``."""
        return local_day(start, at, self._zone)


def local_day(start: datetime, at: datetime, zone: ZoneInfo) -> int:
    """Whole local calendar days from ``start``'s local date to ``at``'s, in ``zone``."""
    first: date = start.astimezone(zone).date()
    return (at.astimezone(zone).date() - first).days


@dataclass(frozen=True, slots=True)
class SimulatedReading:
    """One measurement, in the canonical units of the ``dho.reading/1`` payload.

    ``id`` is stable for a given seed (a gateway would reuse it on every retry); ``device`` is
    the catalogue profile that would have sent it; ``measured_at`` is aware, in the patient's
    zone.
    """

    id: str
    patient_id: str
    kind: str
    measured_at: datetime
    values: dict[str, float]
    device: str

    @property
    def at(self) -> datetime:
        return self.measured_at


@dataclass(frozen=True, slots=True)
class SimulatedReport:
    """One questionnaire answer set (``dho.report/1``); answers are the option values."""

    id: str
    patient_id: str
    questionnaire: str
    answered_at: datetime
    answers: dict[str, str]

    @property
    def at(self) -> datetime:
        return self.answered_at


Event: TypeAlias = SimulatedReading | SimulatedReport
