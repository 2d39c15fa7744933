"""Readings: the kinds of measurement, their canonical units, and physiological plausibility.

An implausible value is a *data error* with a reason (a broken cuff that reports 2047 mmHg, a
finger that slipped off the oximeter) and never gets a colour. The limits are the widest a
living adult at home can show, not clinical targets; their sources are in
``docs/clinical/plausibility.md``.
"""

from __future__ import annotations

import math
from collections.abc import Mapping
from datetime import datetime, timedelta
from enum import StrEnum
from functools import cached_property

from pydantic import AwareDatetime, BaseModel, ConfigDict, Field


class Kind(StrEnum):
    """What was measured, as named in the MQTT contract (``dho.reading/1``)."""

    BLOOD_PRESSURE = "blood_pressure"
    SPO2 = "spo2"
    HEART_RATE = "heart_rate"
    GLUCOSE = "glucose"
    BODY_WEIGHT = "body_weight"
    BODY_TEMPERATURE = "body_temperature"
    RESPIRATORY_RATE = "respiratory_rate"
    PEAK_FLOW = "peak_flow"


class Parameter(StrEnum):
    """One measured quantity; the unit a plan's bounds are written in."""

    SYSTOLIC = "systolic"
    DIASTOLIC = "diastolic"
    MEAN_ARTERIAL = "mean_arterial"
    PULSE = "pulse"
    SPO2 = "spo2"
    GLUCOSE = "glucose"
    WEIGHT = "weight"
    TEMPERATURE = "temperature"
    RESPIRATORY_RATE = "respiratory_rate"
    PEAK_FLOW = "peak_flow"

    @property
    def unit(self) -> str:
        """The canonical unit, as a person reads it."""
        return _UNITS[self][0]

    @property
    def ucum(self) -> str:
        """The canonical unit in UCUM."""
        return _UNITS[self][1]

    @property
    def label_nb(self) -> str:
        return _LABELS[self][0]

    @property
    def label_en(self) -> str:
        return _LABELS[self][1]


_UNITS: dict[Parameter, tuple[str, str]] = {
    Parameter.SYSTOLIC: ("mmHg", "mm[Hg]"),
    Parameter.DIASTOLIC: ("mmHg", "mm[Hg]"),
    Parameter.MEAN_ARTERIAL: ("mmHg", "mm[Hg]"),
    Parameter.PULSE: ("/min", "/min"),
    Parameter.SPO2: ("%", "%"),
    Parameter.GLUCOSE: ("mmol/L", "mmol/L"),
    Parameter.WEIGHT: ("kg", "kg"),
    Parameter.TEMPERATURE: ("°C", "Cel"),
    Parameter.RESPIRATORY_RATE: ("/min", "/min"),
    Parameter.PEAK_FLOW: ("L/min", "L/min"),
}

_LABELS: dict[Parameter, tuple[str, str]] = {
    Parameter.SYSTOLIC: ("Systolisk blodtrykk", "Systolic blood pressure"),
    Parameter.DIASTOLIC: ("Diastolisk blodtrykk", "Diastolic blood pressure"),
    Parameter.MEAN_ARTERIAL: ("Middelarterietrykk", "Mean arterial pressure"),
    Parameter.PULSE: ("Puls", "Pulse"),
    Parameter.SPO2: ("SpO2", "SpO2"),
    Parameter.GLUCOSE: ("Blodsukker", "Blood glucose"),
    Parameter.WEIGHT: ("Vekt", "Weight"),
    Parameter.TEMPERATURE: ("Temperatur", "Temperature"),
    Parameter.RESPIRATORY_RATE: ("Respirasjonsfrekvens", "Respiratory rate"),
    Parameter.PEAK_FLOW: ("PEF", "Peak flow"),
}

#: Per kind: value key in the payload -> parameter, and which keys are required.
VALUE_KEYS: dict[Kind, dict[str, Parameter]] = {
    Kind.BLOOD_PRESSURE: {
        "systolic": Parameter.SYSTOLIC,
        "diastolic": Parameter.DIASTOLIC,
        "mean": Parameter.MEAN_ARTERIAL,
        "pulse": Parameter.PULSE,
    },
    Kind.SPO2: {"spo2": Parameter.SPO2, "pulse": Parameter.PULSE},
    Kind.HEART_RATE: {"pulse": Parameter.PULSE},
    Kind.GLUCOSE: {"glucose": Parameter.GLUCOSE},
    Kind.BODY_WEIGHT: {"weight": Parameter.WEIGHT},
    Kind.BODY_TEMPERATURE: {"temperature": Parameter.TEMPERATURE},
    Kind.RESPIRATORY_RATE: {"rate": Parameter.RESPIRATORY_RATE},
    Kind.PEAK_FLOW: {"pef": Parameter.PEAK_FLOW},
}

REQUIRED_KEYS: dict[Kind, frozenset[str]] = {
    Kind.BLOOD_PRESSURE: frozenset({"systolic", "diastolic"}),
    Kind.SPO2: frozenset({"spo2"}),
    Kind.HEART_RATE: frozenset({"pulse"}),
    Kind.GLUCOSE: frozenset({"glucose"}),
    Kind.BODY_WEIGHT: frozenset({"weight"}),
    Kind.BODY_TEMPERATURE: frozenset({"temperature"}),
    Kind.RESPIRATORY_RATE: frozenset({"rate"}),
    Kind.PEAK_FLOW: frozenset({"pef"}),
}

#: Inclusive physiological plausibility limits per parameter (docs/clinical/plausibility.md).
PLAUSIBLE: dict[Parameter, tuple[float, float]] = {
    Parameter.SPO2: (50.0, 100.0),
    Parameter.SYSTOLIC: (50.0, 300.0),
    Parameter.DIASTOLIC: (20.0, 200.0),
    Parameter.MEAN_ARTERIAL: (30.0, 250.0),
    Parameter.PULSE: (20.0, 250.0),
    Parameter.TEMPERATURE: (30.0, 45.0),
    Parameter.WEIGHT: (20.0, 350.0),
    Parameter.GLUCOSE: (0.5, 40.0),
    Parameter.RESPIRATORY_RATE: (3.0, 80.0),
    Parameter.PEAK_FLOW: (30.0, 1000.0),
}


class Reading(BaseModel):
    """One measurement of one patient, in canonical units, with an aware timestamp."""

    model_config = ConfigDict(frozen=True, extra="forbid")

    id: str
    kind: Kind
    measured_at: AwareDatetime
    values: Mapping[str, float]

    @cached_property
    def parameters(self) -> dict[Parameter, float]:
        """The reading's values by parameter (unknown keys left out)."""
        keys = VALUE_KEYS[self.kind]
        return {keys[k]: v for k, v in self.values.items() if k in keys}


class Report(BaseModel):
    """One questionnaire answer set (``dho.report/1``)."""

    model_config = ConfigDict(frozen=True, extra="forbid")

    id: str
    questionnaire: str
    answered_at: AwareDatetime
    answers: Mapping[str, str | int | bool]


class DataProblem(BaseModel):
    """Why a reading cannot be classified: a data error, never a colour."""

    model_config = ConfigDict(frozen=True)

    code: str = Field(description="stable machine code, e.g. 'implausible', 'missing_value'")
    field: str | None = None
    value: float | None = None
    message: str

    def __str__(self) -> str:
        return self.message


def format_quantity(value: float, unit: str) -> str:
    """``value`` with its unit as people read it: "92 %", "105/min", "82.35 kg"."""
    number = f"{value:.2f}".rstrip("0").rstrip(".")
    if not unit:
        return number
    return f"{number}{unit}" if unit.startswith("/") else f"{number} {unit}"


def check_plausibility(kind: Kind, values: Mapping[str, float]) -> list[DataProblem]:
    """Every reason why ``values`` of ``kind`` cannot be real; empty when plausible."""
    problems: list[DataProblem] = []
    keys = VALUE_KEYS[kind]
    for key in sorted(REQUIRED_KEYS[kind] - values.keys()):
        problems.append(
            DataProblem(code="missing_value", field=key, message=f"{kind}: '{key}' is missing")
        )
    for key in sorted(values.keys() - keys.keys()):
        allowed = ", ".join(sorted(keys))
        problems.append(
            DataProblem(
                code="unknown_value",
                field=key,
                message=f"{kind}: unknown value '{key}' (expected one of: {allowed})",
            )
        )
    for key, value in values.items():
        if key not in keys:
            continue
        parameter = keys[key]
        low, high = PLAUSIBLE[parameter]
        if isinstance(value, bool) or not isinstance(value, int | float):
            problems.append(
                DataProblem(code="not_a_number", field=key, message=f"{key}: not a number")
            )
        elif not math.isfinite(value):
            problems.append(
                DataProblem(code="not_finite", field=key, message=f"{key}: {value} is not finite")
            )
        elif not low <= value <= high:
            problems.append(
                DataProblem(
                    code="implausible",
                    field=key,
                    value=float(value),
                    message=(
                        f"{key} {value:g} {parameter.unit} is outside the plausible range "
                        f"{low:g}–{high:g} {parameter.unit}"
                    ),
                )
            )
    systolic, diastolic = values.get("systolic"), values.get("diastolic")
    if (
        kind is Kind.BLOOD_PRESSURE
        and isinstance(systolic, int | float)
        and isinstance(diastolic, int | float)
        and not problems
        and diastolic >= systolic
    ):
        problems.append(
            DataProblem(
                code="implausible",
                field="diastolic",
                value=float(diastolic),
                message=f"diastolic {diastolic:g} mmHg is not below systolic {systolic:g} mmHg",
            )
        )
    return problems


def is_from_the_future(measured_at: datetime, now: datetime, tolerance: timedelta) -> bool:
    """True when a device clock stamped a reading more than ``tolerance`` after ``now``."""
    return measured_at > now + tolerance


def gateway_clock_is_behind(
    measured_at: datetime, received_at: datetime, now: datetime, tolerance: timedelta
) -> bool:
    """True when a gateway's clock runs behind: it says it received the reading more than
    ``tolerance`` *before* the device measured it, while the device's time is not ahead of
    ``now`` (the service's clock) by more than ``tolerance`` either.

    A gateway cannot receive a value before it was measured, so one of the two clocks is wrong;
    when the device's time agrees with the service's, the gateway's is the one behind. (A
    ``received_at`` long before ``now`` alone proves nothing: a gateway keeps readings through
    an outage and sends them later.) A device clock ahead by less than the time the reading
    waited at the gateway looks the same; either way the reading's time is uncertain.
    """
    return received_at < measured_at - tolerance and measured_at <= now + tolerance
