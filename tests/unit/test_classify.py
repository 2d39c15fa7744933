"""Classification: every rule with explicit boundary rows, and the properties nurses rely on."""

from __future__ import annotations

import random
from datetime import timedelta

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from tests.unit.plans import NOW, days_ago, make_plan, reading, reading_with
from triage.domain.classify import (
    Classification,
    History,
    ImplausibleReadingError,
    classify,
    classify_report,
)
from triage.domain.colours import Colour
from triage.domain.findings import Finding, RuleType
from triage.domain.plan import Side
from triage.domain.readings import Parameter, Report
from triage.domain.templates import TEMPLATES
from triage.texts.findings import reason as reason_in
from triage.texts.findings import reasons

G, Y, R = Colour.GREEN, Colour.YELLOW, Colour.RED

ZONES = {
    "spo2": {"red_low": 92, "yellow_low": 94},
    "glucose": {
        "red_low": {"value": 3.0, "inclusive": False},
        "yellow_low": {"value": 4.0, "inclusive": False},
        "yellow_high": {"value": 13.9, "inclusive": False},
        "red_high": 20.0,
    },
    "systolic": {"yellow_high": 160, "red_high": 180},
}
PLAN = make_plan(ZONES)


def colour_of(kind: str, **values: float) -> Colour:
    return classify(reading_with(kind, values), PLAN, History(), NOW).colour


@pytest.mark.parametrize(
    ("kind", "key", "value", "expected"),
    [
        # inclusive low bounds: the bound itself is in the worse zone
        ("spo2", "spo2", 91, R),
        ("spo2", "spo2", 92, R),
        ("spo2", "spo2", 93, Y),
        ("spo2", "spo2", 94, Y),
        ("spo2", "spo2", 95, G),
        ("spo2", "spo2", 100, G),
        # strict low bounds ("< 3.0", "< 4.0") and strict / inclusive high bounds
        ("glucose", "glucose", 2.9, R),
        ("glucose", "glucose", 3.0, Y),
        ("glucose", "glucose", 3.9, Y),
        ("glucose", "glucose", 4.0, G),
        ("glucose", "glucose", 13.9, G),
        ("glucose", "glucose", 14.0, Y),
        ("glucose", "glucose", 19.9, Y),
        ("glucose", "glucose", 20.0, R),
        # inclusive high bounds
        ("blood_pressure", "systolic", 159, G),
        ("blood_pressure", "systolic", 160, Y),
        ("blood_pressure", "systolic", 179, Y),
        ("blood_pressure", "systolic", 180, R),
    ],
)
def test_threshold_bounds_at_and_one_step_past(
    kind: str, key: str, value: float, expected: Colour
) -> None:
    """A value exactly at a bound falls in the worse zone; one step inside it does not."""
    values = {key: value}
    if kind == "blood_pressure":
        values["diastolic"] = 80
    assert colour_of(kind, **values) is expected


def test_reason_names_rule_bound_value_and_plan_version() -> None:
    """The nurse reads why: which rule, which bound, which value and which plan version."""
    result = classify(reading("spo2", spo2=88, pulse=80), PLAN, History(), NOW)
    assert result.colour is R
    (reason,) = result.reasons
    assert reason.rule_id == "threshold:spo2"
    assert reason.rule_type is RuleType.THRESHOLD
    assert (reason.value, reason.bound, reason.plan_version) == (88, "≤ 92 %", 3)
    assert reason_in(reason, "en") == (
        "Oxygen saturation 88% – red: 92% or lower (self-management plan version 3)"
    )
    assert reason_in(reason, "nb") == (
        "Oksygenmetning 88\u00a0% – rød: 92\u00a0% eller lavere (egenbehandlingsplan versjon 3)"
    )
    assert reasons(result.explained, "en") == reason_in(reason, "en")


def test_green_reading_keeps_a_green_finding_per_rule() -> None:
    """A green reading still says which rules it passed, so open alerts can go back in range."""
    result = classify(reading("spo2", spo2=97), PLAN, History(), NOW)
    assert result.colour is G
    assert result.reasons == ()
    assert [(f.rule_id, f.colour) for f in result.findings] == [("threshold:spo2", G)]


def test_each_parameter_of_a_reading_is_its_own_rule() -> None:
    """A blood-pressure reading is judged on systolic and diastolic separately; worst wins."""
    plan = make_plan({"systolic": {"yellow_high": 160}, "diastolic": {"red_high": 110}})
    result = classify(reading("blood_pressure", systolic=150, diastolic=112), plan, History(), NOW)
    assert result.colour is R
    assert [(f.rule_id, f.colour) for f in result.findings] == [
        ("threshold:systolic", G),
        ("threshold:diastolic", R),
    ]


@pytest.mark.parametrize(
    ("values", "problem"),
    [
        ({"spo2": 49}, "spo2 49 % is outside the plausible range 50–100 %"),
        ({"spo2": 101}, "spo2 101 % is outside the plausible range 50–100 %"),
        ({"pulse": 80}, "spo2: 'spo2' is missing"),
        (
            {"spo2": 95, "glucose": 5},
            "spo2: unknown value 'glucose' (expected one of: pulse, spo2)",
        ),
        ({"spo2": float("nan")}, "spo2: nan is not finite"),
    ],
)
def test_implausible_reading_is_a_data_error_never_a_colour(
    values: dict[str, float], problem: str
) -> None:
    """A broken sensor's value is rejected with a reason instead of being coloured."""
    with pytest.raises(ImplausibleReadingError) as caught:
        classify(reading_with("spo2", values, rid="bad-1"), PLAN, History(), NOW)
    assert [p.message for p in caught.value.problems] == [problem]
    assert "bad-1" in str(caught.value)


def test_reading_from_a_clock_in_the_future_is_classified_at_now() -> None:
    """A device clock running ahead never makes a reading look newer than it can be."""
    ahead = reading("spo2", at=NOW + timedelta(hours=5), spo2=90)
    result = classify(ahead, PLAN, History(), NOW)
    assert result.colour is R
    assert {f.at for f in result.findings} == {NOW}


# ----------------------------------------------------------------------------- sustained


SUSTAINED = make_plan({"spo2": {"red_low": 88, "yellow_low": 92, "yellow_after": {"n": 2, "m": 3}}})


@pytest.mark.parametrize(
    ("earlier", "current", "expected"),
    [
        ([], 91, G),  # 1 of 1: held back
        ([97], 91, G),  # 1 of 2
        ([91], 91, Y),  # 2 of 2
        ([91, 97], 91, Y),  # 2 of 3
        ([91, 97, 97], 91, G),  # the old yellow has left the window of 3
        ([97, 97], 92, G),
        ([], 88, R),  # red is never delayed
        ([97, 97, 97], 85, R),
        ([85], 91, Y),  # an earlier red counts as out of range
    ],
)
def test_sustained_yellow_needs_n_of_last_m(
    earlier: list[float], current: float, expected: Colour
) -> None:
    """A single borderline value waits for confirmation; a red never waits."""
    history = History(
        readings=tuple(
            reading("spo2", at=NOW - timedelta(hours=len(earlier) - i), spo2=v)
            for i, v in enumerate(earlier)
        )
    )
    result = classify(reading("spo2", spo2=current), SUSTAINED, history, NOW)
    assert result.colour is expected


def test_held_back_yellow_explains_itself() -> None:
    """When a yellow is held back, the reason says how many readings were out of range."""
    result = classify(reading("spo2", spo2=91), SUSTAINED, History(), NOW)
    (finding,) = result.findings
    assert finding.colour is G
    assert reason_in(finding, "en") == (
        "Oxygen saturation 91% – yellow bound (92% or lower) reached, but only 1 of the last 3 "
        "readings (needs 2) (self-management plan version 3)"
    )


def test_sustained_on_one_side_leaves_the_other_side_immediate() -> None:
    """Debouncing high glucose never delays a low (hypoglycaemia) yellow."""
    plan = make_plan(
        {
            "glucose": {
                "yellow_low": {"value": 4.0, "inclusive": False},
                "yellow_high": {"value": 13.9, "inclusive": False},
                "yellow_after": {"n": 2, "m": 2, "side": "high"},
            }
        }
    )
    assert classify(reading("glucose", glucose=3.8), plan, History(), NOW).colour is Y
    assert classify(reading("glucose", glucose=14.5), plan, History(), NOW).colour is G
    history = History(readings=(reading("glucose", at=days_ago(1), glucose=15.0),))
    assert classify(reading("glucose", glucose=14.5), plan, history, NOW).colour is Y


# ----------------------------------------------------------------------------- trend

TREND = make_plan(
    rules=[
        {
            "type": "trend",
            "id": "weight-3-days",
            "parameter": "weight",
            "window": "P3D",
            "rise": {"value": 2.0, "inclusive": False},
        },
        {
            "type": "trend",
            "id": "pef-fall",
            "parameter": "peak_flow",
            "window": "P2D",
            "fall": 100,
            "colour": "red",
        },
    ]
)


@pytest.mark.parametrize(
    ("earlier", "current", "expected"),
    [
        ([(2, 80.0)], 82.0, G),  # exactly +2 kg is not "more than 2 kg"
        ([(2, 80.0)], 82.01, Y),
        ([(2, 80.0), (1, 81.5)], 82.1, Y),  # against the lowest value in the window
        ([(3, 80.0)], 82.5, Y),  # the window's start is inclusive
        ([(3.01, 80.0)], 82.5, G),  # just outside the window
        ([(1, 84.0)], 80.0, G),  # a fall does not trigger a rise rule
    ],
)
def test_trend_rise_against_lowest_value_in_window(
    earlier: list[tuple[float, float]], current: float, expected: Colour
) -> None:
    """Weight gained within three days is caught, measured from the lowest weight."""
    history = History(
        readings=tuple(reading("body_weight", at=days_ago(d), weight=w) for d, w in earlier)
    )
    result = classify(reading("body_weight", weight=current), TREND, history, NOW)
    assert result.colour is expected


def test_trend_reason_shows_change_window_and_bound() -> None:
    """The reason shows the gain, the window, the reference weight and the bound."""
    history = History(readings=(reading("body_weight", at=days_ago(2), weight=80.0),))
    result = classify(reading("body_weight", weight=82.3), TREND, history, NOW)
    (reason,) = result.reasons
    assert reason_in(reason, "en") == (
        "Weight 82.3\u00a0kg – yellow: up 2.3\u00a0kg in the last 3 days (lowest 80\u00a0kg); "
        "bound: more than 2\u00a0kg (self-management plan version 3)"
    )
    assert reason_in(reason, "nb") == (
        "Vekt 82,3\u00a0kg – gul: økt 2,3\u00a0kg siste 3 døgn (laveste 80\u00a0kg); "
        "grense: mer enn 2\u00a0kg (egenbehandlingsplan versjon 3)"
    )


def test_trend_without_history_says_nothing() -> None:
    """A first weight cannot show a trend, so the trend rule stays silent."""
    result = classify(reading("body_weight", weight=90.0), TREND, History(), NOW)
    assert result.findings == ()


@pytest.mark.parametrize(("current", "expected"), [(301.0, G), (300.0, R), (299.0, R)])
def test_trend_fall_against_highest_value(current: float, expected: Colour) -> None:
    """A fall rule compares with the highest value in the window, inclusive bound."""
    history = History(
        readings=(
            reading("peak_flow", at=days_ago(1), pef=400.0),
            reading("peak_flow", at=days_ago(1.5), pef=350.0),
        )
    )
    assert classify(reading("peak_flow", pef=current), TREND, history, NOW).colour is expected


# ----------------------------------------------------------------------------- baseline

FIXED = make_plan(
    rules=[
        {
            "type": "baseline",
            "id": "spo2-baseline",
            "parameter": "spo2",
            "direction": "below",
            "change": 4,
            "baseline_value": 95,
            "baseline_note": "trial period median",
        }
    ]
)


@pytest.mark.parametrize(("value", "expected"), [(92, G), (91, Y), (90, Y), (99, G)])
def test_fixed_baseline_fall(value: float, expected: Colour) -> None:
    """SpO2 four or more points below the patient's own baseline is yellow."""
    assert classify(reading("spo2", spo2=value), FIXED, History(), NOW).colour is expected


def test_baseline_reason_names_the_baseline() -> None:
    """The reason names the baseline and how it was found."""
    (reason,) = classify(reading("spo2", spo2=90), FIXED, History(), NOW).reasons
    assert reason_in(reason, "en") == (
        "Oxygen saturation 90% – yellow: at least 4% below personal baseline 95% "
        "(trial period median) (self-management plan version 3)"
    )


ROLLING = make_plan(
    rules=[
        {
            "type": "baseline",
            "id": "pulse-baseline",
            "parameter": "pulse",
            "direction": "above",
            "change": 10,
            "baseline_days": 14,
            "min_readings": 5,
            "yellow_after": {"n": 2, "m": 2},
        }
    ]
)


def _pulse_history(values: list[float]) -> History:
    return History(
        readings=tuple(
            reading("heart_rate", at=days_ago(len(values) - i), pulse=v)
            for i, v in enumerate(values)
        )
    )


@pytest.mark.parametrize(
    ("earlier", "current", "expected"),
    [
        ([70, 72, 71, 69, 70], 80, G),  # median 70: +10 once — held back (needs 2 of 2)
        ([70, 72, 71, 69, 80], 80, G),  # the earlier 80 lifts the median to 71: only +9
        ([70, 70, 70, 70, 81], 80, Y),  # median 70: +11 then +10
        ([70, 70, 70, 70, 79], 80, G),  # previous +9 did not depart
        ([70, 70, 70, 70], 95, G),  # only 4 readings: no baseline yet, rule silent
    ],
)
def test_rolling_baseline_median_with_debounce(
    earlier: list[float], current: float, expected: Colour
) -> None:
    """A pulse 10 above the patient's own 14-day median is yellow once it repeats."""
    result = classify(reading("heart_rate", pulse=current), ROLLING, _pulse_history(earlier), NOW)
    assert result.colour is expected


def test_rolling_baseline_silent_without_enough_readings() -> None:
    """With fewer readings than required there is no baseline and no finding."""
    result = classify(
        reading("heart_rate", pulse=95), ROLLING, _pulse_history([70, 70, 70, 70]), NOW
    )
    assert result.findings == ()


# ----------------------------------------------------------------------------- combination


def _past(rule_id: str, colour: Colour, hours_ago: float) -> Finding:
    from triage.domain.colours import Text

    return Finding(
        rule_id=rule_id,
        rule_type=RuleType.THRESHOLD,
        colour=colour,
        at=NOW - timedelta(hours=hours_ago),
        text=Text(nb=rule_id, en=rule_id),
    )


COMBO = make_plan(
    {"pulse": {"yellow_high": 101}, "temperature": {"yellow_high": 38.1}},
    rules=[{"type": "combination", "id": "two-yellows"}],
)


@pytest.mark.parametrize(
    ("past", "temperature", "expected"),
    [
        ([], 38.5, Y),  # one yellow alone
        ([("threshold:pulse", Y, 23.9)], 38.5, R),  # two rules within 24 h
        ([("threshold:pulse", Y, 24.0)], 38.5, R),  # window start inclusive
        ([("threshold:pulse", Y, 24.1)], 38.5, Y),  # too long ago
        ([("threshold:temperature", Y, 2)], 38.5, Y),  # the same rule twice is one rule
        ([("threshold:pulse", Y, 1), ("threshold:spo2", Y, 1)], 37.0, G),  # completes nothing
    ],
)
def test_two_yellows_from_different_rules_within_24h_make_red(
    past: list[tuple[str, Colour, float]], temperature: float, expected: Colour
) -> None:
    """Two different warning signs within a day turn the patient red."""
    history = History(findings=tuple(_past(r, c, h) for r, c, h in past))
    result = classify(reading("body_temperature", temperature=temperature), COMBO, history, NOW)
    assert result.colour is expected


def test_combination_within_one_reading() -> None:
    """Two yellow values in the same reading count as two rules."""
    plan = make_plan(
        {"spo2": {"yellow_low": 94}, "pulse": {"yellow_high": 101}},
        rules=[{"type": "combination", "id": "two-yellows"}],
    )
    result = classify(reading("spo2", spo2=93, pulse=105), plan, History(), NOW)
    assert result.colour is R
    combo = next(f for f in result.reasons if f.rule_type is RuleType.COMBINATION)
    assert reason_in(combo, "en") == (
        "Red: deviations in 2 groups in the last day (Pulse; Oxygen saturation); bound: "
        "2 groups (self-management plan version 3)"
    )
    assert reason_in(combo, "nb") == (
        "Rød: avvik i 2 grupper siste døgn (Puls; Oksygenmetning); grense: 2 grupper "
        "(egenbehandlingsplan versjon 3)"
    )


GROUPED = make_plan(
    {"pulse": {"yellow_high": 101}},
    rules=[
        {"type": "trend", "id": "weight-3-days", "parameter": "weight", "window": "P3D", "rise": 2},
        {
            "type": "combination",
            "id": "weight-with-symptoms",
            "groups": {"weight": ["weight-*"], "symptoms": ["hf-symptoms"]},
        },
    ],
)


@pytest.mark.parametrize(
    ("past", "expected"),
    [
        ([("hf-symptoms", Y, 5)], R),
        ([("threshold:pulse", Y, 5)], Y),  # pulse is in no group
        ([("weight-7-days", Y, 5)], Y),  # same group as the current breach
        ([], Y),
    ],
)
def test_grouped_combination_needs_different_groups(
    past: list[tuple[str, Colour, float]], expected: Colour
) -> None:
    """Weight gain plus worse symptoms is red; weight gain alone stays yellow."""
    history = History(
        readings=(reading("body_weight", at=days_ago(2), weight=80.0),),
        findings=tuple(_past(r, c, h) for r, c, h in past),
    )
    result = classify(reading("body_weight", weight=82.5), GROUPED, history, NOW)
    assert result.colour is expected


# ----------------------------------------------------------------------------- questionnaires

COPD_ANSWERS_USUAL = {
    "breathlessness": "as_usual",
    "cough": "as_usual",
    "sputum_amount": "as_usual",
    "sputum_colour": "usual",
    "reliever_use": "as_usual",
    "sleep": "as_usual",
    "overall": "as_usual",
    "chest_pain": "no",
    "new_confusion": "no",
}

QPLAN = make_plan(rules=[{"type": "questionnaire", "id": "copd", "questionnaire": "copd-daily"}])


def _report(answers: dict[str, str], rid: str = "q1") -> Report:
    return Report(id=rid, questionnaire="copd-daily", answered_at=NOW, answers=answers)


@pytest.mark.parametrize(
    ("changes", "expected"),
    [
        ({}, G),
        ({"cough": "more", "sputum_amount": "more"}, G),  # 2 < yellow band 3
        ({"cough": "more", "sputum_amount": "more", "reliever_use": "more"}, Y),  # 3
        ({"breathlessness": "much_more", "sputum_colour": "changed", "cough": "much_more"}, Y),
        (
            {
                "breathlessness": "much_more",
                "sputum_colour": "changed",
                "cough": "much_more",
                "overall": "worse",
            },
            R,
        ),  # 7
        ({"chest_pain": "yes"}, R),  # red flag whatever the score
    ],
)
def test_questionnaire_score_bands_and_red_flags(changes: dict[str, str], expected: Colour) -> None:
    """Symptom answers give a colour by score band; a red-flag answer is always red."""
    result = classify_report(_report({**COPD_ANSWERS_USUAL, **changes}), QPLAN, History(), NOW)
    assert result.colour is expected
    assert [f.rule_id for f in result.findings] == ["copd"]


def test_plan_overrides_questionnaire_bands() -> None:
    """A plan can make any worsening symptom yellow (band 1)."""
    plan = make_plan(
        rules=[
            {"type": "questionnaire", "id": "copd", "questionnaire": "copd-daily", "yellow_at": 1}
        ]
    )
    answers = {**COPD_ANSWERS_USUAL, "cough": "more"}
    assert classify_report(_report(answers), plan, History(), NOW).colour is Y


def test_red_flag_reason_names_the_answer() -> None:
    """The nurse sees which answer made the report red."""
    answers = {**COPD_ANSWERS_USUAL, "chest_pain": "yes"}
    (reason,) = classify_report(_report(answers), QPLAN, History(), NOW).reasons
    assert "chest_pain" not in reason_in(reason, "nb")
    assert reason_in(reason, "en").startswith("Daily COPD check: score 1 – red (red-flag answer: “")


# ----------------------------------------------------------------------------- NEWS2

NEWS2_PLAN = make_plan(rules=[{"type": "news2", "id": "news2"}])


def _vitals_history(rr: float = 16, sbp: float = 125, temp: float = 37.0) -> History:
    at = NOW - timedelta(minutes=20)
    return History(
        readings=(
            reading("respiratory_rate", at=at, rate=rr),
            reading("blood_pressure", at=at, systolic=sbp, diastolic=80),
            reading("body_temperature", at=at, temperature=temp),
        ),
        reports=(
            Report(
                id="c1", questionnaire="copd-daily", answered_at=at, answers={"new_confusion": "no"}
            ),
        ),
    )


@pytest.mark.parametrize(
    ("rr", "spo2", "expected", "total"),
    [
        (16, 97, G, 1),  # pulse 95 scores 1: low risk
        (16, 91, Y, 4),  # SpO2 91 scores a single 3 (total 4): low-medium
        (22, 93, R, 5),  # RR 2 + SpO2 2 + pulse 1 = 5: medium
    ],
)
def test_news2_rule_over_the_latest_set(
    rr: float, spo2: float, expected: Colour, total: int
) -> None:
    """NEWS2 is computed from the latest complete set within the hour and mapped to colour."""
    result = classify(reading("spo2", spo2=spo2, pulse=95), NEWS2_PLAN, _vitals_history(rr), NOW)
    (finding,) = result.findings
    assert finding.rule_type is RuleType.NEWS2
    assert (finding.colour, finding.value) == (expected, total)


def test_news2_never_scores_a_missing_parameter() -> None:
    """Without a respiration rate there is no NEWS2 finding at all — not a score of 0."""
    history = History(readings=_vitals_history().readings[1:], reports=_vitals_history().reports)
    result = classify(reading("spo2", spo2=88, pulse=140), NEWS2_PLAN, history, NOW)
    assert result.findings == ()


def test_news2_without_consciousness_answer_is_not_computed() -> None:
    """Consciousness is never assumed "alert": without the answer there is no NEWS2."""
    history = History(readings=_vitals_history().readings)
    assert classify(reading("spo2", spo2=97, pulse=80), NEWS2_PLAN, history, NOW).findings == ()


def test_news2_new_confusion_answer_scores_c() -> None:
    """A report of new confusion completes the set and scores 3 for consciousness."""
    history = History(
        readings=(*_vitals_history().readings, reading("spo2", at=NOW, spo2=97, pulse=80))
    )
    report = Report(
        id="c2", questionnaire="copd-daily", answered_at=NOW, answers={"new_confusion": "yes"}
    )
    result = classify_report(report, NEWS2_PLAN, history, NOW)
    (finding,) = result.findings
    assert (finding.colour, finding.value) == (Y, 3)
    assert "consciousness 3" in reason_in(finding, "en")
    assert "bevissthet 3" in reason_in(finding, "nb")


def test_news2_ignores_observations_older_than_the_window() -> None:
    """Observations from yesterday do not complete today's NEWS2."""
    old = History(
        readings=tuple(
            r.model_copy(update={"measured_at": NOW - timedelta(hours=2)})
            for r in _vitals_history().readings
        ),
        reports=_vitals_history().reports,
    )
    assert classify(reading("spo2", spo2=97, pulse=80), NEWS2_PLAN, old, NOW).findings == ()


# ----------------------------------------------------------------------------- properties


def _target_side(zones_values: tuple[float | None, float | None], value: float) -> Side | None:
    low, high = zones_values
    if low is not None and value <= low:
        return Side.LOW
    if high is not None and value >= high:
        return Side.HIGH
    return None


TEMPLATE_ZONES = [
    (condition, parameter, zones)
    for condition, build in TEMPLATES.items()
    for parameter, zones in build().zones.items()
]
KIND_FOR = {
    Parameter.SPO2: ("spo2", "spo2"),
    Parameter.PULSE: ("heart_rate", "pulse"),
    Parameter.TEMPERATURE: ("body_temperature", "temperature"),
    Parameter.RESPIRATORY_RATE: ("respiratory_rate", "rate"),
    Parameter.GLUCOSE: ("glucose", "glucose"),
    Parameter.WEIGHT: ("body_weight", "weight"),
}


@settings(max_examples=300, deadline=None)
@given(
    index=st.integers(min_value=0, max_value=len(TEMPLATE_ZONES) - 1),
    a=st.floats(min_value=0, max_value=1),
    b=st.floats(min_value=0, max_value=1),
)
def test_value_further_from_target_never_gets_a_better_colour(
    index: int, a: float, b: float
) -> None:
    """Moving a value further out of range never makes its colour better."""
    condition, parameter, zones = TEMPLATE_ZONES[index]
    plan = TEMPLATES[condition]()
    from triage.domain.readings import PLAUSIBLE

    low_limit, high_limit = PLAUSIBLE[parameter]
    lows = [b_.value for b_ in (zones.red_low, zones.yellow_low) if b_ is not None]
    highs = [b_.value for b_ in (zones.yellow_high, zones.red_high) if b_ is not None]
    # a target inside the green zone
    if lows and highs:
        target = (max(lows) + min(highs)) / 2
    elif lows:
        target = high_limit
    else:
        target = low_limit
    side_low = bool(lows) and (not highs or a < 0.5)
    edge = low_limit if side_low else high_limit
    near, far = sorted((a, b))
    v_near = target + (edge - target) * near
    v_far = target + (edge - target) * far

    def colour(v: float) -> Colour:
        if parameter in (Parameter.SYSTOLIC, Parameter.DIASTOLIC):
            values = {"systolic": 300.0, "diastolic": 20.0}
            values[parameter.value] = v
            r = reading_with("blood_pressure", values)
        else:
            kind, key = KIND_FOR[parameter]
            r = reading_with(kind, {key: v})
        found = classify(r, plan, History(), NOW)
        return next(f.colour for f in found.findings if f.rule_id == f"threshold:{parameter}")

    assert colour(v_far).rank >= colour(v_near).rank


@settings(max_examples=50, deadline=None)
@given(seed=st.integers(min_value=0, max_value=2**32 - 1), current=st.floats(70, 100))
def test_classification_is_deterministic_whatever_the_history_order(
    seed: int, current: float
) -> None:
    """The same data gives the same colour and reasons, in whatever order it arrived."""
    plan = TEMPLATES["covid19"]()  # type: ignore[index]
    rng = random.Random(seed)
    history = [
        reading("spo2", at=NOW - timedelta(minutes=rng.randint(1, 5000)), spo2=rng.randint(85, 99))
        for _ in range(12)
    ]
    shuffled = history[:]
    rng.shuffle(shuffled)
    now_reading = reading("spo2", spo2=round(current), pulse=80, rid="current")
    first: Classification = classify(now_reading, plan, History(readings=tuple(history)), NOW)
    second = classify(now_reading, plan, History(readings=tuple(shuffled)), NOW)
    assert first == second


def test_later_readings_in_history_do_not_change_an_earlier_classification() -> None:
    """Re-classifying an old reading ignores readings measured after it."""
    plan = TREND
    older = reading("body_weight", at=days_ago(1), weight=80.0)
    current = reading("body_weight", at=NOW, weight=82.5)
    later = reading("body_weight", at=NOW + timedelta(hours=1), weight=70.0)
    with_later = History(readings=(older, later))
    without = History(readings=(older,))
    later_now = NOW + timedelta(hours=2)
    assert classify(current, plan, with_later, later_now) == classify(
        current, plan, without, later_now
    )


def test_quick_plausibility_check_agrees_with_the_full_one() -> None:
    """classify's quick "plausible" answer is yes only where check_plausibility finds nothing."""
    import math
    import random

    from triage.domain.classify import _plausible
    from triage.domain.readings import REQUIRED_KEYS, VALUE_KEYS, Kind, check_plausibility

    rng = random.Random(5)
    odd: list[object] = [True, False, math.nan, math.inf, -math.inf, "90", None, 0, -1, 10**6]
    for _ in range(20000):
        kind = rng.choice(list(Kind))
        keys = list(VALUE_KEYS[kind])
        chosen = [k for k in keys if k in REQUIRED_KEYS[kind] or rng.random() < 0.5]
        if rng.random() < 0.1 and chosen:
            chosen.remove(rng.choice(chosen))
        if rng.random() < 0.05:
            chosen.append("unknown")
        values: dict[str, object] = {}
        for k in chosen:
            number = rng.uniform(0, 320) if rng.random() < 0.5 else rng.randint(0, 320)
            values[k] = rng.choice(odd) if rng.random() < 0.1 else number
        quick = _plausible(kind, values)  # type: ignore[arg-type]
        full = check_plausibility(kind, values)  # type: ignore[arg-type]
        assert not (quick and full), (kind, values, full)
        if not full and all(type(v) in (int, float) for v in values.values()):
            assert quick, (kind, values)


def test_what_a_plan_version_asks_is_kept_while_the_plan_object_lives() -> None:
    """classify works out per plan object what a reading meets; the entry leaves with the
    object (a population of plan versions never fills a bound), and an equal new object gets
    its own entry."""
    import gc

    from triage.domain import classify as module
    from triage.domain.plan import Condition
    from triage.domain.templates import template

    plan = template(Condition.COPD)
    window = module.history_window(plan)
    assert window == module._history_window(plan)
    assert module._compiled(plan) is module._compiled(plan)
    key = id(plan)
    assert key in module._COMPILED
    other = plan.model_copy()
    assert module._compiled(other) is not module._compiled(plan)
    del plan
    gc.collect()
    assert key not in module._COMPILED
    assert module._compiled(other).plan() is other
