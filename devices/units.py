"""Exact conversions to DHO's canonical units (mmHg, mmol/L, °C, kg, m; docs/contracts/README.md).

Every conversion takes a float and returns a float; ``None`` (a missing value, such as an
IEEE-11073 special value) stays ``None``. The arithmetic is exact: the input float becomes a
:class:`~fractions.Fraction` (exactly its binary value), is multiplied by exact rational factors,
and is rounded to a float once, at the end — so the result is the float nearest the true value,
and 13.3322387415 kPa gives exactly 100.0 mmHg, 18.0156 mg/dL exactly 1.0 mmol/L.

Non-finite input (NaN, ±inf) is a :class:`ValueError`: decoders turn special values into
``None``, so a NaN here is a bug upstream, not a reading.

The gateway calls these (``to_canonical`` lives there); the emulated devices use the inverses.
"""

from __future__ import annotations

import math
from collections.abc import Callable
from fractions import Fraction
from functools import wraps
from typing import Protocol, cast, overload

# 1 mmHg = 133.322387415 Pa exactly: the conventional millimetre of mercury is defined as
# 13.5951 g/cm³ (mercury at 0 °C) × 9.80665 m/s² (standard gravity) × 1 mm, which multiplies out
# to 133.322 387 415 Pa (ISO 80000-4:2019, item 4-15 remark; NIST SP 811 (2008), Appendix B.8).
# UCUM's mm[Hg] rounds this to 133.3220 Pa (a 3 ppm difference, clinically irrelevant).
PA_PER_MMHG = Fraction("133.322387415")

#: Molar mass of glucose, C6H12O6, in g/mol: 6 × 12.011 + 12 × 1.008 + 6 × 15.999 (IUPAC
#: conventional standard atomic weights, CIAAW 2013) = 180.156.
GLUCOSE_MOLAR_MASS_G_PER_MOL = 180.156
_GLUCOSE_G_PER_MOL = Fraction("180.156")

# 1 lb = 0.45359237 kg and 1 in = 0.0254 m exactly, by the 1959 international yard and pound
# agreement (NIST SP 811 (2008), Appendix B.8).
KG_PER_LB = Fraction("0.45359237")
M_PER_INCH = Fraction("0.0254")


class Conversion(Protocol):
    """A unit conversion: a float gives a float, ``None`` gives ``None``."""

    __name__: str

    @overload
    def __call__(self, value: float, /) -> float: ...
    @overload
    def __call__(self, value: None, /) -> None: ...
    @overload
    def __call__(self, value: float | None, /) -> float | None: ...


def _exact(rule: Callable[[Fraction], Fraction]) -> Conversion:
    """Turn an exact rule on fractions into a conversion of floats (``None`` passes through)."""

    @wraps(rule, assigned=("__module__", "__name__", "__qualname__", "__doc__"))
    def conversion(value: float | None, /) -> float | None:
        if value is None:
            return None
        if not math.isfinite(value):
            raise ValueError(f"{rule.__name__}: {value} is not a finite number")
        return float(rule(Fraction(value)))

    return cast(Conversion, conversion)


# ---------------------------------------------------------------- pressure


@_exact
def kpa_to_mmhg(kpa: Fraction) -> Fraction:
    """Kilopascal → mmHg: mmHg = kPa × 1000 / 133.322387415."""
    return kpa * 1000 / PA_PER_MMHG


@_exact
def mmhg_to_kpa(mmhg: Fraction) -> Fraction:
    """Millimetres of mercury → kilopascal (the inverse of :func:`kpa_to_mmhg`)."""
    return mmhg * PA_PER_MMHG / 1000


# ---------------------------------------------------------------- glucose


@_exact
def glucose_kg_per_l_to_mmol_per_l(kg_per_l: Fraction) -> Fraction:
    """Glucose kg/L (Glucose Measurement, units bit 0) → mmol/L: × 1e6 / 180.156.

    1 kg/L = 1000 g/L = 1000 / 180.156 mol/L = 1e6 / 180.156 mmol/L.
    """
    return kg_per_l * 1_000_000 / _GLUCOSE_G_PER_MOL


@_exact
def glucose_mmol_per_l_to_kg_per_l(mmol_per_l: Fraction) -> Fraction:
    """Glucose mmol/L → kg/L (the inverse, for emulated meters)."""
    return mmol_per_l * _GLUCOSE_G_PER_MOL / 1_000_000


@_exact
def glucose_mol_per_l_to_mmol_per_l(mol_per_l: Fraction) -> Fraction:
    """Glucose mol/L (Glucose Measurement, units bit 1) → mmol/L: × 1000."""
    return mol_per_l * 1000


@_exact
def glucose_mmol_per_l_to_mol_per_l(mmol_per_l: Fraction) -> Fraction:
    """Glucose mmol/L → mol/L (the inverse, for emulated meters)."""
    return mmol_per_l / 1000


@_exact
def glucose_mg_per_dl_to_mmol_per_l(mg_per_dl: Fraction) -> Fraction:
    """Glucose mg/dL → mmol/L: ÷ 18.0156 (1 mg/dL = 10 mg/L = 10 / 180.156 mmol/L)."""
    return mg_per_dl * 10 / _GLUCOSE_G_PER_MOL


@_exact
def glucose_mmol_per_l_to_mg_per_dl(mmol_per_l: Fraction) -> Fraction:
    """Glucose mmol/L → mg/dL: × 18.0156 (the inverse)."""
    return mmol_per_l * _GLUCOSE_G_PER_MOL / 10


# ---------------------------------------------------------------- temperature


@_exact
def fahrenheit_to_celsius(fahrenheit: Fraction) -> Fraction:
    """Degrees Fahrenheit → Celsius: (°F − 32) × 5/9 (exact by definition)."""
    return (fahrenheit - 32) * Fraction(5, 9)


@_exact
def celsius_to_fahrenheit(celsius: Fraction) -> Fraction:
    """Degrees Celsius → Fahrenheit: °C × 9/5 + 32 (the inverse)."""
    return celsius * Fraction(9, 5) + 32


# ---------------------------------------------------------------- mass and length


@_exact
def lb_to_kg(lb: Fraction) -> Fraction:
    """Pound → kilogram: × 0.45359237 (exact by definition)."""
    return lb * KG_PER_LB


@_exact
def kg_to_lb(kg: Fraction) -> Fraction:
    """Kilogram → pound (the inverse)."""
    return kg / KG_PER_LB


@_exact
def inch_to_m(inch: Fraction) -> Fraction:
    """Inch → metre: × 0.0254 (exact by definition)."""
    return inch * M_PER_INCH


@_exact
def m_to_inch(m: Fraction) -> Fraction:
    """Metre → inch (the inverse)."""
    return m / M_PER_INCH
