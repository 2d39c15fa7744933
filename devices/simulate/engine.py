"""``simulate(patient, start, days)``: a patient's readings and questionnaire answers.

Pure: the caller passes the start (aware) and the number of days; every random draw comes from
a ``random.Random`` seeded from the patient's seed and the day number, so a day's data depend
only on the patient and that day (and the slowly varying state carried from earlier days).
Sessions follow the condition's schedule in local wall time (correct across DST changes):
on time, the patient measures between the window's start and the deadline, around their habit;
late sessions fall after the deadline.
"""

from __future__ import annotations

import hashlib
import heapq
import math
import random
from collections.abc import Iterable
from datetime import datetime, timedelta

from devices.simulate.answers import answer
from devices.simulate.model import (
    Condition,
    Event,
    SimulatedPatient,
    SimulatedReading,
    SimulatedReport,
)
from devices.simulate.physiology import (
    DAY_VARIATION,
    DEVICE_NOISE,
    LIMITS,
    Effects,
    circadian,
    effects_at,
    meal_rise,
)
from devices.simulate.schedules import DEVICE_PROFILE, SCHEDULES, Session

__all__ = ["simulate", "simulate_population"]

_PARAMETERS = tuple(DAY_VARIATION)
#: (parameter, SD, day-to-day correlation, share of a new shock that is kept) for the AR(1).
_AR = tuple((p, sd, phi, math.sqrt(1.0 - phi * phi)) for p, (sd, phi) in DAY_VARIATION.items())
#: Daily jitter of the session time around the patient's habit (SD, minutes) [PROJECT].
_TIME_JITTER_MINUTES = 20.0
#: Mean delay of a late session after its deadline (minutes), and the latest it can be.
_LATE_MEAN_MINUTES = 45.0
_LATE_MAX_MINUTES = 240.0
_LAST_MINUTE_OF_DAY = 23 * 60 + 45
#: Chance that an unwell patient on a once- or twice-weekly schedule also measures in between.
_EXTRA_WHEN_UNWELL = 0.5
#: How far unwellness raises the chance of measuring (share of the gap to 100 %).
_UNWELL_ADHERENCE = 0.5
#: Chance of re-measuring after a worrying first value, as the plan advises (§4.2 of the
#: research notes) [PROJECT].
_PROMPTED_REPEAT = 0.6
_HYPO_REPEAT = 0.7
#: The hypertension protocol takes two readings a minute apart; most patients do [CHEP17].
_BP_DUPLICATE = 0.75
_COVID_FEVER_DAYS = 2.5
#: Pulse rises about 8–10/min per °C of fever [PROJECT, textbook physiology].
_PULSE_PER_DEGREE = 8.0


def _day_seed(patient_seed: int, day: int) -> int:
    digest = hashlib.blake2b(f"{patient_seed}:{day}".encode(), digest_size=8).digest()
    return int.from_bytes(digest, "big")


def _event_id(patient_seed: int, day: int, number: int) -> str:
    """A version-4 UUID string derived from the patient, day and event number (stable)."""
    h = hashlib.blake2b(f"{patient_seed}:{day}:{number}:id".encode(), digest_size=16).hexdigest()
    variant = "89ab"[int(h[16], 16) & 3]
    return f"{h[:8]}-{h[8:12]}-4{h[13:16]}-{variant}{h[17:20]}-{h[20:]}"


def _clamp(parameter: str, value: float) -> float:
    low, high = LIMITS[parameter]
    return low if value < low else high if value > high else value


class _Day:
    """One patient-day: the generator, the true state and the events made so far."""

    __slots__ = (
        "base_ts",
        "breakfast",
        "day",
        "events",
        "midnight",
        "number",
        "patient",
        "rng",
        "start_ts",
        "state",
    )

    def __init__(
        self,
        patient: SimulatedPatient,
        day: int,
        midnight: datetime,
        rng: random.Random,
        state: dict[str, float],
        start_ts: float,
        events: list[tuple[float, int, Event]],
    ) -> None:
        self.patient = patient
        self.day = day
        self.midnight = midnight
        self.rng = rng
        self.state = state
        self.start_ts = start_ts
        self.events = events
        self.number = 0
        self.breakfast = -1.0
        # Sessions run from 06:00 to 23:45, after the night-time DST change (02:00–03:00 in
        # Europe/Oslo and the other European zones), so the day's noon UTC offset holds for all
        # of them: timestamp = base_ts + seconds after local midnight.
        self.base_ts = (midnight + timedelta(hours=12)).timestamp() - 12 * 3600

    # --- truth and measurement

    def truth(self, parameter: str, minute: float, fx: Effects) -> float:
        """The true value of ``parameter`` at ``minute`` after local midnight."""
        p = self.patient
        b = p.baseline
        hour = minute / 60.0
        state = self.state[parameter]
        circ = circadian(parameter, hour)
        if parameter == "spo2":
            return b.spo2 + state + fx.spo2
        if parameter == "pulse":
            return b.pulse + state + circ + fx.pulse + _PULSE_PER_DEGREE * self.fever(hour)
        if parameter == "systolic":
            return b.systolic + state + circ + fx.systolic
        if parameter == "diastolic":
            return b.diastolic + state + circ + fx.diastolic
        if parameter == "weight":
            return b.weight + state + circ + fx.weight
        if parameter == "temperature":
            return b.temperature + state + circ + fx.temperature + self.fever(hour)
        # glucose: fasting level (log-normal day to day), capped during hypoglycaemia, plus meals
        fasting = b.glucose * math.exp(state)
        if fx.glucose_cap is not None:
            return min(fasting, fx.glucose_cap)
        rise = meal_rise(minute - self.breakfast, 0.45 * fasting)
        rise += meal_rise(minute - 12 * 60, 0.45 * fasting)
        return fasting + rise

    def fever(self, hour: float) -> float:
        p = self.patient
        if not p.fever:
            return 0.0
        return p.fever * math.exp(-(self.day + hour / 24.0) / _COVID_FEVER_DAYS)

    def measure(self, parameter: str, true: float) -> float:
        noise = DEVICE_NOISE[parameter]
        if parameter == "glucose":
            value = true * (1.0 + self.rng.gauss(0.0, noise))
        else:
            value = true + self.rng.gauss(0.0, noise)
        return _clamp(parameter, value)

    def values(self, kind: str, minute: float, fx: Effects, shift: float = 0.0) -> dict[str, float]:
        """One reading's values in canonical units, rounded to the device's resolution."""
        if kind == "spo2":
            spo2 = self.measure("spo2", self.truth("spo2", minute, fx) + shift)
            pulse = self.measure("pulse", self.truth("pulse", minute, fx))
            return {"spo2": float(round(spo2)), "pulse": float(round(pulse))}
        if kind == "blood_pressure":
            sys_ = round(self.measure("systolic", self.truth("systolic", minute, fx) + shift))
            dia = round(self.measure("diastolic", self.truth("diastolic", minute, fx) + shift / 2))
            dia = min(dia, sys_ - 15)
            pulse = round(self.measure("pulse", self.truth("pulse", minute, fx)))
            mean = round(dia + (sys_ - dia) / 3)
            return {
                "systolic": float(sys_),
                "diastolic": float(dia),
                "mean": float(mean),
                "pulse": float(pulse),
            }
        if kind == "body_weight":
            weight = self.measure("weight", self.truth("weight", minute, fx))
            return {"weight": round(weight, 1)}
        if kind == "body_temperature":
            temp = self.measure("temperature", self.truth("temperature", minute, fx) + shift)
            return {"temperature": round(temp, 1)}
        if kind == "glucose":
            glucose = self.measure("glucose", self.truth("glucose", minute, fx) + shift)
            return {"glucose": round(glucose, 1)}
        raise ValueError(f"the simulator does not measure {kind!r}")

    # --- events

    def _at(self, minute: float) -> tuple[datetime, float] | None:
        """The aware time ``minute`` after local midnight, and its POSIX timestamp."""
        seconds = int(minute * 60)
        ts = self.base_ts + seconds
        if ts < self.start_ts:
            return None
        # Aware + timedelta is wall-clock arithmetic: 07:30 stays 07:30 across a DST change.
        return self.midnight + timedelta(seconds=seconds), ts

    def reading(self, kind: str, minute: float, values: dict[str, float]) -> None:
        when = self._at(minute)
        if when is None:
            return
        at, ts = when
        p = self.patient
        self.number += 1
        event = SimulatedReading(
            id=_event_id(p.seed, self.day, self.number),
            patient_id=p.id,
            kind=kind,
            measured_at=at,
            values=values,
            device=DEVICE_PROFILE[kind],
        )
        self.events.append((ts, len(self.events), event))

    def report(self, questionnaire: str, minute: float, answers: dict[str, str]) -> None:
        when = self._at(minute)
        if when is None:
            return
        at, ts = when
        p = self.patient
        self.number += 1
        event = SimulatedReport(
            id=_event_id(p.seed, self.day, self.number),
            patient_id=p.id,
            questionnaire=questionnaire,
            answered_at=at,
            answers=answers,
        )
        self.events.append((ts, len(self.events), event))

    # --- one session

    def session_minute(self, session: Session) -> float:
        rng = self.rng
        p = self.patient
        window = session.due_minute - session.earliest_minute
        usual = session.earliest_minute + p.habit * window
        if self.breakfast < 0:
            # Fasting glucose is measured before breakfast; a late patient has eaten already.
            self.breakfast = usual + 25.0 + rng.gauss(0.0, 10.0)
        minute = usual + rng.gauss(0.0, _TIME_JITTER_MINUTES)
        if rng.random() < p.adherence.late:
            late = 5.0 + rng.expovariate(1.0 / _LATE_MEAN_MINUTES)
            latest = min(session.due_minute + _LATE_MAX_MINUTES, _LAST_MINUTE_OF_DAY)
            return min(session.due_minute + late, latest)
        low, high = session.earliest_minute, session.due_minute - 1.0
        if minute < low:  # reflect rather than pile up at the window's edges
            minute = low + (low - minute)
        elif minute > high:
            minute = high - (minute - high)
        return min(max(minute, low), high)

    def run_session(self, session: Session, minute: float, fx: Effects, bad_day: float) -> None:
        rng = self.rng
        adherence = self.patient.adherence
        parts = len(session.kinds) + (session.questionnaire is not None)
        for kind in session.kinds:
            if parts > 1 and rng.random() < adherence.partial:
                continue
            minute = self.measure_kind(kind, minute, fx)
            minute += rng.uniform(1.0, 4.0)
        if session.questionnaire is not None and not (
            parts > 1 and rng.random() < adherence.partial
        ):
            answers = answer(session.questionnaire, fx.symptoms, rng, bad_day=bad_day)
            self.report(session.questionnaire, minute, answers)

    def measure_kind(self, kind: str, minute: float, fx: Effects) -> float:
        """Take ``kind`` at ``minute`` (and any re-measure); return the minute it ended."""
        rng = self.rng
        first = self.values(kind, minute, fx)
        self.reading(kind, minute, first)
        repeat_after: float | None = None
        shift = 0.0
        if kind == "glucose" and first["glucose"] < 4.0 and rng.random() < _HYPO_REPEAT:
            # Fast sugar, then measure again 15 minutes later [METODEBOK][ADA-HYPO].
            repeat_after, shift = 15.0, rng.uniform(1.0, 2.5)
        elif self.worrying(kind, first) and rng.random() < _PROMPTED_REPEAT:
            repeat_after = rng.uniform(5.0, 8.0)  # rest 5 minutes and measure again
            shift = rng.uniform(0.0, 1.0) if kind == "spo2" else -rng.uniform(0.0, 4.0)
        elif self.patient.condition is Condition.HYPERTENSION and rng.random() < _BP_DUPLICATE:
            repeat_after, shift = 1.0, -rng.uniform(0.0, 3.0)
        elif rng.random() < self.patient.adherence.repeat:
            repeat_after = rng.uniform(1.0, 3.0)
        if repeat_after is None:
            return minute
        if kind == "body_temperature":
            shift = 0.0
        minute += repeat_after
        self.reading(kind, minute, self.values(kind, minute, fx, shift))
        return minute

    @staticmethod
    def worrying(kind: str, values: dict[str, float]) -> bool:
        if kind == "spo2":
            return values["spo2"] <= 93
        if kind == "blood_pressure":
            return values["systolic"] >= 160 or values["diastolic"] >= 100
        if kind == "body_temperature":
            return values["temperature"] >= 38.1
        return False


def _check_start(start: datetime, days: int) -> None:
    if start.tzinfo is None or start.utcoffset() is None:
        raise ValueError("start must be an aware datetime (with a time zone)")
    if days < 0:
        raise ValueError(f"days must be 0 or more, not {days}")


def simulate(patient: SimulatedPatient, start: datetime, days: int) -> list[Event]:
    """The patient's readings and reports from ``start`` over ``days`` local days, in time order.

    Day 0 is ``start``'s local date in the patient's zone; sessions before ``start`` on that day
    are left out. Measurement times are aware datetimes in the patient's zone.
    """
    _check_start(start, days)
    return [event for _, _, event in _timed_events(patient, start, days)]


def _timed_events(
    patient: SimulatedPatient, start: datetime, days: int
) -> list[tuple[float, int, Event]]:
    """(POSIX timestamp, sequence, event) in time order."""
    zone = patient.zone
    first = start.astimezone(zone).date()
    start_ts = start.timestamp()
    sessions = SCHEDULES[patient.condition]
    b = patient.baseline
    episodes = patient.episodes
    last = days if patient.monitoring_days is None else min(days, patient.monitoring_days)
    state = dict.fromkeys(_PARAMETERS, 0.0)
    events: list[tuple[float, int, Event]] = []
    for day in range(last):
        rng = random.Random(_day_seed(patient.seed, day))  # noqa: S311 - synthetic data
        gauss = rng.gauss
        for parameter, sd, phi, keep in _AR:
            shock = gauss(0.0, sd)
            state[parameter] = shock if day == 0 else phi * state[parameter] + keep * shock
        bad_day = rng.uniform(0.3, 0.6) if rng.random() < patient.bad_day_rate else 0.0
        local_date = first + timedelta(days=day)
        midnight = datetime(local_date.year, local_date.month, local_date.day, tzinfo=zone)
        weekday = local_date.isoweekday()
        chance = patient.adherence.on_day(day)
        today = _Day(patient, day, midnight, rng, state, start_ts, events)
        for session in sessions:
            if episodes:
                t = day + session.due_minute / (24 * 60)
                fx = effects_at(episodes, t, b.spo2, b.systolic, b.diastolic)
                unwell = max(fx.intensity, fx.symptoms)
            else:
                fx, unwell = Effects(), 0.0
            if weekday in session.days:
                p = chance + (1.0 - chance) * _UNWELL_ADHERENCE * unwell
                if rng.random() >= p:
                    continue
            elif not (session.sparse and unwell >= 0.3 and rng.random() < _EXTRA_WHEN_UNWELL):
                continue
            minute = today.session_minute(session)
            if unwell:
                fx = effects_at(episodes, day + minute / (24 * 60), b.spo2, b.systolic, b.diastolic)
            today.run_session(session, minute, fx, bad_day)
    events.sort(key=lambda e: (e[0], e[1]))
    return events


def simulate_population(
    patients: Iterable[SimulatedPatient], start: datetime, days: int
) -> list[Event]:
    """Every patient's events from ``start`` over ``days`` days, merged in time order.

    Events at the same instant come in the order of ``patients``.
    """
    _check_start(start, days)
    streams = [
        [(ts, number, seq, event) for ts, seq, event in _timed_events(p, start, days)]
        for number, p in enumerate(patients)
    ]
    return [event for _, _, _, event in heapq.merge(*streams)]
