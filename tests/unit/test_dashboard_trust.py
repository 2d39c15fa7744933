"""Data-quality flags as a nurse reads them: an icon and words on the timeline row and in
the chart, in bokmål and English (pure presenters)."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest

from dashboard.api_client import Reading, TimelineEntry
from dashboard.i18n import Language
from dashboard.presenters import series_by_parameter, timeline_rows
from dashboard.trust import trust_icons, trust_notes, trust_text

NOW = datetime(2026, 11, 23, 8, 30, tzinfo=UTC)


def _reading_entry(flags: list[str], minutes_ago: int = 10) -> TimelineEntry:
    return TimelineEntry(
        type="reading",
        at=NOW - timedelta(minutes=minutes_ago),
        kind="glucose",
        values={"glucose": 2.6},
        colour="red",
        flags=flags,
    )


@pytest.mark.parametrize(
    ("flag", "language", "words"),
    [
        ("timed_by_gateway", "nb", "🕓 Tidspunktet er satt av gatewayen"),
        ("timed_by_gateway", "en", "🕓 The time was set by the gateway"),
        ("device_clock_ahead", "nb", "🕓 Måleren hadde feil klokke"),
        ("gateway_clock_ahead", "nb", "🕓 Gatewayens klokke gikk foran"),
        ("gateway_clock_behind", "nb", "🕓 Gatewayens klokke gikk etter"),
        ("gateway_clock_behind", "en", "🕓 The gateway's clock was behind"),
        ("backfill", "nb", "📥 Sendt inn etter et brudd"),
    ],
)
def test_a_flagged_reading_has_the_icon_and_words_on_its_timeline_row(
    flag: str, language: Language, words: str
) -> None:
    """Each flag that makes a reading's time uncertain shows on its timeline row as an icon
    and a sentence in the nurse's language, next to (not inside) the reason."""
    [row] = timeline_rows([_reading_entry([flag])], NOW, language)
    assert row.trust.startswith(words)
    assert flag not in row.trust  # no internal id on the page


def test_a_reading_without_flags_has_no_note_and_typed_stays_in_the_detail() -> None:
    """An ordinary reading gets no note; "typed in by the patient" keeps its place in the
    detail column and is not repeated; no_plan is not a note (the badge already says
    "Ikke vurdert")."""
    plain, typed = timeline_rows(
        [_reading_entry([], 20), _reading_entry(["patient_typed", "no_plan"], 30)], NOW, "nb"
    )
    assert plain.trust == ""
    assert typed.trust == ""
    assert typed.detail.startswith("⌨ Tastet inn av pasienten")


def test_several_flags_each_once_in_a_fixed_order() -> None:
    """Icons are shown once each ("🕓📥"), the words of every flag in a fixed order."""
    notes = trust_notes(["backfill", "gateway_clock_behind", "timed_by_gateway"], "nb")
    assert trust_icons(notes) == "🕓📥"
    text = trust_text(notes)
    assert text.index("satt av gatewayen") < text.index("gikk etter") < text.index("brudd")


def test_the_chart_points_keep_the_readings_flags() -> None:
    """The chart's points carry their reading's flags, so the chart can mark them."""
    reading = Reading(
        id="r1",
        kind="glucose",
        values={"glucose": 2.6},
        measured_at=NOW,
        colour="red",
        flags=["timed_by_gateway"],
    )
    [point] = series_by_parameter([reading])["glucose"]
    assert point.flags == ("timed_by_gateway",)
