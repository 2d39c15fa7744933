"""Classification: a reading (or a questionnaire report) against the patient's plan version.

``classify(reading, plan, history, now)`` evaluates every rule of the plan that the reading
touches and returns a :class:`Classification`: the colour (the worst finding) and one
:class:`~triage.domain.findings.Finding` per evaluated rule, each naming the rule, the bound, the
value and the plan version. Green findings are kept: they tell an open alert that its rule is
back in range.

Determinism: only history measured at or before the reading counts, so the result does not
depend on the order in which readings arrive. A reading stamped in the future (a device clock
running ahead) is classified at ``now``, never as "latest".

An implausible reading is a data error, never a colour: :func:`classify` raises
:class:`ImplausibleReadingError` with the reasons.
"""

from __future__ import annotations

import statistics
import weakref
from bisect import bisect_left, bisect_right
from collections.abc import Callable, Iterable, Mapping, Sequence
from datetime import datetime, timedelta
from operator import itemgetter
from typing import Any

from pydantic import BaseModel, ConfigDict

from triage import news2
from triage.domain.colours import Colour
from triage.domain.findings import Finding, RuleType, message
from triage.domain.history import History as History  # re-exported: moved to history.py
from triage.domain.history import PatientHistory as PatientHistory
from triage.domain.history import Series
from triage.domain.plan import (
    BaselineRule,
    CombinationRule,
    Limit,
    News2Rule,
    NofM,
    ParameterZones,
    PlanVersion,
    QuestionnaireRule,
    Side,
    TrendRule,
    threshold_rule_id,
)
from triage.domain.questionnaires import get_questionnaire, score, score_bands
from triage.domain.readings import (
    PLAUSIBLE,
    REQUIRED_KEYS,
    VALUE_KEYS,
    DataProblem,
    Kind,
    Parameter,
    Reading,
    Report,
    check_plausibility,
    format_quantity,
)


class ImplausibleReadingError(ValueError):
    """The reading cannot be real; it is a data error with reasons, never a colour."""

    def __init__(self, reading_id: str, problems: Sequence[DataProblem]) -> None:
        self.reading_id = reading_id
        self.problems = tuple(problems)
        super().__init__(f"reading {reading_id}: " + "; ".join(p.message for p in problems))


class GrowingHistory:
    """A patient's history as classification grows it, item by item: ``stored`` plus each
    reading and report classified since, with its yellow and red findings — what the rules of
    the next item look back at. Ingest grows one per patient and batch; the replay of a draft
    plan grows one over the replayed window. Kept as a :class:`PatientHistory` (``stored``, if
    one, is copied, not changed)."""

    def __init__(self, stored: History | PatientHistory | None = None) -> None:
        if stored is None:
            self._history = PatientHistory()
        elif isinstance(stored, PatientHistory):
            self._history = stored.copy()
        else:
            self._history = PatientHistory.from_history(stored)
        self.grown = False

    def value(self) -> PatientHistory:
        """The history now (the live object: classify with it before growing it further)."""
        return self._history

    @property
    def readings(self) -> list[Reading]:
        """The readings, oldest first."""
        return self._history.readings

    @property
    def reports(self) -> list[Report]:
        """The reports, oldest first."""
        return self._history.reports

    @property
    def findings(self) -> list[Finding]:
        """The yellow and red findings, in the order they were added."""
        return self._history.findings

    def add_reading(self, reading: Reading, findings: Iterable[Finding]) -> None:
        self._history.add_reading(reading, findings)
        self.grown = True

    def add_report(self, report: Report, findings: Iterable[Finding]) -> None:
        self._history.add_report(report, findings)
        self.grown = True


class Classification(BaseModel):
    """The colour of one reading or report, and every finding that explains it."""

    model_config = ConfigDict(frozen=True, extra="forbid")

    item_id: str
    colour: Colour
    findings: tuple[Finding, ...]
    plan_id: str
    plan_version: int

    @property
    def reasons(self) -> tuple[Finding, ...]:
        """The yellow and red findings, worst first."""
        return tuple(
            sorted((f for f in self.findings if f.is_breach), key=lambda f: -f.colour.rank)
        )

    @property
    def explained(self) -> tuple[Finding, ...]:
        """The findings that explain the colour: the reasons, or the green verdicts."""
        return self.reasons or self.findings


# ----------------------------------------------------------------------------- entry points

#: The least history classify() is given: enough for "n of the last m" and 14-day baselines.
MIN_HISTORY = timedelta(days=14)


def history_window(plan: PlanVersion) -> timedelta:
    """How far back the rules of ``plan`` look; the storage loads this much history."""
    compiled = _compiled(plan)
    window = compiled.window
    if window is None:
        window = compiled.window = _history_window(plan)
    return window


def _history_window(plan: PlanVersion) -> timedelta:
    spans = [MIN_HISTORY]
    for rule in plan.rules:
        if isinstance(rule, TrendRule | News2Rule):
            spans.append(rule.window)
        elif isinstance(rule, BaselineRule) and rule.baseline_days is not None:
            spans.append(timedelta(days=rule.baseline_days))
        elif isinstance(rule, CombinationRule):
            spans.append(rule.within)
    return max(spans)


def classify(
    reading: Reading, plan: PlanVersion, history: History | PatientHistory, now: datetime
) -> Classification:
    """Classify ``reading`` with ``plan``, looking back at ``history``, at time ``now``.

    ``history`` is best a :class:`PatientHistory` (a :class:`History` is turned into one; the
    last one turned is reused while the same object is passed again)."""
    if not _plausible(reading.kind, reading.values):
        problems = check_plausibility(reading.kind, reading.values)
        if problems:
            raise ImplausibleReadingError(reading.id, problems)
    at = min(reading.measured_at, now)
    compiled = _compiled(plan)
    context = _Context(plan, _sorted(history), at, exclude_id=reading.id, compiled=compiled)
    values = reading.parameters
    findings: list[Finding] = []
    steps = compiled.steps.get(tuple(values))
    if steps is None:
        steps = compiled.steps_for(plan, tuple(values))
    for step, parameter, item in steps:
        if step is _THRESHOLD:
            findings.append(context.threshold(parameter, item, values[parameter]))
        elif step is _TREND:
            findings.extend(context.trend(item, values[parameter]))
        elif step is _BASELINE:
            findings.extend(context.baseline(item, values[parameter]))
        else:
            findings.extend(context.news2(item, extra_reading=(at, values)))
    if compiled.combination_rules:
        findings.extend(context.combinations(findings))
    return _classification(reading.id, plan, findings)


def classify_report(
    report: Report, plan: PlanVersion, history: History | PatientHistory, now: datetime
) -> Classification:
    """Classify a questionnaire report with the plan's questionnaire rules.

    Raises ``QuestionnaireError`` for answers that do not fit the questionnaire.
    """
    at = min(report.answered_at, now)
    context = _Context(plan, _sorted(history), at, exclude_id=report.id, compiled=_compiled(plan))
    findings: list[Finding] = []
    for rule in plan.rules:
        if isinstance(rule, QuestionnaireRule) and rule.questionnaire == report.questionnaire:
            findings.append(context.questionnaire(rule, report))
        elif isinstance(rule, News2Rule) and rule.consciousness_item in report.answers:
            findings.extend(context.news2(rule, extra_report=report))
    findings.extend(context.combinations(findings))
    return _classification(report.id, plan, findings)


#: The last plain History turned into a PatientHistory, and what it was turned into (callers
#: that classify many items against one History object pay for the sorting once).
_last_sorted: tuple[History, PatientHistory] | None = None


def _sorted(history: History | PatientHistory) -> PatientHistory:
    global _last_sorted
    if isinstance(history, PatientHistory):
        return history
    last = _last_sorted
    if last is not None and last[0] is history:
        return last[1]
    sorted_ = PatientHistory.from_history(history)
    _last_sorted = (history, sorted_)
    return sorted_


def _classification(item_id: str, plan: PlanVersion, findings: list[Finding]) -> Classification:
    # every part checked already (findings built here): constructed without re-validation
    colour = Colour.GREEN
    for f in findings:
        c = f.colour
        if c is Colour.RED:
            colour = c
            break
        if c is Colour.YELLOW:
            colour = c
    values: dict[str, Any] = {
        "item_id": item_id,
        "colour": colour,
        "findings": tuple(findings),
        "plan_id": plan.plan_id,
        "plan_version": plan.version,
    }
    if not _SHORTCUT_CLASSIFICATION:  # pragma: no cover - a change the shortcut does not know
        return Classification.model_construct(**values)
    result = Classification.__new__(Classification)
    _set_attribute(result, "__dict__", values)
    _set_attribute(result, "__pydantic_fields_set__", set(_CLASSIFICATION_FIELDS))
    _set_attribute(result, "__pydantic_extra__", None)
    _set_attribute(result, "__pydantic_private__", None)
    return result


# ----------------------------------------------------------------------------- per plan version

#: What classify does for a reading, by kind of step: (step, parameter, zones or rule).
_THRESHOLD, _TREND, _BASELINE, _NEWS2 = "threshold", "trend", "baseline", "news2"
_Step = tuple[str, Any, Any]  # (step, Parameter or None for NEWS2, zones or rule)


class _Compiled:
    """What a plan version asks of every reading, worked out once per plan version (and per
    set of parameters a reading carries) instead of once per reading: which zones and rules
    a reading with these parameters meets, in the order classify evaluates them; the threshold
    rule ids; the combination rules and which of their groups a rule id falls in."""

    __slots__ = (
        "__weakref__",
        "bounds",
        "combination_rules",
        "groups",
        "plan",
        "rule_ids",
        "steps",
        "window",
    )

    def __init__(self, plan: PlanVersion) -> None:
        #: the plan version (weakly: the plan cache decides how long it lives)
        self.plan = weakref.ref(plan)
        #: history_window(plan), once asked
        self.window: timedelta | None = None
        #: the reading's parameters (in its order) -> the steps, in classify's order
        self.steps: dict[tuple[Parameter, ...], tuple[_Step, ...]] = {}
        self.rule_ids: dict[Parameter, str] = {}
        #: baseline rule id -> the start of its bound's words (all but the baseline)
        self.bounds: dict[str, str] = {}
        self.combination_rules = tuple(r for r in plan.rules if isinstance(r, CombinationRule))
        #: per combination rule (by position): rule id -> the names of the groups it is in
        self.groups: tuple[dict[str, tuple[str, ...]], ...] = tuple(
            {} for _ in self.combination_rules
        )

    def steps_for(self, plan: PlanVersion, parameters: tuple[Parameter, ...]) -> tuple[_Step, ...]:
        steps: list[_Step] = []
        for parameter in parameters:
            zones = plan.zones.get(parameter)
            if zones is not None:
                steps.append((_THRESHOLD, parameter, zones))
        news2 = bool(set(parameters) & _NEWS2_PARAMETERS)
        for rule in plan.rules:
            if isinstance(rule, TrendRule) and rule.parameter in parameters:
                steps.append((_TREND, rule.parameter, rule))
            elif isinstance(rule, BaselineRule) and rule.parameter in parameters:
                steps.append((_BASELINE, rule.parameter, rule))
            elif isinstance(rule, News2Rule) and news2:
                steps.append((_NEWS2, None, rule))
        found = self.steps[parameters] = tuple(steps)
        return found

    def baseline_bound(self, rule: BaselineRule) -> str:
        bound = self.bounds.get(rule.id)
        if bound is None:
            op = "≥" if rule.change.inclusive else ">"
            bound = self.bounds[rule.id] = (
                f"{op} {format_quantity(rule.change.value, rule.parameter.unit)} "
                f"{rule.direction} baseline "
            )
        return bound

    def rule_id(self, parameter: Parameter) -> str:
        rule_id = self.rule_ids.get(parameter)
        if rule_id is None:
            rule_id = self.rule_ids[parameter] = threshold_rule_id(parameter)
        return rule_id

    def groups_of(self, index: int, rule_ids: Iterable[str]) -> dict[str, set[str]]:
        """``self.combination_rules[index].groups_of(rule_ids)``, each id's groups looked up
        once per plan version."""
        names = self.groups[index]
        found: dict[str, set[str]] = {}
        for rule_id in rule_ids:
            in_groups = names.get(rule_id)
            if in_groups is None:
                in_groups = names[rule_id] = tuple(
                    self.combination_rules[index].groups_of((rule_id,))
                )
            for name in in_groups:
                ids = found.get(name)
                if ids is None:
                    found[name] = {rule_id}
                else:
                    ids.add(rule_id)
        return found


#: Plan version objects worked out, by identity, for as long as the object lives (no bound
#: to outgrow: an entry leaves when its plan object is collected).
_COMPILED: dict[int, _Compiled] = {}


def _compiled(plan: PlanVersion) -> _Compiled:
    key = id(plan)
    found = _COMPILED.get(key)
    if found is not None and found.plan() is plan:
        return found
    found = _COMPILED[key] = _Compiled(plan)
    weakref.finalize(plan, _forget, key, weakref.ref(found))
    return found


def _forget(key: int, compiled: weakref.ref[_Compiled]) -> None:
    """The plan object of ``compiled`` is gone: drop its entry (unless another took its id)."""
    found = _COMPILED.get(key)
    if found is not None and found is compiled():
        _COMPILED.pop(key, None)


def _plausible(kind: Kind, values: Mapping[str, float]) -> bool:
    """True only when :func:`check_plausibility` would find nothing (a quick yes for the usual
    reading; False sends the caller to it for the reasons, or a yes it gives after all)."""
    keys = VALUE_KEYS[kind]
    for key, value in values.items():
        parameter = keys.get(key)
        if parameter is None:
            return False
        kind_of = type(value)
        if kind_of is not float and kind_of is not int:  # bool, subclasses: ask the full check
            return False
        low, high = PLAUSIBLE[parameter]
        if not low <= value <= high:  # NaN and infinities too
            return False
    if not REQUIRED_KEYS[kind] <= values.keys():
        return False
    return kind is not Kind.BLOOD_PRESSURE or values["diastolic"] < values["systolic"]


# ----------------------------------------------------------------------------- rule evaluation

_NEWS2_PARAMETERS = frozenset(
    {
        Parameter.RESPIRATORY_RATE,
        Parameter.SPO2,
        Parameter.SYSTOLIC,
        Parameter.PULSE,
        Parameter.TEMPERATURE,
    }
)


#: Findings a combination does not count.
_NOT_COMBINED = frozenset(
    {
        RuleType.COMBINATION,
        RuleType.MISSING,
        RuleType.LOST_CONTACT,
        RuleType.NOTIFICATION,
        RuleType.JOURNAL,
    }
)

_first = itemgetter(0)

#: Finding's fields, in their order (the order model_construct puts them in ``__dict__``).
_FINDING_FIELDS = tuple(Finding.model_fields)
#: Whether Finding is a model the shortcut below builds as model_construct does.
_SHORTCUT = (
    Finding.__pydantic_post_init__ is None
    and Finding.model_config.get("extra") != "allow"
    and not Finding.__pydantic_root_model__
)
_set_attribute = object.__setattr__
_new_finding = Finding.__new__
_CLASSIFICATION_FIELDS = tuple(Classification.model_fields)
_SHORTCUT_CLASSIFICATION = (
    _CLASSIFICATION_FIELDS == ("item_id", "colour", "findings", "plan_id", "plan_version")
    and Classification.__pydantic_post_init__ is None
    and Classification.model_config.get("extra") != "allow"
    and not Classification.__pydantic_root_model__
)


def _construct_finding(values: dict[str, Any]) -> Finding:
    """``Finding.model_construct(**values)`` for ``values`` that name every field in order:
    the same object (``__dict__``, fields set, no extra, no private attributes)."""
    if not _SHORTCUT:  # pragma: no cover - a change to Finding the shortcut does not know
        return Finding.model_construct(**values)
    finding = Finding.__new__(Finding)
    _set_attribute(finding, "__dict__", values)
    _set_attribute(finding, "__pydantic_fields_set__", set(_FINDING_FIELDS))
    _set_attribute(finding, "__pydantic_extra__", None)
    _set_attribute(finding, "__pydantic_private__", None)
    return finding


def _fmt(value: float) -> str:
    return format_quantity(value, "")


def _op(limit: Limit, side: Side) -> str:
    """How a value compares with ``limit`` on ``side``: "le", "lt" (low), "ge", "gt" (high)."""
    if side is Side.LOW:
        return "le" if limit.inclusive else "lt"
    return "ge" if limit.inclusive else "gt"


def _window_hours(window: timedelta) -> float:
    return window.total_seconds() / 3600


def _rule_label(finding: Finding) -> dict[str, Any]:
    """A rule as a nested message that names it in words (never its id)."""
    kind = finding.rule_type
    if kind is RuleType.QUESTIONNAIRE:
        questionnaire = (finding.args or {}).get("questionnaire")
        if questionnaire:
            return message("rule.questionnaire", questionnaire=questionnaire)
        return message("rule.questionnaire_unnamed")
    if kind in (RuleType.THRESHOLD, RuleType.TREND, RuleType.BASELINE):
        parameter = finding.parameter
        if parameter is None and finding.rule_id.startswith("threshold:"):
            parameter = finding.rule_id.split(":", 1)[1]
        if parameter is None:
            return message("rule.other")
        return message(f"rule.{kind.value}", parameter=parameter)
    return message(f"rule.{kind.value}")


class _Context:
    """The plan, the history before ``at``, and the helpers every rule needs.

    What a rule sees of the history: readings measured at or before ``at`` (values of a
    parameter: measured strictly before ``at``), reports answered at or before ``at``, findings
    made at or before ``at`` — never the item being classified (``exclude_id``: a re-classified
    item does not see itself). Every look is a bisection into the sorted history and a slice."""

    def __init__(
        self,
        plan: PlanVersion,
        history: PatientHistory,
        at: datetime,
        exclude_id: str,
        compiled: _Compiled,
    ) -> None:
        self.plan = plan
        self._compiled = compiled
        self._plan_id = plan.plan_id
        self._plan_version = plan.version
        self.at = at
        self._history = history
        self._exclude_id = exclude_id
        #: whether the item itself is in the history (re-classification: skip it)
        self._self_reading = history.has_reading(exclude_id)
        self._self_report = history.has_report(exclude_id)

    def _before(self, parameter: Parameter) -> tuple[Series, int] | None:
        """The series of ``parameter`` and the index just past its values measured before
        ``at``."""
        s = self._history.series(parameter)
        if s is None:
            return None
        return s, bisect_left(s.times, self.at)

    def series(self, parameter: Parameter, since: datetime | None = None) -> list[float]:
        """Earlier values of ``parameter``, oldest first (within ``[since, at)`` if given)."""
        found = self._before(parameter)
        if found is None:
            return []
        s, hi = found
        lo = 0 if since is None else bisect_left(s.times, since, 0, hi)
        if not self._self_reading:
            return s.values[lo:hi]
        exclude = self._exclude_id
        return [v for i, v in zip(s.ids[lo:hi], s.values[lo:hi], strict=True) if i != exclude]

    def last_values(self, parameter: Parameter, count: int) -> list[float]:
        """The last ``count`` earlier values of ``parameter`` (fewer if there are not as many),
        oldest first."""
        if count <= 0:
            return []
        found = self._before(parameter)
        if found is None:
            return []
        s, hi = found
        if not self._self_reading:
            return s.values[max(hi - count, 0) : hi]
        exclude, ids, values = self._exclude_id, s.ids, s.values
        out: list[float] = []
        i = hi - 1
        while i >= 0 and len(out) < count:
            if ids[i] != exclude:
                out.append(values[i])
            i -= 1
        out.reverse()
        return out

    def latest(self, parameter: Parameter, since: datetime) -> float | None:
        """The value of ``parameter`` measured last within ``[since, at]`` (the newest reading
        by ``(measured_at, id)``)."""
        s = self._history.series(parameter)
        if s is None:
            return None
        times = s.times
        i = bisect_right(times, self.at) - 1
        if self._self_reading:
            exclude, ids = self._exclude_id, s.ids
            while i >= 0 and ids[i] == exclude:
                i -= 1
        if i < 0 or times[i] < since:
            return None
        return s.values[i]

    # --- shared pieces

    def _finding(
        self,
        rule_id: str,
        rule_type: RuleType,
        colour: Colour,
        key: str,
        args: dict[str, Any],
        *,
        parameter: Parameter | None = None,
        value: float | None = None,
        bound: str | None = None,
    ) -> Finding:
        # built from checked parts (an approved plan, a plausible reading, this module's keys):
        # constructed without re-validation, the way Finding.model_construct builds it but
        # without its per-field loop (~10x cheaper on the ingest hot path); the words come
        # from the catalogue when the finding is shown (triage.texts)
        values: dict[str, Any] = {
            "rule_id": rule_id,
            "rule_type": rule_type,
            "colour": colour,
            "at": self.at,
            "plan_id": self._plan_id,
            "plan_version": self._plan_version,
            "parameter": parameter.value if parameter is not None else None,
            "value": value,
            "bound": bound,
            "message": key,
            "args": args,
            "text": None,
        }
        if not _SHORTCUT:  # pragma: no cover - a change to Finding the shortcut does not know
            return Finding.model_construct(**values)
        # _construct_finding, inlined (several findings per reading)
        finding = _new_finding(Finding)
        _set_attribute(finding, "__dict__", values)
        _set_attribute(finding, "__pydantic_fields_set__", set(_FINDING_FIELDS))
        _set_attribute(finding, "__pydantic_extra__", None)
        _set_attribute(finding, "__pydantic_private__", None)
        return finding

    def _sustained(self, hold: NofM | None, earlier: list[bool], now_out: bool) -> tuple[bool, int]:
        """Whether a yellow is confirmed by n of the last m readings (current included);
        ``earlier``: at least the last m - 1 earlier ones."""
        if hold is None:
            return now_out, int(now_out)
        recent = ([*earlier, now_out])[-hold.m :]
        count = sum(recent)
        return count >= hold.n, count

    # --- threshold zones (with the optional "sustained" debounce for yellow)

    def threshold(self, parameter: Parameter, zones: ParameterZones, value: float) -> Finding:
        colour, side, bound = zones.zone(value)
        rule_id = self._compiled.rule_id(parameter)
        if bound is None or side is None:
            return self._finding(
                rule_id,
                RuleType.THRESHOLD,
                Colour.GREEN,
                "threshold.green",
                {},
                parameter=parameter,
                value=value,
            )
        bound_text = (
            bound.describe_low(parameter.unit)
            if side is Side.LOW
            else bound.describe_high(parameter.unit)
        )
        args: dict[str, Any] = {"bound": bound.value, "bound_op": _op(bound, side)}
        if (
            colour is Colour.YELLOW
            and zones.yellow_after is not None
            and zones.yellow_after.side in ("both", side.value)
        ):
            hold = zones.yellow_after
            earlier = [zones.zone(v)[1] is side for v in self.last_values(parameter, hold.m - 1)]
            confirmed, count = self._sustained(hold, earlier, True)
            args.update(count=count, m=hold.m, n=hold.n)
            return self._finding(
                rule_id,
                RuleType.THRESHOLD,
                Colour.YELLOW if confirmed else Colour.GREEN,
                "threshold.sustained" if confirmed else "threshold.held",
                args,
                parameter=parameter,
                value=value,
                bound=bound_text,
            )
        return self._finding(
            rule_id,
            RuleType.THRESHOLD,
            colour,
            "threshold",
            args,
            parameter=parameter,
            value=value,
            bound=bound_text,
        )

    # --- trend within a window

    def trend(self, rule: TrendRule, value: float) -> list[Finding]:
        window = self.series(rule.parameter, since=self.at - rule.window)
        if not window:
            return []
        parameter = rule.parameter
        hours = _window_hours(rule.window)
        # rise first, then fall (the first that is reached is the finding)
        if rule.rise is not None:
            lowest = min(window)
            if rule.rise.is_reached_above(value - lowest):
                return [self._trend_out(rule, rule.rise, value - lowest, "rise", lowest, value)]
        if rule.fall is not None:
            highest = max(window)
            if rule.fall.is_reached_above(highest - value):
                return [self._trend_out(rule, rule.fall, highest - value, "fall", highest, value)]
        return [
            self._finding(
                rule.id,
                RuleType.TREND,
                Colour.GREEN,
                "trend.green",
                {"window_h": hours},
                parameter=parameter,
                value=value,
            )
        ]

    def _trend_out(
        self, rule: TrendRule, limit: Limit, change: float, direction: str, ref: float, value: float
    ) -> Finding:
        parameter = rule.parameter
        sign = "+" if direction == "rise" else "−"
        bound = f"{sign}{limit.describe_high(parameter.unit).split(' ', 1)[1]}"
        return self._finding(
            rule.id,
            RuleType.TREND,
            rule.colour,
            f"trend.{direction}",
            {
                "change": change,
                "window_h": _window_hours(rule.window),
                "ref": ref,
                "limit": limit.value,
                "limit_op": "ge" if limit.inclusive else "gt",
            },
            parameter=parameter,
            value=value,
            bound=bound,
        )

    # --- change from the personal baseline

    def _baseline_value(
        self, rule: BaselineRule
    ) -> tuple[float, Callable[[], dict[str, Any]]] | None:
        """The baseline, and how to say where it comes from (asked only when it is said)."""
        if rule.baseline_value is not None:
            if rule.baseline_note:
                note = rule.baseline_note
                return rule.baseline_value, lambda: message("baseline.note", note=note)
            return rule.baseline_value, lambda: message("baseline.from_plan")
        assert rule.baseline_days is not None  # noqa: S101 - guaranteed by the model
        days = rule.baseline_days
        since = self.at - timedelta(days=days)
        found = self._before(rule.parameter)
        if found is not None and not self._self_reading:
            # the median of the window kept sorted as it slides: no sort per reading
            s, hi = found
            lo = bisect_left(s.times, since, 0, hi)
            count = hi - lo
            if count < rule.min_readings:
                return None
            ordered = s.sorted_window(lo, hi, days)
            half = count // 2
            median = ordered[half] if count % 2 else (ordered[half - 1] + ordered[half]) / 2
        else:
            values = self.series(rule.parameter, since=since)
            if len(values) < rule.min_readings:
                return None
            count, median = len(values), statistics.median(values)
        return median, lambda: message("baseline.median", readings=count, days=days)

    def baseline(self, rule: BaselineRule, value: float) -> list[Finding]:
        found = self._baseline_value(rule)
        if found is None:
            return []
        base, note = found
        parameter = rule.parameter
        below = rule.direction == "below"
        reached = rule.change.is_reached_above

        def departs(v: float) -> bool:
            return reached(base - v if below else v - base)

        bound = self._compiled.baseline_bound(rule) + format_quantity(base, parameter.unit)
        args: dict[str, Any] = {"base": base, "limit": rule.change.value}
        out = reached(base - value if below else value - base)
        colour = rule.colour if out else Colour.GREEN
        key = "baseline.out" if out else "baseline.within"
        if out:
            args.update(
                limit_op="ge" if rule.change.inclusive else "gt",
                direction=rule.direction,
                note=note(),
            )
        if out and rule.colour is Colour.YELLOW and rule.yellow_after is not None:
            hold = rule.yellow_after
            earlier = [departs(v) for v in self.last_values(parameter, hold.m - 1)]
            confirmed, count = self._sustained(hold, earlier, True)
            args["count_note"] = message("count.needs", count=count, m=hold.m, n=hold.n)
            if not confirmed:
                colour = Colour.GREEN
                key = "baseline.held"
        return [
            self._finding(
                rule.id,
                RuleType.BASELINE,
                colour,
                key,
                args,
                parameter=parameter,
                value=value,
                bound=bound,
            )
        ]

    # --- questionnaire score bands and red flags

    def questionnaire(self, rule: QuestionnaireRule, report: Report) -> Finding:
        definition = get_questionnaire(rule.questionnaire)
        result = score(definition, report.answers, yellow_at=rule.yellow_at, red_at=rule.red_at)
        bands = score_bands(definition, rule.yellow_at, rule.red_at)
        args: dict[str, Any] = {
            "questionnaire": definition.id,
            "total": result.total,
            "from_plan": rule.yellow_at is not None or rule.red_at is not None,
        }
        if result.red_flags:
            key = "questionnaire.red_flag"
            args["flags"] = [
                message("item", questionnaire=definition.id, item=i) for i in result.red_flags
            ]
        elif result.colour is Colour.RED and bands.red_at is not None:
            key, args["at"] = "questionnaire.red", bands.red_at
        elif result.colour is Colour.YELLOW:
            key, args["at"] = "questionnaire.yellow", bands.yellow_at
        else:
            key, args["at"] = "questionnaire.green", bands.yellow_at
        return self._finding(
            rule.id,
            RuleType.QUESTIONNAIRE,
            result.colour,
            key,
            args,
            value=float(result.total),
            bound=result.band_reason,
        )

    # --- NEWS2 (all parameters present, never a missing one scored as 0)

    def news2(
        self,
        rule: News2Rule,
        extra_reading: tuple[datetime, dict[Parameter, float]] | None = None,
        extra_report: Report | None = None,
    ) -> list[Finding]:
        since = self.at - rule.window
        latest: dict[Parameter, float] = {}
        for p in _NEWS2_PARAMETERS:
            value = self.latest(p, since)
            if value is not None:
                latest[p] = value
        if extra_reading is not None:
            for p, v in extra_reading[1].items():
                if p in _NEWS2_PARAMETERS:
                    latest[p] = v
        consciousness: str | None = None
        answer = extra_report.answers.get(rule.consciousness_item) if extra_report else None
        if answer is None:
            answer = self._last_answer(rule.consciousness_item, since)
        if answer is not None:
            consciousness = "C" if answer in (True, "yes", 1, "1") else "A"
        if len(latest) < len(_NEWS2_PARAMETERS) or consciousness is None:
            return []
        result = news2.score(
            respiration_rate=latest[Parameter.RESPIRATORY_RATE],
            spo2=latest[Parameter.SPO2],
            systolic_bp=latest[Parameter.SYSTOLIC],
            pulse=latest[Parameter.PULSE],
            temperature=latest[Parameter.TEMPERATURE],
            consciousness=consciousness,
            on_oxygen=self.plan.on_oxygen,
            spo2_scale=self.plan.spo2_scale,
        )
        risk_rank = result.risk.rank
        if risk_rank >= rule.red_from.rank:
            colour = Colour.RED
        elif risk_rank >= rule.yellow_from.rank:
            colour = Colour.YELLOW
        else:
            colour = Colour.GREEN
        parts = [message("news2.part", news2=k, points=v) for k, v in result.scores.items() if v]
        args: dict[str, Any] = {"total": result.total, "risk": result.risk.value}
        if parts:
            args["parts"] = parts
        return [
            self._finding(
                rule.id,
                RuleType.NEWS2,
                colour,
                "news2.parts" if parts else "news2",
                args,
                value=float(result.total),
                bound=f"yellow from {rule.yellow_from}, red from {rule.red_from}",
            )
        ]

    def _last_answer(self, item: str, since: datetime) -> str | int | bool | None:
        """The answer to ``item`` in the last report answered within ``[since, at]`` that
        answers it."""
        history = self._history
        keys, reports = history.report_keys(), history.reports
        i = bisect_right(keys, self.at, key=_first) - 1
        lo = bisect_left(keys, since, 0, i + 1, key=_first)
        exclude = self._exclude_id if self._self_report else None
        while i >= lo:
            report = reports[i]
            if report.id != exclude:
                answer = report.answers.get(item)
                if answer is not None:
                    return answer
            i -= 1
        return None

    # --- combinations of yellows from different rules

    def combinations(self, current: list[Finding]) -> list[Finding]:
        return [
            self._combination(index, rule, current)
            for index, rule in enumerate(self._compiled.combination_rules)
        ]

    def _combination(self, index: int, rule: CombinationRule, current: list[Finding]) -> Finding:
        since = self.at - rule.within
        excluded = _NOT_COMBINED
        green = Colour.GREEN
        breaching = {
            f.rule_id: f for f in current if f.colour is not green and f.rule_type not in excluded
        }
        now_breaching = set(breaching)
        earlier: set[str] = set()
        for rule_id, past in self._history.rule_findings().items():
            f = past.first_within(since, self.at, excluded)
            if f is not None:
                earlier.add(rule_id)
                breaching.setdefault(rule_id, f)
        groups_of = self._compiled.groups_of
        if not now_breaching:  # nothing breaches now: it cannot fire (groups only counted)
            groups = groups_of(index, earlier)
            now_groups: dict[str, set[str]] = {}
        else:
            groups = groups_of(index, now_breaching | earlier)
            now_groups = groups_of(index, now_breaching) if earlier else groups
        hours = _window_hours(rule.within)
        if now_groups and len(groups) >= rule.min_groups:
            found = [
                [_rule_label(breaching[i]) for i in sorted(ids)]
                for _name, ids in sorted(groups.items())
            ]
            return self._finding(
                rule.id,
                RuleType.COMBINATION,
                rule.colour,
                "combination",
                {
                    "groups": len(groups),
                    "window_h": hours,
                    "found": found,
                    "min_groups": rule.min_groups,
                },
                value=float(len(groups)),
                bound=f"≥ {rule.min_groups} groups within {_fmt(hours)} h",
            )
        return self._finding(
            rule.id,
            RuleType.COMBINATION,
            Colour.GREEN,
            "combination.green",
            {"window_h": hours, "min_groups": rule.min_groups},
            value=float(len(groups)),
        )
