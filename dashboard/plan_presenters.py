"""Pure functions for the plans page: a draft replayed against the last days' readings (the
counts side by side, the readings that change zone, in words and icons), and the measurement
schedule as the editor shows and saves it.

No Streamlit, no I/O, no clock: ``now`` is passed in (``tests/unit/test_plan_presenters.py``).
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import datetime, time
from typing import Any

from dashboard.api_client import Finding, PlanReplay, ReplayChange
from dashboard.i18n import Language, t
from dashboard.presenters import (
    PARAMETER_OF,
    colour_badge,
    format_time,
    reason_text,
    values_text,
)
from dashboard.presenters import kind_label as kind_label  # the plan pages' import

# ----------------------------------------------------------------------------- replay

_ZONES: tuple[str, ...] = ("red", "yellow", "green")


@dataclass(frozen=True)
class CountRow:
    """One zone: how many readings were in it as stored and would be under the version."""

    zone: str  # badge: icon and word
    stored: int
    under_version: int
    difference: str  # "+2", "−1", "0"


def replay_counts(replay: PlanReplay, language: Language) -> list[CountRow]:
    """Red, yellow and green (and "not classified" when there are any) side by side."""
    rows = []
    for zone in _ZONES:
        before = getattr(replay.as_stored, zone)
        after = getattr(replay.under_version, zone)
        rows.append(CountRow(colour_badge(zone, language), before, after, _signed(after - before)))
    before, after = replay.as_stored.unclassified, replay.under_version.unclassified
    if before or after:
        rows.append(CountRow(colour_badge(None, language), before, after, _signed(after - before)))
    return rows


def count_table(replay: PlanReplay, language: Language) -> list[dict[str, str | int]]:
    """:func:`replay_counts` with the column names a nurse reads."""
    now = t("replay_as_stored", language)
    draft = t("replay_under_version", language, version=replay.version)
    return [
        {
            t("zone", language): row.zone,
            now: row.stored,
            draft: row.under_version,
            t("replay_difference", language): row.difference,
        }
        for row in replay_counts(replay, language)
    ]


def _signed(n: int) -> str:
    if n > 0:
        return f"+{n}"
    if n < 0:
        return f"−{-n}"  # a real minus sign
    return "0"


def replay_summary(replay: PlanReplay, language: Language) -> str:
    """One sentence: how many of the readings change zone, how many for the worse."""
    if not replay.readings:
        return t("replay_no_readings", language, days=replay.days)
    if not replay.changed:
        return t(
            "replay_nothing_changes",
            language,
            readings=replay.readings,
            days=replay.days,
            version=replay.version,
        )
    worse = sum(c.direction == "worse" for c in replay.changes)
    better = sum(c.direction == "better" for c in replay.changes)
    return t(
        "replay_some_change",
        language,
        changed=replay.changed,
        readings=replay.readings,
        days=replay.days,
        version=replay.version,
        worse=worse,
        better=better,
    )


def replay_notes(replay: PlanReplay, language: Language) -> list[str]:
    """What the nurse should know about the limits of this preview (cut lists, old versions)."""
    notes = []
    if replay.truncated:
        notes.append(t("replay_truncated", language, readings=replay.readings))
    if replay.changes_truncated:
        notes.append(
            t("replay_changes_truncated", language, shown=len(replay.changes), total=replay.changed)
        )
    return notes


@dataclass(frozen=True)
class ChangeRow:
    """One reading that changes zone, as the nurse reads it."""

    when: str
    what: str
    before: str  # "🟢 Grønn (plan v1)"
    after: str  # "🟡 Gul (plan v3)"
    direction: str  # "⬆ mer alvorlig" / "⬇ mindre alvorlig"
    why_before: str
    why_after: str


def _reasons(findings: Iterable[Finding], language: Language) -> str:
    return "; ".join(reason_text(f, language) for f in findings) or "–"


def _version(plan_version: int | None) -> str:
    return f" (plan v{plan_version})" if plan_version is not None else ""


def change_row(change: ReplayChange, now: datetime, language: Language) -> ChangeRow:
    arrow = "⬆" if change.direction == "worse" else "⬇"
    return ChangeRow(
        when=format_time(change.measured_at, now),
        what=values_text(change.values, language) or change.kind,
        before=colour_badge(change.before, language) + _version(change.before_plan_version),
        after=colour_badge(change.after, language) + _version(change.after_plan_version),
        direction=f"{arrow} {t(f'replay_{change.direction}', language)}",
        why_before=_reasons(change.before_reasons, language),
        why_after=_reasons(change.after_reasons, language),
    )


def change_table(
    changes: Sequence[ReplayChange], now: datetime, language: Language
) -> list[dict[str, str]]:
    """The readings that change zone, newest first, as table rows with words and icons."""
    rows = [change_row(c, now, language) for c in changes]
    return [
        {
            t("time", language): r.when,
            t("value", language): r.what,
            t("replay_as_stored", language): r.before,
            t("replay_now_would_be", language): r.after,
            "": r.direction,
            t("replay_why_after", language): r.why_after,
            t("replay_why_before", language): r.why_before,
        }
        for r in rows
    ]


def changed_parameters(changes: Iterable[ReplayChange], zones: Mapping[str, Any]) -> list[str]:
    """The parameters that made the readings change zone (those of their yellow and red
    reasons, before or after; all the reading's values when no reason names one) that the
    version has zones for, in the order of its zones: the charts to draw."""
    seen: set[str] = set()
    for change in changes:
        named = {
            f.parameter
            for f in (*change.before_reasons, *change.after_reasons)
            if f.colour != "green" and f.parameter
        }
        seen |= named or {PARAMETER_OF.get(key, key) for key in change.values}
    return [p for p in zones if p in seen]


# ----------------------------------------------------------------------------- schedule

#: what a plan can schedule (the API's reading kinds), in the order the editor offers them
KIND_CODES: tuple[str, ...] = (
    "spo2",
    "blood_pressure",
    "heart_rate",
    "body_temperature",
    "body_weight",
    "glucose",
    "respiratory_rate",
    "peak_flow",
)
_DAYS: tuple[tuple[str, str], ...] = (
    ("man", "Mon"),
    ("tir", "Tue"),
    ("ons", "Wed"),
    ("tor", "Thu"),
    ("fre", "Fri"),
    ("lør", "Sat"),
    ("søn", "Sun"),
)
#: ISO weekdays, Monday first
WEEKDAYS: tuple[int, ...] = (1, 2, 3, 4, 5, 6, 7)


def day_label(day: int, language: Language) -> str:
    """ISO weekday (1 = Monday) as a short name: "man" / "Mon"."""
    nb, en = _DAYS[day - 1]
    return en if language == "en" else nb


@dataclass(frozen=True)
class ScheduleItem:
    """One scheduled measurement as the editor holds it; ``due_by`` is a wall-clock time in the
    schedule's zone. ``sources`` are kept as they were (the API ignores them in diffs)."""

    kinds: tuple[str, ...]
    due_by: time
    days: tuple[int, ...] = WEEKDAYS
    questionnaire: str | None = None
    sources: tuple[str, ...] = field(default=(), compare=False)

    @property
    def is_empty(self) -> bool:
        return not self.kinds and not self.questionnaire


def schedule_of(document: Mapping[str, Any]) -> tuple[str, list[ScheduleItem]]:
    """The plan document's schedule: its time zone and items (times parsed from "HH:MM:SS")."""
    schedule = document.get("schedule") or {}
    items = [
        ScheduleItem(
            kinds=tuple(raw.get("kinds") or ()),
            due_by=time.fromisoformat(str(raw["due_by"])),
            days=tuple(raw.get("days") or WEEKDAYS),
            questionnaire=raw.get("questionnaire") or None,
            sources=tuple(raw.get("sources") or ()),
        )
        for raw in schedule.get("items") or ()
    ]
    return str(schedule.get("timezone") or "Europe/Oslo"), items


def schedule_changes(timezone: str, items: Iterable[ScheduleItem]) -> dict[str, Any]:
    """The ``changes`` (a JSON merge patch) that make a draft with this schedule; empty items
    are left out. The items array is replaced as a whole, as merge patches do."""
    return {
        "schedule": {
            "timezone": timezone,
            "items": [
                {
                    "kinds": list(item.kinds),
                    "questionnaire": item.questionnaire,
                    "days": sorted(set(item.days)),
                    "due_by": item.due_by.strftime("%H:%M"),
                    "sources": list(item.sources),
                }
                for item in items
                if not item.is_empty
            ],
        }
    }


def schedule_text(item: ScheduleItem, language: Language) -> str:
    """ "SpO2, temperatur, skjema copd-daily · man, tor · innen 12:00"."""
    what = [kind_label(k, language, lower=True) for k in item.kinds]
    if item.questionnaire:
        what.append(f"{t('questionnaire', language)} {item.questionnaire}")
    days = (
        t("every_day", language)
        if set(item.days) == set(WEEKDAYS)
        else ", ".join(day_label(d, language) for d in sorted(item.days))
    )
    return f"{', '.join(what)} · {days} · {t('due_by', language)} {item.due_by:%H:%M}"
