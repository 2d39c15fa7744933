"""NEWS2: the Royal College of Physicians' National Early Warning Score 2 (Chart 1, 2017).

Pure: values go in, a score comes out. No I/O, no clock reads. The chart as implemented, the
rounding rule and the validity caveats are in ``docs/clinical/news2.md``.

* Integer-charted parameters (respiration rate, SpO2, systolic BP, pulse) band by "≤ the upper
  bound of the band", so a fractional value falls into the band above the bound it passes
  (pulse 90.5 scores as 91–110).
* Temperature is charted to one decimal: it is rounded half-up to 0.1 °C before banding
  (35.05 → 35.1, 36.04 → 36.0).
* A missing parameter (``None``) is never scored as 0: :func:`score` raises ``ValueError``
  naming every missing parameter.
"""

from __future__ import annotations

import math
from collections.abc import Mapping
from decimal import ROUND_HALF_UP, Context, Decimal
from enum import StrEnum
from typing import Self

from pydantic import BaseModel, ConfigDict, model_validator

__all__ = [
    "MAX_TOTAL",
    "PARAMETERS",
    "Consciousness",
    "News2Score",
    "Risk",
    "risk_band",
    "score",
]

Number = int | float | Decimal
_Bands = tuple[tuple[Decimal, int], ...]


class Risk(StrEnum):
    """The NEWS2 clinical risk band. Ordered: low < low-medium < medium < high."""

    LOW = "low"
    LOW_MEDIUM = "low-medium"
    MEDIUM = "medium"
    HIGH = "high"

    @property
    def rank(self) -> int:
        """0 for low, 1 for low-medium, 2 for medium, 3 for high."""
        return _RISK_RANK[self]


_RISK_RANK = {Risk.LOW: 0, Risk.LOW_MEDIUM: 1, Risk.MEDIUM: 2, Risk.HIGH: 3}


class Consciousness(StrEnum):
    """ACVPU level of consciousness. Plain letters are accepted, in either case."""

    ALERT = "A"
    NEW_CONFUSION = "C"
    VOICE = "V"
    PAIN = "P"
    UNRESPONSIVE = "U"

    @classmethod
    def _missing_(cls, value: object) -> Consciousness | None:
        if isinstance(value, str):
            wanted = value.strip().upper()
            for member in cls:
                if member.value == wanted:
                    return member
        return None


PARAMETERS: tuple[str, ...] = (
    "respiration_rate",
    "spo2",
    "air_or_oxygen",
    "systolic_bp",
    "pulse",
    "consciousness",
    "temperature",
)
"""The keys of :attr:`News2Score.scores`, in chart order."""

_ALLOWED_POINTS: dict[str, frozenset[int]] = {
    "respiration_rate": frozenset({0, 1, 2, 3}),
    "spo2": frozenset({0, 1, 2, 3}),
    "air_or_oxygen": frozenset({0, 2}),
    "systolic_bp": frozenset({0, 1, 2, 3}),
    "pulse": frozenset({0, 1, 2, 3}),
    "consciousness": frozenset({0, 3}),
    "temperature": frozenset({0, 1, 2, 3}),
}

MAX_TOTAL = sum(max(points) for points in _ALLOWED_POINTS.values())
"""The highest possible NEWS2 total (20)."""


def _bands(*rows: tuple[str, int]) -> _Bands:
    return tuple((Decimal(upper), points) for upper, points in rows)


# Chart 1, row by row: (inclusive upper bound, points); a value above the last bound scores
# the ``*_ABOVE`` points.
_RESPIRATION_RATE = _bands(("8", 3), ("11", 1), ("20", 0), ("24", 2))
_RESPIRATION_RATE_ABOVE = 3
_SPO2_SCALE_1 = _bands(("91", 3), ("93", 2), ("95", 1))
_SPO2_SCALE_1_ABOVE = 0
_SPO2_SCALE_2_AIR = _bands(("83", 3), ("85", 2), ("87", 1))
_SPO2_SCALE_2_AIR_ABOVE = 0
_SPO2_SCALE_2_OXYGEN = _bands(("83", 3), ("85", 2), ("87", 1), ("92", 0), ("94", 1), ("96", 2))
_SPO2_SCALE_2_OXYGEN_ABOVE = 3
_SYSTOLIC_BP = _bands(("90", 3), ("100", 2), ("110", 1), ("219", 0))
_SYSTOLIC_BP_ABOVE = 3
_PULSE = _bands(("40", 3), ("50", 1), ("90", 0), ("110", 1), ("130", 2))
_PULSE_ABOVE = 3
_TEMPERATURE = _bands(("35.0", 3), ("36.0", 1), ("38.0", 0), ("39.0", 1))
_TEMPERATURE_ABOVE = 2
_OXYGEN_POINTS = 2
_NOT_ALERT_POINTS = 3

_TENTH = Decimal("0.1")


class News2Score(BaseModel):
    """One NEWS2 result: the points per parameter, their total and the risk band."""

    model_config = ConfigDict(frozen=True, extra="forbid")

    scores: dict[str, int]
    total: int
    risk: Risk

    @model_validator(mode="after")
    def _consistent(self) -> Self:
        if set(self.scores) != set(PARAMETERS):
            raise ValueError(f"scores must have exactly the keys {', '.join(PARAMETERS)}")
        for name, points in self.scores.items():
            if points not in _ALLOWED_POINTS[name]:
                raise ValueError(f"{name} cannot score {points} on the NEWS2 chart")
        if self.total != sum(self.scores.values()):
            raise ValueError("total must be the sum of the scores")
        if self.risk is not risk_band(self.scores):
            raise ValueError("risk does not follow from the scores")
        return self


def risk_band(scores: Mapping[str, int]) -> Risk:
    """The risk band for per-parameter ``scores``.

    Precedence: a total of 7 or more is high; 5–6 is medium (even with a single 3); a single
    parameter scoring 3 with a total of 4 or less is low-medium; anything else is low.
    """
    total = sum(scores.values())
    if total >= 7:
        return Risk.HIGH
    if total >= 5:
        return Risk.MEDIUM
    if any(points == 3 for points in scores.values()):
        return Risk.LOW_MEDIUM
    return Risk.LOW


def score(
    respiration_rate: Number | None,
    spo2: Number | None,
    systolic_bp: Number | None,
    pulse: Number | None,
    temperature: Number | None,
    consciousness: Consciousness | str | None = "A",
    on_oxygen: bool | None = False,
    spo2_scale: int = 1,
) -> News2Score:
    """Score one set of observations on NEWS2 Chart 1.

    ``spo2_scale`` is 1 (the default) or 2; Scale 2 is for patients with hypercapnic
    respiratory failure and is chosen by a clinician. Raises ``ValueError`` when a parameter
    is missing (``None``), not finite, or not on the chart (an unknown consciousness letter,
    a scale other than 1 or 2), and ``TypeError`` when a value is not a number or a bool.
    """
    _require_present(
        respiration_rate=respiration_rate,
        spo2=spo2,
        systolic_bp=systolic_bp,
        pulse=pulse,
        temperature=temperature,
        consciousness=consciousness,
        on_oxygen=on_oxygen,
    )
    oxygen = _as_bool("on_oxygen", on_oxygen)
    scale = _as_scale(spo2_scale)
    scores = {
        "respiration_rate": _band(
            _as_decimal("respiration_rate", respiration_rate),
            _RESPIRATION_RATE,
            _RESPIRATION_RATE_ABOVE,
        ),
        "spo2": _score_spo2(_as_decimal("spo2", spo2), scale=scale, on_oxygen=oxygen),
        "air_or_oxygen": _OXYGEN_POINTS if oxygen else 0,
        "systolic_bp": _band(
            _as_decimal("systolic_bp", systolic_bp), _SYSTOLIC_BP, _SYSTOLIC_BP_ABOVE
        ),
        "pulse": _band(_as_decimal("pulse", pulse), _PULSE, _PULSE_ABOVE),
        "consciousness": _score_consciousness(consciousness),
        "temperature": _band(
            _charted_temperature(_as_decimal("temperature", temperature)),
            _TEMPERATURE,
            _TEMPERATURE_ABOVE,
        ),
    }
    return News2Score(scores=scores, total=sum(scores.values()), risk=risk_band(scores))


def _require_present(**values: object) -> None:
    missing = [name for name, value in values.items() if value is None]
    if missing:
        raise ValueError(f"NEWS2 cannot be scored: missing {', '.join(missing)}")


def _missing(name: str) -> ValueError:
    return ValueError(f"NEWS2 cannot be scored: missing {name}")


def _as_decimal(name: str, value: Number | None) -> Decimal:
    """``value`` as an exact Decimal of its shortest decimal form (so 35.05 stays 35.05)."""
    if value is None:
        raise _missing(name)
    if isinstance(value, bool) or not isinstance(value, int | float | Decimal):
        raise TypeError(f"{name} must be a number, not {type(value).__name__}")
    if isinstance(value, Decimal):
        result = value
    elif isinstance(value, float):
        if not math.isfinite(value):
            raise ValueError(f"{name} must be a finite number, not {value}")
        result = Decimal(repr(value))
    else:
        result = Decimal(value)
    if not result.is_finite():
        raise ValueError(f"{name} must be a finite number, not {value}")
    return result


def _as_bool(name: str, value: bool | None) -> bool:
    if value is None:
        raise _missing(name)
    if not isinstance(value, bool):
        raise TypeError(f"{name} must be True or False, not {type(value).__name__}")
    return value


def _as_scale(value: int) -> int:
    if isinstance(value, bool) or not isinstance(value, int) or value not in (1, 2):
        raise ValueError(f"spo2_scale must be 1 or 2, not {value!r}")
    return value


def _band(value: Decimal, bands: _Bands, above: int) -> int:
    for upper, points in bands:
        if value <= upper:
            return points
    return above


def _score_spo2(value: Decimal, *, scale: int, on_oxygen: bool) -> int:
    if scale == 1:
        return _band(value, _SPO2_SCALE_1, _SPO2_SCALE_1_ABOVE)
    if on_oxygen:
        return _band(value, _SPO2_SCALE_2_OXYGEN, _SPO2_SCALE_2_OXYGEN_ABOVE)
    return _band(value, _SPO2_SCALE_2_AIR, _SPO2_SCALE_2_AIR_ABOVE)


def _score_consciousness(value: Consciousness | str | None) -> int:
    if value is None:
        raise _missing("consciousness")
    if not isinstance(value, str):
        raise TypeError(f"consciousness must be one of A, C, V, P, U, not {type(value).__name__}")
    try:
        level = Consciousness(value)
    except ValueError:
        raise ValueError(f"consciousness must be one of A, C, V, P, U, not {value!r}") from None
    return 0 if level is Consciousness.ALERT else _NOT_ALERT_POINTS


def _charted_temperature(value: Decimal) -> Decimal:
    """``value`` rounded half-up to 0.1 °C, as it is written on the chart."""
    precision = max(28, value.adjusted() + 3)
    return value.quantize(_TENTH, rounding=ROUND_HALF_UP, context=Context(prec=precision))
