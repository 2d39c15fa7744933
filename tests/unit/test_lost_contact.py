"""Lost contact with the home gateway: a technical yellow after 24 hours of silence."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from zoneinfo import ZoneInfo

import pytest

from triage.domain.alerts import (
    AlertCategory,
    OpenAlert,
    apply,
    decide,
    open_alert,
    patient_colour,
)
from triage.domain.colours import Colour
from triage.domain.findings import RuleType
from triage.domain.lost_contact import lost_contact_finding
from triage.texts.findings import reason as reason_in

OSLO = ZoneInfo("Europe/Oslo")
LAST_SEEN = datetime(2026, 11, 21, 14, 5, tzinfo=OSLO)
ENROLLED = datetime(2026, 11, 20, 9, 0, tzinfo=OSLO)
DAY = timedelta(hours=24)


@pytest.mark.parametrize(
    ("silence", "after", "colour"),
    [
        (timedelta(0), DAY, Colour.GREEN),
        (timedelta(hours=3), DAY, Colour.GREEN),
        (DAY - timedelta(seconds=1), DAY, Colour.GREEN),
        (DAY, DAY, Colour.YELLOW),
        (DAY + timedelta(seconds=1), DAY, Colour.YELLOW),
        (timedelta(hours=50), DAY, Colour.YELLOW),
        (timedelta(hours=6), timedelta(hours=6), Colour.YELLOW),
        (timedelta(hours=6) - timedelta(seconds=1), timedelta(hours=6), Colour.GREEN),
        (timedelta(hours=-1), DAY, Colour.GREEN),  # gateway clock ahead of ours
    ],
)
def test_silence_threshold(silence: timedelta, after: timedelta, colour: Colour) -> None:
    """The operator sees lost contact once the gateway has been silent for the full period."""
    finding = lost_contact_finding(LAST_SEEN, ENROLLED, LAST_SEEN + silence, after=after)
    assert finding.colour is colour
    assert finding.rule_id == "lost_contact"
    assert finding.rule_type is RuleType.LOST_CONTACT
    assert finding.at == LAST_SEEN + silence
    assert finding.bound == f"≥ {after.total_seconds() / 3600:g} h"


def test_text_shows_local_time_and_hours() -> None:
    """The message gives the last contact in Oslo time and how many hours it has been."""
    now = LAST_SEEN + timedelta(hours=50, minutes=20)
    finding = lost_contact_finding(LAST_SEEN.astimezone(UTC), ENROLLED, now)
    assert (
        reason_in(finding, "nb") == "Ingen kontakt med hjemmeenheten siden 21.11 kl. 14:05 (50 t)"
    )
    assert (
        reason_in(finding, "en") == "No contact with the home gateway since 2026-11-21 14:05 (50 h)"
    )
    assert finding.value == pytest.approx(50.33, abs=0.01)


def test_text_in_another_year_and_zone() -> None:
    """Across new year the date carries the year; another zone shows its own local time."""
    seen = datetime(2025, 12, 31, 22, 30, tzinfo=UTC)
    now = datetime(2026, 1, 2, 9, 0, tzinfo=UTC)
    oslo = lost_contact_finding(seen, ENROLLED, now)
    assert (
        reason_in(oslo, "nb") == "Ingen kontakt med hjemmeenheten siden 31.12.2025 kl. 23:30 (34 t)"
    )
    helsinki = lost_contact_finding(seen, ENROLLED, now, timezone="Europe/Helsinki")
    assert (
        reason_in(helsinki, "nb") == "Ingen kontakt med hjemmeenheten siden 01.01 kl. 00:30 (34 t)"
    )
    assert (
        reason_in(helsinki, "en")
        == "No contact with the home gateway since 2026-01-01 00:30 (34 h)"
    )


def test_back_in_contact_text() -> None:
    """A gateway heard from recently reads as in contact, in minutes when under an hour."""
    finding = lost_contact_finding(LAST_SEEN, ENROLLED, LAST_SEEN + timedelta(minutes=12))
    assert finding.colour is Colour.GREEN
    assert (
        reason_in(finding, "nb")
        == "Siste kontakt med hjemmeenheten 21.11 kl. 14:05 (for 12 min siden)"
    )
    assert (
        reason_in(finding, "en")
        == "Last contact with the home gateway at 2026-11-21 14:05 (12 min ago)"
    )


@pytest.mark.parametrize(
    ("since_enrolment", "colour"),
    [
        (DAY - timedelta(seconds=1), Colour.GREEN),
        (DAY, Colour.YELLOW),
        (timedelta(days=3), Colour.YELLOW),
    ],
)
def test_never_seen_counts_from_since(since_enrolment: timedelta, colour: Colour) -> None:
    """A gateway never heard from is reported 24 hours after enrolment."""
    finding = lost_contact_finding(None, ENROLLED, ENROLLED + since_enrolment)
    assert finding.colour is colour
    if colour is Colour.YELLOW:
        assert reason_in(finding, "nb").startswith(
            "Ingen kontakt med hjemmeenheten siden oppstart 20.11"
        )
        assert "since enrolment 2026-11-20 09:00" in reason_in(finding, "en")
    else:
        assert "ennå" in reason_in(finding, "nb")
        assert "not in contact yet" in reason_in(finding, "en")


def test_last_seen_wins_over_since() -> None:
    """Once seen, silence is measured from the last contact, not from enrolment."""
    now = ENROLLED + timedelta(days=10)
    finding = lost_contact_finding(now - timedelta(hours=1), ENROLLED, now)
    assert finding.colour is Colour.GREEN


def test_alert_is_technical_and_leaves_the_patient_green() -> None:
    """Lost contact shows as a technical alert; the patient's clinical colour stays green."""
    finding = lost_contact_finding(LAST_SEEN, ENROLLED, LAST_SEEN + timedelta(hours=30))
    (change,) = decide("p1", [], [finding])
    assert isinstance(change, OpenAlert)
    alert, _ = open_alert(change, "lc-1")
    assert alert.category is AlertCategory.TECHNICAL
    assert alert.colour is Colour.YELLOW
    assert patient_colour([alert]) is Colour.GREEN

    back = lost_contact_finding(LAST_SEEN + timedelta(hours=31), ENROLLED, LAST_SEEN + DAY * 2)
    (change_back,) = decide("p1", [alert], [back])
    assert not isinstance(change_back, OpenAlert)
    restored, _ = apply(alert, change_back)
    assert restored.back_in_range_at == back.at


@pytest.mark.parametrize(
    "kwargs",
    [
        {"last_seen": datetime(2026, 11, 21, 14, 5)},  # noqa: DTZ001
        {"since": datetime(2026, 11, 21, 14, 5)},  # noqa: DTZ001
        {"now": datetime(2026, 11, 21, 14, 5)},  # noqa: DTZ001
        {"after": timedelta(0)},
        {"timezone": "Europe/Nowhere"},
    ],
)
def test_bad_arguments_are_rejected(kwargs: dict[str, object]) -> None:
    """Naive times, a zero period or an unknown zone are errors, never guesses."""
    args: dict[str, object] = {
        "last_seen": LAST_SEEN,
        "since": ENROLLED,
        "now": LAST_SEEN + DAY,
        **kwargs,
    }
    with pytest.raises(ValueError, match=r"aware|positive|time zone"):
        lost_contact_finding(**args)  # type: ignore[arg-type]
