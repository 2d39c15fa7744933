"""Manual entry's plausibility on the tablet (gateway/tablet/manual.py) is the service's own."""

from __future__ import annotations

import pytest

from gateway.tablet import manual
from triage.domain.readings import PLAUSIBLE, VALUE_KEYS, Kind, Parameter


def test_the_tablets_limits_are_the_services() -> None:
    assert {parameter.value: limits for parameter, limits in PLAUSIBLE.items()} == manual.PLAUSIBLE


def test_every_typed_field_is_a_value_key_of_its_kind_with_its_parameter() -> None:
    for kind, fields in manual.MANUAL_KINDS.items():
        keys = VALUE_KEYS[Kind(kind)]
        for field in fields:
            assert keys[field.key] == Parameter(field.parameter)


@pytest.mark.parametrize(
    ("parameter", "value", "plausible"),
    [
        ("spo2", 49.9, False),
        ("spo2", 50, True),
        ("spo2", 100, True),
        ("spo2", 101, False),
        ("systolic", 300, True),
        ("systolic", 301, False),
        ("temperature", 29.9, False),
        ("temperature", 38.5, True),
    ],
)
def test_limits_are_inclusive(parameter: str, value: float, plausible: bool) -> None:
    field = next(
        f for fields in manual.MANUAL_KINDS.values() for f in fields if f.parameter == parameter
    )
    problem = manual.check_value(field, value)
    assert (problem is None) is plausible
    if problem is not None:
        assert "kan ikke stemme" in problem.nb


@pytest.mark.parametrize(
    ("typed", "decimals", "value"),
    [("38,5", 1, 38.5), ("120", 0, 120.0), ("", 0, None), ("1,2,3", 1, None), ("12a", 0, None)],
)
def test_the_pads_text_as_a_number(typed: str, decimals: int, value: float | None) -> None:
    field = manual.Field("x", "spo2", manual.MANUAL_KINDS["spo2"][0].label, "%", decimals)
    assert manual.parse_entry(typed, field) == value
