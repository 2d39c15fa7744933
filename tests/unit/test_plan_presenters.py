"""The plans page's presenters (dashboard.plan_presenters): a draft's replay as a nurse reads it
(counts side by side, changed readings in words and icons, Oslo times) and the schedule editor's
round trip to the API's merge patch."""

from __future__ import annotations

from datetime import UTC, datetime, time, timedelta
from typing import Any

from dashboard.api_client import PlanReplay, PlanVersionSummary
from dashboard.plan_presenters import (
    Bound,
    ScheduleItem,
    bound_changes,
    bound_label,
    bound_of,
    bound_sentence,
    change_row,
    change_table,
    changed_parameters,
    count_table,
    diff_default,
    diff_lines,
    operator_label,
    replay_counts,
    replay_notes,
    replay_summary,
    schedule_changes,
    schedule_of,
    schedule_text,
    version_label,
    zones_text,
)

NOW = datetime(2026, 11, 23, 8, 30, tzinfo=UTC)  # 09:30 in Oslo


def finding(colour: str, nb: str, en: str, version: int) -> dict[str, Any]:
    return {
        "rule_id": "threshold:spo2",
        "rule_type": "threshold",
        "colour": colour,
        "at": "2026-11-18T08:30:00Z",
        "text": {"nb": nb, "en": en},
        "parameter": "spo2",
        "value": 93,
        "bound": "≤ 93 %" if colour != "green" else None,
        "plan_version": version,
    }


def change(direction: str = "worse", **extra: Any) -> dict[str, Any]:
    return {
        "reading_id": "spo2-93",
        "kind": "spo2",
        "measured_at": "2026-11-18T08:30:00Z",
        "values": {"spo2": 93, "pulse": 72},
        "before": "green",
        "before_plan_version": 1,
        "before_reasons": [finding("green", "SpO2 93 % — grønn (plan v1)", "SpO2 93 % — green", 1)],
        "after": "yellow",
        "after_plan_version": 2,
        "after_reasons": [
            finding("yellow", "SpO2 93 % — gul: ≤ 93 % (plan v2)", "SpO2 93 % — yellow: ≤ 93 %", 2)
        ],
        "direction": direction,
        **extra,
    }


def replay(**extra: Any) -> PlanReplay:
    data: dict[str, Any] = {
        "plan_id": "plan-1",
        "version": 2,
        "status": "draft",
        "patient_id": "p-1",
        "days": 30,
        "since": (NOW - timedelta(days=30)).isoformat(),
        "until": NOW.isoformat(),
        "readings": 3,
        "as_stored": {"red": 1, "yellow": 0, "green": 2, "unclassified": 0},
        "under_version": {"red": 1, "yellow": 1, "green": 1, "unclassified": 0},
        "stored_plan_versions": [1],
        "changed": 1,
        "changes": [change()],
        "changes_truncated": False,
        "truncated": False,
    }
    return PlanReplay.model_validate(data | extra)


def test_the_counts_stand_side_by_side_with_icon_word_and_signed_difference() -> None:
    rows = replay_counts(replay(), "nb")
    assert [(r.zone, r.stored, r.under_version, r.difference) for r in rows] == [
        ("🔴 Rød", 1, 1, "0"),
        ("🟡 Gul", 0, 1, "+1"),
        ("🟢 Grønn", 2, 1, "−1"),
    ]
    table = count_table(replay(), "en")
    assert table[1] == {
        "Zone": "🟡 Yellow",
        "As classified": 0,
        "Under draft v2": 1,
        "Change": "+1",
    }


def test_unclassified_readings_get_their_own_row_only_when_there_are_any() -> None:
    counts = {"red": 0, "yellow": 1, "green": 0, "unclassified": 0}
    stored = {"red": 0, "yellow": 0, "green": 0, "unclassified": 1}
    rows = replay_counts(replay(under_version=counts, as_stored=stored), "nb")
    assert (rows[-1].zone, rows[-1].stored, rows[-1].under_version, rows[-1].difference) == (
        "⚪ Ikke vurdert",
        1,
        0,
        "−1",
    )


def test_the_summary_says_how_many_change_and_which_way() -> None:
    two = replay(changed=2, changes=[change(), change("better", reading_id="x")])
    assert replay_summary(two, "nb") == (
        "2 av 3 målinger fra de siste 30 dagene ville fått en annen sone med v2: "
        "1 mer alvorlig, 1 mindre alvorlig."
    )
    assert replay_summary(replay(changed=0, changes=[]), "en") == (
        "None of the 3 readings of the last 30 days would have had another zone under v2."
    )
    assert replay_summary(replay(readings=0, changed=0, changes=[]), "nb") == (
        "Ingen målinger de siste 30 dagene å forhåndsvise mot."
    )
    # one reading: not "Ingen av de 1 målingene"
    assert replay_summary(replay(readings=1, changed=0, changes=[]), "nb") == (
        "Den ene målingen fra de siste 30 dagene ville fått samme sone med v2."
    )


def test_a_changed_reading_reads_in_words_and_icons_with_the_plan_versions() -> None:
    row = change_row(replay().changes[0], NOW, "nb")
    assert row.when == "18.11 09:30"
    assert row.what == "Oksygenmetning 93\u00a0%, Puls 72/min"
    assert (row.before, row.after) == ("🟢 Grønn (plan v1)", "🟡 Gul (plan v2)")
    assert row.direction == "⬆ mer alvorlig"
    assert row.why_after == "SpO2 93 % — gul: ≤ 93 % (plan v2)"
    assert row.why_before == "SpO2 93 % — grønn (plan v1)"
    calmer = change_row(replay(changes=[change("better")]).changes[0], NOW, "en")
    assert calmer.direction == "⬇ less urgent"
    [shown] = change_table(replay().changes, NOW, "en")
    assert shown["Under the draft"] == "🟡 Yellow (plan v2)"
    assert shown["Why, under the draft"] == "SpO2 93 % — yellow: ≤ 93 %"


def test_notes_say_when_the_preview_is_cut() -> None:
    assert replay_notes(replay(), "nb") == []
    cut = replay(truncated=True, readings=2000, changed=250, changes_truncated=True)
    assert replay_notes(cut, "en") == [
        "Only the newest 2000 readings were classified (too many to take all).",
        "Showing the newest 1 of 250 readings that change zone.",
    ]


def test_the_charts_are_for_the_parameters_of_changed_readings_the_draft_has_zones_for() -> None:
    """SpO2 made the reading yellow: its chart is drawn, not the pulse's (green both times);
    a change no reason names a parameter for charts every value of the reading."""
    zones = {"spo2": {"yellow_low": 93}, "temperature": {"yellow_high": 38}, "pulse": {}}
    assert changed_parameters(replay().changes, zones) == ["spo2"]
    unnamed = change(before_reasons=[], after_reasons=[])
    assert changed_parameters(replay(changes=[unnamed]).changes, zones) == ["spo2", "pulse"]


DOCUMENT = {
    "schedule": {
        "timezone": "Europe/Oslo",
        "items": [
            {
                "kinds": ["spo2", "body_temperature"],
                "questionnaire": "copd-daily",
                "days": [1, 4],
                "due_by": "12:00:00",
                "sources": ["VV-KOLS"],
            }
        ],
    }
}


def test_the_schedule_reads_in_words_and_saves_as_a_merge_patch() -> None:
    zone, items = schedule_of(DOCUMENT)
    assert zone == "Europe/Oslo"
    [item] = items
    assert item == ScheduleItem(
        kinds=("spo2", "body_temperature"),
        due_by=time(12, 0),
        days=(1, 4),
        questionnaire="copd-daily",
    )
    assert (
        schedule_text(item, "nb")
        == "oksygenmetning, temperatur, daglig KOLS-sjekk · man, tor · innen 12:00"
    )
    assert (
        schedule_text(item, "en")
        == "oxygen saturation, temperature, daily COPD check · Mon, Thu · by 12:00"
    )
    moved = ScheduleItem(("spo2",), time(9, 30), (1, 2, 3, 4, 5, 6, 7))
    assert schedule_text(moved, "en") == "oxygen saturation · every day · by 09:30"
    patch = schedule_changes(zone, [item, moved, ScheduleItem((), time(10, 0))])
    assert patch == {
        "schedule": {
            "timezone": "Europe/Oslo",
            "items": [
                {
                    "kinds": ["spo2", "body_temperature"],
                    "questionnaire": "copd-daily",
                    "days": [1, 4],
                    "due_by": "12:00",
                    "sources": ["VV-KOLS"],
                },
                {
                    "kinds": ["spo2"],
                    "questionnaire": None,
                    "days": [1, 2, 3, 4, 5, 6, 7],
                    "due_by": "09:30",
                    "sources": [],
                },
            ],
        }
    }


# ----------------------------------------------------------------------------- zone bounds

GLUCOSE = {
    "red_low": {"value": 3.0, "inclusive": False},
    "yellow_low": 4,
    "yellow_high": {"value": 15.0, "inclusive": True},
}


def test_a_bound_is_read_as_the_plan_holds_it_a_bare_number_being_inclusive() -> None:
    assert bound_of({"value": 3.0, "inclusive": False}) == Bound(3.0, inclusive=False)
    assert bound_of(92) == Bound(92.0, inclusive=True)
    assert bound_of(None) is None


def test_changing_only_the_number_keeps_the_comparison_the_nurse_did_not_touch() -> None:
    """The reported bug: "< 3" became "≤ 4" when only the number was changed. The merge patch
    now carries the bound's comparison as it was, and leaves untouched bounds out."""
    edited = {
        "glucose": {
            "red_low": Bound(3.5, inclusive=bound_of(GLUCOSE["red_low"]).inclusive),  # type: ignore[union-attr]
            "yellow_low": Bound(4.0),
            "yellow_high": Bound(15.0),
            "red_high": None,
        }
    }
    assert bound_changes({"glucose": GLUCOSE}, edited) == {
        "glucose": {"red_low": {"value": 3.5, "inclusive": False}}
    }


def test_a_changed_comparison_and_an_emptied_bound_are_saved() -> None:
    edited = {
        "glucose": {
            "red_low": Bound(3.0, inclusive=True),
            "yellow_low": None,
            "yellow_high": Bound(15.0),
            "red_high": Bound(20.0, inclusive=False),
        }
    }
    assert bound_changes({"glucose": GLUCOSE}, edited) == {
        "glucose": {
            "red_low": {"value": 3.0, "inclusive": True},
            "yellow_low": None,
            "red_high": {"value": 20.0, "inclusive": False},
        }
    }


def test_bounds_are_labelled_and_read_as_the_patients_text_with_a_decimal_comma() -> None:
    assert [bound_label(n, "nb") for n in ("red_low", "yellow_low", "yellow_high", "red_high")] == [
        "Rød under",
        "Gul under",
        "Gul over",
        "Rød over",
    ]
    assert bound_label("red_high", "en") == "Red above"
    red_low = bound_of(GLUCOSE["red_low"])
    assert bound_sentence("glucose", "red_low", red_low, "nb") == "Rød når under 3,0\u00a0mmol/L"
    assert bound_sentence("glucose", "red_low", red_low, "en") == "Red below 3.0\u00a0mmol/L"
    assert bound_sentence("spo2", "yellow_low", Bound(92), "nb") == "Gul når 92\u00a0% eller lavere"
    assert bound_sentence("pulse", "red_high", Bound(130, False), "nb") == "Rød når over 130/min"
    assert bound_sentence("spo2", "red_high", None, "nb") == "Ingen grense"
    assert operator_label("red_low", False, "nb") == "< under"
    assert operator_label("yellow_high", True, "nb") == "≥ lik eller over"


def test_the_proposal_shows_bounds_with_decimal_commas() -> None:
    assert zones_text("glucose", GLUCOSE, "nb") == (
        "< 3,0\u00a0mmol/L",
        "≤ 4,0\u00a0mmol/L / ≥ 15,0\u00a0mmol/L",
    )
    assert zones_text("spo2", {"yellow_low": 92}, "nb") == ("–", "≤ 92\u00a0%")


def test_a_moved_bound_in_the_diff_reads_in_the_editors_words_with_a_decimal_comma() -> None:
    diff = {
        "changes": [
            {
                "kind": "bound",
                "path": "zones.glucose.red_low",
                "before": {"value": 3.0, "inclusive": False},
                "after": {"value": 3.5, "inclusive": False},
                "effect": "tighter",
                "text": {
                    "nb": "Blodsukker, rød nedre grense: < 3 mmol/L → < 3.5 mmol/L",
                    "en": "x",
                },
            },
            {"kind": "goal", "path": "goal", "text": {"nb": "Mål endret", "en": "Goal changed"}},
        ]
    }
    assert diff_lines(diff, "nb") == [
        "Blodsukker, rød under: < 3,0\u00a0mmol/L → < 3,5\u00a0mmol/L "
        "(strengere: varsler tidligere)",
        "Mål endret",
    ]
    assert diff_lines(diff, "en")[1] == "Goal changed"


def test_a_schedule_change_in_the_diff_names_the_questionnaire_by_its_title() -> None:
    """The API's own text says "skjema copd-daily"; the editor shows the title."""
    was = {"kinds": ["spo2"], "questionnaire": "copd-daily", "days": [1, 4], "due_by": "12:00:00"}
    now = {**was, "due_by": "09:30:00"}
    text = {"nb": "Måling endret: SpO2, skjema copd-daily …", "en": "…"}
    diff = {
        "changes": [
            {
                "kind": "schedule",
                "path": "schedule.items",
                "before": was,
                "after": now,
                "text": text,
            },
            {"kind": "schedule", "path": "schedule.items", "before": was, "text": text},
            {"kind": "schedule", "path": "schedule.items", "after": now, "text": text},
        ]
    }
    assert diff_lines(diff, "nb") == [
        "Måling endret: oksygenmetning, daglig KOLS-sjekk · man, tor · innen 12:00 → "
        "man, tor · innen 09:30",
        "Måling tatt ut av planen: oksygenmetning, daglig KOLS-sjekk · man, tor · innen 12:00",
        "Måling lagt til i planen: oksygenmetning, daglig KOLS-sjekk · man, tor · innen 09:30",
    ]


def _summary(version: int, status: str) -> PlanVersionSummary:
    return PlanVersionSummary.model_validate(
        {"plan_id": "plan-1", "version": version, "status": status, "created_at": NOW}
    )


def test_the_differences_start_from_the_version_in_use_to_the_newest() -> None:
    """After v3 is saved the differences show v1 (in use) → v3, not the v1 → v2 of before."""
    versions = [_summary(3, "draft"), _summary(2, "draft"), _summary(1, "approved")]
    assert diff_default(versions) == (1, 3)
    assert diff_default([_summary(2, "draft"), _summary(1, "retired")]) == (1, 2)
    assert diff_default([_summary(3, "approved"), _summary(2, "retired")]) == (2, 3)
    assert diff_default([_summary(1, "draft")]) is None
    assert version_label(versions[0], "nb") == "v3 (utkast)"
