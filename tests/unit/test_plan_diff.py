"""What changed between two plan versions (triage.domain.plan_diff): bounds tighter or looser at
the exact boundary (same value, inclusive vs strict), zones, rules, schedule, goal and actions,
each in bokmål and English."""

from __future__ import annotations

from datetime import time

import pytest

from triage.domain.colours import Colour, Text
from triage.domain.plan import Limit, PlanVersion, ScheduledMeasurement, ZoneActions, next_draft
from triage.domain.plan_diff import ChangeKind, PlanChange, bound_effect, diff
from triage.domain.readings import Kind, Parameter
from triage.domain.templates import template

INCL = True
STRICT = False


def limit(value: float, inclusive: bool = INCL) -> Limit:
    return Limit(value=value, inclusive=inclusive)


def edited(plan: PlanVersion, **changes: object) -> PlanVersion:
    return next_draft(plan, **changes)


def zones_with(plan: PlanVersion, parameter: str, **bounds: object) -> dict[str, object]:
    zones: dict[str, object] = {p.value: z.model_dump() for p, z in plan.zones.items()}
    before = plan.zones[Parameter(parameter)].model_dump()
    zones[parameter] = {**before, **bounds}
    return zones


@pytest.mark.parametrize(
    ("side", "before", "after", "effect"),
    [
        ("low", limit(91), limit(92), "tighter"),
        ("low", limit(91), limit(90), "looser"),
        ("low", limit(91, STRICT), limit(91), "tighter"),  # "< 91" → "≤ 91" catches 91 too
        ("low", limit(91), limit(91, STRICT), "looser"),
        ("low", limit(91), limit(91), None),
        ("high", limit(101), limit(100), "tighter"),
        ("high", limit(101), limit(102), "looser"),
        ("high", limit(160, STRICT), limit(160), "tighter"),
        ("high", limit(160), limit(160, STRICT), "looser"),
        ("low", None, limit(91), "tighter"),
        ("high", limit(101), None, "looser"),
        ("low", None, None, None),
    ],
)
def test_a_bound_change_is_tighter_or_looser(
    side: str, before: Limit | None, after: Limit | None, effect: str | None
) -> None:
    """Tighter catches more values (earlier alerts), looser fewer; equal values compare by
    whether the bound itself is included."""
    assert bound_effect("low" if side == "low" else "high", before, after) == effect


def test_identical_plans_have_no_changes_and_sources_do_not_count() -> None:
    """A new version with only different citations shows no changes."""
    plan = template("copd")
    assert diff(plan, edited(plan)).changes == ()
    assert diff(plan, edited(plan, sources=("PROJECT",))).changes == ()


def test_a_moved_bound_is_described_in_both_languages() -> None:
    """SpO2 yellow ≤ 91 % → ≤ 93 %: one change, tighter, with the path and both values."""
    plan = template("copd")
    after = edited(plan, zones=zones_with(plan, "spo2", yellow_low=93))
    assert diff(plan, after).changes == (
        PlanChange(
            kind=ChangeKind.BOUND,
            path="zones.spo2.yellow_low",
            before={"value": 91.0, "inclusive": True},
            after={"value": 93.0, "inclusive": True},
            effect="tighter",
            text=Text(
                nb="SpO2, gul nedre grense: ≤ 91 % → ≤ 93 % (strengere: varsler tidligere)",
                en="SpO2, yellow low bound: ≤ 91 % → ≤ 93 % (tighter: alerts earlier)",
            ),
        ),
    )


def test_removing_a_bound_or_a_parameter_is_looser_and_counted() -> None:
    """A removed red bound and a parameter without zones are both looser; ``looser`` counts
    them for a second look before approval."""
    plan = template("copd")
    zones = zones_with(plan, "pulse", red_high=None)
    del zones["temperature"]
    result = diff(plan, edited(plan, zones=zones))
    assert [(c.kind, c.path, c.effect) for c in result.changes] == [
        (ChangeKind.BOUND, "zones.pulse.red_high", "looser"),
        (ChangeKind.ZONES_REMOVED, "zones.temperature", "looser"),
    ]
    assert result.looser == 2
    assert (
        result.changes[0].text.en
        == "Pulse, red high bound: removed (was ≥ 131/min) (looser: alerts later)"
    )
    assert result.changes[1].text.nb.startswith("Temperatur: grensene fjernet (var rød ≤ 35 °C")


def test_a_sustained_rule_change_is_listed() -> None:
    """Diabetes high glucose raised after 2 of 2 readings → 3 of 4."""
    plan = template("diabetes")
    after = edited(
        plan, zones=zones_with(plan, "glucose", yellow_after={"n": 3, "m": 4, "side": "high"})
    )
    [change] = diff(plan, after).changes
    assert change.kind is ChangeKind.SUSTAINED
    assert change.text.en == "Blood glucose: yellow raised 3 of 4 (was 2 of 2)"


def test_rules_added_removed_and_changed_are_listed_by_id() -> None:
    """A removed trend rule, a changed one (field by field) and an added one."""
    plan = template("heart_failure")
    rules = [r.model_dump(mode="json") for r in plan.rules if r.id != "weight-7-days"]
    for rule in rules:
        if rule["id"] == "weight-3-days":
            rule["rise"] = {"value": 1.5, "inclusive": False}
    rules.append({"type": "questionnaire", "id": "extra-cat", "questionnaire": "cat"})
    result = diff(plan, edited(plan, rules=rules))
    assert [(c.kind, c.path) for c in result.changes] == [
        (ChangeKind.RULE_REMOVED, "rules.weight-7-days"),
        (ChangeKind.RULE_ADDED, "rules.extra-cat"),
        (ChangeKind.RULE_CHANGED, "rules.weight-3-days.rise"),
    ]
    assert (
        result.changes[2].text.en == "Rule weight-3-days changed: rise 2.0 (strict) → 1.5 (strict)"
    )
    assert result.changes[1].text.nb == "Regel lagt til: extra-cat (questionnaire)"


def test_a_schedule_item_moved_to_other_days_and_times_is_one_change() -> None:
    """Moving the COPD measurement from Mon/Thu 12:00 to every day 10:00 is one change that
    says what it was and what it is, in both languages, with the item before and after."""
    plan = template("copd")
    item = ScheduledMeasurement(
        kinds=(Kind.SPO2, Kind.BODY_TEMPERATURE), questionnaire="copd-daily", due_by=time(10, 0)
    )
    after = edited(plan, schedule={"timezone": "Europe/Oslo", "items": [item.model_dump()]})
    [change] = diff(plan, after).changes
    assert change.text.en == (
        "Measurement changed: SpO2, temperature, questionnaire copd-daily (Mon, Thu) by 12:00 "
        "→ (every day) by 10:00"
    )
    assert change.text.nb == (
        "Måling endret: SpO2, temperatur, skjema copd-daily (man, tor) innen 12:00 "
        "→ (hver dag) innen 10:00"
    )
    assert isinstance(change.before, dict)
    assert isinstance(change.after, dict)
    assert (change.before["due_by"], change.after["due_by"]) == ("12:00:00", "10:00:00")


def test_schedule_items_added_and_removed_are_described() -> None:
    """Replacing the COPD measurement with a weight measurement is one removal and one
    addition, each in words."""
    plan = template("copd")
    item = ScheduledMeasurement(kinds=(Kind.BODY_WEIGHT,), due_by=time(10, 0))
    after = edited(plan, schedule={"timezone": "Europe/Oslo", "items": [item.model_dump()]})
    changes = diff(plan, after).changes
    assert [c.text.en for c in changes] == [
        "Measurement removed from the schedule: SpO2, temperature, questionnaire copd-daily "
        "(Mon, Thu) by 12:00",
        "Measurement added to the schedule: weight (every day) by 10:00",
    ]
    assert changes[1].text.nb == "Måling lagt til i planen: vekt (hver dag) innen 10:00"


def test_goal_settings_and_actions_are_listed() -> None:
    """A new goal, oxygen, and a new nurse instruction at yellow."""
    plan = template("copd")
    yellow = plan.actions[Colour.YELLOW]
    actions = {c.value: a.model_dump() for c, a in plan.actions.items()}
    actions["yellow"] = ZoneActions(
        patient=yellow.patient,
        nurse=Text(nb="Ring i dag.", en="Call today."),
        codes=yellow.codes,
    ).model_dump()
    after = edited(plan, goal="Gå til postkassen", on_oxygen=True, actions=actions)
    changes = diff(plan, after).changes
    assert [(c.kind, c.path) for c in changes] == [
        (ChangeKind.GOAL, "goal"),
        (ChangeKind.SETTING, "on_oxygen"),
        (ChangeKind.ACTIONS, "actions.yellow.nurse"),
    ]
    assert changes[0].text.nb == "Pasientens mål: «» → «Gå til postkassen»"
    assert changes[1].text.en == "On oxygen: no → yes"
    assert changes[1].text.nb == "Bruker oksygen: nei → ja"
    assert changes[2].text.en.startswith("What the nurse does at yellow: “Call today.”")
