"""A finding's reason in words, in the reader's language, from the catalogue.

:func:`reason` renders a finding's ``message`` and ``args`` (:mod:`triage.domain.findings`).
A finding stored before findings were structured data has no ``message``: a plain threshold
finding ("SpO2 86 % — rød: ≤ 87 % (plan v1)") is read back into data from its fields and shown
like a new one; any other is shown with the words stored in its ``text``. The arguments are
turned into words by their names:

- ``value``, ``bound``, ``change``, ``limit``, ``ref``, ``base``: quantities in the unit of the
  finding's ``parameter`` ("2,6 mmol/L"); ``bound`` with ``bound_op`` and ``limit`` with
  ``limit_op`` read as comparisons ("under 3 mmol/L", "minst 2 kg");
- ``window_h``: a window in hours ("siste 3 døgn");
- ``parameter``, ``direction``, ``risk``, ``news2``: a catalogue word; ``questionnaire``: the
  questionnaire's title; ``item`` (with ``questionnaire``): the question's words;
- ``date`` (ISO date) and ``local_time`` (ISO date-time in the patient's zone): written as the
  language writes dates;
- a nested message ``{"key": ..., "args": ...}`` is rendered the same way; a list is joined with
  ", " (a list of lists with "; ");
- other numbers go through Babel; strings are shown as they are (names people gave).
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from datetime import date, datetime
from typing import Any

from triage.domain.colours import Colour, Text
from triage.domain.findings import Finding, RuleType
from triage.domain.questionnaires import BUILTIN_QUESTIONNAIRES as QUESTIONNAIRES
from triage.domain.readings import Parameter
from triage.texts.catalogue import LANGUAGES, Language, text
from triage.texts.numbers import format_number, format_quantity

_QUANTITIES = frozenset({"value", "bound", "change", "limit", "ref", "base"})
_WORDS = {"direction": "direction", "risk": "risk", "news2": "news2", "parameter": "parameter"}


def reason(finding: Finding, language: Language) -> str:
    """The finding's reason in ``language`` ("nb" or "en")."""
    key = finding.message
    if key is None:
        upgraded = _upgraded(finding)
        if upgraded is None or upgraded.message is None:
            stored = finding.text
            return stored.in_language(language) if stored is not None else ""
        finding, key = upgraded, upgraded.message
    unit = _unit(finding.parameter)
    fields: dict[str, str] = {
        "colour": text(language, f"colour.{finding.colour.value}"),
        "colour_cap": text(language, f"colour_cap.{finding.colour.value}"),
    }
    if finding.parameter is not None:
        fields["parameter"] = _parameter(finding.parameter, language)
    if finding.value is not None:
        fields["value"] = format_quantity(finding.value, unit, language)
    words = _render(key, finding.args or {}, unit, language, fields)
    if finding.plan_version is not None:
        words += text(language, "plan_ref").format(version=finding.plan_version)
    return words


#: an old stored threshold reason with nothing beyond value, colour, bound and plan version
_OLD_PLAIN = re.compile(r" — (rød|gul): [<≤>≥] [^,()]+ \(plan v\d+\)$")
_OLD_GREEN = re.compile(r" — grønn \(plan v\d+\)$")
_OLD_BOUND = re.compile(r"^([<≤>≥]) (-?\d+(?:\.\d+)?)\b")
_OPS = {"<": "lt", "≤": "le", ">": "gt", "≥": "ge"}


def _upgraded(finding: Finding) -> Finding | None:
    """An old stored threshold finding as data, when its stored words say no more than its
    fields do ("SpO2 86 % — rød: ≤ 87 % (plan v1)"): it is then shown like a new one, in the
    reader's language. Any other old finding keeps its stored words."""
    text = finding.text
    if (
        finding.rule_type is not RuleType.THRESHOLD
        or finding.parameter is None
        or finding.value is None
        or text is None
    ):
        return None
    if finding.colour is Colour.GREEN:
        if finding.bound is None and _OLD_GREEN.search(text.nb):
            return finding.model_copy(update={"message": "threshold.green", "args": {}})
        return None
    bound = _OLD_BOUND.match(finding.bound or "")
    if bound is None or not _OLD_PLAIN.search(text.nb):
        return None
    args = {"bound": float(bound[2]), "bound_op": _OPS[bound[1]]}
    return finding.model_copy(update={"message": "threshold", "args": args})


def reason_text(finding: Finding) -> Text:
    """The reason in both languages (the API's ``text``)."""
    return Text(nb=reason(finding, "nb"), en=reason(finding, "en"))


def reasons(findings: tuple[Finding, ...] | list[Finding], language: Language) -> str:
    """One line per finding."""
    return "\n".join(reason(f, language) for f in findings)


def _unit(parameter: str | None) -> str:
    if parameter is None:
        return ""
    try:
        return Parameter(parameter).unit
    except ValueError:
        return ""


def _parameter(parameter: str, language: Language) -> str:
    key = f"parameter.{parameter}"
    try:
        return text(language, key)
    except KeyError:
        return parameter


def _render(
    key: str,
    args: Mapping[str, Any],
    unit: str,
    language: Language,
    fields: Mapping[str, str] | None = None,
) -> str:
    values: dict[str, str] = dict(fields or {})
    for name, raw in args.items():
        if name.endswith("_op"):
            continue
        values["window" if name == "window_h" else name] = _arg(name, raw, args, unit, language)
    values.setdefault("count_note", "")
    values.setdefault(
        "source",
        text(language, "questionnaire.source_plan") if args.get("from_plan") else "",
    )
    return text(language, key).format(**values)


def _arg(name: str, raw: Any, args: Mapping[str, Any], unit: str, language: Language) -> str:
    if isinstance(raw, dict) and "key" in raw:
        return _render(str(raw["key"]), raw.get("args") or {}, unit, language)
    if isinstance(raw, list):
        nested = any(isinstance(x, list) for x in raw)
        return ("; " if nested else ", ").join(_arg(name, x, args, unit, language) for x in raw)
    if name in _QUANTITIES and isinstance(raw, int | float):
        shown = format_quantity(float(raw), unit, language)
        op = args.get(f"{name}_op")
        if op in ("le", "lt", "ge", "gt"):
            family = "amount" if name == "limit" and op in ("ge", "gt") else "cmp"
            return text(language, f"{family}.{op}").format(x=shown)
        return shown
    if name == "window_h" and isinstance(raw, int | float):
        return _window(float(raw), language)
    if name == "parameter" and isinstance(raw, str):
        return _parameter(raw, language)
    if name in _WORDS and isinstance(raw, str):
        return text(language, f"{_WORDS[name]}.{raw}")
    if name == "questionnaire" and isinstance(raw, str):
        return _questionnaire_title(raw, language)
    if name == "item" and isinstance(raw, str):
        return _question(str(args.get("questionnaire", "")), raw, language)
    if name == "date" and isinstance(raw, str):
        return _date(date.fromisoformat(raw), language)
    if name == "local_time" and isinstance(raw, str):
        return _local_time(datetime.fromisoformat(raw), bool(args.get("with_year")), language)
    if isinstance(raw, bool):
        return ""
    if isinstance(raw, int | float):
        return format_number(raw, language)
    return str(raw)


def _window(hours: float, language: Language) -> str:
    if hours >= 24 and hours % 24 == 0:
        days = int(hours // 24)
        if days == 1:
            return text(language, "window.day")
        return text(language, "window.days").format(n=format_number(days, language))
    if hours == 1:
        return text(language, "window.hour")
    return text(language, "window.hours").format(n=format_number(hours, language))


def _questionnaire_title(questionnaire_id: str, language: Language) -> str:
    found = QUESTIONNAIRES.get(questionnaire_id)
    if found is None:
        return text(language, "questionnaire.unknown")
    return found.title.in_language(language)


def _question(questionnaire_id: str, item_id: str, language: Language) -> str:
    found = QUESTIONNAIRES.get(questionnaire_id)
    item = found.item(item_id) if found is not None else None
    if item is None:
        return text(language, "questionnaire.unknown")
    return f"«{item.text.in_language(language)}»" if language == "nb" else f"“{item.text.en}”"


def _date(day: date, language: Language) -> str:
    return text(language, "date.day").format(
        weekday=text(language, f"weekday.{day.isoweekday()}"),
        dd=f"{day.day:02d}",
        mm=f"{day.month:02d}",
        yyyy=f"{day.year:04d}",
    )


def _local_time(moment: datetime, with_year: bool, language: Language) -> str:
    return text(language, "time.local_year" if with_year else "time.local").format(
        dd=f"{moment.day:02d}",
        mm=f"{moment.month:02d}",
        yyyy=f"{moment.year:04d}",
        hh=f"{moment.hour:02d}",
        mi=f"{moment.minute:02d}",
    )


__all__ = ["LANGUAGES", "reason", "reason_text", "reasons"]


def stored_reason(data: Mapping[str, Any], language: Language) -> str:
    """The reason of a finding as stored (its JSON in a table), in ``language``."""
    return reason(Finding.model_validate(data), language)
