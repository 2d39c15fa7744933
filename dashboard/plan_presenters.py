"""Pure functions for the plans page: a draft replayed against the last days' readings (the
counts side by side, the readings that change zone, in words and icons), the measurement
schedule as the editor shows and saves it, and the zone bounds as the editor shows and saves
them (each with its comparison kept, and in the words of the patient's text).

No Streamlit, no I/O, no clock: ``now`` is passed in (``tests/unit/test_plan_presenters.py``).
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import datetime, time
from typing import Any

from dashboard.api_client import Finding, PlanReplay, PlanVersionSummary, ReplayChange
from dashboard.i18n import Language, t
from dashboard.numbers import format_quantity
from dashboard.presenters import (
    PARAMETER_OF,
    colour_badge,
    format_time,
    parameter_name,
    parameter_unit,
    reason_text,
    values_text,
)
from dashboard.presenters import QUESTIONNAIRES as QUESTIONNAIRES  # the plan pages' import
from dashboard.presenters import kind_label as kind_label
from dashboard.presenters import questionnaire_label as questionnaire_label

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
            "replay_nothing_changes_one" if replay.readings == 1 else "replay_nothing_changes",
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


def schedule_item_of(raw: Mapping[str, Any]) -> ScheduleItem:
    """One scheduled measurement as the plan document (or a diff's before/after) holds it."""
    _, [item] = schedule_of({"schedule": {"items": [raw]}})
    return item


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
    """ "oksygenmetning, temperatur, daglig KOLS-sjekk · man, tor · innen 12:00"."""
    what = [kind_label(k, language, lower=True) for k in item.kinds]
    if item.questionnaire:
        title = questionnaire_label(item.questionnaire, language)
        what.append(title[:1].lower() + title[1:])
    return f"{', '.join(what)} · {_when_text(item, language)}"


def _when_text(item: ScheduleItem, language: Language) -> str:
    """ "man, tor · innen 12:00"."""
    days = (
        t("every_day", language)
        if set(item.days) == set(WEEKDAYS)
        else ", ".join(day_label(d, language) for d in sorted(item.days))
    )
    return f"{days} · {t('due_by', language)} {item.due_by:%H:%M}"


def schedule_change_text(
    before: Mapping[str, Any] | None, after: Mapping[str, Any] | None, language: Language
) -> str:
    """A diff's change of one scheduled measurement in the editor's words (questionnaires by
    title): "Måling endret: SpO2 · hver dag · innen 12:00 → man, tor · innen 09:30"."""
    if before and after:
        was, now = schedule_item_of(before), schedule_item_of(after)
        return (
            f"{t('diff_schedule_moved', language)}: {schedule_text(was, language)} → "
            f"{_when_text(now, language)}"
        )
    key, raw = ("diff_schedule_removed", before) if before else ("diff_schedule_added", after)
    return f"{t(key, language)}: {schedule_text(schedule_item_of(raw or {}), language)}"


# ----------------------------------------------------------------------------- zone bounds

#: the four bounds of a parameter, in the order the editor shows them
BOUND_NAMES: tuple[str, ...] = ("red_low", "yellow_low", "yellow_high", "red_high")
#: decimals a bound of the parameter is written with ("3,0 mmol/L", "38,0 °C", "92 %")
_DECIMALS: dict[str, int] = {"glucose": 1, "temperature": 1, "weight": 1}


@dataclass(frozen=True)
class Bound:
    """One bound as the plan holds it (``triage.domain.plan.Limit``): a value, and whether the
    value itself belongs to the worse zone (``inclusive``: "≤ 92"; else "< 3")."""

    value: float
    inclusive: bool = True

    def as_json(self) -> dict[str, float | bool]:
        """As the API's merge patch sends it: always with the comparison, so that saving a
        new number never turns "< 3" into "≤ 3"."""
        return {"value": self.value, "inclusive": self.inclusive}


def bound_of(raw: Any) -> Bound | None:
    """A bound from the plan document: a bare number (inclusive), ``{"value", "inclusive"}``
    or absent (None)."""
    if raw is None:
        return None
    if isinstance(raw, Mapping):
        return Bound(float(raw["value"]), bool(raw.get("inclusive", True)))
    return Bound(float(raw))


def is_low(name: str) -> bool:
    return name.endswith("_low")


def bound_label(name: str, language: Language) -> str:
    """The field's label: "Rød under", "Gul over" / "Red below", "Yellow above"."""
    return t(f"bound_{name}", language)


def operator_label(name: str, inclusive: bool, language: Language) -> str:
    """The comparison as the nurse picks it: "≤ lik eller under" / "< under" (low side)."""
    side = "low" if is_low(name) else "high"
    return t(f"operator_{side}_{'inclusive' if inclusive else 'strict'}", language)


def bound_quantity(parameter: str, value: float, language: Language) -> str:
    """The bound's value with its unit, Norwegian style: "3,0 mmol/L", "92 %"."""
    decimals = _DECIMALS.get(parameter)
    return format_quantity(value, parameter_unit(parameter), language, decimals)


def bound_sentence(parameter: str, name: str, bound: Bound | None, language: Language) -> str:
    """The bound as the patient's text reads it: "Rød når under 3,0 mmol/L", "Gul når 92 %
    eller lavere"; "Ingen grense" when the plan has none."""
    if bound is None:
        return t("bound_none", language)
    colour = "red" if name.startswith("red") else "yellow"
    side = "low" if is_low(name) else "high"
    comparison = "inclusive" if bound.inclusive else "strict"
    return t(
        f"bound_sentence_{side}_{comparison}",
        language,
        zone=t(f"bound_zone_{colour}", language),
        value=bound_quantity(parameter, bound.value, language),
    )


def bound_changes(
    zones: Mapping[str, Any], edited: Mapping[str, Mapping[str, Bound | None]]
) -> dict[str, dict[str, dict[str, float | bool] | None]]:
    """The ``zones`` part of a merge patch: only the bounds that differ from the plan's, each
    with its value and comparison (so an untouched comparison is kept as it was); ``None``
    removes a bound the nurse emptied."""
    changes: dict[str, dict[str, dict[str, float | bool] | None]] = {}
    for parameter, bounds in edited.items():
        stored = zones.get(parameter) or {}
        for name, bound in bounds.items():
            if bound != bound_of(stored.get(name)):
                changes.setdefault(parameter, {})[name] = None if bound is None else bound.as_json()
    return changes


def _bound_from_change(parameter: str, name: str, raw: Any, language: Language) -> str:
    bound = bound_of(raw)
    if bound is None:
        return t("bound_none", language).lower()
    sign = ("≤" if bound.inclusive else "<") if is_low(name) else ("≥" if bound.inclusive else ">")
    return f"{sign} {bound_quantity(parameter, bound.value, language)}"


def diff_lines(diff: Mapping[str, Any], language: Language) -> list[str]:
    """The API's plan diff as lines to show: a moved bound in the editor's words with Norwegian
    numbers ("Blodsukker, rød under: < 3,0 mmol/L → < 3,5 mmol/L (strengere: varsler
    tidligere)"); a scheduled measurement added, removed or moved as the schedule editor
    writes it; every other change in the API's own words for the language."""
    lines = []
    for change in diff.get("changes") or []:
        path = str(change.get("path") or "").split(".")
        if change.get("kind") == "bound" and len(path) == 3 and path[2] in BOUND_NAMES:
            parameter, name = path[1], path[2]
            before = _bound_from_change(parameter, name, change.get("before"), language)
            after = _bound_from_change(parameter, name, change.get("after"), language)
            line = (
                f"{parameter_name(parameter, language)}, {bound_label(name, language).lower()}: "
                f"{before} → {after}"
            )
            effect = change.get("effect")
            if effect in {"tighter", "looser"}:
                line += f" ({t(f'diff_{effect}', language)})"
            lines.append(line)
        elif change.get("path") == "schedule.items" and (
            change.get("before") or change.get("after")
        ):
            lines.append(schedule_change_text(change.get("before"), change.get("after"), language))
        else:
            text = change.get("text") or {}
            lines.append(str(text.get(language) or text.get("nb") or change.get("path")))
    return lines


def diff_default(versions: Sequence[PlanVersionSummary]) -> tuple[int, int] | None:
    """The two versions the differences start with: the version in use (else the one before
    the newest) against the newest; None with fewer than two versions."""
    if len(versions) < 2:
        return None
    ordered = sorted(versions, key=lambda v: -v.version)
    newest = ordered[0].version
    in_use = [v.version for v in ordered if v.status == "approved" and v.version != newest]
    return (in_use[0] if in_use else ordered[1].version), newest


def version_label(version: PlanVersionSummary, language: Language) -> str:
    """ "v3 (utkast)" for the differences' version pickers."""
    return f"v{version.version} ({t(f'status_{version.status}', language).lower()})"


def zones_text(parameter: str, zones: Mapping[str, Any], language: Language) -> tuple[str, str]:
    """One parameter's bounds in symbols with Norwegian numbers, (red, yellow): ("≤ 87 %",
    "≤ 91 %") or ("< 3,0 mmol/L / > 20,0 mmol/L", …); "–" for a colour without bounds."""

    def side(low: str, high: str) -> str:
        parts = [
            _bound_from_change(parameter, name, zones.get(name), language)
            for name in (low, high)
            if zones.get(name) is not None
        ]
        return " / ".join(parts) or "–"

    return side("red_low", "red_high"), side("yellow_low", "yellow_high")
