"""Self-management plans: validation, immutability, versions, approval, lossless JSON."""

from __future__ import annotations

from datetime import UTC, datetime, time, timedelta

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from pydantic import ValidationError

from tests.unit.plans import ACTIONS, make_plan
from triage.domain.colours import Colour
from triage.domain.plan import (
    Limit,
    ParameterZones,
    PlanError,
    PlanStatus,
    PlanVersion,
    Schedule,
    ScheduledMeasurement,
    approve,
    next_draft,
    retire,
)
from triage.domain.templates import TEMPLATES

AT = datetime(2026, 11, 20, 13, 0, tzinfo=UTC)


@pytest.mark.parametrize(
    ("zones", "message"),
    [
        ({}, "a parameter needs at least one bound"),
        ({"red_low": 94, "yellow_low": 92}, "red_low must not be above yellow_low"),
        ({"yellow_high": 180, "red_high": 160}, "yellow_high must not be above red_high"),
        ({"yellow_low": 100, "yellow_high": 100}, "the low bounds must lie below the high bounds"),
    ],
)
def test_inconsistent_bounds_are_refused(zones: dict[str, float], message: str) -> None:
    """A plan whose bounds contradict each other cannot be saved."""
    with pytest.raises(ValidationError, match=message):
        ParameterZones.model_validate(zones)


def test_bare_number_is_an_inclusive_bound() -> None:
    """In plan JSON, "red_low": 92 means "red at or below 92"."""
    zones = ParameterZones.model_validate({"red_low": 92, "yellow_low": {"value": 94}})
    assert zones.red_low == Limit(value=92, inclusive=True)
    assert zones.yellow_low == Limit(value=94, inclusive=True)
    assert zones.red_low.describe_low("%") == "≤ 92 %"
    assert Limit(value=3.0, inclusive=False).describe_low("mmol/L") == "< 3 mmol/L"
    assert Limit(value=160, inclusive=False).describe_high("mmHg") == "> 160 mmHg"


def test_plan_needs_actions_for_every_colour() -> None:
    """A plan must say what patient and nurse do in green, yellow and red."""
    with pytest.raises(ValidationError, match="actions are missing for: red"):
        PlanVersion.model_validate(
            {
                "plan_id": "p",
                "version": 1,
                "actions": {c: a for c, a in ACTIONS.items() if c is not Colour.RED},
            }
        )


def test_rule_ids_are_unique() -> None:
    """Two rules with the same id would make alerts ambiguous, so the plan is refused."""
    rule = {"type": "combination", "id": "x"}
    with pytest.raises(ValidationError, match="rule ids must be unique: x"):
        make_plan(rules=[rule, rule])


def test_unknown_time_zone_is_refused() -> None:
    """A schedule in a time zone that does not exist is refused with its name."""
    with pytest.raises(ValidationError, match="unknown IANA time zone 'Europe/Oslo2'"):
        Schedule(timezone="Europe/Oslo2")


def test_schedule_weekdays_are_iso() -> None:
    """Weekdays are 1 (Monday) to 7 (Sunday); anything else is refused."""
    item = ScheduledMeasurement(kinds=("spo2",), days=(4, 1, 4), due_by=time(10))  # type: ignore[arg-type]
    assert item.days == (1, 4)
    with pytest.raises(ValidationError, match="ISO weekdays"):
        ScheduledMeasurement(kinds=("spo2",), days=(0,), due_by=time(10))  # type: ignore[arg-type]


def test_plan_versions_are_immutable() -> None:
    """An approved plan version cannot be edited in place."""
    plan = make_plan({"spo2": {"red_low": 92}})
    with pytest.raises(ValidationError):
        plan.version = 4  # type: ignore[misc]


def test_approve_records_who_and_when() -> None:
    """Approval records the approving GP or nurse and the time."""
    draft = make_plan({"spo2": {"red_low": 92}})
    approved = approve(draft, by="gp-0042", role="gp", at=AT)
    assert approved.status is PlanStatus.APPROVED
    assert approved.approval is not None
    assert (approved.approval.by, approved.approval.role, approved.approval.at) == (
        "gp-0042",
        "gp",
        AT,
    )
    assert draft.status is PlanStatus.DRAFT  # the draft itself is unchanged


def test_forbidden_plan_changes() -> None:
    """Approving twice, or retiring a draft, is refused with the plan's state."""
    draft = make_plan({"spo2": {"red_low": 92}})
    approved = approve(draft, by="gp-0042", role="gp", at=AT)
    with pytest.raises(PlanError, match="plan v3 is approved; only a draft can be approved"):
        approve(approved, by="nurse-7", role="nurse", at=AT)
    with pytest.raises(PlanError, match="plan v3 is draft; only an approved plan can be retired"):
        retire(draft, at=AT)


def test_edit_makes_a_new_draft_version() -> None:
    """Editing an approved plan creates version n+1 as a draft; version n stays as it was."""
    approved = approve(make_plan({"spo2": {"red_low": 92}}), by="gp-0042", role="gp", at=AT)
    draft = next_draft(approved, zones={"spo2": {"red_low": 90, "yellow_low": 92}})
    assert (draft.version, draft.status, draft.approval) == (4, PlanStatus.DRAFT, None)
    assert draft.zones["spo2"].red_low == Limit(value=90)  # type: ignore[index]
    assert approved.zones["spo2"].red_low == Limit(value=92)  # type: ignore[index]
    retired = retire(approved, at=AT + timedelta(days=1))
    assert (retired.status, retired.retired_at) == (PlanStatus.RETIRED, AT + timedelta(days=1))


def test_status_and_approval_must_agree() -> None:
    """A plan that says approved but names no approver is refused."""
    with pytest.raises(ValidationError, match="needs its approval"):
        make_plan({"spo2": {"red_low": 92}}, status="approved")


@pytest.mark.parametrize("condition", list(TEMPLATES))
def test_template_plans_round_trip_through_json(condition: str) -> None:
    """Every template survives JSON unchanged, so stored plans mean what they said."""
    plan = approve(TEMPLATES[condition](), by="gp-0042", role="gp", at=AT)  # type: ignore[index]
    assert PlanVersion.from_json(plan.to_json()) == plan
    assert '"schema":"dho.plan/1"' in plan.to_json()


limits = st.builds(
    Limit,
    value=st.floats(min_value=-1000, max_value=1000, allow_nan=False).map(lambda v: round(v, 3)),
    inclusive=st.booleans(),
)


@st.composite
def zone_sets(draw: st.DrawFn) -> ParameterZones:
    values = sorted(draw(st.lists(st.integers(0, 300), min_size=4, max_size=4, unique=True)))
    inclusive = draw(st.lists(st.booleans(), min_size=4, max_size=4))
    present = draw(st.lists(st.booleans(), min_size=4, max_size=4).filter(any))
    names = ["red_low", "yellow_low", "yellow_high", "red_high"]
    data = {
        name: {"value": v, "inclusive": inc}
        for name, v, inc, keep in zip(names, values, inclusive, present, strict=True)
        if keep
    }
    return ParameterZones.model_validate(data)


@settings(max_examples=200)
@given(zones=zone_sets(), trend_window=st.integers(1, 30), goal=st.text(max_size=40))
def test_any_valid_plan_round_trips_losslessly(
    zones: ParameterZones, trend_window: int, goal: str
) -> None:
    """Whatever bounds, rules and goal a plan holds, JSON gives back the same plan."""
    plan = make_plan(
        {"spo2": zones},
        rules=[
            {
                "type": "trend",
                "id": "t",
                "parameter": "weight",
                "window": timedelta(days=trend_window),
                "rise": 2,
            }
        ],
        goal=goal,
    )
    assert PlanVersion.from_json(plan.to_json()) == plan
