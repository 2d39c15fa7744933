"""``devices.units``: exact conversions to the canonical units, inverses, monotonic, None kept."""

from __future__ import annotations

import math
from fractions import Fraction

import pytest
from hypothesis import given
from hypothesis import strategies as st

from devices import units
from devices.units import (
    GLUCOSE_MOLAR_MASS_G_PER_MOL,
    Conversion,
    celsius_to_fahrenheit,
    fahrenheit_to_celsius,
    glucose_kg_per_l_to_mmol_per_l,
    glucose_mg_per_dl_to_mmol_per_l,
    glucose_mmol_per_l_to_kg_per_l,
    glucose_mmol_per_l_to_mg_per_dl,
    glucose_mmol_per_l_to_mol_per_l,
    glucose_mol_per_l_to_mmol_per_l,
    inch_to_m,
    kg_to_lb,
    kpa_to_mmhg,
    lb_to_kg,
    m_to_inch,
    mmhg_to_kpa,
)

#: (conversion, its inverse)
PAIRS: list[tuple[Conversion, Conversion]] = [
    (kpa_to_mmhg, mmhg_to_kpa),
    (glucose_kg_per_l_to_mmol_per_l, glucose_mmol_per_l_to_kg_per_l),
    (glucose_mol_per_l_to_mmol_per_l, glucose_mmol_per_l_to_mol_per_l),
    (glucose_mg_per_dl_to_mmol_per_l, glucose_mmol_per_l_to_mg_per_dl),
    (fahrenheit_to_celsius, celsius_to_fahrenheit),
    (lb_to_kg, kg_to_lb),
    (inch_to_m, m_to_inch),
]
ALL = [f for pair in PAIRS for f in pair]
IDS = [f.__name__ for f in ALL]

# Physical magnitudes well beyond any reading, both signs (°F and °C go negative).
values = st.floats(min_value=-1e6, max_value=1e6, allow_nan=False, allow_infinity=False)


@pytest.mark.parametrize(
    ("conversion", "value", "expected"),
    [
        # 1 mmHg = 133.322387415 Pa (ISO 80000-4; NIST SP 811 B.8), so 13.3322387415 kPa is
        # exactly 100 mmHg and back.
        (kpa_to_mmhg, 13.3322387415, 100.0),
        (mmhg_to_kpa, 100, 13.3322387415),
        (kpa_to_mmhg, 0, 0.0),
        # A cuff in kPa: 18.7 kPa systolic ≈ 140.26 mmHg (18700 / 133.322387415).
        (kpa_to_mmhg, 18.7, float(Fraction(18700) / Fraction("133.322387415"))),
        # Glucose: 1 mmol/L = 18.0156 mg/dL (molar mass 180.156 g/mol).
        (glucose_mg_per_dl_to_mmol_per_l, 18.0156, 1.0),
        (glucose_mmol_per_l_to_mg_per_dl, 1, 18.0156),
        (glucose_mg_per_dl_to_mmol_per_l, 180.156, 10.0),
        # A meter sending kg/L: 90 mg/dL = 0.0009 kg/L = 900 / 180.156 mmol/L = 4.99567…
        (glucose_kg_per_l_to_mmol_per_l, 0.0009, 4.995670418970225),
        (glucose_mmol_per_l_to_kg_per_l, 10, 0.00180156),
        # A meter sending mol/L: 0.0055 mol/L = 5.5 mmol/L.
        (glucose_mol_per_l_to_mmol_per_l, 0.0055, 5.5),
        (glucose_mmol_per_l_to_mol_per_l, 5.5, 0.0055),
        # Temperature: the fixed points, the crossing at -40, and 100 °F = 340/9 °C.
        (fahrenheit_to_celsius, 32, 0.0),
        (fahrenheit_to_celsius, 212, 100.0),
        (fahrenheit_to_celsius, -40, -40.0),
        (fahrenheit_to_celsius, 100, 37.77777777777778),
        (fahrenheit_to_celsius, 98.6, 37.0),
        (celsius_to_fahrenheit, 37, 98.6),
        (celsius_to_fahrenheit, 0, 32.0),
        # 1 lb = 0.45359237 kg, 1 in = 0.0254 m exactly (1959 yard and pound agreement).
        (lb_to_kg, 1, 0.45359237),
        (lb_to_kg, 200, 90.718474),
        (kg_to_lb, 0.45359237, 1.0),
        (inch_to_m, 1, 0.0254),
        (inch_to_m, 12, 0.3048),
        (inch_to_m, 69, 1.7526),
        (m_to_inch, 0.0254, 1.0),
    ],
)
def test_known_values_are_exact(conversion: Conversion, value: float, expected: float) -> None:
    """A reading converts to exactly the value a person checks by hand, not 99.99999999."""
    assert conversion(value) == expected


def test_100_fahrenheit_is_the_float_nearest_340_ninths() -> None:
    """The one rounding is the last one: 100 °F is the float nearest 37.777… °C."""
    assert fahrenheit_to_celsius(100.0) == float(Fraction(340, 9))


def test_glucose_molar_mass_constant() -> None:
    """The molar mass used for glucose is 180.156 g/mol, as the contract states."""
    assert GLUCOSE_MOLAR_MASS_G_PER_MOL == 180.156
    assert units.glucose_mmol_per_l_to_mg_per_dl(1.0) == GLUCOSE_MOLAR_MASS_G_PER_MOL / 10


def test_mg_per_dl_and_kg_per_l_agree() -> None:
    """90 mg/dL and the same glucose sent as 0.0009 kg/L give the same mmol/L."""
    assert glucose_mg_per_dl_to_mmol_per_l(90) == pytest.approx(
        glucose_kg_per_l_to_mmol_per_l(0.0009), rel=1e-15
    )


@pytest.mark.parametrize("conversion", ALL, ids=IDS)
def test_missing_value_stays_missing(conversion: Conversion) -> None:
    """A special value (None) from the device stays missing, never becomes 0 or NaN."""
    assert conversion(None) is None


@pytest.mark.parametrize("conversion", ALL, ids=IDS)
@pytest.mark.parametrize("bad", [math.nan, math.inf, -math.inf])
def test_non_finite_input_is_refused(conversion: Conversion, bad: float) -> None:
    """A NaN reaching a conversion is a bug upstream and is refused, not passed on."""
    with pytest.raises(ValueError, match="not a finite number"):
        conversion(bad)


@pytest.mark.parametrize(("forward", "inverse"), PAIRS, ids=[f.__name__ for f, _ in PAIRS])
@given(value=values)
def test_inverse_round_trips(forward: Conversion, inverse: Conversion, value: float) -> None:
    """Converting there and back gives the value again (within 1e-9 relative)."""
    assert math.isclose(inverse(forward(value)), value, rel_tol=1e-9, abs_tol=1e-12)
    assert math.isclose(forward(inverse(value)), value, rel_tol=1e-9, abs_tol=1e-12)


@pytest.mark.parametrize("conversion", ALL, ids=IDS)
@given(a=values, b=values)
def test_conversions_are_monotonic(conversion: Conversion, a: float, b: float) -> None:
    """A higher reading never converts to a lower one."""
    low, high = sorted((a, b))
    assert conversion(low) <= conversion(high)
