"""Replay (triage.domain.replay): stored readings classified again under another plan version,
with the history growing as in ingest, compared with their stored colours."""

from __future__ import annotations

from tests.unit.plans import NOW, days_ago, make_plan, reading
from triage.domain.classify import History, classify
from triage.domain.colours import Colour
from triage.domain.plan import PlanVersion
from triage.domain.readings import Reading
from triage.domain.replay import StoredReading, ZoneCounts, replay
from triage.texts.findings import reason as reason_in

OLD = make_plan({"spo2": {"red_low": 87, "yellow_low": 91}}, version=1)


def stored(
    r: Reading, plan: PlanVersion | None = OLD, history: History | None = None
) -> StoredReading:
    """``r`` as ingest stored it under ``plan`` (None: no plan then, no colour)."""
    if plan is None:
        return StoredReading(r, None, None, ())
    result = classify(r, plan, history or History(), NOW)
    return StoredReading(r, result.colour, plan.version, result.findings)


def test_a_tighter_bound_lists_only_the_readings_that_change_with_both_reasons() -> None:
    """Under yellow ≤ 93 %, 93 % turns yellow (worse); 97 % and the red 86 % are not listed."""
    draft = make_plan({"spo2": {"red_low": 87, "yellow_low": 93}}, version=2)
    readings = [
        stored(reading("spo2", days_ago(5), "a", spo2=93)),
        stored(reading("spo2", days_ago(4), "b", spo2=97)),
        stored(reading("spo2", days_ago(3), "c", spo2=86)),
    ]
    result = replay(draft, readings, now=NOW)
    assert result.as_stored == ZoneCounts(red=1, green=2)
    assert result.under_version == ZoneCounts(red=1, yellow=1, green=1)
    assert result.stored_plan_versions == (1,)
    [change] = result.changes
    assert (change.reading_id, change.before, change.after, change.direction) == (
        "a",
        Colour.GREEN,
        Colour.YELLOW,
        "worse",
    )
    assert (change.before_plan_version, change.after_plan_version) == (1, 2)
    assert [reason_in(f, "en") for f in change.before_reasons] == [
        "Oxygen saturation 93% – within the bounds (self-management plan version 1)"
    ]
    assert [reason_in(f, "en") for f in change.after_reasons] == [
        "Oxygen saturation 93% – yellow: 93% or lower (self-management plan version 2)"
    ]
    assert change.after_reasons[0].bound == "≤ 93 %"


def test_the_history_grows_with_the_replayed_colours_as_in_ingest() -> None:
    """A sustained rule (2 of the last 2) holds the first 93 % back and confirms the second:
    only the second is listed, though both were stored green."""
    draft = make_plan(
        {"spo2": {"red_low": 87, "yellow_low": 93, "yellow_after": {"n": 2, "m": 2}}}, version=2
    )
    first = reading("spo2", days_ago(3), "first", spo2=93)
    second = reading("spo2", days_ago(2), "second", spo2=93)
    result = replay(draft, [stored(second), stored(first)], now=NOW)  # any order in
    assert [c.reading_id for c in result.changes] == ["second"]
    assert "2 of the last 2 readings" in reason_in(result.changes[0].after_reasons[0], "en")


def test_history_before_the_window_counts_for_the_first_replayed_readings() -> None:
    """A 93 % stored before the window is the first of the two the sustained rule needs."""
    draft = make_plan(
        {"spo2": {"red_low": 87, "yellow_low": 93, "yellow_after": {"n": 2, "m": 2}}}, version=2
    )
    earlier = reading("spo2", days_ago(40), "earlier", spo2=93)
    inside = reading("spo2", days_ago(2), "inside", spo2=93)
    alone = replay(draft, [stored(inside)], now=NOW)
    with_history = replay(draft, [stored(inside)], before=History(readings=(earlier,)), now=NOW)
    assert alone.changes == ()
    assert [c.after for c in with_history.changes] == [Colour.YELLOW]


def test_a_reading_stored_without_a_plan_counts_as_unclassified_and_is_listed() -> None:
    """Before the patient had a plan a reading got no colour; under the draft it has one."""
    draft = make_plan({"spo2": {"red_low": 87, "yellow_low": 93}}, version=2)
    result = replay(draft, [stored(reading("spo2", days_ago(1), "x", spo2=90), plan=None)], now=NOW)
    assert result.as_stored == ZoneCounts(unclassified=1)
    assert result.under_version == ZoneCounts(yellow=1)
    [change] = result.changes
    assert (change.before, change.before_plan_version, change.after) == (None, None, Colour.YELLOW)
    assert change.before_reasons == ()


def test_a_reading_no_rule_of_the_version_looks_at_stays_unclassified() -> None:
    """A weight reading under a plan with SpO2 zones only has no colour, as ingest stores it."""
    draft = make_plan({"spo2": {"red_low": 87, "yellow_low": 93}}, version=2)
    weight = StoredReading(reading("body_weight", days_ago(1), "w", weight=80.0), None, 1, ())
    result = replay(draft, [weight], now=NOW)
    assert result.under_version == ZoneCounts(unclassified=1)
    assert result.changes == ()
