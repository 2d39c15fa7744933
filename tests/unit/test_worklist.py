"""The nurse's worklist: who to look at first."""

from __future__ import annotations

import random
from datetime import UTC, datetime, timedelta

import pytest
from hypothesis import given
from hypothesis import strategies as st

from triage.domain.alerts import Alert, AlertCategory, OpenAlert, acknowledge, open_alert, resolve
from triage.domain.colours import Colour, Text
from triage.domain.findings import Finding, RuleType
from triage.domain.worklist import WorklistEntry, entry_for, tier, worklist_order

T0 = datetime(2026, 11, 18, 8, 0, tzinfo=UTC)


def make_alert(
    patient_id: str,
    colour: Colour,
    *,
    minutes: int = 0,
    rule_type: RuleType = RuleType.THRESHOLD,
    rule_id: str | None = None,
    acknowledged: bool = False,
    resolved: bool = False,
    alert_id: str | None = None,
) -> Alert:
    at = T0 + timedelta(minutes=minutes)
    finding = Finding(
        rule_id=rule_id or f"{rule_type.value}:{colour.value}:{minutes}",
        rule_type=rule_type,
        colour=colour,
        at=at,
        text=Text(nb="funn", en="finding"),
    )
    made, _ = open_alert(
        OpenAlert(patient_id=patient_id, finding=finding),
        alert_id or f"{patient_id}-{finding.rule_id}",
    )
    if acknowledged or resolved:
        made, _ = acknowledge(made, by="nurse", at=at + timedelta(minutes=1))
    if resolved:
        made, _ = resolve(made, by="nurse", at=at + timedelta(minutes=2))
    return made


def lost(patient_id: str, minutes: int = 0) -> Alert:
    return make_alert(
        patient_id,
        Colour.YELLOW,
        minutes=minutes,
        rule_type=RuleType.LOST_CONTACT,
        rule_id="lost_contact",
    )


def order(alerts: list[Alert]) -> list[str]:
    patients = sorted({a.patient_id for a in alerts})
    return [e.patient_id for e in worklist_order(entry_for(p, alerts) for p in patients)]


# ----------------------------------------------------------------------------- entries


@pytest.mark.parametrize(
    ("alerts", "expected"),
    [
        ([], WorklistEntry(patient_id="p", colour=Colour.GREEN)),
        (
            [make_alert("p", Colour.YELLOW, minutes=5), make_alert("p", Colour.RED, minutes=9)],
            WorklistEntry(
                patient_id="p",
                colour=Colour.RED,
                oldest_unacknowledged_at=T0 + timedelta(minutes=9),
                open_alerts=2,
            ),
        ),
        (
            [
                make_alert("p", Colour.RED, minutes=3, acknowledged=True),
                make_alert("p", Colour.RED, minutes=7),
                make_alert("p", Colour.RED, minutes=8),
            ],
            WorklistEntry(
                patient_id="p",
                colour=Colour.RED,
                oldest_unacknowledged_at=T0 + timedelta(minutes=7),
                open_alerts=3,
            ),
        ),
        (
            [
                make_alert("p", Colour.RED, minutes=3, acknowledged=True),
                make_alert("p", Colour.YELLOW, minutes=1),
            ],
            WorklistEntry(patient_id="p", colour=Colour.RED, open_alerts=2),
        ),
        (
            [make_alert("p", Colour.RED, resolved=True)],
            WorklistEntry(patient_id="p", colour=Colour.GREEN),
        ),
        (
            [lost("p", minutes=4)],
            WorklistEntry(
                patient_id="p",
                colour=Colour.GREEN,
                open_alerts=1,
                lost_contact=True,
                lost_contact_since=T0 + timedelta(minutes=4),
            ),
        ),
        (
            [make_alert("p", Colour.YELLOW, rule_type=RuleType.MISSING, rule_id="missing")],
            WorklistEntry(
                patient_id="p",
                colour=Colour.YELLOW,
                oldest_unacknowledged_at=T0,
                open_alerts=1,
                missing_data=True,
            ),
        ),
        (
            [make_alert("other", Colour.RED), lost("other")],
            WorklistEntry(patient_id="p", colour=Colour.GREEN),
        ),
    ],
    ids=[
        "no-alerts",
        "red-and-yellow",
        "oldest-unacknowledged-red",
        "acknowledged-red-unacknowledged-yellow",
        "resolved",
        "lost-contact",
        "missing-data",
        "other-patient",
    ],
)
def test_entry_for(alerts: list[Alert], expected: WorklistEntry) -> None:
    """A worklist line shows the colour, how long the oldest alert has waited, and flags."""
    assert entry_for("p", alerts) == expected


def test_lost_contact_back_in_range_is_no_longer_lost() -> None:
    """Once the gateway is heard from again the flag goes, though the alert awaits resolution."""
    back = lost("p").model_copy(update={"back_in_range_at": T0 + timedelta(hours=1)})
    entry = entry_for("p", [back])
    assert not entry.lost_contact
    assert entry.lost_contact_since is None
    assert entry.open_alerts == 1


def test_a_notification_alert_is_technical_but_not_lost_contact() -> None:
    """ "Nobody received the red" is a technical alert (the patient's colour stays the red's),
    counted on the worklist, but it is not "lost contact"."""
    nobody = make_alert(
        "p", Colour.RED, rule_type=RuleType.NOTIFICATION, rule_id="notification_no_receiver"
    )
    assert nobody.category is AlertCategory.TECHNICAL
    entry = entry_for("p", [nobody, make_alert("p", Colour.YELLOW)])
    assert (entry.colour, entry.open_alerts, entry.lost_contact) == (Colour.YELLOW, 2, False)


# ----------------------------------------------------------------------------- order


def test_tiers_red_yellow_lost_contact_green() -> None:
    """Reds come first, then yellows, then patients we only lost contact with, then greens."""
    alerts = [
        make_alert("a-yellow", Colour.YELLOW),
        lost("b-lost", minutes=-600),
        make_alert("c-red", Colour.RED, minutes=100),
        make_alert("d-green", Colour.RED, resolved=True),
        make_alert("e-missing", Colour.YELLOW, rule_type=RuleType.MISSING, rule_id="missing"),
    ]
    assert order(alerts) == ["c-red", "a-yellow", "e-missing", "b-lost", "d-green"]


@pytest.mark.parametrize(
    ("alerts", "expected"),
    [
        (
            [
                make_alert("p1", Colour.RED, minutes=30),
                make_alert("p2", Colour.RED, minutes=10),
                make_alert("p3", Colour.RED, minutes=20),
            ],
            ["p2", "p3", "p1"],
        ),
        (
            [
                make_alert("p1", Colour.YELLOW, minutes=30),
                make_alert("p2", Colour.YELLOW, minutes=10),
                make_alert("p3", Colour.YELLOW, minutes=10),
            ],
            ["p2", "p3", "p1"],
        ),
        (
            [
                make_alert("p1", Colour.RED, minutes=1, acknowledged=True),
                make_alert("p2", Colour.RED, minutes=50),
                make_alert("p3", Colour.RED, minutes=0, acknowledged=True),
            ],
            ["p2", "p1", "p3"],
        ),
        (
            [
                make_alert("p1", Colour.YELLOW, minutes=1, acknowledged=True),
                make_alert("p2", Colour.YELLOW, minutes=90),
                make_alert("p3", Colour.RED, minutes=200, acknowledged=True),
            ],
            ["p3", "p2", "p1"],
        ),
        (
            [lost("p1", minutes=0), lost("p2", minutes=-60), make_alert("p3", Colour.YELLOW)],
            ["p3", "p2", "p1"],
        ),
    ],
    ids=[
        "oldest-red-first",
        "tie-by-patient-id",
        "acknowledged-reds-after-unacknowledged",
        "acknowledged-red-still-above-yellow",
        "longest-silence-first",
    ],
)
def test_order_within_tier(alerts: list[Alert], expected: list[str]) -> None:
    """Within a colour, the alert that has waited longest unacknowledged is at the top."""
    assert order(alerts) == expected


def test_lost_contact_never_above_red() -> None:
    """A long-silent gateway never lifts a patient above a red; a silent red still sorts as red."""
    alerts = [
        lost("a-lost-long", minutes=-10_000),
        make_alert("b-red", Colour.RED, minutes=500, acknowledged=True),
        make_alert("c-red-lost", Colour.RED, minutes=400),
        lost("c-red-lost", minutes=-20_000),
        make_alert("d-yellow", Colour.YELLOW, minutes=600, acknowledged=True),
    ]
    assert order(alerts) == ["c-red-lost", "b-red", "d-yellow", "a-lost-long"]
    entry = entry_for("c-red-lost", alerts)
    assert entry.colour is Colour.RED
    assert entry.lost_contact
    assert tier(entry) == 0


# ----------------------------------------------------------------------------- properties

_times = st.datetimes(
    min_value=datetime(2026, 1, 1),  # noqa: DTZ001 (hypothesis bounds are naive)
    max_value=datetime(2027, 1, 1),  # noqa: DTZ001
    timezones=st.just(UTC),
)

entries = st.builds(
    WorklistEntry,
    patient_id=st.text(alphabet="abcdef", min_size=1, max_size=3),
    colour=st.sampled_from(Colour),
    oldest_unacknowledged_at=st.none() | _times,
    open_alerts=st.integers(min_value=0, max_value=5),
    lost_contact=st.booleans(),
    lost_contact_since=st.none() | _times,
    missing_data=st.booleans(),
)


@given(st.lists(entries, max_size=25), st.randoms(use_true_random=False))
def test_every_red_precedes_every_non_red_and_order_is_deterministic(
    items: list[WorklistEntry], rnd: random.Random
) -> None:
    """Whatever the data, no non-red patient is ever listed above a red, and the list is stable."""
    ordered = worklist_order(items)
    assert sorted(map(repr, ordered)) == sorted(map(repr, items))
    colours = [e.colour for e in ordered]
    if Colour.RED in colours:
        last_red = max(i for i, c in enumerate(colours) if c is Colour.RED)
        assert all(c is Colour.RED for c in colours[: last_red + 1])
    tiers = [tier(e) for e in ordered]
    assert tiers == sorted(tiers)
    shuffled = list(items)
    rnd.shuffle(shuffled)
    assert worklist_order(shuffled) == ordered


@given(st.lists(entries, max_size=25))
def test_lost_contact_only_between_yellow_and_green(items: list[WorklistEntry]) -> None:
    """Patients with only lost contact come after every yellow and before every green."""
    ordered = worklist_order(items)
    for i, entry in enumerate(ordered):
        if entry.colour is Colour.GREEN and entry.lost_contact:
            assert all(e.colour is not Colour.YELLOW for e in ordered[i + 1 :])
            assert all(e.lost_contact or e.colour is not Colour.GREEN for e in ordered[:i])
