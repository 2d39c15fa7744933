"""A finding: one rule's verdict on a patient's data, with the reason in words.

Every triage decision can be explained: the finding names the rule, the bound, the value and
the plan version that produced it.
"""

from __future__ import annotations

from datetime import datetime
from enum import StrEnum

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


#: Rules about the service itself, not the patient's health: their alerts are TECHNICAL.
TECHNICAL_RULE_TYPES = frozenset({RuleType.LOST_CONTACT, RuleType.NOTIFICATION})


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
    text: Text

    @property
    def is_breach(self) -> bool:
        """True for yellow and red findings."""
        return self.colour is not Colour.GREEN

    def __str__(self) -> str:
        return self.text.en


def plan_suffix(plan_version: int | None) -> str:
    return f" (plan v{plan_version})" if plan_version is not None else ""


def describe_at(at: datetime) -> str:
    """ISO form used in reasons; the presenter shows local time."""
    return at.isoformat(timespec="minutes")
