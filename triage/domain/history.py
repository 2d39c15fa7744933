"""A patient's history as classification looks back at it.

:class:`History` is the plain value (tuples of readings, reports and findings, in no particular
order) that storage and the API build. :class:`PatientHistory` holds the same data kept sorted
and maintained incrementally, so that what a rule asks of it — "the values of this parameter
within ``[since, at)``", "the latest value measured at or before ``at``", "the yellow and red
findings of this rule within the window" — is a bisection and a slice, never a sort or a scan
of the whole history: classifying one reading costs the same whether the patient has ten
readings in the window or two hundred.

Orders (the old ``History``-based classifier sorted stably by these keys, so the results are
identical):

* readings by ``(measured_at, id)``; among equal keys in the order they were added;
* per parameter, the values of those readings in the same order (parallel lists of times, ids
  and values);
* reports by ``(answered_at, id)``;
* yellow and red findings by ``at``, per rule id, each with the sequence number of its arrival
  (a combination names a rule after the finding of it that came first).
"""

from __future__ import annotations

from bisect import bisect_left, bisect_right
from collections.abc import Callable, Collection, Hashable, Iterable
from datetime import datetime
from operator import attrgetter, itemgetter
from typing import Any

from pydantic import BaseModel, ConfigDict

from triage.domain.colours import Colour
from triage.domain.findings import Finding, RuleType
from triage.domain.readings import VALUE_KEYS, Parameter, Reading, Report


class History(BaseModel):
    """What the rules may look back at: the patient's earlier data and earlier findings."""

    model_config = ConfigDict(frozen=True, extra="forbid")

    readings: tuple[Reading, ...] = ()
    reports: tuple[Report, ...] = ()
    findings: tuple[Finding, ...] = ()


class Series:
    """One parameter's values, oldest first by ``(measured_at, id)``: parallel lists.

    Also keeps, per window length, the last window's values sorted (:meth:`sorted_window`), so
    that the median of a sliding window costs a few bisections instead of a sort."""

    __slots__ = ("_dropped", "_sorted", "ids", "times", "values", "version")

    def __init__(self) -> None:
        self.times: list[datetime] = []
        self.ids: list[str] = []
        self.values: list[float] = []
        #: changes when a value is inserted before others (not on appends, not on drops)
        self.version = 0
        #: how many values were dropped from the front: index i is value i + _dropped ever
        self._dropped = 0
        #: slot -> (version, lo, hi, values[lo:hi] sorted), lo and hi counted from the first
        #: value ever (``_dropped`` included); the lists are never changed once stored (readers
        #: on other threads may hold them), a change stores a new one
        self._sorted: dict[Hashable, tuple[int, int, int, list[float]]] = {}

    def copy(self) -> Series:
        other = Series.__new__(Series)
        other.times = self.times.copy()
        other.ids = self.ids.copy()
        other.values = self.values.copy()
        other.version = self.version
        other._dropped = self._dropped
        other._sorted = dict(self._sorted)  # immutable entries: shared
        return other

    def insert(self, index: int, at: datetime, item_id: str, value: float) -> None:
        if index == len(self.times):
            self.times.append(at)
            self.ids.append(item_id)
            self.values.append(value)
        else:
            self.times.insert(index, at)
            self.ids.insert(index, item_id)
            self.values.insert(index, value)
            self.version += 1

    def drop_first(self, count: int) -> None:
        if count:
            del self.times[:count]
            del self.ids[:count]
            del self.values[:count]
            self._dropped += count

    def sorted_window(self, lo: int, hi: int, slot: Hashable) -> list[float]:
        """``sorted(values[lo:hi])`` — equal values in index order, as a stable sort leaves
        them — kept per ``slot`` and moved along as the window slides (do not change it)."""
        values = self.values
        base = self._dropped
        entry = self._sorted.get(slot)
        if entry is not None and entry[0] == self.version and entry[1] >= base:
            _, old_lo, old_hi, old = entry
            old_lo -= base
            old_hi -= base
            if old_lo == lo and old_hi == hi:
                return old
            moves = abs(lo - old_lo) + abs(hi - old_hi)
            if old_lo <= hi and lo <= old_hi and moves <= _MAX_MOVES:
                window = old.copy()
                # the oldest values are the first of their equals, the newest the last
                for i in range(old_lo, lo):  # the window's start moved on: drop the oldest
                    del window[bisect_left(window, values[i])]
                for i in range(old_lo - 1, lo - 1, -1):  # moved back: older values, first
                    window.insert(bisect_left(window, values[i]), values[i])
                for i in range(old_hi - 1, hi - 1, -1):  # the end moved back: drop the newest
                    del window[bisect_right(window, values[i]) - 1]
                for i in range(old_hi, hi):  # the end moved on: newer values, last
                    window.insert(bisect_right(window, values[i]), values[i])
                self._sorted[slot] = (self.version, lo + base, hi + base, window)
                return window
        window = sorted(values[lo:hi])
        self._sorted[slot] = (self.version, lo + base, hi + base, window)
        return window


#: Beyond this many values in and out, a window is sorted afresh.
_MAX_MOVES = 48


class RuleFindings:
    """The yellow and red findings of one rule id, by ``at`` (then arrival)."""

    __slots__ = ("findings", "labels", "seqs", "times")

    def __init__(self) -> None:
        self.times: list[datetime] = []
        self.seqs: list[int] = []
        self.findings: list[Finding] = []
        #: the ways the findings of this rule id are named, and how many of each (almost always
        #: one way)
        self.labels: dict[tuple[Any, ...], int] = {}

    def copy(self) -> RuleFindings:
        other = RuleFindings.__new__(RuleFindings)
        other.times = self.times.copy()
        other.seqs = self.seqs.copy()
        other.findings = self.findings.copy()
        other.labels = self.labels.copy()  # a plain dict: a C copy
        return other

    def add(self, finding: Finding, seq: int) -> None:
        index = bisect_right(self.times, finding.at)
        self.times.insert(index, finding.at)
        self.seqs.insert(index, seq)
        self.findings.insert(index, finding)
        labels = self.labels
        key = label_key(finding)
        labels[key] = labels.get(key, 0) + 1

    def first_within(
        self, since: datetime, at: datetime, skip: Collection[RuleType] = ()
    ) -> Finding | None:
        """Of the findings made within ``[since, at]`` whose rule type is not in ``skip``, the
        one that was added first."""
        lo = bisect_left(self.times, since)
        hi = bisect_right(self.times, at)
        if lo >= hi:
            return None
        findings = self.findings
        if len(self.labels) == 1:  # all of one rule type and named alike: any will do
            first = findings[lo]
            return None if first.rule_type in skip else first
        seqs = self.seqs
        best: int | None = None
        for i in range(lo, hi):
            if findings[i].rule_type not in skip and (best is None or seqs[i] < seqs[best]):
                best = i
        return None if best is None else findings[best]

    def drop_before(self, cutoff: datetime) -> None:
        count = bisect_left(self.times, cutoff)
        if count:
            labels = self.labels
            for finding in self.findings[:count]:
                key = label_key(finding)
                left = labels[key] - 1
                if left <= 0:
                    del labels[key]
                else:
                    labels[key] = left
            del self.times[:count]
            del self.seqs[:count]
            del self.findings[:count]


def label_key(finding: Finding) -> tuple[Any, ...]:
    """What a combination's words for a rule depend on besides its id (see
    :func:`triage.domain.classify._rule_label`)."""
    questionnaire = (
        (finding.args or {}).get("questionnaire")
        if finding.rule_type is RuleType.QUESTIONNAIRE
        else None
    )
    return (finding.rule_type, finding.parameter, questionnaire)


class PatientHistory:
    """A patient's history kept sorted and incrementally: readings by (measured_at, id),
    per-parameter value series, reports by (answered_at, id), breach findings by at.

    Not thread-safe; a shared history is copied (:meth:`copy`) before it is grown.

    Copy-on-write inside: :meth:`copy` shares the lists, series and rule findings with the
    original and both give up owning them; whichever of the two is changed next copies the part
    it changes first (the readings, the reports, one parameter's series, one rule's findings),
    so a copy that only gains one reading copies the readings and that reading's series, not
    the rest."""

    __slots__ = (
        "_finding_count",
        "_findings",
        "_own_findings",
        "_own_readings",
        "_own_reports",
        "_own_series",
        "_reading_ids",
        "_reading_keys",
        "_readings",
        "_report_ids",
        "_report_keys",
        "_reports",
        "_seq",
        "_series",
    )

    def __init__(self) -> None:
        self._readings: list[Reading] = []
        self._reading_keys: list[tuple[datetime, str]] = []
        #: reading id -> how many readings with it (a plain dict: copied in C)
        self._reading_ids: dict[str, int] = {}
        self._series: dict[Parameter, Series] = {}
        self._reports: list[Report] = []
        self._report_keys: list[tuple[datetime, str]] = []
        self._report_ids: dict[str, int] = {}
        self._findings: dict[str, RuleFindings] = {}
        self._finding_count = 0
        self._seq = 0
        #: which parts this history owns (may change in place); the others are shared with a
        #: copy or an original and are copied before a change
        self._own_readings = True
        self._own_reports = True
        self._own_series: set[Parameter] | None = None  # None: all of them
        self._own_findings: set[str] | None = None  # None: all of them

    @classmethod
    def from_history(cls, history: History) -> PatientHistory:
        """The same history kept sorted (only the yellow and red findings are kept: the rules
        look back at no others)."""
        self = cls()
        readings = sorted(history.readings, key=_reading_key)  # stable, as classify sorted
        self._readings = readings
        self._reading_keys = list(map(_reading_key, readings))
        self._reading_ids = _counts([r.id for r in readings])
        series = self._series
        for r in readings:
            # r.parameters without caching it on each loaded reading (most are never
            # classified again): the same pairs, in the same order
            keys = VALUE_KEYS[r.kind]
            for key, value in r.values.items():
                parameter = keys.get(key)
                if parameter is None:
                    continue
                s = series.get(parameter)
                if s is None:
                    s = series[parameter] = Series()
                s.times.append(r.measured_at)
                s.ids.append(r.id)
                s.values.append(value)
        reports = sorted(history.reports, key=_report_key)
        self._reports = reports
        self._report_keys = list(map(_report_key, reports))
        self._report_ids = _counts([r.id for r in reports])
        self._load_findings(history.findings)
        return self

    def _load_findings(self, findings: Iterable[Finding]) -> None:
        """:meth:`_add_findings` into an empty history, all at once: per rule id, the findings
        in arrival order sorted stably by ``at`` (what adding them one by one, each after its
        equals, leaves)."""
        green = Colour.GREEN
        arrived: dict[str, list[tuple[datetime, int, Finding]]] = {}
        seq = self._seq
        for finding in findings:
            if finding.colour is green:
                continue
            entries = arrived.get(finding.rule_id)
            if entries is None:
                entries = arrived[finding.rule_id] = []
            entries.append((finding.at, seq, finding))
            seq += 1
        by_rule = self._findings
        for rule_id, entries in arrived.items():
            entries.sort(key=_first)  # stable: equal times keep their arrival order
            rule = by_rule[rule_id] = RuleFindings()
            rule.times = [e[0] for e in entries]
            rule.seqs = [e[1] for e in entries]
            rule.findings = [e[2] for e in entries]
            labels = rule.labels
            for e in entries:
                key = label_key(e[2])
                labels[key] = labels.get(key, 0) + 1
        self._finding_count += seq - self._seq
        self._seq = seq

    # --- growing

    def add_reading(self, reading: Reading, findings: Iterable[Finding]) -> None:
        """Add ``reading`` and its yellow and red findings (green ones are not kept)."""
        key = (reading.measured_at, reading.id)
        if not self._own_readings:
            self._take_readings()
        keys = self._reading_keys
        if not keys or keys[-1] <= key:
            index = len(keys)
            keys.append(key)
            self._readings.append(reading)
        else:
            index = bisect_right(keys, key)
            keys.insert(index, key)
            self._readings.insert(index, reading)
        ids = self._reading_ids
        ids[reading.id] = ids.get(reading.id, 0) + 1
        series = self._series
        own = self._own_series
        for parameter, value in reading.parameters.items():
            s = series.get(parameter)
            if s is None:
                s = series[parameter] = Series()
                if own is not None:
                    own.add(parameter)
            elif own is not None and parameter not in own:
                s = series[parameter] = s.copy()
                own.add(parameter)
            times = s.times
            if not times or (times[-1], s.ids[-1]) <= key:
                at = len(times)
            else:
                # the position of this key among the series' keys: after every equal key, as
                # among the readings (the readings before ``index`` that have this parameter)
                at = _bisect_right_keyed(s, key)
            s.insert(at, reading.measured_at, reading.id, value)
        self._add_findings(findings)

    def add_report(self, report: Report, findings: Iterable[Finding]) -> None:
        """Add ``report`` and its yellow and red findings (green ones are not kept)."""
        key = (report.answered_at, report.id)
        if not self._own_reports:
            self._take_reports()
        keys = self._report_keys
        if not keys or keys[-1] <= key:
            keys.append(key)
            self._reports.append(report)
        else:
            index = bisect_right(keys, key)
            keys.insert(index, key)
            self._reports.insert(index, report)
        ids = self._report_ids
        ids[report.id] = ids.get(report.id, 0) + 1
        self._add_findings(findings)

    def _add_findings(self, findings: Iterable[Finding]) -> None:
        by_rule = self._findings
        green = Colour.GREEN
        for finding in findings:
            if finding.colour is green:  # finding.is_breach, without the property call
                continue
            rule = self._own_rule(finding.rule_id)
            if rule is None:
                rule = by_rule[finding.rule_id] = RuleFindings()
                if self._own_findings is not None:
                    self._own_findings.add(finding.rule_id)
            rule.add(finding, self._seq)
            self._seq += 1
            self._finding_count += 1

    def _take_readings(self) -> None:
        self._readings = self._readings.copy()
        self._reading_keys = self._reading_keys.copy()
        self._reading_ids = self._reading_ids.copy()
        self._own_readings = True

    def _take_reports(self) -> None:
        self._reports = self._reports.copy()
        self._report_keys = self._report_keys.copy()
        self._report_ids = self._report_ids.copy()
        self._own_reports = True

    def _own_one_series(self, parameter: Parameter) -> Series:
        s = self._series[parameter]
        own = self._own_series
        if own is not None and parameter not in own:
            s = self._series[parameter] = s.copy()
            own.add(parameter)
        return s

    def _own_rule(self, rule_id: str) -> RuleFindings | None:
        rule = self._findings.get(rule_id)
        own = self._own_findings
        if rule is not None and own is not None and rule_id not in own:
            rule = self._findings[rule_id] = rule.copy()
            own.add(rule_id)
        return rule

    # --- asking

    def has_reading(self, reading_id: str) -> bool:
        return reading_id in self._reading_ids

    def has_report(self, report_id: str) -> bool:
        return report_id in self._report_ids

    def counts(self) -> tuple[int, int]:
        """(readings, reports)."""
        return len(self._readings), len(self._reports)

    @property
    def readings(self) -> list[Reading]:
        """The readings, oldest first by ``(measured_at, id)`` (do not change the list)."""
        return self._readings

    @property
    def reports(self) -> list[Report]:
        """The reports, oldest first by ``(answered_at, id)`` (do not change the list)."""
        return self._reports

    @property
    def findings(self) -> list[Finding]:
        """The yellow and red findings, in the order they were added."""
        pairs = [
            (seq, finding)
            for rule in self._findings.values()
            for seq, finding in zip(rule.seqs, rule.findings, strict=True)
        ]
        pairs.sort(key=lambda pair: pair[0])
        return [finding for _, finding in pairs]

    def series(self, parameter: Parameter) -> Series | None:
        """The values of ``parameter``, oldest first (do not change them)."""
        return self._series.get(parameter)

    def rule_findings(self) -> dict[str, RuleFindings]:
        """The yellow and red findings by rule id (do not change them)."""
        return self._findings

    def reading_count(self, reading_id: str) -> int:
        return self._reading_ids.get(reading_id, 0)

    def report_count(self, report_id: str) -> int:
        return self._report_ids.get(report_id, 0)

    def report_keys(self) -> list[tuple[datetime, str]]:
        return self._report_keys

    # --- keeping it bounded

    def copy(self) -> PatientHistory:
        """An independent copy: changing either leaves the other as it was (the parts are
        shared until one of the two changes them; the readings, reports and findings
        themselves are immutable)."""
        other = PatientHistory.__new__(PatientHistory)
        other._readings = self._readings
        other._reading_keys = self._reading_keys
        other._reading_ids = self._reading_ids
        other._series = self._series.copy()
        other._reports = self._reports
        other._report_keys = self._report_keys
        other._report_ids = self._report_ids
        other._findings = self._findings.copy()
        other._finding_count = self._finding_count
        other._seq = self._seq
        # neither owns the shared parts any more (the original may be copied again later, or
        # changed: either way its next change copies first)
        self._own_readings = other._own_readings = False
        self._own_reports = other._own_reports = False
        self._own_series = set()
        other._own_series = set()
        self._own_findings = set()
        other._own_findings = set()
        return other

    def drop_before(self, cutoff: datetime) -> None:
        """Forget readings measured, reports answered and findings made before ``cutoff``."""
        self._drop_readings(bisect_left(self._reading_keys, (cutoff,)))
        self._drop_reports(bisect_left(self._report_keys, (cutoff,)))
        emptied = []
        for rule_id in list(self._findings):
            times = self._findings[rule_id].times
            if not times or times[0] >= cutoff:
                continue  # nothing to drop: left as it is (maybe shared)
            rule = self._own_rule(rule_id)
            assert rule is not None  # noqa: S101 - present above
            before = len(rule.times)
            rule.drop_before(cutoff)
            self._finding_count -= before - len(rule.times)
            if not rule.times:
                emptied.append(rule_id)
        for rule_id in emptied:
            del self._findings[rule_id]

    def keep_newest(self, per_kind: int) -> None:
        """Keep at most the newest ``per_kind`` readings and ``per_kind`` reports (findings are
        kept; :meth:`drop_before` drops them by time)."""
        per_kind = max(per_kind, 0)
        self._drop_readings(max(len(self._readings) - per_kind, 0))
        self._drop_reports(max(len(self._reports) - per_kind, 0))

    def _drop_readings(self, count: int) -> None:
        if count <= 0:
            return
        if not self._own_readings:
            self._take_readings()
        dropped = self._readings[:count]
        del self._readings[:count]
        del self._reading_keys[:count]
        per_parameter: dict[Parameter, int] = {}
        ids = self._reading_ids
        for r in dropped:
            keys = VALUE_KEYS[r.kind]  # r.parameters, as in from_history
            for key in r.values:
                parameter = keys.get(key)
                if parameter is not None:
                    per_parameter[parameter] = per_parameter.get(parameter, 0) + 1
            left = ids[r.id] - 1
            if left <= 0:
                del ids[r.id]
            else:
                ids[r.id] = left
        # each series holds its parameter's readings in the readings' order, so the dropped
        # (oldest) readings are the first entries of each series
        for parameter, n in per_parameter.items():
            s = self._own_one_series(parameter)
            s.drop_first(n)
            if not s.times:
                del self._series[parameter]

    def _drop_reports(self, count: int) -> None:
        if count <= 0:
            return
        if not self._own_reports:
            self._take_reports()
        ids = self._report_ids
        for r in self._reports[:count]:
            left = ids[r.id] - 1
            if left <= 0:
                del ids[r.id]
            else:
                ids[r.id] = left
        del self._reports[:count]
        del self._report_keys[:count]

    def to_history(self) -> History:
        """The same history as a plain :class:`History` (readings and reports oldest first,
        findings in the order they were added)."""
        return History.model_construct(
            readings=tuple(self._readings),
            reports=tuple(self._reports),
            findings=tuple(self.findings),
        )

    def __repr__(self) -> str:
        return (
            f"PatientHistory(readings={len(self._readings)}, reports={len(self._reports)}, "
            f"findings={self._finding_count})"
        )


def _counts(ids: list[str]) -> dict[str, int]:
    out = dict.fromkeys(ids, 1)
    if len(out) == len(ids):  # the usual case: each id once
        return out
    out.clear()
    for item_id in ids:
        out[item_id] = out.get(item_id, 0) + 1
    return out


#: (measured_at, id) of a reading, (answered_at, id) of a report (in C)
_reading_key: Callable[[Reading], tuple[datetime, str]] = attrgetter("measured_at", "id")
_report_key: Callable[[Report], tuple[datetime, str]] = attrgetter("answered_at", "id")
_first = itemgetter(0)


def _bisect_right_keyed(series: Series, key: tuple[datetime, str]) -> int:
    """The index after every entry of ``series`` whose ``(time, id)`` is ``<= key``."""
    times, ids = series.times, series.ids
    at, item_id = key
    lo = bisect_left(times, at)
    hi = bisect_right(times, at)
    # among entries at the same time (few), by id
    while lo < hi and ids[lo] <= item_id:
        lo += 1
    return lo


__all__ = ["History", "PatientHistory", "RuleFindings", "Series"]
