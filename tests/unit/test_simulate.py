"""Simulated patients: reproducible, plausible, on schedule, and their episodes show in triage."""

from __future__ import annotations

import itertools
import re
import statistics
from collections import defaultdict
from collections.abc import Callable, Sequence
from dataclasses import replace
from datetime import UTC, date, datetime, time, timedelta
from pathlib import Path
from zoneinfo import ZoneInfo

import pytest

from devices import decode
from devices.characteristics import blood_pressure, glucose, plx, temperature, weight
from devices.measurement import Measurement
from devices.simulate import (
    Adherence,
    Condition,
    Episode,
    EpisodeKind,
    Event,
    Severity,
    SimulatedPatient,
    SimulatedReading,
    SimulatedReport,
    make_patient,
    make_population,
    simulate,
    simulate_population,
    to_device_measurement,
)
from devices.simulate.answers import QUESTIONNAIRES
from devices.simulate.schedules import SCHEDULES
from triage.domain import plan as triage_plan
from triage.domain.classify import History, classify, classify_report
from triage.domain.colours import Colour
from triage.domain.questionnaires import BUILTIN_QUESTIONNAIRES, get_questionnaire, score
from triage.domain.readings import Kind, Reading, Report, check_plausibility
from triage.domain.schedule import is_missed, iter_slots
from triage.domain.templates import template

OSLO = ZoneInfo("Europe/Oslo")
START = datetime(2026, 11, 2, 0, 0, tzinfo=OSLO)  # a Monday
NO_EPISODES = 0.0
STEADY = Adherence(probability=1.0, long_term=1.0, late=0.0, repeat=0.0, partial=0.0)


def patient(
    condition: Condition,
    seed: int = 1,
    *episodes: Episode,
    adherence: Adherence = STEADY,
) -> SimulatedPatient:
    made = make_patient("sim-0001", condition, seed, rate_per_month=NO_EPISODES)
    return replace(made, adherence=adherence, bad_day_rate=0.0).with_episodes(*episodes)


def readings_of(events: Sequence[Event], kind: str) -> list[SimulatedReading]:
    return [e for e in events if isinstance(e, SimulatedReading) and e.kind == kind]


def reports_of(events: Sequence[Event]) -> list[SimulatedReport]:
    return [e for e in events if isinstance(e, SimulatedReport)]


def by_day(
    p: SimulatedPatient, events: Sequence[SimulatedReading], key: str
) -> dict[int, list[float]]:
    days: dict[int, list[float]] = defaultdict(list)
    for e in events:
        days[p.day_of(START, e.measured_at)].append(e.values[key])
    return days


# ---------------------------------------------------------------- reproducibility


def test_same_seed_gives_identical_events() -> None:
    """Running the demo twice with the same seed shows exactly the same patients and data."""
    first = simulate_population(make_population(30, seed=11), START, 14)
    again = simulate_population(make_population(30, seed=11), START, 14)
    assert first == again
    assert len(first) > 300


def test_different_seed_gives_different_events() -> None:
    """Another seed gives another population and other readings."""
    a = make_population(30, seed=11)
    b = make_population(30, seed=12)
    assert [p.baseline for p in a] != [p.baseline for p in b]
    assert simulate_population(a, START, 7) != simulate_population(b, START, 7)


def test_adding_a_patient_does_not_change_the_others() -> None:
    """Growing the demo from 20 to 21 patients leaves the first 20 and their data unchanged."""
    twenty = make_population(20, seed=5)
    twenty_one = make_population(21, seed=5)
    assert twenty_one[:20] == twenty
    for p in twenty:
        assert simulate(p, START, 10) == simulate(twenty_one[int(p.id[4:]) - 1], START, 10)


def test_an_episode_does_not_change_the_days_before_it() -> None:
    """Scripting an episode on day 20 leaves the first 20 days of data as they were."""
    calm = patient(Condition.HEART_FAILURE, 3)
    sick = calm.with_episodes(Episode(EpisodeKind.HF_DECOMPENSATION, 20, 8))
    before = [e for e in simulate(calm, START, 30) if calm.day_of(START, e.at) < 20]
    assert before == [e for e in simulate(sick, START, 30) if sick.day_of(START, e.at) < 20]


def test_population_mixes_the_five_conditions_with_synthetic_ids() -> None:
    """A default population has every condition and only made-up ids like sim-0001."""
    patients = make_population(200, seed=2)
    assert {p.condition for p in patients} == set(Condition)
    assert [p.id for p in patients[:3]] == ["sim-0001", "sim-0002", "sim-0003"]
    assert all(p.timezone == "Europe/Oslo" for p in patients)
    only = make_population(20, seed=2, conditions=[Condition.DIABETES, Condition.COPD])
    assert {p.condition for p in only} == {Condition.DIABETES, Condition.COPD}


def test_simulator_names_match_the_triage_domain() -> None:
    """Condition names are the triage service's, so a simulated patient gets the right plan."""
    assert {c.value for c in Condition} == {c.value for c in triage_plan.Condition}
    assert {k.condition.value for k in EpisodeKind} == {c.value for c in Condition}


# ---------------------------------------------------------------- plausibility and order


def test_every_simulated_reading_is_plausible() -> None:
    """No simulated reading is ever rejected as a data error by the triage service."""
    patients = make_population(150, seed=9, horizon_days=60)
    readings = [
        e for e in simulate_population(patients, START, 60) if isinstance(e, SimulatedReading)
    ]
    assert len(readings) > 5000
    for r in readings:
        assert check_plausibility(Kind(r.kind), r.values) == [], r


def test_population_events_are_in_time_order() -> None:
    """The merged stream plays back in the order things happened, across all patients."""
    events = simulate_population(make_population(40, seed=4), START, 10)
    instants = [e.at.timestamp() for e in events]
    assert instants == sorted(instants)
    assert len({e.id for e in events}) == len(events)


def test_start_must_be_aware() -> None:
    """A start time without a zone is refused with a reason."""
    with pytest.raises(ValueError, match="aware"):
        simulate(patient(Condition.COPD), datetime(2026, 11, 2), 7)  # noqa: DTZ001


def test_nothing_happens_before_start() -> None:
    """Starting at noon leaves out that morning's measurements."""
    noon = datetime(2026, 11, 2, 12, 0, tzinfo=OSLO)
    events = simulate(patient(Condition.HEART_FAILURE), noon, 3)
    assert events
    assert min(e.at for e in events) >= noon


# ---------------------------------------------------------------- schedule and time


def _within_schedule(
    events: Sequence[Event], condition: Condition, *, late_allowed: bool
) -> list[str]:
    problems = []
    sessions = SCHEDULES[condition]
    for e in events:
        local = e.at.astimezone(OSLO)
        minute = local.hour * 60 + local.minute
        fits = any(
            local.isoweekday() in s.days
            and s.earliest_minute <= minute <= s.due_minute + (240 if late_allowed else 20)
            for s in sessions
        )
        if not fits:
            problems.append(f"{condition}: {local:%a %Y-%m-%d %H:%M}")
    return problems


@pytest.mark.parametrize("condition", list(Condition))
def test_measurement_times_follow_the_schedule(condition: Condition) -> None:
    """On-time patients measure on their schedule's weekdays, before the local deadline."""
    p = patient(condition, 6)
    events = simulate(p, START, 28)
    assert events
    assert _within_schedule(events, condition, late_allowed=False) == []
    assert all(e.at.tzinfo is p.zone for e in events)


@pytest.mark.parametrize(
    ("first_day", "change"),
    [(date(2026, 10, 21), date(2026, 10, 25)), (date(2026, 3, 25), date(2026, 3, 29))],
)
def test_wall_times_hold_across_a_dst_change(first_day: date, change: date) -> None:
    """In the week the clocks change, a 07:30 habit is still 07:30 on the wall, not 06:30."""
    start = datetime.combine(first_day, time(0, 0), tzinfo=OSLO)
    for condition in Condition:
        events = simulate(patient(condition, 8), start, 8)
        assert _within_schedule(events, condition, late_allowed=False) == []
        for e in events:
            expected = datetime.combine(e.at.date(), e.at.time(), tzinfo=OSLO).utcoffset()
            assert e.at.utcoffset() == expected
        assert [e.at.timestamp() for e in events] == sorted(e.at.timestamp() for e in events)
        offsets = {e.at.utcoffset() for e in events}
        before = [e for e in events if e.at.date() < change]
        after = [e for e in events if e.at.date() > change]
        assert before
        assert after
        assert len(offsets) == 2
        assert {e.at.utcoffset() for e in before} != {e.at.utcoffset() for e in after}


def test_late_measurements_come_after_the_deadline() -> None:
    """A patient who is often late shows up after the deadline about as often as configured."""
    late = Adherence(probability=1.0, long_term=1.0, late=0.3, repeat=0.0, partial=0.0)
    p = patient(Condition.DIABETES, 3, adherence=late)
    events = simulate(p, START, 300)
    local = [e.at.astimezone(OSLO) for e in events]
    after = [t for t in local if t.time() > time(9, 0)]
    assert 0.24 < len(after) / len(events) < 0.36
    assert all(t.time() <= time(13, 0) for t in after)
    assert _within_schedule(events, Condition.DIABETES, late_allowed=True) == []


def test_late_fasting_glucose_is_higher_after_breakfast() -> None:
    """Glucose measured late (after breakfast) is higher than the fasting readings on time."""
    late = Adherence(probability=1.0, long_term=1.0, late=0.3, repeat=0.0, partial=0.0)
    p = patient(Condition.DIABETES, 4, adherence=late)
    events = readings_of(simulate(p, START, 300), "glucose")
    on_time = [e.values["glucose"] for e in events if e.at.time() <= time(9, 0)]
    after = [e.values["glucose"] for e in events if e.at.time() > time(9, 45)]
    assert statistics.mean(after) > statistics.mean(on_time) + 1.0


def test_temperature_is_higher_in_the_evening() -> None:
    """COVID-19 evening temperatures run warmer than morning ones (circadian rhythm)."""
    morning: list[float] = []
    evening: list[float] = []
    for seed in range(30):
        p = patient(Condition.COVID19, seed)
        for e in readings_of(simulate(p, START, 14), "body_temperature"):
            if p.day_of(START, e.at) >= 5:  # the early fever has faded
                (morning if e.at.hour < 11 else evening if e.at.hour >= 18 else []).append(
                    e.values["temperature"]
                )
    assert statistics.mean(evening) - statistics.mean(morning) > 0.2


# ---------------------------------------------------------------- adherence


def test_missed_rate_matches_the_adherence_probability() -> None:
    """A patient who measures 70 % of the time misses about 30 % of slots, as triage counts them."""
    adherence = Adherence(probability=0.7, long_term=0.7, late=0.0, repeat=0.0, partial=0.0)
    p = patient(Condition.DIABETES, 21, adherence=adherence)
    days = 400
    events = simulate(p, START, days)
    readings = [
        Reading(id=e.id, kind=Kind(e.kind), measured_at=e.at, values=e.values)
        for e in readings_of(events, "glucose")
    ]
    slots = list(iter_slots(template("diabetes").schedule, START, START + timedelta(days=days)))
    missed = sum(is_missed(slot, readings, []) for slot in slots)
    assert len(slots) == days
    assert 0.25 < missed / days < 0.35  # binomial SD ≈ 0.023


def test_adherence_drops_over_the_first_weeks() -> None:
    """A patient with an early drop measures far less in weeks 5–8 than in week 1."""
    dropping = Adherence(
        probability=0.95, long_term=0.45, half_life_days=5.0, late=0.0, repeat=0.0, partial=0.0
    )
    week_one, later = 0, 0
    for seed in range(10):
        p = patient(Condition.HEART_FAILURE, seed, adherence=dropping)
        days = {p.day_of(START, e.at) for e in readings_of(simulate(p, START, 56), "body_weight")}
        week_one += sum(1 for d in days if d < 7)
        later += sum(1 for d in days if d >= 28)
    assert week_one / 70 > 0.8
    assert later / 280 < 0.6


def test_some_measurements_are_repeated_minutes_later() -> None:
    """Patients sometimes re-measure: two readings of the same kind a few minutes apart."""
    repeat = Adherence(probability=1.0, long_term=1.0, late=0.0, repeat=0.2, partial=0.0)
    p = patient(Condition.COPD, 2, adherence=repeat)
    spo2 = readings_of(simulate(p, START, 70), "spo2")
    gaps = [(b.at - a.at) for a, b in itertools.pairwise(spo2)]
    doubles = [g for g in gaps if g <= timedelta(minutes=10)]
    assert 2 <= len(doubles) <= len(spo2) // 2


def test_adherence_is_a_probability() -> None:
    """A nonsense adherence setting is refused."""
    with pytest.raises(ValueError, match="probability"):
        Adherence(probability=1.5)


# ---------------------------------------------------------------- episodes


def test_ground_truth_tells_which_days_are_in_an_episode() -> None:
    """The demo can tell which days a patient is deteriorating."""
    episode = Episode(EpisodeKind.COPD_EXACERBATION, 10, 7, Severity.SEVERE)
    p = patient(Condition.COPD, 1, episode)
    assert [d for d in range(30) if p.in_episode(d)] == list(range(10, 17))
    assert p.episode_on(12) == episode
    assert p.episode_on(17) is None


def test_episodes_must_fit_the_condition() -> None:
    """A heart-failure episode cannot be scripted for a diabetes patient."""
    with pytest.raises(ValueError, match="does not fit"):
        patient(Condition.DIABETES, 1, Episode(EpisodeKind.HF_DECOMPENSATION, 3, 5))
    with pytest.raises(ValueError, match="duration_days"):
        Episode(EpisodeKind.HYPOGLYCAEMIA, 3, 0)


def test_episode_rate_matches_the_configured_rate() -> None:
    """At one episode per patient-month, a year of 100 patients has about 12 each (less rest)."""
    patients = make_population(
        100,
        seed=3,
        conditions=[Condition.DIABETES],
        horizon_days=360,
        episode_rates={Condition.DIABETES: 1.0},
    )
    per_patient = statistics.mean(len(p.episodes) for p in patients)
    # Poisson at 1/30 days with a week of rest after each 1–2-day episode: 360 / (30 + 8.5)
    assert 8.0 < per_patient < 11.0
    assert all(e.kind is EpisodeKind.HYPOGLYCAEMIA for p in patients for e in p.episodes)


def _classified_days(p: SimulatedPatient, days: int) -> dict[int, Colour]:
    """Each simulated day's worst colour under the condition's template plan."""
    plan = template(p.condition.value)
    readings: list[Reading] = []
    reports: list[Report] = []
    worst: dict[int, Colour] = {}
    for e in simulate(p, START, days):
        history = History(readings=tuple(readings), reports=tuple(reports))
        if isinstance(e, SimulatedReading):
            reading = Reading(id=e.id, kind=Kind(e.kind), measured_at=e.at, values=e.values)
            colour = classify(reading, plan, history, e.at).colour
            readings.append(reading)
        else:
            report = Report(
                id=e.id, questionnaire=e.questionnaire, answered_at=e.at, answers=e.answers
            )
            colour = classify_report(report, plan, history, e.at).colour
            reports.append(report)
        day = p.day_of(START, e.at)
        if day not in worst or colour.rank > worst[day].rank:
            worst[day] = colour
    return worst


def _largest_3_day_gain(seed: int, severity: Severity) -> tuple[float, float]:
    """The largest morning-to-morning gain over 3 days during the episode, and the spread
    of the weights before it."""
    p = patient(
        Condition.HEART_FAILURE, seed, Episode(EpisodeKind.HF_DECOMPENSATION, 20, 8, severity)
    )
    weights = by_day(p, readings_of(simulate(p, START, 30), "body_weight"), "weight")
    gain = max(weights[d][0] - weights[d - 3][0] for d in range(21, 28))
    before = [w for d in range(20) for w in weights[d]]
    return gain, max(before) - min(before)


def test_hf_decompensation_gains_more_than_2_kg_within_3_days() -> None:
    """A scripted decompensation puts more than 2 kg on the scale within 3 days."""
    severe = [_largest_3_day_gain(seed, Severity.SEVERE) for seed in range(10)]
    assert all(gain > 2.0 for gain, _ in severe), severe
    assert all(spread < 2.5 for _, spread in severe), severe
    moderate = [_largest_3_day_gain(seed, Severity.MODERATE)[0] for seed in range(10)]
    assert sum(gain > 2.0 for gain in moderate) >= 8, moderate
    mild = [_largest_3_day_gain(seed, Severity.MILD)[0] for seed in range(10)]
    assert statistics.mean(mild) < statistics.mean(moderate)


def test_hf_template_turns_yellow_or_red_during_decompensation_and_rarely_before() -> None:
    """The heart-failure plan flags the decompensation days, and few days before it."""
    for seed in range(4):
        episode = Episode(EpisodeKind.HF_DECOMPENSATION, 24, 8, Severity.MODERATE)
        p = patient(Condition.HEART_FAILURE, seed, episode)
        colours = _classified_days(p, 32)
        during = [colours[d] for d in range(24, 32)]
        before = [colours[d] for d in range(24)]
        assert sum(c is not Colour.GREEN for c in during) >= 3, (seed, during)
        assert sum(c is not Colour.GREEN for c in before) <= 4, (seed, before)


def test_copd_template_flags_an_exacerbation() -> None:
    """The COPD plan turns yellow or red during an exacerbation, even on a twice-weekly plan."""
    episode = Episode(EpisodeKind.COPD_EXACERBATION, 22, 10, Severity.MODERATE)
    p = patient(Condition.COPD, 2, episode)
    colours = _classified_days(p, 35)
    assert any(colours.get(d, Colour.GREEN) is not Colour.GREEN for d in range(22, 32))
    assert sum(colours[d] is not Colour.GREEN for d in colours if d < 22) <= 1


def test_copd_exacerbation_drops_spo2_and_raises_pulse() -> None:
    """An exacerbation shows as lower SpO2 and a faster pulse than the patient's own baseline."""
    drops, rises = [], []
    for seed in range(10):
        episode = Episode(EpisodeKind.COPD_EXACERBATION, 21, 10, Severity.MODERATE)
        p = patient(Condition.COPD, seed, episode)
        spo2 = readings_of(simulate(p, START, 31), "spo2")
        base = [e.values for e in spo2 if p.day_of(START, e.at) < 21]
        peak = [e.values for e in spo2 if 24 <= p.day_of(START, e.at) <= 27]
        assert peak, seed
        drops.append(statistics.mean(v["spo2"] for v in base) - min(v["spo2"] for v in peak))
        rises.append(max(v["pulse"] for v in peak) - statistics.mean(v["pulse"] for v in base))
    assert statistics.mean(drops) >= 2.5
    assert statistics.mean(rises) >= 8.0


@pytest.mark.parametrize(
    ("severity", "below"), [(Severity.MILD, 4.0), (Severity.MODERATE, 4.0), (Severity.SEVERE, 3.0)]
)
def test_hypoglycaemia_episode_gives_low_glucose(severity: Severity, below: float) -> None:
    """A hypoglycaemia day shows glucose below 4.0 mmol/L, and below 3.0 when severe."""
    for seed in range(5):
        episode = Episode(EpisodeKind.HYPOGLYCAEMIA, 10, 2, severity)
        p = patient(Condition.DIABETES, seed, episode)
        days = by_day(p, readings_of(simulate(p, START, 20), "glucose"), "glucose")
        assert min(days[10]) < below
        assert min(days[11]) < below
        assert all(min(days[d]) >= 4.0 for d in days if not p.in_episode(d))


def test_hypertensive_spike_raises_blood_pressure() -> None:
    """A severe hypertensive spike puts home BP at 180/110 territory; normal days stay below 160."""
    episode = Episode(EpisodeKind.HYPERTENSIVE_SPIKE, 14, 3, Severity.SEVERE)
    p = patient(Condition.HYPERTENSION, 5, episode)
    days = by_day(p, readings_of(simulate(p, START, 21), "blood_pressure"), "systolic")
    assert any(max(days[d]) >= 180 for d in range(14, 17) if d in days)
    assert all(max(days[d]) < 170 for d in days if not p.in_episode(d))


def test_covid_deterioration_lowers_spo2_and_brings_fever() -> None:
    """A severe COVID-19 deterioration drops SpO2 to 92 % or below, with fever."""
    episode = Episode(EpisodeKind.COVID_DETERIORATION, 5, 6, Severity.SEVERE)
    p = patient(Condition.COVID19, 7, episode)
    events = simulate(p, START, 14)
    spo2 = by_day(p, readings_of(events, "spo2"), "spo2")
    temps = by_day(p, readings_of(events, "body_temperature"), "temperature")
    assert min(v for d in range(6, 10) for v in spo2[d]) <= 92
    assert max(v for d in range(6, 10) for v in temps[d]) >= 38.1
    assert max(p.day_of(START, e.at) for e in events) == 13  # monitoring ends after 14 days


# ---------------------------------------------------------------- questionnaires


def test_simulated_questionnaires_match_the_built_in_ones() -> None:
    """The simulator answers the exact items and options the triage service asks."""
    for qid, items in QUESTIONNAIRES.items():
        definition = BUILTIN_QUESTIONNAIRES[qid]
        assert [i.id for i in items] == [i.id for i in definition.items]
        for mine, theirs in zip(items, definition.items, strict=True):
            assert mine.options == theirs.values, mine.id
            flagged = tuple(o.value for o in theirs.options if o.red_flag)
            assert mine.options[len(mine.options) - mine.red_flags :] == flagged, mine.id


def test_every_simulated_answer_set_scores() -> None:
    """Every simulated questionnaire is accepted and scored by the triage service."""
    patients = make_population(
        120, seed=8, conditions=[Condition.COPD, Condition.HEART_FAILURE], horizon_days=60
    )
    reports = reports_of(simulate_population(patients, START, 60))
    assert len(reports) > 1000
    colours = {score(get_questionnaire(r.questionnaire), r.answers).colour for r in reports}
    assert colours == {Colour.GREEN, Colour.YELLOW, Colour.RED}


@pytest.mark.parametrize(
    ("condition", "kind"),
    [
        (Condition.COPD, EpisodeKind.COPD_EXACERBATION),
        (Condition.HEART_FAILURE, EpisodeKind.HF_DECOMPENSATION),
    ],
)
def test_answers_get_worse_during_episodes(condition: Condition, kind: EpisodeKind) -> None:
    """Symptom scores rise during an episode and are low before it."""
    inside: list[int] = []
    outside: list[int] = []
    for seed in range(6):
        p = patient(condition, seed, Episode(kind, 20, 9, Severity.MODERATE))
        for r in reports_of(simulate(p, START, 29)):
            total = score(get_questionnaire(r.questionnaire), r.answers).total
            day = p.day_of(START, r.at)
            (inside if 24 <= day <= 27 else outside if day < 20 else []).append(total)
    assert statistics.mean(inside) >= 3.0
    assert statistics.mean(outside) < 0.5


# ---------------------------------------------------------------- schedules and devices


def test_schedules_match_the_condition_templates() -> None:
    """The simulator measures what each template schedules, on its days and deadlines."""
    for condition in Condition:
        schedule = template(condition.value).schedule
        mine = [
            (s.kinds, s.questionnaire, s.days, time(s.due_minute // 60, s.due_minute % 60))
            for s in SCHEDULES[condition]
        ]
        theirs = [
            (tuple(str(k) for k in i.kinds), i.questionnaire, i.days, i.due_by)
            for i in schedule.items
        ]
        assert sorted(mine) == sorted(theirs), condition
        assert schedule.timezone == "Europe/Oslo"


_ENCODERS: dict[str, tuple[str, Callable[..., bytes]]] = {
    "blood_pressure": ("2a35", blood_pressure.encode),
    "spo2": ("2a5e", plx.encode_spot_check),
    "body_temperature": ("2a1c", temperature.encode),
    "body_weight": ("2a9d", weight.encode_measurement),
    "glucose": ("2a18", glucose.encode_measurement),
}


def test_blood_pressure_reading_becomes_what_a_cuff_sends() -> None:
    """A simulated BP reading becomes the cuff's measurement: mmHg, pulse, naive local time."""
    at = datetime(2026, 11, 23, 8, 14, 5, tzinfo=OSLO)
    reading = SimulatedReading(
        id="r1",
        patient_id="sim-0001",
        kind="blood_pressure",
        measured_at=at,
        values={"systolic": 142.0, "diastolic": 91.0, "mean": 108.0, "pulse": 77.0},
        device="blood_pressure",
    )
    assert to_device_measurement(reading) == blood_pressure.BloodPressureMeasurement(
        systolic=142.0,
        diastolic=91.0,
        mean_arterial_pressure=108.0,
        unit="mmHg",
        timestamp=datetime(2026, 11, 23, 8, 14, 5),  # noqa: DTZ001 - devices report local time
        pulse_rate=77.0,
    )


def test_glucose_reading_is_sent_in_mol_per_litre() -> None:
    """A glucose meter sends 5.6 mmol/L as 0.0056 mol/L of capillary plasma from a finger."""
    at = datetime(2026, 11, 23, 7, 2, 0, tzinfo=OSLO)
    reading = SimulatedReading("g1", "sim-0001", "glucose", at, {"glucose": 5.6}, "glucose")
    m = to_device_measurement(reading, sequence_number=12)
    assert isinstance(m, glucose.GlucoseMeasurement)
    assert (m.concentration, m.unit, m.sequence_number) == (0.0056, "mol/L", 12)
    assert m.timestamp == datetime(2026, 11, 23, 7, 2, 0)  # noqa: DTZ001
    assert m.type is glucose.GlucoseType.CAPILLARY_PLASMA


def test_every_simulated_reading_survives_an_emulated_device() -> None:
    """Each simulated reading, sent as a device's bytes, decodes back to the same measurement."""
    patients = make_population(40, seed=10)
    readings = [
        e for e in simulate_population(patients, START, 14) if isinstance(e, SimulatedReading)
    ]
    assert {r.kind for r in readings} == set(_ENCODERS)
    for number, r in enumerate(readings):
        m: Measurement = to_device_measurement(r, sequence_number=number % 65536)
        uuid, encode = _ENCODERS[r.kind]
        assert decode(uuid, encode(m)) == m, r
        assert getattr(m, "timestamp", None) == r.measured_at.replace(tzinfo=None)


def test_readings_name_the_device_profile_that_sends_them() -> None:
    """Each reading names the catalogue profile of the device that measured it."""
    events = simulate_population(make_population(40, seed=10), START, 7)
    profiles = {(e.kind, e.device) for e in events if isinstance(e, SimulatedReading)}
    assert profiles == {
        ("blood_pressure", "blood_pressure"),
        ("spo2", "pulse_oximeter"),
        ("body_temperature", "thermometer"),
        ("body_weight", "weight_scale"),
        ("glucose", "glucose"),
    }


def test_start_in_utc_uses_the_patients_local_days() -> None:
    """A UTC start still lays out measurements on Oslo's calendar days."""
    start = datetime(2026, 11, 1, 23, 0, tzinfo=UTC)  # Monday 00:00 in Oslo
    p = patient(Condition.HYPERTENSION, 4)
    events = simulate(p, start, 7)
    assert {e.at.astimezone(OSLO).isoweekday() for e in events} == {1, 4}
    assert p.day_of(start, events[0].at) == 0


def test_simulation_docs_cite_only_known_sources() -> None:
    """Every source the simulation page cites has an entry in the clinical sources list."""
    docs = Path(__file__).resolve().parents[2] / "docs"
    text = (docs / "simulation.md").read_text(encoding="utf-8")
    sources = (docs / "clinical" / "sources.md").read_text(encoding="utf-8")
    known = {key.lower() for key in re.findall(r"^### \[([A-Z0-9-]+)\]", sources, re.MULTILINE)}
    cited = set(re.findall(r"\]\(clinical/sources\.md#([a-z0-9-]+)\)", text))
    assert cited
    assert cited <= known, sorted(cited - known)
