"""Manual entry on the tablet: the kinds a patient may type, their fields and units, and the
plausibility check done before the value is kept. Pure.

The limits are the service's own (``triage.domain.readings.PLAUSIBLE``, whose sources are in
docs/clinical/plausibility.md), copied because the gateway must not import the service;
tests/unit/test_tablet_manual.py keeps the two tables equal. The service checks every reading
again, typed or measured: the tablet's check only spares the patient a value that would be
refused.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass

from gateway.tablet.state import Text

#: Inclusive plausibility limits per value key, in the canonical unit (= triage PLAUSIBLE).
PLAUSIBLE: dict[str, tuple[float, float]] = {
    "spo2": (50.0, 100.0),
    "systolic": (50.0, 300.0),
    "diastolic": (20.0, 200.0),
    "mean_arterial": (30.0, 250.0),
    "pulse": (20.0, 250.0),
    "temperature": (30.0, 45.0),
    "weight": (20.0, 350.0),
    "glucose": (0.5, 40.0),
    "respiratory_rate": (3.0, 80.0),
    "peak_flow": (30.0, 1000.0),
}


@dataclass(frozen=True, slots=True)
class Field:
    """One number the patient types: the payload's value key, the parameter whose limits apply,
    its label and unit, and how many decimals the pad allows."""

    key: str
    parameter: str
    label: Text
    unit: str
    decimals: int = 0


#: The kinds a patient can type, in the order the tablet offers them, with their fields.
MANUAL_KINDS: dict[str, tuple[Field, ...]] = {
    "blood_pressure": (
        Field(
            "systolic", "systolic", Text(nb="Øvre trykk (systolisk)", en="Upper (systolic)"), "mmHg"
        ),
        Field(
            "diastolic",
            "diastolic",
            Text(nb="Nedre trykk (diastolisk)", en="Lower (diastolic)"),
            "mmHg",
        ),
        Field("pulse", "pulse", Text(nb="Puls", en="Pulse"), "slag/min"),
    ),
    "spo2": (
        Field("spo2", "spo2", Text(nb="Oksygenmetning", en="Oxygen saturation"), "%"),
        Field("pulse", "pulse", Text(nb="Puls", en="Pulse"), "slag/min"),
    ),
    "body_temperature": (
        Field("temperature", "temperature", Text(nb="Temperatur", en="Temperature"), "°C", 1),
    ),
    "body_weight": (Field("weight", "weight", Text(nb="Vekt", en="Weight"), "kg", 1),),
    "glucose": (Field("glucose", "glucose", Text(nb="Blodsukker", en="Blood sugar"), "mmol/L", 1),),
    "heart_rate": (Field("pulse", "pulse", Text(nb="Puls", en="Pulse"), "slag/min"),),
}


#: Units written differently in English (the others are the same in both languages).
_UNITS_EN = {"slag/min": "beats/min"}


def unit_in(field: Field, language: str) -> str:
    """The field's unit as the patient reads it in ``language``."""
    return _UNITS_EN.get(field.unit, field.unit) if language == "en" else field.unit


def check_value(field: Field, value: float) -> Text | None:
    """None when ``value`` is plausible for ``field``; else what to tell the patient."""
    low, high = PLAUSIBLE[field.parameter]
    if low <= value <= high:
        return None
    return Text(
        nb=f"{value:g} {field.unit} kan ikke stemme. Se på måleren og skriv tallet på nytt "
        f"(mellom {low:g} og {high:g}).",
        en=f"{value:g} {unit_in(field, 'en')} cannot be right. Look at the meter and type the "
        f"number again (between {low:g} and {high:g}).",
    )


def parse_entry(text: str, field: Field) -> float | None:
    """The number typed on the pad (digits and one comma or point), None if it is none."""
    cleaned = text.strip().replace(",", ".")
    if not cleaned or cleaned.count(".") > 1 or not cleaned.replace(".", "").isdigit():
        return None
    value = float(cleaned)
    return round(value, field.decimals) if field.decimals else float(int(value))


def typed_values(kind: str, typed: Mapping[str, float]) -> dict[str, float]:
    """The reading's ``values`` from what was typed (fields left empty are left out)."""
    return {f.key: typed[f.key] for f in MANUAL_KINDS[kind] if f.key in typed}
