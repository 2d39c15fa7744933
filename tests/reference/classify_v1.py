# ruff: noqa
# mypy: ignore-errors
"""REFERENCE ONLY — the classifier as it was at commit bab1d7b (``triage/domain/classify.py``),
frozen, never imported by the service.

Kept for issue 21: the service's classifier was rebuilt to look back at a sorted, incrementally
kept :class:`triage.domain.history.PatientHistory` (bisection into per-parameter series instead
of sorting and scanning the whole history for every reading). This copy is the specification
the rebuilt one must match: ``tests/unit/test_classify_equivalence.py`` classifies the
same simulated readings through both and requires identical colours, findings and alert events;
``bench/classify_throughput.py`` measures it as the "old" path.
Do not change it (except imports, if modules move); a deliberate change of the rules' meaning
changes both and says so in the test. Its ``History`` and ``GrowingHistory`` are its own (the
plain tuples it sorted per reading).
"""

from __future__ import annotations

import statistics
from collections.abc import Iterable, Sequence
from datetime import datetime, timedelta
from functools import cached_property
from typing import Any

from pydantic import BaseModel, ConfigDict

from triage import news2
from triage.domain.colours import Colour, worst
from triage.domain.findings import Finding, RuleType, message
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
    DataProblem,
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


class History(BaseModel):
    """What the rules may look back at: the patient's earlier data and earlier findings."""

    model_config = ConfigDict(frozen=True, extra="forbid")

    readings: tuple[Reading, ...] = ()
    reports: tuple[Report, ...] = ()
    findings: tuple[Finding, ...] = ()


class GrowingHistory:
    """A patient's history as classification grows it, item by item: ``stored`` plus each
    reading and report classified since, with its yellow and red findings — what the rules of
    the next item look back at. Ingest grows one per patient and batch; the replay of a draft
    plan grows one over the replayed window."""

    def __init__(self, stored: History | None = None) -> None:
        stored = stored or History()
        self.readings = list(stored.readings)
        self.reports = list(stored.reports)
        self.findings = list(stored.findings)
        self.grown = False
        self._value: History | None = stored

    def value(self) -> History:
        """The history now (built once per change)."""
        if self._value is None:
            self._value = History.model_construct(
                readings=tuple(self.readings),
                reports=tuple(self.reports),
                findings=tuple(self.findings),
            )
        return self._value

    def add_reading(self, reading: Reading, findings: Iterable[Finding]) -> None:
        self.readings.append(reading)
        self._add_findings(findings)

    def add_report(self, report: Report, findings: Iterable[Finding]) -> None:
        self.reports.append(report)
        self._add_findings(findings)

    def _add_findings(self, findings: Iterable[Finding]) -> None:
        self.findings.extend(f for f in findings if f.is_breach)
        self._value = None
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
    reading: Reading, plan: PlanVersion, history: History, now: datetime
) -> Classification:
    """Classify ``reading`` with ``plan``, looking back at ``history``, at time ``now``."""
    problems = check_plausibility(reading.kind, reading.values)
    if problems:
        raise ImplausibleReadingError(reading.id, problems)
    at = min(reading.measured_at, now)
    context = _Context(plan, history, at, exclude_id=reading.id)
    values = reading.parameters
    findings: list[Finding] = []
    for parameter, value in values.items():
        zones = plan.zones.get(parameter)
        if zones is not None:
            findings.append(context.threshold(parameter, zones, value))
    for rule in plan.rules:
        if isinstance(rule, TrendRule) and rule.parameter in values:
            findings.extend(context.trend(rule, values[rule.parameter]))
        elif isinstance(rule, BaselineRule) and rule.parameter in values:
            findings.extend(context.baseline(rule, values[rule.parameter]))
        elif isinstance(rule, News2Rule) and values.keys() & _NEWS2_PARAMETERS:
            findings.extend(context.news2(rule, extra_reading=(at, values)))
    findings.extend(context.combinations(findings))
    return _classification(reading.id, plan, findings)


def classify_report(
    report: Report, plan: PlanVersion, history: History, now: datetime
) -> Classification:
    """Classify a questionnaire report with the plan's questionnaire rules.

    Raises ``QuestionnaireError`` for answers that do not fit the questionnaire.
    """
    at = min(report.answered_at, now)
    context = _Context(plan, history, at, exclude_id=report.id)
    findings: list[Finding] = []
    for rule in plan.rules:
        if isinstance(rule, QuestionnaireRule) and rule.questionnaire == report.questionnaire:
            findings.append(context.questionnaire(rule, report))
        elif isinstance(rule, News2Rule) and rule.consciousness_item in report.answers:
            findings.extend(context.news2(rule, extra_report=report))
    findings.extend(context.combinations(findings))
    return _classification(report.id, plan, findings)


def _classification(item_id: str, plan: PlanVersion, findings: list[Finding]) -> Classification:
    return Classification(
        item_id=item_id,
        colour=worst(f.colour for f in findings),
        findings=tuple(findings),
        plan_id=plan.plan_id,
        plan_version=plan.version,
    )


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
    """The plan, the history before ``at``, and the helpers every rule needs."""

    def __init__(self, plan: PlanVersion, history: History, at: datetime, exclude_id: str) -> None:
        self.plan = plan
        self.at = at
        self._history = history
        self._exclude_id = exclude_id

    @cached_property
    def readings(self) -> list[Reading]:
        """Earlier readings measured at or before ``at``, oldest first."""
        return sorted(
            (
                r
                for r in self._history.readings
                if r.id != self._exclude_id and r.measured_at <= self.at
            ),
            key=lambda r: (r.measured_at, r.id),
        )

    @cached_property
    def reports(self) -> list[Report]:
        return sorted(
            (
                r
                for r in self._history.reports
                if r.id != self._exclude_id and r.answered_at <= self.at
            ),
            key=lambda r: (r.answered_at, r.id),
        )

    @cached_property
    def past_findings(self) -> list[Finding]:
        return [f for f in self._history.findings if f.at <= self.at]

    @cached_property
    def _series(self) -> dict[Parameter, list[tuple[datetime, float]]]:
        series: dict[Parameter, list[tuple[datetime, float]]] = {}
        for r in self.readings:
            if r.measured_at < self.at:
                for parameter, value in r.parameters.items():
                    series.setdefault(parameter, []).append((r.measured_at, value))
        return series

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
        # constructed without re-validation, ~3x cheaper on the ingest hot path; the words
        # come from the catalogue when the finding is shown (triage.texts)
        return Finding.model_construct(
            rule_id=rule_id,
            rule_type=rule_type,
            colour=colour,
            at=self.at,
            plan_id=self.plan.plan_id,
            plan_version=self.plan.version,
            parameter=parameter.value if parameter is not None else None,
            value=value,
            bound=bound,
            message=key,
            args=args,
            text=None,
        )

    def series(self, parameter: Parameter, since: datetime | None = None) -> list[float]:
        """Earlier values of ``parameter``, oldest first (within ``[since, at)`` if given)."""
        return [
            value
            for measured_at, value in self._series.get(parameter, ())
            if since is None or measured_at >= since
        ]

    def _sustained(self, hold: NofM | None, earlier: list[bool], now_out: bool) -> tuple[bool, int]:
        """Whether a yellow is confirmed by n of the last m readings (current included)."""
        if hold is None:
            return now_out, int(now_out)
        recent = ([*earlier, now_out])[-hold.m :]
        count = sum(recent)
        return count >= hold.n, count

    # --- threshold zones (with the optional "sustained" debounce for yellow)

    def threshold(self, parameter: Parameter, zones: ParameterZones, value: float) -> Finding:
        colour, side, bound = zones.zone(value)
        rule_id = threshold_rule_id(parameter)
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
            earlier = [zones.zone(v)[1] is side for v in self.series(parameter)]
            confirmed, count = self._sustained(zones.yellow_after, earlier, True)
            hold = zones.yellow_after
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
        checks: list[tuple[Limit, float, str, float]] = []
        if rule.rise is not None:
            lowest = min(window)
            checks.append((rule.rise, value - lowest, "rise", lowest))
        if rule.fall is not None:
            highest = max(window)
            checks.append((rule.fall, highest - value, "fall", highest))
        for limit, change, direction, ref in checks:
            if limit.is_reached_above(change):
                sign = "+" if direction == "rise" else "−"
                bound = f"{sign}{limit.describe_high(parameter.unit).split(' ', 1)[1]}"
                return [
                    self._finding(
                        rule.id,
                        RuleType.TREND,
                        rule.colour,
                        f"trend.{direction}",
                        {
                            "change": change,
                            "window_h": hours,
                            "ref": ref,
                            "limit": limit.value,
                            "limit_op": "ge" if limit.inclusive else "gt",
                        },
                        parameter=parameter,
                        value=value,
                        bound=bound,
                    )
                ]
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

    # --- change from the personal baseline

    def _baseline_value(self, rule: BaselineRule) -> tuple[float, dict[str, Any]] | None:
        if rule.baseline_value is not None:
            if rule.baseline_note:
                return rule.baseline_value, message("baseline.note", note=rule.baseline_note)
            return rule.baseline_value, message("baseline.from_plan")
        assert rule.baseline_days is not None  # noqa: S101 - guaranteed by the model
        values = self.series(rule.parameter, since=self.at - timedelta(days=rule.baseline_days))
        if len(values) < rule.min_readings:
            return None
        median = statistics.median(values)
        return median, message("baseline.median", readings=len(values), days=rule.baseline_days)

    def baseline(self, rule: BaselineRule, value: float) -> list[Finding]:
        found = self._baseline_value(rule)
        if found is None:
            return []
        base, note = found
        parameter = rule.parameter

        def departs(v: float) -> bool:
            change = base - v if rule.direction == "below" else v - base
            return rule.change.is_reached_above(change)

        op = "≥" if rule.change.inclusive else ">"
        bound = (
            f"{op} {format_quantity(rule.change.value, parameter.unit)} {rule.direction} "
            f"baseline {format_quantity(base, parameter.unit)}"
        )
        args: dict[str, Any] = {"base": base, "limit": rule.change.value}
        out = departs(value)
        colour = rule.colour if out else Colour.GREEN
        key = "baseline.out" if out else "baseline.within"
        if out:
            args.update(
                limit_op="ge" if rule.change.inclusive else "gt",
                direction=rule.direction,
                note=note,
            )
        if out and rule.colour is Colour.YELLOW and rule.yellow_after is not None:
            earlier = [departs(v) for v in self.series(parameter)]
            confirmed, count = self._sustained(rule.yellow_after, earlier, True)
            hold = rule.yellow_after
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
        for r in self.readings:
            if r.measured_at >= since:
                for p, v in r.parameters.items():
                    if p in _NEWS2_PARAMETERS:
                        latest[p] = v
        if extra_reading is not None:
            for p, v in extra_reading[1].items():
                if p in _NEWS2_PARAMETERS:
                    latest[p] = v
        consciousness: str | None = None
        reports: Iterable[Report] = [r for r in self.reports if r.answered_at >= since]
        if extra_report is not None:
            reports = [*reports, extra_report]
        for report in reports:
            answer = report.answers.get(rule.consciousness_item)
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

    # --- combinations of yellows from different rules

    def combinations(self, current: list[Finding]) -> list[Finding]:
        out: list[Finding] = []
        for rule in self.plan.rules:
            if isinstance(rule, CombinationRule):
                out.append(self._combination(rule, current))
        return out

    def _combination(self, rule: CombinationRule, current: list[Finding]) -> Finding:
        since = self.at - rule.within
        excluded = {
            RuleType.COMBINATION,
            RuleType.MISSING,
            RuleType.LOST_CONTACT,
            RuleType.NOTIFICATION,
            RuleType.JOURNAL,
        }
        breaching = {f.rule_id: f for f in current if f.is_breach and f.rule_type not in excluded}
        now_breaching = set(breaching)
        earlier: set[str] = set()
        for f in self.past_findings:
            if f.is_breach and f.rule_type not in excluded and f.at >= since:
                earlier.add(f.rule_id)
                breaching.setdefault(f.rule_id, f)
        groups = rule.groups_of(now_breaching | earlier)
        now_groups = rule.groups_of(now_breaching)
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
