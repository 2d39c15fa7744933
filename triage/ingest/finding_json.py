"""Findings as the JSON stored with each reading and report (``findings`` column), written by
hand: ``model_dump(mode="json")`` per finding cost ~32 µs per reading in the profile of issue
21. :func:`finding_json` gives exactly what ``Finding.model_dump(mode="json")`` gives (a test
compares them over every finding shape the classifier produces)."""

from __future__ import annotations

from datetime import date, datetime, time
from enum import Enum
from typing import Any

from pydantic_core import to_jsonable_python

from triage.domain.findings import Finding


def finding_json(finding: Finding) -> dict[str, Any]:
    """``finding.model_dump(mode="json")``, without pydantic's serializer."""
    text = finding.text
    args = finding.args
    return {
        "rule_id": finding.rule_id,
        "rule_type": finding.rule_type.value,
        "colour": finding.colour.value,
        "at": _time(finding.at),
        "plan_id": finding.plan_id,
        "plan_version": finding.plan_version,
        "parameter": finding.parameter,
        "value": finding.value,
        "bound": finding.bound,
        "message": finding.message,
        "args": None if args is None else _jsonable(args),
        "text": None if text is None else {"nb": text.nb, "en": text.en},
    }


def _time(at: datetime) -> str:
    """ISO 8601 as pydantic writes it: ``Z`` for UTC."""
    text = at.isoformat()
    return text[:-6] + "Z" if text.endswith("+00:00") else text


#: Values written as they are (checked by exact type: a bool is not an int here, an Enum that
#: is also a str goes through :func:`_jsonable`).
_PLAIN = frozenset({str, int, float, bool, type(None)})


def _jsonable(value: Any) -> Any:
    if type(value) in _PLAIN:
        return value
    if type(value) is dict:
        # the usual args: str keys, plain values — one pass, no generator per dict
        out = {}
        for key, inner in value.items():
            if type(key) is not str:
                return to_jsonable_python(value)  # keys as pydantic writes them
            out[key] = inner if type(inner) in _PLAIN else _jsonable(inner)
        return out
    if isinstance(value, dict):
        if any(type(key) is not str for key in value):
            return to_jsonable_python(value)  # keys as pydantic writes them
        return {key: _jsonable(v) for key, v in value.items()}
    if isinstance(value, list | tuple):
        return [_jsonable(v) for v in value]
    if isinstance(value, Enum):
        return _jsonable(value.value)
    if isinstance(value, datetime):
        return _time(value)
    if isinstance(value, date | time):
        return value.isoformat()
    return to_jsonable_python(value)  # anything rarer: as pydantic writes it
