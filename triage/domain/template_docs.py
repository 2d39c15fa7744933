"""The condition templates as Markdown: ``docs/clinical/templates.md`` is generated from here.

Pure: plans in, text out. ``dho docs templates > docs/clinical/templates.md`` writes the file;
``tests/unit/test_templates.py`` fails when the committed file differs from
:func:`render_templates_markdown`. Every number of every template appears in the text, and every
source key is a link to its entry in ``docs/clinical/sources.md``.
"""

from __future__ import annotations

import re
from collections.abc import Iterable
from datetime import time, timedelta

from triage.domain.colours import Colour
from triage.domain.plan import (
    ActionCode,
    BaselineRule,
    CombinationRule,
    Condition,
    Limit,
    MissingMeasurementRule,
    News2Rule,
    NofM,
    ParameterZones,
    PlanVersion,
    QuestionnaireRule,
    Rule,
    Schedule,
    TrendRule,
)
from triage.domain.questionnaires import BUILTIN_QUESTIONNAIRES
from triage.domain.readings import Kind, Parameter, format_quantity
from triage.domain.templates import TEMPLATES

__all__ = [
    "ACTION_CODE_MEANINGS",
    "REGENERATE",
    "github_anchor",
    "render_templates_markdown",
    "source_anchor",
    "source_keys_used",
    "source_link",
]

#: The command that writes docs/clinical/templates.md.
REGENERATE = "dho docs templates > docs/clinical/templates.md"

_CONDITION_NAMES: dict[Condition, tuple[str, str]] = {
    Condition.COPD: ("COPD", "KOLS"),
    Condition.HEART_FAILURE: ("Heart failure", "Hjertesvikt"),
    Condition.DIABETES: ("Diabetes", "Diabetes"),
    Condition.HYPERTENSION: ("Hypertension", "Høyt blodtrykk"),
    Condition.COVID19: ("COVID-19", "covid-19"),
}

#: What each action code means (the research's action types, docs/clinical/templates.md).
ACTION_CODE_MEANINGS: dict[ActionCode, str] = {
    ActionCode.CONTINUE_PLAN: "Carry on with the plan; nothing extra to do.",
    ActionCode.SELF_CARE: "The patient follows a step agreed in advance in the plan, such as "
    "measuring again, an extra diuretic dose or starting the rescue pack.",
    ActionCode.NURSE_REVIEW_SAME_DAY: "The follow-up centre calls the patient within the "
    "working day.",
    ActionCode.NURSE_REVIEW_NEXT: "Routine review at the next scheduled contact.",
    ActionCode.CONTACT_GP_TODAY: "The patient contacts the GP (fastlege) the same day, or the "
    "out-of-hours GP (legevakt) when the surgery is closed.",
    ActionCode.URGENT_LEGEVAKT: "The patient calls the out-of-hours GP (legevakt, 116 117) now.",
    ActionCode.EMERGENCY_113: "The patient calls the emergency number 113.",
    ActionCode.INFO_MISSING_DATA: "Informational: measurements are missing.",
}

_WEEKDAYS = ("Monday", "Tuesday", "Wednesday", "Thursday", "Friday", "Saturday", "Sunday")
_ALL_WEEKDAYS = (1, 2, 3, 4, 5, 6, 7)
_NONE = "–"


# ----------------------------------------------------------------------------- sources


def github_anchor(heading: str) -> str:
    """The anchor GitHub gives a Markdown heading: "[RCP-N2]" → "rcp-n2".

    Lower-case; punctuation other than hyphens and underscores dropped; spaces become hyphens.
    """
    kept = re.sub(r"[^\w\- ]", "", heading.strip().lower())
    return kept.replace(" ", "-")


def source_anchor(key: str) -> str:
    """The anchor of the entry ``### [KEY]`` in docs/clinical/sources.md."""
    return github_anchor(f"[{key}]")


def source_link(key: str) -> str:
    """``KEY`` as a Markdown link to its entry in sources.md (from a file beside it)."""
    return f"[{key}](sources.md#{source_anchor(key)})"


def _sources(keys: Iterable[str]) -> str:
    links = [source_link(k) for k in keys]
    return ", ".join(links) if links else _NONE


def source_keys_used() -> set[str]:
    """Every source key cited by a template (zones, rules, schedule, plan) or a questionnaire."""
    keys: set[str] = set()
    for make in TEMPLATES.values():
        plan = make()
        keys.update(plan.sources)
        for zones in plan.zones.values():
            keys.update(zones.sources)
        for rule in plan.rules:
            keys.update(rule.sources)
        for item in plan.schedule.items:
            keys.update(item.sources)
    for questionnaire in BUILTIN_QUESTIONNAIRES.values():
        keys.update(questionnaire.sources)
        for question in questionnaire.items:
            keys.update(question.sources)
    return keys


# ----------------------------------------------------------------------------- small pieces


def _cell(text: str) -> str:
    """Text safe inside a Markdown table cell."""
    return " ".join(text.split()).replace("|", "\\|")


def _table(header: Iterable[str], rows: Iterable[Iterable[str]]) -> list[str]:
    head = list(header)
    lines = ["| " + " | ".join(head) + " |", "|" + "|".join("---" for _ in head) + "|"]
    lines.extend("| " + " | ".join(_cell(c) for c in row) + " |" for row in rows)
    return lines


def _duration(span: timedelta) -> str:
    """A window in words: "3 days", "30 h", "15 min", "none"."""
    seconds = int(span.total_seconds())
    if seconds == 0:
        return "none"
    if seconds % 86400 == 0:
        days = seconds // 86400
        return f"{days} day" + ("" if days == 1 else "s")
    if seconds % 3600 == 0:
        return f"{seconds // 3600} h"
    return f"{format_quantity(seconds / 60, '')} min"


def _clock(wall: time) -> str:
    return wall.strftime("%H:%M")


def _days(days: tuple[int, ...]) -> str:
    if tuple(sorted(days)) == _ALL_WEEKDAYS:
        return "every day"
    return ", ".join(_WEEKDAYS[d - 1] for d in sorted(days))


def _colour(colour: Colour) -> str:
    return f"**{colour.value}**"


def _parameter(parameter: Parameter) -> str:
    return f"{parameter.label_en} (`{parameter.value}`)"


def _kind(kind: Kind) -> str:
    name = "SpO2" if kind is Kind.SPO2 else kind.value.replace("_", " ")
    return f"{name} (`{kind.value}`)"


def _low(limit: Limit | None, unit: str) -> str:
    return _NONE if limit is None else limit.describe_low(unit)


def _high(limit: Limit | None, unit: str) -> str:
    return _NONE if limit is None else limit.describe_high(unit)


def _green(zones: ParameterZones, unit: str) -> str:
    """The green range in words: what lies strictly between the inner bounds."""
    parts: list[str] = []
    low = zones.yellow_low or zones.red_low
    high = zones.yellow_high or zones.red_high
    if low is not None:
        parts.append(f"{'>' if low.inclusive else '≥'} {format_quantity(low.value, unit)}")
    if high is not None:
        parts.append(f"{'<' if high.inclusive else '≤'} {format_quantity(high.value, unit)}")
    return " and ".join(parts)


def _hold(hold: NofM | None) -> str:
    if hold is None:
        return _NONE
    side = {"low": "low side", "high": "high side", "both": "either side"}[hold.side]
    return (
        f"{side}: yellow only when {hold.n} of the last {hold.m} readings are out on the same side"
    )


# ----------------------------------------------------------------------------- rules in words


def _describe_trend(rule: TrendRule) -> str:
    parameter = rule.parameter
    unit = parameter.unit
    window = _duration(rule.window)
    changes: list[str] = []
    if rule.rise is not None:
        changes.append(
            f"rises by {rule.rise.describe_high(unit)} above the lowest value measured in the "
            f"{window} before it"
        )
    if rule.fall is not None:
        changes.append(
            f"falls by {rule.fall.describe_high(unit)} below the highest value measured in the "
            f"{window} before it"
        )
    return (
        f"{parameter.label_en} {' or '.join(changes)} → {_colour(rule.colour)}. "
        f"Silent when there is no earlier reading in the {window}."
    )


def _describe_baseline(rule: BaselineRule) -> str:
    parameter = rule.parameter
    unit = parameter.unit
    points = " (percentage points)" if unit == "%" else ""
    text = (
        f"{parameter.label_en} {rule.change.describe_high(unit)}{points} {rule.direction} the "
        f"patient's own baseline → {_colour(rule.colour)}. "
    )
    if rule.baseline_value is not None:
        note = f" ({rule.baseline_note})" if rule.baseline_note else ""
        text += f"Baseline fixed in the plan at {format_quantity(rule.baseline_value, unit)}{note}."
    else:
        text += (
            f"Baseline: the median of the readings in the {rule.baseline_days} days before "
            f"(at least {rule.min_readings} readings; with fewer the rule is silent)."
        )
    if rule.yellow_after is not None and rule.colour is Colour.YELLOW:
        hold = rule.yellow_after
        text += f" A yellow counts only when {hold.n} of the last {hold.m} readings are out."
    return text


def _describe_combination(rule: CombinationRule) -> str:
    within = _duration(rule.within)
    text = (
        f"{_colour(rule.colour)} when rules in at least {rule.min_groups} different groups have "
        f"deviated (yellow or red) within {within}, the current reading or report being one "
        f"of them. "
    )
    if rule.groups:
        groups = "; ".join(
            f"*{name}*: " + ", ".join(f"`{p}`" for p in patterns)
            for name, patterns in rule.groups.items()
        )
        text += f"Groups: {groups} (`*` matches every rule id that starts with what precedes it). "
    else:
        text += "Every rule is a group of its own. "
    return text + "Missing-measurement and lost-contact findings never count."


def _describe_questionnaire(rule: QuestionnaireRule) -> str:
    definition = BUILTIN_QUESTIONNAIRES.get(rule.questionnaire)
    name = f"[`{rule.questionnaire}`](questionnaires.md)"
    if definition is None:
        return f"Scores the answers to {name} (not a built-in questionnaire)."
    own = definition.bands

    def band(plan_value: int | None, own_value: int | None) -> str:
        if plan_value is not None:
            default = f"{own_value}" if own_value is not None else "none"
            return f"{plan_value} (set in this plan; the questionnaire's own band is {default})"
        if own_value is None:
            return "never on the score alone"
        return f"{own_value} (the questionnaire's own band)"

    return (
        f"Scores the answers to {name}: {_colour(Colour.YELLOW)} from a total of "
        f"{band(rule.yellow_at, own.yellow_at)}, {_colour(Colour.RED)} from "
        f"{band(rule.red_at, own.red_at)}. A red-flag answer is {_colour(Colour.RED)} whatever "
        f"the total."
    )


def _describe_news2(rule: News2Rule, plan: PlanVersion) -> str:
    air = "on oxygen" if plan.on_oxygen else "on air"
    return (
        f"NEWS2 ([news2.md](news2.md)) from the latest respiration rate, SpO2 (scale "
        f"{plan.spo2_scale}, {air}), systolic blood pressure, pulse and temperature within "
        f"{_duration(rule.window)}, with consciousness from the answer to "
        f"`{rule.consciousness_item}` (yes = new confusion, C). Computed only when all of them "
        f"are present; a missing one is never scored as 0. {_colour(Colour.YELLOW)} from risk "
        f"`{rule.yellow_from}`, {_colour(Colour.RED)} from risk `{rule.red_from}`."
    )


def _describe_missing(rule: MissingMeasurementRule) -> str:
    grace = _duration(rule.grace)
    return (
        f"A scheduled measurement or questionnaire not received by its deadline (grace: "
        f"{grace}) → {_colour(rule.colour)}; back to green when it arrives, even late."
    )


def _describe(rule: Rule, plan: PlanVersion) -> str:
    match rule:
        case TrendRule():
            return _describe_trend(rule)
        case BaselineRule():
            return _describe_baseline(rule)
        case CombinationRule():
            return _describe_combination(rule)
        case QuestionnaireRule():
            return _describe_questionnaire(rule)
        case News2Rule():
            return _describe_news2(rule, plan)
        case MissingMeasurementRule():
            return _describe_missing(rule)


# ----------------------------------------------------------------------------- sections


def _zones_section(plan: PlanVersion) -> list[str]:
    rows = []
    for parameter, zones in plan.zones.items():
        unit = parameter.unit
        rows.append(
            [
                _parameter(parameter),
                unit,
                _low(zones.red_low, unit),
                _low(zones.yellow_low, unit),
                _green(zones, unit),
                _high(zones.yellow_high, unit),
                _high(zones.red_high, unit),
                _hold(zones.yellow_after),
                _sources(zones.sources),
            ]
        )
    header = (
        "Parameter",
        "Unit",
        "Red low",
        "Yellow low",
        "Green",
        "Yellow high",
        "Red high",
        "Sustained (debounce)",
        "Sources",
    )
    return ["### Zones", "", *_table(header, rows), ""]


def _rules_section(plan: PlanVersion) -> list[str]:
    rows = [[f"`{r.id}`", r.type, _describe(r, plan), _sources(r.sources)] for r in plan.rules]
    lines = ["### Rules", ""]
    if not rows:
        return [*lines, "None beyond the zones.", ""]
    return [*lines, *_table(("Rule", "Type", "What it does", "Sources"), rows), ""]


def _schedule_section(schedule: Schedule) -> list[str]:
    rows = [
        [
            ", ".join(_kind(k) for k in item.kinds) or _NONE,
            f"[`{item.questionnaire}`](questionnaires.md)" if item.questionnaire else _NONE,
            _days(item.days),
            _clock(item.due_by),
            _sources(item.sources),
        ]
        for item in schedule.items
    ]
    return [
        "### Schedule",
        "",
        f"Time zone `{schedule.timezone}`; due times are local wall-clock times.",
        "",
        *_table(("Measure", "Questionnaire", "Days", "Due by", "Sources"), rows),
        "",
    ]


def _actions_section(plan: PlanVersion) -> list[str]:
    rows = []
    for colour in Colour:
        actions = plan.actions[colour]
        codes = ", ".join(f"`{c.value}`" for c in actions.codes) or _NONE
        rows.append([_colour(colour), "patient", actions.patient.nb, actions.patient.en, codes])
        rows.append(["", "nurse", actions.nurse.nb, actions.nurse.en, ""])
    header = ("Zone", "Who", "Bokmål", "English", "Action codes")
    return ["### Actions per zone", "", *_table(header, rows), ""]


def _condition_section(condition: Condition, plan: PlanVersion, summary: str) -> list[str]:
    name_en, name_nb = _CONDITION_NAMES.get(condition, (condition.value, condition.value))
    title = name_en if name_nb.lower() == name_en.lower() else f"{name_en} ({name_nb})"
    scale = f"NEWS2 SpO2 scale {plan.spo2_scale}, {'on oxygen' if plan.on_oxygen else 'on air'}"
    return [
        f"## {title}",
        "",
        summary,
        "",
        f"Plan `{plan.plan_id}`, version {plan.version}, status `{plan.status}`; {scale}. "
        f"Condition code `{condition.value}`.",
        "",
        *_zones_section(plan),
        *_rules_section(plan),
        *_schedule_section(plan.schedule),
        *_actions_section(plan),
        f"**Plan-level sources:** {_sources(plan.sources)}",
        "",
    ]


_INTRO = """\
# Condition templates

<!-- Generated by triage/domain/template_docs.py from triage/domain/templates.py. -->

> **This file is generated; do not edit it by hand.** Change `triage/domain/templates.py` and
> regenerate it with `{regenerate}`.
> A test (`tests/unit/test_templates.py`) fails when this file is out of date.

A template is a **starting draft** (version 1) of a self-management plan (*egenbehandlingsplan*),
not a patient's plan. After the 2–4-week trial period its numbers are replaced with the patient's
own, and the plan is approved by the GP or nurse before it is used {spredning}. See
[writing-a-plan.md](writing-a-plan.md) for how to write a plan.

* **A bound belongs to the worse zone.** `≤`/`≥` means the value itself is included (an inclusive
  bound), `<`/`>` that it is not (a strict bound). Red is checked before yellow; anything else is
  green.
* **Sustained (debounce)** delays a *yellow* until n of the last m readings are out; a red is
  never delayed.
* **Sources** link to [sources.md](sources.md); {project} marks a project choice derived from
  the sources, pending clinical review.
* Implausible values are data errors and never get a colour: see
  [plausibility.md](plausibility.md).
"""


def _header() -> list[str]:
    intro = _INTRO.format(
        regenerate=REGENERATE,
        spredning=source_link("HDIR-SPREDNING"),
        project=source_link("PROJECT"),
    )
    codes = [[f"`{code.value}`", ACTION_CODE_MEANINGS[code]] for code in ActionCode]
    return [*intro.splitlines(), "", "## Action codes", "", *_table(("Code", "Meaning"), codes), ""]


def render_templates_markdown() -> str:
    """docs/clinical/templates.md: every condition template's zones, rules, schedule, actions."""
    lines = _header()
    for condition, make in TEMPLATES.items():
        summary = (make.__doc__ or "").strip().split("\n", 1)[0]
        lines.extend(_condition_section(condition, make(), summary))
    return "\n".join(lines).rstrip("\n") + "\n"
