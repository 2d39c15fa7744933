"""What changed between two versions of a plan, in words a nurse or GP can check (pure).

:func:`diff` compares two :class:`~triage.domain.plan.PlanVersion` documents and returns one
:class:`PlanChange` per difference, each with bokmål and English text:

* **zone bounds** per parameter (``red_low``, ``yellow_low``, ``yellow_high``, ``red_high``):
  added, removed or moved — and whether the change makes the plan **tighter** (the bound now
  catches more values: earlier alerts) or **looser** (it catches fewer: a looser bound deserves
  a second look before approval); a parameter whose zones were added or removed as a whole;
  the sustained rule (``yellow_after``);
* **rules** beyond thresholds, matched by id: added, removed, or changed field by field;
* the **schedule**: time zone, measurements added, removed, or changed (the same measurements
  on other days or at another time);
* the patient's **goal**, the **actions** per zone, and the plan settings (condition, SpO2
  scale, oxygen).

Sources (citation keys) are not compared: they say where a number comes from, not what it is.
Status, approval and retirement are the version's lifecycle, not its content, and are left out.
"""

from __future__ import annotations

from collections.abc import Mapping
from enum import StrEnum
from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, JsonValue

from triage.domain.colours import Colour, Text
from triage.domain.plan import Limit, ParameterZones, PlanVersion, Rule, ScheduledMeasurement
from triage.domain.readings import Kind, Parameter

BoundName = Literal["red_low", "yellow_low", "yellow_high", "red_high"]
BOUNDS: tuple[BoundName, ...] = ("red_low", "yellow_low", "yellow_high", "red_high")
Effect = Literal["tighter", "looser"]


class ChangeKind(StrEnum):
    ZONES_ADDED = "zones_added"
    ZONES_REMOVED = "zones_removed"
    BOUND = "bound"
    SUSTAINED = "sustained"
    RULE_ADDED = "rule_added"
    RULE_REMOVED = "rule_removed"
    RULE_CHANGED = "rule_changed"
    SCHEDULE = "schedule"
    GOAL = "goal"
    ACTIONS = "actions"
    SETTING = "setting"


class PlanChange(BaseModel):
    """One difference: where (``path``, e.g. ``zones.spo2.yellow_low``), the values before and
    after (JSON, null when absent), whether it tightens or loosens a bound, and in words."""

    model_config = ConfigDict(frozen=True, extra="forbid")

    kind: ChangeKind
    path: str
    before: JsonValue = None
    after: JsonValue = None
    effect: Effect | None = None
    text: Text


class PlanDiff(BaseModel):
    model_config = ConfigDict(frozen=True, extra="forbid")

    plan_id: str
    from_version: int
    to_version: int
    changes: tuple[PlanChange, ...]
    looser: int = 0  # how many changes loosen a bound


# ----------------------------------------------------------------------------- bounds


def side_of(name: BoundName) -> Literal["low", "high"]:
    return "low" if name.endswith("_low") else "high"


def catches_more(side: Literal["low", "high"], a: Limit, b: Limit) -> bool:
    """Whether bound ``a`` catches strictly more values than ``b`` on ``side`` (is tighter).

    On the low side a bound catches the values at or below it (below it when strict), so a
    higher value — or the same value, inclusive where ``b`` is strict — catches more.
    """
    if a.value != b.value:
        return a.value > b.value if side == "low" else a.value < b.value
    return a.inclusive and not b.inclusive


def bound_effect(
    side: Literal["low", "high"], before: Limit | None, after: Limit | None
) -> Effect | None:
    """``tighter`` when ``after`` catches more than ``before`` (an added bound does),
    ``looser`` when it catches less (a removed bound does), None when the same."""
    if before == after:
        return None
    if before is None:
        return "tighter"
    if after is None:
        return "looser"
    if catches_more(side, after, before):
        return "tighter"
    if catches_more(side, before, after):
        return "looser"
    return None


def describe_bound(name: BoundName, limit: Limit, unit: str) -> str:
    """The bound in symbols: "≤ 91 %", "> 160 mmHg"."""
    return limit.describe_low(unit) if side_of(name) == "low" else limit.describe_high(unit)


_BOUND_WORDS: dict[BoundName, tuple[str, str]] = {
    "red_low": ("rød nedre grense", "red low bound"),
    "yellow_low": ("gul nedre grense", "yellow low bound"),
    "yellow_high": ("gul øvre grense", "yellow high bound"),
    "red_high": ("rød øvre grense", "red high bound"),
}
_EFFECT_WORDS: dict[Effect, tuple[str, str]] = {
    "tighter": ("strengere: varsler tidligere", "tighter: alerts earlier"),
    "looser": ("løsere: varsler senere", "looser: alerts later"),
}


def _zones_added(parameter: Parameter, after: ParameterZones) -> PlanChange:
    shown = _zones_in_words(after, parameter.unit)
    return PlanChange(
        kind=ChangeKind.ZONES_ADDED,
        path=f"zones.{parameter.value}",
        after=after.model_dump(mode="json", exclude={"sources"}),
        effect="tighter",
        text=Text(
            nb=f"{parameter.label_nb}: grenser lagt til ({shown.nb})",
            en=f"{parameter.label_en}: bounds added ({shown.en})",
        ),
    )


def _zones_removed(parameter: Parameter, before: ParameterZones) -> PlanChange:
    shown = _zones_in_words(before, parameter.unit)
    return PlanChange(
        kind=ChangeKind.ZONES_REMOVED,
        path=f"zones.{parameter.value}",
        before=before.model_dump(mode="json", exclude={"sources"}),
        effect="looser",
        text=Text(
            nb=f"{parameter.label_nb}: grensene fjernet (var {shown.nb}); verdiene gir ikke "
            "lenger farge",
            en=f"{parameter.label_en}: bounds removed (were {shown.en}); its values no longer "
            "get a colour",
        ),
    )


def _zone_changes(
    parameter: Parameter, before: ParameterZones, after: ParameterZones
) -> list[PlanChange]:
    label = Text(nb=parameter.label_nb, en=parameter.label_en)
    unit = parameter.unit
    path = f"zones.{parameter.value}"
    changes: list[PlanChange] = []
    for name in BOUNDS:
        old, new = getattr(before, name), getattr(after, name)
        if old == new:
            continue
        effect = bound_effect(side_of(name), old, new)
        words_nb, words_en = _BOUND_WORDS[name]
        old_s = describe_bound(name, old, unit) if old is not None else None
        new_s = describe_bound(name, new, unit) if new is not None else None
        if old_s is None:
            nb, en = f"lagt til: {new_s}", f"added: {new_s}"
        elif new_s is None:
            nb, en = f"fjernet (var {old_s})", f"removed (was {old_s})"
        else:
            nb, en = f"{old_s} → {new_s}", f"{old_s} → {new_s}"
        if effect is not None:
            nb += f" ({_EFFECT_WORDS[effect][0]})"
            en += f" ({_EFFECT_WORDS[effect][1]})"
        changes.append(
            PlanChange(
                kind=ChangeKind.BOUND,
                path=f"{path}.{name}",
                before=old.model_dump(mode="json") if old is not None else None,
                after=new.model_dump(mode="json") if new is not None else None,
                effect=effect,
                text=Text(nb=f"{label.nb}, {words_nb}: {nb}", en=f"{label.en}, {words_en}: {en}"),
            )
        )
    if before.yellow_after != after.yellow_after:
        old_h, new_h = before.yellow_after, after.yellow_after
        old_nb = f"{old_h.n} av {old_h.m}" if old_h else "straks"
        old_en = f"{old_h.n} of {old_h.m}" if old_h else "at once"
        new_nb = f"{new_h.n} av {new_h.m}" if new_h else "straks"
        new_en = f"{new_h.n} of {new_h.m}" if new_h else "at once"
        changes.append(
            PlanChange(
                kind=ChangeKind.SUSTAINED,
                path=f"{path}.yellow_after",
                before=old_h.model_dump(mode="json") if old_h else None,
                after=new_h.model_dump(mode="json") if new_h else None,
                text=Text(
                    nb=f"{label.nb}: gul varsles {new_nb} (var {old_nb})",
                    en=f"{label.en}: yellow raised {new_en} (was {old_en})",
                ),
            )
        )
    return changes


def _zones_in_words(zones: ParameterZones, unit: str) -> Text:
    """ "rød ≤ 35 °C, gul ≤ 36 °C" / "red ≤ 35 °C, yellow ≤ 36 °C"."""
    nb, en = [], []
    for name in BOUNDS:
        limit = getattr(zones, name)
        if limit is not None:
            colour = Colour.RED if name.startswith("red") else Colour.YELLOW
            shown = describe_bound(name, limit, unit)
            nb.append(f"{colour.label_nb} {shown}")
            en.append(f"{colour.value} {shown}")
    return Text(nb=", ".join(nb), en=", ".join(en))


# ----------------------------------------------------------------------------- rules


def _rule_changes(before: tuple[Rule, ...], after: tuple[Rule, ...]) -> list[PlanChange]:
    old = {rule.id: rule for rule in before}
    new = {rule.id: rule for rule in after}
    changes: list[PlanChange] = []
    for rule_id in sorted(old.keys() - new.keys()):
        rule = old[rule_id]
        changes.append(
            PlanChange(
                kind=ChangeKind.RULE_REMOVED,
                path=f"rules.{rule_id}",
                before=_rule_json(rule),
                text=Text(
                    nb=f"Regel fjernet: {rule_id} ({rule.type})",
                    en=f"Rule removed: {rule_id} ({rule.type})",
                ),
            )
        )
    for rule_id in sorted(new.keys() - old.keys()):
        rule = new[rule_id]
        changes.append(
            PlanChange(
                kind=ChangeKind.RULE_ADDED,
                path=f"rules.{rule_id}",
                after=_rule_json(rule),
                text=Text(
                    nb=f"Regel lagt til: {rule_id} ({rule.type})",
                    en=f"Rule added: {rule_id} ({rule.type})",
                ),
            )
        )
    for rule_id in sorted(old.keys() & new.keys()):
        was, now = _rule_json(old[rule_id]), _rule_json(new[rule_id])
        for field in sorted(was.keys() | now.keys()):
            if was.get(field) == now.get(field):
                continue
            old_v, new_v = was.get(field), now.get(field)
            changes.append(
                PlanChange(
                    kind=ChangeKind.RULE_CHANGED,
                    path=f"rules.{rule_id}.{field}",
                    before=was.get(field),
                    after=now.get(field),
                    text=Text(
                        nb=f"Regel {rule_id} endret: {field} {_compact(old_v, 'nb')} → "
                        f"{_compact(new_v, 'nb')}",
                        en=f"Rule {rule_id} changed: {field} {_compact(old_v, 'en')} → "
                        f"{_compact(new_v, 'en')}",
                    ),
                )
            )
    return changes


def _rule_json(rule: Rule) -> dict[str, JsonValue]:
    data: dict[str, JsonValue] = rule.model_dump(mode="json", exclude={"sources"})
    return data


def _compact(value: JsonValue, language: str) -> str:
    """A rule field's value as people read it: a bound as "2.0 (strict)", absent as "–"."""
    if value is None:
        return "–"
    if isinstance(value, bool):
        return _yes_no(value, language)
    if isinstance(value, dict) and set(value) <= {"value", "inclusive"} and "value" in value:
        strict = {"nb": " (streng)", "en": " (strict)"}[language]
        return f"{value['value']}" + ("" if value.get("inclusive", True) else strict)
    return str(value)


def _yes_no(value: bool, language: str) -> str:
    if language == "nb":
        return "ja" if value else "nei"
    return "yes" if value else "no"


# ----------------------------------------------------------------------------- schedule


_KIND_WORDS: dict[Kind, tuple[str, str]] = {
    Kind.BLOOD_PRESSURE: ("blodtrykk", "blood pressure"),
    Kind.SPO2: ("SpO2", "SpO2"),
    Kind.HEART_RATE: ("puls", "pulse"),
    Kind.GLUCOSE: ("blodsukker", "blood glucose"),
    Kind.BODY_WEIGHT: ("vekt", "weight"),
    Kind.BODY_TEMPERATURE: ("temperatur", "temperature"),
    Kind.RESPIRATORY_RATE: ("respirasjonsfrekvens", "respiratory rate"),
    Kind.PEAK_FLOW: ("PEF", "peak flow"),
}
_DAYS_NB = ("man", "tir", "ons", "tor", "fre", "lør", "søn")
_DAYS_EN = ("Mon", "Tue", "Wed", "Thu", "Fri", "Sat", "Sun")


def kind_words(kind: Kind) -> Text:
    """What a reading kind is called: "blodtrykk" / "blood pressure"."""
    nb, en = _KIND_WORDS[kind]
    return Text(nb=nb, en=en)


def describe_item(item: ScheduledMeasurement) -> Text:
    """A scheduled measurement in words: "SpO2, temperatur, skjema copd-daily (man, tor) innen
    12:00"."""
    what, when = _what_words(item), _when_words(item)
    return Text(nb=f"{what.nb} {when.nb}", en=f"{what.en} {when.en}")


def _what_words(item: ScheduledMeasurement) -> Text:
    what_nb = [_KIND_WORDS[k][0] for k in item.kinds]
    what_en = [_KIND_WORDS[k][1] for k in item.kinds]
    if item.questionnaire:
        what_nb.append(f"skjema {item.questionnaire}")
        what_en.append(f"questionnaire {item.questionnaire}")
    return Text(nb=", ".join(what_nb), en=", ".join(what_en))


def _when_words(item: ScheduledMeasurement) -> Text:
    every_day = len(item.days) == 7
    days_nb = "hver dag" if every_day else ", ".join(_DAYS_NB[d - 1] for d in item.days)
    days_en = "every day" if every_day else ", ".join(_DAYS_EN[d - 1] for d in item.days)
    due = item.due_by.strftime("%H:%M")
    return Text(nb=f"({days_nb}) innen {due}", en=f"({days_en}) by {due}")


def _schedule_changes(before: PlanVersion, after: PlanVersion) -> list[PlanChange]:
    changes: list[PlanChange] = []
    if before.schedule.timezone != after.schedule.timezone:
        changes.append(
            PlanChange(
                kind=ChangeKind.SCHEDULE,
                path="schedule.timezone",
                before=before.schedule.timezone,
                after=after.schedule.timezone,
                text=Text(
                    nb=f"Tidssone for målingene: {before.schedule.timezone} → "
                    f"{after.schedule.timezone}",
                    en=f"Time zone of the schedule: {before.schedule.timezone} → "
                    f"{after.schedule.timezone}",
                ),
            )
        )
    old = [_item_key(item) for item in before.schedule.items]
    new = [_item_key(item) for item in after.schedule.items]
    removed = [item for item in before.schedule.items if _item_key(item) not in new]
    added = [item for item in after.schedule.items if _item_key(item) not in old]
    for was, now in _moved(removed, added):
        removed.remove(was)
        added.remove(now)
        what, old_when, new_when = _what_words(was), _when_words(was), _when_words(now)
        changes.append(
            PlanChange(
                kind=ChangeKind.SCHEDULE,
                path="schedule.items",
                before=_item_json(was),
                after=_item_json(now),
                text=Text(
                    nb=f"Måling endret: {what.nb} {old_when.nb} → {new_when.nb}",
                    en=f"Measurement changed: {what.en} {old_when.en} → {new_when.en}",
                ),
            )
        )
    for item in removed:
        words = describe_item(item)
        changes.append(
            PlanChange(
                kind=ChangeKind.SCHEDULE,
                path="schedule.items",
                before=_item_json(item),
                text=Text(
                    nb=f"Måling tatt ut av planen: {words.nb}",
                    en=f"Measurement removed from the schedule: {words.en}",
                ),
            )
        )
    for item in added:
        words = describe_item(item)
        changes.append(
            PlanChange(
                kind=ChangeKind.SCHEDULE,
                path="schedule.items",
                after=_item_json(item),
                text=Text(
                    nb=f"Måling lagt til i planen: {words.nb}",
                    en=f"Measurement added to the schedule: {words.en}",
                ),
            )
        )
    return changes


def _moved(
    removed: list[ScheduledMeasurement], added: list[ScheduledMeasurement]
) -> list[tuple[ScheduledMeasurement, ScheduledMeasurement]]:
    """Pairs of a removed and an added item that measure the same (kinds and questionnaire)
    at other days or times — when each is the only one of its side that does."""

    def what(item: ScheduledMeasurement) -> tuple[tuple[str, ...], str | None]:
        return tuple(sorted(k.value for k in item.kinds)), item.questionnaire

    pairs = []
    for was in removed:
        same_old = [r for r in removed if what(r) == what(was)]
        same_new = [a for a in added if what(a) == what(was)]
        if len(same_old) == 1 and len(same_new) == 1:
            pairs.append((was, same_new[0]))
    return pairs


def _item_json(item: ScheduledMeasurement) -> dict[str, JsonValue]:
    data: dict[str, JsonValue] = item.model_dump(mode="json", exclude={"sources"})
    return data


def _item_key(item: ScheduledMeasurement) -> str:
    return str(sorted(_item_json(item).items()))


# ----------------------------------------------------------------------------- the rest


def _other_changes(before: PlanVersion, after: PlanVersion) -> list[PlanChange]:
    changes: list[PlanChange] = []
    if before.goal != after.goal:
        changes.append(
            PlanChange(
                kind=ChangeKind.GOAL,
                path="goal",
                before=before.goal,
                after=after.goal,
                text=Text(
                    nb=f"Pasientens mål: «{before.goal}» → «{after.goal}»",
                    en=f"The patient's goal: “{before.goal}” → “{after.goal}”",
                ),
            )
        )
    settings: Mapping[str, tuple[Any, Any, str, str]] = {
        "condition": (before.condition, after.condition, "Diagnose", "Condition"),
        "spo2_scale": (before.spo2_scale, after.spo2_scale, "SpO2-skala (NEWS2)", "SpO2 scale"),
        "on_oxygen": (before.on_oxygen, after.on_oxygen, "Bruker oksygen", "On oxygen"),
    }
    for field, (old, new, nb, en) in settings.items():
        if old != new:
            changes.append(
                PlanChange(
                    kind=ChangeKind.SETTING,
                    path=field,
                    before=_setting(old),
                    after=_setting(new),
                    text=Text(
                        nb=f"{nb}: {_shown(old, 'nb')} → {_shown(new, 'nb')}",
                        en=f"{en}: {_shown(old, 'en')} → {_shown(new, 'en')}",
                    ),
                )
            )
    for colour in Colour:
        old_a, new_a = before.actions.get(colour), after.actions.get(colour)
        if old_a == new_a or old_a is None or new_a is None:
            continue
        for who, nb_who, en_who in (
            ("patient", "pasienten", "the patient"),
            ("nurse", "sykepleier", "the nurse"),
        ):
            old_t: Text = getattr(old_a, who)
            new_t: Text = getattr(new_a, who)
            if old_t != new_t:
                changes.append(
                    PlanChange(
                        kind=ChangeKind.ACTIONS,
                        path=f"actions.{colour.value}.{who}",
                        before=old_t.model_dump(mode="json"),
                        after=new_t.model_dump(mode="json"),
                        text=Text(
                            nb=f"Tiltak for {nb_who} ved {colour.label_nb}: «{new_t.nb}» "
                            f"(var «{old_t.nb}»)",
                            en=f"What {en_who} does at {colour.value}: “{new_t.en}” "
                            f"(was “{old_t.en}”)",
                        ),
                    )
                )
        if old_a.codes != new_a.codes:
            old_c = ", ".join(c.value for c in old_a.codes) or "–"
            new_c = ", ".join(c.value for c in new_a.codes) or "–"
            changes.append(
                PlanChange(
                    kind=ChangeKind.ACTIONS,
                    path=f"actions.{colour.value}.codes",
                    before=[c.value for c in old_a.codes],
                    after=[c.value for c in new_a.codes],
                    text=Text(
                        nb=f"Tiltakskoder ved {colour.label_nb}: {old_c} → {new_c}",
                        en=f"Action codes at {colour.value}: {old_c} → {new_c}",
                    ),
                )
            )
    return changes


def _shown(value: Any, language: str) -> str:
    if isinstance(value, bool):
        return _yes_no(value, language)
    return "–" if value is None else str(value)


def _setting(value: Any) -> str | int | bool | None:
    if value is None or isinstance(value, bool | int):
        return value
    return str(value)


def diff(before: PlanVersion, after: PlanVersion) -> PlanDiff:
    """Every difference from ``before`` to ``after``: zones (in parameter order), rules,
    schedule, goal, settings and actions."""
    changes: list[PlanChange] = []
    for parameter in Parameter:
        old, new = before.zones.get(parameter), after.zones.get(parameter)
        if old is None and new is not None:
            changes.append(_zones_added(parameter, new))
        elif old is not None and new is None:
            changes.append(_zones_removed(parameter, old))
        elif old is not None and new is not None:
            changes.extend(_zone_changes(parameter, old, new))
    changes.extend(_rule_changes(before.rules, after.rules))
    changes.extend(_schedule_changes(before, after))
    changes.extend(_other_changes(before, after))
    return PlanDiff(
        plan_id=after.plan_id,
        from_version=before.version,
        to_version=after.version,
        changes=tuple(changes),
        looser=sum(1 for c in changes if c.effect == "looser"),
    )
