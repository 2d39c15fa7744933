"""PatientHistory: the sorted, incrementally kept history equals the plain History it came from,
however it was grown (order of arrival, duplicates, drops)."""

from __future__ import annotations

import random
from datetime import timedelta
from typing import Any

from tests.unit.plans import NOW, reading
from triage.domain.classify import History as ReExported
from triage.domain.colours import Colour
from triage.domain.findings import Finding, RuleType
from triage.domain.history import History, PatientHistory
from triage.domain.readings import Parameter, Reading, Report


def _finding(rule_id: str, at_h: float, colour: Colour = Colour.YELLOW) -> Finding:
    return Finding(
        rule_id=rule_id,
        rule_type=RuleType.THRESHOLD,
        colour=colour,
        at=NOW - timedelta(hours=at_h),
        parameter="spo2",
    )


def _report(rid: str, at_h: float) -> Report:
    return Report(
        id=rid, questionnaire="cat", answered_at=NOW - timedelta(hours=at_h), answers={"q1": 1}
    )


def _series(history: PatientHistory, parameter: Parameter) -> list[tuple[object, str, float]]:
    s = history.series(parameter)
    if s is None:
        return []
    return list(zip(s.times, s.ids, s.values, strict=True))


def _expected_series(
    readings: list[Reading], parameter: Parameter
) -> list[tuple[object, str, float]]:
    ordered = sorted(readings, key=lambda r: (r.measured_at, r.id))
    return [
        (r.measured_at, r.id, r.parameters[parameter]) for r in ordered if parameter in r.parameters
    ]


def test_history_is_re_exported_from_classify() -> None:
    assert ReExported is History


def test_grown_in_any_order_equals_sorted() -> None:
    rng = random.Random(7)
    items = []
    for i in range(300):
        at = NOW - timedelta(minutes=rng.randrange(0, 600, 15))  # many equal times
        if rng.random() < 0.5:
            items.append(reading("spo2", at, f"r{rng.randrange(1000):04d}", spo2=90 + i % 10))
        else:
            items.append(reading("blood_pressure", at, f"b{i:04d}", systolic=120, diastolic=80))
    grown = PatientHistory()
    for r in items:
        grown.add_reading(r, [])
    built = PatientHistory.from_history(History(readings=tuple(items)))
    expected = sorted(items, key=lambda r: (r.measured_at, r.id))  # stable: arrival order kept
    assert grown.readings == expected
    assert built.readings == expected
    for parameter in (Parameter.SPO2, Parameter.SYSTOLIC, Parameter.DIASTOLIC):
        assert _series(grown, parameter) == _expected_series(items, parameter)
        assert _series(built, parameter) == _expected_series(items, parameter)
    assert grown.counts() == (300, 0)
    assert grown.has_reading(items[0].id)
    assert not grown.has_reading("nope")


def test_findings_keep_breaches_only_in_arrival_order() -> None:
    history = PatientHistory()
    a, b, c = _finding("x", 1), _finding("y", 5), _finding("x", 3, Colour.RED)
    history.add_reading(reading("spo2", NOW, spo2=93), [a, _finding("z", 1, Colour.GREEN), b])
    history.add_report(_report("q", 2), [c])
    assert history.findings == [a, b, c]
    assert history.counts() == (1, 1)
    assert history.has_report("q")
    rule = history.rule_findings()["x"]
    assert rule.times == [c.at, a.at]  # by time
    assert rule.first_within(NOW - timedelta(hours=4), NOW) is c  # same words: earliest in time
    assert rule.first_within(NOW - timedelta(minutes=30), NOW) is None


def test_copy_is_independent() -> None:
    history = PatientHistory()
    history.add_reading(reading("spo2", NOW, "r1", spo2=93), [_finding("x", 0)])
    other = history.copy()
    other.add_reading(reading("spo2", NOW - timedelta(hours=1), "r0", spo2=91), [_finding("x", 1)])
    other.add_report(_report("q", 1), [])
    assert history.counts() == (1, 0)
    assert _series(history, Parameter.SPO2) == [(NOW, "r1", 93)]
    assert len(history.findings) == 1
    assert other.counts() == (2, 1)
    assert [v for _, _, v in _series(other, Parameter.SPO2)] == [91, 93]
    assert len(other.findings) == 2


def test_drop_before_and_keep_newest() -> None:
    history = PatientHistory()
    readings = [
        reading("spo2", NOW - timedelta(hours=h), f"r{h:02d}", spo2=90 + h % 10) for h in range(20)
    ]
    readings += [
        reading(
            "blood_pressure", NOW - timedelta(hours=h), f"b{h:02d}", systolic=100 + h, diastolic=70
        )
        for h in range(0, 20, 3)
    ]
    random.Random(1).shuffle(readings)
    for r in readings:
        history.add_reading(r, [_finding("x", int(r.id[1:]))])
    for h in range(10):
        history.add_report(_report(f"q{h}", h * 2), [])
    cutoff = NOW - timedelta(hours=10)
    history.drop_before(cutoff)
    kept = [r for r in readings if r.measured_at >= cutoff]
    assert history.readings == sorted(kept, key=lambda r: (r.measured_at, r.id))
    for parameter in (Parameter.SPO2, Parameter.SYSTOLIC):
        assert _series(history, parameter) == _expected_series(kept, parameter)
    assert all(f.at >= cutoff for f in history.findings)
    assert history.counts() == (len(kept), 6)
    assert not history.has_reading("r15")
    history.keep_newest(5)
    newest = sorted(kept, key=lambda r: (r.measured_at, r.id))[-5:]
    assert history.readings == newest
    for parameter in (Parameter.SPO2, Parameter.SYSTOLIC):
        assert _series(history, parameter) == _expected_series(newest, parameter)
    assert history.counts() == (5, 5)
    assert [r.id for r in history.reports] == ["q4", "q3", "q2", "q1", "q0"]
    history.keep_newest(0)
    assert history.counts() == (0, 0)
    assert history.series(Parameter.SPO2) is None


def test_round_trip() -> None:
    readings = (
        reading("spo2", NOW, "r2", spo2=93),
        reading("spo2", NOW - timedelta(hours=1), "r1", spo2=95),
    )
    reports = (_report("q1", 1),)
    findings = (_finding("x", 1), _finding("y", 0, Colour.GREEN), _finding("z", 3))
    back = PatientHistory.from_history(
        History(readings=readings, reports=reports, findings=findings)
    ).to_history()
    assert back.readings == (readings[1], readings[0])
    assert back.reports == reports
    assert back.findings == (findings[0], findings[2])  # greens are not kept


def test_sorted_window_slides_like_a_stable_sort() -> None:
    """The kept window equals sorted(values[lo:hi]) — the very objects, equal values (1 and
    1.0) in index order — however the window moves, and after values are inserted."""
    rng = random.Random(3)
    history = PatientHistory()
    for step in range(600):
        at = NOW - timedelta(hours=rng.randrange(0, 400))
        value: float = rng.choice([90, 90.0, 91, 91.0, 92.5, 93, 94.0])
        history.add_reading(reading("spo2", at, f"r{step:04d}", spo2=value, pulse=70), [])
        s = history.series(Parameter.SPO2)
        assert s is not None
        n = len(s.values)
        for slot in ("a", "b"):
            lo = rng.randrange(0, n)
            hi = min(n, lo + rng.randrange(0, 60))
            window = s.sorted_window(lo, hi, slot)
            expected = sorted(s.values[lo:hi])
            assert [id(v) for v in window] == [id(v) for v in expected]
        # a sliding window, as consecutive readings ask it
        lo = max(0, n - 50 - step % 7)
        window = s.sorted_window(lo, n, "slide")
        assert [id(v) for v in window] == [id(v) for v in sorted(s.values[lo:n])]
        if step % 50 == 49:
            copy = history.copy()
            history.drop_before(NOW - timedelta(hours=300))
            c = copy.series(Parameter.SPO2)
            assert c is not None
            assert c.sorted_window(0, len(c.values), "x") == sorted(c.values)


def test_findings_are_built_as_model_construct_builds_them() -> None:
    """classify's shortcut gives the object Finding.model_construct gives."""
    from triage.domain.classify import _FINDING_FIELDS, _construct_finding

    values: dict[str, Any] = {
        "rule_id": "threshold:spo2",
        "rule_type": RuleType.THRESHOLD,
        "colour": Colour.YELLOW,
        "at": NOW,
        "plan_id": "p",
        "plan_version": 3,
        "parameter": "spo2",
        "value": 93.0,
        "bound": "≤ 94 %",
        "message": "threshold",
        "args": {"bound": 94.0, "bound_op": "le"},
        "text": None,
    }
    assert list(values) == list(_FINDING_FIELDS)
    fast = _construct_finding(dict(values))
    slow = Finding.model_construct(**values)
    assert fast == slow
    assert fast.__dict__ == slow.__dict__
    assert list(fast.__dict__) == list(slow.__dict__)
    assert fast.model_fields_set == slow.model_fields_set
    assert fast.model_dump(mode="json") == slow.model_dump(mode="json")
    assert fast.model_dump_json() == slow.model_dump_json()
    assert fast.is_breach
    assert repr(fast) == repr(slow)


def test_copy_on_write_both_ways() -> None:
    """A copy shares its parts until one side changes them: changes to either side, in any
    order (add, drop, cut, copy of a copy), never show on the other."""
    rng = random.Random(7)
    base = PatientHistory()
    for h in range(30):
        r = reading("spo2", NOW - timedelta(hours=h), f"r{h:02d}", spo2=90 + h % 10)
        base.add_reading(r, [_finding("x", h), _finding(f"y{h % 3}", h, Colour.RED)])
        if h % 4 == 0:
            base.add_report(_report(f"q{h}", h), [_finding("q", h)])
    snapshot = (list(base.readings), list(base.reports), list(base.findings))
    spo2 = _series(base, Parameter.SPO2)
    copy = base.copy()
    copy2 = copy.copy()
    # the original changes after the copies were made
    base.add_reading(reading("spo2", NOW + timedelta(minutes=5), "n1", spo2=88), [_finding("x", 0)])
    base.drop_before(NOW - timedelta(hours=10))
    base.keep_newest(3)
    assert (copy.readings, copy.reports, copy.findings) == snapshot
    assert _series(copy, Parameter.SPO2) == spo2
    # the copy changes: the original and the copy of the copy stay
    before = (list(base.readings), list(base.reports), list(base.findings))
    base_spo2 = _series(base, Parameter.SPO2)
    copy.add_reading(
        reading("blood_pressure", NOW, "b1", systolic=150, diastolic=80), [_finding("z", 0)]
    )
    copy.add_reading(reading("spo2", NOW - timedelta(minutes=30), "n2", spo2=95), [])
    copy.add_report(_report("qq", 0), [_finding("x", 1, Colour.RED)])
    copy.drop_before(NOW - timedelta(hours=rng.randint(5, 20)))
    assert (base.readings, base.reports, base.findings) == before
    assert _series(base, Parameter.SPO2) == base_spo2
    assert not base.has_reading("b1")
    assert not base.has_reading("n2")
    assert (copy2.readings, copy2.reports, copy2.findings) == snapshot
    assert _series(copy2, Parameter.SPO2) == spo2
    assert copy2.series(Parameter.SYSTOLIC) is None
    assert copy.has_reading("b1")
    assert copy.has_report("qq")
    assert not copy2.has_report("qq")


def test_from_history_loads_findings_as_adding_them_one_by_one() -> None:
    """from_history builds each rule's findings at once: the same lists (by time, equal times
    in arrival order, with their sequence numbers), labels and counts as adding them in turn."""
    rng = random.Random(11)
    findings = []
    for _ in range(300):
        f = _finding(
            rng.choice(("x", "y", "z")),
            rng.choice((1, 2, 2, 3, 5)),  # many equal times
            rng.choice((Colour.YELLOW, Colour.RED, Colour.GREEN)),
        )
        if rng.random() < 0.3:  # another rule type under the same id: another label
            f = f.model_copy(update={"rule_type": RuleType.TREND})
        findings.append(f)
    built = PatientHistory.from_history(History(findings=tuple(findings)))
    grown = PatientHistory()
    for f in findings:
        grown._add_findings([f])
    assert built.findings == grown.findings
    assert built.rule_findings().keys() == grown.rule_findings().keys()
    for rule_id, rule in built.rule_findings().items():
        other = grown.rule_findings()[rule_id]
        assert rule.times == other.times
        assert rule.seqs == other.seqs
        assert [id(f) for f in rule.findings] == [id(f) for f in other.findings]
        assert rule.labels == other.labels
    assert repr(built) == repr(grown)
    since = NOW - timedelta(hours=4)
    for rule_id, rule in built.rule_findings().items():
        other = grown.rule_findings()[rule_id]
        assert rule.first_within(since, NOW) is other.first_within(since, NOW)
