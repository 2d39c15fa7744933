"""Small plans and readings for the unit tests (synthetic data only)."""

from __future__ import annotations

from collections.abc import Mapping
from datetime import UTC, datetime, timedelta
from typing import Any

from triage.domain.colours import Colour, Text
from triage.domain.plan import PlanVersion, ZoneActions
from triage.domain.readings import Kind, Reading

NOW = datetime(2026, 11, 23, 8, 30, tzinfo=UTC)

ACTIONS = {
    colour: ZoneActions(
        patient=Text(nb=f"pasient {colour.label_nb}", en=f"patient {colour.value}"),
        nurse=Text(nb=f"sykepleier {colour.label_nb}", en=f"nurse {colour.value}"),
    )
    for colour in Colour
}


def make_plan(
    zones: Mapping[str, Any] | None = None, rules: list[Any] | None = None, **extra: Any
) -> PlanVersion:
    """A plan version 3 with the given zones and rules."""
    return PlanVersion.model_validate(
        {
            "plan_id": "plan-test",
            "version": 3,
            "zones": zones or {},
            "rules": rules or [],
            "actions": ACTIONS,
            **extra,
        }
    )


_counter = iter(range(1_000_000))


def reading(kind: str, at: datetime = NOW, rid: str | None = None, **values: float) -> Reading:
    """A reading of ``kind`` at ``at`` with ``values``."""
    return Reading(id=rid or f"r{next(_counter)}", kind=Kind(kind), measured_at=at, values=values)


def reading_with(
    kind: str, values: Mapping[str, float], at: datetime = NOW, rid: str | None = None
) -> Reading:
    """A reading of ``kind`` with ``values`` given as a mapping."""
    return reading(kind, at, rid, **values)


def days_ago(days: float, base: datetime = NOW) -> datetime:
    return base - timedelta(days=days)
