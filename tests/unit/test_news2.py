"""NEWS2 Chart 1 (RCP 2017), checked cell by cell at every band edge and one step past it."""

from __future__ import annotations

from collections.abc import Sequence
from decimal import Decimal
from typing import TypedDict, Unpack

import pytest
from hypothesis import given
from hypothesis import strategies as st
from pydantic import ValidationError

from triage.news2 import (
    MAX_TOTAL,
    PARAMETERS,
    Consciousness,
    News2Score,
    Risk,
    risk_band,
    score,
)

Value = float | Decimal


class Vitals(TypedDict, total=False):
    """Overrides of the normal observations, in the short names the tables use."""

    rr: Value
    spo2: Value
    sbp: Value
    pulse: Value
    temp: Value
    acvpu: Consciousness | str
    oxygen: bool
    scale: int


def _news2(**overrides: Unpack[Vitals]) -> News2Score:
    """Score a set of observations that is normal (0 points) except where overridden."""
    return score(
        respiration_rate=overrides.get("rr", 16),
        spo2=overrides.get("spo2", 97),
        systolic_bp=overrides.get("sbp", 120),
        pulse=overrides.get("pulse", 70),
        temperature=overrides.get("temp", 37.0),
        consciousness=overrides.get("acvpu", "A"),
        on_oxygen=overrides.get("oxygen", False),
        spo2_scale=overrides.get("scale", 1),
    )


def _scores(
    rr: int = 0,
    spo2: int = 0,
    air: int = 0,
    sbp: int = 0,
    pulse: int = 0,
    acvpu: int = 0,
    temp: int = 0,
) -> dict[str, int]:
    return {
        "respiration_rate": rr,
        "spo2": spo2,
        "air_or_oxygen": air,
        "systolic_bp": sbp,
        "pulse": pulse,
        "consciousness": acvpu,
        "temperature": temp,
    }


def _cases(unit: str, rows: Sequence[tuple[Value, int]]) -> list[object]:
    return [
        pytest.param(value, points, id=f"{_label(value)}{unit}->{points}") for value, points in rows
    ]


def _label(value: Value) -> str:
    return f"Decimal({value})" if isinstance(value, Decimal) else str(value)


# ------------------------------------------------------------------ the chart, row by row

RESPIRATION_RATE = [
    (7, 3),
    (8, 3),
    (9, 1),
    (11, 1),
    (12, 0),
    (20, 0),
    (21, 2),
    (24, 2),
    (25, 3),
    (26, 3),
    (8.5, 1),
    (11.5, 0),
    (20.5, 2),
    (24.5, 3),
]


@pytest.mark.parametrize(("value", "points"), _cases("/min", RESPIRATION_RATE))
def test_respiration_rate_row(value: float, points: int) -> None:
    """A breathing rate scores 3/1/0/2/3 at ≤8, 9–11, 12–20, 21–24, ≥25 per minute."""
    result = _news2(rr=value)
    assert result.scores["respiration_rate"] == points
    assert result.total == points


SPO2_SCALE_1 = [
    (90, 3),
    (91, 3),
    (92, 2),
    (93, 2),
    (94, 1),
    (95, 1),
    (96, 0),
    (100, 0),
    (91.5, 2),
    (93.5, 1),
    (95.5, 0),
]


@pytest.mark.parametrize(("value", "points"), _cases("%", SPO2_SCALE_1))
@pytest.mark.parametrize("oxygen", [False, True], ids=["air", "oxygen"])
def test_spo2_scale_1_row(value: float, points: int, oxygen: bool) -> None:
    """On Scale 1 saturation scores 3/2/1/0 at ≤91, 92–93, 94–95, ≥96 %, on air or oxygen."""
    result = _news2(spo2=value, oxygen=oxygen)
    assert result.scores["spo2"] == points


SPO2_SCALE_2_AIR = [
    (83, 3),
    (84, 2),
    (85, 2),
    (86, 1),
    (87, 1),
    (88, 0),
    (92, 0),
    (93, 0),
    (94, 0),
    (95, 0),
    (96, 0),
    (97, 0),
    (100, 0),
    (87.5, 0),
    (92.5, 0),
]


@pytest.mark.parametrize(("value", "points"), _cases("% air", SPO2_SCALE_2_AIR))
def test_spo2_scale_2_on_air_row(value: float, points: int) -> None:
    """On Scale 2 on air, saturation of 88 % or more scores nothing; below it 1, 2 or 3."""
    result = _news2(spo2=value, scale=2, oxygen=False)
    assert result.scores["spo2"] == points
    assert result.total == points


SPO2_SCALE_2_OXYGEN = [
    (83, 3),
    (84, 2),
    (85, 2),
    (86, 1),
    (87, 1),
    (88, 0),
    (92, 0),
    (93, 1),
    (94, 1),
    (95, 2),
    (96, 2),
    (97, 3),
    (100, 3),
    (92.5, 1),
    (94.5, 2),
    (96.5, 3),
]


@pytest.mark.parametrize(("value", "points"), _cases("% O2", SPO2_SCALE_2_OXYGEN))
def test_spo2_scale_2_on_oxygen_row(value: float, points: int) -> None:
    """On Scale 2 on oxygen, 88–92 % scores 0 and saturation above target scores 1, 2 or 3."""
    result = _news2(spo2=value, scale=2, oxygen=True)
    assert result.scores["spo2"] == points
    assert result.total == points + 2


@pytest.mark.parametrize(
    ("oxygen", "scale", "points"),
    [
        pytest.param(False, 1, 0, id="air-scale1->0"),
        pytest.param(True, 1, 2, id="oxygen-scale1->2"),
        pytest.param(False, 2, 0, id="air-scale2->0"),
        pytest.param(True, 2, 2, id="oxygen-scale2->2"),
    ],
)
def test_air_or_oxygen_row(oxygen: bool, scale: int, points: int) -> None:
    """Supplemental oxygen adds 2 points on either SpO2 scale; air adds nothing."""
    result = _news2(spo2=90 if scale == 2 else 97, oxygen=oxygen, scale=scale)
    assert result.scores["air_or_oxygen"] == points
    assert result.total == points


SYSTOLIC_BP = [
    (89, 3),
    (90, 3),
    (91, 2),
    (100, 2),
    (101, 1),
    (110, 1),
    (111, 0),
    (219, 0),
    (220, 3),
    (221, 3),
    (90.5, 2),
    (110.5, 0),
    (219.5, 3),
]


@pytest.mark.parametrize(("value", "points"), _cases("mmHg", SYSTOLIC_BP))
def test_systolic_bp_row(value: float, points: int) -> None:
    """Systolic pressure scores 3/2/1/0/3 at ≤90, 91–100, 101–110, 111–219, ≥220 mmHg."""
    result = _news2(sbp=value)
    assert result.scores["systolic_bp"] == points
    assert result.total == points


PULSE = [
    (39, 3),
    (40, 3),
    (41, 1),
    (50, 1),
    (51, 0),
    (90, 0),
    (91, 1),
    (110, 1),
    (111, 2),
    (130, 2),
    (131, 3),
    (132, 3),
    (40.5, 1),
    (90.5, 1),
    (130.5, 3),
]


@pytest.mark.parametrize(("value", "points"), _cases("/min", PULSE))
def test_pulse_row(value: float, points: int) -> None:
    """Pulse scores 3/1/0/1/2/3 at ≤40, 41–50, 51–90, 91–110, 111–130, ≥131 per minute."""
    result = _news2(pulse=value)
    assert result.scores["pulse"] == points
    assert result.total == points


@pytest.mark.parametrize(
    ("level", "points"),
    [
        pytest.param("A", 0, id="alert->0"),
        pytest.param("C", 3, id="new-confusion->3"),
        pytest.param("V", 3, id="voice->3"),
        pytest.param("P", 3, id="pain->3"),
        pytest.param("U", 3, id="unresponsive->3"),
        pytest.param("a", 0, id="lowercase-alert->0"),
        pytest.param("c", 3, id="lowercase-confusion->3"),
        pytest.param(" v ", 3, id="padded-voice->3"),
        pytest.param(Consciousness.ALERT, 0, id="enum-alert->0"),
        pytest.param(Consciousness.UNRESPONSIVE, 3, id="enum-unresponsive->3"),
    ],
)
def test_consciousness_row(level: Consciousness | str, points: int) -> None:
    """Alert scores 0; new confusion, voice, pain or unresponsive each score 3."""
    result = _news2(acvpu=level)
    assert result.scores["consciousness"] == points
    assert result.total == points


TEMPERATURE: list[tuple[Value, int]] = [
    (34.9, 3),
    (35.0, 3),
    (35.1, 1),
    (36.0, 1),
    (36.1, 0),
    (38.0, 0),
    (38.1, 1),
    (39.0, 1),
    (39.1, 2),
    (40.5, 2),
    # Rounded half-up to 0.1 °C before banding.
    (35.04, 3),
    (35.05, 1),
    (36.04, 1),
    (36.05, 0),
    (38.04, 0),
    (38.05, 1),
    (39.04, 1),
    (39.05, 2),
    (Decimal("35.05"), 1),
    (Decimal("36.04"), 1),
    (36, 1),
    (37, 0),
]


@pytest.mark.parametrize(("value", "points"), _cases("C", TEMPERATURE))
def test_temperature_row(value: Value, points: int) -> None:
    """Temperature, charted to 0.1 °C, scores 3/1/0/1/2 at ≤35.0, –36.0, –38.0, –39.0, ≥39.1."""
    result = _news2(temp=value)
    assert result.scores["temperature"] == points
    assert result.total == points


# ------------------------------------------------------------------ risk bands


@pytest.mark.parametrize(
    ("vitals", "expected_scores", "risk"),
    [
        pytest.param(
            {},
            _scores(),
            Risk.LOW,
            id="total-0->low",
        ),
        pytest.param(
            {"rr": 22, "pulse": 95, "temp": 35.5},
            _scores(rr=2, pulse=1, temp=1),
            Risk.LOW,
            id="total-4-no-3->low",
        ),
        pytest.param(
            {"rr": 26},
            _scores(rr=3),
            Risk.LOW_MEDIUM,
            id="single-3-total-3->low-medium",
        ),
        pytest.param(
            {"acvpu": "C", "pulse": 95},
            _scores(acvpu=3, pulse=1),
            Risk.LOW_MEDIUM,
            id="single-3-total-4->low-medium",
        ),
        pytest.param(
            {"rr": 26, "spo2": 93},
            _scores(rr=3, spo2=2),
            Risk.MEDIUM,
            id="total-5-with-3->medium",
        ),
        pytest.param(
            {"oxygen": True, "rr": 22, "pulse": 115},
            _scores(air=2, rr=2, pulse=2),
            Risk.MEDIUM,
            id="total-6-no-3->medium",
        ),
        pytest.param(
            {"sbp": 88, "pulse": 120, "temp": 38.5},
            _scores(sbp=3, pulse=2, temp=1),
            Risk.MEDIUM,
            id="total-6-with-3->medium",
        ),
        pytest.param(
            {"rr": 26, "oxygen": True, "pulse": 115},
            _scores(rr=3, air=2, pulse=2),
            Risk.HIGH,
            id="total-7->high",
        ),
        pytest.param(
            {
                "rr": 6,
                "spo2": 88,
                "oxygen": True,
                "sbp": 85,
                "pulse": 140,
                "acvpu": "U",
                "temp": 34.5,
            },
            _scores(rr=3, spo2=3, air=2, sbp=3, pulse=3, acvpu=3, temp=3),
            Risk.HIGH,
            id="maximum-20->high",
        ),
    ],
)
def test_risk_band_precedence(vitals: Vitals, expected_scores: dict[str, int], risk: Risk) -> None:
    """Total ≥7 is high, 5–6 medium, a lone 3 with total ≤4 low-medium, otherwise low."""
    result = _news2(**vitals)
    assert result.scores == expected_scores
    assert result.total == sum(expected_scores.values())
    assert result.risk is risk
    assert result.risk == risk.value


def test_worked_example_scale_2_copd_on_oxygen() -> None:
    """A Scale 2 patient on oxygen at 95 % scores for over-oxygenation as well as the oxygen."""
    result = score(
        respiration_rate=23,
        spo2=95,
        systolic_bp=105,
        pulse=102,
        temperature=38.3,
        consciousness="A",
        on_oxygen=True,
        spo2_scale=2,
    )
    assert result.scores == _scores(rr=2, spo2=2, air=2, sbp=1, pulse=1, temp=1)
    assert result.total == 9
    assert result.risk == "high"


def test_worked_example_positional_arguments() -> None:
    """The vitals can be passed in chart order without naming them."""
    result = score(19, 94, 112, 88, 36.0)
    assert result.scores == _scores(spo2=1, temp=1)
    assert result.total == 2
    assert result.risk == "low"


def test_scores_have_exactly_the_chart_rows() -> None:
    """Every result lists all seven chart rows, and only those."""
    assert list(_news2().scores) == list(PARAMETERS)
    assert MAX_TOTAL == 20


@pytest.mark.parametrize(
    ("risk", "rank"),
    [
        pytest.param(Risk.LOW, 0, id="low"),
        pytest.param(Risk.LOW_MEDIUM, 1, id="low-medium"),
        pytest.param(Risk.MEDIUM, 2, id="medium"),
        pytest.param(Risk.HIGH, 3, id="high"),
    ],
)
def test_risk_rank(risk: Risk, rank: int) -> None:
    """Risk bands sort from low to high urgency."""
    assert risk.rank == rank


def test_result_is_immutable_and_self_consistent() -> None:
    """A stored score cannot be altered, and an inconsistent one cannot be built."""
    result = _news2(rr=26)
    with pytest.raises(ValidationError):
        result.total = 0  # type: ignore[misc]
    with pytest.raises(ValidationError, match="sum"):
        News2Score(scores=_scores(rr=3), total=0, risk=Risk.LOW_MEDIUM)
    with pytest.raises(ValidationError, match="risk"):
        News2Score(scores=_scores(rr=3), total=3, risk=Risk.LOW)
    with pytest.raises(ValidationError, match="air_or_oxygen"):
        News2Score(scores=_scores(air=1), total=1, risk=Risk.LOW)


# ------------------------------------------------------------------ refusals


@pytest.mark.parametrize(
    ("missing", "pattern"),
    [
        pytest.param({"respiration_rate": None}, "respiration_rate", id="rr"),
        pytest.param({"spo2": None}, "spo2", id="spo2"),
        pytest.param({"systolic_bp": None}, "systolic_bp", id="sbp"),
        pytest.param({"pulse": None}, "pulse", id="pulse"),
        pytest.param({"temperature": None}, "temperature", id="temperature"),
        pytest.param({"consciousness": None}, "consciousness", id="consciousness"),
        pytest.param({"on_oxygen": None}, "on_oxygen", id="on-oxygen"),
        pytest.param({"pulse": None, "spo2": None}, "spo2, .*pulse", id="two-missing"),
    ],
)
def test_missing_parameter_raises(missing: dict[str, None], pattern: str) -> None:
    """A missing observation is never scored as normal: the score refuses and names it."""
    vitals: dict[str, object] = {
        "respiration_rate": 16,
        "spo2": 97,
        "systolic_bp": 120,
        "pulse": 70,
        "temperature": 37.0,
        "consciousness": "A",
        "on_oxygen": False,
    }
    vitals.update(missing)
    with pytest.raises(ValueError, match=f"missing .*{pattern}"):
        score(**vitals)  # type: ignore[arg-type]


@pytest.mark.parametrize("scale", [0, 3, -1, True], ids=["0", "3", "-1", "True"])
def test_invalid_spo2_scale_raises(scale: int) -> None:
    """Only SpO2 Scale 1 or Scale 2 exists; anything else is refused."""
    with pytest.raises(ValueError, match="spo2_scale"):
        _news2(scale=scale)


@pytest.mark.parametrize(
    "vitals",
    [
        pytest.param({"rr": float("nan")}, id="rr-nan"),
        pytest.param({"spo2": float("inf")}, id="spo2-inf"),
        pytest.param({"sbp": float("-inf")}, id="sbp-minus-inf"),
        pytest.param({"pulse": Decimal("NaN")}, id="pulse-decimal-nan"),
        pytest.param({"temp": float("nan")}, id="temp-nan"),
        pytest.param({"temp": Decimal("Infinity")}, id="temp-decimal-inf"),
    ],
)
def test_non_finite_value_raises(vitals: Vitals) -> None:
    """A NaN or infinite reading is refused rather than scored."""
    with pytest.raises(ValueError, match="finite"):
        _news2(**vitals)


@pytest.mark.parametrize("level", ["X", "", "alert", "AV"], ids=["X", "empty", "word", "two"])
def test_unknown_consciousness_raises(level: str) -> None:
    """Only the ACVPU letters are accepted for consciousness."""
    with pytest.raises(ValueError, match="consciousness"):
        _news2(acvpu=level)


@pytest.mark.parametrize(
    "vitals",
    [
        pytest.param({"pulse": "70"}, id="pulse-string"),
        pytest.param({"rr": True}, id="rr-bool"),
        pytest.param({"oxygen": 1}, id="oxygen-int"),
        pytest.param({"acvpu": 0}, id="consciousness-int"),
    ],
)
def test_wrong_type_raises(vitals: dict[str, object]) -> None:
    """A value of the wrong kind (text for a pulse, 1 for oxygen) is refused, not coerced."""
    with pytest.raises(TypeError):
        _news2(**vitals)  # type: ignore[arg-type]


# ------------------------------------------------------------------ property

_reading = st.one_of(
    st.integers(min_value=0, max_value=300),
    st.floats(min_value=0, max_value=300, allow_nan=False, allow_infinity=False),
)
_temperature = st.one_of(
    st.floats(min_value=25, max_value=45, allow_nan=False, allow_infinity=False),
    st.decimals(min_value=25, max_value=45, places=2),
)


def _expected_risk(scores: dict[str, int]) -> Risk:
    total = sum(scores.values())
    if total >= 7:
        return Risk.HIGH
    if total >= 5:
        return Risk.MEDIUM
    return Risk.LOW_MEDIUM if 3 in scores.values() else Risk.LOW


@given(
    rr=_reading,
    spo2=_reading,
    sbp=_reading,
    pulse=_reading,
    temp=_temperature,
    acvpu=st.sampled_from(list(Consciousness)),
    oxygen=st.booleans(),
    scale=st.sampled_from([1, 2]),
)
def test_total_is_sum_and_risk_follows_precedence(
    rr: float,
    spo2: float,
    sbp: float,
    pulse: float,
    temp: Value,
    acvpu: Consciousness,
    oxygen: bool,
    scale: int,
) -> None:
    """For any observations the total is the sum of the rows, 0–20, and the band follows it."""
    result = _news2(
        rr=rr, spo2=spo2, sbp=sbp, pulse=pulse, temp=temp, acvpu=acvpu, oxygen=oxygen, scale=scale
    )
    assert set(result.scores) == set(PARAMETERS)
    assert result.total == sum(result.scores.values())
    assert 0 <= result.total <= MAX_TOTAL
    assert result.risk is _expected_risk(result.scores)
    assert result.risk is risk_band(result.scores)
