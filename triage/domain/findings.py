"""A finding: one rule's verdict on a patient's data, with the reason as structured data.

Every triage decision can be explained: the finding names the rule, the bound, the value and
the plan version that produced it. The reason is kept as data — a message key (``message``)
and its typed arguments (``args``) — and put into words only when it is shown, in the reader's
language, from one message catalogue (:mod:`triage.texts`). Findings stored before that carry
their words in ``text`` (bokmål and English, written at classification time) and no
``message``; they are shown with those words.

The arguments are JSON values (numbers, strings, lists, nested messages ``{"key": ...,
"args": {...}}``); their meaning follows from their names (see :mod:`triage.texts.findings`):
``value``, ``bound``, ``change``, ``limit``, ``ref`` and ``base`` are quantities in the unit of
``parameter``; ``bound_op``/``limit_op`` say how the bound compares ("le", "lt", "ge", "gt");
``window_h`` is a window in hours.
"""

from __future__ import annotations

from datetime import datetime
from enum import StrEnum
from typing import Any

from pydantic import AwareDatetime, BaseModel, ConfigDict

from triage.domain.colours import Colour, Text


class RuleType(StrEnum):
    THRESHOLD = "threshold"
    TREND = "trend"
    BASELINE = "baseline"
    COMBINATION = "combination"
    QUESTIONNAIRE = "questionnaire"
    NEWS2 = "news2"
    MISSING = "missing"
    LOST_CONTACT = "lost_contact"
    NOTIFICATION = "notification"  # a red alert's notification reached nobody (technical)
    JOURNAL = "journal"  # a closed alert's journal Bundle never reached the record (technical)


#: Rules about the service itself, not the patient's health: their alerts are TECHNICAL.
TECHNICAL_RULE_TYPES = frozenset({RuleType.LOST_CONTACT, RuleType.NOTIFICATION, RuleType.JOURNAL})


class Finding(BaseModel):
    """One rule's verdict (green included: green tells an open alert it is back in range)."""

    model_config = ConfigDict(frozen=True, extra="forbid")

    rule_id: str
    rule_type: RuleType
    colour: Colour
    at: AwareDatetime
    plan_id: str | None = None
    plan_version: int | None = None
    parameter: str | None = None
    value: float | None = None
    bound: str | None = None
    #: the catalogue key of the reason ("threshold", "trend.rise", …); None on old findings
    message: str | None = None
    #: the reason's arguments (see the module docstring)
    args: dict[str, Any] | None = None
    #: the reason in words as written at classification time (findings stored before
    #: ``message``); new findings leave it empty and are rendered from the catalogue
    text: Text | None = None

    @property
    def is_breach(self) -> bool:
        """True for yellow and red findings."""
        return self.colour is not Colour.GREEN

    def __str__(self) -> str:
        if self.text is not None:
            return self.text.en
        return f"{self.rule_id}: {self.colour.value} {self.message} {self.args or {}}"


def message(key: str, **args: Any) -> dict[str, Any]:
    """A nested message as an argument of another: ``{"key": key, "args": args}``."""
    return {"key": key, "args": args}


def describe_at(at: datetime) -> str:
    """ISO form used in reasons; the presenter shows local time."""
    return at.isoformat(timespec="minutes")
