"""Readings: physiological plausibility limits, tested at each limit and one step past it."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest

from triage.domain.readings import (
    PLAUSIBLE,
    Kind,
    Parameter,
    check_plausibility,
    format_quantity,
    gateway_clock_is_behind,
    is_from_the_future,
)

KEY = {
    Parameter.SPO2: (Kind.SPO2, "spo2", {}),
    Parameter.SYSTOLIC: (Kind.BLOOD_PRESSURE, "systolic", {"diastolic": 20.0}),
    Parameter.DIASTOLIC: (Kind.BLOOD_PRESSURE, "diastolic", {"systolic": 300.0}),
    Parameter.MEAN_ARTERIAL: (Kind.BLOOD_PRESSURE, "mean", {"systolic": 300.0, "diastolic": 20.0}),
    Parameter.PULSE: (Kind.HEART_RATE, "pulse", {}),
    Parameter.TEMPERATURE: (Kind.BODY_TEMPERATURE, "temperature", {}),
    Parameter.WEIGHT: (Kind.BODY_WEIGHT, "weight", {}),
    Parameter.GLUCOSE: (Kind.GLUCOSE, "glucose", {}),
    Parameter.RESPIRATORY_RATE: (Kind.RESPIRATORY_RATE, "rate", {}),
    Parameter.PEAK_FLOW: (Kind.PEAK_FLOW, "pef", {}),
}

ROWS = [
    (parameter, value, ok)
    for parameter, (low, high) in PLAUSIBLE.items()
    for value, ok in ((low, True), (low - 0.1, False), (high, True), (high + 0.1, False))
]


@pytest.mark.parametrize(("parameter", "value", "plausible"), ROWS)
def test_plausibility_limits_at_and_past(
    parameter: Parameter, value: float, plausible: bool
) -> None:
    """Values at a plausibility limit are accepted; one step beyond is a data error."""
    kind, key, others = KEY[parameter]
    problems = check_plausibility(kind, {key: value, **others})
    if plausible:
        assert problems == []
    else:
        (problem,) = problems
        assert (problem.code, problem.field, problem.value) == ("implausible", key, value)
        assert "outside the plausible range" in problem.message


def test_issue_examples_of_limits() -> None:
    """The limits nurses were promised: SpO2 50–100, systolic 50–300, glucose 0.5–40 …"""
    assert PLAUSIBLE[Parameter.SPO2] == (50, 100)
    assert PLAUSIBLE[Parameter.SYSTOLIC] == (50, 300)
    assert PLAUSIBLE[Parameter.TEMPERATURE] == (30, 45)
    assert PLAUSIBLE[Parameter.WEIGHT] == (20, 350)
    assert PLAUSIBLE[Parameter.GLUCOSE] == (0.5, 40)
    assert PLAUSIBLE[Parameter.PULSE] == (20, 250)


def test_cuff_error_value_2047_is_rejected() -> None:
    """A cuff's all-NaN error decoded as 2047 mmHg is a data error, not a hypertensive red."""
    problems = check_plausibility(Kind.BLOOD_PRESSURE, {"systolic": 2047, "diastolic": 2047})
    assert [p.field for p in problems] == ["systolic", "diastolic"]


def test_diastolic_must_be_below_systolic() -> None:
    """Swapped blood-pressure values are caught."""
    (problem,) = check_plausibility(Kind.BLOOD_PRESSURE, {"systolic": 80, "diastolic": 120})
    assert problem.message == "diastolic 120 mmHg is not below systolic 80 mmHg"


def test_booleans_and_text_are_not_numbers() -> None:
    """A value that is not a number is refused with a reason."""
    problems = check_plausibility(Kind.SPO2, {"spo2": True})
    assert [p.code for p in problems] == ["not_a_number"]


@pytest.mark.parametrize(
    ("offset", "future"),
    [(timedelta(minutes=5), False), (timedelta(minutes=5, seconds=1), True)],
)
def test_clock_in_the_future(offset: timedelta, future: bool) -> None:
    """A reading stamped beyond the tolerance after now is recognised as from the future."""
    now = datetime(2026, 11, 23, 8, 0, tzinfo=UTC)
    assert is_from_the_future(now + offset, now, timedelta(minutes=5)) is future


@pytest.mark.parametrize(
    ("received_before", "measured_before_now", "behind"),
    [
        # the gateway says it got the value 10 min before the device measured it, 1 min ago
        (timedelta(minutes=10), timedelta(minutes=1), True),
        # at the tolerance: clocks a few minutes apart are normal
        (timedelta(minutes=5), timedelta(minutes=1), False),
        (timedelta(minutes=5, seconds=1), timedelta(minutes=1), True),
        # kept at the gateway through an outage: received long ago, but after the measurement
        (-timedelta(hours=1), timedelta(hours=30), False),
        # the device's time is ahead of the service's clock: it is the device that is wrong
        (timedelta(hours=2), -timedelta(hours=2), False),
    ],
)
def test_a_gateway_clock_behind(
    received_before: timedelta, measured_before_now: timedelta, behind: bool
) -> None:
    """A gateway that says it received a reading before the device measured it, while the
    device agrees with the service's clock, runs behind; a late delivery alone does not."""
    now = datetime(2026, 11, 23, 8, 0, tzinfo=UTC)
    measured = now - measured_before_now
    received = measured - received_before
    assert gateway_clock_is_behind(measured, received, now, timedelta(minutes=5)) is behind


@pytest.mark.parametrize(
    ("value", "unit", "text"),
    [(92, "%", "92 %"), (105, "/min", "105/min"), (82.35, "kg", "82.35 kg"), (38.0, "°C", "38 °C")],
)
def test_quantities_read_naturally(value: float, unit: str, text: str) -> None:
    """Values are shown the way a nurse writes them."""
    assert format_quantity(value, unit) == text
