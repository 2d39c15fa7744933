"""The self-management plan (*egenbehandlingsplan*): immutable, versioned, serialisable.

A plan version holds, per parameter, the zone bounds; the rules beyond thresholds; the
measurement schedule in the patient's time zone; what the patient and the nurse do in each zone;
and the patient's own goal ("what matters to you?"). Versions never change: an edit is a new
draft with the next version number, approved by a named person before it is used.

Bound semantics (exact; tested at each bound and one step past it)
------------------------------------------------------------------
Each bound is a :class:`Limit` — a value and whether the value itself is included
(``inclusive``, the default). A bound *belongs to the worse zone*:

* ``red_low``     — a value **≤** it (or **<** it when not inclusive) is red;
* ``yellow_low``  — otherwise a value ≤ (or <) it is yellow;
* ``red_high``    — a value **≥** it (or **>** it when not inclusive) is red;
* ``yellow_high`` — otherwise a value ≥ (or >) it is yellow;
* anything else is green. Every bound is optional. Red is checked before yellow.

So "SpO2 red at or below 92 %" is ``red_low=92``; "glucose red below 3.0 mmol/L" is
``red_low={"value": 3.0, "inclusive": false}``. In JSON a bare number means an inclusive bound.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from datetime import datetime, time, timedelta
from enum import StrEnum
from typing import Annotated, Any, Literal, Self
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from pydantic import (
    AwareDatetime,
    BaseModel,
    ConfigDict,
    Field,
    field_validator,
    model_validator,
)

from triage.domain.colours import Colour, Text
from triage.domain.readings import Kind, Parameter, format_quantity
from triage.news2 import Risk as News2Risk

#: The longest window any rule may look back over (and the longest grace): ingest loads the
#: history the widest rule needs, so a larger one would only make every reading slow (and
#: beyond ~2.7 million years, overflow the date arithmetic).
MAX_RULE_WINDOW = timedelta(days=365)
#: The most readings a rule may count (n of m, a baseline's minimum).
MAX_RULE_READINGS = 1000
#: Questionnaire score bounds are small integers; this is far beyond any questionnaire's range.
MAX_SCORE = 10_000


class PlanError(ValueError):
    """A plan that cannot be used as written, or a forbidden change to a plan."""


class _Frozen(BaseModel):
    model_config = ConfigDict(frozen=True, extra="forbid")


class Limit(_Frozen):
    """One bound: a value, and whether the value itself is on the bound's side."""

    value: float
    inclusive: bool = True

    @model_validator(mode="before")
    @classmethod
    def _from_number(cls, data: Any) -> Any:
        if isinstance(data, int | float) and not isinstance(data, bool):
            return {"value": data}
        return data

    def is_reached_below(self, x: float) -> bool:
        """True when ``x`` is at (if inclusive) or below the bound."""
        return x <= self.value if self.inclusive else x < self.value

    def is_reached_above(self, x: float) -> bool:
        """True when ``x`` is at (if inclusive) or above the bound."""
        return x >= self.value if self.inclusive else x > self.value

    def describe_low(self, unit: str = "") -> str:
        """The bound on the low side in words: "≤ 92 %" or "< 3 mmol/L"."""
        return f"{'≤' if self.inclusive else '<'} {format_quantity(self.value, unit)}"

    def describe_high(self, unit: str = "") -> str:
        """The bound on the high side in words: "≥ 180 mmHg" or "> 2 kg"."""
        return f"{'≥' if self.inclusive else '>'} {format_quantity(self.value, unit)}"


class NofM(_Frozen):
    """ "n of the last m readings": a yellow is raised only when n of m are out of range.

    ``side`` limits the debounce to yellows on one side ("low" or "high"); a red is never
    delayed.
    """

    n: int = Field(ge=1, le=MAX_RULE_READINGS)
    m: int = Field(ge=1, le=MAX_RULE_READINGS)
    side: Literal["low", "high", "both"] = "both"

    @model_validator(mode="after")
    def _n_within_m(self) -> Self:
        if self.n > self.m:
            raise ValueError(f"n ({self.n}) cannot exceed m ({self.m})")
        return self


class Side(StrEnum):
    LOW = "low"
    HIGH = "high"


class ParameterZones(_Frozen):
    """Zone bounds for one parameter; see the module docstring for the exact semantics.

    ``yellow_after`` is the *sustained* rule: a yellow (never a red) counts only once n of the
    last m readings of the parameter were yellow or worse.
    """

    red_low: Limit | None = None
    yellow_low: Limit | None = None
    yellow_high: Limit | None = None
    red_high: Limit | None = None
    yellow_after: NofM | None = None
    sources: tuple[str, ...] = ()

    @model_validator(mode="after")
    def _ordered(self) -> Self:
        lows = [b.value for b in (self.red_low, self.yellow_low) if b is not None]
        highs = [b.value for b in (self.yellow_high, self.red_high) if b is not None]
        if not lows and not highs:
            raise ValueError("a parameter needs at least one bound")
        if self.red_low and self.yellow_low and self.red_low.value > self.yellow_low.value:
            raise ValueError("red_low must not be above yellow_low")
        if self.yellow_high and self.red_high and self.yellow_high.value > self.red_high.value:
            raise ValueError("yellow_high must not be above red_high")
        if lows and highs and max(lows) >= min(highs):
            raise ValueError("the low bounds must lie below the high bounds")
        return self

    def zone(self, value: float) -> tuple[Colour, Side | None, Limit | None]:
        """The colour of ``value``, and which side and bound put it there (None when green)."""
        if self.red_low is not None and self.red_low.is_reached_below(value):
            return Colour.RED, Side.LOW, self.red_low
        if self.red_high is not None and self.red_high.is_reached_above(value):
            return Colour.RED, Side.HIGH, self.red_high
        if self.yellow_low is not None and self.yellow_low.is_reached_below(value):
            return Colour.YELLOW, Side.LOW, self.yellow_low
        if self.yellow_high is not None and self.yellow_high.is_reached_above(value):
            return Colour.YELLOW, Side.HIGH, self.yellow_high
        return Colour.GREEN, None, None


# ----------------------------------------------------------------------------- rules


class TrendRule(_Frozen):
    """A change within a window: the current value against the lowest (for a rise) or the
    highest (for a fall) value of the parameter measured within ``window`` before it.

    Example: weight rises more than 2 kg within 3 days → yellow.
    """

    type: Literal["trend"] = "trend"
    id: str
    parameter: Parameter
    window: timedelta = Field(le=MAX_RULE_WINDOW)
    rise: Limit | None = None
    fall: Limit | None = None
    colour: Colour = Colour.YELLOW
    sources: tuple[str, ...] = ()

    @model_validator(mode="after")
    def _one_direction(self) -> Self:
        if self.rise is None and self.fall is None:
            raise ValueError(f"trend rule {self.id!r} needs a rise or a fall")
        if self.window <= timedelta(0):
            raise ValueError(f"trend rule {self.id!r} needs a positive window")
        if self.colour is Colour.GREEN:
            raise ValueError(f"trend rule {self.id!r} must raise yellow or red")
        return self


class BaselineRule(_Frozen):
    """A change from the patient's own baseline.

    The baseline is either fixed in the plan (``baseline_value``, e.g. the median of the trial
    period, with ``baseline_note`` saying how it was found) or the median of the parameter's
    readings in the ``baseline_days`` before the reading (at least ``min_readings`` of them, or
    the rule stays silent). ``direction`` "below" fires when the value is ``change`` or more
    below the baseline; "above" when it is ``change`` or more above it. ``yellow_after``
    debounces a yellow (never a red) to n of the last m readings.
    """

    type: Literal["baseline"] = "baseline"
    id: str
    parameter: Parameter
    direction: Literal["below", "above"]
    change: Limit
    colour: Colour = Colour.YELLOW
    baseline_value: float | None = None
    baseline_note: str = ""
    baseline_days: int | None = Field(default=None, ge=1, le=MAX_RULE_WINDOW.days)
    min_readings: int = Field(default=5, ge=1, le=MAX_RULE_READINGS)
    yellow_after: NofM | None = None
    sources: tuple[str, ...] = ()

    @model_validator(mode="after")
    def _one_baseline(self) -> Self:
        if (self.baseline_value is None) == (self.baseline_days is None):
            raise ValueError(
                f"baseline rule {self.id!r} needs exactly one of baseline_value or baseline_days"
            )
        if self.colour is Colour.GREEN:
            raise ValueError(f"baseline rule {self.id!r} must raise yellow or red")
        return self


class CombinationRule(_Frozen):
    """Deviations in several groups of rules within a window make ``colour`` (red by default).

    ``groups`` names groups of rule ids; an entry ending in ``*`` matches every rule id that
    starts with what precedes it (``"threshold:*"``). With no groups, every rule is a group of
    its own: "two yellows from different rules within 24 h make red". The rule fires on the
    reading or report that completes the combination (it must itself deviate in a group).
    Missing-measurement, lost-contact and other combination findings never count.
    """

    type: Literal["combination"] = "combination"
    id: str
    groups: Mapping[str, tuple[str, ...]] = Field(default_factory=dict)
    min_groups: int = Field(default=2, ge=2, le=MAX_RULE_READINGS)
    within: timedelta = Field(default=timedelta(hours=24), gt=timedelta(0), le=MAX_RULE_WINDOW)
    colour: Colour = Colour.RED
    sources: tuple[str, ...] = ()

    def groups_of(self, rule_ids: Iterable[str]) -> dict[str, set[str]]:
        """The groups that ``rule_ids`` fall in, with the ids found in each."""
        found: dict[str, set[str]] = {}
        for rule_id in rule_ids:
            if not self.groups:
                found.setdefault(rule_id, set()).add(rule_id)
                continue
            for name, patterns in self.groups.items():
                if any(_matches(rule_id, p) for p in patterns):
                    found.setdefault(name, set()).add(rule_id)
        return found


def _matches(rule_id: str, pattern: str) -> bool:
    if pattern.endswith("*"):
        return rule_id.startswith(pattern[:-1])
    return rule_id == pattern


class QuestionnaireRule(_Frozen):
    """Score bands of a questionnaire; red-flag answers are red whatever the score.

    Without ``yellow_at``/``red_at`` the questionnaire's own bands apply.
    """

    type: Literal["questionnaire"] = "questionnaire"
    id: str
    questionnaire: str
    yellow_at: int | None = Field(default=None, ge=-MAX_SCORE, le=MAX_SCORE)
    red_at: int | None = Field(default=None, ge=-MAX_SCORE, le=MAX_SCORE)
    sources: tuple[str, ...] = ()


class News2Rule(_Frozen):
    """NEWS2 over the latest value of each parameter within ``window``.

    Computed only when every parameter is present (a missing one is never scored as 0):
    respiration rate, SpO2, systolic BP, pulse, temperature, and consciousness from the answer
    to ``consciousness_item`` in a questionnaire report (a true/"yes" answer means new
    confusion, "C"). Yellow from risk ``yellow_from``, red from ``red_from``.
    """

    type: Literal["news2"] = "news2"
    id: str
    window: timedelta = Field(default=timedelta(hours=1), gt=timedelta(0), le=MAX_RULE_WINDOW)
    consciousness_item: str = "new_confusion"
    yellow_from: News2Risk = News2Risk.LOW_MEDIUM
    red_from: News2Risk = News2Risk.MEDIUM
    sources: tuple[str, ...] = ()

    @model_validator(mode="after")
    def _ordered(self) -> Self:
        if self.yellow_from.rank > self.red_from.rank:
            raise ValueError("yellow_from must not be a higher risk than red_from")
        return self


class MissingMeasurementRule(_Frozen):
    """A scheduled measurement whose deadline passed with no reading: ``colour`` (yellow)."""

    type: Literal["missing"] = "missing"
    id: str = "missing"
    colour: Colour = Colour.YELLOW
    grace: timedelta = Field(default=timedelta(0), ge=timedelta(0), le=MAX_RULE_WINDOW)
    sources: tuple[str, ...] = ()


Rule = Annotated[
    TrendRule
    | BaselineRule
    | CombinationRule
    | QuestionnaireRule
    | News2Rule
    | MissingMeasurementRule,
    Field(discriminator="type"),
]


# ----------------------------------------------------------------------------- schedule


class ScheduledMeasurement(_Frozen):
    """Measure ``kinds`` (and/or answer ``questionnaire``) on ``days`` by ``due_by`` local time.

    ``days`` are ISO weekdays (1 = Monday … 7 = Sunday). Several items on the same day split
    it: a reading counts for the first item whose deadline it precedes.
    """

    kinds: tuple[Kind, ...] = ()
    questionnaire: str | None = None
    days: tuple[int, ...] = (1, 2, 3, 4, 5, 6, 7)
    due_by: time
    sources: tuple[str, ...] = ()

    @field_validator("days")
    @classmethod
    def _weekdays(cls, days: tuple[int, ...]) -> tuple[int, ...]:
        if not days or any(d < 1 or d > 7 for d in days):
            raise ValueError("days are ISO weekdays 1 (Monday) to 7 (Sunday), at least one")
        return tuple(sorted(set(days)))

    @field_validator("due_by")
    @classmethod
    def _wall_clock(cls, due_by: time) -> time:
        if due_by.tzinfo is not None:
            raise ValueError(
                'due_by is a wall-clock time in the schedule\'s time zone (e.g. "08:00"), '
                "without a zone or offset"
            )
        return due_by

    @model_validator(mode="after")
    def _something(self) -> Self:
        if not self.kinds and self.questionnaire is None:
            raise ValueError("a scheduled item needs kinds or a questionnaire")
        return self


class Schedule(_Frozen):
    """The measurement schedule, in the patient's IANA time zone."""

    timezone: str = "Europe/Oslo"
    items: tuple[ScheduledMeasurement, ...] = ()

    @field_validator("timezone")
    @classmethod
    def _known_zone(cls, name: str) -> str:
        try:
            ZoneInfo(name)
        except (ZoneInfoNotFoundError, ValueError) as err:
            raise ValueError(f"unknown IANA time zone {name!r}") from err
        return name

    @property
    def zone(self) -> ZoneInfo:
        return ZoneInfo(self.timezone)


# ----------------------------------------------------------------------------- actions


class ActionCode(StrEnum):
    """What is to be done, as coded in the plan (docs/clinical/templates.md)."""

    CONTINUE_PLAN = "continue_plan"
    SELF_CARE = "self_care"
    NURSE_REVIEW_SAME_DAY = "nurse_review_same_day"
    NURSE_REVIEW_NEXT = "nurse_review_next"
    CONTACT_GP_TODAY = "contact_gp_today"
    URGENT_LEGEVAKT = "urgent_legevakt"
    EMERGENCY_113 = "emergency_113"
    INFO_MISSING_DATA = "info_missing_data"


class ZoneActions(_Frozen):
    """What the patient and the nurse do in one zone."""

    patient: Text
    nurse: Text
    codes: tuple[ActionCode, ...] = ()


# ----------------------------------------------------------------------------- the plan


class Condition(StrEnum):
    COPD = "copd"
    HEART_FAILURE = "heart_failure"
    DIABETES = "diabetes"
    HYPERTENSION = "hypertension"
    COVID19 = "covid19"


class PlanStatus(StrEnum):
    DRAFT = "draft"
    APPROVED = "approved"
    RETIRED = "retired"


class Approval(_Frozen):
    by: str
    role: Literal["gp", "nurse"]
    at: AwareDatetime


PLAN_SCHEMA = "dho.plan/1"


class PlanVersion(_Frozen):
    """One immutable version of a patient's self-management plan."""

    schema_id: Literal["dho.plan/1"] = Field(default="dho.plan/1", alias="schema")
    plan_id: str
    version: int = Field(ge=1, le=2**31 - 1)  # plan_versions.version is an INTEGER column
    condition: Condition | None = None
    status: PlanStatus = PlanStatus.DRAFT
    approval: Approval | None = None
    retired_at: AwareDatetime | None = None
    goal: str = Field(default="", description="the patient's own goal: what matters to you?")
    spo2_scale: Literal[1, 2] = 1
    on_oxygen: bool = False
    zones: Mapping[Parameter, ParameterZones] = Field(default_factory=dict)
    rules: tuple[Rule, ...] = ()
    schedule: Schedule = Schedule()
    actions: Mapping[Colour, ZoneActions]
    sources: tuple[str, ...] = ()

    model_config = ConfigDict(frozen=True, extra="forbid", populate_by_name=True)

    @model_validator(mode="after")
    def _consistent(self) -> Self:
        missing = [c.value for c in Colour if c not in self.actions]
        if missing:
            raise ValueError(f"actions are missing for: {', '.join(missing)}")
        ids = [rule.id for rule in self.rules]
        dupes = sorted({i for i in ids if ids.count(i) > 1})
        if dupes:
            raise ValueError(f"rule ids must be unique: {', '.join(dupes)}")
        clash = sorted(set(ids) & {threshold_rule_id(p) for p in self.zones})
        if clash:
            raise ValueError(f"rule ids clash with threshold rules: {', '.join(clash)}")
        if self.status is PlanStatus.DRAFT and self.approval is not None:
            raise ValueError("a draft has no approval")
        if self.status is not PlanStatus.DRAFT and self.approval is None:
            raise ValueError(f"a {self.status} plan needs its approval (who, when)")
        if (self.status is PlanStatus.RETIRED) != (self.retired_at is not None):
            raise ValueError("retired_at is set exactly when the plan is retired")
        return self

    @property
    def label(self) -> str:
        """How reasons name this version: "plan v3"."""
        return f"plan v{self.version}"

    def to_json(self) -> str:
        return self.model_dump_json(by_alias=True)

    @classmethod
    def from_json(cls, data: str | bytes) -> PlanVersion:
        return cls.model_validate_json(data)


def threshold_rule_id(parameter: Parameter) -> str:
    """The id of the threshold rule of ``parameter`` (one per parameter with zones)."""
    return f"threshold:{parameter.value}"


def approve(
    plan: PlanVersion, *, by: str, role: Literal["gp", "nurse"], at: datetime
) -> PlanVersion:
    """The approved copy of a draft; approving anything else is a :class:`PlanError`."""
    if plan.status is not PlanStatus.DRAFT:
        raise PlanError(f"{plan.label} is {plan.status}; only a draft can be approved")
    return plan.model_copy(
        update={"status": PlanStatus.APPROVED, "approval": Approval(by=by, role=role, at=at)}
    )


def retire(plan: PlanVersion, *, at: datetime) -> PlanVersion:
    """The retired copy of an approved plan (when a newer version replaces it)."""
    if plan.status is not PlanStatus.APPROVED:
        raise PlanError(f"{plan.label} is {plan.status}; only an approved plan can be retired")
    return plan.model_copy(update={"status": PlanStatus.RETIRED, "retired_at": at})


def next_draft(plan: PlanVersion, **changes: Any) -> PlanVersion:
    """A new draft, one version up, with ``changes`` applied; the original is untouched."""
    data = plan.model_dump(by_alias=True)
    data.update(changes)
    data.update(version=plan.version + 1, status=PlanStatus.DRAFT, approval=None, retired_at=None)
    return PlanVersion.model_validate(data)
