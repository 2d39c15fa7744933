"""Thresholds proposed from the trial period: the rule of triage.domain.plan_proposal, at its
boundaries (6 and 7 readings, rounding, the template's bounds) and as an invariant (never looser
than the template)."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest
from hypothesis import given
from hypothesis import strategies as st

from triage.domain.plan import Limit, ParameterZones
from triage.domain.plan_diff import catches_more
from triage.domain.plan_proposal import (
    MIN_READINGS,
    ProposalStatus,
    propose,
    propose_parameter,
    trial_window,
)
from triage.domain.readings import Kind, Parameter, Reading
from triage.domain.templates import template

START = datetime(2026, 3, 2, 8, 0, tzinfo=UTC)
COVID_SPO2 = template("covid19").zones[Parameter.SPO2]  # red ≤ 92, yellow ≤ 94
COPD_PULSE = template("copd").zones[Parameter.PULSE]  # red ≤ 40 / ≥ 131, yellow ≤ 50 / ≥ 101


def spo2_readings(values: list[float], start: datetime = START) -> list[Reading]:
    return [
        Reading(
            id=f"r{n}",
            kind=Kind.SPO2,
            measured_at=start + timedelta(days=n),
            values={"spo2": value, "pulse": 72},
        )
        for n, value in enumerate(values)
    ]


def test_the_trial_window_is_the_first_fourteen_days_or_until_now() -> None:
    """The window starts at enrolment and ends 14 days later, or now if that is sooner."""
    assert trial_window(START, START + timedelta(days=30)) == (START, START + timedelta(days=14))
    assert trial_window(START, START + timedelta(days=3)) == (START, START + timedelta(days=3))


@pytest.mark.parametrize(
    ("n", "status"),
    [
        (MIN_READINGS - 1, ProposalStatus.NOT_ENOUGH_DATA),
        (MIN_READINGS, ProposalStatus.PROPOSED),
    ],
)
def test_seven_readings_are_needed_before_anything_is_proposed(
    n: int, status: ProposalStatus
) -> None:
    """Six readings say "not enough data" (no statistics, nothing proposed); seven propose."""
    result = propose_parameter(Parameter.SPO2, COVID_SPO2, [97.0] * n)
    assert result.status is status
    assert result.n == n
    assert (result.proposed is None) is (status is ProposalStatus.NOT_ENOUGH_DATA)
    if status is ProposalStatus.NOT_ENOUGH_DATA:
        assert result.median is None
        assert result.text.en == (
            f"SpO2: not enough data ({n} readings, at least 7 needed); the template's bounds apply."
        )


def test_a_steady_patient_gets_a_yellow_bound_two_resolutions_below_the_median() -> None:
    """All readings 97 %: the IQR is 0, the spread floors at the oximeter's 1 %, so yellow is
    ≤ 95 % (tighter than the template's ≤ 94 %); red stays ≤ 92 %."""
    result = propose_parameter(Parameter.SPO2, COVID_SPO2, [97.0] * 10)
    assert result.status is ProposalStatus.PROPOSED
    assert (result.median, result.q1, result.q3, result.iqr, result.sd) == (97, 97, 97, 0, 1)
    assert result.proposed is not None
    assert result.proposed.yellow_low == Limit(value=95)
    assert result.proposed.red_low == COVID_SPO2.red_low
    assert result.text.en == (
        "SpO2: median 97 % (IQR 97–97, n = 10). Proposed yellow low bound ≤ 95 % (template: "
        "≤ 94 %); red bounds as in the template."
    )


def test_personal_bounds_are_rounded_outwards_to_the_resolution() -> None:
    """Median 96, IQR 95–97 (SD 1.48): 96 − 2.97 = 93.03 becomes ≤ 93 % — looser than the
    template's ≤ 94 %, so the template's bound is kept."""
    values = [95.0, 95.0, 95.0, 96.0, 96.0, 96.0, 97.0, 97.0, 97.0]
    result = propose_parameter(Parameter.SPO2, COVID_SPO2, values)
    assert (result.median, result.q1, result.q3) == (96, 95, 97)
    assert result.status is ProposalStatus.TEMPLATE_KEPT
    assert result.proposed == COVID_SPO2


def test_pulse_gets_both_yellow_bounds_from_its_spread() -> None:
    """Pulse 70–80 (median 75, IQR 72.5–77.5, SD 3.71): yellow ≤ 67 and ≥ 83/min; reds kept."""
    values = [70.0, 71.0, 72.0, 73.0, 74.0, 75.0, 76.0, 77.0, 78.0, 79.0, 80.0]
    result = propose_parameter(Parameter.PULSE, COPD_PULSE, values)
    assert result.proposed is not None
    assert (result.proposed.yellow_low, result.proposed.yellow_high) == (
        Limit(value=67),
        Limit(value=83),
    )
    assert (result.proposed.red_low, result.proposed.red_high) == (
        COPD_PULSE.red_low,
        COPD_PULSE.red_high,
    )
    assert "HDIR-SPREDNING" in result.proposed.sources


def test_a_baseline_outside_the_templates_green_range_is_not_proposed_from() -> None:
    """A COVID patient whose usual SpO2 is 93 % (yellow in the template) needs a clinical
    decision: nothing is proposed, and the text says to review with the GP."""
    result = propose_parameter(Parameter.SPO2, COVID_SPO2, [93.0] * 8)
    assert result.status is ProposalStatus.BASELINE_OUTSIDE_GREEN
    assert result.proposed is None
    assert result.median == 93
    assert "review the plan with the GP" in result.text.en
    assert "gå gjennom planen med fastlegen" in result.text.nb


def test_a_side_without_a_yellow_bound_in_the_template_gets_none() -> None:
    """The COVID pulse zones have no yellow low bound; the proposal adds none."""
    covid_pulse = template("covid19").zones[Parameter.PULSE]
    result = propose_parameter(Parameter.PULSE, covid_pulse, [72.0] * 10)
    assert result.proposed is not None
    assert result.proposed.yellow_low is None
    assert result.proposed.yellow_high == Limit(value=74)


def test_the_proposal_counts_only_readings_in_the_window() -> None:
    """Readings before or after the window are left out; every template parameter is listed,
    and ``zones`` holds the template's where nothing is proposed."""
    plan = template("covid19")
    inside = spo2_readings([97.0] * 8)
    outside = spo2_readings([80.0] * 5, start=START + timedelta(days=20))
    proposal = propose(plan, inside + outside, since=START, until=START + timedelta(days=14))
    by_parameter = {p.parameter: p for p in proposal.parameters}
    assert list(by_parameter) == list(plan.zones)
    assert by_parameter[Parameter.SPO2].n == 8
    assert by_parameter[Parameter.PULSE].n == 8
    assert by_parameter[Parameter.TEMPERATURE].status is ProposalStatus.NOT_ENOUGH_DATA
    assert proposal.zones[Parameter.TEMPERATURE] == plan.zones[Parameter.TEMPERATURE]
    assert proposal.zones[Parameter.SPO2].yellow_low == Limit(value=95)


@given(
    st.lists(st.integers(min_value=70, max_value=100), min_size=MIN_READINGS, max_size=40),
    st.sampled_from(["copd", "covid19", "heart_failure"]),
)
def test_a_proposal_is_never_looser_than_the_template(values: list[int], condition: str) -> None:
    """Whatever the readings, every proposed bound catches at least what the template's does,
    and the red bounds are the template's."""
    zones = template(condition).zones[Parameter.SPO2]
    result = propose_parameter(Parameter.SPO2, zones, [float(v) for v in values])
    if result.proposed is None:
        return
    proposed: ParameterZones = result.proposed
    assert (proposed.red_low, proposed.red_high) == (zones.red_low, zones.red_high)
    if zones.yellow_low is not None:
        assert proposed.yellow_low is not None
        assert not catches_more("low", zones.yellow_low, proposed.yellow_low)
    assert result.median is not None
    assert proposed.zone(result.median)[0].value == "green"
