"""The rebuilt classifier (bisection into a sorted, incrementally kept PatientHistory) gives exactly
what the classifier of bab1d7b gave (``tests/reference/classify_v1.py``: sorting and scanning the
whole history for every reading) — issue 21's equivalence test.

100,000 simulated readings (``devices.simulate``), plus the questionnaire reports the simulated
patients answer, are classified through both paths; every colour, every finding
(``model_dump(mode="json")``) and every alert change (:func:`triage.domain.alerts.decide` over
both finding streams, with the same open alerts) must be identical. The stream covers:

* the five condition templates, and one plan with every rule option the templates leave out
  (trend falls, a fixed baseline, "sustained" thresholds and baselines, NEWS2 over a longer
  window, combinations of thresholds, NEWS2 and questionnaires);
* long histories: patients merged from several simulated ones, 150+ readings in the window;
* questionnaire reports, and NEWS2's consciousness answers;
* out-of-order arrivals (backfill: readings measured before ones already classified);
* re-classification of an item already in the history (same time, or a corrected time);
* device clocks ahead of ours (classified at ``now``);
* the DST days in Europe/Oslo (last Sundays of March and October), including readings in the
  skipped and the repeated hour, times kept in the zone and times converted to UTC;
* the history cut as a cache cuts it (``drop_before``, ``keep_newest``) and copied.

Deterministic (seeded); ~30-40 s on the project's 2-CPU machine.
"""

from __future__ import annotations

import random
from bisect import bisect_left, bisect_right
from collections.abc import Iterator
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, timedelta
from typing import Any
from zoneinfo import ZoneInfo

from hypothesis import given, settings
from hypothesis import strategies as st

from devices.simulate import Condition as SimCondition
from devices.simulate import SimulatedReading, SimulatedReport, make_patient, simulate
from tests.reference import classify_v1 as reference
from tests.unit.plans import ACTIONS
from triage.domain import alerts
from triage.domain.classify import (
    GrowingHistory,
    ImplausibleReadingError,
    PatientHistory,
    classify,
    classify_report,
)
from triage.domain.colours import Colour
from triage.domain.findings import Finding, RuleType
from triage.domain.history import History
from triage.domain.plan import Condition, PlanVersion
from triage.domain.questionnaires import QuestionnaireError
from triage.domain.readings import Kind, Reading, Report
from triage.domain.templates import template

OSLO = ZoneInfo("Europe/Oslo")
READINGS = 100_000
#: The starts of the simulated stretches: each spans a DST change in Oslo (29 March and 25
#: October 2026) or none.
STARTS = (
    datetime(2026, 3, 17, tzinfo=OSLO),
    datetime(2026, 10, 13, tzinfo=OSLO),
    datetime(2026, 6, 1, tzinfo=OSLO),
)
DST_DAYS = {date(2026, 3, 29), date(2026, 10, 25)}
DAYS = 24

#: Every rule option the templates leave out, on parameters the simulated patients measure.
SINK = PlanVersion.model_validate(
    {
        "plan_id": "plan-sink",
        "version": 7,
        "zones": {
            "spo2": {"red_low": 88, "yellow_low": 93, "yellow_after": {"n": 2, "m": 3}},
            "pulse": {
                "red_high": 130,
                "yellow_high": 100,
                "yellow_low": 50,
                "yellow_after": {"n": 2, "m": 4, "side": "high"},
            },
            "systolic": {"red_high": 180, "yellow_high": 150, "yellow_low": 100},
            "weight": {"yellow_high": 200},
            "temperature": {"red_high": 39.5, "yellow_high": 38.0, "yellow_low": 35.5},
        },
        "rules": [
            {
                "type": "trend",
                "id": "weight-rise-2d",
                "parameter": "weight",
                "window": "P2D",
                "rise": 1.0,
            },
            {
                "type": "trend",
                "id": "weight-fall-3d",
                "parameter": "weight",
                "window": "P3D",
                "fall": {"value": 1.5, "inclusive": False},
                "colour": "red",
            },
            {
                "type": "trend",
                "id": "spo2-both-12h",
                "parameter": "spo2",
                "window": "PT12H",
                "rise": 4,
                "fall": 3,
            },
            {
                "type": "baseline",
                "id": "pulse-baseline",
                "parameter": "pulse",
                "direction": "above",
                "change": 8,
                "baseline_days": 10,
                "min_readings": 4,
                "yellow_after": {"n": 2, "m": 3},
            },
            {
                "type": "baseline",
                "id": "spo2-fixed",
                "parameter": "spo2",
                "direction": "below",
                "change": 3,
                "baseline_value": 95,
                "baseline_note": "trial period median",
            },
            {
                "type": "baseline",
                "id": "systolic-baseline",
                "parameter": "systolic",
                "direction": "above",
                "change": 15,
                "baseline_days": 5,
                "min_readings": 2,
            },
            {"type": "news2", "id": "news2", "window": "PT6H"},
            {"type": "questionnaire", "id": "copd-q", "questionnaire": "copd-daily"},
            {"type": "questionnaire", "id": "hf-q", "questionnaire": "hf-daily", "yellow_at": 1},
            {"type": "combination", "id": "two-yellows"},
            {
                "type": "combination",
                "id": "vitals-with-symptoms",
                "groups": {
                    "vitals": ["threshold:*", "news2", "*-baseline"],
                    "symptoms": ["copd-q", "hf-q"],
                    "trend": ["weight-*", "spo2-both-12h"],
                },
                "min_groups": 2,
                "within": "P2D",
                "colour": "red",
            },
        ],
        "actions": ACTIONS,
    }
)

#: How many simulated patients make one with a long history (~12-18 readings a day).
LONG_MERGE = {
    "copd": 14,
    "heart_failure": 5,
    "diabetes": 13,
    "hypertension": 20,
    "covid19": 3,
    "sink": 3,
}

PLANS: dict[str, PlanVersion] = {c.value: template(c) for c in Condition} | {"sink": SINK}
#: Which simulated condition feeds each plan.
FEEDS = {c.value: SimCondition(c.value) for c in Condition} | {"sink": SimCondition.HEART_FAILURE}


@dataclass
class Item:
    """One arrival: a reading or report classified at ``now``; ``grow``: added to the history
    after (False: a re-classification of an item already there)."""

    item: Reading | Report
    now: datetime
    grow: bool = True


@dataclass
class Patient:
    id: str
    plan: PlanVersion
    arrivals: list[Item] = field(default_factory=list)
    readings: int = 0


def _events(
    condition: SimCondition, key: str, seed: int, start: datetime, merge: int
) -> list[SimulatedReading | SimulatedReport]:
    """Simulated events of ``merge`` simulated patients of ``condition``, as one patient's."""
    events: list[SimulatedReading | SimulatedReport] = []
    for m in range(merge):
        simulated = make_patient(f"{key}-{m}", condition, seed, rate_per_month=4, horizon_days=60)
        events += simulate(simulated, start, DAYS)
    return events


def _patient(number: int, plan_name: str, rng: random.Random) -> Patient:
    plan = PLANS[plan_name]
    condition = FEEDS[plan_name]
    start = STARTS[number % len(STARTS)]
    # long histories: patients merged from several simulated ones, ~150-250 readings in 14 days
    merge = LONG_MERGE[plan_name] if number % 10 == 0 else 1
    in_utc = number % 2 == 1  # times as storage returns them, or kept in the zone
    events = _events(condition, f"{plan_name}-{number}", 1000 + number, start, merge)
    items: list[Reading | Report] = []
    serial = 0

    def when(at: datetime) -> datetime:
        return at.astimezone(UTC) if in_utc else at

    def add_reading(kind: str, at: datetime, values: dict[str, float]) -> None:
        nonlocal serial
        serial += 1
        rid = f"{plan_name}-{number}-r{serial:05d}-{rng.randrange(100):02d}"
        items.append(Reading(id=rid, kind=Kind(kind), measured_at=when(at), values=values))

    def add_report(questionnaire: str, at: datetime, answers: dict[str, Any]) -> None:
        nonlocal serial
        serial += 1
        rid = f"{plan_name}-{number}-q{serial:05d}"
        items.append(
            Report(id=rid, questionnaire=questionnaire, answered_at=when(at), answers=answers)
        )

    news2 = plan_name in ("covid19", "sink")
    for event in events:
        if isinstance(event, SimulatedReading):
            at = event.measured_at
            add_reading(event.kind, at, dict(event.values))
            if news2 and event.kind == "spo2":
                # NEWS2 needs every parameter within its window: the rest of a vitals round
                add_reading(
                    "blood_pressure",
                    at + timedelta(minutes=rng.randint(1, 20)),
                    {
                        "systolic": (s := float(rng.randint(85, 185))),
                        "diastolic": float(rng.randint(50, int(s) - 25)),
                    },
                )
                add_reading(
                    "respiratory_rate",
                    at + timedelta(minutes=rng.randint(1, 30)),
                    {"rate": float(rng.choice((8, 11, 14, 18, 21, 23, 26)))},
                )
                if rng.random() < 0.6:
                    add_reading(
                        "body_temperature",
                        at - timedelta(minutes=rng.randint(0, 40)),
                        {"temperature": round(rng.gauss(37.3, 0.9), 1)},
                    )
                if rng.random() < 0.7:
                    add_report(
                        "covid-check",
                        at + timedelta(minutes=rng.randint(-50, 50)),
                        {"new_confusion": rng.choice(("no", "no", "no", "yes", 0, 1, True))},
                    )
            if plan_name == "sink" and event.kind == "body_weight" and rng.random() < 0.5:
                add_reading(
                    "heart_rate", at + timedelta(minutes=3), {"pulse": float(rng.randint(45, 140))}
                )
        else:
            add_report(event.questionnaire, event.answered_at, dict(event.answers))
    # readings in the skipped (March) and repeated (October) hours
    for day in sorted(DST_DAYS):
        if start.date() <= day < start.date() + timedelta(days=DAYS):
            kind, values = _any_reading(items)
            for minute, fold in ((10, 0), (40, 0), (20, 1), (50, 1)):
                local = datetime(day.year, day.month, day.day, 2, minute, tzinfo=OSLO, fold=fold)
                add_reading(kind, local, values)
    return Patient(f"p-{plan_name}-{number}", plan, _arrivals(items, rng, in_utc))


def _any_reading(items: list[Reading | Report]) -> tuple[str, dict[str, float]]:
    for item in items:
        if isinstance(item, Reading):
            return item.kind.value, dict(item.values)
    return "spo2", {"spo2": 94.0, "pulse": 80.0}


def _measured(reading: Reading) -> datetime:
    return reading.measured_at


def _time(item: Reading | Report) -> datetime:
    return item.measured_at if isinstance(item, Reading) else item.answered_at


def _arrivals(items: list[Reading | Report], rng: random.Random, in_utc: bool) -> list[Item]:
    """Each item arrives shortly after it was measured — some days late (backfill), some with
    a device clock ahead of ours — and some arrive again (re-classification)."""
    timed: list[tuple[datetime, int, Item]] = []
    for index, item in enumerate(items):
        at = _time(item)
        luck = rng.random()
        if luck < 0.06:  # backfill: a gateway that was offline
            arrives = at + timedelta(hours=rng.uniform(2, 72))
        elif luck < 0.08 and (in_utc or at.astimezone(OSLO).date() not in DST_DAYS):
            # a device clock ahead: measured "after" now, classified at now (a zone-kept time
            # compared with a UTC "now" is compared by instant, the history by wall clock, so
            # not on the day the clock hour repeats: both classifiers sort by wall clock there)
            arrives = at - timedelta(minutes=rng.uniform(1, 30))
        else:
            arrives = at + timedelta(seconds=rng.uniform(1, 600))
        now = arrives.astimezone(UTC)
        timed.append((now, index, Item(item, now)))
        if rng.random() < 0.03:  # arrives again later: classified again, not added again
            again = item
            if rng.random() < 0.4:  # with a corrected time
                shift = timedelta(minutes=rng.uniform(-120, 120))
                if isinstance(item, Reading):
                    again = item.model_copy(update={"measured_at": item.measured_at + shift})
                else:
                    again = item.model_copy(update={"answered_at": item.answered_at + shift})
            later = now + timedelta(hours=rng.uniform(0, 30))
            timed.append((later, index, Item(again, max(later, _time(again)), grow=False)))
    timed.sort(key=lambda t: (t[0], t[1]))
    return [item for _, _, item in timed]


def _population() -> Iterator[Patient]:
    rng = random.Random(2126)
    total = 0
    number = 0
    names = list(PLANS)
    while total < READINGS:
        patient = _patient(number, names[number % len(names)], rng)
        patient.readings = sum(
            1 for a in patient.arrivals if isinstance(a.item, Reading) and a.grow
        )
        if total + patient.readings > READINGS:  # exactly READINGS readings in all
            kept, count = [], 0
            for a in patient.arrivals:
                if isinstance(a.item, Reading) and a.grow:
                    if total + count == READINGS:
                        continue
                    count += 1
                kept.append(a)
            patient.arrivals, patient.readings = kept, count
        total += patient.readings
        number += 1
        yield patient


# ----------------------------------------------------------------------------- the two paths


def _old(item: Item, plan: PlanVersion, history: Any) -> Any:
    """``history``: the reference's GrowingHistory (or anything with its ``value()``)."""
    try:
        if isinstance(item.item, Reading):
            return reference.classify(item.item, plan, history.value(), item.now)
        return reference.classify_report(item.item, plan, history.value(), item.now)
    except (ImplausibleReadingError, reference.ImplausibleReadingError, QuestionnaireError) as e:
        return e


def _new(item: Item, plan: PlanVersion, history: PatientHistory | GrowingHistory) -> Any:
    value = history.value() if isinstance(history, GrowingHistory) else history
    try:
        if isinstance(item.item, Reading):
            return classify(item.item, plan, value, item.now)
        return classify_report(item.item, plan, value, item.now)
    except (ImplausibleReadingError, QuestionnaireError) as e:
        return e


def _dump(result: Any) -> Any:
    if isinstance(result, Exception):
        return ("error", type(result).__name__, str(result))
    return result.model_dump(mode="json")


class _Alerts:
    """A patient's open alerts, changed by the reference's decisions; handled by a nurse a day
    after they open."""

    def __init__(self, patient_id: str) -> None:
        self.patient_id = patient_id
        self.open: dict[str, alerts.Alert] = {}
        self.serial = 0
        self.changes = 0

    def check(self, old: list[Finding], new: list[Finding], now: datetime) -> None:
        current = list(self.open.values())
        expected = alerts.decide(self.patient_id, current, old)
        got = alerts.decide(self.patient_id, current, new)
        assert [c.model_dump(mode="json") for c in got] == [
            c.model_dump(mode="json") for c in expected
        ]
        self.changes += len(expected)
        for change in expected:
            if isinstance(change, alerts.OpenAlert):
                self.serial += 1
                alert, _ = alerts.open_alert(change, f"{self.patient_id}-a{self.serial}")
            else:
                alert, _ = alerts.apply(self.open[change.alert_id], change)
            self.open[alert.id] = alert
        for alert_id, alert in list(self.open.items()):
            if now - alert.opened_at > timedelta(days=1):
                seen, _ = (
                    alerts.acknowledge(alert, by="nurse", at=now)
                    if alert.state is alerts.AlertState.OPEN
                    else (alert, None)
                )
                alerts.resolve(seen, by="nurse", at=now)
                del self.open[alert_id]


def _cut(old: reference.GrowingHistory, new: PatientHistory, cutoff: datetime, per: int) -> None:
    """Cut both histories as a cache does: nothing before ``cutoff``, at most ``per`` readings
    and reports (the newest)."""
    new.drop_before(cutoff)
    new.keep_newest(per)
    readings = sorted(
        (r for r in old.readings if r.measured_at >= cutoff), key=lambda r: (r.measured_at, r.id)
    )
    reports = sorted(
        (r for r in old.reports if r.answered_at >= cutoff), key=lambda r: (r.answered_at, r.id)
    )
    old.readings = readings[-per:] if per else []
    old.reports = reports[-per:] if per else []
    old.findings = [f for f in old.findings if f.at >= cutoff]
    old._value = None


def test_new_classifier_equals_the_reference_on_100k_simulated_readings() -> None:
    readings = reports = reclassified = long_windows = backfilled = dst = 0
    alert_changes = 0
    colours: dict[str, int] = {}
    templates_seen: set[str] = set()
    for number, patient in enumerate(_population()):
        plan = patient.plan
        old = reference.GrowingHistory()
        grown: PatientHistory | GrowingHistory = (
            GrowingHistory() if number % 4 == 3 else PatientHistory()
        )
        book = _Alerts(patient.id)
        latest: datetime | None = None
        last_cut: datetime | None = None
        for step, item in enumerate(patient.arrivals):
            new_history = grown.value() if isinstance(grown, GrowingHistory) else grown
            if step % 97 == 0 and isinstance(grown, PatientHistory):
                # a plain History is turned into a PatientHistory: same answer
                result_new = _new(item, plan, new_history.to_history())  # type: ignore[arg-type]
            else:
                result_new = _new(item, plan, grown)
            result_old = _old(item, plan, old)
            assert _dump(result_new) == _dump(result_old), (patient.id, step, item)
            at = _time(item.item)
            if isinstance(item.item, Reading):
                readings += item.grow
            else:
                reports += 1
            reclassified += not item.grow
            if latest is not None and at < latest:
                backfilled += 1
            if at.astimezone(OSLO).date() in DST_DAYS:
                dst += 1
            if isinstance(result_old, Exception):
                continue
            templates_seen.add(plan.plan_id)
            colours[result_old.colour.value] = colours.get(result_old.colour.value, 0) + 1
            old_findings, new_findings = list(result_old.findings), list(result_new.findings)
            book.check(old_findings, new_findings, item.now)
            if item.grow:
                if isinstance(item.item, Reading):
                    old.add_reading(item.item, old_findings)
                    grown.add_reading(item.item, new_findings)
                else:
                    old.add_report(item.item, old_findings)
                    grown.add_report(item.item, new_findings)
                latest = at if latest is None or at > latest else latest
            if isinstance(item.item, Reading):
                kept = new_history.readings
                in_window = bisect_right(kept, at, key=_measured) - bisect_left(
                    kept, at - timedelta(days=14), key=_measured
                )
                long_windows += in_window >= 150
            if isinstance(grown, PatientHistory) and (
                last_cut is None or item.now - last_cut > timedelta(days=1)
            ):
                # what a cache keeps (the window and a day, at most 250 of each kind), and a
                # copy (the cache's copy-on-write)
                last_cut = item.now
                _cut(old, grown, item.now - timedelta(days=15), 250)
                grown = grown.copy()
        alert_changes += book.changes
    seen = (
        f"readings={readings} reports={reports} reclassified={reclassified} "
        f"backfilled={backfilled} long_windows={long_windows} dst={dst} "
        f"alert_changes={alert_changes} colours={colours}"
    )
    assert readings == READINGS, seen
    assert templates_seen >= {plan.plan_id for plan in PLANS.values()}
    assert colours.keys() == {"green", "yellow", "red"}
    # the stream covers what it claims to
    assert reports > 5_000, seen
    assert reclassified > 2_000, seen
    assert backfilled > 2_000, seen
    assert long_windows > 10_000, seen
    assert dst > 1_000, seen
    assert alert_changes > 5_000, seen


# ----------------------------------------------------------------------------- a property

_NOW = datetime(2026, 10, 25, 12, 0, tzinfo=UTC)
_KINDS: dict[str, Any] = {
    "spo2": st.fixed_dictionaries(
        {
            "spo2": st.sampled_from([86.0, 90.0, 92.0, 94.0, 97.0]),
            "pulse": st.sampled_from([48.0, 70.0, 104.0, 135.0]),
        }
    ),
    "body_weight": st.fixed_dictionaries({"weight": st.sampled_from([80.0, 81.2, 82.5, 84.0])}),
    "blood_pressure": st.fixed_dictionaries(
        {"systolic": st.sampled_from([95.0, 130.0, 160.0, 185.0]), "diastolic": st.just(70.0)}
    ),
    "respiratory_rate": st.fixed_dictionaries({"rate": st.sampled_from([8.0, 14.0, 23.0])}),
    "body_temperature": st.fixed_dictionaries({"temperature": st.sampled_from([35.0, 37.0, 38.5])}),
}
#: Few distinct times and ids: equal times and repeated ids are what orders and exclusions
#: get wrong.
_times = st.integers(0, 96).map(lambda q: _NOW - timedelta(minutes=45 * q))
_CONFUSION: list[str | int | bool] = ["no", "yes", 0, 1, True]
_ids = st.sampled_from([f"i{n}" for n in range(12)])


@st.composite
def _readings(draw: st.DrawFn) -> Reading:
    kind = draw(st.sampled_from(sorted(_KINDS)))
    return Reading(
        id=draw(_ids), kind=Kind(kind), measured_at=draw(_times), values=draw(_KINDS[kind])
    )


@st.composite
def _reports(draw: st.DrawFn) -> Report:
    return Report(
        id=draw(_ids),
        questionnaire="covid-check",
        answered_at=draw(_times),
        answers={"new_confusion": draw(st.sampled_from(_CONFUSION))},
    )


@st.composite
def _findings(draw: st.DrawFn) -> Finding:
    rule_type = draw(st.sampled_from(list(RuleType)))
    return Finding.model_construct(
        rule_id=draw(st.sampled_from(["threshold:spo2", "weight-rise-2d", "news2", "hf-q", "x"])),
        rule_type=rule_type,
        colour=draw(st.sampled_from(list(Colour))),
        at=draw(_times),
        plan_id="plan-sink",
        plan_version=draw(st.sampled_from([6, 7])),
        parameter=draw(st.sampled_from([None, "spo2", "weight"])),
        value=None,
        bound=None,
        message="m",
        args={"questionnaire": draw(st.sampled_from(["hf-daily", "copd-daily"]))},
        text=None,
    )


@settings(max_examples=300, deadline=None)
@given(
    readings=st.lists(_readings(), max_size=40),
    reports=st.lists(_reports(), max_size=8),
    findings=st.lists(_findings(), max_size=20),
    item=st.one_of(_readings(), _reports()),
    ahead=st.sampled_from([timedelta(0), timedelta(minutes=50), timedelta(hours=-2)]),
)
def test_any_history_classifies_alike(
    readings: list[Reading],
    reports: list[Report],
    findings: list[Finding],
    item: Reading | Report,
    ahead: timedelta,
) -> None:
    """Any history (equal times, repeated ids, the item itself in it, findings of one rule id
    named differently, in any order) gives the reference's classification."""
    now = _time(item) - ahead  # negative: classified later; positive: device clock ahead
    old = reference.History(
        readings=tuple(readings), reports=tuple(reports), findings=tuple(findings)
    )
    new = PatientHistory.from_history(
        History(readings=tuple(readings), reports=tuple(reports), findings=tuple(findings))
    )
    grown = PatientHistory()
    for r in readings:
        grown.add_reading(r, [])
    for q in reports:
        grown.add_report(q, [])
    if readings:
        grown.add_reading(readings[0], findings)
    for plan in (SINK, PLANS["covid19"]):
        expected = _dump(_old(Item(item, now), plan, _Fixed(old)))
        assert _dump(_new(Item(item, now), plan, new)) == expected
        if readings:
            # grown item by item: the same, except that it holds readings[0] twice
            twice = reference.History(
                readings=(*readings, readings[0]), reports=tuple(reports), findings=tuple(findings)
            )
            assert _dump(_new(Item(item, now), plan, grown)) == _dump(
                _old(Item(item, now), plan, _Fixed(twice))
            )


class _Fixed:
    """A reference history that does not grow (what ``_old`` asks of one)."""

    def __init__(self, history: Any) -> None:
        self._history = history

    def value(self) -> Any:
        return self._history
